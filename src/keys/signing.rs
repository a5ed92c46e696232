//! The signing key sets and the public JWKS document.
//!
//! Each set gets one ES256 key on first use. Bootstrap is one conditional D1 insert
//! ([`store::keys::insert_if_set_empty`]), so isolates racing on a fresh deployment end with one
//! key per set. Tokens are signed with the newest usable private key of the set; each isolate
//! keeps the imported key for [`SIGNING_KEY_CACHE_MS`] so a rotation reaches every isolate within
//! that bound.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::json;

use super::{from_stored, generate_es256, signing_alg, to_stored};
use crate::ctx::Ctx;
use crate::crypto::uuid_v4;
use crate::error::{ApiError, ApiResult};
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
    let jwk = generate_es256(&uuid_v4(), "sig");
    let stored = to_stored(ctx.cfg.primary_secret(), &jwk, ctx.p.now());
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
    let key = keys
        .iter()
        .filter_map(|k| from_stored(&ctx.cfg.system_secrets, k))
        .find_map(|jwk| signing_alg(&jwk).map(|alg| SigningKey { kid: super::kid_of(&jwk), alg, jwk }))
        .ok_or_else(|| {
            ApiError::server_error().with_debug(format!(
                "the key set {set} holds no private key this server can sign with (or none that SECRETS_SYSTEM decrypts); add one with POST /admin/keys/{set}"
            ))
        })?;
    SIGNING_KEYS.with(|c| c.borrow_mut().insert(set.to_string(), (now, key.clone())));
    Ok(key)
}

/// Forget this isolate's signing keys and the cached JWKS after a key write.
pub async fn invalidate<P: Platform>(ctx: &Ctx<'_, P>) -> ApiResult<()> {
    SIGNING_KEYS.with(|c| c.borrow_mut().clear());
    store::keys::forget_cached_jwks(ctx.p).await?;
    Ok(())
}

/// The public JWKS document: from KV when cached, else built from D1 (creating missing sets).
pub async fn public_jwks<P: Platform>(ctx: &Ctx<'_, P>) -> ApiResult<String> {
    if let Ok(Some(doc)) = store::keys::cached_jwks(ctx.p).await {
        return Ok(doc);
    }
    for set in PUBLISHED_SETS {
        ensure_set(ctx, set).await?;
    }
    let keys = store::keys::public_keys(ctx.p, &PUBLISHED_SETS).await?;
    let doc = json!({ "keys": keys }).to_string();
    // A failed cache write only costs the next request a D1 read.
    let _ = store::keys::cache_jwks(ctx.p, &doc).await;
    Ok(doc)
}
