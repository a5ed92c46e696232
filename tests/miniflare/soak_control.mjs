// Control for the soak's memory reading: the same request rate against a plain JS Worker, with
// (`storage`) or without (`noop`) D1 and KV work per request, to see how much the workerd
// process grows on its own (V8 and miniflare's local D1/KV simulators) when no Rust runs.
//
//   node tests/miniflare/soak_control.mjs noop|storage [seconds] [requests per second]
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Miniflare } from "miniflare";

const [kind = "storage", seconds = "240", rate = "44"] = process.argv.slice(2);
const script = `export default { async fetch(req, env) {
  if (${kind === "storage"}) {
    const id = crypto.randomUUID();
    await env.DB.prepare("INSERT INTO t (id, v, at) VALUES (?1, ?2, ?3)").bind(id, "x".repeat(500), Date.now()).run();
    await env.DB.batch([env.DB.prepare("UPDATE t SET v = ?2 WHERE id = ?1").bind(id, "y".repeat(500)), env.DB.prepare("SELECT * FROM t WHERE id = ?1").bind(id)]);
    await env.KV.get("k" + Math.floor(Math.random() * 100));
    if (Math.random() < 0.1) await env.KV.put("k" + Math.floor(Math.random() * 100), "v".repeat(1000), { expirationTtl: 60 });
    if (Math.random() < 0.02) await env.DB.prepare("DELETE FROM t WHERE at < ?1").bind(Date.now() - 60000).run();
  }
  return new Response("ok");
} }`;
const dir = mkdtempSync(path.join(os.tmpdir(), "soak-control-"));
const mf = new Miniflare({ modules: true, script, kvNamespaces: ["KV"], d1Databases: ["DB"], d1Persist: path.join(dir, "d1"), kvPersist: path.join(dir, "kv"), compatibilityDate: "2026-04-20" });
const url = await mf.ready;
await (await mf.getD1Database("DB")).prepare("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT, at INTEGER)").run();
const pid = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).find((d) => {
  try {
    const s = readFileSync(`/proc/${d}/stat`, "utf8").trim();
    return /\(workerd\)/.test(s) && Number(s.split(") ")[1].split(" ")[1]) === process.pid;
  } catch {
    return false;
  }
});
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
const t0 = Date.now();
let sent = 0;
const samples = [];
while (Date.now() - t0 < Number(seconds) * 1000) {
  const due = ((Date.now() - t0) / 1000) * Number(rate);
  const batch = [];
  while (sent < due) {
    sent++;
    batch.push(fetch(url).then((r) => r.text()));
  }
  await Promise.all(batch);
  if (samples.length === 0 || Date.now() - t0 >= samples.length * 30_000) samples.push(`${Math.round((Date.now() - t0) / 1000)}s:${Math.round(rss() / 1024)}MB`);
  await new Promise((r) => setTimeout(r, 20));
}
console.log(`${kind}: ${sent} requests in ${seconds} s; workerd RSS ${samples.join(" ")} end:${Math.round(rss() / 1024)}MB`);
await mf.dispose();
rmSync(dir, { recursive: true, force: true });
