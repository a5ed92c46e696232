// An example login & consent app for hydra-edge (or ORY Hydra): node:http and Ory's official
// SDK, nothing else. See README.md next to this file.
//
//   HYDRA_ADMIN_TOKEN=local-admin-token-for-development-only node examples/login-consent/server.mjs
//
// Demo rules: any username with the password "password" logs in. Not for production: there is
// no user database, and the demo client's secret comes from the environment.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { Configuration, OAuth2Api } from '@ory/hydra-client';

// ---------------------------------------------------------------------------------------------
// Configuration

const PORT = Number(process.env.PORT || 3000);
const HOST = process.env.HOST || '127.0.0.1';
const HYDRA_ADMIN_URL = trimSlash(process.env.HYDRA_ADMIN_URL || 'http://127.0.0.1:8787');
// hydra-edge serves the public and the admin API from one origin; Hydra uses two ports.
const HYDRA_PUBLIC_URL = trimSlash(process.env.HYDRA_PUBLIC_URL || HYDRA_ADMIN_URL);
const HYDRA_ADMIN_TOKEN = process.env.HYDRA_ADMIN_TOKEN || '';
// Where browsers reach this app; the demo client's redirect URI is `${APP_URL}/callback`.
const APP_URL = trimSlash(process.env.APP_URL || `http://127.0.0.1:${PORT}`);
const DEMO_CLIENT_ID = 'example-app';
const DEMO_CLIENT_SECRET = process.env.EXAMPLE_CLIENT_SECRET || 'example-app-secret';
const DEMO_SCOPE = 'openid offline_access profile email';
// Signs the CSRF tokens of this app's forms. Random per process unless set: a restart only
// invalidates forms that are open at that moment.
const CSRF_SECRET = process.env.CSRF_SECRET || randomBytes(32).toString('hex');
const REMEMBER_FOR = 3600; // seconds a remembered login or consent lasts
// Logout notifications for the demo client: front-channel defaults to this app's own page;
// back-channel is off unless set (a relying party that ends its own sessions listens there).
const FRONTCHANNEL_LOGOUT_URI = process.env.EXAMPLE_FRONTCHANNEL_LOGOUT_URI || `${APP_URL}/frontchannel-logout`;
const BACKCHANNEL_LOGOUT_URI = process.env.EXAMPLE_BACKCHANNEL_LOGOUT_URI || '';
const SECURE_COOKIES = APP_URL.startsWith('https://');

if (!HYDRA_ADMIN_TOKEN) {
  console.error('HYDRA_ADMIN_TOKEN is not set: it must be the Worker\'s ADMIN_API_TOKEN (see README.md).');
  process.exit(2);
}

function trimSlash(url) {
  return url.replace(/\/+$/, '');
}

// The admin API requires `Authorization: Bearer <ADMIN_API_TOKEN>` (Hydra itself has no admin
// authentication). The SDK's `accessToken` option is not applied to admin operations, because
// Hydra's OpenAPI document declares no security for them, so the header goes in as a default.
const hydra = new OAuth2Api(new Configuration({
  basePath: HYDRA_ADMIN_URL,
  baseOptions: { headers: { Authorization: `Bearer ${HYDRA_ADMIN_TOKEN}` }, timeout: 15_000 },
}));

// ---------------------------------------------------------------------------------------------
// HTML

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);

