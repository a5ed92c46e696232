// The soak (`make soak`, not part of `make test`): mixed traffic of every implemented flow at a
// steady rate through miniflare (the deployable bundle in workerd), for a bounded time: the code
// flow (three kinds of client), remembered sessions, replays, rejections, the hybrid flow,
// refresh with reuse, revocation, introspection, userinfo, client_credentials, RP-initiated
// logout with front- and back-channel (to a relying party this script runs), the device flow,
// discovery and JWKS, client and key administration. It checks: no 5xx at all; every answer the
// one its scenario expects; one back-channel logout request per logout; the Worker's memory (its
// wasm linear memory) flat after warm-up, with the workerd process's RSS reported; and D1 row
// counts held at a steady level by the cleanup job (run every minute here, hourly in
// production) and back to the kept rows once traffic stops and the TTLs (shortened for the
// soak) have passed. Results: build/soak-results.json; docs/benchmarks.md.
//
//   node tests/miniflare/soak.mjs <bundle dir>
//   SOAK_DURATION=600 (seconds of traffic) SOAK_RATE=8 (scenarios started per second)
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {
  ROOT, ADMIN_TOKEN, REDIRECT, assertionKey, authUrl, basic, Browser, call, deviceSignIn, exchangeBody, flow, form, hooks, param, registerClient, sql, startInstances,
} from "./lib.mjs";
import http from "node:http";

const DURATION_S = Number(process.env.SOAK_DURATION ?? 600);
const RATE = Number(process.env.SOAK_RATE ?? 8);
const MAX_IN_FLIGHT = 64;
const CLEANUP_EVERY_MS = 60_000;
const SAMPLE_EVERY_MS = 10_000;
// Short lifetimes, so expiry and cleanup happen within the soak. The longest (2 min) bounds the
// wait after the traffic.
const TTLS = {
  TTL_ACCESS_TOKEN: "1m",
  TTL_ID_TOKEN: "1m",
  TTL_AUTH_CODE: "1m",
  TTL_LOGIN_CONSENT_REQUEST: "1m",
  TTL_REFRESH_TOKEN: "2m",
  TTL_AUTHENTICATION_SESSION: "2m",
  TTL_DEVICE_USER_CODE: "1m",
};
const LONGEST_TTL_MS = 120_000;
/** Tables whose rows expire and are deleted by the cleanup job. */
const EXPIRING = [
  "flow_markers", "authorization_codes", "tokens", "client_assertion_jtis", "login_sessions", "revoked_jtis", "device_codes",
  "device_user_code_attempts",
];
/** Tables kept by design (docs/storage.md): reported, not expected to shrink. */
const KEPT = ["consent_sessions", "clients", "jwk"];

const bundleDir = path.resolve(process.argv[2] ?? "build/bundle");
const stateDir = path.join(ROOT, "target", `soak-state-${process.pid}`);
rmSync(stateDir, { recursive: true, force: true });
mkdirSync(stateDir, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
const stats = { started: 0, done: 0, failed: 0, requests: 0, logouts: 0, status: {}, errors: {}, samples: [] };
const fail = (scenario, what) => {
  stats.failed++;
  const key = `${scenario}: ${what}`.slice(0, 300);
  stats.errors[key] = (stats.errors[key] ?? 0) + 1;
};

// Every answer, whichever helper asked for it, is counted.
hooks.onResponse = (r) => {
  stats.requests++;
  stats.status[r.status] = (stats.status[r.status] ?? 0) + 1;
  if (r.status >= 500) fail("any request", `${r.status} ${r.text.slice(0, 200)}`);
};
const req = call;

// --- Scenarios: every flow that exists today. Each throws on an unexpected answer. ---------

function expect(cond, what, r) {
  if (!cond) throw new Error(`${what}: ${r ? `${r.status} ${r.location} ${r.text.slice(0, 200)}` : ""}`);
}

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const BYE = "https://rp.example/bye";

/** A relying party's back-channel logout endpoint: counts the logout tokens it receives. */
function startReceiver() {
  const received = { backchannel: 0, withoutToken: 0 };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/backchannel") {
        if (new URLSearchParams(body).get("logout_token")) received.backchannel++;
        else received.withoutToken++;
      }
      res.writeHead(200).end();
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, received, base: `http://127.0.0.1:${server.address().port}` })));
}

async function exchange(origin, code, headers, extra = {}) {
  return req(origin, "POST", "/oauth2/token", {
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: exchangeBody(code, extra),
  });
}

