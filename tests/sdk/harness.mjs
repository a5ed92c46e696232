// What the scripts that run older generations' SDKs share (tests/sdk/hydra-sdk-beta.mjs,
// tests/sdk/hydra-client-v1.mjs): the server's address and admin token from the environment, a
// browser that keeps cookies and does not follow redirects, the bookkeeping of which SDK
// operations ran with which statuses, and running sections with a summary and an exit status.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

export const BASE = (process.env.HYDRA_EDGE_URL || '').replace(/\/+$/, '');
export const TOKEN = process.env.HYDRA_EDGE_ADMIN_TOKEN || '';
if (!BASE || !TOKEN) {
  console.error('set HYDRA_EDGE_URL and HYDRA_EDGE_ADMIN_TOKEN');
  process.exit(2);
}

/** A stalled server must fail the run, not hang it. */
export const TIMEOUT_MS = 30_000;
export const REDIRECT = 'https://rp.example/cb';
/** A prefix that keeps this run's clients, sets and subjects apart. */
export const RUN = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

const calls = new Map(); // operation -> Set of statuses

export function record(op, status) {
  if (!calls.has(op)) calls.set(op, new Set());
  calls.get(op).add(status);
}

/** A query parameter of a URL (string or URL). */
export function param(url, name) {
  return new URL(url, BASE).searchParams.get(name);
}

/** The browser's part: GETs with a cookie jar, redirects not followed (the body is kept, for pages). */
export class Browser {
  #cookies = new Map();

  async get(url) {
    const cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, {
      redirect: 'manual',
      headers: cookie ? { cookie } : {},
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const expired = attrs.some((a) => {
        const [k, v = ''] = a.trim().split('=');
        return (k.toLowerCase() === 'max-age' && Number(v) <= 0)
          || (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now());
      });
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, pair.slice(eq + 1).trim());
    }
    const text = await res.text();
    return { status: res.status, location: res.headers.get('location') || '', text };
  }

  /** GET and expect a redirect with `status`; returns the Location. */
  async redirect(url, status = 302) {
    const r = await this.get(url);
    assert.equal(r.status, status, `GET ${url}: expected ${status}, got ${r.status} (Location: ${r.location})`);
    assert.ok(r.location, `GET ${url}: no Location header`);
    return new URL(r.location, url).toString();
  }
}

/** `/oauth2/auth` for a code flow of `clientId` (a confidential client, no PKCE). */
export function authUrl(clientId, state, scope = 'openid offline_access') {
  const q = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope,
    state,
    nonce: `nonce-${RUN}`,
  });
  return `${BASE}/oauth2/auth?${q}`;
}

/** A plain HTTP request (what no SDK method covers), recorded like one. */
export async function http(op, method, path, { body, form, token, basic, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (basic) h.authorization = `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64')}`;
  let payload;
  if (form) {
    h['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(form).toString();
  } else if (body !== undefined) {
    h['content-type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers: h,
    body: payload,
    redirect: 'manual',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  record(op, res.status);
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, text, json };
}

/** Run the sections in order, each on its own; print what ran; exit non-zero on a failure. */
export async function runSections(title, sections) {
  const failures = [];
  for (const [name, fn] of sections) {
    try {
      await fn();
      console.log(`ok   ${name}`);
    } catch (err) {
      failures.push(name);
      console.log(`FAIL ${name}: ${err?.stack || err}`);
    }
  }
  console.log(`\n${title}: operations and statuses`);
  for (const op of [...calls.keys()].sort()) {
    console.log(`  ${op}: ${[...calls.get(op)].sort().join(', ')}`);
  }
  if (failures.length) {
    console.log(`\n${failures.length} section(s) failed: ${failures.join(', ')}`);
    process.exit(1);
  }
}