function page(title, body) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; } label { display: block; margin: .6rem 0; }
  input[type=text], input[type=password] { width: 100%; padding: .4rem; box-sizing: border-box; }
  button { padding: .4rem 1rem; margin-right: .5rem; } .error { color: #b00020; }
  pre { background: #f4f4f4; padding: .8rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
  code { background: #f4f4f4; padding: 0 .2rem; } .muted { color: #666; font-size: .9rem; }
</style></head>
<body><h1>${esc(title)}</h1>
${body}
</body></html>`;
}

function send(res, status, html, headers = {}) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // No scripts, no framing (a consent page must not be clickjackable), no referrer (URLs
    // carry challenges and codes). No form-action: browsers apply it to the redirects after a
    // POST, which end at arbitrary client redirect URIs.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    ...headers,
  });
  res.end(html);
}

function redirect(res, location, status = 302, headers = {}) {
  res.writeHead(status, { location, 'cache-control': 'no-store', ...headers });
  res.end();
}

function errorPage(res, status, title, message) {
  send(res, status, page(title, `<p class="error">${esc(message)}</p><p><a href="/">Back to the start page</a></p>`));
}

// ---------------------------------------------------------------------------------------------
// CSRF protection for this app's own forms.
//
// A browser gets a random `example_csrf` cookie (HttpOnly, SameSite=Lax); every form carries
// HMAC(secret, purpose | challenge | cookie). A forged cross-site POST has neither the cookie
// (SameSite) nor a token for it, and a token lifted from one page is useless for another
// challenge or another browser.

// Cookies are scoped by host, not port: on 127.0.0.1 this app shares the jar with the Worker
// (and anything else local), hence the prefixed names.
const CSRF_COOKIE = 'example_csrf';
const STATE_COOKIE = 'example_state';
// Who signed in through the demo client (signed): the grants page and "sign out" use it.
const USER_COOKIE = 'example_user';

function parseCookies(req) {
  const out = {};
  for (const part of (req.headers.cookie || '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    try {
      out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // A malformed cookie of someone else's on this host: ignore it.
    }
  }
  return out;
}

function cookie(name, value, maxAge) {
  return `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${SECURE_COOKIES ? '; Secure' : ''}`;
}

/** The browser's CSRF cookie value, and a Set-Cookie header when it has none yet. */
function csrfCookie(req) {
  const existing = parseCookies(req)[CSRF_COOKIE];
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return { value: existing, header: {} };
  const value = randomBytes(32).toString('base64url');
  return { value, header: { 'set-cookie': cookie(CSRF_COOKIE, value, 3600) } };
}

function csrfToken(purpose, challenge, cookieValue) {
  return createHmac('sha256', CSRF_SECRET).update(`${purpose}|${challenge}|${cookieValue}`).digest('base64url');
}

function csrfValid(req, purpose, challenge, token) {
  const cookieValue = parseCookies(req)[CSRF_COOKIE];
  if (!cookieValue || typeof token !== 'string') return false;
  const expected = Buffer.from(csrfToken(purpose, challenge, cookieValue));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The demo client's signed-in user: `{ sub, id_token }` from a signed cookie, or null. */
function currentUser(req) {
  const raw = parseCookies(req)[USER_COOKIE] || '';
  const dot = raw.lastIndexOf('.');
  if (dot <= 0) return null;
  const payload = raw.slice(0, dot);
  const expected = Buffer.from(createHmac('sha256', CSRF_SECRET).update(`user|${payload}`).digest('base64url'));
  const given = Buffer.from(raw.slice(dot + 1));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

function userCookie(user) {
  const payload = Buffer.from(JSON.stringify(user)).toString('base64url');
  const mac = createHmac('sha256', CSRF_SECRET).update(`user|${payload}`).digest('base64url');
  return cookie(USER_COOKIE, `${payload}.${mac}`, REMEMBER_FOR);
}

// ---------------------------------------------------------------------------------------------
// Requests

async function readForm(req) {
  const type = (req.headers['content-type'] || '').split(';')[0].trim();
  if (type !== 'application/x-www-form-urlencoded') throw httpError(415, 'Expected a form submission.');
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw httpError(413, 'The form is too large.');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function httpError(status, message) {
  return Object.assign(new Error(message), { status });
}

/**
 * Turn an SDK failure into a response. A handled (410) or unknown (404) challenge is normal
 * when a user goes back or reloads: Hydra answers 410 with the URL that restarts the flow.
 */
function sdkFailure(res, err, what) {
  const status = err?.response?.status;
  const body = err?.response?.data;
  if (status === 410 && body?.redirect_to) return redirect(res, body.redirect_to);
  if (status === 404) return errorPage(res, 404, 'Request not found', `This ${what} request is unknown or has expired. Start again from the application.`);
  if (status === 400) return errorPage(res, 400, 'Invalid request', body?.error_description || body?.message || `The ${what} request is invalid.`);
  console.error(`hydra admin API error (${what}):`, status ?? '', body ?? err?.message);
  return errorPage(res, 502, 'Authorization server error', `The authorization server could not handle the ${what} request${status ? ` (HTTP ${status})` : ''}.`);
}

// ---------------------------------------------------------------------------------------------
// Login

function loginForm(res, csrf, req, { error = '', username = '', status = 200 } = {}) {
  const client = req.client || {};
  const hint = username || req.oidc_context?.login_hint || '';
  const html = page('Sign in', `
<p><strong>${esc(client.client_name || client.client_id)}</strong> wants you to sign in.</p>
${error ? `<p class="error">${esc(error)}</p>` : ''}
<form method="post" action="/login">
  <input type="hidden" name="challenge" value="${esc(req.challenge)}">
  <input type="hidden" name="csrf" value="${esc(csrfToken('login', req.challenge, csrf.value))}">
  <label>Username <input type="text" name="username" value="${esc(hint)}" autocomplete="username" required maxlength="64" autofocus></label>
  <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
  <label><input type="checkbox" name="remember" value="1"> Remember me for ${REMEMBER_FOR / 60} minutes</label>
  <button type="submit" name="action" value="login">Sign in</button>
  <button type="submit" name="action" value="deny" formnovalidate>Deny</button>
</form>
<p class="muted">Demo: any username, password <code>password</code>.</p>`);
  send(res, status, html, csrf.header);
}

async function getLogin(req, res, url) {
  const challenge = url.searchParams.get('login_challenge');
  if (!challenge) return errorPage(res, 400, 'Missing challenge', 'Expected a login_challenge parameter: this page is reached through the authorization server.');
  let loginReq;
  try {
    ({ data: loginReq } = await hydra.getOAuth2LoginRequest({ loginChallenge: challenge }));
  } catch (err) {
    return sdkFailure(res, err, 'login');
  }
  // The user is already authenticated at the server (remembered session): no form, and the
  // subject must stay the one the server remembers.
  if (loginReq.skip) {
    try {
      const { data } = await hydra.acceptOAuth2LoginRequest({ loginChallenge: challenge, acceptOAuth2LoginRequest: { subject: loginReq.subject } });
      return redirect(res, data.redirect_to);
    } catch (err) {
      return sdkFailure(res, err, 'login');
    }
  }
  loginForm(res, csrfCookie(req), loginReq);
}

async function postLogin(req, res) {
  const form = await readForm(req);
  const challenge = form.get('challenge') || '';
  if (!challenge || !csrfValid(req, 'login', challenge, form.get('csrf'))) {
    return errorPage(res, 403, 'Invalid form', 'The form expired or was not sent from this site. Go back and try again.');
  }
  try {
    if (form.get('action') === 'deny') {
      const { data } = await hydra.rejectOAuth2LoginRequest({
        loginChallenge: challenge,
        rejectOAuth2Request: { error: 'access_denied', error_description: 'The resource owner denied the request' },
      });
      return redirect(res, data.redirect_to, 303);
    }
    const username = (form.get('username') || '').trim();
    if (!username || username.length > 64 || form.get('password') !== 'password') {
      const { data: loginReq } = await hydra.getOAuth2LoginRequest({ loginChallenge: challenge });
      return loginForm(res, csrfCookie(req), loginReq, { error: 'Wrong username or password.', username, status: 401 });
    }
    const remember = form.get('remember') === '1';
    const { data } = await hydra.acceptOAuth2LoginRequest({
      loginChallenge: challenge,
      acceptOAuth2LoginRequest: { subject: username, remember, remember_for: remember ? REMEMBER_FOR : 0, amr: ['pwd'] },
    });
    return redirect(res, data.redirect_to, 303);
  } catch (err) {
    return sdkFailure(res, err, 'login');
  }
}

// ---------------------------------------------------------------------------------------------
// Consent

const SCOPE_TEXT = {
  openid: 'Sign you in (your user id)',
  offline_access: 'Stay signed in (a refresh token)',
  offline: 'Stay signed in (a refresh token)',
  profile: 'Your name',
  email: 'Your email address',
};

/** Demo claims for the ID token, from the granted scopes. A real app reads its user store. */
function idTokenClaims(subject, scopes) {
  const claims = {};
  if (scopes.includes('profile')) claims.name = subject;
  if (scopes.includes('email')) {
    claims.email = subject.includes('@') ? subject : `${subject}@example.com`;
    claims.email_verified = false;
  }
  return claims;
}

async function acceptConsent(challenge, consentReq, scopes, remember) {
  const { data } = await hydra.acceptOAuth2ConsentRequest({
    consentChallenge: challenge,
    acceptOAuth2ConsentRequest: {
      grant_scope: scopes,
      grant_access_token_audience: consentReq.requested_access_token_audience || [],
      remember,
      remember_for: remember ? REMEMBER_FOR : 0,
      session: { id_token: idTokenClaims(consentReq.subject || '', scopes) },
    },
  });
  return data.redirect_to;
}

async function getConsent(req, res, url) {
  const challenge = url.searchParams.get('consent_challenge');
  if (!challenge) return errorPage(res, 400, 'Missing challenge', 'Expected a consent_challenge parameter: this page is reached through the authorization server.');
  let consentReq;
  try {
    ({ data: consentReq } = await hydra.getOAuth2ConsentRequest({ consentChallenge: challenge }));
  } catch (err) {
    return sdkFailure(res, err, 'consent');
  }
  const requested = consentReq.requested_scope || [];
  // Consent given before for these scopes (skip), or a first-party client that is configured
  // to need none (skip_consent): grant what was asked for, without a page.
  if (consentReq.skip || consentReq.client?.skip_consent) {
    try {
      return redirect(res, await acceptConsent(challenge, consentReq, requested, false));
    } catch (err) {
      return sdkFailure(res, err, 'consent');
    }
  }
  const csrf = csrfCookie(req);
  const client = consentReq.client || {};
  const boxes = requested.map((scope) => `
  <label><input type="checkbox" name="grant_scope" value="${esc(scope)}" checked> <code>${esc(scope)}</code>
    <span class="muted">${esc(SCOPE_TEXT[scope] || '')}</span></label>`).join('');
  const audience = (consentReq.requested_access_token_audience || []).map(esc).join(', ');
  send(res, 200, page('Allow access?', `
<p>Hi <strong>${esc(consentReq.subject)}</strong>, <strong>${esc(client.client_name || client.client_id)}</strong> asks for:</p>
<form method="post" action="/consent">
  <input type="hidden" name="challenge" value="${esc(challenge)}">
  <input type="hidden" name="csrf" value="${esc(csrfToken('consent', challenge, csrf.value))}">
  ${boxes || '<p class="muted">No scopes.</p>'}
  ${audience ? `<p class="muted">For use at: ${audience}</p>` : ''}
  <label><input type="checkbox" name="remember" value="1"> Remember this decision for ${REMEMBER_FOR / 60} minutes</label>
  <button type="submit" name="action" value="allow">Allow</button>
  <button type="submit" name="action" value="deny">Deny</button>
</form>`), csrf.header);
}

async function postConsent(req, res) {
  const form = await readForm(req);
  const challenge = form.get('challenge') || '';
  if (!challenge || !csrfValid(req, 'consent', challenge, form.get('csrf'))) {
    return errorPage(res, 403, 'Invalid form', 'The form expired or was not sent from this site. Go back and try again.');
  }
  try {
    if (form.get('action') !== 'allow') {
      const { data } = await hydra.rejectOAuth2ConsentRequest({
        consentChallenge: challenge,
        rejectOAuth2Request: { error: 'access_denied', error_description: 'The resource owner denied the request' },
      });
      return redirect(res, data.redirect_to, 303);
    }
    // Only scopes that were requested can be granted, whatever the form says.
    const { data: consentReq } = await hydra.getOAuth2ConsentRequest({ consentChallenge: challenge });
    const requested = new Set(consentReq.requested_scope || []);
    const scopes = [...new Set(form.getAll('grant_scope'))].filter((s) => requested.has(s));
    return redirect(res, await acceptConsent(challenge, consentReq, scopes, form.get('remember') === '1'), 303);
  } catch (err) {
    return sdkFailure(res, err, 'consent');
  }
}

// ---------------------------------------------------------------------------------------------
// Logout: the server sends the browser here with a logout_challenge (URLS_LOGOUT).

async function getLogout(req, res, url) {
  const challenge = url.searchParams.get('logout_challenge');
  if (!challenge) return errorPage(res, 400, 'Missing challenge', 'Expected a logout_challenge parameter: this page is reached through the authorization server.');
  let logoutReq;
  try {
    ({ data: logoutReq } = await hydra.getOAuth2LogoutRequest({ logoutChallenge: challenge }));
  } catch (err) {
    return sdkFailure(res, err, 'logout');
  }
  const csrf = csrfCookie(req);
  const who = logoutReq.client ? `<strong>${esc(logoutReq.client.client_name || logoutReq.client.client_id)}</strong> asks to sign you out.` : 'You asked to sign out.';
  send(res, 200, page('Sign out?', `
<p>${who} Signing out ends your session <strong>${esc(logoutReq.subject)}</strong> at every application that used it.</p>
<form method="post" action="/logout">
  <input type="hidden" name="challenge" value="${esc(challenge)}">
  <input type="hidden" name="csrf" value="${esc(csrfToken('logout', challenge, csrf.value))}">
  <button type="submit" name="action" value="accept">Yes, sign me out</button>
  <button type="submit" name="action" value="reject">No, stay signed in</button>
</form>`), csrf.header);
}

async function postLogout(req, res) {
  const form = await readForm(req);
  const challenge = form.get('challenge') || '';
  if (!challenge || !csrfValid(req, 'logout', challenge, form.get('csrf'))) {
    return errorPage(res, 403, 'Invalid form', 'The form expired or was not sent from this site. Go back and try again.');
  }
  try {
    if (form.get('action') === 'accept') {
      const { data } = await hydra.acceptOAuth2LogoutRequest({ logoutChallenge: challenge });
      // The demo client forgets its user too.
      return redirect(res, data.redirect_to, 303, { 'set-cookie': cookie(USER_COOKIE, '', 0) });
    }
    // Rejected: the server answers 204 and the user stays signed in; where to go is ours to say.
    await hydra.rejectOAuth2LogoutRequest({ logoutChallenge: challenge });
    return send(res, 200, page('Still signed in', '<p>You stayed signed in.</p><p><a href="/">Back to the start page</a></p>'));
  } catch (err) {
    return sdkFailure(res, err, 'logout');
  }
}

function loggedOut(req, res, url) {
  const state = url.searchParams.get('state');
  send(res, 200, page('Signed out', `
<p>You are signed out.</p>${state ? `<p class="muted">state: <code>${esc(state)}</code></p>` : ''}
<p><a href="/">Back to the start page</a></p>`), { 'set-cookie': cookie(USER_COOKIE, '', 0) });
}

/** The demo client's front-channel logout page (loaded in an invisible iframe at logout). */
function frontchannelLogout(req, res, url) {
  // A real client ends its own session for `sid` here. Framing by the authorization server is
  // what this page is for, so it allows exactly that origin.
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; frame-ancestors ${new URL(HYDRA_PUBLIC_URL).origin}`,
    'set-cookie': cookie(USER_COOKIE, '', 0),
  });
  res.end(`<!doctype html><title>signed out</title><p>Signed out of session ${esc(url.searchParams.get('sid'))}.</p>`);
}

