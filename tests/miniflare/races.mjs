// Races across instances: two workerd processes (miniflare) serving the deployable bundle and
// sharing one D1 database, driven concurrently. For each single-use thing (an authorization
// code, a refresh token outside any grace period, a login verifier, a consent verifier, a
// device code, a private_key_jwt jti), ATTEMPTS requests spread over both instances must give
// exactly one success; every loser gets the error Hydra gives (or a clean 503
// temporarily_unavailable when the local D1 answers SQLITE_BUSY), never a 500; and the chain
// revocation rules hold afterwards. Then client and key writes on one instance race with reads
// on the other: the staleness bounds of docs/storage.md hold.
//
// Usage: node tests/miniflare/races.mjs <bundle dir> <state dir>   (run by tests/races.rs)
// Environment: RACE_ATTEMPTS (default 1000), RACE_CONCURRENCY (requests in flight, default 64).
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import {
  ADMIN_TOKEN, REDIRECT, admin, assertionKey, basic, call, deviceSignIn, exchangeBody, flow, form, param, pool, registerClient, sql, startInstances,
} from "./lib.mjs";

const ATTEMPTS = Number(process.env.RACE_ATTEMPTS ?? 1000);
// The second KV invalidation (5 s) plus an isolate's copy of a client (10 s), with 0.5 s slack.
const CLIENT_BOUND_MS = 15_500;
// A key write: the second KV delete at 5 s plus the 10 s an isolate keeps the JWKS it read
// (docs/storage.md, "Caches and their bounds"), plus slack.
const JWKS_BOUND_MS = 15_500;
const CONCURRENCY = Number(process.env.RACE_CONCURRENCY ?? 64);
const bundleDir = path.resolve(process.argv[2] ?? "build/bundle");
const stateDir = path.resolve(process.argv[3] ?? "target/races-state");
rmSync(stateDir, { recursive: true, force: true });
mkdirSync(stateDir, { recursive: true });

/** A storage conflict answered cleanly: 503 temporarily_unavailable, as JSON or redirected. */
const busy = (r) =>
  (r.status === 503 && r.json?.error === "temporarily_unavailable") ||
  ([302, 303].includes(r.status) && param(r.location, "error") === "temporarily_unavailable");
const toClient = (r, error) => [302, 303].includes(r.status) && r.location.startsWith(REDIRECT) && param(r.location, "error") === error;
const sqlq = (s) => s.replaceAll("'", "''");
const one = async (origin, statement) => Object.values((await sql(origin, statement))[0] ?? {})[0];
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const introspect = async (origin, token) =>
  (await call(origin, "POST", "/admin/oauth2/introspect", { headers: { ...FORM, authorization: `Bearer ${ADMIN_TOKEN}` }, body: form({ token }) })).json?.active;
const tokensOf = (origin, requestId) => one(origin, `SELECT COUNT(*) FROM tokens WHERE request_id = '${sqlq(requestId)}'`);

