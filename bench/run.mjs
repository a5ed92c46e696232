#!/usr/bin/env node
// Benchmark of the deployable Worker under miniflare (workerd), route by route. See bench/README.md.
//
//   node bench/run.mjs [scenario ...] [--duration=S] [--concurrency=N] [--rounds=N] [--warmup=S]
//                      [--inline] [--list]
//
// Every route is compared with a no-op baseline route measured in the same round, because the
// absolute numbers depend on the machine (and on what else it is doing); the ratios carry over.
//
// This file runs twice: as the main program (builds the bundle, starts miniflare, prints the
// report) and as a worker thread that only generates load, so that the load generator's event
// loop and garbage collector never share a thread with miniflare's Node side (--inline turns
// this off, to compare).

import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync, mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { gzipSync } from "node:zlib";

import { attachProfiler, selfTimes, wasmFunctionNames } from "./inspector.mjs";
import { applyMigrations } from "./migrations.mjs";
import { freePort } from "./source_worker.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BUNDLE_DIR = path.join(ROOT, "build", "bundle");
const RESULTS_FILE = path.join(ROOT, "build", "bench-results.json");
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdefghij"; // >= 32 characters
const REQUEST_TIMEOUT_MS = 10_000;

/** A plain JavaScript Worker answering what `GET /health/alive` answers: the JS no-op baseline. */
const JS_NOOP = `export default {
  fetch() {
    return new Response('{"status":"ok"}', {
      headers: { "content-type": "application/json", "cache-control": "private, no-cache, no-store, must-revalidate" },
    });
  },
};`;

/** A failure with a message that says it all (printed without a stack trace). */
class BenchError extends Error {}

// ---------------------------------------------------------------------------------------------
// Scenarios. The first one is the baseline every other route is compared with; it is always run.
//
// A scenario is { name, method, path, headers?, body?, expect?, setup? } (`expect`: the status
// every answer must have, when it is not a 2xx). `setup(ctx)` runs once, before
// the warm-up, and may call the server (ctx.fetch, ctx.admin) and change the request that will be
// sent (ctx.req: { method, path, headers, body }). Every request of a scenario is identical,
// unless setup sets ctx.req.chain = { field, placeholder, values }: then each lane replaces the
// placeholder in the body with its own value, and after each 200 with the answer's `field`
// (refresh-token rotation). setup gets ctx.concurrency to prepare one value per lane.
// Example, once the token endpoint supports the client_credentials grant:
//
//   {
//     name: "token-client-credentials",
//     method: "POST",
//     path: "/oauth2/token",
//     headers: { "content-type": "application/x-www-form-urlencoded" },
//     setup: async (ctx) => {
//       const c = await ctx.admin("POST", "/admin/clients", {
//         grant_types: ["client_credentials"], token_endpoint_auth_method: "client_secret_post" });
//       ctx.req.body = new URLSearchParams({ grant_type: "client_credentials",
//         client_id: c.client_id, client_secret: c.client_secret }).toString();
//     },
//   },
// ---------------------------------------------------------------------------------------------
const SCENARIOS = [
  // No-op: routing and JSON serialisation only, no storage, no crypto.
  { name: "health-alive", method: "GET", path: "/health/alive" },
  // The second baseline: a plain JavaScript Worker in the same workerd answering the same body,
  // so that health-alive / js-noop is what the Rust shell itself costs per request.
  { name: "js-noop", target: "noop", method: "GET", path: "/health/alive" },
  { name: "discovery", method: "GET", path: "/.well-known/openid-configuration" },
  // The first request creates the signing keys (D1); warm-up takes care of it.
  { name: "jwks", method: "GET", path: "/.well-known/jwks.json" },
  // The token endpoint up to client authentication: the code is well-formed but not one of
  // ours, so every request ends in 400 invalid_grant right after the client is authenticated,
  // before any D1 read. A public client: the endpoint's fixed cost (form parsing, client lookup
  // in KV, no secret).
  tokenAuth("token-public-client", "none", 400),
  // A confidential client with the right secret: PBKDF2 runs once, then the per-isolate digest
  // of the verified secret answers (the warm path of a busy client).
  tokenAuth("token-secret-warm", "right", 400),
  // A wrong secret is never cached, so PBKDF2 (25,000 iterations, WebCrypto) runs on every
  // request: the cost a client's first token request pays in each isolate (the cold path).
  tokenAuth("token-secret-cold", "wrong", 401),
  // client_credentials with a JWT access token: the edge's hottest path. Client from KV,
  // secret from the per-isolate cache, ES256 through WebCrypto, nothing written (no D1).
  clientCredentials("cc-jwt", "jwt"),
  // The same with an opaque token: one D1 write per token.
  clientCredentials("cc-opaque", "opaque"),
  // refresh_token rotation: every request redeems the refresh token the previous answer of
  // its lane returned (one read, one guarded batch).
  {
    name: "refresh-rotation",
    method: "POST",
    path: "/oauth2/token",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    setup: async (ctx) => {
      const { client } = await codeFlowTokens(ctx, "opaque");
      ctx.req.headers.authorization = basic(client);
      ctx.req.body = new URLSearchParams({ grant_type: "refresh_token", refresh_token: "{refresh_token}" }).toString();
      // One chain per lane: each lane needs its own refresh token (plus one for the checked request).
      ctx.req.chain = { field: "refresh_token", placeholder: "{refresh_token}", values: [] };
      for (let i = 0; i <= ctx.concurrency; i++) ctx.req.chain.values.push((await codeFlowTokens(ctx, "opaque", client)).tokens.refresh_token);
    },
  },
  // Introspection of each token kind (admin API).
  introspect("introspect-opaque", "opaque", "access_token"),
  introspect("introspect-jwt", "jwt", "access_token"),
  introspect("introspect-refresh", "opaque", "refresh_token"),
  // /userinfo with an opaque access token from a code flow.
  {
    name: "userinfo",
    method: "GET",
    path: "/userinfo",
    setup: async (ctx) => {
      const { tokens } = await codeFlowTokens(ctx, "opaque");
      ctx.req.headers.authorization = `Bearer ${tokens.access_token}`;
    },
  },
  // Each request of a whole login + consent + code flow, one by one.
  ...flowSteps(),
  // The peer (bench/peer.mjs: node-oidc-provider, in-memory adapter, ES256), on what both serve.
  { name: "peer-discovery", target: "peer", peerOf: "discovery", method: "GET", path: "/.well-known/openid-configuration" },
  { name: "peer-jwks", target: "peer", peerOf: "jwks", method: "GET", path: "/jwks" },
  {
    name: "peer-cc-jwt",
    target: "peer",
    peerOf: "cc-jwt",
    method: "POST",
    path: "/token",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    setup: async (ctx) => {
      ctx.req.headers.authorization = basic(ctx.peer);
      ctx.req.body = new URLSearchParams({ grant_type: "client_credentials", scope: "read" }).toString();
    },
  },
];

