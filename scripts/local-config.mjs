// Writes wrangler.local.toml: wrangler.toml without its [build] table, for `make dev` and the
// end-to-end tests, which build the module with make before wrangler starts.
//
// Why: with a [build] table, `wrangler dev` starts a file watcher on src/ whose "ready" event
// runs the build again and reloads the Worker right after it started. Under load that reload
// can restart workerd while the first one still holds the port ("Address already in use"), and
// the server never comes up. Without the table there is one start and no reload.
//
// The file sits beside wrangler.toml so that every relative path in it (main, migrations, the
// local state in .wrangler/, .dev.vars) means the same. It is rewritten only when it differs,
// through a rename, so concurrent writers never leave a half-written file.
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = readFileSync(join(root, "wrangler.toml"), "utf8");

const kept = [];
let inBuild = false;
for (const line of source.split(/\r?\n/)) {
  const table = line.match(/^\s*\[\[?\s*([^\]\s]+)\s*\]\]?\s*(#.*)?$/);
  if (table) inBuild = table[1] === "build" || table[1].startsWith("build.");
  // Comments and blank lines stay: the ones after the table belong to the next one.
  if (!inBuild || /^\s*(#.*)?$/.test(line)) kept.push(line);
}
// A build setting written another way (an inline table, a dotted key, a quoted name) would
// keep the watcher without a word: refuse instead.
const left = kept.find((line) => /^\s*(\[\s*)?["']?build["']?\s*[.=\]]/.test(line));
if (left !== undefined) {
  console.error(`scripts/local-config.mjs: wrangler.toml sets the build in a form this script does not remove: ${left.trim()}`);
  process.exit(1);
}
const text =
  "# Generated from wrangler.toml by scripts/local-config.mjs (`make build`): the same settings\n" +
  "# without [build], so `wrangler dev` starts once, with no build watcher. Do not edit.\n" +
  kept.join("\n");

const target = join(root, "wrangler.local.toml");
let current = null;
try {
  current = readFileSync(target, "utf8");
} catch {}
if (current !== text) {
  const temp = `${target}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, target);
}
