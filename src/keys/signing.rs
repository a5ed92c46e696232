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
pub async fn public_jwks<P: Platform>(ctx: &Ctx<'_, P>) -> ApiResult<Rc<Tagged>> {
    let now = ctx.p.now_ms();
    if let Some(doc) = JWKS.with(|d| d.get(now, JWKS_MEMORY_MS)) {
        return Ok(doc);
    }
    let doc = Rc::new(Tagged::new(build_public_jwks(ctx).await?.into_bytes()));
    JWKS.with(|d| d.put(now, doc.clone()));
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