// Each race: prepare(ctx) → { attempt(origin, i) → response, win(r), lose(r),
// check(results) → [problems], retry?() → response }.
//
// Under SQLITE_BUSY the request that won the single-use write can itself get a 503 from a later
// statement (the jti is spent, then reading the code is busy). Then no attempt succeeds, and one
// more request without contention (`retry`, by default one more attempt) must show the state is
// whole: it succeeds (nothing had committed) or is refused as a replay (the write had landed),
// and `check` holds either way.
const RACES = [
  {
    name: "authorization code",
    async prepare({ a }) {
      const c = await registerClient(a);
      const f = await flow(a, c.client_id);
      const auth = basic(c.client_id, c.client_secret);
      const body = exchangeBody(f.code);
      const send = (origin) =>
        call(origin, "POST", "/oauth2/token", { headers: { "content-type": "application/x-www-form-urlencoded", authorization: auth }, body });
      return {
        attempt: send,
        win: (r) => r.status === 200 && typeof r.json?.access_token === "string",
        lose: (r) => r.status === 400 && r.json?.error === "invalid_grant",
        async check() {
          const problems = [];
          const tokens = await one(a, `SELECT COUNT(*) FROM tokens WHERE request_id = '${sqlq(f.consentRequestId)}'`);
          if (tokens !== 0) problems.push(`${tokens} tokens of the replayed code are still alive (chain revocation)`);
          const replay = await send(a);
          if (!(replay.status === 400 && replay.json?.error === "invalid_grant")) problems.push(`a later replay answered ${replay.status} ${replay.text}`);
          return problems;
        },
      };
    },
  },
  {
    name: "login verifier",
    async prepare({ a }) {
      const c = await registerClient(a);
      const subject = `login-race-${Date.now()}`;
      const f = await flow(a, c.client_id, "login-verifier", subject);
      const cookie = f.browser.cookie();
      return {
        attempt: (origin) => call(origin, "GET", f.loginVerifierUrl, { headers: { cookie } }),
        win: (r) => [302, 303].includes(r.status) && !!param(r.location, "consent_challenge"),
        lose: (r) => toClient(r, "access_denied"),
        async check() {
          const n = await one(a, `SELECT COUNT(*) FROM login_sessions WHERE subject = '${sqlq(subject)}'`);
          return n === 1 ? [] : [`${n} login sessions written`];
        },
      };
    },
  },
  {
    name: "consent verifier",
    async prepare({ a }) {
      const c = await registerClient(a);
      const f = await flow(a, c.client_id, "consent-verifier");
      const cookie = f.browser.cookie();
      return {
        attempt: (origin) => call(origin, "GET", f.consentVerifierUrl, { headers: { cookie } }),
        win: (r) => r.location.startsWith(REDIRECT) && !!param(r.location, "code"),
        lose: (r) => toClient(r, "access_denied"),
        async check() {
          const id = sqlq(f.consentRequestId);
          const codes = await one(a, `SELECT COUNT(*) FROM authorization_codes WHERE request_id = '${id}'`);
          const consents = await one(a, `SELECT COUNT(*) FROM consent_sessions WHERE id = '${id}'`);
          return codes === 1 && consents === 1 ? [] : [`${codes} codes and ${consents} consent sessions written`];
        },
      };
    },
  },
  {
    name: "private_key_jwt jti",
    async prepare({ a }) {
      const key = await assertionKey();
      const c = await registerClient(a, { token_endpoint_auth_method: "private_key_jwt", token_endpoint_auth_signing_alg: "ES256", jwks: { keys: [key.jwk] } });
      const f = await flow(a, c.client_id);
      const body = exchangeBody(f.code, {
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: await key.assertion(c.client_id, `jti-race-${Date.now()}`),
      });
      const send = (b) => call(a, "POST", "/oauth2/token", { headers: { "content-type": "application/x-www-form-urlencoded" }, body: b });
      return {
        attempt: (origin) => call(origin, "POST", "/oauth2/token", { headers: { "content-type": "application/x-www-form-urlencoded" }, body }),
        // A client retrying signs a new assertion (one jti per assertion, RFC 7523).
        async retry() {
          const spent = await send(body);
          if (spent.json?.error !== "jti_known") return spent;
          const fresh = exchangeBody(f.code, {
            client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            client_assertion: await key.assertion(c.client_id, `jti-retry-${Date.now()}`),
          });
          return send(fresh);
        },
        win: (r) => r.status === 200,
        // The jti is checked before the code: every loser is refused as a replayed assertion.
        lose: (r) => r.status === 400 && r.json?.error === "jti_known",
        check: async () => [],
      };
    },
  },
  {
    // No grace period (the default): a used refresh token presented again is reuse.
    name: "refresh token (outside grace)",
    async prepare({ a, b }) {
      const c = await registerClient(a);
      const f = await flow(a, c.client_id);
      const headers = { ...FORM, authorization: basic(c.client_id, c.client_secret) };
      const t = await call(a, "POST", "/oauth2/token", { headers, body: exchangeBody(f.code) });
      if (t.status !== 200) throw new Error(`code exchange answered ${t.status} ${t.text}`);
      const rt = t.json.refresh_token;
      const body = form({ grant_type: "refresh_token", refresh_token: rt });
      const send = (origin) => call(origin, "POST", "/oauth2/token", { headers, body });
      return {
        attempt: send,
        win: (r) => r.status === 200 && typeof r.json?.refresh_token === "string",
        // A loser that read the token before the winner's rotation lost the conditional update
        // (Hydra: invalid_request, "multiple concurrent requests"); one that read it used is
        // reuse (invalid_grant, and the chain is revoked).
        lose: (r) => r.status === 400 && ["invalid_grant", "invalid_request"].includes(r.json?.error),
        describe: (results) => {
          const n = (e) => results.filter((r) => r.json?.error === e).length;
          return `refused: ${n("invalid_grant")} as reuse, ${n("invalid_request")} as concurrent`;
        },
        async check(results) {
          const problems = [];
          const winner = results.find((r) => r.status === 200 && r.json?.refresh_token);
          const reused = results.some((r) => r.json?.error === "invalid_grant");
          if (winner) {
            const alive = await introspect(a, winner.json.refresh_token);
            if (alive !== !reused) problems.push(`the winner's refresh token is ${alive ? "active" : "inactive"} although ${reused ? "a reuse was" : "no reuse was"} refused`);
          }
          // Whatever happened, presenting the rotated token again is reuse: the chain goes.
          const replay = await send(a);
          if (!(replay.status === 400 && replay.json?.error === "invalid_grant")) problems.push(`a later reuse answered ${replay.status} ${replay.text}`);
          const left = await tokensOf(a, f.consentRequestId);
          if (left !== 0) problems.push(`${left} tokens of the chain are alive after the reuse`);
          if (winner && (await introspect(b, winner.json.access_token)) !== false) problems.push("the winner's access token is still active on the other instance");
          return problems;
        },
      };
    },
  },
  {
    name: "device code",
    async prepare({ a }) {
      const c = await registerClient(a, { grant_types: [DEVICE_GRANT, "refresh_token"], response_types: [], redirect_uris: [] });
      const headers = { ...FORM, authorization: basic(c.client_id, c.client_secret) };
      const d = await call(a, "POST", "/oauth2/device/auth", { headers, body: form({ client_id: c.client_id, scope: "openid offline_access" }) });
      if (d.status !== 200) throw new Error(`device authorization answered ${d.status} ${d.text}`);
      const consentRequestId = await deviceSignIn(a, d.json, "device-racer");
      const body = form({ grant_type: DEVICE_GRANT, device_code: d.json.device_code });
      const send = (origin) => call(origin, "POST", "/oauth2/token", { headers, body });
      return {
        attempt: send,
        win: (r) => r.status === 200 && typeof r.json?.access_token === "string",
        lose: (r) => r.status === 400 && r.json?.error === "invalid_grant",
        async check() {
          const problems = [];
          // Every loser revokes the grant (a second redemption), the winner's tokens included.
          const left = await tokensOf(a, consentRequestId);
          if (left !== 0) problems.push(`${left} tokens of the redeemed device code are alive`);
          const state = await one(a, `SELECT state FROM device_codes WHERE consent_request_id = '${sqlq(consentRequestId)}'`);
          if (state !== "used") problems.push(`the device code is ${state}, not used`);
          const replay = await send(a);
          if (!(replay.status === 400 && replay.json?.error === "invalid_grant")) problems.push(`a later redemption answered ${replay.status} ${replay.text}`);
          return problems;
        },
      };
    },
  },
];

