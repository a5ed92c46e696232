-- Foundation: JSON Web Keys.
-- Later migrations add clients (0002) and login/consent flows, sessions and tokens (0003).
-- What lives in D1 and what in KV, and why: docs/storage.md.

-- Every key of every set. The private JWK is stored encrypted (AES-256-GCM under a key derived
-- from SECRETS_SYSTEM); only the public part, if any, is kept in clear for /.well-known/jwks.json.
CREATE TABLE jwk (
  -- Insertion order: the newest key of a set has the highest pk (and is the one that signs).
  pk INTEGER PRIMARY KEY AUTOINCREMENT,
  set_id TEXT NOT NULL,
  kid TEXT NOT NULL,
  public_jwk TEXT,
  private_jwk_enc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (set_id, kid)
);