/** Scenarios that run in every selection: the baselines. */
const BASELINES = ["health-alive", "js-noop"];

/**
 * The regression check (`node bench/run.mjs --check`, which `make test` runs through
 * tests/perf_ratios.rs): three 1 s rounds of a few scenarios, judged only by ratios between
 * routes of the same round (medians), against floors far below what even a loaded machine
 * measures (docs/benchmarks.md has the numbers), and the module's size budget.
 */
const CHECK = {
  scenarios: ["discovery", "jwks", "token-public-client", "cc-jwt"],
  /** [route, compared with, lowest acceptable median ratio of req/s] */
  floors: [
    ["health-alive", "js-noop", 0.4],
    // Replayed from the shell's memory (src/worker/replay.mjs): faster than the no-op, which
    // runs in wasm (1.6-1.8x measured); below 1.0 the replay has stopped working.
    ["discovery", "health-alive", 1.0],
    ["jwks", "health-alive", 1.0],
    ["token-public-client", "health-alive", 0.25],
    ["cc-jwt", "health-alive", 0.15],
  ],
  /** The uploaded wasm module, gzip -9 (docs/benchmarks.md, "Module size"). */
  wasmGzipBudgetKiB: 410,
};

const basic = (c) => "Basic " + Buffer.from(`${c.client_id}:${c.client_secret}`).toString("base64");

/** A client_credentials scenario for an access-token strategy. */
function clientCredentials(name, strategy) {
  return {
    name,
    method: "POST",
    path: "/oauth2/token",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    setup: async (ctx) => {
      const c = await ctx.admin("POST", "/admin/clients", {
        grant_types: ["client_credentials"], scope: "read write", access_token_strategy: strategy,
      });
      ctx.req.headers.authorization = basic(c);
      ctx.req.body = new URLSearchParams({ grant_type: "client_credentials", scope: "read" }).toString();
    },
  };
}

/** Introspection of a token of a code flow (`kind`: access_token or refresh_token). */
function introspect(name, strategy, kind) {
  return {
    name,
    method: "POST",
    path: "/admin/oauth2/introspect",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    setup: async (ctx) => {
      const { tokens } = await codeFlowTokens(ctx, strategy);
      ctx.req.headers.authorization = `Bearer ${ctx.adminToken}`;
      ctx.req.body = new URLSearchParams({ token: tokens[kind] }).toString();
    },
  };
}

const FLOW_REDIRECT = "https://bench.example/cb";

/** A client for code flows (opaque or JWT access tokens). */
function flowClient(ctx, strategy) {
  return ctx.admin("POST", "/admin/clients", {
    redirect_uris: [FLOW_REDIRECT], grant_types: ["authorization_code", "refresh_token"],
    scope: "openid offline_access", access_token_strategy: strategy,
  });
}

/**
 * A login + consent + code flow driven over HTTP (a browser with a cookie jar, the login and
 * consent apps through the admin API), up to `stop`: "login" (the login challenge), "login-verifier"
 * (the URL the browser returns to, and its cookies), "consent", "consent-verifier", "code" (the
 * code and its client) or "tokens". Each stage's result carries what the next request needs.
 */
async function flow(ctx, client, stop) {
  const jar = new Map();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const browse = async (url) => {
    const res = await fetch(url, { redirect: "manual", headers: { cookie: cookie() } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    await res.text();
    return new URL(res.headers.get("location"), url);
  };
  const relative = (u) => {
    const url = new URL(u);
    return url.pathname + url.search;
  };
  const auth = new URL(`${ctx.origin}/oauth2/auth`);
  for (const [k, v] of Object.entries({ client_id: client.client_id, response_type: "code", redirect_uri: FLOW_REDIRECT,
    scope: "openid offline_access", state: "bench-state-123", nonce: "bench-nonce-123" })) auth.searchParams.set(k, v);
  if (stop === "auth") return { path: relative(auth.href) };
  const login = (await browse(auth.href)).searchParams.get("login_challenge");
  if (stop === "login") return { login };
  const { redirect_to: afterLogin } = await ctx.admin("PUT", `/admin/oauth2/auth/requests/login/accept?login_challenge=${login}`, { subject: "bench-user" });
  if (stop === "login-verifier") return { path: relative(afterLogin), headers: { cookie: cookie() } };
  const consent = (await browse(afterLogin)).searchParams.get("consent_challenge");
  if (stop === "consent") return { consent };
  const { redirect_to: afterConsent } = await ctx.admin("PUT", `/admin/oauth2/auth/requests/consent/accept?consent_challenge=${consent}`,
    { grant_scope: ["openid", "offline_access"], session: { id_token: { email: "bench@example.com" } } });
  if (stop === "consent-verifier") return { path: relative(afterConsent), headers: { cookie: cookie() } };
  const code = (await browse(afterConsent)).searchParams.get("code");
  const exchange = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: FLOW_REDIRECT }).toString();
  if (stop === "code") return { body: exchange, headers: { authorization: basic(client) } };
  const r = await ctx.fetch("POST", "/oauth2/token", {
    headers: { authorization: basic(client), "content-type": "application/x-www-form-urlencoded" },
    body: exchange,
  });
  if (r.status !== 200) throw new BenchError(`code exchange answered ${r.status} ${r.text}`);
  return { tokens: r.json() };
}

/** Tokens from a whole flow; creates a client unless one is given. */
async function codeFlowTokens(ctx, strategy, given) {
  const client = given ?? (await flowClient(ctx, strategy));
  return { client, tokens: (await flow(ctx, client, "tokens")).tokens };
}

/** `n` prepared single-use requests of a flow stage, 8 flows at a time. */
async function flowPool(ctx, client, stage, n) {
  const items = [];
  while (items.length < n) {
    const batch = Math.min(8, n - items.length);
    items.push(...(await Promise.all(Array.from({ length: batch }, () => flow(ctx, client, stage)))));
  }
  return items;
}

