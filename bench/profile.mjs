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
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { attachProfiler, selfTimes, wasmFunctionNames } from "./inspector.mjs";
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

const profiler = await attachProfiler(inspector, "hydra-edge");

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
await profiler.start();
const requests = await load(duration);
const profile = await profiler.stop();
writeFileSync(path.join(ROOT, "build/profile.cpuprofile"), JSON.stringify(profile));
profiler.close();
await mf.dispose();

// Wasm function names: "wasm-function[N]" in the profile when the module has no names section.
const names = wasmFunctionNames(args.wasm ?? path.join(ROOT, "build/index_bg.names.wasm"));
const { self, busy, total } = selfTimes(profile, names);
console.log(`${requests} requests in ${duration / 1000}s (${((requests * 1000) / duration).toFixed(0)}/s); busy ${((busy / total) * 100).toFixed(0)}% of samples; ${(busy / requests / 1000).toFixed(3)} ms busy per request\n`);
console.log("self time per request (µs), top functions:");
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(v / requests).toFixed(2).padStart(8)}  ${((v / busy) * 100).toFixed(1).padStart(5)}%  ${k.slice(0, 150)}`);
}
process.exit(0);
