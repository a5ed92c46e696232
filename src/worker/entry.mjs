// The Worker's JavaScript entry: hands each request to the wasm module's `respond` (built by
// worker-build into build/index.js, see src/worker/mod.rs) as plain values, and turns its answer
// back into a Response.
//
// Why here and not in Rust: each step between JS objects and Rust values crosses the wasm
// boundary, and a request converted field by field (URL parsed again, each header one crossing,
// a second entrypoint object per request) cost as much as everything the server does for a
// no-op route. Here the request goes in with one call (method, URL, headers as one string, body
// bytes) and the answer comes back as one array; a route that needs no I/O answers without a
// Promise at all.
//
// Panics: a Rust panic aborts the wasm instance in the middle of a request. The panic hook
// (src/worker/mod.rs) calls globalThis.__hydraEdgePanic before the abort, which answers every
// request in flight with a 500 JSON body; the next request re-creates the instance.
import Wasm from "../../build/index.js";
import { pairs } from "./glue.mjs";
import { REPLAY_HEADER, forgetAll, remember, replay, takeCounts } from "./replay.mjs";

// worker-build puts every exported wasm function but the event handlers on the entrypoint's
// prototype as it is; `respond` is called directly, without an entrypoint object of its own.
const { respond, replay_generation: replayGeneration, count_replayed: countReplayed } = Wasm.prototype;

/** Bodies above this are refused with 413 (MAX_BODY_BYTES in src/http/mod.rs). */
const MAX_BODY_BYTES = 1 << 20;
/**
 * How much of an oversized body is still read (and thrown away) before the 413 goes out. A
 * response sent while the upload is unfinished leaves the client's connection mid-request, which
 * stalls the connection `wrangler dev`'s proxy shares between requests; draining a moderately
 * oversized body keeps that connection usable. Past this, nothing more is read.
 */
const DRAIN_LIMIT_BYTES = 8 << 20;

const inFlight = new Set();

/** An `errorOAuth2` answer made here, where the Rust side cannot answer. */
function errorResponse(status, body) {
  return new Response(JSON.stringify({ ...body, status_code: status }), {
    status,
    headers: {
      "content-type": "application/json;charset=UTF-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
}

function panicResponse() {
  return errorResponse(500, {
    error: "server_error",
    error_description:
      "The authorization server encountered an unexpected condition that prevented it from fulfilling the request.",
  });
}

globalThis.__hydraEdgePanic = () => {
  for (const answer of inFlight) answer(panicResponse());
  inFlight.clear();
  forgetAll();
};

/**
 * `[status, "name\nvalue\n...", body bytes or null]` from `respond` as a Response. Headers go in
 * as a plain object, which workerd converts faster than a list of pairs; a name that repeats
 * (`set-cookie`) takes the Headers path. An answer marked for replay is remembered (replay.mjs).
 */
function toResponse(request, out) {
  const [status, flat, body] = out;
  const parts = flat.split("\n");
  const record = {};
  let repeated = false;
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (parts[i] in record) repeated = true;
    record[parts[i]] = parts[i + 1];
  }
  if (REPLAY_HEADER in record) remember(request, status, record, body, repeated);
  const list = () => pairs(flat).filter(([k]) => k !== REPLAY_HEADER);
  try {
    return new Response(body, { status, headers: repeated ? list() : record });
  } catch {
    // A value the Headers API refuses is dropped, never a 500.
    const headers = new Headers();
    for (const [k, v] of list()) {
      try {
        headers.append(k, v);
      } catch {}
    }
    return new Response(body, { status, headers });
  }
}

/** The body, at most MAX_BODY_BYTES of it: `[bytes or null, too large]`. */
async function readBody(request) {
  const declared = Number(request.headers.get("content-length"));
  if (declared > DRAIN_LIMIT_BYTES) return [null, true];
  if (!request.body || request.method === "GET" || request.method === "HEAD") return [null, false];
  if (declared > 0 && declared <= MAX_BODY_BYTES && !request.headers.has("transfer-encoding")) {
    // The usual case (a form or JSON body of known length): one native read, no chunk loop.
    const body = new Uint8Array(await request.arrayBuffer());
    return body.byteLength > MAX_BODY_BYTES ? [null, true] : [body, false];
  }
  // Content-Length may be absent (a chunked upload) or say more than we take: count what
  // actually arrives.
  const reader = request.body.getReader();
  const chunks = [];
  let seen = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value.byteLength;
    if (seen > DRAIN_LIMIT_BYTES) break;
    if (seen <= MAX_BODY_BYTES) chunks.push(value);
  }
  if (seen > MAX_BODY_BYTES) return [null, true];
  if (chunks.length === 1) return [chunks[0], false];
  const body = new Uint8Array(seen);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return [body, false];
}

/** The client's upload broke off (or was not a readable stream): its mistake, not ours. */
function brokenBody() {
  return errorResponse(400, {
    error: "invalid_request",
    error_description:
      "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.",
    error_hint: "The request body could not be read to its end.",
  });
}

function headerText(headers) {
  let text = "";
  // forEach, not the iterator: no [name, value] array per header.
  headers.forEach((v, k) => {
    text += `${k}\n${v}\n`;
  });
  return text;
}

/**
 * `respond`'s answer as a Response, or a Promise of one. A Rust panic inside a request answers
 * 500 (see __hydraEdgePanic above).
 */
function answer(request, body, tooLarge, env, ctx) {
  let out;
  try {
    const replayed = takeCounts();
    if (replayed !== null) countReplayed(replayed);
    out = respond(request.method, request.url, headerText(request.headers), body, tooLarge, env, ctx);
  } catch {
    return panicResponse();
  }
  if (!(out instanceof Promise)) return toResponse(request, out);
  return new Promise((resolve) => {
    const done = (response) => {
      inFlight.delete(done);
      resolve(response);
    };
    inFlight.add(done);
    out.then((o) => done(toResponse(request, o)), () => done(panicResponse()));
  });
}

// A plain module object rather than a WorkerEntrypoint class: workerd then makes no entrypoint
// object per request.
export default {
  fetch(request, env, ctx) {
    if (globalThis.__worker_init_state?.criticalError) {
      // After a panic: constructing the shim's entrypoint re-creates the wasm instance, whose
      // memo generation starts again, so no replayed copy may outlive the old one.
      forgetAll();
      new Wasm(ctx, env);
    }
    const replayed = replay(request, replayGeneration);
    if (replayed !== null) return replayed;
    const { method } = request;
    if ((method === "GET" || method === "HEAD") && !request.headers.has("content-length")) {
      return answer(request, null, false, env, ctx);
    }
    return readBody(request).then(([body, tooLarge]) => answer(request, body, tooLarge, env, ctx), brokenBody);
  },

  // The cron trigger's cleanup job (see wrangler.toml).
  scheduled(controller, env, ctx) {
    return new Wasm(ctx, env).scheduled(controller);
  },
};