/**
 * One step of a login + consent + code flow. Repeatable steps (`single: false`) send the same
 * request again and again (starting a flow writes nothing; the admin routes read a challenge);
 * single-use ones (verifiers, code exchanges) take each request from a pool prepared before each
 * round, outside the measured time.
 */
function flowStep(name, method, expect, prepare) {
  return { name, method, path: "/", expect, flowStep: true, setup: prepare };
}

function flowSteps() {
  return [
  flowStep("auth-start", "GET", 302, async (ctx) => {
    const client = await flowClient(ctx, "opaque");
    ctx.req.path = (await flow(ctx, client, "auth")).path;
  }),
  flowStep("login-request", "GET", 200, async (ctx) => {
    const { login } = await flow(ctx, await flowClient(ctx, "opaque"), "login");
    ctx.req.path = `/admin/oauth2/auth/requests/login?login_challenge=${login}`;
    ctx.req.headers.authorization = `Bearer ${ctx.adminToken}`;
  }),
  flowStep("login-accept", "PUT", 200, async (ctx) => {
    const { login } = await flow(ctx, await flowClient(ctx, "opaque"), "login");
    ctx.req.path = `/admin/oauth2/auth/requests/login/accept?login_challenge=${login}`;
    ctx.req.headers = { authorization: `Bearer ${ctx.adminToken}`, "content-type": "application/json" };
    ctx.req.body = JSON.stringify({ subject: "bench-user" });
  }),
  flowStep("login-verifier", "GET", 302, async (ctx) => {
    const client = await flowClient(ctx, "opaque");
    ctx.req.pool = (n) => flowPool(ctx, client, "login-verifier", n);
  }),
  flowStep("consent-request", "GET", 200, async (ctx) => {
    const { consent } = await flow(ctx, await flowClient(ctx, "opaque"), "consent");
    ctx.req.path = `/admin/oauth2/auth/requests/consent?consent_challenge=${consent}`;
    ctx.req.headers.authorization = `Bearer ${ctx.adminToken}`;
  }),
  flowStep("consent-accept", "PUT", 200, async (ctx) => {
    const { consent } = await flow(ctx, await flowClient(ctx, "opaque"), "consent");
    ctx.req.path = `/admin/oauth2/auth/requests/consent/accept?consent_challenge=${consent}`;
    ctx.req.headers = { authorization: `Bearer ${ctx.adminToken}`, "content-type": "application/json" };
    ctx.req.body = JSON.stringify({ grant_scope: ["openid", "offline_access"] });
  }),
  flowStep("consent-verifier", "GET", 303, async (ctx) => {
    const client = await flowClient(ctx, "opaque");
    ctx.req.pool = (n) => flowPool(ctx, client, "consent-verifier", n);
  }),
  flowStep("code-exchange", "POST", 200, async (ctx) => {
    const client = await flowClient(ctx, "opaque");
    ctx.req.path = "/oauth2/token";
    ctx.req.headers["content-type"] = "application/x-www-form-urlencoded";
    ctx.req.pool = (n) => flowPool(ctx, client, "code", n);
  }),
  ];
}

