//! The signing key sets and the public JWKS document.
//!
//! Each set gets one ES256 key on first use. Bootstrap is one conditional D1 insert
//! ([`store::keys::insert_if_set_empty`]), so isolates racing on a fresh deployment end with one
//! key per set. Tokens are signed with the newest usable private key of the set; each isolate
//! keeps the imported key for [`SIGNING_KEY_CACHE_MS`] so a rotation reaches every isolate within
//! that bound.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::json;

use super::{all_from_stored, generate_es256, signing_alg, to_stored};
use crate::crypto::uuid_v4;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::etag::Tagged;
use crate::memo::Slot;
use crate::platform::{Platform, SigningKey};
use crate::store;
use crate::store::keys::StoredKey;

/// Signs ID tokens (and, later, userinfo and logout tokens).
pub const ID_TOKEN_SET: &str = "hydra.openid.id-token";
/// Signs JWT access tokens.
pub const ACCESS_TOKEN_SET: &str = "hydra.jwt.access-token";
/// The sets published at `/.well-known/jwks.json`.
pub const PUBLISHED_SETS: [&str; 2] = [ID_TOKEN_SET, ACCESS_TOKEN_SET];

/// How long an isolate signs with a key before looking for a newer one.
pub const SIGNING_KEY_CACHE_MS: i64 = 30_000;

thread_local! {
    static SIGNING_KEYS: RefCell<HashMap<String, (i64, SigningKey)>> = RefCell::new(HashMap::new());
}

/// The keys of a set, creating its first ES256 key if it has none. Newest first.
pub async fn ensure_set<P: Platform>(ctx: &Ctx<'_, P>, set: &str) -> ApiResult<Vec<StoredKey>> {
    let keys = store::keys::list_set(ctx.p, set).await?;
    if !keys.is_empty() {
        return Ok(keys);
    }
    let jwk = generate_es256(ctx.p, &uuid_v4(), "sig").await?;
    let stored = to_stored(ctx.p, ctx.cfg.primary_secret(), &jwk, ctx.p.now()).await?;
    if store::keys::insert_if_set_empty(ctx.p, set, &stored).await? {
        // Best effort: a stale cached document would lack the new key for up to its TTL.
        let _ = store::keys::forget_cached_jwks(ctx.p).await;
    }
    Ok(store::keys::list_set(ctx.p, set).await?)
}

/// The key to sign with for `set`.
pub async fn signing_key<P: Platform>(ctx: &Ctx<'_, P>, set: &str) -> ApiResult<SigningKey> {
    let now = ctx.p.now_ms();
    let cached = SIGNING_KEYS
        .with(|c| c.borrow().get(set).filter(|(at, _)| now - at < SIGNING_KEY_CACHE_MS).map(|(_, k)| k.clone()));
    if let Some(k) = cached {
        return Ok(k);
    }
    let keys = ensure_set(ctx, set).await?;
    let key = all_from_stored(ctx.p, &ctx.cfg.system_secrets, &keys)
        .await?
        .into_iter()
        .find_map(|jwk| signing_alg(&jwk).map(|alg| SigningKey { kid: super::kid_of(&jwk), alg, jwk }))
        .ok_or_else(|| {
            ApiError::server_error().with_debug(format!(
                "the key set {set} holds no private key this server can sign with (or none that SECRETS_SYSTEM decrypts); add one with POST /admin/keys/{set}"
            ))
        })?;
    SIGNING_KEYS.with(|c| c.borrow_mut().insert(set.to_string(), (now, key.clone())));
    Ok(key)
}

