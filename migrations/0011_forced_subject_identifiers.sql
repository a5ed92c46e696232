-- The pairwise subject identifier a login app chose for a user of a client
-- (`force_subject_identifier`, Hydra's obfuscated authentication sessions). Written when such a
-- login is accepted; read only when an id_token_hint with a `sub` that is neither the user's
-- subject nor their computed pairwise identifier must be matched against the browser's session.
CREATE TABLE forced_subject_identifiers (
  client_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  obfuscated TEXT NOT NULL,
  PRIMARY KEY (client_id, subject)
);
