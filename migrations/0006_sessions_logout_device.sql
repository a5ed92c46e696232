-- Sessions administration, logout and the device authorization grant (RFC 8628).
-- Logout challenges and verifiers are sealed like the login/consent ones; redeeming one inserts a
-- `logout:<id>` row into flow_markers (single use). Device challenges and verifiers likewise
-- (`device:<id>` markers).

-- Listing a subject's consent sessions, and finding the clients of one login session (logout).
CREATE INDEX consent_sessions_by_subject ON consent_sessions (subject, handled_at, id);
CREATE INDEX consent_sessions_by_login_session ON consent_sessions (login_session_id, subject);
-- Consent revocation also removes the authorization codes of the grant.
CREATE INDEX authorization_codes_by_request ON authorization_codes (request_id);

-- Device authorization requests, keyed by the HMAC signature of the `ory_dc_` device code (the
-- code itself is never stored). The user code is stored only as its HMAC signature too.
-- state: 'pending' (waiting for the user), 'accepted' (consent given; `grant` holds it),
-- 'rejected' (login or consent denied), 'used' (tokens issued). Every transition is one
-- conditional UPDATE on the expected state.
CREATE TABLE device_codes (
  signature TEXT PRIMARY KEY,
  user_code_signature TEXT NOT NULL UNIQUE,
  -- The device request's id (sealed into the device verifier).
  request_id TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL,
  -- JSON arrays.
  scope TEXT NOT NULL,
  audience TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  -- Accepted: the consent request id (request id of the tokens) and the grant, as JSON.
  consent_request_id TEXT,
  grant_data TEXT,
  -- Polling: when the client last asked (ms) and the interval it must keep (s; grows by 5 on
  -- every slow_down, RFC 8628 §3.5).
  last_polled_at INTEGER,
  poll_interval INTEGER NOT NULL,
  -- The request that redeemed the code (tokens are inserted only with this claim).
  claim TEXT,
  used_at INTEGER
);
CREATE INDEX device_codes_by_consent ON device_codes (consent_request_id);

-- User-code attempts per device verification (one device challenge): bounded so a browser
-- session cannot guess user codes without end. Counted before the lookup, atomically.
CREATE TABLE device_user_code_attempts (
  id TEXT PRIMARY KEY,
  attempts INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
