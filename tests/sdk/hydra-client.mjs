// Ory's official JavaScript SDK (@ory/hydra-client, the generated OpenAPI client for Hydra
// v26.2.0) run unchanged against hydra-edge.
//
//   HYDRA_EDGE_URL=http://127.0.0.1:8787 HYDRA_EDGE_ADMIN_TOKEN=... node tests/sdk/hydra-client.mjs
//
// Every admin operation hydra-edge implements goes through the SDK (no hand-written admin
// requests), and so do both discovery calls. A full login + consent flow is driven with the SDK
// on the login/consent app's side and with plain `fetch` on the browser's and the client's side
// (the SDK has no browser, and its oauth2TokenExchange has no code_verifier parameter).
//
// Besides values, responses are checked against the fields the SDK's models (and the OpenAPI
// document they are generated from) declare as required: the JavaScript SDK does not validate,
// but the stricter generated clients (Go, Java, ...) refuse a response that lacks one.
//
// Sections run independently; any failure is reported with the request and the response, and
// the exit status is non-zero. Used by tests/sdk.rs; runs against any hydra-edge as well.

import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { Configuration, JwkApi, MetadataApi, OAuth2Api, OidcApi, WellknownApi } from '@ory/hydra-client';
// An independent JOSE implementation checks every JWT the server issues.
import { SignJWT, createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';

const BASE = (process.env.HYDRA_EDGE_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.HYDRA_EDGE_ADMIN_TOKEN || '';
if (!BASE || !TOKEN) {
  console.error('set HYDRA_EDGE_URL and HYDRA_EDGE_ADMIN_TOKEN');
  process.exit(2);
}

// The SDK's admin operations declare no security scheme in Hydra's OpenAPI document, so the
// generated code never applies `accessToken` to them (only to /oauth2/register/{id}). The admin
// token therefore goes in as a default header; the `admin auth` section shows both behaviours.
//
// A stalled server must fail the run, not hang it: every request has a time limit.
const TIMEOUT_MS = 30_000;
const adminConfig = new Configuration({
  basePath: BASE,
  baseOptions: { headers: { Authorization: `Bearer ${TOKEN}` }, timeout: TIMEOUT_MS },
});
// Public endpoints get no credentials at all, as a relying party would call them.
const publicConfig = new Configuration({ basePath: BASE, baseOptions: { timeout: TIMEOUT_MS } });

const oauth2 = new OAuth2Api(adminConfig);
const jwk = new JwkApi(adminConfig);
const metadata = new MetadataApi(adminConfig);
const oidc = new OidcApi(publicConfig);
const wellknown = new WellknownApi(publicConfig);

// A prefix that keeps this run's clients and key sets apart from anything else on the server.
const RUN = `sdk-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

// ---------------------------------------------------------------------------------------------
// Bookkeeping: which SDK operations ran and with which statuses, for the summary.

const calls = new Map(); // operation -> Set of statuses

function record(op, status) {
  if (!calls.has(op)) calls.set(op, new Set());
  calls.get(op).add(status);
}

/** Run one SDK operation and expect a 2xx `status`; returns the axios response. */
async function sdk(op, status, promise) {
  let res;
  try {
    res = await promise;
  } catch (err) {
    if (err?.response) record(op, err.response.status);
    throw new Error(`${op}: expected HTTP ${status}, the SDK threw ${describe(err)}`);
  }
  record(op, res.status);
  assert.equal(res.status, status, `${op}: HTTP status (${requestOf(res)})`);
  return res;
}

/** Run one SDK operation that must fail with `status`; returns the error body. */
async function sdkError(op, status, promise) {
  let res;
  try {
    res = await promise;
  } catch (err) {
    if (!err?.response) throw new Error(`${op}: expected HTTP ${status}, got ${describe(err)}`);
    record(op, err.response.status);
    assert.equal(err.response.status, status, `${op}: ${describe(err)}`);
    const body = err.response.data;
    // Hydra's admin error body (errorOAuth2's members).
    assert.equal(typeof body?.error, 'string', `${op}: error body has "error": ${JSON.stringify(body)}`);
    assert.equal(body.status_code, status, `${op}: error body status_code: ${JSON.stringify(body)}`);
    return body;
  }
  record(op, res.status);
  assert.fail(`${op}: expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.data)} (${requestOf(res)})`);
}

function requestOf(res) {
  const c = res.config || {};
  return `${(c.method || '?').toUpperCase()} ${c.url}${c.data ? ` body ${c.data}` : ''}`;
}

function describe(err) {
  if (err?.response) {
    return `HTTP ${err.response.status} for ${requestOf(err.response)}: ${JSON.stringify(err.response.data)}`;
  }
  return err?.stack || String(err);
}

/** The fields a model of the SDK (and of the OpenAPI document) marks as required. */
function assertRequired(model, value, fields) {
  assert.ok(value && typeof value === 'object', `${model}: not an object: ${JSON.stringify(value)}`);
  const missing = fields.filter((f) => value[f] === undefined || value[f] === null);
  assert.deepEqual(missing, [],
    `${model}: required field(s) missing (strict generated clients such as ory/hydra-client-go refuse this response): ${JSON.stringify(value)}`);
}

// The required (non-optional) members of the SDK 26.2.0 models these sections decode.
const REQUIRED = {
  // The JS SDK does not enforce required members; Go's, Python's and Rust's do.
  OidcConfiguration: ['authorization_endpoint', 'device_authorization_endpoint', 'id_token_signed_response_alg',
    'id_token_signing_alg_values_supported', 'issuer', 'jwks_uri', 'response_types_supported',
    'subject_types_supported', 'token_endpoint', 'userinfo_signed_response_alg'],
  JsonWebKey: ['alg', 'kid', 'kty', 'use'],
  OAuth2LoginRequest: ['challenge', 'client', 'request_url', 'skip', 'subject'],
  OAuth2ConsentRequest: ['challenge'],
  OAuth2RedirectTo: ['redirect_to'],
  IntrospectedOAuth2Token: ['active'],
};

/** Go's duration format, as Hydra renders lifespans. */
const GO_DURATION = /^(\d+h)?(\d+m)?(\d+(\.\d+)?s)$/;

// ---------------------------------------------------------------------------------------------
// Sections.

async function version() {
  const res = await sdk('MetadataApi.getVersion', 200, metadata.getVersion());
  assert.match(res.data.version ?? '', /^v\d+\.\d+\.\d+/, `version: ${JSON.stringify(res.data)}`);
  // Health checks are public in Hydra and here.
  const health = new MetadataApi(publicConfig);
  assert.deepEqual((await sdk('MetadataApi.isAlive', 200, health.isAlive())).data, { status: 'ok' });
  assert.deepEqual((await sdk('MetadataApi.isReady', 200, health.isReady())).data, { status: 'ok' });
  return res.data.version;
}

async function adminAuth() {
  // Configured the way the generated docs suggest for bearer auth: not sent on admin routes.
  const tokenOnly = new OAuth2Api(new Configuration({ basePath: BASE, accessToken: TOKEN }));
  const body = await sdkError('OAuth2Api.listOAuth2Clients (accessToken only)', 401, tokenOnly.listOAuth2Clients());
  assert.ok(body.error_description || body.message, JSON.stringify(body));
  const wrong = new OAuth2Api(new Configuration({ basePath: BASE, baseOptions: { headers: { Authorization: 'Bearer wrong' } } }));
  await sdkError('OAuth2Api.listOAuth2Clients (wrong token)', 401, wrong.listOAuth2Clients());
  await sdkError('MetadataApi.getVersion (no token)', 401, new MetadataApi(publicConfig).getVersion());
}

async function discovery() {
  const { data: doc } = await sdk('OidcApi.discoverOidcConfiguration', 200, oidc.discoverOidcConfiguration());
  assert.equal(doc.issuer, BASE, 'issuer is the server URL');
  assert.equal(doc.authorization_endpoint, `${BASE}/oauth2/auth`);
  assert.equal(doc.token_endpoint, `${BASE}/oauth2/token`);
  assert.equal(doc.jwks_uri, `${BASE}/.well-known/jwks.json`);
  assert.ok(doc.response_types_supported.includes('code'), 'code flow advertised');
  assert.ok(doc.code_challenge_methods_supported?.includes('S256'), 'PKCE S256 advertised');
  assert.ok(doc.subject_types_supported.includes('public'));

  const { data: jwks } = await sdk('WellknownApi.discoverJsonWebKeys', 200, wellknown.discoverJsonWebKeys());
  assert.ok(Array.isArray(jwks.keys) && jwks.keys.length > 0, `JWKS has keys: ${JSON.stringify(jwks)}`);
  for (const key of jwks.keys) {
    assertRequired('JsonWebKey', key, REQUIRED.JsonWebKey);
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
      assert.equal(key[priv], undefined, `public JWKS must not contain "${priv}" (kid ${key.kid})`);
    }
  }
  const algs = new Set(jwks.keys.map((k) => k.alg));
  for (const alg of doc.id_token_signing_alg_values_supported) {
    assert.ok(algs.has(alg), `a published key signs ${alg}`);
  }
  // Last, so that a missing field does not hide the checks above.
  assertRequired('OidcConfiguration', doc, REQUIRED.OidcConfiguration);
}

async function clients() {
  const id = `${RUN}-client`;
  const input = {
    client_id: id,
    client_name: 'SDK client',
    redirect_uris: ['https://app.example/cb'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: 'openid offline_access profile',
    audience: ['https://api.example'],
    owner: 'sdk-owner',
    contacts: ['ops@app.example'],
    metadata: { tier: 'gold' },
    skip_consent: false,
    authorization_code_grant_access_token_lifespan: '2h',
  };

  // Create: 201, every field back, the generated secret shown this once.
  const created = await sdk('OAuth2Api.createOAuth2Client', 201, oauth2.createOAuth2Client({ oAuth2Client: input }));
  assert.equal(created.headers.location, `/admin/clients/${id}`, 'Location header');
  const c = created.data;
  assert.equal(c.client_id, id);
  assert.equal(typeof c.client_secret, 'string', 'client_secret on create');
  assert.ok(c.client_secret.length >= 6, 'generated secret');
  for (const k of ['client_name', 'redirect_uris', 'grant_types', 'response_types', 'scope', 'audience', 'owner', 'contacts', 'metadata', 'skip_consent']) {
    assert.deepEqual(c[k], input[k], `created.${k}`);
  }
  assert.equal(c.token_endpoint_auth_method, 'client_secret_basic', 'default auth method');
  assert.equal(c.authorization_code_grant_access_token_lifespan, '2h0m0s', 'lifespan as a Go duration');
  assert.match(c.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'created_at');
  assert.equal(typeof c.registration_access_token, 'string');

  // Get: the same client, never the secret.
  const { data: got } = await sdk('OAuth2Api.getOAuth2Client', 200, oauth2.getOAuth2Client({ id }));
  assert.equal(got.client_secret, undefined, 'GET must not return the secret');
  assert.equal(got.registration_access_token, undefined);
  for (const k of ['client_id', 'client_name', 'redirect_uris', 'scope', 'owner', 'metadata', 'created_at', 'authorization_code_grant_access_token_lifespan']) {
    assert.deepEqual(got[k], c[k], `get.${k}`);
  }

  // Errors: duplicate id, unknown id, invalid metadata.
  await sdkError('OAuth2Api.createOAuth2Client (duplicate)', 409, oauth2.createOAuth2Client({ oAuth2Client: { client_id: id } }));
  await sdkError('OAuth2Api.getOAuth2Client (unknown)', 404, oauth2.getOAuth2Client({ id: `${RUN}-missing` }));
  const invalid = await sdkError('OAuth2Api.createOAuth2Client (invalid)', 400,
    oauth2.createOAuth2Client({ oAuth2Client: { client_id: `${RUN}-bad`, redirect_uris: ['https://a.example/cb#fragment'] } }));
  assert.equal(invalid.error, 'invalid_redirect_uri', JSON.stringify(invalid));

  // Set (PUT): a full replace; an omitted secret is kept and not echoed.
  const { data: replaced } = await sdk('OAuth2Api.setOAuth2Client', 200, oauth2.setOAuth2Client({
    id, oAuth2Client: { client_name: 'SDK client v2', redirect_uris: ['https://app.example/cb2'], scope: 'openid' },
  }));
  assert.equal(replaced.client_id, id);
  assert.equal(replaced.client_name, 'SDK client v2');
  assert.deepEqual(replaced.redirect_uris, ['https://app.example/cb2']);
  assert.equal(replaced.owner, '', 'PUT replaces every field');
  assert.equal(replaced.client_secret, undefined, 'secret not echoed when unchanged');
  assert.equal(replaced.created_at, c.created_at);
  await sdkError('OAuth2Api.setOAuth2Client (unknown)', 404, oauth2.setOAuth2Client({ id: `${RUN}-missing`, oAuth2Client: {} }));

  // Patch (JSON Patch): replace, add; a failing test op changes nothing.
  const { data: patched } = await sdk('OAuth2Api.patchOAuth2Client', 200, oauth2.patchOAuth2Client({
    id,
    jsonPatch: [
      { op: 'replace', path: '/client_name', value: 'patched by the SDK' },
      { op: 'add', path: '/redirect_uris/-', value: 'https://app.example/cb3' },
      { op: 'replace', path: '/owner', value: 'patched-owner' },
    ],
  }));
  assert.equal(patched.client_name, 'patched by the SDK');
  assert.equal(patched.owner, 'patched-owner');
  assert.deepEqual(patched.redirect_uris, ['https://app.example/cb2', 'https://app.example/cb3']);
  await sdkError('OAuth2Api.patchOAuth2Client (failing test op)', 400, oauth2.patchOAuth2Client({
    id,
    jsonPatch: [
      { op: 'replace', path: '/client_name', value: 'must not stick' },
      { op: 'test', path: '/client_name', value: 'something else' },
    ],
  }));
  const { data: afterPatch } = await sdk('OAuth2Api.getOAuth2Client', 200, oauth2.getOAuth2Client({ id }));
  assert.equal(afterPatch.client_name, 'patched by the SDK', 'failed patch changed nothing');
  const { data: newSecret } = await sdk('OAuth2Api.patchOAuth2Client', 200, oauth2.patchOAuth2Client({
    id, jsonPatch: [{ op: 'replace', path: '/client_secret', value: 'a-new-secret-from-the-sdk' }],
  }));
  assert.equal(newSecret.client_secret, 'a-new-secret-from-the-sdk', 'a patched secret is echoed once');

  // Lifespans: normalized to Go durations; every lifespan is replaced (omitted ones cleared).
  const { data: life } = await sdk('OAuth2Api.setOAuth2ClientLifespans', 200, oauth2.setOAuth2ClientLifespans({
    id,
    oAuth2ClientTokenLifespans: {
      authorization_code_grant_access_token_lifespan: '1h',
      authorization_code_grant_id_token_lifespan: '90m',
      authorization_code_grant_refresh_token_lifespan: '720h',
      client_credentials_grant_access_token_lifespan: '30s',
      implicit_grant_id_token_lifespan: '1.5h',
    },
  }));
  assert.equal(life.authorization_code_grant_access_token_lifespan, '1h0m0s');
  assert.equal(life.authorization_code_grant_id_token_lifespan, '1h30m0s');
  assert.equal(life.authorization_code_grant_refresh_token_lifespan, '720h0m0s');
  assert.equal(life.client_credentials_grant_access_token_lifespan, '30s');
  assert.equal(life.implicit_grant_id_token_lifespan, '1h30m0s');
  for (const [k, v] of Object.entries(life)) {
    if (k.endsWith('_lifespan') && v !== null && v !== undefined) assert.match(v, GO_DURATION, `${k}=${v}`);
  }
  assert.equal(life.refresh_token_grant_access_token_lifespan ?? null, null, 'omitted lifespans are cleared');
  const lifeBad = await sdkError('OAuth2Api.setOAuth2ClientLifespans (invalid)', 400, oauth2.setOAuth2ClientLifespans({
    id, oAuth2ClientTokenLifespans: { implicit_grant_access_token_lifespan: 'soon' },
  }));
  assert.equal(lifeBad.error, 'invalid_client_metadata');

  // Delete: 204, then gone.
  const del = await sdk('OAuth2Api.deleteOAuth2Client', 204, oauth2.deleteOAuth2Client({ id }));
  assert.ok(del.data === '' || del.data === undefined, `204 has no body: ${JSON.stringify(del.data)}`);
  await sdkError('OAuth2Api.getOAuth2Client (deleted)', 404, oauth2.getOAuth2Client({ id }));
  await sdkError('OAuth2Api.deleteOAuth2Client (deleted)', 404, oauth2.deleteOAuth2Client({ id }));
}

/** `rel` -> URL of a Link header (RFC 8288). */
function parseLink(header) {
  const links = {};
  for (const part of (header || '').split(',')) {
    const m = part.match(/<([^>]*)>\s*;\s*rel="?([^";]+)"?/);
    if (m) links[m[2]] = new URL(m[1], BASE);
  }
  return links;
}

async function pagination() {
  const owner = `${RUN}-owner`;
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const { data } = await sdk('OAuth2Api.createOAuth2Client', 201, oauth2.createOAuth2Client({
      oAuth2Client: { client_id: `${owner}-${i}`, owner, client_name: `name-${i % 2}` },
    }));
    ids.push(data.client_id);
  }
  // Follow rel="next" with nothing but the SDK's own pageToken parameter.
  const seen = [];
  let pageToken;
  let pages = 0;
  for (;;) {
    const res = await sdk('OAuth2Api.listOAuth2Clients', 200, oauth2.listOAuth2Clients({ pageSize: 2, owner, pageToken }));
    pages++;
    assert.ok(Array.isArray(res.data), 'list body is an array');
    for (const client of res.data) {
      assert.equal(client.client_secret, undefined, 'secrets are never listed');
      seen.push(client.client_id);
    }
    assert.ok(res.data.length <= 2, `page_size respected: ${res.data.length}`);
    const links = parseLink(res.headers.link);
    assert.ok(links.first, `Link has rel="first": ${res.headers.link}`);
    assert.equal(links.first.searchParams.get('page_size'), '2', `first link keeps page_size: ${res.headers.link}`);
    if (!links.next) break;
    assert.equal(links.next.searchParams.get('page_size'), '2', `next link keeps page_size: ${res.headers.link}`);
    pageToken = links.next.searchParams.get('page_token');
    assert.ok(pageToken, `next link has a page_token: ${res.headers.link}`);
    assert.ok(pages < 10, 'pagination terminates');
  }
  assert.equal(pages, 3, '5 clients at 2 per page');
  assert.deepEqual(seen, ids, 'every client exactly once, in a stable order');

  const { data: named } = await sdk('OAuth2Api.listOAuth2Clients', 200, oauth2.listOAuth2Clients({ owner, clientName: 'name-1' }));
  assert.deepEqual(named.map((x) => x.client_id), [ids[1], ids[3]], 'client_name filter');
  await sdkError('OAuth2Api.listOAuth2Clients (forged page_token)', 400, oauth2.listOAuth2Clients({ pageToken: 'forged' }));

  for (const id of ids) await sdk('OAuth2Api.deleteOAuth2Client', 204, oauth2.deleteOAuth2Client({ id }));
}

async function keys() {
  const set = `${RUN}-keys`;
  const { data: created } = await sdk('JwkApi.createJsonWebKeySet', 201, jwk.createJsonWebKeySet({
    set, createJsonWebKeySet: { alg: 'ES256', use: 'sig', kid: 'ec-1' },
  }));
  assert.equal(created.keys.length, 1, 'only the new key is returned');
  const ec = created.keys[0];
  assertRequired('JsonWebKey', ec, REQUIRED.JsonWebKey);
  assert.deepEqual([ec.kid, ec.kty, ec.crv, ec.alg, ec.use], ['ec-1', 'EC', 'P-256', 'ES256', 'sig']);
  assert.ok(ec.d && ec.x && ec.y, 'private EC key for admins');

  const { data: rsaSet } = await sdk('JwkApi.createJsonWebKeySet', 201, jwk.createJsonWebKeySet({
    set, createJsonWebKeySet: { alg: 'RS256', use: 'sig', kid: 'rsa-1' },
  }));
  const rsa = rsaSet.keys[0];
  assertRequired('JsonWebKey', rsa, REQUIRED.JsonWebKey);
  for (const m of ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(typeof rsa[m], 'string', `RSA member ${m}`);
  await sdkError('JwkApi.createJsonWebKeySet (existing kid)', 409, jwk.createJsonWebKeySet({
    set, createJsonWebKeySet: { alg: 'ES256', use: 'sig', kid: 'ec-1' },
  }));
  await sdkError('JwkApi.createJsonWebKeySet (unsupported alg)', 400, jwk.createJsonWebKeySet({
    set, createJsonWebKeySet: { alg: 'XS256', use: 'sig', kid: 'x' },
  }));

  const { data: all } = await sdk('JwkApi.getJsonWebKeySet', 200, jwk.getJsonWebKeySet({ set }));
  assert.deepEqual(all.keys.map((k) => k.kid), ['rsa-1', 'ec-1'], 'newest first');
  all.keys.forEach((k) => assertRequired('JsonWebKey', k, REQUIRED.JsonWebKey));
  const { data: one } = await sdk('JwkApi.getJsonWebKey', 200, jwk.getJsonWebKey({ set, kid: 'ec-1' }));
  assert.equal(one.keys.length, 1);
  assert.equal(one.keys[0].d, ec.d, 'same key material');
  await sdkError('JwkApi.getJsonWebKey (unknown kid)', 404, jwk.getJsonWebKey({ set, kid: 'nope' }));
  await sdkError('JwkApi.getJsonWebKeySet (unknown set)', 404, jwk.getJsonWebKeySet({ set: `${RUN}-nope` }));

  // Set (PUT) a whole set: replaces it; the first key becomes the newest.
  const imported = `${RUN}-imported`;
  const { data: putSet } = await sdk('JwkApi.setJsonWebKeySet', 200, jwk.setJsonWebKeySet({ set: imported, jsonWebKeySet: { keys: [ec, rsa] } }));
  assert.deepEqual(putSet.keys.map((k) => k.kid), ['ec-1', 'rsa-1']);
  const { data: afterPut } = await sdk('JwkApi.getJsonWebKeySet', 200, jwk.getJsonWebKeySet({ set: imported }));
  assert.deepEqual(afterPut.keys.map((k) => k.kid), ['ec-1', 'rsa-1']);
  assert.equal(afterPut.keys[0].d, ec.d);
  const incomplete = { ...ec, kid: 'broken' };
  delete incomplete.y;
  await sdkError('JwkApi.setJsonWebKeySet (invalid key)', 400, jwk.setJsonWebKeySet({ set: imported, jsonWebKeySet: { keys: [rsa, incomplete] } }));
  const { data: unchanged } = await sdk('JwkApi.getJsonWebKeySet', 200, jwk.getJsonWebKeySet({ set: imported }));
  assert.deepEqual(unchanged.keys.map((k) => k.kid), ['ec-1', 'rsa-1'], 'an invalid set changes nothing');

  // Set (PUT) one key.
  const { data: putKey } = await sdk('JwkApi.setJsonWebKey', 200, jwk.setJsonWebKey({ set: imported, kid: 'ec-2', jsonWebKey: { ...ec, kid: 'ec-2' } }));
  assert.equal(putKey.kid, 'ec-2');
  assertRequired('JsonWebKey', putKey, REQUIRED.JsonWebKey);
  const { data: gotKey } = await sdk('JwkApi.getJsonWebKey', 200, jwk.getJsonWebKey({ set: imported, kid: 'ec-2' }));
  assert.equal(gotKey.keys[0].x, ec.x);

  // Delete one key, then the sets.
  await sdk('JwkApi.deleteJsonWebKey', 204, jwk.deleteJsonWebKey({ set: imported, kid: 'ec-2' }));
  await sdkError('JwkApi.getJsonWebKey (deleted)', 404, jwk.getJsonWebKey({ set: imported, kid: 'ec-2' }));
  await sdk('JwkApi.deleteJsonWebKeySet', 204, jwk.deleteJsonWebKeySet({ set: imported }));
  await sdkError('JwkApi.getJsonWebKeySet (deleted)', 404, jwk.getJsonWebKeySet({ set: imported }));
  await sdk('JwkApi.deleteJsonWebKeySet', 204, jwk.deleteJsonWebKeySet({ set }));
}

// ---------------------------------------------------------------------------------------------
// The browser: plain fetch that does not follow redirects and keeps its cookies itself.

class Browser {
  #cookies = new Map();

  async get(url) {
    const cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {}, signal: AbortSignal.timeout(TIMEOUT_MS) });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v = ''] = a.trim().split('=');
        return (k.toLowerCase() === 'max-age' && Number(v) <= 0)
          || (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now());
      });
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    await res.arrayBuffer(); // drain, so the connection is reusable
    return { status: res.status, location: res.headers.get('location') || '', setCookie: res.headers.getSetCookie() };
  }

  /** GET and expect a redirect; returns the Location as a URL. */
  async redirect(url, status = 302) {
    const r = await this.get(url);
    assert.equal(r.status, status, `GET ${url}: expected ${status}, got ${r.status} (Location: ${r.location})`);
    assert.ok(r.location, `GET ${url}: no Location header`);
    return new URL(r.location, url);
  }
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const decodeJwtPart = (jwt, i) => JSON.parse(Buffer.from(jwt.split('.')[i], 'base64url').toString('utf8'));

/** Check a JWT's signature against a JWK set, the way a relying party does. */
function verifyJwt(jwt, jwks) {
  const header = decodeJwtPart(jwt, 0);
  const key = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(key, `the ID token's kid ${header.kid} is published in the JWKS`);
  const [h, p, s] = jwt.split('.');
  const hash = { ES256: 'sha256', RS256: 'sha256', ES384: 'sha384', ES512: 'sha512', RS384: 'sha384', RS512: 'sha512' }[header.alg];
  assert.ok(hash, `supported alg ${header.alg}`);
  const ok = verify(hash, Buffer.from(`${h}.${p}`), { key: createPublicKey({ key, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'));
  assert.ok(ok, 'the ID token signature verifies with the published key');
}

async function flow() {
  const redirectUri = 'http://127.0.0.1:9/callback';
  const { data: client } = await sdk('OAuth2Api.createOAuth2Client', 201, oauth2.createOAuth2Client({
    oAuth2Client: {
      client_id: `${RUN}-rp`,
      client_name: 'SDK relying party',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: 'openid offline_access profile email',
      audience: ['https://api.example'],
    },
  }));
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(12));
  const nonce = b64url(randomBytes(12));
  const authUrl = new URL('/oauth2/auth', BASE);
  authUrl.search = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid offline_access profile',
    audience: 'https://api.example',
    state,
    nonce,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  }).toString();

  // 1. The browser starts at /oauth2/auth and is sent to the login app.
  const browser = new Browser();
  const toLogin = await browser.redirect(authUrl.href);
  const loginChallenge = toLogin.searchParams.get('login_challenge');
  assert.ok(loginChallenge, `login_challenge in ${toLogin}`);

  // 2. The login app (SDK) reads and accepts the login request.
  const { data: loginReq } = await sdk('OAuth2Api.getOAuth2LoginRequest', 200, oauth2.getOAuth2LoginRequest({ loginChallenge }));
  assertRequired('OAuth2LoginRequest', loginReq, REQUIRED.OAuth2LoginRequest);
  assert.equal(loginReq.challenge, loginChallenge);
  assert.equal(loginReq.skip, false);
  assert.equal(loginReq.subject, '');
  assert.equal(loginReq.client.client_id, client.client_id);
  assert.equal(loginReq.client.client_secret, undefined, 'no secret in the login request');
  assert.deepEqual(loginReq.requested_scope, ['openid', 'offline_access', 'profile']);
  assert.deepEqual(loginReq.requested_access_token_audience, ['https://api.example']);
  assert.ok(loginReq.request_url.startsWith(`${BASE}/oauth2/auth?`), loginReq.request_url);
  await sdkError('OAuth2Api.getOAuth2LoginRequest (forged)', 404, oauth2.getOAuth2LoginRequest({ loginChallenge: 'forged' }));
  await sdkError('OAuth2Api.acceptOAuth2LoginRequest (no subject)', 400, oauth2.acceptOAuth2LoginRequest({ loginChallenge }));
  const { data: loginDone } = await sdk('OAuth2Api.acceptOAuth2LoginRequest', 200, oauth2.acceptOAuth2LoginRequest({
    loginChallenge,
    acceptOAuth2LoginRequest: { subject: 'sdk-user', remember: true, remember_for: 3600, acr: 'urn:pwd', amr: ['pwd'], context: { via: 'sdk' } },
  }));
  assertRequired('OAuth2RedirectTo', loginDone, REQUIRED.OAuth2RedirectTo);

  // 3. The browser brings the login verifier back and is sent to the consent app.
  const toConsent = await browser.redirect(loginDone.redirect_to);
  const consentChallenge = toConsent.searchParams.get('consent_challenge');
  assert.ok(consentChallenge, `consent_challenge in ${toConsent}`);

  // 4. The consent app (SDK) reads and accepts the consent request.
  const { data: consentReq } = await sdk('OAuth2Api.getOAuth2ConsentRequest', 200, oauth2.getOAuth2ConsentRequest({ consentChallenge }));
  assertRequired('OAuth2ConsentRequest', consentReq, REQUIRED.OAuth2ConsentRequest);
  assert.equal(consentReq.challenge, consentChallenge);
  assert.equal(consentReq.subject, 'sdk-user');
  assert.equal(consentReq.skip, false);
  assert.equal(consentReq.acr, 'urn:pwd');
  assert.deepEqual(consentReq.amr, ['pwd']);
  assert.deepEqual(consentReq.context, { via: 'sdk' });
  assert.equal(consentReq.client?.client_id, client.client_id);
  assert.deepEqual(consentReq.requested_scope, ['openid', 'offline_access', 'profile']);
  // As in Hydra since v2.2 (stateless flows): the flow's id, not the encrypted login challenge.
  assert.ok(typeof consentReq.login_challenge === 'string' && consentReq.login_challenge, 'login_challenge');
  assert.equal(consentReq.login_session_id, loginReq.session_id);
  const { data: consentDone } = await sdk('OAuth2Api.acceptOAuth2ConsentRequest', 200, oauth2.acceptOAuth2ConsentRequest({
    consentChallenge,
    acceptOAuth2ConsentRequest: {
      grant_scope: consentReq.requested_scope,
      grant_access_token_audience: consentReq.requested_access_token_audience,
      remember: true,
      remember_for: 3600,
      session: { id_token: { email: 'sdk-user@example.com' }, access_token: { tier: 'gold' } },
    },
  }));
  assertRequired('OAuth2RedirectTo', consentDone, REQUIRED.OAuth2RedirectTo);

  // 5. The browser brings the consent verifier back: 303 to the client with the code.
  const atClient = await browser.redirect(consentDone.redirect_to, 303);
  assert.equal(`${atClient.origin}${atClient.pathname}`, redirectUri);
  assert.equal(atClient.searchParams.get('state'), state);
  assert.equal(atClient.searchParams.get('iss'), BASE);
  const code = atClient.searchParams.get('code');
  assert.ok(code, `code in ${atClient}`);

  // 6. The client exchanges the code (client_secret_basic, PKCE verifier).
  const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64');
  const tokenRes = await fetch(`${BASE}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const tokens = await tokenRes.json();
  assert.equal(tokenRes.status, 200, `POST /oauth2/token: ${JSON.stringify(tokens)}`);
  assert.equal(typeof tokens.access_token, 'string', 'access_token');
  assert.equal(typeof tokens.id_token, 'string', 'id_token');
  assert.equal(typeof tokens.refresh_token, 'string', 'refresh_token (offline_access granted)');
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, 'openid offline_access profile');
  assert.ok(tokens.expires_in > 0);

  const claims = decodeJwtPart(tokens.id_token, 1);
  assert.equal(claims.iss, BASE);
  assert.equal(claims.sub, 'sdk-user');
  assert.ok([].concat(claims.aud).includes(client.client_id), `aud: ${JSON.stringify(claims.aud)}`);
  assert.equal(claims.nonce, nonce);
  assert.equal(claims.email, 'sdk-user@example.com');
  assert.equal(claims.sid, loginReq.session_id);
  const { data: jwks } = await sdk('WellknownApi.discoverJsonWebKeys', 200, wellknown.discoverJsonWebKeys());
  verifyJwt(tokens.id_token, jwks);
  const keySet = createLocalJWKSet(jwks);
  await jwtVerify(tokens.id_token, keySet, { issuer: BASE, audience: client.client_id, algorithms: ['ES256'] });

  // Userinfo through the SDK (the access token as its OAuth 2.0 credential).
  const userinfoApi = new OidcApi(new Configuration({ basePath: BASE, accessToken: tokens.access_token, baseOptions: { timeout: TIMEOUT_MS } }));
  const { data: userinfo } = await sdk('OidcApi.getOidcUserInfo', 200, userinfoApi.getOidcUserInfo());
  assert.equal(userinfo.sub, 'sdk-user');
  assert.equal(userinfo.email, 'sdk-user@example.com');

  // Refresh through the SDK's token exchange (client_secret_basic from the configuration).
  const clientApi = new OAuth2Api(new Configuration({ basePath: BASE, username: client.client_id, password: client.client_secret, baseOptions: { timeout: TIMEOUT_MS } }));
  const { data: refreshed } = await sdk('OAuth2Api.oauth2TokenExchange (refresh_token)', 200,
    clientApi.oauth2TokenExchange({ grantType: 'refresh_token', refreshToken: tokens.refresh_token }));
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'rotated');
  await jwtVerify(refreshed.id_token, keySet, { issuer: BASE, audience: client.client_id, algorithms: ['ES256'] });
  const { data: oldIntrospection } = await sdk('OAuth2Api.introspectOAuth2Token', 200, oauth2.introspectOAuth2Token({ token: tokens.access_token }));
  assertRequired('IntrospectedOAuth2Token', oldIntrospection, REQUIRED.IntrospectedOAuth2Token);
  assert.equal(oldIntrospection.active, false, 'the rotated-away access token is inactive');

  // The same code again is refused.
  const replay = await fetch(`${BASE}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  assert.equal(replay.status, 400, 'a replayed code is refused');

  // 7. Second visit: the remembered login shows up as skip=true with the subject; the login
  //    app rejects it this time, and the client receives the error.
  const again = await browser.redirect(authUrl.href);
  const skipChallenge = again.searchParams.get('login_challenge');
  const { data: skipReq } = await sdk('OAuth2Api.getOAuth2LoginRequest', 200, oauth2.getOAuth2LoginRequest({ loginChallenge: skipChallenge }));
  assert.equal(skipReq.skip, true, 'remembered login is skipped');
  assert.equal(skipReq.subject, 'sdk-user');
  const { data: loginRejected } = await sdk('OAuth2Api.rejectOAuth2LoginRequest', 200, oauth2.rejectOAuth2LoginRequest({
    loginChallenge: skipChallenge,
    rejectOAuth2Request: { error: 'access_denied', error_description: 'The user said no (SDK)' },
  }));
  const rejectedAtClient = await browser.redirect(loginRejected.redirect_to, 303);
  assert.equal(rejectedAtClient.searchParams.get('error'), 'access_denied');
  assert.equal(rejectedAtClient.searchParams.get('error_description'), 'The user said no (SDK)');
  assert.equal(rejectedAtClient.searchParams.get('state'), state);
  assert.equal(rejectedAtClient.searchParams.get('code'), null);

  // 8. Third visit, asking for a scope beyond the remembered grant: login accepted, consent
  //    rejected through the SDK.
  const thirdUrl = new URL(authUrl);
  thirdUrl.searchParams.set('scope', 'openid email');
  const third = await browser.redirect(thirdUrl.href);
  const thirdLogin = third.searchParams.get('login_challenge');
  const { data: thirdAccepted } = await sdk('OAuth2Api.acceptOAuth2LoginRequest', 200, oauth2.acceptOAuth2LoginRequest({
    loginChallenge: thirdLogin, acceptOAuth2LoginRequest: { subject: 'sdk-user' },
  }));
  const thirdConsent = (await browser.redirect(thirdAccepted.redirect_to)).searchParams.get('consent_challenge');
  const { data: thirdReq } = await sdk('OAuth2Api.getOAuth2ConsentRequest', 200, oauth2.getOAuth2ConsentRequest({ consentChallenge: thirdConsent }));
  assert.equal(thirdReq.skip, false, 'a new scope needs consent');
  const { data: consentRejected } = await sdk('OAuth2Api.rejectOAuth2ConsentRequest', 200, oauth2.rejectOAuth2ConsentRequest({
    consentChallenge: thirdConsent, rejectOAuth2Request: { error: 'access_denied', error_description: 'No email for you' },
  }));
  const deniedAtClient = await browser.redirect(consentRejected.redirect_to, 303);
  assert.equal(deniedAtClient.searchParams.get('error'), 'access_denied');
  assert.equal(deniedAtClient.searchParams.get('code'), null);
  await sdkError('OAuth2Api.getOAuth2ConsentRequest (forged)', 404, oauth2.getOAuth2ConsentRequest({ consentChallenge: 'forged' }));

  await sdk('OAuth2Api.deleteOAuth2Client', 204, oauth2.deleteOAuth2Client({ id: client.client_id }));
}

/** A client_credentials token request with client_secret_basic (the SDK's token exchange has no scope). */
async function clientCredentials(id, secret, extra = {}) {
  const res = await fetch(`${BASE}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...extra }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `client_credentials: ${JSON.stringify(body)}`);
  return body;
}

async function tokens() {
  const { data: m2m } = await sdk('OAuth2Api.createOAuth2Client', 201, oauth2.createOAuth2Client({
    oAuth2Client: {
      client_id: `${RUN}-m2m`,
      grant_types: ['client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
      scope: 'read write',
      audience: ['https://api.example'],
      access_token_strategy: 'jwt',
    },
  }));
  const { data: jwks } = await sdk('WellknownApi.discoverJsonWebKeys', 200, wellknown.discoverJsonWebKeys());
  const keySet = createLocalJWKSet(jwks);

  // A JWT access token: RFC 9068 typ, checked with jose; introspection through the SDK.
  const issued = await clientCredentials(m2m.client_id, m2m.client_secret, { scope: 'read', audience: 'https://api.example' });
  const { payload, protectedHeader } = await jwtVerify(issued.access_token, keySet, {
    issuer: BASE, audience: 'https://api.example', typ: 'at+jwt', algorithms: ['ES256'],
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(payload.sub, m2m.client_id);
  assert.deepEqual(payload.scp, ['read']);
  const { data: intro } = await sdk('OAuth2Api.introspectOAuth2Token', 200, oauth2.introspectOAuth2Token({ token: issued.access_token, scope: 'read' }));
  assertRequired('IntrospectedOAuth2Token', intro, REQUIRED.IntrospectedOAuth2Token);
  assert.equal(intro.active, true);
  assert.equal(intro.client_id, m2m.client_id);
  assert.equal(intro.token_use, 'access_token');
  assert.deepEqual(intro.aud, ['https://api.example']);
  const { data: wrongScope } = await sdk('OAuth2Api.introspectOAuth2Token', 200, oauth2.introspectOAuth2Token({ token: issued.access_token, scope: 'write' }));
  assert.deepEqual(wrongScope, { active: false });

  // Revocation through the SDK (client_secret_basic from the configuration).
  const clientApi = new OAuth2Api(new Configuration({ basePath: BASE, username: m2m.client_id, password: m2m.client_secret, baseOptions: { timeout: TIMEOUT_MS } }));
  await sdk('OAuth2Api.revokeOAuth2Token', 200, clientApi.revokeOAuth2Token({ token: issued.access_token }));
  assert.equal((await oauth2.introspectOAuth2Token({ token: issued.access_token })).data.active, false, 'revoked');

  // Token deletion for a client.
  const second = await clientCredentials(m2m.client_id, m2m.client_secret);
  assert.equal((await oauth2.introspectOAuth2Token({ token: second.access_token })).data.active, true);
  await sdk('OAuth2Api.deleteOAuth2Token', 204, oauth2.deleteOAuth2Token({ clientId: m2m.client_id }));
  assert.equal((await oauth2.introspectOAuth2Token({ token: second.access_token })).data.active, false, 'deleted');
  await sdkError('OAuth2Api.deleteOAuth2Token (no client_id)', 400, oauth2.deleteOAuth2Token({ clientId: '' }));

  // The trust API and the jwt-bearer grant, with an assertion signed by jose.
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: `${RUN}-key`, alg: 'ES256', use: 'sig' };
  const issuer = `https://${RUN}.idp.example`;
  const { data: trust } = await sdk('OAuth2Api.trustOAuth2JwtGrantIssuer', 201, oauth2.trustOAuth2JwtGrantIssuer({
    trustOAuth2JwtGrantIssuer: { issuer, subject: 'sdk-subject', scope: ['read'], jwk, expires_at: '2040-01-01T00:00:00Z' },
  }));
  assert.equal(trust.public_key.kid, jwk.kid);
  assert.equal(trust.public_key.set, issuer);
  const { data: listed } = await sdk('OAuth2Api.listTrustedOAuth2JwtGrantIssuers', 200, oauth2.listTrustedOAuth2JwtGrantIssuers({ issuer, pageSize: 10 }));
  assert.deepEqual(listed.map((t) => t.id), [trust.id]);
  const { data: fetched } = await sdk('OAuth2Api.getTrustedOAuth2JwtGrantIssuer', 200, oauth2.getTrustedOAuth2JwtGrantIssuer({ id: trust.id }));
  assert.deepEqual(fetched, trust);
  await sdkError('OAuth2Api.trustOAuth2JwtGrantIssuer (duplicate)', 409, oauth2.trustOAuth2JwtGrantIssuer({
    trustOAuth2JwtGrantIssuer: { issuer, subject: 'sdk-subject', scope: ['read'], jwk, expires_at: '2040-01-01T00:00:00Z' },
  }));
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid })
    .setIssuer(issuer).setSubject('sdk-subject').setAudience(`${BASE}/oauth2/token`)
    .setIssuedAt().setExpirationTime('5m').setJti(`${RUN}-jti`)
    .sign(privateKey);
  const bearer = await clientCredentials(m2m.client_id, m2m.client_secret, {
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion, scope: 'read',
  });
  const verified = await jwtVerify(bearer.access_token, keySet, { issuer: BASE, typ: 'at+jwt', algorithms: [decodeProtectedHeader(bearer.access_token).alg] });
  assert.equal(verified.payload.sub, 'sdk-subject');
  await sdk('OAuth2Api.deleteTrustedOAuth2JwtGrantIssuer', 204, oauth2.deleteTrustedOAuth2JwtGrantIssuer({ id: trust.id }));
  await sdkError('OAuth2Api.getTrustedOAuth2JwtGrantIssuer (deleted)', 404, oauth2.getTrustedOAuth2JwtGrantIssuer({ id: trust.id }));
  await sdk('OAuth2Api.deleteOAuth2Client', 204, oauth2.deleteOAuth2Client({ id: m2m.client_id }));
}

// ---------------------------------------------------------------------------------------------

const sections = [
  ['version', version],
  ['admin auth', adminAuth],
  ['discovery', discovery],
  ['clients', clients],
  ['pagination', pagination],
  ['keys', keys],
  ['login + consent flow', flow],
  ['tokens: introspection, revocation, deletion, trust', tokens],
];

const failures = [];
console.log(`@ory/hydra-client against ${BASE} (run ${RUN})`);
for (const [name, fn] of sections) {
  const started = performance.now();
  try {
    const note = await fn();
    console.log(`  ok    ${name} (${Math.round(performance.now() - started)} ms)${note ? `: ${note}` : ''}`);
  } catch (err) {
    failures.push(name);
    console.log(`  FAIL  ${name}`);
    console.error(`\n--- ${name} ---\n${err?.response ? describe(err) : err?.stack || err}\n`);
  }
}

const ops = [...calls.keys()].sort();
console.log(`\n${calls.size} distinct SDK calls:`);
for (const op of ops) console.log(`  ${op}: ${[...calls.get(op)].sort().join(', ')}`);
if (failures.length) {
  console.error(`\nFAILED: ${failures.join(', ')}`);
  process.exit(1);
}
console.log(`\nall ${sections.length} sections passed`);