// ---------------------------------------------------------------------------------------------
// Device verification: the server sends the browser here with a device_challenge
// (URLS_DEVICE_VERIFICATION); the user types the code the device shows.

function deviceForm(res, csrf, challenge, { userCode = '', error = '', status = 200 } = {}) {
  send(res, status, page('Connect a device', `
<p>Enter the code shown on your device.</p>
${error ? `<p class="error">${esc(error)}</p>` : ''}
<form method="post" action="/device">
  <input type="hidden" name="challenge" value="${esc(challenge)}">
  <input type="hidden" name="csrf" value="${esc(csrfToken('device', challenge, csrf.value))}">
  <label>Code <input type="text" name="user_code" value="${esc(userCode)}" autocomplete="one-time-code" required maxlength="32" autofocus></label>
  <button type="submit">Continue</button>
</form>`), csrf.header);
}

function getDevice(req, res, url) {
  const challenge = url.searchParams.get('device_challenge');
  if (!challenge) return errorPage(res, 400, 'Missing challenge', 'Open the address your device shows: this page is reached through the authorization server.');
  deviceForm(res, csrfCookie(req), challenge, { userCode: url.searchParams.get('user_code') || '' });
}

async function postDevice(req, res) {
  const form = await readForm(req);
  const challenge = form.get('challenge') || '';
  if (!challenge || !csrfValid(req, 'device', challenge, form.get('csrf'))) {
    return errorPage(res, 403, 'Invalid form', 'The form expired or was not sent from this site. Go back and try again.');
  }
  const userCode = (form.get('user_code') || '').trim();
  try {
    const { data } = await hydra.acceptUserCodeRequest({ deviceChallenge: challenge, acceptDeviceUserCodeRequest: { user_code: userCode } });
    return redirect(res, data.redirect_to, 303);
  } catch (err) {
    if (err?.response?.status === 400) {
      const why = err.response.data?.error_description || 'That code is not valid.';
      return deviceForm(res, csrfCookie(req), challenge, { userCode, error: why.includes('Too many') ? why : 'That code is not valid or has expired. Check your device and try again.', status: 400 });
    }
    return sdkFailure(res, err, 'device');
  }
}

