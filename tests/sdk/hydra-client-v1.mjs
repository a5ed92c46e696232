// Ory's JavaScript SDK of Hydra v1.8 (npm `@oryd/hydra-client@1.8.5`, typescript-axios) run
// unchanged against hydra-edge: the v1.x admin API without the `/admin` prefix (clients with
// `limit`/`offset`, keys, login, consent and logout requests with the challenge in the query,
// consent and login sessions, introspection, token deletion, flush, version, health, metrics)
// and its public API (discovery, JWKS, token, userinfo, revocation), with a complete login +
// consent flow to tokens.
//
//   HYDRA_EDGE_URL=http://127.0.0.1:8787 HYDRA_EDGE_ADMIN_TOKEN=... node tests/sdk/hydra-client-v1.mjs
//
// Used by tests/sdk.rs.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { BASE, Browser, REDIRECT, RUN, TIMEOUT_MS, TOKEN, authUrl, http, param, record, runSections } from './harness.mjs';

const require = createRequire(import.meta.url);
const { AdminApi, Configuration, PublicApi } = require('@oryd/hydra-client');

// v1's OpenAPI document declares no security on admin operations: the admin token is a default
// header, as with the current SDK.
const config = (headers = {}) => new Configuration({ basePath: BASE, baseOptions: { headers, timeout: TIMEOUT_MS } });
const admin = new AdminApi(config({ Authorization: `Bearer ${TOKEN}` }));
const publicApi = new PublicApi(config());

/** Run one SDK operation and expect `status`; returns the axios response. */
async function sdk(op, status, promise) {
  let res;
  try {
    res = await promise;
  } catch (err) {
    const got = err?.response?.status;
    if (got) record(op, got);
    if (got === status) return err.response;
    throw new Error(`${op}: expected HTTP ${status}, got ${got ?? err} ${JSON.stringify(err?.response?.data ?? '')}`);
  }
  record(op, res.status);
  assert.equal(res.status, status, `${op}: HTTP status`);
  return res;
}

