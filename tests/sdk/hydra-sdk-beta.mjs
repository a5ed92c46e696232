// Ory's JavaScript SDK of Hydra v1.0.0-beta.8 (npm `ory-hydra-sdk@1.0.0-beta.8`, seeds 004 and
// 000) run unchanged against hydra-edge: challenges in the path
// (`/oauth2/auth/requests/login/{challenge}/accept`), sessions by user
// (`/oauth2/auth/sessions/consent/{user}[/{client}]`, `/oauth2/auth/sessions/login/{user}`),
// clients, keys, flush, introspection, `POST /userinfo`, discovery, health, version, metrics,
// and a complete login + consent flow to tokens.
//
//   HYDRA_EDGE_URL=http://127.0.0.1:8787 HYDRA_EDGE_ADMIN_TOKEN=... node tests/sdk/hydra-sdk-beta.mjs
//
// The SDK is callback-based (swagger-codegen, superagent); `sdk()` turns a call into a promise
// and records its status. Used by tests/sdk.rs.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BASE, Browser, REDIRECT, RUN, TIMEOUT_MS, TOKEN, authUrl, http, param, record, runSections } from './harness.mjs';

const require = createRequire(import.meta.url);

// The published package was built on a case-insensitive filesystem: it requires
// `./JsonWebKey` and `./JsonWebKeySet` but ships `JSONWebKey.js` and `JSONWebKeySet.js`. On a
// case-sensitive one (Linux) those two requires fail, so within this package only they are
// resolved case-insensitively, as on the machine it was built on. The SDK's code is unchanged.
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  try {
    return resolve.call(this, request, parent, ...rest);
  } catch (err) {
    const from = parent?.filename || '';
    if (err.code !== 'MODULE_NOT_FOUND' || !from.includes(`${path.sep}ory-hydra-sdk${path.sep}`) || !request.startsWith('.')) {
      throw err;
    }
    const dir = path.dirname(path.resolve(path.dirname(from), request));
    const want = `${path.basename(request)}.js`.toLowerCase();
    const found = readdirSync(dir).find((f) => f.toLowerCase() === want);
    if (!found) throw err;
    return path.join(dir, found);
  }
};
const Hydra = require('ory-hydra-sdk');

/** An ApiClient of the SDK: the admin one sends the admin token as a default header. */
function apiClient(headers = {}) {
  const c = new Hydra.ApiClient();
  c.basePath = BASE;
  c.defaultHeaders = headers;
  c.timeout = TIMEOUT_MS;
  return c;
}
const admin = apiClient({ Authorization: `Bearer ${TOKEN}` });
const oauth2 = new Hydra.OAuth2Api(admin);
const jwk = new Hydra.JsonWebKeyApi(admin);

/** Call an SDK operation (its callback last) and expect `status`; resolves to its data. */
function sdk(op, status, fn) {
  return new Promise((resolve, reject) => {
    fn((error, data, response) => {
      const got = response?.status ?? error?.status;
      if (got) record(op, got);
      if (got !== status) {
        reject(new Error(`${op}: expected HTTP ${status}, got ${got} ${response?.text ?? error?.message ?? ''}`));
      } else {
        resolve({ data, response });
      }
    });
  });
}