async function runRace(race, ctx) {
  const prepared = await race.prepare(ctx);
  const t0 = performance.now();
  const results = await pool(ATTEMPTS, CONCURRENCY, (i) => prepared.attempt(i % 2 === 0 ? ctx.a : ctx.b, i));
  const ms = performance.now() - t0;
  const tally = { win: 0, lose: 0, busy: 0, bad: 0 };
  const bad = [];
  for (const r of results) {
    if (prepared.win(r)) tally.win++;
    else if (prepared.lose(r)) tally.lose++;
    else if (busy(r)) tally.busy++;
    else {
      tally.bad++;
      if (bad.length < 3) bad.push(`${r.status} ${r.location} ${r.text.slice(0, 300)}`);
    }
  }
  const problems = [];
  let note = "";
  if (tally.win > 1) problems.push(`${tally.win} successes`);
  if (tally.win === 0) {
    const r = await (prepared.retry ?? (() => prepared.attempt(ctx.a)))();
    const outcome = prepared.win(r) ? "succeeded" : prepared.lose(r) ? "was refused as a replay" : null;
    if (!outcome) problems.push(`no success, and the retry answered ${r.status} ${r.location} ${r.text.slice(0, 300)}`);
    else note = ` (the winner got a 503 after its single-use write; the retry ${outcome})`;
  }
  if (tally.bad) problems.push(`${tally.bad} wrong answers, e.g. ${bad.join(" | ")}`);
  problems.push(...(await prepared.check(results)));
  console.log(
    `${race.name}: ${ATTEMPTS} attempts in ${(ms / 1000).toFixed(1)} s: ${tally.win} success, ${tally.lose} refused, ${tally.busy} busy (503), ${tally.bad} wrong${note}` +
      (prepared.describe ? ` (${prepared.describe(results)})` : "") +
      (problems.length ? `\n  FAILED: ${problems.join("; ")}` : ""),
  );
  return problems.length === 0;
}

/**
 * Reads on `b` while `a` rotates a client's secret: the old secret is refused everywhere soon
 * after. The instances share one KV store (one location), so the bound is the second
 * invalidation (5 s, which removes a stale copy a racing reader wrote back) plus the copy an
 * isolate keeps of a client it read (10 s), docs/storage.md.
 */
