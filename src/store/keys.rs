//! JSON Web Keys: table `jwk` in D1, public JWKS document cached in KV.

use serde_json::Value;

use crate::platform::{col_i64, col_opt, col_str, PResult, Platform, Query};

/// KV key of the cached public JWKS document.
pub const JWKS_CACHE_KEY: &str = "jwks:public:v1";
/// How long the cached document lives in KV. Writes delete it, so this only bounds how long a
/// stale copy can survive a lost delete.
pub const JWKS_CACHE_TTL: u64 = 300;

/// A stored key: the encrypted private JWK and its public part (none for symmetric keys).
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub public_jwk: Option<String>,
    pub private_enc: String,
    pub created_at: i64,
}

fn from_row(row: &crate::platform::Row) -> StoredKey {
    StoredKey {
        kid: col_str(row, "kid"),
        public_jwk: col_opt(row, "public_jwk"),
        private_enc: col_str(row, "private_jwk_enc"),
        created_at: col_i64(row, "created_at"),
    }
}

/// Every key of a set, newest first.
pub async fn list_set<P: Platform>(p: &P, set: &str) -> PResult<Vec<StoredKey>> {
    let r = p
        .sql(
            Query::new(
                "SELECT kid, public_jwk, private_jwk_enc, created_at FROM jwk WHERE set_id = ?1 ORDER BY pk DESC",
            )
            .bind(set),
        )
        .await?;
    Ok(r.rows.iter().map(from_row).collect())
}

pub async fn get<P: Platform>(p: &P, set: &str, kid: &str) -> PResult<Option<StoredKey>> {
    let r = p
        .sql(
            Query::new("SELECT kid, public_jwk, private_jwk_enc, created_at FROM jwk WHERE set_id = ?1 AND kid = ?2")
                .bind(set)
                .bind(kid),
        )
        .await?;
    Ok(r.rows.first().map(from_row))
}

fn insert_query(set: &str, key: &StoredKey) -> Query {
    Query::new("INSERT INTO jwk (set_id, kid, public_jwk, private_jwk_enc, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (set_id, kid) DO NOTHING")
        .bind(set)
        .bind(&key.kid)
        .bind(key.public_jwk.clone())
        .bind(&key.private_enc)
        .bind(key.created_at)
}

/// Add a key; `false` when the set already has a key with that id.
pub async fn insert<P: Platform>(p: &P, set: &str, key: &StoredKey) -> PResult<bool> {
    Ok(p.sql(insert_query(set, key)).await?.changes == 1)
}

/// Add `key` only if the set has no key at all. One statement, so when several isolates
/// bootstrap the same set at once exactly one insert wins and all of them then read that key.
pub async fn insert_if_set_empty<P: Platform>(p: &P, set: &str, key: &StoredKey) -> PResult<bool> {
    let q = Query::new(
        "INSERT INTO jwk (set_id, kid, public_jwk, private_jwk_enc, created_at) \
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM jwk WHERE set_id = ?1)",
    )
    .bind(set)
    .bind(&key.kid)
    .bind(key.public_jwk.clone())
    .bind(&key.private_enc)
    .bind(key.created_at);
    Ok(p.sql(q).await?.changes == 1)
}

/// Add `key` as the oldest key of the set (lowest position, so it never becomes the default
/// signer) unless the set already has a key of algorithm `alg`. One statement, race-free.
pub async fn insert_oldest_unless_alg<P: Platform>(p: &P, set: &str, key: &StoredKey, alg: &str) -> PResult<bool> {
    let q = Query::new(
        "INSERT INTO jwk (pk, set_id, kid, public_jwk, private_jwk_enc, created_at) \
         SELECT (SELECT COALESCE(MIN(pk), 1) - 1 FROM jwk), ?1, ?2, ?3, ?4, ?5 \
         WHERE NOT EXISTS (SELECT 1 FROM jwk WHERE set_id = ?1 AND json_extract(public_jwk, '$.alg') = ?6) \
         ON CONFLICT DO NOTHING",
    )
    .bind(set)
    .bind(&key.kid)
    .bind(key.public_jwk.clone())
    .bind(&key.private_enc)
    .bind(key.created_at)
    .bind(alg);
    Ok(p.sql(q).await?.changes == 1)
}

/// Insert or replace one key; the replaced key becomes the newest of its set (Hydra deletes and
/// re-inserts). Atomic.
pub async fn upsert<P: Platform>(p: &P, set: &str, key: &StoredKey) -> PResult<()> {
    p.sql_batch(vec![
        Query::new("DELETE FROM jwk WHERE set_id = ?1 AND kid = ?2").bind(set).bind(&key.kid),
        insert_query(set, key),
    ])
    .await?;
    Ok(())
}

/// Replace a whole set atomically. `keys` are given oldest first.
pub async fn replace_set<P: Platform>(p: &P, set: &str, keys: &[StoredKey]) -> PResult<()> {
    let mut batch = vec![Query::new("DELETE FROM jwk WHERE set_id = ?1").bind(set)];
    batch.extend(keys.iter().map(|k| insert_query(set, k)));
    p.sql_batch(batch).await?;
    Ok(())
}

pub async fn delete_set<P: Platform>(p: &P, set: &str) -> PResult<u64> {
    Ok(p.sql(Query::new("DELETE FROM jwk WHERE set_id = ?1").bind(set)).await?.changes)
}

pub async fn delete_key<P: Platform>(p: &P, set: &str, kid: &str) -> PResult<u64> {
    Ok(p.sql(Query::new("DELETE FROM jwk WHERE set_id = ?1 AND kid = ?2").bind(set).bind(kid)).await?.changes)
}

/// The public parts of the keys of the given sets, newest first within each set.
pub async fn public_keys<P: Platform>(p: &P, sets: &[&str]) -> PResult<Vec<Value>> {
    let mut out = Vec::new();
    for set in sets {
        let r = p
            .sql(
                Query::new("SELECT public_jwk FROM jwk WHERE set_id = ?1 AND public_jwk IS NOT NULL ORDER BY pk DESC")
                    .bind(*set),
            )
            .await?;
        for row in &r.rows {
            if let Some(v) = col_opt(row, "public_jwk").and_then(|s| serde_json::from_str(&s).ok()) {
                out.push(v);
            }
        }
    }
    Ok(out)
}

pub async fn cached_jwks<P: Platform>(p: &P) -> PResult<Option<String>> {
    p.kv_get(JWKS_CACHE_KEY).await
}

pub async fn cache_jwks<P: Platform>(p: &P, doc: &str) -> PResult<()> {
    p.kv_put(JWKS_CACHE_KEY, doc, JWKS_CACHE_TTL).await
}

/// Drop the cached document now and once more a few seconds later: a reader that built it from
/// D1 just before the key write and cached it just after this delete would otherwise leave a
/// stale document for the whole [`JWKS_CACHE_TTL`] (as for clients, see `store::clients`).
pub async fn forget_cached_jwks<P: Platform>(p: &P) -> PResult<()> {
    p.kv_delete_later(JWKS_CACHE_KEY, super::clients::SECOND_INVALIDATION_DELAY_MS);
    p.kv_delete(JWKS_CACHE_KEY).await
}
