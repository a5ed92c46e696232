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
pub mod flows;
pub mod keys;
pub mod tokens;

use crate::platform::{PResult, Platform, Query};

/// `/health/ready`: does each store answer? Returns (d1, kv) errors.
pub async fn ping<P: Platform>(p: &P) -> (Option<String>, Option<String>) {
    let d1 = p.sql(Query::new("SELECT 1 AS ok")).await.err().map(|e| e.0);
    let kv = p.kv_get("health:ping").await.err().map(|e| e.0);
    (d1, kv)
}

/// Delete expired rows of one table family. Cheap enough to run opportunistically.
pub async fn run<P: Platform>(p: &P, q: Query) -> PResult<u64> {
    Ok(p.sql(q).await?.changes)
}
