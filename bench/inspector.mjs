// V8's CPU profiler on one Worker's isolate, through workerd's inspector (miniflare's
// `inspectorPort`). Used by bench/profile.mjs (where the time goes) and by `bench/run.mjs --cpu`
// (how much isolate time a request costs).
//
// Why a profile and not 1/(req/s): under miniflare, local D1 and KV run in workerd too (their own
// isolates, on the same core), so 1/(req/s) of a saturated core charges a route with the SQLite
// work that D1 does on its own servers in production. The profile of the Worker's own isolate
// counts what Cloudflare bills as the Worker's CPU time: samples where that isolate was not idle.

import { existsSync, readFileSync } from "node:fs";
import WebSocket from "ws";

/** Sampling interval in µs: fine enough for requests of 50 µs and more. */
const INTERVAL_US = 50;

/**
 * A profiler attached to the isolate of the Worker named `name` on the inspector at `port`:
 * `{ start(), stop() -> profile, close() }`.
 */
export async function attachProfiler(port, name) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = targets.find((t) => t.title?.includes(name) || t.id?.includes(name)) ?? targets[0];
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
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
  await cdp("Profiler.enable");
  await cdp("Profiler.setSamplingInterval", { interval: INTERVAL_US });
  return {
    start: () => cdp("Profiler.start"),
    stop: async () => (await cdp("Profiler.stop")).result.profile,
    close: () => ws.close(),
  };
}

/** Where the D1 binding's own JavaScript runs (workerd's client of the D1 service). */
const D1_CLIENT = "cloudflare-internal:d1-api";
/** The wasm functions that call `console.*` (the request's log line). */
const CONSOLE = /gen_console::console::/;

/**
 * Self time (µs) by function of a profile; the busy total (every sample but `(idle)`); `inD1`,
 * the busy time under a call into the D1 binding; and `inLog`, under a `console.*` call (needs
 * `names`). Under miniflare the local D1 service runs on the same thread and its work shows up
 * inside those calls, and with the inspector attached every console line is also sent to it:
 * `busy - inD1 - inLog` is the isolate's time with both left out (what the Worker's own code
 * costs). `names`: wasm function index -> name (from [`wasmFunctionNames`]), or null.
 */
export function selfTimes(profile, names = null) {
  const { nodes, samples, timeDeltas } = profile;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const nameOf = (f) => {
    const name = f.functionName || "(anonymous)";
    const m = /^(?:wasm-function\[|\$func)(\d+)\]?$/.exec(name);
    return m && names ? (names.get(Number(m[1])) ?? name) : name;
  };
  // Per node: 1 under a D1 call, 2 under a console call, 0 neither (the innermost wins).
  const kinds = new Map();
  const kindOf = (id) => {
    if (kinds.has(id)) return kinds.get(id);
    const f = byId.get(id).callFrame;
    const up = parent.get(id);
    const k = f.url === D1_CLIENT ? 1 : CONSOLE.test(nameOf(f)) ? 2 : up === undefined ? 0 : kindOf(up);
    kinds.set(id, k);
    return k;
  };
  const self = new Map();
  let total = 0;
  let idle = 0;
  let inD1 = 0;
  let inLog = 0;
  samples.forEach((id, i) => {
    const dt = timeDeltas[i] ?? 0;
    total += dt;
    const f = byId.get(id).callFrame;
    const name = nameOf(f);
    if (name === "(idle)") {
      idle += dt;
      return;
    }
    const kind = kindOf(id);
    if (kind === 1) inD1 += dt;
    if (kind === 2) inLog += dt;
    const key = `${name}  ${f.url ? f.url.split("/").at(-1) : ""}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return { self, busy: total - idle, total, inD1, inLog };
}

/** Function index -> name from a wasm module's names section (null when there is none). */
export function wasmFunctionNames(file) {
  if (!existsSync(file)) return null;
  const b = readFileSync(file);
  let i = 8;
  const leb = () => {
    let r = 0;
    let s = 0;
    let x;
    do {
      x = b[i++];
      r += (x & 0x7f) * 2 ** s;
      s += 7;
    } while (x & 0x80);
    return r;
  };
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
  return null;
}
