//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3): the claims of the access token's subject,
//! as Hydra builds them: the ID-token claims of the grant (`sub`, `iss`, `aud`, `iat`, `rat`,
//! `auth_time`, `acr`, `amr`) plus the consent's `session.id_token` claims, without `nonce`,
//! `at_hash`, `c_hash`, `exp`, `sid` and `jti`. A client registered with
//! `userinfo_signed_response_alg` ES256 or RS256 gets them as a signed JWT (`application/jwt`).
//!
//! The token comes in the `Authorization: Bearer` header or, for POST, as the form parameter
//! `access_token` (RFC 6750 §2.1–2.2), never both. Failures are 401 with
//! `WWW-Authenticate: Bearer error="…",error_description="…"`.

use serde_json::{json, Map, Value};

use crate::crypto::{jws, uuid_v4};
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::http::{Method, Request, Response, JSON};
use crate::introspect::resolve::{resolve, ActiveToken, Use};
use crate::platform::Platform;
use crate::store;
use crate::token::issue::{id_token_claims, id_token_key};

/// 401 `invalid_token` with the `WWW-Authenticate` challenge.
fn unauthorized(ctx_expose: bool, hint: &str) -> Response {
    let e = ApiError::new(
        401,
        "invalid_token",
        "The access token provided is expired, revoked, malformed, or invalid for other reasons.",
    )
    .with_hint(hint);
    let challenge = format!(
        "Bearer error=\"invalid_token\",error_description=\"{}\"",
        crate::error::sanitize(&e.full_description(false))
    );
    e.oauth_response(ctx_expose).with_header("www-authenticate", &challenge)
}

/// The presented access token: header or form body, exactly one.
fn presented(req: &Request) -> Result<String, &'static str> {
    let header = req.bearer_token().map(str::to_string);
    let mut body = None;
    if req.method == Method::Post && req.content_type() == "application/x-www-form-urlencoded" {
        let form = Form::parse(&req.body).map_err(|_| "The request body is not a valid form.")?;
        body = form
            .get("access_token")
            .map_err(|_| "The 'access_token' parameter must not be repeated.")?
            .map(str::to_string);
    }
    match (header, body) {
        (Some(_), Some(_)) => Err("The access token must be sent in the header or in the body, not both."),
        (Some(t), None) | (None, Some(t)) if !t.is_empty() => Ok(t),
        _ => Err("No access token was sent: use 'Authorization: Bearer <token>'."),
    }
}

/// The userinfo claims of an active access token (Hydra's selection).
pub fn claims(issuer: &str, t: &ActiveToken, now: i64) -> Map<String, Value> {
    let mut out = match &t.grant {
        Some(g) => {
            let Value::Object(mut c) = id_token_claims(issuer, g, t.issued_at, now, "", "ES256", None, None) else {
                return Map::new();
            };
            for k in ["nonce", "at_hash", "c_hash", "exp", "sid", "jti"] {
                c.remove(k);
            }
            c
        }
        None => {
            let mut c = Map::new();
            c.insert("sub".into(), json!(t.subject));
            c
        }
    };
    out.insert("aud".into(), json!([t.client_id]));
    out
}

pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let expose = ctx.cfg.expose_internal_errors;
    let token = match presented(req) {
        Ok(t) => t,
        Err(hint) => return Ok(unauthorized(expose, hint)),
    };
    let Some(active) = resolve(ctx, &token).await? else {
        return Ok(unauthorized(expose, "The access token is unknown, expired, revoked or malformed."));
    };
    if active.token_use != Use::AccessToken {
        return Ok(unauthorized(expose, "Only access tokens are allowed in the authorization header."));
    }
    let Some(client) =
        store::clients::get_cached(ctx.p, ctx.cfg.client_cache_ttl, &active.client_id).await?.map(|c| c.client)
    else {
        return Ok(unauthorized(expose, "The client the access token was issued to no longer exists."));
    };
    let now = ctx.p.now();
    let mut body = claims(&ctx.cfg.issuer, &active, now);
    match client.userinfo_signed_response_alg.as_str() {
        alg @ ("ES256" | "RS256") => {
            body.insert("jti".into(), json!(uuid_v4()));
            body.insert("iat".into(), json!(now));
            let key = id_token_key(ctx, alg).await?;
            let jwt = jws::sign(ctx.p, &key, "JWT", &Value::Object(body)).await?;
            Ok(Response::new(200)
                .with_header("content-type", "application/jwt")
                .with_body(jwt.into_bytes())
                .no_store()
                .with_nosniff())
        }
        _ => Ok(Response::json_typed(200, &body, JSON).no_store()),
    }
}
