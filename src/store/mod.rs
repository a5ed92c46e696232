//! Storage: the only module that knows SQL statements and KV keys.
//!
//! Where data lives, and why (also in `docs/storage.md`):
//!
//! * **D1** (SQLite, one primary, strongly consistent) holds everything that is single-use,
//!   rotated, revoked, listed or counted: signing keys, clients, used challenges and verifiers,
//!   login sessions, remembered consents, authorization codes, tokens, `jti` replay markers.
//!   Single-use transitions are one conditional statement or one `batch` (a transaction), so two
//!   locations racing on the same code or verifier cannot both win.
//! * **Workers KV** (global, cached, eventually consistent, >= 60 s TTLs) holds only read-mostly
//!   caches that are safe to serve stale for about a minute: the public JWKS document and client
//!   lookups. Every write to the source row in D1 deletes the cached copy.
//!
//! Flow state itself (login/consent challenges) is sealed into the challenge, not stored.

pub mod clients;
pub mod consent_v0_10;
pub mod devices;
pub mod flows;
pub mod keys;
pub mod metrics;
pub mod sessions;
pub mod tokens;
pub mod trust;

use crate::platform::{PResult, Platform, Query};

/// `/health/ready`: does each store answer? Returns (d1, kv) errors.
pub async fn ping<P: Platform>(p: &P) -> (Option<String>, Option<String>) {
    let d1 = p.sql(Query::new("SELECT 1 AS ok")).await.err().map(|e| e.0);
    let kv = p.kv_get("health:ping").await.err().map(|e| e.0);
    (d1, kv)
}

/// Run a batch (one transaction) whose first statement is the single-use guard (claiming a
/// marker or a code) and whose other statements only write when that claim is theirs. True when
/// the guard changed exactly one row, i.e. this request won the race.
async fn claim_batch<P: Platform>(p: &P, batch: Vec<Query>) -> PResult<bool> {
    let results = p.sql_batch(batch).await?;
    Ok(results.first().map(|r| r.changes == 1).unwrap_or(false))
}

/// Rows removed per table and run, so one run stays well inside D1's limits.
pub const CLEANUP_BATCH: i64 = 5_000;

/// Delete what has expired: redeemed-verifier markers, codes, tokens, client-assertion jtis,
/// login sessions, revoked-JWT entries, device codes, user-code attempt counters and v0.10
/// consent decisions (the scheduled job, and `POST /oauth2/flush`). Returns the rows deleted.
pub async fn delete_expired<P: Platform>(p: &P, now: i64) -> PResult<u64> {
    let q = |sql: &'static str| Query::new(sql).bind(now).bind(CLEANUP_BATCH);
    let results = p
        .sql_batch(vec![
            q("DELETE FROM flow_markers WHERE rowid IN (SELECT rowid FROM flow_markers WHERE expires_at < ?1 LIMIT ?2)"),
            q("DELETE FROM authorization_codes WHERE rowid IN (SELECT rowid FROM authorization_codes WHERE expires_at < ?1 LIMIT ?2)"),
            q("DELETE FROM tokens WHERE rowid IN (SELECT rowid FROM tokens WHERE expires_at IS NOT NULL AND expires_at < ?1 LIMIT ?2)"),
            q("DELETE FROM client_assertion_jtis WHERE rowid IN (SELECT rowid FROM client_assertion_jtis WHERE expires_at < ?1 LIMIT ?2)"),
            q("DELETE FROM login_sessions WHERE rowid IN (SELECT rowid FROM login_sessions WHERE expires_at < ?1 LIMIT ?2)"),
            q("DELETE FROM revoked_jtis WHERE rowid IN (SELECT rowid FROM revoked_jtis WHERE expires_at < ?1 LIMIT ?2)"),
            q("DELETE FROM device_codes WHERE rowid IN (SELECT rowid FROM device_codes WHERE expires_at < ?1 LIMIT ?2)"),
            q("DELETE FROM device_user_code_attempts WHERE rowid IN (SELECT rowid FROM device_user_code_attempts WHERE expires_at < ?1 LIMIT ?2)"),
            q("DELETE FROM consent_v0_10_decisions WHERE rowid IN (SELECT rowid FROM consent_v0_10_decisions WHERE expires_at < ?1 LIMIT ?2)"),
        ])
        .await?;
    Ok(results.iter().map(|r| r.changes).sum())
}
