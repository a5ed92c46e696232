-- Login/consent flows, sessions, authorization codes and tokens.
-- Flow state itself is sealed into challenges and verifiers; D1 keeps only what must be
-- single-use (markers, codes, jtis) or remembered (sessions, consents, tokens).

-- One row per redeemed login or consent verifier ('login:<flow id>', 'consent:<request id>').
-- Inserting it is the single-use check; `claim` identifies the request that won, so the rows
-- that request writes in the same batch are conditional on having won.
CREATE TABLE flow_markers (
  id TEXT PRIMARY KEY,
  request_url TEXT NOT NULL,
  claim TEXT NOT NULL,
  used_at INTEGER NOT NULL,
  -- After this, the challenge cannot be opened any more and the row may be deleted.
  expires_at INTEGER NOT NULL
);

-- Authentication sessions (the `sid` in the session cookie and in ID tokens).
CREATE TABLE login_sessions (
  id TEXT PRIMARY KEY,
  subject TEXT NOT NULL,
  authenticated_at INTEGER NOT NULL,
  remember INTEGER NOT NULL,
  identity_provider_session_id TEXT NOT NULL DEFAULT '',
  expires_at INTEGER NOT NULL
);
CREATE INDEX login_sessions_by_subject ON login_sessions (subject);

-- Handled consent requests: remembered grants (consent skip) and the grant behind tokens.
CREATE TABLE consent_sessions (
  -- consent_request_id: also the request id of every token issued under this grant.
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  login_session_id TEXT NOT NULL,
  grant_scope TEXT NOT NULL,
  remember INTEGER NOT NULL,
  remember_for INTEGER NOT NULL,
  -- A consent that was itself skipped is never the basis of a later skip (as in Hydra).
  skipped INTEGER NOT NULL,
  handled_at INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX consent_sessions_remembered ON consent_sessions (client_id, subject, handled_at);

-- Authorization codes, keyed by the HMAC signature of the `ory_ac_` code (the code itself is
-- never stored). Redeeming sets used_at and claim in one conditional UPDATE.
CREATE TABLE authorization_codes (
  signature TEXT PRIMARY KEY,
  request_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  data TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  claim TEXT
);

-- Access and refresh tokens, keyed by the HMAC signature of opaque tokens or the signature
-- segment of JWT access tokens. request_id ties every token of one grant together, so a
-- replayed code or a revocation removes the whole chain.
CREATE TABLE tokens (
  signature TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  request_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  data TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  -- NULL: never expires (refresh tokens with TTL_REFRESH_TOKEN=-1).
  expires_at INTEGER,
  active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX tokens_by_request ON tokens (request_id);
CREATE INDEX tokens_by_client ON tokens (client_id, kind);

-- `jti`s of private_key_jwt client assertions seen before their expiry (replay protection).
CREATE TABLE client_assertion_jtis (
  id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