/** A token-endpoint scenario that stops after client authentication (see above). */
function tokenAuth(name, secret, expect) {
  return {
    name,
    method: "POST",
    path: "/oauth2/token",
    expect,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    setup: async (ctx) => {
      const c = await ctx.admin("POST", "/admin/clients", {
        token_endpoint_auth_method: secret === "none" ? "none" : "client_secret_basic",
        redirect_uris: ["https://bench.example/cb"],
      });
      const form = { grant_type: "authorization_code", code: "ory_ac_bXVzdC1ub3QtdmVyaWZ5.bm90LWEtcmVhbC1zaWduYXR1cmU" };
      if (secret === "none") {
        form.client_id = c.client_id;
      } else {
        const presented = secret === "right" ? c.client_secret : "not-the-secret";
        ctx.req.headers.authorization = "Basic " + Buffer.from(`${c.client_id}:${presented}`).toString("base64");
      }
      ctx.req.body = new URLSearchParams(form).toString();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Load generator (runs in the worker thread, or inline with --inline).
// ---------------------------------------------------------------------------------------------

/**
 * Keeps `concurrency` requests in flight over keep-alive connections for `durationMs`, then waits
 * for the ones still in flight. Returns counts and latency percentiles.
 */
async function generateLoad({ origin, req, concurrency, durationMs, pool }) {
  const { hostname, port } = new URL(origin);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const body = req.body == null ? null : Buffer.from(req.body);
  const headers = { ...req.headers };
  if (body) headers["content-length"] = String(body.length);

  const latencies = [];
  const statuses = {};
  let errors = 0;
  let firstError = null;
  // The test-mode storage-cost header of the last answer (a warm request).
  let storage = null;
  // Chained requests (refresh rotation): each lane sends the value its previous answer returned.
  const chain = req.chain ? [...req.chain.values] : null;
  // Single-use requests (flow steps, code exchanges): each request takes the next prepared one
  // ({ path, headers, body }), and lanes stop when none is left.
  const items = pool ? [...pool] : null;

  const once = (laneIndex) =>
    new Promise((resolve) => {
      const t0 = performance.now();
      let laneBody = body;
      let laneHeaders = headers;
      let lanePath = req.path;
      if (items) {
        const item = items.pop();
        lanePath = item.path ?? lanePath;
        laneBody = item.body == null ? body : Buffer.from(item.body);
        laneHeaders = { ...headers, ...item.headers };
        if (laneBody) laneHeaders["content-length"] = String(laneBody.length);
      }
      if (chain) {
        laneBody = Buffer.from(req.body.replace(encodeURIComponent(req.chain.placeholder), encodeURIComponent(chain[laneIndex])));
        laneHeaders = { ...headers, "content-length": String(laneBody.length) };
      }
      const r = http.request({ agent, hostname, port, method: req.method, path: lanePath, headers: laneHeaders }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          latencies.push(performance.now() - t0);
          storage = res.headers["x-hydra-edge-storage"] ?? storage;
          if (chain && res.statusCode === 200) {
            try {
              chain[laneIndex] = JSON.parse(Buffer.concat(chunks).toString())[req.chain.field];
            } catch {}
          }
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          const unexpected = req.expect ? res.statusCode !== req.expect : res.statusCode < 200 || res.statusCode > 299;
          if (unexpected) {
            errors++;
            firstError ??= `${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 300)}`;
          }
          resolve();
        });
        res.on("error", fail);
      });
      function fail(e) {
        errors++;
        statuses.network = (statuses.network ?? 0) + 1;
        firstError ??= `network: ${e.message}`;
        resolve();
      }
      r.on("error", fail);
      // A request that never answers would stall its lane, and the whole bench, for good.
      r.setTimeout(REQUEST_TIMEOUT_MS, () => r.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      r.end(laneBody ?? undefined);
    });

  const start = performance.now();
  const deadline = start + durationMs;
  const lane = async (_, i) => {
    while (performance.now() < deadline && (!items || items.length > 0)) await once(i);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsedMs = performance.now() - start;
  agent.destroy();

  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    chainValues: chain,
    storage,
    errors,
    statuses,
    firstError,
    elapsedMs,
    rps: (latencies.length / elapsedMs) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    mean: latencies.reduce((s, x) => s + x, 0) / (latencies.length || 1),
  };
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

if (!isMainThread && workerData?.role === "load") {
  parentPort.on("message", async (job) => {
    try {
      parentPort.postMessage({ ok: true, result: await generateLoad(job) });
    } catch (e) {
      parentPort.postMessage({ ok: false, error: e.stack ?? String(e) });
    }
  });
} else if (isMainThread) {
  await main();
}

// ---------------------------------------------------------------------------------------------
// Main program.
// ---------------------------------------------------------------------------------------------

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
    selectScenarios(opts.names);
  } catch (e) {
    console.error(`bench: ${e.message}`);
    process.exitCode = 2;
    return;
  }
  if (opts.list) {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(28)} ${s.method} ${s.path}`);
    return;
  }

  // Everything that must be stopped, in the order it must be stopped in.
  const cleanups = [];
  let cleaning = null;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const fn of cleanups.reverse()) {
        try {
          await fn();
        } catch (e) {
          console.error(`cleanup: ${e.message}`);
        }
      }
    })());
  // Once miniflare runs, its own exit hook also answers these signals: it kills workerd and
  // exits at once (worker threads die with the process), so this handler matters most while
  // make or wrangler run, in process groups of their own that a terminal's ^C does not reach.
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.once(sig, async () => {
      stopping = true;
      console.error(`\n${sig}: stopping`);
      await cleanup();
      process.exit(128 + os.constants.signals[sig]);
    });
  }

  try {
    await run(opts, cleanups);
  } catch (e) {
    // An interrupted step fails in odd ways (a killed wrangler exits 0); that is no news.
    if (!stopping) console.error(`bench: ${e instanceof BenchError ? e.message : (e.stack ?? e)}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

async function run(opts, cleanups) {
  const [baseline] = SCENARIOS;
  const selected = selectScenarios(opts.names);
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)}s`;

  // Other work on the machine (a compiler, a test run) shows up as noise between rounds.
  const busy = await otherCpuLoad(500);
  if (busy > 0.2) {
    console.warn(`warning: ${(busy * 100).toFixed(0)}% of the CPUs are busy before the benchmark starts; expect noisy numbers`);
  }

  // 1. The bundle `wrangler deploy` would upload: the bundled entry plus the wasm module.
  console.log("Building and bundling (make build; wrangler deploy --dry-run) ...");
  const bundle = await buildBundle(cleanups);
  const sizes = wasmSizes(bundle);

  // 2. miniflare serving that bundle, with fresh in-memory D1 and KV, reached through the
  // Worker's own socket (unsafeDirectSockets): miniflare's default port goes through its entry
  // worker, a dev-only hop that costs more than the no-op itself. The JS no-op Worker runs in the
  // same workerd, behind its own direct socket.
  const mf = await startMiniflare(bundle, cleanups, opts);
  const origin = mf.origins.hydra;
  const migrations = await applyMigrations(await mf.db());
  console.log(`[${elapsed()}] miniflare: hydra-edge on ${origin}, JS no-op on ${mf.origins.noop}; migrations applied: ${migrations.join(", ") || "(none)"}`);
  const origins = { ...mf.origins };
  let peer = null;
  if (selected.some((s) => s.target === "peer")) {
    peer = await startPeer(cleanups);
    origins.peer = peer.origin;
    console.log(`[${elapsed()}] peer: node-oidc-provider ${packageVersion("oidc-provider")} on ${peer.origin}`);
  }

  const alive = await fetch(`${origin}/health/alive`);
  const aliveBody = await alive.text();
  if (alive.status !== 200 || JSON.parse(aliveBody).status !== "ok") {
    throw new BenchError(`GET /health/alive answered ${alive.status} ${aliveBody}`);
  }

  // 3. The load generator.
  const load = opts.inline ? (job) => generateLoad(job) : startLoadWorker(cleanups);

  // 4. Setup and warm-up, scenario by scenario.
  const ctx0 = { ...makeContext(origin), peer };
  const requests = new Map();
  for (const s of selected) {
    const target = origins[s.target ?? "hydra"];
    const req = { method: s.method, path: s.path, headers: { ...s.headers }, body: s.body ?? null, expect: s.expect ?? null, origin: target };
    if (s.setup) await s.setup({ ...ctx0, req, concurrency: opts.concurrency });
    // One checked request first: a benchmark of error responses would measure the wrong thing.
    let firstBody = req.chain ? req.body.replace(encodeURIComponent(req.chain.placeholder), encodeURIComponent(req.chain.values.pop())) : req.body;
    let first = { path: req.path, headers: req.headers };
    if (req.pool) {
      const [item] = await req.pool(1);
      first = { path: item.path ?? req.path, headers: { ...req.headers, ...item.headers } };
      firstBody = item.body ?? firstBody;
    }
    const res = await fetch(target + first.path, { method: req.method, headers: first.headers, body: firstBody ?? undefined, redirect: "manual" });
    const text = await res.text();
    if (req.expect ? res.status !== req.expect : !res.ok) throw new BenchError(`${s.name}: ${req.method} ${req.path} answered ${res.status} ${text.slice(0, 500)}`);
    const pool = req.pool ? await req.pool(opts.poolSize) : undefined;
    const warm = await load({ origin: target, req: loadable(req), concurrency: opts.concurrency, durationMs: opts.warmup * 1000, pool });
    if (req.chain) req.chain.values = warm.chainValues;
    delete warm.chainValues;
    requests.set(s.name, req);
  }

  // 5. Interleaved rounds: baseline, A, B, baseline, A, B, ...
  console.log(
    `[${elapsed()}] Measuring ${selected.map((s) => s.name).join(", ")}: ${opts.rounds} rounds x ${opts.duration}s, ` +
      `${opts.concurrency} in flight${opts.inline ? ", inline load generator" : ""}`,
  );
  const perRound = new Map(selected.map((s) => [s.name, []]));
  for (let round = 0; round < opts.rounds; round++) {
    const line = [];
    for (const s of selected) {
      const req = requests.get(s.name);
      const pool = req.pool ? await req.pool(opts.poolSize) : undefined;
      const r = await load({ origin: req.origin, req: loadable(req), concurrency: opts.concurrency, durationMs: opts.duration * 1000, pool });
      if (req.chain) req.chain.values = r.chainValues;
      delete r.chainValues;
      perRound.get(s.name).push(r);
      line.push(`${s.name} ${r.rps.toFixed(0)}/s`);
      if (r.errors) console.warn(`  ${s.name}: ${r.errors} errors (${JSON.stringify(r.statuses)}), first: ${r.firstError}`);
    }
    console.log(`  round ${round + 1}: ${line.join(", ")}`);
  }

  // 5b. With --cpu: one more load of each of our scenarios under V8's profiler, attached to the
  // hydra-edge isolate only (bench/inspector.mjs): the isolate's own CPU time per request,
  // without the local D1/KV work that 1/(req/s) includes. Not interleaved with the rounds above:
  // the profiler slows the isolate down.
  const cpu = new Map();
  if (opts.cpu) {
    const profiler = await attachProfiler(mf.inspectorPort, "hydra-edge");
    const names = wasmFunctionNames(path.join(ROOT, "build", "index_bg.names.wasm"));
    for (const s of selected.filter((x) => (x.target ?? "hydra") === "hydra")) {
      const req = requests.get(s.name);
      const pool = req.pool ? await req.pool(opts.poolSize) : undefined;
      await profiler.start();
      const r = await load({ origin: req.origin, req: loadable(req), concurrency: opts.concurrency, durationMs: opts.duration * 1000, pool });
      const profile = await profiler.stop();
      // For a closer look (bench/profile.mjs prints one; Chrome DevTools opens it).
      writeFileSync(path.join(ROOT, "build", `cpu-${s.name}.cpuprofile`), JSON.stringify(profile));
      const { busy, inD1, inLog } = selfTimes(profile, names);
      if (req.chain) req.chain.values = r.chainValues;
      if (r.requests > 0) cpu.set(s.name, { busy: busy / r.requests, d1: inD1 / r.requests, log: inLog / r.requests });
    }
    profiler.close();
    const us = (c) => `${c.busy.toFixed(0)} µs (D1 calls ${c.d1.toFixed(0)}, log ${c.log.toFixed(0)})`;
    console.log(`  isolate CPU: ${[...cpu].map(([n, c]) => `${n} ${us(c)}`).join(", ")}`);
  }

  // 6. Per route: median over rounds; ratios against the baseline of the same round.
  const base = perRound.get(baseline.name);
  const results = selected.map((s) => {
    const rounds = perRound.get(s.name).map((r, i) => ({
      ...r,
      rpsRatio: r.rps / base[i].rps,
      p50Ratio: r.p50 / base[i].p50,
    }));
    const rps = rounds.map((r) => r.rps);
    const req = requests.get(s.name); // as sent: setup may have changed it
    return {
      name: s.name,
      target: s.target ?? "hydra",
      peerOf: s.peerOf ?? null,
      method: req.method,
      path: req.path,
      baseline: s === baseline,
      median: {
        rps: median(rps),
        p50Ms: median(rounds.map((r) => r.p50)),
        p99Ms: median(rounds.map((r) => r.p99)),
        errors: median(rounds.map((r) => r.errors)),
        rpsRatio: median(rounds.map((r) => r.rpsRatio)),
        p50Ratio: median(rounds.map((r) => r.p50Ratio)),
      },
      totalErrors: rounds.reduce((n, r) => n + r.errors, 0),
      // With --cpu: the hydra-edge isolate's busy time per request (µs), from V8's profiler, and
      // how much of it was inside D1 calls and console calls ({ busy, d1, log }).
      isolateCpuUs: cpu.get(s.name) ?? null,
      // D1 round trips/statements and KV reads/writes of a warm request (test-mode header).
      storage: rounds.at(-1)?.storage ?? null,
      // Spread of req/s between rounds, relative to the median: how far to trust the numbers.
      rpsSpread: (Math.max(...rps) - Math.min(...rps)) / median(rps),
      rounds,
    };
  });

  const comparisons = compare(results);
  if (opts.check) {
    writeFileSync(path.join(ROOT, "build", "bench-check.json"), JSON.stringify({ routes: results, wasm: sizes }, null, 2) + "\n");
    return judge(results, sizes);
  }
  printReport(results, comparisons, sizes, opts);
  const cold = opts.cold > 0 ? await coldStarts(bundle, opts.cold, cleanups) : null;
  const report = {
    generatedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      miniflare: packageVersion("miniflare"),
      wrangler: packageVersion("wrangler"),
      oidcProvider: packageVersion("oidc-provider"),
      loadAverage: os.loadavg(),
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
    },
    cpuBusyBeforeStart: busy,
    options: { duration: opts.duration, concurrency: opts.concurrency, rounds: opts.rounds, warmup: opts.warmup, inline: opts.inline, cpu: opts.cpu, logLevel: opts.logLevel },
    baseline: baseline.name,
    wasm: sizes,
    comparisons,
    coldStart: cold,
    routes: results,
  };
  writeFileSync(RESULTS_FILE, JSON.stringify(report, null, 2) + "\n");
  console.log(`\nWrote ${path.relative(ROOT, RESULTS_FILE)}`);
}

/** The request as the load generator gets it (a worker thread: data only, no functions). */
function loadable(req) {
  const { pool, ...rest } = req;
  void pool;
  return rest;
}

function parseArgs(argv) {
  const env = process.env;
  const opts = {
    names: [],
    duration: Number(env.BENCH_DURATION ?? 3),
    concurrency: Number(env.BENCH_CONCURRENCY ?? 4),
    rounds: Number(env.BENCH_ROUNDS ?? 3),
    warmup: Number(env.BENCH_WARMUP ?? 1),
    inline: env.BENCH_INLINE === "1",
    cpu: env.BENCH_CPU === "1",
    logLevel: env.BENCH_LOG_LEVEL ?? null,
    list: false,
    check: false,
    poolSize: Number(env.BENCH_POOL ?? 200),
    cold: Number(env.BENCH_COLD ?? 5),
  };
  for (const arg of argv) {
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    if (!m) opts.names.push(arg);
    else if (["inline", "list", "check", "cpu"].includes(m[1])) opts[m[1]] = true;
    else if (["duration", "concurrency", "rounds", "warmup", "cold"].includes(m[1]) && m[2] !== undefined) opts[m[1]] = Number(m[2]);
    else if (m[1] === "pool" && m[2] !== undefined) opts.poolSize = Number(m[2]);
    else if (m[1] === "log" && m[2]) opts.logLevel = m[2];
    else throw new BenchError(`unknown option ${arg} (see bench/README.md)`);
  }
  for (const k of ["duration", "concurrency", "rounds"]) {
    if (!(opts[k] > 0)) throw new BenchError(`--${k} must be a positive number`);
  }
  if (!(opts.warmup >= 0)) throw new BenchError("--warmup must be >= 0");
  opts.concurrency = Math.round(opts.concurrency);
  opts.rounds = Math.round(opts.rounds);
  if (opts.check) {
    // The regression check (`make test`): a few short rounds of the ratio-checked scenarios.
    Object.assign(opts, { names: CHECK.scenarios, duration: 1, rounds: 3, warmup: 0.5, cold: 0 });
  }
  return opts;
}

/** The regression check's verdict: each floor and the size budget; a failure sets the exit code. */
function judge(results, sizes) {
  const byName = new Map(results.map((r) => [r.name, r]));
  const failures = [];
  console.log("\nRegression check (median ratio of req/s in the same rounds, against its floor):");
  for (const [a, b, floor] of CHECK.floors) {
    const ra = byName.get(a);
    const rb = byName.get(b);
    const ratio = median(ra.rounds.map((r, i) => r.rps / rb.rounds[i].rps));
    const ok = ratio >= floor;
    console.log(`  ${ok ? "ok  " : "FAIL"} ${a} / ${b}: ${ratio.toFixed(2)} (floor ${floor})`);
    if (!ok) failures.push(`${a} / ${b} = ${ratio.toFixed(2)} < ${floor}`);
    const errors = ra.totalErrors + rb.totalErrors;
    if (errors) failures.push(`${a} or ${b} answered ${errors} unexpected responses`);
  }
  const kib = sizes.uploaded.gzipBytes / 1024;
  const fits = kib <= CHECK.wasmGzipBudgetKiB;
  console.log(`  ${fits ? "ok  " : "FAIL"} wasm module: ${kib.toFixed(1)} KiB gzip (budget ${CHECK.wasmGzipBudgetKiB} KiB)`);
  if (!fits) failures.push(`the wasm module is ${kib.toFixed(1)} KiB gzipped, over the ${CHECK.wasmGzipBudgetKiB} KiB budget`);
  if (failures.length) {
    console.error(`\nregression check failed:\n  ${failures.join("\n  ")}`);
    process.exitCode = 1;
  } else {
    console.log("\nregression check passed");
  }
}

/**
 * Cold starts: a new miniflare (workerd) per sample, for the bundle and for the JS no-op. `ready`
 * is workerd's start with the script loaded (the wasm module compiled and instantiated); `first`
 * the first answer of the fresh isolate (`GET /health/alive`: configuration parsed, nothing read);
 * `second` the next one, for comparison. Medians, in milliseconds.
 */
async function coldStarts(bundle, samples, cleanups) {
  const { Miniflare } = await import("miniflare");
  const kinds = {
    "hydra-edge": (port, origin) => hydraWorker(bundle.entry, origin, port),
    "js-noop": (port) => noopWorker(port),
  };
  const out = {};
  console.log(`\nCold start (${samples} fresh workerd instances per Worker, medians, ms):\n`);
  for (const [name, worker] of Object.entries(kinds)) {
    const times = { ready: [], first: [], second: [] };
    for (let i = 0; i < samples; i++) {
      const [entry, direct] = [await freePort(), await freePort()];
      const origin = `http://127.0.0.1:${direct}`;
      const t0 = performance.now();
      const mf = new Miniflare({ host: "127.0.0.1", port: entry, workers: [worker(direct, origin)] });
      const stop = () => mf.dispose();
      cleanups.push(stop);
      await mf.ready;
      const t1 = performance.now();
      await (await fetch(`${origin}/health/alive`)).text();
      const t2 = performance.now();
      await (await fetch(`${origin}/health/alive`)).text();
      const t3 = performance.now();
      await mf.dispose();
      cleanups.splice(cleanups.indexOf(stop), 1);
      times.ready.push(t1 - t0);
      times.first.push(t2 - t1);
      times.second.push(t3 - t2);
    }
    out[name] = { ready: median(times.ready), first: median(times.first), second: median(times.second), samples: times };
    console.log(`  ${name.padEnd(12)} ready ${out[name].ready.toFixed(0).padStart(5)}   first answer ${out[name].first.toFixed(1).padStart(6)}   second ${out[name].second.toFixed(1).padStart(6)}`);
  }
  return out;
}

