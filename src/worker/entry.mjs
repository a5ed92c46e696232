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
import { WorkerEntrypoint } from "cloudflare:workers";
import Wasm from "../../build/index.js";
import { pairs } from "./glue.mjs";

// worker-build puts every exported wasm function but the event handlers on the entrypoint's
// prototype as it is; `respond` is called directly, without an entrypoint object of its own.
const respond = Wasm.prototype.respond;

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
    headers: { "content-type": "application/json;charset=UTF-8", "cache-control": "no-store" },
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
};

/** `[status, "name\nvalue\n...", body bytes or null]` from `respond` as a Response. */
function toResponse(out) {
  const list = pairs(out[1]);
  try {
    return new Response(out[2], { status: out[0], headers: list });
  } catch {
    // A value the Headers API refuses is dropped, never a 500.
    const headers = new Headers();
    for (const [k, v] of list) {
      try {
        headers.append(k, v);
      } catch {}
    }
    return new Response(out[2], { status: out[0], headers });
  }
}

/** The body, at most MAX_BODY_BYTES of it: `[bytes or null, too large]`. */
async function readBody(request) {
  const declared = Number(request.headers.get("content-length"));
  if (declared > DRAIN_LIMIT_BYTES) return [null, true];
  if (!request.body || request.method === "GET" || request.method === "HEAD") return [null, false];
  // Content-Length may be absent or wrong: count what actually arrives.
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
  for (const [k, v] of headers) text += `${k}\n${v}\n`;
  return text;
}

export default class HydraEdge extends WorkerEntrypoint {
  fetch(request) {
    if (globalThis.__worker_init_state?.criticalError) {
      // After a panic: constructing the shim's entrypoint re-creates the wasm instance.
      new Wasm(this.ctx, this.env);
    }
    const { method } = request;
    if ((method === "GET" || method === "HEAD") && !request.headers.has("content-length")) {
      return this.answer(request, null, false);
    }
    return readBody(request).then(([body, tooLarge]) => this.answer(request, body, tooLarge), brokenBody);
  }

  answer(request, body, tooLarge) {
    let out;
    try {
      out = respond(request.method, request.url, headerText(request.headers), body, tooLarge, this.env, this.ctx);
    } catch {
      return panicResponse();
    }
    if (!(out instanceof Promise)) return toResponse(out);
    return new Promise((resolve) => {
      const answer = (response) => {
        inFlight.delete(answer);
        resolve(response);
      };
      inFlight.add(answer);
      out.then((o) => answer(toResponse(o)), () => answer(panicResponse()));
    });
  }

  // The cron trigger's cleanup job (see wrangler.toml).
  scheduled(controller) {
    return new Wasm(this.ctx, this.env).scheduled(controller);
  }
}
