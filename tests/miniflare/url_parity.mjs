// The Worker parses URLs with workerd's URL (src/http/url.rs, wasm backend), the host with the
// `url` crate: both must read every vector of tests/vectors/urls.json (written from the `url`
// crate, checked by the Rust unit tests) the same way. Exits non-zero, listing the differences.
//
// Usage: node tests/miniflare/url_parity.mjs
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const vectors = JSON.parse(readFileSync(path.join(root, "tests/vectors/urls.json"), "utf8"));
const mf = new Miniflare({
  modules: true,
  modulesRoot: root,
  scriptPath: path.join(root, "tests/miniflare/url_worker.mjs"),
  modulesRules: [{ type: "ESModule", include: ["**/*.mjs"] }],
  compatibilityDate: "2026-04-20",
});
const differences = [];
try {
  const res = await mf.dispatchFetch("http://parity.invalid/", { method: "POST", body: JSON.stringify(vectors.map((v) => v.input)) });
  const results = await res.json();
  vectors.forEach((v, i) => {
    const out = results[i];
    if (!v.ok || out === null) {
      if (v.ok !== (out !== null)) differences.push(`${JSON.stringify(v.input)}: url crate ok=${v.ok}, workerd ok=${out !== null}`);
      return;
    }
    const [href, scheme, username, password, host, port, p, query, fragment, origin] = JSON.parse(out);
    const got = { href, scheme, username, password, host, port: port === null ? null : Number(port), path: p, query, fragment, origin };
    for (const [k, value] of Object.entries(got)) {
      if (JSON.stringify(value) !== JSON.stringify(v[k])) differences.push(`${JSON.stringify(v.input)} ${k}: workerd ${JSON.stringify(value)}, url crate ${JSON.stringify(v[k])}`);
    }
  });
} finally {
  await mf.dispose();
}
if (differences.length) {
  console.error(differences.join("\n"));
  process.exit(1);
}
console.log(`workerd and the url crate agree on ${vectors.length} URLs`);