async function clientStaleness({ a, b }) {
  const c = await registerClient(a);
  const NEW = "a-rotated-secret-that-is-long-enough";
  const tryAuth = (origin, secret) =>
    call(origin, "POST", "/oauth2/token", {
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(c.client_id, secret) },
      body: exchangeBody("ory_ac_bm90LXJlYWw.bm90LXJlYWw"),
    });
  const reads = [];
  let stop = false;
  const reader = async () => {
    while (!stop) {
      const start = Date.now();
      const r = await tryAuth(b, c.client_secret);
      reads.push({ start, ok: r.status === 400, status: r.status, text: r.text });
    }
  };
  const readers = Array.from({ length: 8 }, reader);
  await new Promise((r) => setTimeout(r, 1000));
  const w = await admin(a, "PATCH", `/admin/clients/${c.client_id}`, [{ op: "replace", path: "/client_secret", value: NEW }]);
  const written = Date.now();
  await new Promise((r) => setTimeout(r, CLIENT_BOUND_MS + 2000));
  stop = true;
  await Promise.all(readers);
  const problems = [];
  if (w.status !== 200) problems.push(`rotation answered ${w.status}`);
  const late = reads.filter((r) => r.start > written + CLIENT_BOUND_MS && r.ok);
  const wrong = reads.filter((r) => ![400, 401, 503].includes(r.status));
  if (late.length) problems.push(`${late.length} requests with the old secret authenticated more than ${CLIENT_BOUND_MS / 1000} s after the rotation`);
  if (wrong.length) problems.push(`${wrong.length} unexpected answers, e.g. ${wrong[0].status} ${wrong[0].text.slice(0, 200)}`);
  const newOk = await tryAuth(b, NEW);
  if (newOk.status !== 400) problems.push(`the new secret at the other instance answered ${newOk.status}`);
  const stale = reads.filter((r) => r.start > written && r.ok).length;
  console.log(
    `client secret rotation: ${reads.length} reads on the other instance; ${stale} used the old copy after the write (bound: ${CLIENT_BOUND_MS / 1000} s), last ${late.length ? "LATE" : "within the bound"}` +
      (problems.length ? `\n  FAILED: ${problems.join("; ")}` : ""),
  );
  return problems.length === 0;
}

/** JWKS reads on `b` while `a` adds a signing key: the new key is published soon after. */
async function keyStaleness({ a, b }) {
  const reads = [];
  let stop = false;
  const reader = async () => {
    while (!stop) {
      const start = Date.now();
      const r = await call(b, "GET", "/.well-known/jwks.json");
      reads.push({ start, status: r.status, kids: (r.json?.keys ?? []).map((k) => k.kid) });
    }
  };
  const readers = Array.from({ length: 8 }, reader);
  await new Promise((r) => setTimeout(r, 1000));
  const w = await admin(a, "POST", "/admin/keys/hydra.openid.id-token", { alg: "ES256", use: "sig" });
  const written = Date.now();
  const kid = w.json?.keys?.[0]?.kid;
  await new Promise((r) => setTimeout(r, JWKS_BOUND_MS + 2000));
  stop = true;
  await Promise.all(readers);
  const problems = [];
  if (w.status !== 201) problems.push(`key creation answered ${w.status}`);
  const late = reads.filter((r) => r.start > written + JWKS_BOUND_MS && r.status === 200 && !r.kids.includes(kid));
  const wrong = reads.filter((r) => r.status !== 200);
  if (late.length) problems.push(`${late.length} JWKS reads lacked the new key more than ${JWKS_BOUND_MS / 1000} s after it was added`);
  if (wrong.length) problems.push(`${wrong.length} JWKS reads answered ${wrong[0].status}`);
  const stale = reads.filter((r) => r.start > written && !r.kids.includes(kid)).length;
  console.log(
    `signing key added: ${reads.length} JWKS reads on the other instance; ${stale} without the new key after the write (bound: ${JWKS_BOUND_MS / 1000} s)` +
      (problems.length ? `\n  FAILED: ${problems.join("; ")}` : ""),
  );
  return problems.length === 0;
}

let ok = true;
let instances = [];
try {
  instances = await startInstances({ bundleDir, persistDir: stateDir, count: 2 });
  const ctx = { a: instances[0].origin, b: instances[1].origin };
  // Warm both instances (signing keys, isolates).
  await call(ctx.a, "GET", "/.well-known/jwks.json");
  await call(ctx.b, "GET", "/.well-known/jwks.json");
  for (const race of RACES) ok = (await runRace(race, ctx)) && ok;
  ok = (await clientStaleness(ctx)) && ok;
  ok = (await keyStaleness(ctx)) && ok;
} catch (e) {
  console.error(e.stack ?? e);
  ok = false;
} finally {
  await Promise.all(instances.map((i) => i.mf.dispose()));
}
process.exit(ok ? 0 : 1);