/// The key to sign with for `set` when the signature must use `alg` (a client that asks for
/// RS256 ID tokens or userinfo): the set's signing key if it has that algorithm, else the newest
/// key of the set with it. An RS256 key the ID-token set lacks is generated (RSA-2048 through
/// WebCrypto) and stored as the set's *oldest* key, so the default signer stays as it was.
pub async fn signing_key_for_alg<P: Platform>(ctx: &Ctx<'_, P>, set: &str, alg: &str) -> ApiResult<SigningKey> {
    let default = signing_key(ctx, set).await?;
    if default.alg == alg {
        return Ok(default);
    }
    let cache_key = format!("{set}#{alg}");
    let now = ctx.p.now_ms();
    let cached = SIGNING_KEYS
        .with(|c| c.borrow().get(&cache_key).filter(|(at, _)| now - at < SIGNING_KEY_CACHE_MS).map(|(_, k)| k.clone()));
    if let Some(k) = cached {
        return Ok(k);
    }
    let find = |keys: Vec<serde_json::Value>| {
        keys.into_iter().find_map(|jwk| {
            signing_alg(&jwk).filter(|a| a == alg).map(|alg| SigningKey { kid: super::kid_of(&jwk), alg, jwk })
        })
    };
    let secrets = &ctx.cfg.system_secrets;
    let mut key = find(all_from_stored(ctx.p, secrets, &store::keys::list_set(ctx.p, set).await?).await?);
    if key.is_none() && alg == "RS256" {
        let mut jwk = ctx.p.generate_jwk("RS256").await?;
        super::annotate(&mut jwk, &uuid_v4(), "RS256", "sig");
        let stored = to_stored(ctx.p, ctx.cfg.primary_secret(), &jwk, ctx.p.now()).await?;
        if store::keys::insert_oldest_unless_alg(ctx.p, set, &stored, "RS256").await? {
            let _ = store::keys::forget_cached_jwks(ctx.p).await;
        }
        key = find(all_from_stored(ctx.p, secrets, &store::keys::list_set(ctx.p, set).await?).await?);
    }
    let key = key.ok_or_else(|| {
        ApiError::server_error()
            .with_debug(format!("the key set {set} holds no private {alg} key; add one with POST /admin/keys/{set}"))
    })?;
    SIGNING_KEYS.with(|c| c.borrow_mut().insert(cache_key, (now, key.clone())));
    Ok(key)
}

thread_local! {
    static VERIFY_KEYS: RefCell<HashMap<String, (i64, Vec<serde_json::Value>)>> = RefCell::new(HashMap::new());
}

/// The public key of `set` with id `kid`, to verify a token this server signed. Public keys are
/// cached per isolate like signing keys; an unknown kid reloads them at most every few seconds
/// (a forged kid cannot make every request read D1).
pub async fn verification_key<P: Platform>(
    ctx: &Ctx<'_, P>,
    set: &str,
    kid: &str,
) -> ApiResult<Option<serde_json::Value>> {
    const RELOAD_AFTER_MISS_MS: i64 = 5_000;
    let now = ctx.p.now_ms();
    let lookup = |keys: &[serde_json::Value]| keys.iter().find(|k| super::kid_of(k) == kid).cloned();
    let cached = VERIFY_KEYS.with(|c| c.borrow().get(set).cloned());
    if let Some((at, keys)) = &cached {
        let age = now - at;
        if age < SIGNING_KEY_CACHE_MS {
            if let Some(k) = lookup(keys) {
                return Ok(Some(k));
            }
            if age < RELOAD_AFTER_MISS_MS {
                return Ok(None);
            }
        }
    }
    let keys: Vec<serde_json::Value> = store::keys::list_set(ctx.p, set)
        .await?
        .iter()
        .filter_map(|k| k.public_jwk.as_deref().and_then(|j| serde_json::from_str(j).ok()))
        .collect();
    let found = lookup(&keys);
    VERIFY_KEYS.with(|c| c.borrow_mut().insert(set.to_string(), (now, keys)));
    Ok(found)
}

/// Forget this isolate's signing keys and the cached JWKS after a key write.
pub async fn invalidate<P: Platform>(ctx: &Ctx<'_, P>) -> ApiResult<()> {
    SIGNING_KEYS.with(|c| c.borrow_mut().clear());
    JWKS.with(Slot::clear);
    VERIFY_KEYS.with(|c| c.borrow_mut().clear());
    store::keys::forget_cached_jwks(ctx.p).await?;
    Ok(())
}

/// How long an isolate serves the public JWKS document it read, before asking KV again. A key
/// write clears the writing isolate's copy at once (and KV's); other isolates see the change
/// within this bound plus KV's (see docs/storage.md).
pub const JWKS_MEMORY_MS: i64 = 10_000;

