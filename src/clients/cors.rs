//! Which client a public request acts for, so its `allowed_cors_origins` can let an origin read
//! the answer (Hydra's `oauth2cors`): the form `client_id`, the Basic-auth user, or the client a
//! bearer access token was issued to.

use serde_json::Value;

use crate::cors;
use crate::crypto::jws;
use crate::crypto::opaque::{self, TokenKind};
use crate::ctx::Ctx;
use crate::http::Request;
use crate::keys::signing::ACCESS_TOKEN_SET;
use crate::platform::Platform;
use crate::store;

/// Does the client this request names allow `origin` (lower-cased)? Any failure: no.
pub async fn allows_origin<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, origin: &str) -> bool {
    let id = match cors::named_client(req) {
        Some(id) => Some(id),
        None => match req.bearer_token() {
            Some(token) if !token.is_empty() => bearer_client(ctx, token).await,
            _ => None,
        },
    };
    let Some(id) = id else { return false };
    if super::validate::check_client_id(&id).is_err() {
        return false;
    }
    match store::clients::get_cached(ctx.p, ctx.cfg.client_cache_ttl, &id).await {
        Ok(Some(c)) => cors::client_allows(&c.client.allowed_cors_origins, origin),
        _ => false,
    }
}

/// The client of a valid, unexpired access token issued here.
async fn bearer_client<P: Platform>(ctx: &Ctx<'_, P>, token: &str) -> Option<String> {
    if let Some(signature) = opaque::verify(&ctx.cfg.system_secrets, TokenKind::AccessToken, token) {
        return store::tokens::access_token_client(ctx.p, &signature, ctx.p.now()).await.ok().flatten();
    }
    let parsed = jws::parse(token)?;
    let kid = parsed.header.get("kid").and_then(Value::as_str)?;
    let alg = parsed.header.get("alg").and_then(Value::as_str)?;
    let keys = store::keys::public_keys(ctx.p, &[ACCESS_TOKEN_SET]).await.ok()?;
    let key = keys.iter().find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))?;
    if key.get("alg").and_then(Value::as_str) != Some(alg) {
        return None;
    }
    if !ctx.p.verify(key, alg, parsed.signing_input.as_bytes(), &parsed.signature).await.unwrap_or(false) {
        return None;
    }
    let claims = &parsed.claims;
    let unexpired = claims.get("exp").and_then(Value::as_i64).map(|e| e > ctx.p.now()).unwrap_or(false);
    let ours = claims.get("iss").and_then(Value::as_str) == Some(ctx.cfg.issuer.as_str());
    if !unexpired || !ours {
        return None;
    }
    claims.get("client_id").and_then(Value::as_str).map(str::to_string)
}