function deviceDone(req, res) {
  send(res, 200, page('Device connected', '<p>Your device is signed in. You can close this window and go back to it.</p>'));
}

// ---------------------------------------------------------------------------------------------
// "Your grants": the consent sessions of the signed-in user, each revocable.

async function grants(req, res) {
  const user = currentUser(req);
  if (!user) return errorPage(res, 401, 'Not signed in', 'Sign in through the demo flow first.');
  let sessions;
  try {
    ({ data: sessions } = await hydra.listOAuth2ConsentSessions({ subject: user.sub, pageSize: 100 }));
  } catch (err) {
    return sdkFailure(res, err, 'consent session');
  }
  const csrf = csrfCookie(req);
  const token = esc(csrfToken('grants', user.sub, csrf.value));
  const rows = (sessions || []).map((s) => {
    const client = s.consent_request?.client || {};
    return `<tr><td>${esc(client.client_name || client.client_id)}</td><td><code>${esc((s.grant_scope || []).join(' '))}</code></td>
<td class="muted">${esc(s.handled_at)}</td>
<td><form method="post" action="/grants/revoke"><input type="hidden" name="csrf" value="${token}">
<input type="hidden" name="client" value="${esc(client.client_id)}"><button type="submit">Revoke</button></form></td></tr>`;
  }).join('');
  send(res, 200, page('Your grants', `
<p>Applications <strong>${esc(user.sub)}</strong> has allowed to act on their behalf. Revoking one ends its
access at once (its tokens stop working) and it asks again next time.</p>
${rows ? `<table><tr><th>Application</th><th>Scopes</th><th>Granted</th><th></th></tr>${rows}</table>` : '<p class="muted">No grants.</p>'}
<p><a href="/">Back to the start page</a></p>`), csrf.header);
}

