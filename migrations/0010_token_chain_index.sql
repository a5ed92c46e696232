-- Refresh-token rotation touches the rows of its grant chain by kind (the chain's access token,
-- its active refresh token): with an index on request_id alone each rotation read every row of
-- the chain, and a chain keeps one used refresh token per rotation until they expire, so a
-- long-lived chain (a mobile app refreshing for weeks) cost more D1 rows read per rotation
-- (billed, and slower) the older it got. With kind and active in the index each of those
-- statements reads the one or two rows it changes. Lookups by request_id alone (revoking a
-- chain) use the same index's prefix, so the old index goes.
CREATE INDEX tokens_by_request_kind ON tokens (request_id, kind, active);
DROP INDEX tokens_by_request;

-- The hourly cleanup deletes expired tokens, up to 5,000 a run. Without an index on expires_at
-- every run read the whole table to find them: with a month of used refresh tokens that is
-- millions of D1 rows read per run (Free plan: 5 million a day in all), and D1 runs a database's
-- queries one at a time, so every request waited behind that scan. An index entry costs one
-- more row written per token, far less than 24 full scans a day over the token's life.
CREATE INDEX tokens_by_expiry ON tokens (expires_at);
