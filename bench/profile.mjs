#!/usr/bin/env node
// CPU profile of the Worker under load, through workerd's V8 inspector: where an isolate's time
// goes per request (profile rather than guess). Not part of `make bench`.
//
//   node bench/profile.mjs [path] [--duration=S] [--method=GET] [--top=N] [--wasm=build/index_bg.names.wasm]
//
// Serves the built Worker (build/index.js; `make build` first) under miniflare with an
// inspector port, keeps 4 requests in flight on `path` (default /health/alive) for the duration,
// sampling V8's CPU profiler meanwhile, and prints self time by function and by category (wasm
// functions named through the names section of the --wasm module, which `make build` keeps in
// build/index_bg.names.wasm). Saves the raw profile to build/profile.cpuprofile (Chrome DevTools
// opens it).

import http from "node:http";
import path from "node:path";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

import { freePort, startSourceWorker } from "./source_worker.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = Object.fromEntries(process.argv.slice(2).filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")));
const route = process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "/health/alive";
const duration = Number(args.duration ?? 5) * 1000;
const top = Number(args.top ?? 40);
const method = args.method ?? "GET";

const inspector = await freePort();
const { mf, origin } = await startSourceWorker({
  secret: "profile-system-secret-0123456789",
  admin: "profile-admin-token-0123456789abcdefghij",
  inspectorPort: inspector,
});

const targets = await (await fetch(`http://127.0.0.1:${inspector}/json`)).json();
const target = targets.find((t) => t.title?.includes("hydra-edge") || t.id?.includes("hydra-edge")) ?? targets[0];
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((r) => ws.once("open", r));
let nextId = 1;
const pending = new Map();
ws.on("message", (m) => {
  const msg = JSON.parse(m);
  if (msg.id && pending.has(msg.id)) {
    pending.get(msg.id)(msg);
    pending.delete(msg.id);
  }
});
const cdp = (method, params = {}) =>
  new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });

// Warm up (JIT, caches), then profile under load.
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
async function load(ms) {
  const end = performance.now() + ms;
  let n = 0;
  const lane = async () => {
    while (performance.now() < end) {
      await new Promise((resolve) => {
        const r = http.request(`${origin}${route}`, { agent, method }, (res) => {
          res.resume();
          res.on("end", resolve);
        });
        r.on("error", resolve);
        r.end();
      });
      n++;
    }
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  return n;
}
await load(2000);
await cdp("Profiler.enable");
await cdp("Profiler.setSamplingInterval", { interval: 50 });
await cdp("Profiler.start");
const requests = await load(duration);
const { result } = await cdp("Profiler.stop");
writeFileSync(path.join(ROOT, "build/profile.cpuprofile"), JSON.stringify(result.profile));
ws.close();
await mf.dispose();

// Wasm function names: "wasm-function[N]" in the profile when the module has no names section.
const names = wasmFunctionNames(args.wasm ?? path.join(ROOT, "build/index_bg.names.wasm"));
const { nodes, samples, timeDeltas } = result.profile;
const byId = new Map(nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
samples.forEach((id, i) => {
  const dt = timeDeltas[i] ?? 0;
  total += dt;
  const n = byId.get(id);
  const f = n.callFrame;
  let name = f.functionName || "(anonymous)";
  const m = /^(?:wasm-function\[|\$func)(\d+)\]?$/.exec(name);
  if (m && names) name = names.get(Number(m[1])) ?? name;
  const key = `${name}  ${f.url ? path.basename(f.url) : ""}`;
  self.set(key, (self.get(key) ?? 0) + dt);
});
const idle = [...self].filter(([k]) => k.startsWith("(idle)")).reduce((s, [, v]) => s + v, 0);
const busy = total - idle;
console.log(`${requests} requests in ${duration / 1000}s (${((requests * 1000) / duration).toFixed(0)}/s); busy ${((busy / total) * 100).toFixed(0)}% of samples; ${(busy / requests / 1000).toFixed(3)} ms busy per request\n`);
console.log("self time per request (µs), top functions:");
for (const [k, v] of [...self].filter(([k]) => !k.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(v / requests).toFixed(2).padStart(8)}  ${((v / busy) * 100).toFixed(1).padStart(5)}%  ${k.slice(0, 150)}`);
}
process.exit(0);

/** Function index -> name from a wasm module's names section (null when there is none). */
function wasmFunctionNames(file) {
  if (!existsSync(file)) return null;
  const b = readFileSync(file);
  let i = 8;
  const leb = () => {
    let r = 0, s = 0, x;
    do {
      x = b[i++];
      r += (x & 0x7f) * 2 ** s;
      s += 7;
    } while (x & 0x80);
    return r;
  };
  let imports = 0;
  while (i < b.length) {
    const id = b[i++];
    const size = leb();
    const end = i + size;
    if (id === 0) {
      const nl = leb();
      const name = b.subarray(i, i + nl).toString();
      i += nl;
      if (name === "name") {
        while (i < end) {
          const sub = b[i++];
          const len = leb();
          const subEnd = i + len;
          if (sub === 1) {
            const out = new Map();
            const n = leb();
            for (let k = 0; k < n; k++) {
              const idx = leb();
              const l = leb();
              out.set(idx, b.subarray(i, i + l).toString());
              i += l;
            }
            return out;
          }
          i = subEnd;
        }
      }
    }
    i = end;
  }
  void imports;
  return null;
}
