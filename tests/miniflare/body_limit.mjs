// Oversized uploads are refused with 413 (Content-Length or chunked) without disturbing the
// requests running beside them, in workerd served by miniflare directly, i.e. without the
// `wrangler dev` proxy (whose shared connection to workerd is why the Worker drains a moderately
// oversized body before answering; see DRAIN_LIMIT_BYTES in src/worker/mod.rs).
//
// Usage: node tests/miniflare/body_limit.mjs <bundle dir from `wrangler deploy --dry-run`>
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { Miniflare } from "miniflare";

// The admin API refuses tokens shorter than 32 characters.
const ADMIN = "body-limit-admin-token-0123456789abcdef";
const dir = path.resolve(process.argv[2] ?? "build/bundle");
const mf = new Miniflare({
  modules: true,
  scriptPath: path.join(dir, "entry.js"),
  modulesRoot: dir,
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
  compatibilityDate: "2026-04-20",
  kvNamespaces: ["KV"],
  d1Databases: ["DB"],
  bindings: { URLS_SELF_ISSUER: "http://127.0.0.1:8700", SECRETS_SYSTEM: "body-limit-secret-0123456789", ADMIN_API_TOKEN: ADMIN },
  host: "127.0.0.1",
  port: 0,
});

/** POST 17 x 64 KiB (just over 1 MiB), with or without Content-Length. */
function oversized(origin, chunked) {
  return new Promise((resolve) => {
    const u = new URL(origin + "/admin/keys/big");
    const headers = { authorization: `Bearer ${ADMIN}` };
    if (!chunked) headers["content-length"] = String(17 * 65536);
    const r = http.request({ hostname: u.hostname, port: u.port, path: u.pathname, method: "POST", headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    r.on("error", (e) => resolve(`error ${e.code}`));
    const chunk = Buffer.alloc(65536, 97);
    let sent = 0;
    const write = () => {
      while (sent < 17) {
        sent++;
        if (!r.write(chunk)) return r.once("drain", write);
      }
      r.end();
    };
    write();
  });
}

let failed = false;
try {
  const { origin } = await mf.ready;
  for (const chunked of [false, true]) {
    const big = oversized(origin, chunked);
    const others = await Promise.all(
      Array.from({ length: 30 }, (_, i) => fetch(`${origin}/health/alive?i=${i}`).then((r) => r.status, (e) => `error ${e.message}`)),
    );
    const status = await big;
    const kind = chunked ? "chunked" : "content-length";
    console.log(`${kind}: oversized upload answered ${status}; 30 concurrent requests answered ${[...new Set(others)].join(",")}`);
    if (status !== 413 || others.some((s) => s !== 200)) failed = true;
  }
  const after = await fetch(`${origin}/health/ready`).then((r) => r.status);
  console.log(`afterwards /health/ready answered ${after}`);
  if (after !== 200) failed = true;
} finally {
  await mf.dispose();
}
process.exit(failed ? 1 : 0);