/// What relying parties and resource servers may do with the JWKS (revalidation is a 304).
/// Short, so a new signing key reaches verifiers quickly (most also refetch on an unknown `kid`).
pub const JWKS_CACHE_CONTROL: &str = "public, max-age=60";

thread_local! {
    static JWKS: Slot<Rc<Tagged>> = const { Slot::new() };
}

/// The public JWKS document with its entity tag: from this isolate's memory (no storage call)
/// when read less than [`JWKS_MEMORY_MS`] ago, else through KV and D1 ([`build_public_jwks`]).
/// Notes in the request log how long the answer stays the same (the shell may replay it).
pub async fn public_jwks<P: Platform>(ctx: &Ctx<'_, P>) -> ApiResult<Rc<Tagged>> {
    let now = ctx.p.now_ms();
    if let Some((doc, until_ms)) = JWKS.with(|d| d.get_until(now, JWKS_MEMORY_MS)) {
        ctx.log.replayable_until(until_ms);
        return Ok(doc);
    }
    let generation = crate::memo::generation();
    let doc = Rc::new(Tagged::new(build_public_jwks(ctx).await?.into_bytes()));
    // A key write in this isolate while this build read the old keys: answer with what was
    // read, but neither keep it nor let it be replayed.
    if crate::memo::generation() == generation {
        JWKS.with(|d| d.put(now, doc.clone()));
        ctx.log.replayable_until(now + JWKS_MEMORY_MS);
    }
    Ok(doc)
}

/// The public JWKS document: from KV when cached, else built from D1 (creating missing sets and
/// the ID-token set's RS256 key).
pub async fn build_public_jwks<P: Platform>(ctx: &Ctx<'_, P>) -> ApiResult<String> {
    if let Ok(Some(doc)) = store::keys::cached_jwks(ctx.p).await {
        return Ok(doc);
    }
    for set in PUBLISHED_SETS {
        ensure_set(ctx, set).await?;
    }
    // Discovery advertises RS256 ID tokens (OpenID Connect Core §15.1): make sure the key that
    // signs them is published before any client asks for one.
    signing_key_for_alg(ctx, ID_TOKEN_SET, "RS256").await?;
    let keys = store::keys::public_keys(ctx.p, &PUBLISHED_SETS).await?;
    let doc = json!({ "keys": keys }).to_string();
    // A failed cache write only costs the next request a D1 read.
    let _ = store::keys::cache_jwks(ctx.p, &doc).await;
    Ok(doc)
}

/// A D1 `jwk` table for unit tests: an ES256 key in each published set, encrypted as stored.
#[cfg(test)]
pub mod test_keys {
    use crate::platform::{PResult, Query, QueryResult, SqlValue};
    use crate::store::keys::StoredKey;
    use crate::testing::{block_on, TestPlatform};
    use serde_json::json;

    pub fn stored(secret: &str, kid: &str) -> StoredKey {
        let p = TestPlatform::new();
        block_on(super::to_stored(&p, secret, &super::super::test_es256(kid, "sig"), 1)).unwrap()
    }

