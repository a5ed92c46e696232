//! OAuth 2.0 clients: table `clients` in D1, a read-through copy in KV.
//!
//! The token and authorize endpoints read a client on every request, so lookups go through KV
//! (`client:v1:{id}`, [`Config::client_cache_ttl`] seconds). Every write deletes the KV copy
//! at once and again a few seconds later, which also removes a stale copy written back by a
//! reader that loaded the old row just before the write. Other locations may still serve
//! their edge-cached copy for up to KV's propagation delay (about 60 s): a deleted client or a
//! changed secret can keep working there for that long, never longer than the cache TTL.
//!
//! On top of KV, each isolate keeps the clients it read for [`ISOLATE_CACHE_MS`], so the hot
//! token path (client_credentials) touches neither KV nor D1. A write clears the isolate's own
//! copy at once; other isolates see it after at most that long (plus KV's bound).

use serde::{Deserialize, Serialize};

use crate::clients::model::Client;
use crate::platform::{col_i64, col_opt, col_str, PResult, Platform, Query, Row};

/// Seconds after a write when the KV copy is deleted a second time.
pub const SECOND_INVALIDATION_DELAY_MS: u64 = 5_000;

/// How long an isolate reuses a client it read (through KV or D1) before reading it again.
pub const ISOLATE_CACHE_MS: i64 = 10_000;
const ISOLATE_CACHE_LIMIT: usize = 1024;

thread_local! {
    static IN_ISOLATE: std::cell::RefCell<std::collections::HashMap<String, (i64, StoredClient)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn remember(id: &str, now_ms: i64, c: &StoredClient) {
    IN_ISOLATE.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= ISOLATE_CACHE_LIMIT {
            m.clear();
        }
        m.insert(id.to_string(), (now_ms, c.clone()));
    });
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredClient {
    pub pk: i64,
    pub client: Client,
    pub secret_hash: Option<String>,
    #[serde(default)]
    pub registration_token_sig: Option<String>,
    pub version: i64,
}

fn cache_key(id: &str) -> String {
    format!("client:v1:{id}")
}

fn from_row(row: &Row) -> PResult<StoredClient> {
    let client: Client = serde_json::from_str(&col_str(row, "data"))
        .map_err(|e| crate::platform::PlatformError(format!("stored client is not valid JSON: {e}")))?;
    Ok(StoredClient {
        pk: col_i64(row, "pk"),
        client,
        secret_hash: col_opt(row, "secret_hash"),
        registration_token_sig: col_opt(row, "registration_token_sig"),
        version: col_i64(row, "version"),
    })
}

fn data_of(c: &Client) -> String {
    serde_json::to_string(&c.public_view()).expect("serialisable client")
}

/// Read a client from D1 (the source of truth; admin paths use this).
pub async fn get<P: Platform>(p: &P, id: &str) -> PResult<Option<StoredClient>> {
    let r = p
        .sql(
            Query::new("SELECT pk, data, secret_hash, registration_token_sig, version FROM clients WHERE id = ?1")
                .bind(id),
        )
        .await?;
    r.rows.first().map(from_row).transpose()
}

/// Read a client through the KV cache (token and authorize endpoints).
pub async fn get_cached<P: Platform>(p: &P, ttl: u64, id: &str) -> PResult<Option<StoredClient>> {
    let now_ms = p.now_ms();
    let hit = IN_ISOLATE
        .with(|m| m.borrow().get(id).filter(|(at, _)| now_ms - at < ISOLATE_CACHE_MS).map(|(_, c)| c.clone()));
    if hit.is_some() {
        return Ok(hit);
    }
    if let Ok(Some(text)) = p.kv_get(&cache_key(id)).await {
        if let Ok(c) = serde_json::from_str::<StoredClient>(&text) {
            remember(id, now_ms, &c);
            return Ok(Some(c));
        }
    }
    let found = get(p, id).await?;
    if let Some(c) = &found {
        // Never cache the registration token signature; a failed cache write costs nothing.
        let mut cached = c.clone();
        cached.registration_token_sig = None;
        let _ = p.kv_put(&cache_key(id), &serde_json::to_string(&cached).expect("json"), ttl).await;
        remember(id, now_ms, &cached);
    }
    Ok(found)
}

/// The storage work of looking up a client that does not exist (a KV miss, then a D1 miss),
/// done when a known client fails authentication, so the two failures take alike long.
pub async fn lookup_like_a_miss<P: Platform>(p: &P) {
    let absent = format!("absent-{}", crate::crypto::random_hex128());
    let _ = p.kv_get(&cache_key(&absent)).await;
    let _ = get(p, &absent).await;
}