/** The named scenarios (all when none is named), always starting with the baseline. */
function selectScenarios(names) {
  // "peer": every scenario the peer shares, with ours.
  names = names.flatMap((n) => (n === "peer" ? SCENARIOS.filter((s) => s.peerOf).flatMap((s) => [s.name, s.peerOf]) : [n]));
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) {
    throw new BenchError(`unknown scenario ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  }
  if (names.length === 0) return SCENARIOS;
  return SCENARIOS.filter((s) => BASELINES.includes(s.name) || names.includes(s.name));
}

/** Settings of the bench's hydra-edge Worker. */
function hydraBindings(origin, logLevel = null) {
  return {
    // `--log=warn`: no request line per successful request (the peer writes none either).
    ...(logLevel ? { LOG_LEVEL: logLevel } : {}),
    URLS_SELF_ISSUER: origin,
    SECRETS_SYSTEM: "bench-system-secret-0123456789",
    ADMIN_API_TOKEN: ADMIN_TOKEN,
    // The storage-cost header (D1 round trips, KV operations) of every answer.
    HYDRA_EDGE_TEST_ROUTES: "true",
  };
}

/** The hydra-edge Worker as a miniflare worker definition (scriptPath: the bundled entry). */
function hydraWorker(scriptPath, origin, port, logLevel = null) {
  return {
    name: "hydra-edge",
    modules: true,
    scriptPath,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-20",
    kvNamespaces: ["KV"],
    d1Databases: ["DB"],
    bindings: hydraBindings(origin, logLevel),
    unsafeDirectSockets: [{ host: "127.0.0.1", port }],
  };
}

function noopWorker(port) {
  return { name: "js-noop", modules: true, script: JS_NOOP, compatibilityDate: "2026-04-20", unsafeDirectSockets: [{ host: "127.0.0.1", port }] };
}

/**
 * One workerd (miniflare) serving the bundle and the JS no-op, each on its own direct socket.
 * Returns their origins and the hydra-edge D1 database.
 */
async function startMiniflare(bundle, cleanups, { cpu: inspect = false, logLevel = null } = {}) {
  const { Miniflare } = await import("miniflare");
  const [entryPort, hydraPort, noopPort] = [await freePort(), await freePort(), await freePort()];
  const inspectorPort = inspect ? await freePort() : undefined;
  const origins = { hydra: `http://127.0.0.1:${hydraPort}`, noop: `http://127.0.0.1:${noopPort}` };
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: entryPort,
    ...(inspect ? { inspectorPort } : {}),
    workers: [hydraWorker(bundle.entry, origins.hydra, hydraPort, logLevel), noopWorker(noopPort)],
  });
  cleanups.push(() => mf.dispose());
  await mf.ready;
  return { origins, inspectorPort, db: () => mf.getD1Database("DB", "hydra-edge") };
}

