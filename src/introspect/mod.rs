//! `POST /admin/oauth2/introspect` (RFC 7662, Hydra's `introspectOAuth2Token`): what an access
//! or refresh token stands for, as `introspectedOAuth2Token`. Anything inactive, unknown,
//! expired, revoked or malformed answers `{"active": false}`; so does a token that lacks one of
//! the scopes of the `scope` parameter.
//!
//! * `resolve.rs`: presented token → active token (shared with revocation and userinfo).

pub mod resolve;

use serde_json::{json, Value};

use crate::authorize::scope::covers;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response, OAUTH_JSON};
use crate::platform::Platform;
use crate::token::{form_body, param};
use resolve::{resolve, ActiveToken, Use};

fn inactive() -> Response {
    Response::json_typed(200, &json!({ "active": false }), OAUTH_JSON).no_store()
}

/// The `introspectedOAuth2Token` body of an active token (Hydra's field set and omissions).
pub fn body(t: &ActiveToken, issuer: &str, fallback_exp: i64) -> Value {
    let mut b = json!({
        "active": true,
        "client_id": t.client_id,
        "sub": t.subject,
        "exp": t.expires_at.unwrap_or(fallback_exp),
        "iat": t.issued_at,
        "nbf": t.issued_at,
        "aud": t.audience,
        "iss": issuer,
        "token_type": "Bearer",
        "token_use": t.token_use.as_str(),
    });
    if !t.scopes.is_empty() {
        b["scope"] = json!(t.scopes.join(" "));
    }
    if t.ext.as_object().map(|o| !o.is_empty()).unwrap_or(false) {
        b["ext"] = t.ext.clone();
    }
    // A pairwise client's `sub` in its ID tokens, beside the real subject (Hydra's field).
    if let Some(g) = t.grant.as_ref().filter(|g| !g.obfuscated_subject.is_empty()) {
        b["obfuscated_subject"] = json!(g.obfuscated_subject);
    }
    b
}

/// `POST /admin/oauth2/introspect`
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let form = form_body(req)?;
    let token = param(&form, "token")?;
    if token.is_empty() {
        return Err(ApiError::invalid_request().with_hint("The 'token' parameter is missing."));
    }
    param(&form, "token_type_hint")?;
    let required: Vec<String> =
        param(&form, "scope")?.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect();
    let Some(active) = resolve(ctx, token).await? else {
        return Ok(inactive());
    };
    if !covers(ctx.cfg.scope_strategy, &active.scopes, &required) {
        return Ok(inactive());
    }
    // Hydra's fallback for a token without expiry: issued + the configured lifespan.
    let fallback = match active.token_use {
        Use::RefreshToken if ctx.cfg.ttl.refresh_token > 0 => active.issued_at + ctx.cfg.ttl.refresh_token,
        Use::RefreshToken => 0,
        Use::AccessToken => active.issued_at + ctx.cfg.ttl.access_token,
    };
    Ok(Response::json_typed(200, &body(&active, &ctx.cfg.issuer, fallback), OAUTH_JSON).no_store())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_follows_hydra() {
        let t = ActiveToken {
            token_use: Use::AccessToken,
            client_id: "c".into(),
            subject: "alice".into(),
            scopes: vec![],
            audience: vec![],
            ext: json!({}),
            issued_at: 10,
            expires_at: Some(20),
            grant: None,
            request_id: None,
            jwt: None,
        };
        let b = body(&t, "https://i", 0);
        assert_eq!(b["active"], true);
        assert_eq!(b["token_type"], "Bearer");
        assert_eq!(b["token_use"], "access_token");
        assert_eq!(b["aud"], json!([]));
        assert_eq!(b["nbf"], 10);
        assert!(b.get("scope").is_none() && b.get("ext").is_none(), "omitted when empty: {b}");
    }
}