/// Bind ?1..?7 of the insert and update statements: the row's columns and the write time.
fn with_columns(q: Query, c: &StoredClient, now: i64) -> Query {
    q.bind(&c.client.client_id)
        .bind(&c.client.client_name)
        .bind(&c.client.owner)
        .bind(data_of(&c.client))
        .bind(c.secret_hash.clone())
        .bind(c.registration_token_sig.clone())
        .bind(now)
}

/// Insert a new client; `false` if the id is taken.
pub async fn insert<P: Platform>(p: &P, c: &StoredClient, now: i64) -> PResult<bool> {
    let q = with_columns(
        Query::new(
            "INSERT INTO clients (id, client_name, owner, data, secret_hash, registration_token_sig, version, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7) ON CONFLICT (id) DO NOTHING",
        ),
        c,
        now,
    );
    let inserted = p.sql(q).await?.changes == 1;
    if inserted {
        // A lookup of the id before it existed may have left nothing behind, but be sure.
        invalidate(p, &c.client.client_id).await;
    }
    Ok(inserted)
}

/// Replace a client if it is still at `c.version`; `false` when it changed (or vanished) since
/// it was read.
pub async fn update<P: Platform>(p: &P, c: &StoredClient, now: i64) -> PResult<bool> {
    let q = with_columns(
        Query::new(
            "UPDATE clients SET client_name = ?2, owner = ?3, data = ?4, secret_hash = ?5, registration_token_sig = ?6, \
             version = version + 1, updated_at = ?7 WHERE id = ?1 AND version = ?8",
        ),
        c,
        now,
    )
    .bind(c.version);
    let updated = p.sql(q).await?.changes == 1;
    invalidate(p, &c.client.client_id).await;
    Ok(updated)
}

/// What deleting a client takes with it, as Hydra's `ON DELETE CASCADE` does: every token and
/// authorization code of the client, its remembered consents and its device grants not yet
/// redeemed. JWT access tokens are never stored when they are write-free (client_credentials),
/// so the client's cutoff time makes every one issued up to `?2` inactive, and the `jti`s of the
/// stored ones go to `revoked_jtis` as a chain revocation does. The cutoff is written only
/// when the client exists; the client row goes last so its `changes` says whether it did.
const CASCADE: [&str; 8] = [
    "INSERT INTO client_token_cutoffs (client_id, revoked_before) SELECT ?1, ?2 \
     WHERE EXISTS (SELECT 1 FROM clients WHERE id = ?1) \
     ON CONFLICT (client_id) DO UPDATE SET revoked_before = MAX(client_token_cutoffs.revoked_before, excluded.revoked_before)",
    "INSERT INTO revoked_jtis (jti, expires_at) SELECT jti, COALESCE(expires_at, 0) FROM tokens \
     WHERE client_id = ?1 AND kind = 'access_token' AND jti IS NOT NULL ON CONFLICT (jti) DO NOTHING",
    "DELETE FROM tokens WHERE client_id = ?1",
    "DELETE FROM authorization_codes WHERE client_id = ?1",
    "UPDATE device_codes SET state = 'rejected' WHERE client_id = ?1 AND state IN ('pending', 'accepted')",
    "DELETE FROM consent_sessions WHERE client_id = ?1",
    "DELETE FROM forced_subject_identifiers WHERE client_id = ?1",
    "DELETE FROM clients WHERE id = ?1",
];

/// Delete a client and everything issued to it (see [`CASCADE`]), one transaction; `false` if
/// it did not exist. Isolates that still hold the client (at most [`ISOLATE_CACHE_MS`] plus
/// KV's bound) may issue tokens for it until they read it again, as after any client change.
pub async fn delete<P: Platform>(p: &P, id: &str, now: i64) -> PResult<bool> {
    // Only the cutoff (the first statement) takes `?2`: D1 refuses unused bindings.
    let batch = CASCADE
        .iter()
        .enumerate()
        .map(|(i, sql)| if i == 0 { Query::new(sql).bind(id).bind(now) } else { Query::new(sql).bind(id) })
        .collect();
    let results = p.sql_batch(batch).await?;
    let deleted = results.last().map(|r| r.changes == 1).unwrap_or(false);
    invalidate(p, id).await;
    Ok(deleted)
}

/// One page of clients after `after_pk`, optionally filtered; fetches `limit + 1` rows so the
/// caller knows whether another page follows.
pub async fn list<P: Platform>(
    p: &P,
    after_pk: i64,
    limit: i64,
    name: &str,
    owner: &str,
) -> PResult<Vec<StoredClient>> {
    let q = Query::new(
        "SELECT pk, data, secret_hash, registration_token_sig, version FROM clients \
         WHERE pk > ?1 AND (?2 = '' OR client_name = ?2) AND (?3 = '' OR owner = ?3) ORDER BY pk LIMIT ?4",
    )
    .bind(after_pk)
    .bind(name)
    .bind(owner)
    .bind(limit + 1);
    p.sql(q).await?.rows.iter().map(from_row).collect()
}

