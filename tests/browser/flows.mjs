// The example login & consent app and hydra-edge in a real browser: Debian's chromium, driven
// by playwright-core (no browser download). Run by tests/browser.rs, which starts the Worker,
// the example app and a tiny relying party, and checks what that relying party received.
//
// Walks: a full code flow with login and consent (remember ticked), the second run skipping both,
// the grants page revoking the grant (the next run asks for consent again), RP-initiated logout
// with the front-channel iframes, and a device sign-in typed on the device page while a poller
// waits. A screenshot of each page goes to $SHOTS. Prints `RESULT {json}` for the Rust side.

import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const { BASE, APP_URL, ADMIN_TOKEN, RP_URL, SHOTS } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

for (const [k, v] of Object.entries({ BASE, APP_URL, ADMIN_TOKEN, RP_URL, SHOTS })) {
  if (!v) {
    console.error(`${k} is not set`);
    process.exit(2);
  }
}
mkdirSync(SHOTS, { recursive: true });

const profile = mkdtempSync(join(tmpdir(), 'hydra-edge-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ['--headless', ...FLAGS] });
} catch (err) {
  console.error(`BROWSER DID NOT START: ${CHROMIUM} could not be launched (${err.message.split('\n')[0]}).\n`
    + 'Install it with scripts/bootstrap.sh (Debian: apt-get install chromium); the browser tests never skip.');
  rmSync(profile, { recursive: true, force: true });
  process.exit(3);
}

const page = await context.newPage();
page.setDefaultTimeout(20_000);
let shotNo = 0;
async function shot(name) {
  shotNo += 1;
  const path = join(SHOTS, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  try {
    await page.screenshot({ path, fullPage: true });
  } catch (err) {
    // A page that navigated away while being captured (the front-channel page) is not a failure.
    console.log(`screenshot ${name} skipped: ${err.message.split('\n')[0]}`);
  }
}
const visited = [];
page.on('framenavigated', (frame) => {
  if (frame === page.mainFrame()) visited.push(frame.url());
});
const frontchannelLoads = [];
page.on('response', (r) => {
  if (r.url().startsWith(`${RP_URL}/frontchannel`)) frontchannelLoads.push({ url: r.url(), status: r.status() });
});

async function clickAndWait(selector, urlPattern) {
  await Promise.all([page.waitForURL(urlPattern, { waitUntil: 'load' }), page.click(selector)]);
}

async function signIn(username) {
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', 'password');
}

const admin = (path, init = {}) => fetch(`${BASE}${path}`, {
  ...init,
  headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers || {}) },
});

