// The Worker's JavaScript entry: wraps the wasm module's fetch handler (built by worker-build
// into build/index.js) so that a Rust panic still answers with a 500 JSON body.
//
// A panic aborts the wasm instance in the middle of a request; the runtime would then report
// the request as hung. The Rust panic hook (src/worker/mod.rs) calls globalThis.__hydraEdgePanic
// before the abort, which answers every request in flight; worker-build's shim re-creates the
// wasm instance for the next request.
import { WorkerEntrypoint } from "cloudflare:workers";
import Wasm from "../../build/index.js";

const inFlight = new Set();

function panicResponse() {
  const body = {
    error: "server_error",
    error_description:
      "The authorization server encountered an unexpected condition that prevented it from fulfilling the request.",
    status_code: 500,
  };
  return new Response(JSON.stringify(body), {
    status: 500,
    headers: { "content-type": "application/json;charset=UTF-8", "cache-control": "no-store" },
  });
}

globalThis.__hydraEdgePanic = () => {
  for (const answer of inFlight) answer(panicResponse());
  inFlight.clear();
};

export default class HydraEdge extends WorkerEntrypoint {
  fetch(request) {
    return new Promise((resolve) => {
      const answer = (response) => {
        inFlight.delete(answer);
        resolve(response);
      };
      inFlight.add(answer);
      try {
        const inner = new Wasm(this.ctx, this.env);
        Promise.resolve(inner.fetch(request)).then(answer, () => answer(panicResponse()));
      } catch {
        answer(panicResponse());
      }
    });
  }

  // The cron trigger's cleanup job (see wrangler.toml).
  scheduled(controller) {
    return new Wasm(this.ctx, this.env).scheduled(controller);
  }
}
