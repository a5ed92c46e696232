-- Older generations of Hydra's API (issue 11) and the Prometheus metrics.

-- v0.10 consent requests: the request travels sealed in its id (like every challenge); the
-- consent app's decision (v0.10 answers accept/reject with 204, no verifier) waits here until
-- the browser returns to /oauth2/auth with `consent=<id>`. One decision per request (the insert
-- is conditional); redeeming it inserts the `consent:<id>` flow marker as the v2 flow does.
-- Deleted by the cleanup job after expires_at (the request's own expiry).
CREATE TABLE consent_v0_10_decisions (
  id TEXT PRIMARY KEY,
  -- JSON: {"accepted": {...}} or {"rejected": {...}}.
  decision TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX consent_v0_10_decisions_by_expiry ON consent_v0_10_decisions (expires_at);

-- Prometheus counters, global: each isolate adds its in-memory counts here at most every few
-- seconds, after its responses (one UPSERT batch); /metrics/prometheus reads the sums.
-- `labels` is the label set as Prometheus writes it (`route="Token",status="200"`).
CREATE TABLE metrics (
  name TEXT NOT NULL,
  labels TEXT NOT NULL,
  value INTEGER NOT NULL,
  PRIMARY KEY (name, labels)
);