const result = {};
try {
  // 1. A full code flow through the example app: login (remembered) and consent (remembered).
  await page.goto(`${APP_URL}/`);
  await shot('start');
  await clickAndWait('#start', /\/login\?login_challenge=/);
  await signIn('browser-user');
  await page.check('input[name=remember]');
  await shot('login');
  await clickAndWait('button[value=login]', /\/consent\?consent_challenge=/);
  await page.check('input[name=remember]');
  await shot('consent');
  await clickAndWait('button[value=allow]', /\/callback\?/);
  await shot('callback');
  assert.match(await page.textContent('h1'), /Signed in/);
  const claims = JSON.parse(await page.locator('pre').nth(1).textContent());
  assert.equal(claims.sub, 'browser-user');
  assert.ok(claims.sid, 'the ID token names the login session');
  result.sid = claims.sid;

  // 2. Second run: the login and the consent are remembered, no page is shown.
  visited.length = 0;
  await page.goto(`${APP_URL}/`);
  await clickAndWait('#start', /\/callback\?/);
  await shot('second-run-callback');
  assert.ok(!visited.some((u) => u.includes('/login?') || u.includes('/consent?')), `no login or consent page: ${visited.join(' ')}`);
  assert.equal(JSON.parse(await page.locator('pre').nth(1).textContent()).sid, result.sid, 'the same session');

  // 3. The grants page lists the grant; revoking it makes the next run ask for consent again.
  await page.goto(`${APP_URL}/grants`);
  await shot('grants');
  assert.match(await page.textContent('table'), /hydra-edge example app/);
  await clickAndWait('button:text("Revoke")', /\/grants$/);
  await shot('grants-revoked');
  assert.match(await page.textContent('body'), /No grants\./);
  await page.goto(`${APP_URL}/`);
  await clickAndWait('#start', /\/consent\?consent_challenge=/);
  await shot('consent-again');
  await clickAndWait('button[value=allow]', /\/callback\?/);

  // 4. RP-initiated logout: the logout page, the front-channel page, the post-logout page.
  await clickAndWait('#logout', /\/logout\?logout_challenge=/);
  await shot('logout');
  await Promise.all([
    page.waitForURL((u) => u.href.includes('logout_verifier='), { waitUntil: 'domcontentloaded' }),
    page.click('button[value=accept]'),
  ]);
  await shot('frontchannel');
  await page.waitForURL(/\/logged-out\?state=/, { waitUntil: 'load' });
  await shot('logged-out');
  assert.ok(frontchannelLoads.length >= 1, 'the front-channel iframe loaded');
  assert.equal(frontchannelLoads[0].status, 200);
  const fc = new URL(frontchannelLoads[0].url);
  assert.equal(fc.searchParams.get('iss'), BASE);
  assert.equal(fc.searchParams.get('sid'), result.sid);
  result.frontchannel = frontchannelLoads.length;

  // The session is gone: the next run asks for a login again.
  await page.goto(`${APP_URL}/`);
  await clickAndWait('#start', /\/login\?login_challenge=/);
  await shot('login-after-logout');

  // 5. A device signs in: it polls while the user types the code on the device page.
  const created = await admin('/admin/clients', {
    method: 'POST',
    body: JSON.stringify({
      client_id: 'browser-tv', client_name: 'Living-room TV', token_endpoint_auth_method: 'none',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'], scope: 'openid offline_access',
    }),
  });
  assert.equal(created.status, 201, await created.text());
  const started = await fetch(`${BASE}/oauth2/device/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'browser-tv', scope: 'openid offline_access' }),
  });
  const device = await started.json();
  assert.equal(started.status, 200, JSON.stringify(device));
  let polls = 0;
  const poller = (async () => {
    let interval = device.interval;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, interval * 1000));
      polls += 1;
      const r = await fetch(`${BASE}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'browser-tv' }),
      });
      const body = await r.json();
      if (r.status === 200) return body;
      if (body.error === 'slow_down') interval += 5;
      else if (body.error !== 'authorization_pending') throw new Error(`poll: ${r.status} ${JSON.stringify(body)}`);
    }
    throw new Error('the device was never authorized');
  })();
  await page.goto(device.verification_uri);
  await page.waitForURL(/\/device\?device_challenge=/);
  await page.fill('input[name=user_code]', 'wrong-code');
  await clickAndWait('button[type=submit]', /\/device$/);
  await shot('device-wrong-code');
  assert.match(await page.textContent('.error'), /not valid/);
  await page.fill('input[name=user_code]', device.user_code);
  await shot('device-code');
  await clickAndWait('button[type=submit]', /\/login\?login_challenge=/);
  await signIn('browser-user');
  await shot('device-login');
  await clickAndWait('button[value=login]', /\/consent\?consent_challenge=/);
  await shot('device-consent');
  await clickAndWait('button[value=allow]', /\/device\/done\?client_id=browser-tv/);
  await shot('device-done');
  const tokens = await poller;
  assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token, JSON.stringify(tokens));
  const idClaims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString());
  assert.equal(idClaims.sub, 'browser-user');
  assert.equal(idClaims.aud[0], 'browser-tv');
  result.device_polls = polls;
  result.screenshots = shotNo;
  console.log(`RESULT ${JSON.stringify(result)}`);
} catch (err) {
  await shot('failure');
  console.error(`FAILED at ${page.url()}: ${err.stack || err}`);
  console.error(`pages: ${visited.join('\n  ')}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