async function revokeGrant(req, res) {
  const user = currentUser(req);
  const form = await readForm(req);
  if (!user || !csrfValid(req, 'grants', user.sub, form.get('csrf'))) {
    return errorPage(res, 403, 'Invalid form', 'The form expired or was not sent from this site. Go back and try again.');
  }
  const client = form.get('client') || '';
  if (!client) return errorPage(res, 400, 'Bad request', 'No application named.');
  try {
    // Only the signed-in user's own grants: subject and client, never a bare consent id.
    await hydra.revokeOAuth2ConsentSessions({ subject: user.sub, client });
  } catch (err) {
    return sdkFailure(res, err, 'consent session');
  }
  return redirect(res, '/grants', 303);
}

// ---------------------------------------------------------------------------------------------
// The demo client: a start page that begins a flow, and /callback that redeems the code.

let demoClient = { ready: false, problem: 'not checked yet' };

/** Create `example-app` if it is missing; otherwise make sure it has our callback and secret. */
async function ensureDemoClient() {
  const callback = `${APP_URL}/callback`;
  try {
    const { data: existing } = await hydra.getOAuth2Client({ id: DEMO_CLIENT_ID });
    // The secret is only shown at creation: set ours again, so a restart with another
    // EXAMPLE_CLIENT_SECRET (or a client made elsewhere) still works.
    const patch = [{ op: 'replace', path: '/client_secret', value: DEMO_CLIENT_SECRET }, ...logoutSettings()];
    const uris = existing.redirect_uris || [];
    if (!uris.includes(callback)) patch.push({ op: 'add', path: '/redirect_uris', value: [...uris, callback] });
    await hydra.patchOAuth2Client({ id: DEMO_CLIENT_ID, jsonPatch: patch });
    return 'updated';
  } catch (err) {
    if (err?.response?.status !== 404) throw err;
  }
  await hydra.createOAuth2Client({
    oAuth2Client: {
      client_id: DEMO_CLIENT_ID,
      client_name: 'hydra-edge example app',
      client_secret: DEMO_CLIENT_SECRET,
      redirect_uris: [callback],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: DEMO_SCOPE,
      token_endpoint_auth_method: 'client_secret_basic',
      post_logout_redirect_uris: [`${APP_URL}/logged-out`],
      frontchannel_logout_uri: FRONTCHANNEL_LOGOUT_URI,
      ...(BACKCHANNEL_LOGOUT_URI ? { backchannel_logout_uri: BACKCHANNEL_LOGOUT_URI } : {}),
    },
  });
  return 'created';
}