/// A page of clients by offset (Hydra v1's `limit`/`offset`) and how many clients the filters
/// match in all: one round trip.
pub async fn list_offset<P: Platform>(
    p: &P,
    offset: i64,
    limit: i64,
    name: &str,
    owner: &str,
) -> PResult<(Vec<StoredClient>, i64)> {
    let page = Query::new(
        "SELECT pk, data, secret_hash, registration_token_sig, version FROM clients \
         WHERE (?1 = '' OR client_name = ?1) AND (?2 = '' OR owner = ?2) ORDER BY pk LIMIT ?3 OFFSET ?4",
    )
    .bind(name)
    .bind(owner)
    .bind(limit)
    .bind(offset);
    let count =
        Query::new("SELECT COUNT(*) AS n FROM clients WHERE (?1 = '' OR client_name = ?1) AND (?2 = '' OR owner = ?2)")
            .bind(name)
            .bind(owner);
    let results = p.sql_batch(vec![page, count]).await?;
    let rows = results.first().map(|r| r.rows.iter().map(from_row).collect()).unwrap_or(Ok(Vec::new()))?;
    let total = results.get(1).and_then(|r| r.rows.first()).map(|r| col_i64(r, "n")).unwrap_or(0);
    Ok((rows, total))
}

/// Drop this isolate's copy, and the KV copy now and once more after
/// [`SECOND_INVALIDATION_DELAY_MS`].
async fn invalidate<P: Platform>(p: &P, id: &str) {
    IN_ISOLATE.with(|m| m.borrow_mut().remove(id));
    let key = cache_key(id);
    let _ = p.kv_delete(&key).await;
    p.kv_delete_later(&key, SECOND_INVALIDATION_DELAY_MS);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::QueryResult;
    use crate::testing::{block_on, TestPlatform};
    use serde_json::json;

    /// D1 holding one client, `seen-client`, named `name`.
    fn platform_with_client(name: &'static str) -> TestPlatform {
        TestPlatform::with_sql(move |q| {
            let mut r = QueryResult::default();
            if q.sql.starts_with("SELECT pk, data") {
                let data = json!({"client_id": "seen-client", "client_name": name}).to_string();
                let row =
                    json!({"pk": 1, "data": data, "secret_hash": null, "registration_token_sig": null, "version": 1});
                r.rows.push(row.as_object().unwrap().clone());
            }
            Ok(r)
        })
    }

    /// The isolate's copy answers for ISOLATE_CACHE_MS, then KV answers until its TTL, then D1.
    #[test]
    fn a_client_is_read_through_the_isolate_copy_then_kv_then_d1() {
        let p = platform_with_client("first");
        let ttl = 300;
        let read = || block_on(get_cached(&p, ttl, "seen-client")).unwrap().unwrap().client.client_name;
        assert_eq!(read(), "first");
        assert_eq!(
            (p.count("kv_get"), p.count("sql"), p.count("kv_put")),
            (1, 1, 1),
            "a miss reads KV, then D1, and fills KV"
        );
        assert!(p.calls.borrow().iter().any(|c| c == &format!("kv_put client:v1:seen-client {ttl}")));

        p.advance_ms(ISOLATE_CACHE_MS - 1);
        read();
        assert_eq!((p.count("kv_get"), p.count("sql")), (1, 1), "within the isolate bound: no storage call");

        p.advance_ms(1);
        read();
        assert_eq!((p.count("kv_get"), p.count("sql")), (2, 1), "after it: KV answers");

        p.advance_ms(ttl as i64 * 1000);
        read();
        assert_eq!((p.count("kv_get"), p.count("sql")), (3, 2), "after the KV TTL: D1 again");
    }

    /// A write clears this isolate's copy and KV's at once (and KV's again later).
    #[test]
    fn a_client_write_invalidates_the_isolate_copy_and_kv() {
        let p = platform_with_client("first");
        block_on(get_cached(&p, 300, "seen-client")).unwrap();
        block_on(delete(&p, "seen-client", 0)).unwrap();
        assert_eq!((p.count("kv_delete client"), p.count("kv_delete_later client")), (1, 1));
        block_on(get_cached(&p, 300, "seen-client")).unwrap();
        assert_eq!((p.count("kv_get"), p.count("sql SELECT")), (2, 2), "read again from KV and D1, not from memory");
    }
}