async function metadata() {
  const { data: v } = await sdk('getVersion', 200, (cb) => new Hydra.VersionApi(admin).getVersion(cb));
  assert.match(v.version, /^v/);
  const publicClient = apiClient();
  const { data: alive } = await sdk('isInstanceAlive', 200, (cb) => new Hydra.HealthApi(publicClient).isInstanceAlive(cb));
  assert.equal(alive.status, 'ok');
  const { data: ready } = await sdk('isInstanceReady', 200, (cb) => new Hydra.HealthApi(publicClient).isInstanceReady(cb));
  assert.equal(ready.status, 'ok');
  await sdk('getVersion', 401, (cb) => new Hydra.VersionApi(publicClient).getVersion(cb));
  const { response } = await sdk('getPrometheusMetrics', 200, (cb) => new Hydra.MetricsApi(admin).getPrometheusMetrics(cb));
  assert.match(response.text, /# TYPE hydra_edge_http_requests_total counter/);
  await sdk('getPrometheusMetrics', 401, (cb) => new Hydra.MetricsApi(publicClient).getPrometheusMetrics(cb));
  const { data: wk } = await sdk('getWellKnown', 200, (cb) => new Hydra.OAuth2Api(publicClient).getWellKnown(cb));
  assert.equal(wk.issuer, BASE);
  assert.equal(wk.token_endpoint, `${BASE}/oauth2/token`);
  const { data: jwks } = await sdk('wellKnown', 200, (cb) => new Hydra.OAuth2Api(publicClient).wellKnown(cb));
  assert.ok(jwks.keys.length > 0 && jwks.keys.every((k) => !k.d));
}

async function clients() {
  const owner = `beta-owner-${RUN}`;
  const ids = [];
  for (const i of [0, 1, 2]) {
    const body = Hydra.OAuth2Client.constructFromObject({
      client_id: `beta-${RUN}-${i}`,
      client_name: `beta ${i}`,
      owner,
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: 'openid offline_access',
    });
    const { data } = await sdk('createOAuth2Client', 201, (cb) => oauth2.createOAuth2Client(body, cb));
    assert.equal(data.client_id, `beta-${RUN}-${i}`);
    assert.ok(data.client_secret);
    ids.push(data.client_id);
  }
  const { data: got } = await sdk('getOAuth2Client', 200, (cb) => oauth2.getOAuth2Client(ids[0], cb));
  assert.equal(got.client_name, 'beta 0');
  assert.equal(got.client_secret, undefined);
  await sdk('getOAuth2Client', 404, (cb) => oauth2.getOAuth2Client(`beta-missing-${RUN}`, cb));
  const { data: page, response } = await sdk('listOAuth2Clients', 200, (cb) => oauth2.listOAuth2Clients({ limit: 2, offset: 0 }, cb));
  assert.equal(page.length, 2);
  assert.ok(Number(response.headers['x-total-count']) >= 3);
  const { data: updated } = await sdk('updateOAuth2Client', 200, (cb) =>
    oauth2.updateOAuth2Client(ids[1], Hydra.OAuth2Client.constructFromObject({ client_name: 'renamed', redirect_uris: [REDIRECT] }), cb));
  assert.equal(updated.client_name, 'renamed');
  for (const id of ids) await sdk('deleteOAuth2Client', 204, (cb) => oauth2.deleteOAuth2Client(id, cb));
  await sdk('getOAuth2Client', 404, (cb) => oauth2.getOAuth2Client(ids[0], cb));
}

async function keys() {
  const set = `beta-set-${RUN}`;
  const req = Hydra.JsonWebKeySetGeneratorRequest.constructFromObject({ alg: 'ES256', kid: 'k1', use: 'sig' });
  const { data: created } = await sdk('createJsonWebKeySet', 201, (cb) => jwk.createJsonWebKeySet(set, { body: req }, cb));
  assert.equal(created.keys[0].kid, 'k1');
  const { data: one } = await sdk('getJsonWebKey', 200, (cb) => jwk.getJsonWebKey('k1', set, cb));
  assert.equal(one.keys[0].alg, 'ES256');
  const { response } = await sdk('getJsonWebKeySet', 200, (cb) => jwk.getJsonWebKeySet(set, cb));
  // The raw document (the SDK's model drops the private members on the way back out).
  const whole = JSON.parse(response.text);
  const key2 = { ...whole.keys[0], kid: 'k2' };
  const { data: put } = await sdk('updateJsonWebKey', 200, (cb) => jwk.updateJsonWebKey('k2', set, { body: key2 }, cb));
  assert.equal(put.kid, 'k2');
  const { data: replaced } = await sdk('updateJsonWebKeySet', 200, (cb) => jwk.updateJsonWebKeySet(set, { body: whole }, cb));
  assert.equal(replaced.keys.length, 1);
  await sdk('deleteJsonWebKey', 204, (cb) => jwk.deleteJsonWebKey('k1', set, cb));
  await sdk('deleteJsonWebKeySet', 204, (cb) => jwk.deleteJsonWebKeySet(set, cb));
  await sdk('getJsonWebKeySet', 404, (cb) => jwk.getJsonWebKeySet(set, cb));
}

async function makeClient(suffix) {
  const body = Hydra.OAuth2Client.constructFromObject({
    client_id: `beta-rp-${suffix}-${RUN}`,
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: 'openid offline_access',
  });
  const { data } = await sdk('createOAuth2Client', 201, (cb) => oauth2.createOAuth2Client(body, cb));
  return data;
}

async function flowAndSessions() {
  const client = await makeClient('flow');
  const subject = `beta-user-${RUN}`;
  const b = new Browser();
  const login = param(await b.redirect(authUrl(client.client_id, `beta-state-${RUN}`)), 'login_challenge');
  const { data: lr } = await sdk('getLoginRequest', 200, (cb) => oauth2.getLoginRequest(login, cb));
  assert.equal(lr.challenge, login);
  assert.equal(lr.client.client_id, client.client_id);
  assert.deepEqual(lr.requested_scope, ['openid', 'offline_access']);
  assert.equal(lr.skip, false);
  const accept = Hydra.AcceptLoginRequest.constructFromObject({ subject, remember: true, remember_for: 3600, acr: '1' });
  const { data: done } = await sdk('acceptLoginRequest', 200, (cb) => oauth2.acceptLoginRequest(login, { body: accept }, cb));
  const consent = param(await b.redirect(done.redirect_to), 'consent_challenge');
  const { data: cr } = await sdk('getConsentRequest', 200, (cb) => oauth2.getConsentRequest(consent, cb));
  assert.equal(cr.subject, subject);
  const grant = Hydra.AcceptConsentRequest.constructFromObject({
    grant_scope: cr.requested_scope,
    remember: true,
    session: { access_token: { tier: 'beta' }, id_token: { email: 'beta@example.com' } },
  });
  const { data: granted } = await sdk('acceptConsentRequest', 200, (cb) => oauth2.acceptConsentRequest(consent, { body: grant }, cb));
  const back = await b.redirect(granted.redirect_to, 303);
  assert.ok(back.startsWith(REDIRECT), back);
  const code = param(back, 'code');

  const t = await http('token', 'POST', '/oauth2/token', {
    basic: [client.client_id, client.client_secret],
    form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
  });
  assert.equal(t.status, 200, t.text);
  const at = t.json.access_token;
  const { data: intro } = await sdk('introspectOAuth2Token', 200, (cb) => oauth2.introspectOAuth2Token(at, { scope: 'openid' }, cb));
  assert.equal(intro.active, true);
  assert.equal(intro.sub, subject);
  assert.deepEqual(intro.ext, { tier: 'beta' });
  // `POST /userinfo`, as seed 000 has it, with the access token as the SDK's oauth2 credential.
  const bearer = apiClient();
  bearer.authentications.oauth2.accessToken = at;
  const { data: info } = await sdk('userinfo', 200, (cb) => new Hydra.OAuth2Api(bearer).userinfo(cb));
  assert.equal(info.sub, subject);
  assert.equal(info.email, 'beta@example.com');

  // Rejections reach the client (login, then consent).
  const other = new Browser();
  const login2 = param(await other.redirect(authUrl(client.client_id, `beta-state2-${RUN}`)), 'login_challenge');
  const reject = Hydra.RejectRequest.constructFromObject({ error: 'access_denied', error_description: 'no thanks' });
  const { data: rej } = await sdk('rejectLoginRequest', 200, (cb) => oauth2.rejectLoginRequest(login2, { body: reject }, cb));
  assert.equal(param(await other.redirect(rej.redirect_to, 303), 'error'), 'access_denied');
  const login3 = param(await b.redirect(authUrl(client.client_id, `beta-state3-${RUN}`, 'openid')), 'login_challenge');
  const { data: skipped } = await sdk('getLoginRequest', 200, (cb) => oauth2.getLoginRequest(login3, cb));
  assert.equal(skipped.skip, true, 'the remembered session skips the login');
  const { data: again } = await sdk('acceptLoginRequest', 200, (cb) =>
    oauth2.acceptLoginRequest(login3, { body: Hydra.AcceptLoginRequest.constructFromObject({ subject }) }, cb));
  const consent3 = await b.get(again.redirect_to);
  if (consent3.status === 302 && param(consent3.location, 'consent_challenge')) {
    const c3 = param(consent3.location, 'consent_challenge');
    const { data: rej3 } = await sdk('rejectConsentRequest', 200, (cb) => oauth2.rejectConsentRequest(c3, { body: reject }, cb));
    assert.equal(param(await b.redirect(rej3.redirect_to, 303), 'error'), 'access_denied');
  } else {
    throw new Error(`expected the consent app, got ${consent3.status} ${consent3.location}`);
  }

  // Sessions by user and client in the path.
  const { data: sessions } = await sdk('listUserConsentSessions', 200, (cb) => oauth2.listUserConsentSessions(subject, cb));
  assert.equal(sessions.length, 1);
  assert.deepEqual(sessions[0].grant_scope, ['openid', 'offline_access']);
  assert.equal(sessions[0].consent_request.client.client_id, client.client_id);
  await sdk('revokeUserClientConsentSessions', 204, (cb) => oauth2.revokeUserClientConsentSessions(subject, client.client_id, cb));
  const { data: none } = await sdk('listUserConsentSessions', 200, (cb) => oauth2.listUserConsentSessions(subject, cb));
  assert.equal(none.length, 0);
  const { data: after } = await sdk('introspectOAuth2Token', 200, (cb) => oauth2.introspectOAuth2Token(at, {}, cb));
  assert.equal(after.active, false, 'revoking the consent revokes its tokens');
  await sdk('revokeAllUserConsentSessions', 204, (cb) => oauth2.revokeAllUserConsentSessions(subject, cb));
  await sdk('revokeAuthenticationSession', 204, (cb) => oauth2.revokeAuthenticationSession(subject, cb));
  // The login session is gone: the next authorization asks again.
  const login4 = param(await b.redirect(authUrl(client.client_id, `beta-state4-${RUN}`)), 'login_challenge');
  const { data: fresh } = await sdk('getLoginRequest', 200, (cb) => oauth2.getLoginRequest(login4, cb));
  assert.equal(fresh.skip, false);
  // revokeUserLoginCookie: the browser is sent through the logout flow.
  const r = await b.get(`${BASE}/oauth2/auth/sessions/login/revoke`);
  assert.equal(r.status, 302);
  assert.equal(new URL(r.location).pathname, '/oauth2/sessions/logout');

  // flushInactiveOAuth2Tokens, with the SDK's Date.
  const flush = Hydra.FlushInactiveOAuth2TokensRequest.constructFromObject({ notAfter: new Date() });
  await sdk('flushInactiveOAuth2Tokens', 204, (cb) => oauth2.flushInactiveOAuth2Tokens({ body: flush }, cb));
  // revokeOAuth2Token with the client's credentials.
  const basicClient = apiClient();
  basicClient.authentications.basic.username = client.client_id;
  basicClient.authentications.basic.password = client.client_secret;
  await sdk('revokeOAuth2Token', 200, (cb) => new Hydra.OAuth2Api(basicClient).revokeOAuth2Token(t.json.refresh_token, cb));
  await sdk('deleteOAuth2Client', 204, (cb) => oauth2.deleteOAuth2Client(client.client_id, cb));
}

async function mixedForms() {
  const client = await makeClient('mixed');
  const b = new Browser();
  const login = param(await b.redirect(authUrl(client.client_id, `beta-mixed-${RUN}`)), 'login_challenge');
  // A challenge in the path and in the query at once: refused, nothing accepted.
  const both = await http('acceptLoginRequest (both forms)', 'PUT',
    `/oauth2/auth/requests/login/${login}/accept?login_challenge=${login}`, { token: TOKEN, body: { subject: 'x' } });
  assert.equal(both.status, 400, both.text);
  // A v1.0-beta body with a field of another generation (v26's `amr`): refused.
  const foreign = await http('acceptLoginRequest (foreign field)', 'PUT',
    `/oauth2/auth/requests/login/${login}/accept`, { token: TOKEN, body: { subject: 'x', amr: ['pwd'] } });
  assert.equal(foreign.status, 400, foreign.text);
  assert.match(foreign.json.error_description, /amr/);
  // The request is still open: the path form accepts it once.
  const { data } = await sdk('acceptLoginRequest', 200, (cb) =>
    oauth2.acceptLoginRequest(login, { body: Hydra.AcceptLoginRequest.constructFromObject({ subject: 'x' }) }, cb));
  assert.ok(data.redirect_to.includes('login_verifier='));
  await sdk('deleteOAuth2Client', 204, (cb) => oauth2.deleteOAuth2Client(client.client_id, cb));
}

await runSections('ory-hydra-sdk 1.0.0-beta.8', [
  ['metadata', metadata],
  ['clients', clients],
  ['keys', keys],
  ['flow and sessions', flowAndSessions],
  ['mixed forms', mixedForms],
]);
