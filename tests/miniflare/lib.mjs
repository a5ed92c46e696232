// Shared by the miniflare scripts (races.mjs, soak.mjs): serving the deployable bundle from
// several workerd processes that share one D1 database, and driving Hydra's flows over HTTP.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const ADMIN_TOKEN = "miniflare-admin-token-0123456789-abcdef";
export const REDIRECT = "https://rp.example/callback";
export const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
export const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const ISSUER = "http://127.0.0.1:8700";

/**
 * `count` miniflare instances (each its own workerd process) serving the bundle in `bundleDir`,
 * sharing the D1 database persisted under `persistDir` (and KV, when `sharedKv`), with the
 * migrations applied once. Returns [{ mf, origin }].
 */
export async function startInstances({ bundleDir, persistDir, count = 2, sharedKv = true, vars = {}, options = () => ({}), onLog = null }) {
  const files = readdirSync(bundleDir);
  const entry = files.find((f) => f.endsWith(".js"));
  const instances = [];
  for (let i = 0; i < count; i++) {
    const mf = new Miniflare({
      modules: true,
      scriptPath: path.join(bundleDir, entry),
      modulesRoot: bundleDir,
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
      compatibilityDate: "2026-04-20",
      kvNamespaces: ["KV"],
      d1Databases: ["DB"],
      d1Persist: path.join(persistDir, "d1"),
      kvPersist: sharedKv ? path.join(persistDir, "kv") : path.join(persistDir, `kv-${i}`),
      bindings: {
        // Both instances are one deployment: the same issuer, secrets and admin token.
        URLS_SELF_ISSUER: ISSUER,
        SECRETS_SYSTEM: "miniflare-system-secret-0123456789",
        ADMIN_API_TOKEN: ADMIN_TOKEN,
        HYDRA_EDGE_TEST_ROUTES: "true",
        ...vars,
      },
      host: "127.0.0.1",
      port: 0,
      // The Worker's log lines (one per request) go to `onLog`, not to this process's stdout,
      // where the scripts print their verdicts; workerd's own errors still reach stderr.
      handleRuntimeStdio(stdout, stderr) {
        readLines(stdout, (line) => onLog?.(line, i));
        stderr.pipe(process.stderr);
      },
      ...options(i),
    });
    const url = await mf.ready;
    instances.push({ mf, origin: url.origin });
    if (i === 0) await applyMigrations(await mf.getD1Database("DB"));
  }
  return instances;
}

function readLines(stream, fn) {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop();
    for (const l of lines) fn(l);
  });
}

/** Applies migrations/*.sql in name order, statement by statement. */
export async function applyMigrations(db) {
  const dir = path.join(ROOT, "migrations");
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) {
    for (const stmt of splitSql(readFileSync(path.join(dir, f), "utf8"))) await db.prepare(stmt).run();
  }
}

/** SQL statements of a migration file, without comments (no triggers in ours). */
export function splitSql(sql) {
  return sql
    .split("\n")
    .map((l) => l.replace(/--.*$/, ""))
    .join("\n")
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Observers of every answer `call` gets (the soak counts statuses). */
export const hooks = { onResponse: null };

/** One HTTP call; never throws for HTTP errors. The issuer's URLs go to `origin`. */
export async function call(origin, method, target, opts = {}) {
  const r = await callOnce(origin, method, target, opts);
  hooks.onResponse?.(r);
  return r;
}

async function callOnce(origin, method, target, { headers = {}, body, json } = {}) {
  const url = target.startsWith(ISSUER) ? origin + target.slice(ISSUER.length) : target.startsWith("http") ? target : origin + target;
  const h = { ...headers };
  if (json !== undefined) {
    h["content-type"] = "application/json";
    body = JSON.stringify(json);
  }
  try {
    const res = await fetch(url, { method, headers: h, body, redirect: "manual" });
    const text = await res.text();
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, headers: res.headers, location: res.headers.get("location") ?? "", text, json: parsed };
  } catch (e) {
    const cause = e.cause ? ` (${e.cause.code ?? ""} ${e.cause.message ?? e.cause})` : "";
    return { status: 0, headers: new Headers(), location: "", text: `network: ${e.message}${cause}`, json: null };
  }
}

export const admin = (origin, method, p, json) =>
  call(origin, method, p, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, json });