    /// Answers `list_set` with `keys` for every set.
    pub fn sql(keys: Vec<StoredKey>) -> impl Fn(&Query) -> PResult<QueryResult> {
        move |q| {
            let mut r = QueryResult::default();
            if q.sql.contains("FROM jwk WHERE set_id") && matches!(q.params.first(), Some(SqlValue::Text(_))) {
                for k in &keys {
                    let row = json!({"kid": k.kid, "public_jwk": k.public_jwk, "private_jwk_enc": k.private_enc, "created_at": 1});
                    r.rows.push(row.as_object().unwrap().clone());
                }
            }
            Ok(r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::test_config;
    use crate::log::RequestLog;
    use crate::testing::{block_on, TestPlatform};

    #[test]
    fn the_signing_key_is_reused_for_its_bound_then_read_again() {
        let cfg = test_config();
        let p = TestPlatform::with_sql(test_keys::sql(vec![test_keys::stored(cfg.primary_secret(), "k1")]));
        let log = RequestLog::new();
        let ctx = Ctx { cfg: &cfg, p: &p, log: &log };
        assert_eq!(block_on(signing_key(&ctx, ID_TOKEN_SET)).unwrap().kid, "k1");
        let reads = p.count("sql");
        p.advance_ms(SIGNING_KEY_CACHE_MS - 1);
        block_on(signing_key(&ctx, ID_TOKEN_SET)).unwrap();
        assert_eq!(p.count("sql"), reads, "within the bound: from memory");
        p.advance_ms(1);
        block_on(signing_key(&ctx, ID_TOKEN_SET)).unwrap();
        assert!(p.count("sql") > reads, "after it: read again");
    }

    #[test]
    fn verification_keys_are_reused_and_an_unknown_kid_reloads_at_most_every_five_seconds() {
        let cfg = test_config();
        let p = TestPlatform::with_sql(test_keys::sql(vec![test_keys::stored(cfg.primary_secret(), "k1")]));
        let log = RequestLog::new();
        let ctx = Ctx { cfg: &cfg, p: &p, log: &log };
        assert!(block_on(verification_key(&ctx, ACCESS_TOKEN_SET, "k1")).unwrap().is_some());
        assert_eq!(p.count("sql"), 1);
        assert!(block_on(verification_key(&ctx, ACCESS_TOKEN_SET, "forged")).unwrap().is_none());
        assert_eq!(p.count("sql"), 1, "an unknown kid right after a load: no reload");
        p.advance_ms(5_000);
        assert!(block_on(verification_key(&ctx, ACCESS_TOKEN_SET, "forged")).unwrap().is_none());
        assert_eq!(p.count("sql"), 2, "five seconds later an unknown kid reloads");
        p.advance_ms(SIGNING_KEY_CACHE_MS - 1);
        block_on(verification_key(&ctx, ACCESS_TOKEN_SET, "k1")).unwrap();
        assert_eq!(p.count("sql"), 2, "a known kid within the bound: from memory");
        p.advance_ms(1);
        block_on(verification_key(&ctx, ACCESS_TOKEN_SET, "k1")).unwrap();
        assert_eq!(p.count("sql"), 3, "after it: read again");
    }

    #[test]
    fn the_jwks_document_is_served_from_memory_for_its_bound_then_from_kv() {
        let cfg = test_config();
        let p = TestPlatform::new();
        let log = RequestLog::new();
        let ctx = Ctx { cfg: &cfg, p: &p, log: &log };
        // Written to KV as a build would (KV's TTL bounds a copy a lost delete left behind).
        block_on(store::keys::cache_jwks(&p, "{\"keys\":[]}")).unwrap();
        assert!(p.calls.borrow().contains(&format!(
            "kv_put {} {}",
            store::keys::JWKS_CACHE_KEY,
            store::keys::JWKS_CACHE_TTL
        )));
        let first = block_on(public_jwks(&ctx)).unwrap();
        assert_eq!(first.body, b"{\"keys\":[]}");
        assert_eq!(p.count("kv_get"), 1);
        let built_at = p.now_ms();
        assert_eq!(log.replayable_until_ms(), Some(built_at + JWKS_MEMORY_MS));
        p.advance_ms(JWKS_MEMORY_MS - 1);
        let again = block_on(public_jwks(&ctx)).unwrap();
        assert_eq!(log.replayable_until_ms(), Some(built_at + JWKS_MEMORY_MS), "until the copy's end");
        assert_eq!((p.count("kv_get"), &again.etag), (1, &first.etag), "within the bound: from memory");
        // A key write in this isolate forgets both copies at once.
        block_on(store::keys::cache_jwks(&p, "{\"keys\":[1]}")).unwrap();
        p.advance_ms(1);
        let later = block_on(public_jwks(&ctx)).unwrap();
        assert_eq!(p.count("kv_get"), 2, "after the bound: KV again");
        assert_eq!(later.body, b"{\"keys\":[1]}");
        assert_ne!(later.etag, first.etag, "a changed document has another entity tag");
        block_on(invalidate(&ctx)).unwrap();
        assert!(p.count("kv_delete") >= 1);
    }
}
