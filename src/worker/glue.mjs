// The JavaScript half of the Worker's platform (src/worker/platform.rs imports these through
// wasm-bindgen): D1, KV, WebCrypto, fetch and the rate limiter, each behind one call that takes
// and returns plain values (strings, numbers, byte arrays). One crossing between wasm and JS per
// operation, no per-field conversions, and none of this code in the wasm module.

// --- D1 --------------------------------------------------------------------------------------

/** `{"rows": [...], "changes": n, "rows_read": n}` of one D1 result, as JSON text (integers stay integral). */
const resultText = (r) =>
  `{"rows":${JSON.stringify(r.results ?? [])},"changes":${r.meta?.changes ?? 0},"rows_read":${r.meta?.rows_read ?? 0}}`;

/** Run one statement (`params`: a JSON array of null, numbers and strings). */
export async function d1All(db, sql, params) {
  return resultText(await db.prepare(sql).bind(...JSON.parse(params)).all());
}

/** Run statements as one transaction; `statements`: JSON `[[sql, params], ...]`. */
export async function d1Batch(db, statements) {
  const results = await db.batch(JSON.parse(statements).map(([sql, params]) => db.prepare(sql).bind(...params)));
  return `[${results.map(resultText).join(",")}]`;
}

/**
 * A D1 session (Sessions API): `"first-unconstrained"` (any replica), `"first-primary"`, or a
 * bookmark (a replica at least as new as that point). Databases without `withSession` (older
 * runtimes) answer with themselves.
 */
export function d1Session(db, constraintOrBookmark) {
  if (typeof db.withSession !== "function") return db;
  try {
    return db.withSession(constraintOrBookmark);
  } catch {
    // A bookmark D1 does not accept (it is sealed in our own cookie, so only an old one): the
    // primary, which is never behind.
    return db.withSession("first-primary");
  }
}

/** The newest bookmark a session saw (null before its first query, or without sessions). */
export function d1Bookmark(session) {
  return typeof session.getBookmark === "function" ? (session.getBookmark() ?? null) : null;
}

// --- Workers KV ------------------------------------------------------------------------------

export const kvGet = (kv, key) => kv.get(key);
export const kvPut = (kv, key, value, ttl) => kv.put(key, value, { expirationTtl: ttl });
export const kvDelete = (kv, key) => kv.delete(key);

/** Delete a key again after `delayMs`, after the response (`ctx.waitUntil`). */
export function kvDeleteLater(ctx, kv, key, delayMs) {
  const later = new Promise((r) => setTimeout(r, delayMs)).then(() => kv.delete(key)).catch(() => {});
  if (ctx) ctx.waitUntil(later);
}

// --- WebCrypto -------------------------------------------------------------------------------

const hashOf = (alg) => ({ "384": "SHA-384", "512": "SHA-512" })[alg.slice(2)] ?? "SHA-256";

/** [import parameters, sign/verify parameters] of a JWS algorithm. */
function params(alg) {
  const hash = hashOf(alg);
  switch (alg.slice(0, 2)) {
    case "ES":
      return [{ name: "ECDSA", namedCurve: { ES256: "P-256", ES384: "P-384", ES512: "P-521" }[alg] }, { name: "ECDSA", hash }];
    case "RS":
      return [{ name: "RSASSA-PKCS1-v1_5", hash }, { name: "RSASSA-PKCS1-v1_5" }];
    case "PS":
      return [{ name: "RSA-PSS", hash }, { name: "RSA-PSS", saltLength: { "SHA-384": 48, "SHA-512": 64 }[hash] ?? 32 }];
    case "HS":
      return [{ name: "HMAC", hash }, { name: "HMAC" }];
    case "Ed":
      // EdDSA over Ed25519 (jwt-bearer trust keys; `trust_key_fits` admits no other curve).
      if (alg === "EdDSA") return [{ name: "Ed25519" }, { name: "Ed25519" }];
      break;
  }
  throw new Error(`unsupported JWS algorithm ${alg}`);
}

/** Imported keys by usage, algorithm and JWK text: each key is imported once per isolate. */
const imported = new Map();
const IMPORT_CACHE_LIMIT = 1024;

async function importJwk(jwkText, alg, usage) {
  const id = `${usage}:${alg}:${jwkText}`;
  let key = imported.get(id);
  if (!key) {
    const jwk = JSON.parse(jwkText);
    delete jwk.key_ops;
    delete jwk.ext;
    key = await crypto.subtle.importKey("jwk", jwk, params(alg)[0], false, [usage]);
    if (imported.size >= IMPORT_CACHE_LIMIT) imported.clear();
    imported.set(id, key);
  }
  return key;
}

/** A JWS signature (`r||s` for ECDSA) over `input` with a private JWK. */
export async function sign(jwkText, alg, input) {
  const key = await importJwk(jwkText, alg, "sign");
  return new Uint8Array(await crypto.subtle.sign(params(alg)[1], key, input));
}

/** Verify a JWS signature with a public JWK. */
export async function verify(jwkText, alg, input, signature) {
  const key = await importJwk(jwkText, alg, "verify");
  return crypto.subtle.verify(params(alg)[1], key, signature, input);
}