/** node-oidc-provider in a process of its own (bench/peer.mjs); resolves with its origin and client. */
async function startPeer(cleanups) {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, "bench", "peer.mjs"), String(port)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanups.push(async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const line = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out.split("\n")[0]);
    });
    child.once("exit", (code) => reject(new BenchError(`the peer (bench/peer.mjs) exited (${code}):\n${stderr}`)));
    setTimeout(() => reject(new BenchError(`the peer did not start within 20 s:\n${stderr}`)), 20_000);
  });
  return JSON.parse(line);
}

/** Helpers given to scenario setup functions. */
function makeContext(origin) {
  const call = async (method, p, { headers = {}, body } = {}) => {
    const res = await fetch(origin + p, { method, headers, body });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
  };
  return {
    origin,
    adminToken: ADMIN_TOKEN,
    fetch: call,
    /** Admin API call with a JSON body; throws unless 2xx; returns the parsed JSON (or null). */
    admin: async (method, p, json) => {
      const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
      if (json !== undefined) headers["content-type"] = "application/json";
      const r = await call(method, p, { headers, body: json === undefined ? undefined : JSON.stringify(json) });
      if (r.status < 200 || r.status > 299) throw new BenchError(`${method} ${p} answered ${r.status} ${r.text.slice(0, 500)}`);
      return r.text ? r.json() : null;
    },
  };
}

