// Whole answers replayed from the isolate's memory: the cacheable documents (discovery, JWKS)
// are per-isolate copies in Rust already (src/memo.rs), and going through wasm to copy them out
// cost as much as the rest of the request. The Rust side marks such an answer with
// `x-hydra-edge-replay: <until> <generation> <route>` (src/worker/mod.rs): the same for every
// plain GET of that URL until `<until>` (ms since the epoch), the end of the bound of the copy it
// came from. So a replay is never staler than the Rust copy would have been, and a cleared Rust
// copy (a key write) drops the replays too: each copy keeps the wasm module's memo generation
// read before its request ran, and is dropped once that moved. A panic (a new wasm instance, whose
// generation starts again) drops them all.
//
// A replay skips only what such an answer does not need: no storage call, no rate limit, no log
// line (Rust marks an answer only when it would not log it). Replays are still counted in the
// metrics: the counts go into wasm with the next request that runs there.

export const REPLAY_HEADER = "x-hydra-edge-replay";
/** At most this many URLs are remembered (a query string makes a new URL); then all are dropped. */
const LIMIT = 32;
/** In test mode: what a replay cost in storage operations (none), in the Worker's format. */
const STORAGE_HEADER = "x-hydra-edge-storage";
const NO_STORAGE = "d1=0/0, kv_read=0, kv_write=0, d1_replica=0, d1_rows_read=0";

const copies = new Map();
/** Replays not counted in wasm yet: route name -> times. */
const pending = new Map();

/** A request whose answer cannot depend on anything but its URL (see src/worker/mod.rs). */
function plain(request) {
  const h = request.headers;
  return request.method === "GET" && !h.has("origin") && !h.has("if-none-match") && !h.has("x-hydra-edge-test-storage");
}

/**
 * What a copy is kept under: the URL and the Host header (which a local loopback issuer checks,
 * and which need not match the URL behind a proxy).
 */
const keyOf = (request) => `${request.headers.get("host")} ${request.url}`;

/**
 * The remembered answer to `request`, or null. `generation()` is the wasm module's memo
 * generation (called only when a copy is found).
 */
export function replay(request, generation) {
  // Most requests are not GETs of a remembered URL: no key is built for them.
  if (copies.size === 0 || request.method !== "GET") return null;
  const key = keyOf(request);
  const copy = copies.get(key);
  if (!copy || !plain(request)) return null;
  if (Date.now() >= copy.until || copy.generation !== generation()) {
    copies.delete(key);
    return null;
  }
  pending.set(copy.route, (pending.get(copy.route) ?? 0) + 1);
  return new Response(copy.body, { status: copy.status, headers: copy.headers });
}

/**
 * Take the replay mark out of `headers` (a plain object of the answer's headers) and remember
 * the answer when it has one. `repeated`: a header name came twice (the plain object holds only
 * the last), so the answer is not kept. Never throws: a copy that cannot be made is simply not
 * made.
 */
export function remember(request, status, headers, body, repeated) {
  const mark = headers[REPLAY_HEADER];
  if (mark === undefined) return;
  delete headers[REPLAY_HEADER];
  const [until, generation, route] = mark.split(" ");
  if (!(Number(until) > Date.now()) || !route || repeated || !plain(request)) return;
  try {
    const stored = { ...headers };
    if (STORAGE_HEADER in stored) stored[STORAGE_HEADER] = `${NO_STORAGE}, replayed=1`;
    // A Headers object converts faster than a plain object into each replayed Response.
    const copy = { status, headers: new Headers(stored), body, route, until: Number(until), generation: Number(generation) };
    if (copies.size >= LIMIT) copies.clear();
    copies.set(keyOf(request), copy);
  } catch {}
}

/** Drop every copy (after a panic: the new wasm instance's memo generation starts again). */
export function forgetAll() {
  copies.clear();
}

/** The replays to count since the last call, as `route\ntimes\n...`, or null when none. */
export function takeCounts() {
  if (pending.size === 0) return null;
  let text = "";
  for (const [route, times] of pending) text += `${route}\n${times}\n`;
  pending.clear();
  return text;
}