async function metadata() {
  const v = await sdk('getVersion', 200, admin.getVersion());
  assert.match(v.data.version, /^v/);
  const alive = await sdk('isInstanceAlive', 200, new AdminApi(config()).isInstanceAlive());
  assert.equal(alive.data.status, 'ok');
  const ready = await sdk('isInstanceReady', 200, publicApi.isInstanceReady());
  assert.equal(ready.data.status, 'ok');
  await sdk('getVersion', 401, new AdminApi(config()).getVersion());
  const m = await sdk('prometheus', 200, admin.prometheus());
  assert.match(m.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  assert.match(m.data, /^# HELP hydra_edge_http_requests_total/m);
  const wk = await sdk('discoverOpenIDConfiguration', 200, publicApi.discoverOpenIDConfiguration());
  assert.equal(wk.data.issuer, BASE);
  assert.equal(wk.data.end_session_endpoint, `${BASE}/oauth2/sessions/logout`);
  const jwks = await sdk('wellKnown', 200, publicApi.wellKnown());
  assert.ok(jwks.data.keys.length > 0);
}

async function clients() {
  const owner = `v1js-owner-${RUN}`;
  const ids = [];
  for (const i of [0, 1, 2]) {
    const r = await sdk('createOAuth2Client', 201, admin.createOAuth2Client({
      client_id: `v1js-${RUN}-${i}`,
      client_name: `v1 js ${i}`,
      owner,
      redirect_uris: [REDIRECT],
      scope: 'openid offline_access',
    }));
    assert.ok(r.data.client_secret);
    ids.push(r.data.client_id);
  }
  const got = await sdk('getOAuth2Client', 200, admin.getOAuth2Client(ids[0]));
  assert.equal(got.data.client_name, 'v1 js 0');
  await sdk('getOAuth2Client', 404, admin.getOAuth2Client(`v1js-missing-${RUN}`));
  // v1's pagination: limit/offset, X-Total-Count and a Link header with first/next/last.
  const page = await sdk('listOAuth2Clients', 200, admin.listOAuth2Clients(2, 0));
  assert.equal(page.data.length, 2);
  const total = Number(page.headers['x-total-count']);
  assert.ok(total >= 3, `X-Total-Count ${total}`);
  assert.match(page.headers.link, /rel="first"/);
  assert.match(page.headers.link, /limit=2&offset=2>; rel="next"/);
  const last = await sdk('listOAuth2Clients', 200, admin.listOAuth2Clients(2, total - 1));
  assert.equal(last.data.length, 1);
  assert.doesNotMatch(last.headers.link, /rel="next"/);
  const updated = await sdk('updateOAuth2Client', 200, admin.updateOAuth2Client(ids[1], { client_name: 'renamed', redirect_uris: [REDIRECT] }));
  assert.equal(updated.data.client_name, 'renamed');
  for (const id of ids) await sdk('deleteOAuth2Client', 204, admin.deleteOAuth2Client(id));
}

async function keys() {
  const set = `v1js-set-${RUN}`;
  const created = await sdk('createJsonWebKeySet', 201, admin.createJsonWebKeySet(set, { alg: 'ES256', kid: 'k1', use: 'sig' }));
  assert.equal(created.data.keys[0].kid, 'k1');
  const one = await sdk('getJsonWebKey', 200, admin.getJsonWebKey('k1', set));
  assert.equal(one.data.keys[0].use, 'sig');
  const whole = await sdk('getJsonWebKeySet', 200, admin.getJsonWebKeySet(set));
  const key2 = { ...whole.data.keys[0], kid: 'k2' };
  const put = await sdk('updateJsonWebKey', 200, admin.updateJsonWebKey('k2', set, key2));
  assert.equal(put.data.kid, 'k2');
  const replaced = await sdk('updateJsonWebKeySet', 200, admin.updateJsonWebKeySet(set, whole.data));
  assert.equal(replaced.data.keys.length, 1);
  await sdk('deleteJsonWebKey', 204, admin.deleteJsonWebKey('k1', set));
  await sdk('deleteJsonWebKeySet', 204, admin.deleteJsonWebKeySet(set));
  await sdk('getJsonWebKeySet', 404, admin.getJsonWebKeySet(set));
}

async function flowSessionsAndLogout() {
  const { data: client } = await sdk('createOAuth2Client', 201, admin.createOAuth2Client({
    client_id: `v1js-rp-${RUN}`,
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid offline_access',
  }));
  const subject = `v1js-user-${RUN}`;
  const b = new Browser();
  const login = param(await b.redirect(authUrl(client.client_id, `v1js-state-${RUN}`)), 'login_challenge');
  const lr = await sdk('getLoginRequest', 200, admin.getLoginRequest(login));
  assert.equal(lr.data.client.client_id, client.client_id);
  assert.deepEqual(lr.data.requested_access_token_audience, []);
  const accepted = await sdk('acceptLoginRequest', 200, admin.acceptLoginRequest(login, { subject, remember: true, remember_for: 3600 }));
  const consent = param(await b.redirect(accepted.data.redirect_to), 'consent_challenge');
  const cr = await sdk('getConsentRequest', 200, admin.getConsentRequest(consent));
  assert.equal(cr.data.subject, subject);
  const granted = await sdk('acceptConsentRequest', 200, admin.acceptConsentRequest(consent, {
    grant_scope: cr.data.requested_scope,
    remember: true,
    session: { access_token: { tier: 'v1' }, id_token: { email: 'v1js@example.com' } },
  }));
  const code = param(await b.redirect(granted.data.redirect_to, 303), 'code');

  const tokenApi = new PublicApi(new Configuration({ basePath: BASE, username: client.client_id, password: client.client_secret, baseOptions: { timeout: TIMEOUT_MS } }));
  const t = await sdk('oauth2Token', 200, tokenApi.oauth2Token('authorization_code', code, undefined, REDIRECT));
  const at = t.data.access_token;
  const intro = await sdk('introspectOAuth2Token', 200, admin.introspectOAuth2Token(at, 'openid'));
  assert.equal(intro.data.active, true);
  assert.deepEqual(intro.data.ext, { tier: 'v1' });
  const info = await sdk('userinfo', 200, new PublicApi(new Configuration({ basePath: BASE, accessToken: at })).userinfo());
  assert.equal(info.data.email, 'v1js@example.com');
  const refreshed = await sdk('oauth2Token', 200, tokenApi.oauth2Token('refresh_token', undefined, t.data.refresh_token));
  await sdk('revokeOAuth2Token', 200, tokenApi.revokeOAuth2Token(refreshed.data.refresh_token));

  const sessions = await sdk('listSubjectConsentSessions', 200, admin.listSubjectConsentSessions(subject));
  assert.equal(sessions.data.length, 1);
  assert.equal(sessions.headers['x-total-count'], '1');
  assert.equal(sessions.data[0].consent_request.client.client_id, client.client_id);

  // Rejections.
  const other = new Browser();
  const login2 = param(await other.redirect(authUrl(client.client_id, `v1js-state2-${RUN}`)), 'login_challenge');
  const rej = await sdk('rejectLoginRequest', 200, admin.rejectLoginRequest(login2, { error: 'access_denied', error_description: 'no' }));
  assert.equal(param(await other.redirect(rej.data.redirect_to, 303), 'error'), 'access_denied');
  const login3 = param(await b.redirect(authUrl(client.client_id, `v1js-state3-${RUN}`, 'openid')), 'login_challenge');
  const again = await sdk('acceptLoginRequest', 200, admin.acceptLoginRequest(login3, { subject }));
  const consent3 = param(await b.redirect(again.data.redirect_to), 'consent_challenge');
  const rej3 = await sdk('rejectConsentRequest', 200, admin.rejectConsentRequest(consent3, { error: 'access_denied' }));
  assert.equal(param(await b.redirect(rej3.data.redirect_to, 303), 'error'), 'access_denied');

  // Logout, rejected once, then accepted.
  const logout = param(await b.redirect(`${BASE}/oauth2/sessions/logout`), 'logout_challenge');
  const lo = await sdk('getLogoutRequest', 200, admin.getLogoutRequest(logout));
  assert.equal(lo.data.subject, subject);
  await sdk('rejectLogoutRequest', 204, admin.rejectLogoutRequest(logout, {}));
  const logout2 = param(await b.redirect(`${BASE}/oauth2/sessions/logout`), 'logout_challenge');
  const done = await sdk('acceptLogoutRequest', 200, admin.acceptLogoutRequest(logout2));
  await b.redirect(done.data.redirect_to);

  await sdk('revokeConsentSessions', 204, admin.revokeConsentSessions(subject, client.client_id));
  const gone = await sdk('introspectOAuth2Token', 200, admin.introspectOAuth2Token(at));
  assert.equal(gone.data.active, false);
  await sdk('revokeConsentSessions', 204, admin.revokeConsentSessions(subject, undefined, true));
  await sdk('revokeAuthenticationSession', 204, admin.revokeAuthenticationSession(subject));
  await sdk('deleteOAuth2Token', 204, admin.deleteOAuth2Token(client.client_id));
  await sdk('flushInactiveOAuth2Tokens', 204, admin.flushInactiveOAuth2Tokens({ notAfter: new Date().toISOString() }));
  await sdk('deleteOAuth2Client', 204, admin.deleteOAuth2Client(client.client_id));
}

async function mixedPagination() {
  // limit/offset and page_token at once: a clear 400, not a guess.
  const r = await http('listOAuth2Clients (both paginations)', 'GET', '/clients?limit=1&page_token=x', { token: TOKEN });
  assert.equal(r.status, 400, r.text);
}

await runSections('@oryd/hydra-client 1.8.5', [
  ['metadata', metadata],
  ['clients', clients],
  ['keys', keys],
  ['flow, sessions and logout', flowSessionsAndLogout],
  ['mixed pagination', mixedPagination],
]);
