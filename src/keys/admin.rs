//! `/admin/keys/{set}` and `/admin/keys/{set}/{kid}`: Hydra's JSON Web Key admin API.
//! Responses include private key material, so these routes exist only behind the admin token.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{from_stored, generate_hmac, kid_of, signing, to_stored, validate_fully, GENERATABLE_ALGS};
use crate::crypto::uuid_v4;
use crate::ctx::{parse_json, parse_json_object, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::store;
use crate::store::keys::StoredKey;

/// At most this many keys in one `PUT /admin/keys/{set}`.
const MAX_KEYS_PER_SET: usize = 64;

#[derive(Deserialize)]
struct CreateKey {
    #[serde(default)]
    alg: String,
    #[serde(default, rename = "use")]
    use_: String,
    #[serde(default)]
    kid: String,
}

#[derive(Deserialize)]
struct KeySet {
    keys: Vec<Value>,
}

fn check_set_name(set: &str) -> ApiResult<()> {
    if set.is_empty() || set.len() > 255 || set.chars().any(|c| c.is_control()) {
        return Err(ApiError::bad_request("The key set name must be 1 to 255 printable characters."));
    }
    Ok(())
}

async fn decrypt_all<P: Platform>(ctx: &Ctx<'_, P>, stored: &[StoredKey]) -> ApiResult<Vec<Value>> {
    let mut out = Vec::with_capacity(stored.len());
    for k in stored {
        out.push(from_stored(ctx.p, &ctx.cfg.system_secrets, k).await?.ok_or_else(|| {
            ApiError::internal(format!("key {} cannot be decrypted with any secret in SECRETS_SYSTEM", k.kid))
        })?);
    }
    Ok(out)
}

/// `GET /admin/keys/{set}`: every key, private parts included, newest first.
pub async fn get_set<P: Platform>(ctx: &Ctx<'_, P>, set: &str) -> ApiResult<Response> {
    let stored = store::keys::list_set(ctx.p, set).await?;
    if stored.is_empty() {
        return Err(ApiError::not_found().with_description(format!("The JSON Web Key Set {set} does not exist.")));
    }
    Ok(Response::json(200, &json!({ "keys": decrypt_all(ctx, &stored).await? })))
}

/// `POST /admin/keys/{set}`: generate a key and add it to the set.
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, set: &str, req: &Request) -> ApiResult<Response> {
    check_set_name(set)?;
    let body: CreateKey = parse_json_object(req)?;
    if !GENERATABLE_ALGS.contains(&body.alg.as_str()) {
        return Err(ApiError::new(400, "Bad Request", "Unsupported key algorithm")
            .with_hint(format!("Supported algorithms: {}.", GENERATABLE_ALGS.join(", "))));
    }
    let use_ = if body.use_.is_empty() { "sig".to_string() } else { body.use_ };
    if use_ != "sig" && use_ != "enc" {
        return Err(ApiError::bad_request("The key use must be \"sig\" or \"enc\"."));
    }
    let kid = if body.kid.is_empty() { uuid_v4() } else { body.kid };
    if kid.len() > 255 {
        return Err(ApiError::bad_request("The kid must not be longer than 255 characters."));
    }
    let jwk = match body.alg.as_str() {
        "HS256" | "HS512" => generate_hmac(&body.alg, &kid, &use_),
        alg => {
            let mut jwk = ctx.p.generate_jwk(alg).await?;
            super::annotate(&mut jwk, &kid, alg, &use_);
            jwk
        }
    };
    let stored = to_stored(ctx.p, ctx.cfg.primary_secret(), &jwk, ctx.p.now()).await?;
    if !store::keys::insert(ctx.p, set, &stored).await? {
        return Err(ApiError::conflict(format!("The key set {set} already has a key with kid {kid}.")));
    }
    signing::invalidate(ctx).await?;
    Ok(Response::json(201, &json!({ "keys": [jwk] })))
}

/// `PUT /admin/keys/{set}`: replace the whole set.
pub async fn replace_set<P: Platform>(ctx: &Ctx<'_, P>, set: &str, req: &Request) -> ApiResult<Response> {
    check_set_name(set)?;
    let body: KeySet = parse_json_object(req)?;
    if body.keys.len() > MAX_KEYS_PER_SET {
        return Err(ApiError::bad_request(format!("A key set holds at most {MAX_KEYS_PER_SET} keys.")));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, k) in body.keys.iter().enumerate() {
        validate_fully(ctx.p, k).await?.map_err(|e| ApiError::bad_request(format!("keys[{i}]: {e}")))?;
        if !seen.insert(kid_of(k)) {
            return Err(ApiError::bad_request(format!("keys[{i}]: the kid {} appears twice", kid_of(k))));
        }
    }
    let now = ctx.p.now();
    // The first key of the document is the newest, so it is inserted last.
    let mut stored: Vec<StoredKey> = Vec::with_capacity(body.keys.len());
    for k in body.keys.iter().rev() {
        stored.push(to_stored(ctx.p, ctx.cfg.primary_secret(), k, now).await?);
    }
    store::keys::replace_set(ctx.p, set, &stored).await?;
    signing::invalidate(ctx).await?;
    Ok(Response::json(200, &json!({ "keys": body.keys })))
}

/// `DELETE /admin/keys/{set}`.
pub async fn delete_set<P: Platform>(ctx: &Ctx<'_, P>, set: &str) -> ApiResult<Response> {
    store::keys::delete_set(ctx.p, set).await?;
    signing::invalidate(ctx).await?;
    Ok(Response::new(204))
}

/// `GET /admin/keys/{set}/{kid}`: a set holding just that key.
pub async fn get_key<P: Platform>(ctx: &Ctx<'_, P>, set: &str, kid: &str) -> ApiResult<Response> {
    let stored = store::keys::get(ctx.p, set, kid).await?.ok_or_else(|| {
        ApiError::not_found().with_description(format!("The JSON Web Key {kid} does not exist in set {set}."))
    })?;
    Ok(Response::json(200, &json!({ "keys": decrypt_all(ctx, &[stored]).await? })))
}

/// `PUT /admin/keys/{set}/{kid}`: insert or replace one key; the body's `kid` wins.
pub async fn put_key<P: Platform>(ctx: &Ctx<'_, P>, set: &str, kid: &str, req: &Request) -> ApiResult<Response> {
    check_set_name(set)?;
    let mut jwk: Value = parse_json(req)?;
    if jwk.is_object() && kid_of(&jwk).is_empty() {
        jwk["kid"] = json!(kid);
    }
    validate_fully(ctx.p, &jwk).await?.map_err(ApiError::bad_request)?;
    store::keys::upsert(ctx.p, set, &to_stored(ctx.p, ctx.cfg.primary_secret(), &jwk, ctx.p.now()).await?).await?;
    signing::invalidate(ctx).await?;
    Ok(Response::json(200, &jwk))
}

/// `DELETE /admin/keys/{set}/{kid}`.
pub async fn delete_key<P: Platform>(ctx: &Ctx<'_, P>, set: &str, kid: &str) -> ApiResult<Response> {
    store::keys::delete_key(ctx.p, set, kid).await?;
    signing::invalidate(ctx).await?;
    Ok(Response::new(204))
}