/**
 * Builds (`make build`, a no-op when current) and runs `wrangler deploy --dry-run --outdir
 * build/bundle`; returns the paths of the bundled entry and of the wasm module.
 */
async function buildBundle(cleanups) {
  // Built here rather than by wrangler's [build] hook, so that a long compile shows its progress
  // and the dry run below can have a short timeout.
  await runChild("make", ["--no-print-directory", "-s", "build"], { cleanups, capture: false });

  rmSync(BUNDLE_DIR, { recursive: true, force: true }); // the wasm file name carries a hash
  mkdirSync(BUNDLE_DIR, { recursive: true });
  const wrangler = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
  // A bundle, not a deployment: the deploy guard (scripts/deploy-guard.mjs) wants a public issuer.
  const dryRun = [wrangler, "deploy", "--dry-run", "--outdir", BUNDLE_DIR, "--var", "URLS_SELF_ISSUER:https://bundle.invalid"];
  await runChild(process.execPath, dryRun, {
    cleanups,
    capture: true,
    timeoutMs: 120_000,
  });

  const files = readdirSync(BUNDLE_DIR);
  const wasm = files.filter((f) => f.endsWith(".wasm"));
  const entry = files.find((f) => f.endsWith(".js"));
  if (!entry || wasm.length !== 1) throw new BenchError(`unexpected bundle in ${BUNDLE_DIR}: ${files.join(", ")}`);
  return {
    dir: BUNDLE_DIR,
    entry: path.join(BUNDLE_DIR, entry),
    wasm: path.join(BUNDLE_DIR, wasm[0]),
    // What wrangler reports as "Total Upload": every module of the Worker (not source maps).
    modules: files.filter((f) => !f.endsWith(".map") && f !== "README.md").map((f) => path.join(BUNDLE_DIR, f)),
  };
}

function wasmSizes(bundle) {
  const measure = (file) => {
    const bytes = readFileSync(file);
    return { file: path.relative(ROOT, file), bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
  };
  const uploaded = measure(bundle.wasm);
  const sizes = { uploaded };
  const built = path.join(ROOT, "build", "index_bg.wasm");
  if (existsSync(built) && !readFileSync(built).equals(readFileSync(bundle.wasm))) sizes.built = measure(built);
  // Cloudflare's size limit applies to the whole upload, compressed.
  const all = bundle.modules.map((f) => readFileSync(f));
  sizes.totalUpload = {
    files: bundle.modules.map((f) => path.relative(ROOT, f)),
    bytes: all.reduce((n, b) => n + b.length, 0),
    gzipBytes: all.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0),
  };
  return sizes;
}

/**
 * Runs a command to completion; rejects on a non-zero exit (with the output's last lines when
 * captured) or after `timeoutMs`. The child leads its own process group, and stopping it kills
 * the whole group: wrangler's launcher forwards SIGTERM to the real CLI, but a CLI stuck with a
 * blocked event loop never acts on it, and a build spawns its own children.
 */