/** PBKDF2-HMAC-SHA256, 32 bytes. */
export async function pbkdf2Sha256(password, salt, iterations) {
  const base = await crypto.subtle.importKey("raw", password, { name: "PBKDF2" }, false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", salt, iterations, hash: "SHA-256" }, base, 256));
}

/** A new key pair's private JWK as JSON text (without `key_ops`/`ext`). */
export async function generateJwk(alg) {
  const algo =
    alg === "RS256"
      ? { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }
      : { name: "ECDSA", namedCurve: { ES256: "P-256", ES384: "P-384", ES512: "P-521" }[alg] };
  if (alg !== "RS256" && !algo.namedCurve) throw new Error(`WebCrypto key generation does not handle ${alg}`);
  const pair = await crypto.subtle.generateKey(algo, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  delete jwk.key_ops;
  delete jwk.ext;
  return JSON.stringify(jwk);
}

/**
 * What curve arithmetic can tell about a JWK (structure is checked in Rust): an EC public key is
 * a point of its curve, a private key matches its public part. The reason it is bad, or null.
 */
export async function checkJwk(jwkText) {
  const jwk = JSON.parse(jwkText);
  const hash = { "P-256": "SHA-256", "P-384": "SHA-384", "P-521": "SHA-512" }[jwk.crv];
  if (jwk.kty !== "EC" || !hash) return null;
  const algo = { name: "ECDSA", namedCurve: jwk.crv };
  const { kty, crv, x, y, d } = jwk;
  let publicKey;
  try {
    publicKey = await crypto.subtle.importKey("jwk", { kty, crv, x, y }, algo, false, ["verify"]);
  } catch {
    return `the EC public key is not a valid ${crv} point`;
  }
  if (d === undefined) return null;
  let privateKey;
  try {
    privateKey = await crypto.subtle.importKey("jwk", { kty, crv, x, y, d }, algo, false, ["sign"]);
  } catch {
    return "the EC private key is invalid";
  }
  // A private key that signs what its public part cannot verify is not that key's.
  const data = new Uint8Array([104, 121, 100, 114, 97]);
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash }, privateKey, data);
  return (await crypto.subtle.verify({ name: "ECDSA", hash }, publicKey, signature, data))
    ? null
    : "the EC private key does not match its public part";
}

/** AES-256-GCM with a 96-bit IV and additional data: seals, or opens (null when that fails). */
export async function aesGcm(encrypt, rawKey, iv, additionalData, data) {
  const key = await crypto.subtle.importKey("raw", rawKey, { name: "AES-GCM" }, false, [encrypt ? "encrypt" : "decrypt"]);
  const algo = { name: "AES-GCM", iv, additionalData };
  try {
    return new Uint8Array(await (encrypt ? crypto.subtle.encrypt(algo, key, data) : crypto.subtle.decrypt(algo, key, data)));
  } catch (e) {
    if (encrypt) throw e;
    return null;
  }
}

// --- Outbound HTTP ---------------------------------------------------------------------------

/** Read at most `max` bytes of a body; throws past that (the connection is aborted by the caller). */
async function readCapped(response, max, url) {
  const chunks = [];
  let size = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) throw new Error(`response from ${url} is larger than ${max} bytes`);
      chunks.push(value);
    }
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * One bounded exchange: gives up after `timeoutMs` with the answer's body included, reads at
 * most `maxBytes` (and, when `okOnly`, no body of anything but a 200). Resolves `[status, body]`;
 * whatever is cut short is aborted, so the connection goes too.
 */
export async function http(method, url, headers, body, timeoutMs, maxBytes, followRedirects, okOnly) {
  const controller = new AbortController();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`no complete answer from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const init = { method, redirect: followRedirects ? "follow" : "manual", signal: controller.signal };
  if (headers) init.headers = pairs(headers);
  if (body) init.body = body;
  const exchange = (async () => {
    const response = await fetch(url, init);
    if (okOnly && response.status !== 200) {
      controller.abort();
      return [response.status, new Uint8Array(0)];
    }
    return [response.status, await readCapped(response, maxBytes, url)];
  })();
  try {
    return await Promise.race([exchange, timeout]);
  } catch (e) {
    controller.abort();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

// --- Rate limiting ---------------------------------------------------------------------------

/** True when `env` has a rate-limiting binding of that name. */
export const hasRateLimiter = (env, binding) => typeof env[binding]?.limit === "function";

/** `binding.limit({ key })` → `success`; true when the binding is absent. */
export async function rateLimit(env, binding, key) {
  const limiter = env[binding];
  if (typeof limiter?.limit !== "function") return true;
  return (await limiter.limit({ key })).success !== false;
}

// --- Headers ---------------------------------------------------------------------------------

/** "name\nvalue\n..." (what the Rust side writes) as [[name, value], ...]. */
export function pairs(flat) {
  const parts = flat.split("\n");
  const out = [];
  for (let i = 0; i + 1 < parts.length; i += 2) out.push([parts[i], parts[i + 1]]);
  return out;
}

// --- URLs ------------------------------------------------------------------------------------

/**
 * `new URL(input)` (workerd's WHATWG parser) as JSON `[href, scheme, username, password, host,
 * port, path, query, fragment, origin]`, absent parts `null`, or `null` when it does not parse.
 * `search`/`hash` are "" both for a bare "?"/"#" and for none; the serialisation tells them apart.
 */
export function parseUrl(input) {
  let u;
  try {
    u = new URL(input);
  } catch {
    return null;
  }
  const href = u.href;
  const hashAt = href.indexOf("#");
  const beforeHash = hashAt < 0 ? href : href.slice(0, hashAt);
  const scheme = u.protocol.slice(0, -1);
  const query = u.search ? u.search.slice(1) : beforeHash.includes("?") ? "" : null;
  const fragment = u.hash ? u.hash.slice(1) : hashAt >= 0 ? "" : null;
  // A host only where an authority ("//") follows the scheme, and never an empty one.
  const host = u.hostname !== "" && href.startsWith(`${scheme}://`) ? u.hostname : null;
  return JSON.stringify([
    href,
    scheme,
    u.username,
    u.password === "" ? null : u.password,
    host,
    u.port === "" ? null : u.port,
    u.pathname,
    query,
    fragment,
    u.origin === "null" ? null : u.origin,
  ]);
}