/** JSON Patch operations that set the demo client's logout URIs. */
function logoutSettings() {
  const ops = [
    { op: 'add', path: '/post_logout_redirect_uris', value: [`${APP_URL}/logged-out`] },
    { op: 'add', path: '/frontchannel_logout_uri', value: FRONTCHANNEL_LOGOUT_URI },
  ];
  if (BACKCHANNEL_LOGOUT_URI) ops.push({ op: 'add', path: '/backchannel_logout_uri', value: BACKCHANNEL_LOGOUT_URI });
  return ops;
}

/** `make dev` may start this app before the Worker listens: retry for a while. */
async function ensureDemoClientWithRetries() {
  for (let attempt = 1; ; attempt++) {
    try {
      const what = await ensureDemoClient();
      demoClient = { ready: true, problem: '' };
      console.log(`demo client ${DEMO_CLIENT_ID} ${what} at ${HYDRA_ADMIN_URL}`);
      return;
    } catch (err) {
      const status = err?.response?.status;
      demoClient = { ready: false, problem: status ? `HTTP ${status}: ${JSON.stringify(err.response.data)}` : err.message };
      if (status === 401) {
        console.error(`the admin API refused HYDRA_ADMIN_TOKEN: it must equal the Worker's ADMIN_API_TOKEN`);
        return;
      }
      if (attempt === 1 || attempt % 10 === 0) console.log(`waiting for ${HYDRA_ADMIN_URL} (${demoClient.problem})`);
      await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 3000)));
    }
  }
}