async function runChild(cmd, args, { cleanups, capture, timeoutMs }) {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
    stdio: capture ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
    detached: true,
  });
  let done = false;
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  };
  const stop = async () => {
    if (done) return;
    killGroup("SIGTERM");
    await new Promise((r) => setTimeout(r, 2000));
    if (!done) killGroup("SIGKILL");
  };
  cleanups.push(stop);

  let output = "";
  if (capture) {
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
  }
  let timedOut = false;
  const timer = timeoutMs && setTimeout(() => ((timedOut = true), stop()), timeoutMs);
  const code = await new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c, sig) => resolve(c ?? sig));
  }).finally(() => {
    done = true;
    clearTimeout(timer);
  });
  if (code !== 0) {
    const what = [cmd === process.execPath ? "node" : cmd, ...args.map((a) => path.basename(a))].join(" ");
    const why = timedOut ? `timed out after ${timeoutMs / 1000}s` : `failed (${code})`;
    const tail = output.trimEnd().split("\n").slice(-40).join("\n");
    throw new BenchError(`${what} ${why}${tail ? `; last lines:\n${tail}` : ""}`);
  }
}

/** A persistent worker thread running generateLoad(); returns a function that runs one job. */
function startLoadWorker(cleanups) {
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { role: "load" } });
  cleanups.push(() => worker.terminate());
  let pending = null;
  worker.on("message", (m) => {
    const p = pending;
    pending = null;
    if (m.ok) p?.resolve(m.result);
    else p?.reject(new Error(`load generator: ${m.error}`));
  });
  worker.on("error", (e) => pending?.reject(e));
  worker.on("exit", (code) => pending?.reject(new Error(`load generator exited (${code})`)));
  return (job) =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject };
      worker.postMessage(job);
    });
}

/** Fraction of all CPUs busy over `ms` milliseconds (this process is idle meanwhile). */
async function otherCpuLoad(ms) {
  const sample = () => os.cpus().reduce((acc, c) => {
    const t = c.times;
    acc.idle += t.idle;
    acc.total += t.user + t.nice + t.sys + t.idle + t.irq;
    return acc;
  }, { idle: 0, total: 0 });
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

/**
 * Ratios between routes of the same round, medians over rounds: hydra-edge's no-op against the
 * JS no-op (what the Rust shell costs), and each shared scenario against the peer.
 */
function compare(results) {
  const byName = new Map(results.map((r) => [r.name, r]));
  const ratio = (a, b) => median(a.rounds.map((r, i) => r.rps / b.rounds[i].rps));
  const base = byName.get("health-alive");
  const noop = byName.get("js-noop");
  return {
    shellVsJsNoop: base && noop ? ratio(base, noop) : null,
    peer: results
      .filter((r) => r.peerOf && byName.has(r.peerOf))
      .map((p) => {
        const ours = byName.get(p.peerOf);
        return {
          scenario: ours.name,
          oursRps: ours.median.rps,
          peerRps: p.median.rps,
          oursVsPeer: ratio(ours, p),
          oursVsOurNoop: ours.median.rpsRatio,
          peerVsOurNoop: p.median.rpsRatio,
        };
      }),
  };
}

/** The --cpu columns of one route: busy, in D1 calls, in console calls, the rest (µs/request). */
function cpuCells(c) {
  if (c == null) return ["-", "-", "-", "-"];
  return [c.busy, c.d1, c.log, c.busy - c.d1 - c.log].map((x) => x.toFixed(0));
}

function printReport(results, comparisons, sizes, opts) {
  const withCpu = results.some((r) => r.isolateCpuUs != null);
  const cpuHead = ["isolate µs", "in D1 calls", "in log", "the rest"];
  const head = ["route", "req/s", "p50 ms", "p99 ms", "errors", "req/s vs base", "p50 vs base", "req/s spread", ...(withCpu ? cpuHead : []), "storage (warm)"];
  const rows = results.map((r) => [
    // Flow steps send per-request paths (a challenge or verifier): the label shows their start.
    `${r.name}: ${r.method} ${r.path.length > 48 ? r.path.slice(0, 45) + "..." : r.path}${r.baseline ? " (baseline)" : ""}`,
    r.median.rps.toFixed(0),
    r.median.p50Ms.toFixed(2),
    r.median.p99Ms.toFixed(2),
    String(r.totalErrors),
    r.median.rpsRatio.toFixed(2),
    r.median.p50Ratio.toFixed(2),
    `${(r.rpsSpread * 100).toFixed(1)}%`,
    ...(withCpu ? cpuCells(r.isolateCpuUs) : []),
    r.storage ?? "-",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  console.log(
    `\nMedian of ${opts.rounds} rounds x ${opts.duration}s at ${opts.concurrency} in flight ` +
      `(errors: non-2xx summed over all rounds; spread: (max - min) / median req/s):\n`,
  );
  console.log(fmt(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(fmt(row));

  if (comparisons.shellVsJsNoop != null) {
    console.log(`\nhealth-alive / js-noop (the Rust shell against a plain JS Worker): ${comparisons.shellVsJsNoop.toFixed(2)}`);
  }
  if (comparisons.peer.length) {
    const ph = ["shared scenario", "ours req/s", "peer req/s", "ours / peer", "ours vs our no-op", "peer vs our no-op"];
    const prow = comparisons.peer.map((c) => [c.scenario, c.oursRps.toFixed(0), c.peerRps.toFixed(0), c.oursVsPeer.toFixed(2), c.oursVsOurNoop.toFixed(2), c.peerVsOurNoop.toFixed(2)]);
    const pw = ph.map((h, i) => Math.max(h.length, ...prow.map((row) => row[i].length)));
    const pf = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(pw[i]) : cell.padStart(pw[i]))).join("  ");
    console.log("\nAgainst the peer (node-oidc-provider), same rounds (ours / peer: median of per-round ratios):\n");
    console.log(pf(ph));
    console.log(pw.map((w) => "-".repeat(w)).join("  "));
    for (const row of prow) console.log(pf(row));
  }

  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  const line = (label, s) => console.log(`${label.padEnd(24)} ${kib(s.bytes).padStart(11)} raw  ${kib(s.gzipBytes).padStart(11)} gzip -9   ${s.file ?? ""}`);
  console.log("");
  line("wasm (uploaded)", sizes.uploaded);
  if (sizes.built) line("wasm (build/)", sizes.built);
  else console.log(`${"".padEnd(24)} (build/index_bg.wasm is the same file)`);
  line("total upload", { ...sizes.totalUpload, file: "entry .js + .wasm, gzip per file" });
}