export function param(url, name) {
  const i = url.search(/[?#]/);
  if (i < 0) return null;
  return new URLSearchParams(url.slice(i + 1).replace("#", "&")).get(name);
}

export const form = (o) => new URLSearchParams(o).toString();

/** A browser: a cookie jar over `call`. */
export class Browser {
  constructor() {
    this.jar = new Map();
  }
  cookie() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  async get(origin, target) {
    const r = await call(origin, "GET", target, { headers: this.jar.size ? { cookie: this.cookie() } : {} });
    for (const c of r.headers.getSetCookie?.() ?? []) {
      const [pair] = c.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      if (/max-age=0/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, pair.slice(eq + 1).trim());
    }
    return r;
  }
}

export async function registerClient(origin, extra = {}) {
  const r = await admin(origin, "POST", "/admin/clients", {
    redirect_uris: [REDIRECT],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    scope: "openid offline_access",
    ...extra,
  });
  if (r.status !== 201) throw new Error(`client registration answered ${r.status} ${r.text}`);
  return r.json;
}

export const authUrl = (clientId, params = {}) =>
  "/oauth2/auth?" +
  form({
    client_id: clientId,
    response_type: "code",
    redirect_uri: REDIRECT,
    scope: "openid offline_access",
    state: "state-0123456789",
    nonce: "nonce-0123456789",
    code_challenge: CHALLENGE,
    code_challenge_method: "S256",
    ...params,
  });

/**
 * The flow up to `until` ("login-verifier", "consent-verifier" or "code"), in `opts.browser` or
 * a new one; `opts.params` are extra authorization parameters, `opts.rememberFor` the login's
 * `remember_for`. Returns { browser, loginVerifierUrl, consentVerifierUrl, consentRequestId,
 * code, final } (`final`: the last response, at the client).
 */
export async function flow(origin, clientId, until = "code", subject = "racer", opts = {}) {
  const b = opts.browser ?? new Browser();
  const out = { browser: b };
  let r = await b.get(origin, authUrl(clientId, opts.params));
  const login = param(r.location, "login_challenge");
  if (!login) throw new Error(`no login challenge: ${r.status} ${r.location} ${r.text}`);
  r = await admin(origin, "PUT", `/admin/oauth2/auth/requests/login/accept?login_challenge=${login}`, { subject, remember: true, remember_for: opts.rememberFor ?? 3600 });
  if (r.status !== 200) throw new Error(`login accept answered ${r.status} ${r.text}`);
  out.loginVerifierUrl = r.json.redirect_to;
  if (until === "login-verifier") return out;
  r = await b.get(origin, out.loginVerifierUrl);
  const consent = param(r.location, "consent_challenge");
  if (!consent) throw new Error(`no consent challenge: ${r.status} ${r.location} ${r.text}`);
  r = await admin(origin, "GET", `/admin/oauth2/auth/requests/consent?consent_challenge=${consent}`);
  out.consentRequestId = r.json.consent_request_id;
  r = await admin(origin, "PUT", `/admin/oauth2/auth/requests/consent/accept?consent_challenge=${consent}`, { grant_scope: ["openid", "offline_access"], remember: true });
  out.consentVerifierUrl = r.json.redirect_to;
  if (until === "consent-verifier") return out;
  r = await b.get(origin, out.consentVerifierUrl);
  out.final = r;
  out.code = param(r.location, "code");
  if (!out.code) throw new Error(`no code: ${r.status} ${r.location} ${r.text}`);
  return out;
}

/**
 * The user's side of a device flow in a browser, from the device authorization `d`: the user
 * code, login and consent. Returns the consent request id (the request id of the grant's tokens).
 */
export async function deviceSignIn(o, d, subject) {
  const browser = new Browser();
  let r = await browser.get(o, d.verification_uri_complete);
  const challenge = param(r.location, "device_challenge");
  if (!challenge) throw new Error(`no device challenge: ${r.status} ${r.location}`);
  r = await admin(o, "PUT", `/admin/oauth2/auth/requests/device/accept?device_challenge=${challenge}`, { user_code: d.user_code });
  r = await browser.get(o, r.json.redirect_to);
  const login = param(r.location, "login_challenge");
  r = await admin(o, "PUT", `/admin/oauth2/auth/requests/login/accept?login_challenge=${login}`, { subject, remember: true });
  r = await browser.get(o, r.json.redirect_to);
  const consent = param(r.location, "consent_challenge");
  const consentRequestId = (await admin(o, "GET", `/admin/oauth2/auth/requests/consent?consent_challenge=${consent}`)).json.consent_request_id;
  r = await admin(o, "PUT", `/admin/oauth2/auth/requests/consent/accept?consent_challenge=${consent}`, { grant_scope: ["openid", "offline_access"] });
  r = await browser.get(o, r.json.redirect_to);
  if (!r.location.includes("/oauth2/fallbacks/device/done")) throw new Error(`the device sign-in ended at ${r.status} ${r.location} ${r.text}`);
  return consentRequestId;
}

/** The token request body of a code exchange (client credentials go in `extra` or a header). */
export const exchangeBody = (code, extra = {}) =>
  form({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: VERIFIER, ...extra });

export const basic = (id, secret) => "Basic " + Buffer.from(`${id}:${secret}`).toString("base64");

/** Rows of the last statement, through the Worker's own D1 binding (the test-only route). */
export async function sql(origin, statement) {
  const r = await admin(origin, "POST", "/admin/_test/sql", { statements: [statement] });
  if (r.status !== 200) throw new Error(`SQL answered ${r.status} ${r.text}`);
  return r.json;
}

/** An ES256 key for private_key_jwt: its public JWK and a signer of client assertions. */
export async function assertionKey() {
  const { subtle } = globalThis.crypto;
  const pair = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const pub = await subtle.exportKey("jwk", pair.publicKey);
  const jwk = { kty: pub.kty, crv: pub.crv, x: pub.x, y: pub.y, kid: "k1", use: "sig", alg: "ES256" };
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return {
    jwk,
    async assertion(clientId, jti, lifetime = 300) {
      const now = Math.floor(Date.now() / 1000);
      const input = `${b64({ alg: "ES256", kid: "k1", typ: "JWT" })}.${b64({ iss: clientId, sub: clientId, aud: `${ISSUER}/oauth2/token`, jti, iat: now, exp: now + lifetime })}`;
      const sig = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, new TextEncoder().encode(input));
      return `${input}.${Buffer.from(sig).toString("base64url")}`;
    },
  };
}

/** Runs `n` tasks `fn(i)` with at most `limit` in flight; results in order. */
export async function pool(n, limit, fn) {
  const out = new Array(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
  return out;
}