/** A code flow of the client_secret_basic client to its tokens. */
async function tokensOf(o, client, subject, opts = {}) {
  const f = await flow(o, client.client_id, "code", subject, { rememberFor: 120, ...opts });
  const r = await exchange(o, f.code, { authorization: basic(client.client_id, client.client_secret) });
  expect(r.status === 200 && r.json?.refresh_token, "token", r);
  return r.json;
}

async function introspect(o, token) {
  const r = await req(o, "POST", "/admin/oauth2/introspect", { headers: { ...FORM, ...adminHeaders }, body: form({ token }) });
  expect(r.status === 200, "introspection", r);
  return r.json.active;
}

function scenarios(o, clients) {
  const { secret, jwt, pub, key, cc, device, rp } = clients;
  const auth = (c) => ({ ...FORM, authorization: basic(c.client_id, c.client_secret) });
  return {
    "code flow, client_secret_basic": async (n) => {
      const f = await flow(o, secret.client_id, "code", `user-${n % 50}`, { rememberFor: 120 });
      const r = await exchange(o, f.code, { authorization: basic(secret.client_id, secret.client_secret) });
      expect(r.status === 200 && r.json?.id_token, "token", r);
    },
    "code flow, private_key_jwt": async (n) => {
      const f = await flow(o, jwt.client_id, "code", `user-${n % 50}`, { rememberFor: 120 });
      const assertion = await key.assertion(jwt.client_id, `soak-${process.pid}-${n}`, 60);
      const r = await exchange(o, f.code, {}, { client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: assertion });
      expect(r.status === 200, "token", r);
    },
    "code flow, public client with PKCE": async (n) => {
      const f = await flow(o, pub.client_id, "code", `user-${n % 50}`, { rememberFor: 120 });
      const r = await exchange(o, f.code, {}, { client_id: pub.client_id });
      expect(r.status === 200, "token", r);
    },
    "remembered login and consent are skipped": async (n) => {
      const browser = new Browser();
      await flow(o, secret.client_id, "code", `skip-${n % 50}`, { browser, rememberFor: 120 });
      // Second flow in the same browser: the login request says skip.
      let r = await browser.get(o, authUrl(secret.client_id));
      const challenge = param(r.location, "login_challenge");
      expect(challenge, "login challenge", r);
      r = await req(o, "GET", `/admin/oauth2/auth/requests/login?login_challenge=${challenge}`, { headers: adminHeaders });
      expect(r.json?.skip === true, "login skip", r);
    },
    "code replay is refused and revokes": async (n) => {
      const f = await flow(o, secret.client_id, "code", `replay-${n % 50}`, { rememberFor: 120 });
      const auth = { authorization: basic(secret.client_id, secret.client_secret) };
      expect((await exchange(o, f.code, auth)).status === 200, "first exchange");
      const r = await exchange(o, f.code, auth);
      expect(r.status === 400 && r.json?.error === "invalid_grant", "replay", r);
    },
    "login rejected": async () => {
      const b = new Browser();
      let r = await b.get(o, authUrl(secret.client_id));
      const challenge = param(r.location, "login_challenge");
      r = await req(o, "PUT", `/admin/oauth2/auth/requests/login/reject?login_challenge=${challenge}`, { headers: adminHeaders, json: { error: "access_denied", error_description: "no" } });
      expect(r.status === 200, "reject", r);
      r = await b.get(o, r.json.redirect_to);
      expect(r.location.startsWith(REDIRECT) && param(r.location, "error") === "access_denied", "denied at the client", r);
    },
    "hybrid flow (code id_token)": async (n) => {
      const f = await flow(o, secret.client_id, "code", `hybrid-${n % 50}`, { rememberFor: 120, params: { response_type: "code id_token" } });
      expect(f.final.location.includes("#") && param(f.final.location, "id_token"), "fragment with id_token", f.final);
    },
    "discovery and JWKS": async () => {
      const d = await req(o, "GET", "/.well-known/openid-configuration");
      const j = await req(o, "GET", "/.well-known/jwks.json");
      expect(d.status === 200 && j.status === 200 && j.json.keys.length >= 2, "discovery/jwks", j);
    },
    "client administration": async (n) => {
      let r = await req(o, "POST", "/admin/clients", { headers: adminHeaders, json: { client_name: `soak-${n}`, redirect_uris: [REDIRECT] } });
      expect(r.status === 201, "create", r);
      const id = r.json.client_id;
      r = await req(o, "PATCH", `/admin/clients/${id}`, { headers: adminHeaders, json: [{ op: "replace", path: "/client_name", value: `soak-${n}-patched` }] });
      expect(r.status === 200, "patch", r);
      r = await req(o, "GET", `/admin/clients?page_size=5`, { headers: adminHeaders });
      expect(r.status === 200, "list", r);
      r = await req(o, "DELETE", `/admin/clients/${id}`, { headers: adminHeaders });
      expect(r.status === 204, "delete", r);
    },
    "refresh: rotation, then reuse revokes the chain": async (n) => {
      const t = await tokensOf(o, secret, `refresh-${n % 50}`);
      let r = await req(o, "POST", "/oauth2/token", { headers: auth(secret), body: form({ grant_type: "refresh_token", refresh_token: t.refresh_token }) });
      expect(r.status === 200 && r.json?.refresh_token, "refresh", r);
      const rotated = r.json;
      r = await req(o, "POST", "/oauth2/token", { headers: auth(secret), body: form({ grant_type: "refresh_token", refresh_token: t.refresh_token }) });
      expect(r.status === 400 && r.json?.error === "invalid_grant", "reuse", r);
      expect((await introspect(o, rotated.refresh_token)) === false, "the chain is revoked after the reuse");
    },
    "revocation and introspection": async (n) => {
      const t = await tokensOf(o, secret, `revoke-${n % 50}`);
      expect((await introspect(o, t.access_token)) === true, "active before");
      const r = await req(o, "POST", "/oauth2/revoke", { headers: auth(secret), body: form({ token: t.refresh_token }) });
      expect(r.status === 200, "revoke", r);
      expect((await introspect(o, t.access_token)) === false, "inactive after");
      const u = await req(o, "GET", "/userinfo", { headers: { authorization: `Bearer ${t.access_token}` } });
      expect(u.status === 401, "userinfo with a revoked token", u);
    },
    userinfo: async (n) => {
      const t = await tokensOf(o, secret, `userinfo-${n % 50}`);
      const r = await req(o, "GET", "/userinfo", { headers: { authorization: `Bearer ${t.access_token}` } });
      expect(r.status === 200 && r.json?.sub === `userinfo-${n % 50}`, "userinfo", r);
    },
    "client_credentials (JWT access token), introspection and revocation": async () => {
      let r = await req(o, "POST", "/oauth2/token", { headers: auth(cc), body: form({ grant_type: "client_credentials", scope: "api" }) });
      expect(r.status === 200 && r.json?.access_token, "client_credentials", r);
      const at = r.json.access_token;
      expect((await introspect(o, at)) === true, "active");
      r = await req(o, "POST", "/oauth2/revoke", { headers: auth(cc), body: form({ token: at }) });
      expect(r.status === 200, "revoke", r);
      expect((await introspect(o, at)) === false, "inactive after the revocation");
    },
    "logout (RP-initiated, front- and back-channel)": async (n) => {
      const browser = new Browser();
      const t = await tokensOf(o, rp, `logout-${n}`, { browser });
      let r = await browser.get(o, `/oauth2/sessions/logout?${form({ id_token_hint: t.id_token, post_logout_redirect_uri: BYE, state: `s${n}` })}`);
      const challenge = param(r.location, "logout_challenge");
      expect(challenge, "logout challenge", r);
      r = await req(o, "PUT", `/admin/oauth2/auth/requests/logout/accept?logout_challenge=${challenge}`, { headers: adminHeaders, json: {} });
      expect(r.status === 200, "logout accept", r);
      r = await browser.get(o, r.json.redirect_to);
      expect(r.status === 200 && r.text.includes("/frontchannel?iss=") && r.text.includes(`${BYE}?state=s${n}`), "front-channel page", r);
      stats.logouts++;
      // The session is gone: a new flow asks for a login again.
      r = await browser.get(o, authUrl(rp.client_id));
      const login = param(r.location, "login_challenge");
      r = await req(o, "GET", `/admin/oauth2/auth/requests/login?login_challenge=${login}`, { headers: adminHeaders });
      expect(r.json?.skip === false, "no session after the logout", r);
    },
    "device flow": async (n) => {
      const d = await req(o, "POST", "/oauth2/device/auth", { headers: auth(device), body: form({ client_id: device.client_id, scope: "openid offline_access" }) });
      expect(d.status === 200 && d.json?.device_code, "device authorization", d);
      const poll = () => req(o, "POST", "/oauth2/token", { headers: auth(device), body: form({ grant_type: DEVICE_GRANT, device_code: d.json.device_code }) });
      let r = await poll();
      expect(r.status === 400 && r.json?.error === "authorization_pending", "pending", r);
      await deviceSignIn(o, d.json, `device-${n % 50}`);
      r = await poll();
      expect(r.status === 200 && r.json?.access_token && r.json?.refresh_token, "device tokens", r);
    },
    "key administration": async (n) => {
      const set = `soak-set-${n}`;
      let r = await req(o, "POST", `/admin/keys/${set}`, { headers: adminHeaders, json: { alg: n % 2 ? "ES256" : "HS256", use: "sig" } });
      expect(r.status === 201, "create key", r);
      r = await req(o, "GET", `/admin/keys/${set}`, { headers: adminHeaders });
      expect(r.status === 200, "get set", r);
      r = await req(o, "DELETE", `/admin/keys/${set}`, { headers: adminHeaders });
      expect(r.status === 204, "delete set", r);
    },
  };
}
const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` };

// --- Measurements ---------------------------------------------------------------------------

/** PIDs of workerd processes started by this process (miniflare's children). */
function workerdPids() {
  const out = [];
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8").trim();
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/.exec(stat);
      const ppid = Number(rest.split(" ")[1]);
      if (comm.startsWith("workerd") && ppid === process.pid) out.push(Number(d));
    } catch {}
  }
  return out;
}

/**
 * The V8 heap in use of the Worker's isolate, in kB, through workerd's inspector (garbage
 * included: its lower envelope over time is what a leak would raise). `null` when the inspector
 * client (`ws`, which miniflare brings) cannot be loaded.
 */
async function heapProbe(port) {
  let WebSocket;
  try {
    ({ default: WebSocket } = await import("ws"));
  } catch {
    return null;
  }
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = targets.find((t) => t.id.startsWith("core:user")) ?? targets[0];
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  let id = 0;
  const pending = new Map();
  ws.on("message", (m) => {
    const d = JSON.parse(m);
    pending.get(d.id)?.(d.result);
    pending.delete(d.id);
  });
  return {
    async usedKb() {
      const i = ++id;
      ws.send(JSON.stringify({ id: i, method: "Runtime.getHeapUsage" }));
      const r = await Promise.race([new Promise((res) => pending.set(i, res)), sleep(2000).then(() => null)]);
      return r ? Math.round(r.usedSize / 1024) : NaN;
    },
    close: () => ws.close(),
  };
}

/** The Worker isolate's wasm linear memory in kB (a test-mode response header). */
async function wasmKb(o) {
  const r = await call(o, "GET", "/health/alive");
  return Math.round(Number(r.headers.get("x-hydra-edge-wasm-memory") ?? NaN) / 1024);
}

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

async function rowCounts(o) {
  const out = {};
  for (const t of [...EXPIRING, ...KEPT]) out[t] = Object.values((await sql(o, `SELECT COUNT(*) FROM ${t}`))[0])[0];
  return out;
}

// --- Main -----------------------------------------------------------------------------------

let instances = [];
let receiver = null;
let ok = true;
let heapClose = null;
const report = { startedAt: new Date().toISOString(), durationS: DURATION_S, rate: RATE, ttls: TTLS, cpus: os.cpus().length };
try {
  receiver = await startReceiver();
  const inspectorPort = await freePort();
  instances = await startInstances({ bundleDir, persistDir: stateDir, count: 1, vars: TTLS, options: () => ({ inspectorPort }) });
  const { mf, origin: o } = instances[0];
  const heap = await heapProbe(inspectorPort).catch(() => null);
  const heapKb = async () => (heap ? heap.usedKb() : NaN);
  heapClose = heap?.close;
  const worker = await mf.getWorker();
  const cleanup = async () => worker.scheduled({ cron: "17 * * * *" });
  const [pid] = workerdPids();
  if (!pid) throw new Error("workerd process not found");

  const key = await assertionKey();
  const clients = {
    secret: await registerClient(o, { response_types: ["code", "code id_token"], grant_types: ["authorization_code", "refresh_token", "implicit"] }),
    jwt: await registerClient(o, { token_endpoint_auth_method: "private_key_jwt", token_endpoint_auth_signing_alg: "ES256", jwks: { keys: [key.jwk] } }),
    pub: await registerClient(o, { token_endpoint_auth_method: "none" }),
    key,
    // JWT access tokens: issued without a write, revoked through `revoked_jtis`.
    cc: await registerClient(o, { grant_types: ["client_credentials"], response_types: [], redirect_uris: [], scope: "api", access_token_strategy: "jwt" }),
    device: await registerClient(o, { grant_types: ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"], response_types: [], redirect_uris: [] }),
    rp: await registerClient(o, {
      post_logout_redirect_uris: [BYE],
      frontchannel_logout_uri: `${receiver.base}/frontchannel`,
      backchannel_logout_uri: `${receiver.base}/backchannel`,
    }),
  };
  const all = scenarios(o, clients);
  const names = Object.keys(all);
  console.log(`soak: ${DURATION_S} s at ${RATE} scenarios/s (${names.length} scenarios, round robin), workerd pid ${pid}`);

  const t0 = Date.now();
  let inFlight = 0;
  let lastCleanup = t0;
  let lastSample = 0;
  const running = new Set();
  const start = (n) => {
    const name = names[n % names.length];
    stats.started++;
    inFlight++;
    const p = all[name](n)
      .catch((e) => fail(name, e.message))
      .finally(() => {
        inFlight--;
        stats.done++;
        running.delete(p);
      });
    running.add(p);
  };
  let n = 0;
  while (Date.now() - t0 < DURATION_S * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * RATE);
    while (n < due && inFlight < MAX_IN_FLIGHT) start(n++);
    const now = Date.now();
    if (now - lastCleanup >= CLEANUP_EVERY_MS) {
      lastCleanup = now;
      await cleanup();
      const rows = await rowCounts(o);
      const wasm = await wasmKb(o);
      const js = await heapKb();
      stats.samples.push({ t: Math.round((now - t0) / 1000), kind: "after-cleanup", rssKb: rssKb(pid), wasmKb: wasm, jsHeapKb: js, rows });
      console.log(`[${Math.round((now - t0) / 1000)} s] ${stats.done} scenarios, ${stats.requests} requests, rss ${rssKb(pid)} kB, wasm ${wasm} kB, JS heap ${js} kB, rows after cleanup ${JSON.stringify(rows)}`);
    } else if (now - lastSample >= SAMPLE_EVERY_MS) {
      lastSample = now;
      stats.samples.push({ t: Math.round((now - t0) / 1000), kind: "rss", rssKb: rssKb(pid), wasmKb: await wasmKb(o), jsHeapKb: await heapKb() });
    }
    await sleep(20);
  }
  await Promise.all(running);
  const trafficS = (Date.now() - t0) / 1000;
  console.log(`traffic over after ${trafficS.toFixed(0)} s; waiting ${LONGEST_TTL_MS / 1000 + 5} s for the last rows to expire`);
  const beforeWait = await rowCounts(o);
  await sleep(LONGEST_TTL_MS + 5000);
  await cleanup();
  const final = await rowCounts(o);
  const finalRss = rssKb(pid);

  // Verdicts.
  const problems = [];
  const fiveXX = Object.entries(stats.status).filter(([s]) => Number(s) >= 500).reduce((a, [, c]) => a + c, 0);
  if (fiveXX) problems.push(`${fiveXX} answers were 5xx`);
  if (stats.failed) problems.push(`${stats.failed} scenarios got an unexpected answer`);
  if (stats.started < DURATION_S * RATE * 0.9) problems.push(`only ${stats.started} of ${DURATION_S * RATE} scenarios started (the server could not keep up)`);
  // Every completed logout told its relying party once (back-channel, after the response).
  if (receiver.received.backchannel !== stats.logouts) problems.push(`${stats.logouts} logouts but ${receiver.received.backchannel} back-channel logout requests`);
  if (receiver.received.withoutToken) problems.push(`${receiver.received.withoutToken} back-channel requests without a logout_token`);
  for (const t of EXPIRING) if (final[t] !== 0) problems.push(`${final[t]} rows left in ${t} after every TTL passed and the cleanup ran`);
  // Memory after warm-up (the first fifth of the run, at least a minute). The Worker's own
  // memory, its wasm linear memory, must not grow beyond one page. The workerd process's RSS is reported with its growth rate:
  // it also holds V8's heap and miniflare's local D1 and KV simulators, and grows under the same
  // traffic with a plain JS Worker too (tests/miniflare/soak_control.mjs, docs/benchmarks.md).
  const after = stats.samples.filter((s) => s.t >= Math.max(DURATION_S / 5, 60));
  const rss = after.map((s) => s.rssKb);
  const warm = rss.length ? rss[0] : NaN;
  const peak = rss.length ? Math.max(...rss) : NaN;
  const last = rss.length ? rss[rss.length - 1] : NaN;
  const spanMin = after.length >= 2 ? (after[after.length - 1].t - after[0].t) / 60 : NaN;
  const rssMbPerMin = +((last - warm) / 1024 / spanMin).toFixed(1);
  const wasm = after.map((s) => s.wasmKb).filter(Number.isFinite);
  // The isolate's V8 heap, per minute after warm-up: the lowest reading of each minute (the
  // heap just after a collection) should not climb.
  const jsHeap = {};
  for (const s of after.filter((x) => Number.isFinite(x.jsHeapKb))) {
    const m = Math.floor(s.t / 60);
    jsHeap[`${m}m`] = Math.min(jsHeap[`${m}m`] ?? Infinity, s.jsHeapKb);
  }
  // One more 64 KiB page is the allocator's slack, not a leak (which grows without end).
  if (wasm.length >= 2 && Math.max(...wasm) > wasm[0] + 64) problems.push(`the Worker's wasm memory grew from ${wasm[0]} kB to ${Math.max(...wasm)} kB after warm-up`);
  // Rows after each cleanup during traffic: steady, not growing with time.
  const during = stats.samples.filter((s) => s.kind === "after-cleanup" && s.t >= 180).map((s) => s.rows);
  const expiringTotal = (r) => EXPIRING.reduce((a, t) => a + r[t], 0);
  if (during.length >= 3) {
    const series = during.map(expiringTotal);
    const first = series[0];
    const lastRows = series[series.length - 1];
    if (lastRows > first * 1.5 + 50) problems.push(`expiring rows after cleanup grew from ${first} to ${lastRows} under steady traffic`);
  }

  Object.assign(report, {
    trafficS: Math.round(trafficS),
    scenarios: stats.started,
    requests: stats.requests,
    requestsPerS: +(stats.requests / trafficS).toFixed(1),
    statuses: stats.status,
    failedScenarios: stats.failed,
    logouts: stats.logouts,
    backchannelReceived: receiver.received.backchannel,
    errors: stats.errors,
    rssKb: { afterWarmUp: warm, peak, endOfTraffic: last, afterWait: finalRss, growthMbPerMinAfterWarmUp: rssMbPerMin },
    wasmKb: { afterWarmUp: wasm[0], max: Math.max(...wasm) },
    jsHeapKb: jsHeap,
    rowsAfterCleanupDuringTraffic: stats.samples.filter((s) => s.kind === "after-cleanup"),
    rowsAtEndOfTraffic: beforeWait,
    rowsAfterExpiryAndCleanup: final,
    problems,
  });
  console.log(`requests: ${stats.requests} (${report.requestsPerS}/s), statuses ${JSON.stringify(stats.status)}, failed scenarios ${stats.failed}`);
  console.log(`logouts: ${stats.logouts}, back-channel logout requests received: ${receiver.received.backchannel}`);
  for (const [k, v] of Object.entries(stats.errors).slice(0, 10)) console.log(`  ${v} × ${k}`);
  console.log(`wasm memory: ${wasm[0]} kB after warm-up, at most ${Math.max(...wasm)} kB`);
  console.log(`isolate JS heap, lowest reading per minute (kB): ${JSON.stringify(jsHeap)}`);
  console.log(`workerd RSS: ${warm} kB after warm-up, peak ${peak} kB, ${last} kB at the end of traffic (${rssMbPerMin} MB/min), ${finalRss} kB after the wait`);
  console.log(`rows at the end of traffic: ${JSON.stringify(beforeWait)}`);
  console.log(`rows after expiry and cleanup: ${JSON.stringify(final)}`);
  console.log(problems.length ? `SOAK FAILED:\n  ${problems.join("\n  ")}` : "soak passed");
  ok = problems.length === 0;
} catch (e) {
  console.error(e.stack ?? e);
  ok = false;
} finally {
  heapClose?.();
  receiver?.server.close();
  await Promise.all(instances.map((i) => i.mf.dispose()));
  rmSync(stateDir, { recursive: true, force: true });
}
mkdirSync(path.join(ROOT, "build"), { recursive: true });
writeFileSync(path.join(ROOT, "build", "soak-results.json"), JSON.stringify(report, null, 2) + "\n");
process.exit(ok ? 0 : 1);
