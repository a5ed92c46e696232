#!/usr/bin/env node
// What each kind of grant leaves in D1: rows and bytes per table (row data and index entries),
// measured by running grants against the built Worker under miniflare and reading the tables
// back through the test SQL route. The numbers behind docs/scaling.md. Not part of `make bench`.
//
//   node bench/capacity.mjs [--grants=20]     (after `make build`)

import { startSourceWorker } from "./source_worker.mjs";

const ADMIN = "capacity-admin-token-0123456789abcdefghij";
const N = Number(process.argv.find((a) => a.startsWith("--grants="))?.split("=")[1] ?? 20);

const { mf, origin } = await startSourceWorker({
  secret: "capacity-system-secret-0123456789",
  admin: ADMIN,
  testRoutes: true,
});

async function call(method, p, { headers = {}, body, json } = {}) {
  if (json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(json);
  }
  const r = await fetch(origin + p, { method, headers, body, redirect: "manual" });
  const text = await r.text();
  return { status: r.status, headers: r.headers, json: () => JSON.parse(text), text };
}
const admin = async (method, p, json) => {
  const r = await call(method, p, { headers: { authorization: `Bearer ${ADMIN}` }, json });
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${r.text}`);
  return r.text ? r.json() : null;
};
const sql = (statements) => admin("POST", "/admin/_test/sql", { statements, all: true });
const basic = (c) => "Basic " + Buffer.from(`${c.client_id}:${c.client_secret}`).toString("base64");

// Every table with its columns and indexes, to measure row data and index entries.
const tables = (await sql(["SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'"]))[0].map((r) => r.name);
const shape = {};
for (const t of tables) {
  const [cols, idx] = await sql([`PRAGMA table_info(${t})`, `PRAGMA index_list(${t})`]);
  const indexes = [];
  for (const i of idx) indexes.push((await sql([`PRAGMA index_info(${i.name})`]))[0].map((c) => c.name));
  shape[t] = { cols: cols.map((c) => c.name), indexes };
}

/** Rows and bytes per table: row data (sum of column lengths) and index entries (key + rowid). */
async function measure() {
  const out = {};
  for (const [t, { cols, indexes }] of Object.entries(shape)) {
    const len = (c) => `COALESCE(LENGTH(CAST(${c} AS BLOB)), 0)`;
    const data = cols.map(len).join(" + ");
    const index = indexes.map((ix) => `(${ix.map(len).join(" + ")} + 8)`).join(" + ") || "0";
    const [[r]] = await sql([`SELECT COUNT(*) AS n, COALESCE(SUM(${data}), 0) AS data, COALESCE(SUM(${index}), 0) AS idx FROM ${t}`]);
    out[t] = r;
  }
  return out;
}

function delta(before, after, grants) {
  const rows = {};
  let bytes = 0;
  for (const t of Object.keys(after)) {
    const n = (after[t].n - before[t].n) / grants;
    const b = (after[t].data - before[t].data + after[t].idx - before[t].idx) / grants;
    if (n !== 0 || b !== 0) rows[t] = { rows: +n.toFixed(2), bytes: Math.round(b) };
    bytes += b;
  }
  return { rows, bytes: Math.round(bytes) };
}

/** A whole login + consent + code flow for a new subject; the token response. */
async function codeFlow(client, subject) {
  const redirect = "https://capacity.example/cb";
  const jar = new Map();
  const browse = async (url) => {
    const r = await fetch(url, { redirect: "manual", headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") } });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(";");
      jar.set(pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1));
    }
    await r.text();
    return new URL(r.headers.get("location"), url);
  };
  const auth = new URL(`${origin}/oauth2/auth`);
  const params = { client_id: client.client_id, response_type: "code", redirect_uri: redirect, scope: "openid offline_access", state: "capacity-state", nonce: "capacity-nonce" };
  for (const [k, v] of Object.entries(params)) auth.searchParams.set(k, v);
  const login = (await browse(auth.href)).searchParams.get("login_challenge");
  const { redirect_to: afterLogin } = await admin("PUT", `/admin/oauth2/auth/requests/login/accept?login_challenge=${login}`, { subject, remember: true });
  const consent = (await browse(afterLogin)).searchParams.get("consent_challenge");
  const { redirect_to: afterConsent } = await admin("PUT", `/admin/oauth2/auth/requests/consent/accept?consent_challenge=${consent}`, {
    grant_scope: ["openid", "offline_access"],
    remember: true,
    session: { id_token: { email: `${subject}@capacity.example` } },
  });
  const code = (await browse(afterConsent)).searchParams.get("code");
  const r = await call("POST", "/oauth2/token", {
    headers: { authorization: basic(client), "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirect }).toString(),
  });
  if (r.status !== 200) throw new Error(`code exchange: ${r.status} ${r.text}`);
  return r.json();
}

const results = {};
try {
  // Keys and clients first, so that the grants below measure only themselves.
  await call("GET", "/.well-known/jwks.json");
  const clients = {};
  for (const strategy of ["opaque", "jwt"]) {
    clients[strategy] = await admin("POST", "/admin/clients", {
      redirect_uris: ["https://capacity.example/cb"], grant_types: ["authorization_code", "refresh_token", "client_credentials"],
      scope: "openid offline_access read", access_token_strategy: strategy,
    });
  }

  for (const strategy of ["opaque", "jwt"]) {
    const before = await measure();
    const tokens = [];
    for (let i = 0; i < N; i++) tokens.push(await codeFlow(clients[strategy], `capacity-${strategy}-${i}`));
    results[`sign-in: login + consent + code flow, ${strategy} access token, refresh token`] = delta(before, await measure(), N);

    const beforeRefresh = await measure();
    for (const t of tokens) {
      const r = await call("POST", "/oauth2/token", {
        headers: { authorization: basic(clients[strategy]), "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: t.refresh_token }).toString(),
      });
      if (r.status !== 200) throw new Error(`refresh: ${r.status} ${r.text}`);
    }
    results[`refresh: one rotation, ${strategy} access token`] = delta(beforeRefresh, await measure(), N);
  }

  for (const strategy of ["opaque", "jwt"]) {
    const before = await measure();
    for (let i = 0; i < N; i++) {
      const r = await call("POST", "/oauth2/token", {
        headers: { authorization: basic(clients[strategy]), "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "client_credentials", scope: "read" }).toString(),
      });
      if (r.status !== 200) throw new Error(`client_credentials: ${r.status} ${r.text}`);
    }
    results[`client_credentials, ${strategy} access token`] = delta(before, await measure(), N);
  }
} finally {
  await mf.dispose();
}

console.log(`Per grant (average of ${N}); bytes = row data + index entries (key columns + 8 for the rowid):\n`);
for (const [kind, { rows, bytes }] of Object.entries(results)) {
  console.log(`${kind}: ${bytes} bytes`);
  for (const [t, r] of Object.entries(rows)) console.log(`  ${t.padEnd(24)} ${String(r.rows).padStart(5)} rows  ${String(r.bytes).padStart(6)} bytes`);
}
