-- OAuth 2.0 clients (Hydra's OAuth2Client). The client JSON holds every field with Hydra's
-- names except secrets: the client secret is stored only as a PBKDF2 hash in Hydra's format,
-- the registration access token only as the HMAC signature of its opaque form.
CREATE TABLE clients (
  -- Insertion order: the stable key of list pagination (new clients always sort last).
  pk INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  client_name TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL DEFAULT '',
  data TEXT NOT NULL,
  secret_hash TEXT,
  registration_token_sig TEXT,
  -- Bumped by every write; updates are conditional on it, so concurrent edits cannot
  -- silently overwrite each other.
  version INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX clients_by_name ON clients (client_name, pk);
CREATE INDEX clients_by_owner ON clients (owner, pk);
