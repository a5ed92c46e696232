-- The token lifecycle: refresh-token rotation, revocation of JWT access tokens, and the
-- trust relationships of the jwt-bearer grant (RFC 7523).

-- Refresh rotation. A refresh token is redeemed by one conditional UPDATE that sets `claim`;
-- the new tokens are inserted in the same batch only if that claim is the request's own.
ALTER TABLE tokens ADD COLUMN claim TEXT;
-- When the refresh token was first used and how often (grace period and reuse count).
ALTER TABLE tokens ADD COLUMN first_used_at INTEGER;
ALTER TABLE tokens ADD COLUMN used_times INTEGER NOT NULL DEFAULT 0;
-- Refresh tokens: the signature of the access token issued with them (a rotation inside the
-- grace period revokes only that one).
ALTER TABLE tokens ADD COLUMN access_signature TEXT;
-- JWT access tokens: their `jti`, so revoking a chain also revokes its JWTs.
ALTER TABLE tokens ADD COLUMN jti TEXT;

-- Revoked JWT access tokens by `jti`, until they would have expired anyway. JWT access tokens of
-- the client_credentials grant are never stored (issuing them writes nothing), so revoking one
-- is a row here.
CREATE TABLE revoked_jtis (
  jti TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);

-- DELETE /admin/oauth2/tokens?client_id=: every JWT access token of the client issued at or
-- before this time is inactive (stored opaque access tokens are deleted outright).
CREATE TABLE client_token_cutoffs (
  client_id TEXT PRIMARY KEY,
  revoked_before INTEGER NOT NULL
);

-- Trusted issuers of jwt-bearer assertions (Hydra's trustedOAuth2JwtGrantIssuer), with the
-- public key that verifies their assertions.
CREATE TABLE trusted_jwt_issuers (
  -- Insertion order: the key of list pagination.
  pk INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  issuer TEXT NOT NULL,
  -- '' when allow_any_subject is set.
  subject TEXT NOT NULL,
  allow_any_subject INTEGER NOT NULL,
  -- JSON array of scopes.
  scope TEXT NOT NULL,
  key_id TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  UNIQUE (issuer, subject, key_id)
);
