-- The pairwise subject identifier a login app chose for a user of a client
-- (`force_subject_identifier`, Hydra's obfuscated authentication sessions). Written when such a
-- login is accepted; read only when a pairwise client's id_token_hint does not carry the
-- computed pairwise identifier of the browser's session user.
CREATE TABLE forced_subject_identifiers (
  client_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  obfuscated TEXT NOT NULL,
  PRIMARY KEY (client_id, subject)
);