// Pending demo flows, by `state`: the PKCE verifier and nonce (in memory; ten minutes).
const pending = new Map();
const PENDING_TTL_MS = 10 * 60 * 1000;

function rememberFlow(flow) {
  const now = Date.now();
  for (const [state, f] of pending) if (now - f.created > PENDING_TTL_MS) pending.delete(state);
  if (pending.size >= 1000) pending.delete(pending.keys().next().value);
  pending.set(flow.state, { ...flow, created: now });
}

function home(req, res) {
  if (!demoClient.ready) {
    return send(res, 503, page('hydra-edge example', `
<p>The demo client is not ready yet: <code>${esc(demoClient.problem)}</code></p>
<p>Is hydra-edge running at <code>${esc(HYDRA_ADMIN_URL)}</code>? Reload this page in a moment.</p>`), { refresh: '3' });
  }
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const verifier = randomBytes(32).toString('base64url');
  rememberFlow({ state, nonce, verifier });
  const auth = new URL(`${HYDRA_PUBLIC_URL}/oauth2/auth`);
  auth.search = new URLSearchParams({
    client_id: DEMO_CLIENT_ID,
    response_type: 'code',
    redirect_uri: `${APP_URL}/callback`,
    scope: DEMO_SCOPE,
    state,
    nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  // The state cookie binds the flow to this browser: /callback accepts only its own state.
  send(res, 200, page('hydra-edge example', `
<p>This app is both the login &amp; consent app of hydra-edge and a small OAuth 2.0 client
(<code>${esc(DEMO_CLIENT_ID)}</code>) to try it with.</p>
<p><a href="${esc(auth.href)}" id="start"><strong>Start a demo flow &rarr;</strong></a></p>
${currentUser(req) ? `<p>Signed in as <strong>${esc(currentUser(req).sub)}</strong>: <a href="/grants">your grants</a> &middot; <a href="${esc(logoutHref(currentUser(req)))}">sign out</a></p>` : ''}
<p class="muted">Sign in with any username and the password <code>password</code>. The flow goes
${esc(HYDRA_PUBLIC_URL)}/oauth2/auth &rarr; /login &rarr; /consent &rarr; /callback, which exchanges the code for tokens.</p>`),
  { 'set-cookie': cookie(STATE_COOKIE, state, PENDING_TTL_MS / 1000) });
}

/** RP-initiated logout of the demo client (OpenID Connect RP-Initiated Logout 1.0). */
function logoutHref(user) {
  const u = new URL(`${HYDRA_PUBLIC_URL}/oauth2/sessions/logout`);
  u.search = new URLSearchParams({
    id_token_hint: user.id_token,
    post_logout_redirect_uri: `${APP_URL}/logged-out`,
    state: randomBytes(12).toString('base64url'),
  }).toString();
  return u.href;
}

async function callback(req, res, url) {
  const state = url.searchParams.get('state') || '';
  const flow = pending.get(state);
  if (!state || parseCookies(req)[STATE_COOKIE] !== state || !flow) {
    return errorPage(res, 400, 'Unknown state', 'This callback does not belong to a flow started in this browser (or it expired). Start again.');
  }
  pending.delete(state);
  const clear = { 'set-cookie': cookie(STATE_COOKIE, '', 0) };
  const error = url.searchParams.get('error');
  if (error) {
    return send(res, 200, page('The flow ended with an error', `
<p class="error"><code>${esc(error)}</code>: ${esc(url.searchParams.get('error_description'))}</p>
<p><a href="/">Try again</a></p>`), clear);
  }
  const code = url.searchParams.get('code') || '';
  // The token endpoint is not an admin call: a plain POST with client_secret_basic and the
  // PKCE verifier (RFC 6749 §2.3.1: id and secret are form-urlencoded before base64).
  const basic = Buffer.from(`${encodeURIComponent(DEMO_CLIENT_ID)}:${encodeURIComponent(DEMO_CLIENT_SECRET)}`).toString('base64');
  let status;
  let tokens;
  try {
    const r = await fetch(`${HYDRA_PUBLIC_URL}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${APP_URL}/callback`, code_verifier: flow.verifier }),
      signal: AbortSignal.timeout(15_000),
    });
    status = r.status;
    tokens = await r.json();
  } catch (err) {
    return errorPage(res, 502, 'Token request failed', err.message);
  }
  if (status !== 200) {
    return send(res, 200, page('The code exchange failed', `
<p class="error">HTTP ${esc(status)}: <code>${esc(tokens.error)}</code> ${esc(tokens.error_description)}</p>
<p><a href="/">Try again</a></p>`), clear);
  }
  let claims = null;
  try {
    claims = tokens.id_token ? JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString('utf8')) : null;
  } catch {
    claims = null;
  }
  const nonceOk = claims ? claims.nonce === flow.nonce : false;
  const user = claims?.sub ? { sub: claims.sub, id_token: tokens.id_token } : null;
  send(res, 200, page('Signed in', `
<p>The authorization code <code>${esc(code)}</code> was exchanged for tokens.</p>
<h2>Token response</h2>
<pre>${esc(JSON.stringify(tokens, null, 2))}</pre>
${claims ? `<h2>ID token claims</h2>
<p class="muted">Decoded, not verified here (a real client verifies the signature with ${esc(HYDRA_PUBLIC_URL)}/.well-known/jwks.json). Nonce ${nonceOk ? 'matches' : '<strong class="error">does not match</strong>'}.</p>
<pre>${esc(JSON.stringify(claims, null, 2))}</pre>` : ''}
<p><a href="/">Start another flow</a>${user ? ` &middot; <a href="/grants">Your grants</a> &middot; <a href="${esc(logoutHref(user))}" id="logout">Sign out</a>` : ''}</p>`),
  user ? { 'set-cookie': [clear['set-cookie'], userCookie(user)] } : clear);
}

// ---------------------------------------------------------------------------------------------
// Routing

const routes = {
  'GET /': home,
  'GET /login': getLogin,
  'POST /login': postLogin,
  'GET /consent': getConsent,
  'POST /consent': postConsent,
  'GET /callback': callback,
  'GET /logout': getLogout,
  'POST /logout': postLogout,
  'GET /logged-out': loggedOut,
  'GET /frontchannel-logout': frontchannelLogout,
  'GET /device': getDevice,
  'POST /device': postDevice,
  'GET /device/done': deviceDone,
  'GET /grants': grants,
  'POST /grants/revoke': revokeGrant,
};

const server = createServer(async (req, res) => {
  const url = new URL(req.url, APP_URL);
  const handler = routes[`${req.method} ${url.pathname}`];
  try {
    if (handler) return await handler(req, res, url);
    if (Object.keys(routes).some((r) => r.endsWith(` ${url.pathname}`))) {
      return errorPage(res, 405, 'Method not allowed', `${req.method} is not supported here.`);
    }
    return errorPage(res, 404, 'Not found', 'There is nothing here.');
  } catch (err) {
    if (err.status) return errorPage(res, err.status, 'Bad request', err.message);
    console.error(err);
    if (!res.headersSent) errorPage(res, 500, 'Internal error', 'Something went wrong.');
    else res.end();
  }
});

server.listen(PORT, HOST, () => {
  console.log(`example login & consent app on ${APP_URL} (hydra-edge admin ${HYDRA_ADMIN_URL}, public ${HYDRA_PUBLIC_URL})`);
  console.log(`Worker vars: URLS_LOGIN=${APP_URL}/login URLS_CONSENT=${APP_URL}/consent URLS_LOGOUT=${APP_URL}/logout`
    + ` URLS_POST_LOGOUT_REDIRECT=${APP_URL}/logged-out URLS_DEVICE_VERIFICATION=${APP_URL}/device URLS_DEVICE_SUCCESS=${APP_URL}/device/done`);
  ensureDemoClientWithRetries();
});

// Stop cleanly on Ctrl-C / SIGTERM (make dev).
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
