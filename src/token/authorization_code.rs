//! The `authorization_code` grant (RFC 6749 §4.1.3, PKCE RFC 7636, OIDC Core §3.1.3).
//!
//! The code is looked up by its HMAC signature, checked (client, redirect URI, PKCE, expiry),
//! and redeemed with the tokens it yields in one D1 transaction that only succeeds for the
//! first request. A second redemption, sequential or concurrent from another location, is
//! `invalid_grant` and revokes every token issued under the grant (RFC 6749 §10.5).

use serde_json::Value;

use super::issue::{self, GrantKind};
use super::{Grant, GrantSpec};
use crate::authorize::{pkce, CodeData};
use crate::clients::model::Client;
use crate::crypto::opaque::{self, TokenKind};
use crate::crypto::random_hex128;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::platform::Platform;
use crate::store;

pub const SPEC: GrantSpec = GrantSpec {
    grant_type: "authorization_code",
    grant: Grant::AuthorizationCode,
    client_authentication: true,
    requires_permission: true,
};

fn replayed() -> ApiError {
    ApiError::invalid_grant().with_hint("The authorization code has already been used.")
}

pub async fn exchange<P: Platform>(ctx: &Ctx<'_, P>, client: &Client, form: &Form) -> ApiResult<Value> {
    let param = |n: &str| {
        form.get(n)
            .map(|v| v.unwrap_or("").to_string())
            .map_err(|e| ApiError::invalid_request().with_hint(e.to_string()))
    };
    let code = param("code")?;
    if code.is_empty() {
        return Err(ApiError::invalid_request().with_hint("The 'code' parameter is missing."));
    }
    let signature = opaque::verify(&ctx.cfg.system_secrets, TokenKind::AuthorizeCode, &code).ok_or_else(|| {
        ApiError::invalid_grant().with_hint("The authorization code is malformed or was not issued by this server.")
    })?;
    let row = store::tokens::get_code(ctx.p, &signature)
        .await?
        .ok_or_else(|| ApiError::invalid_grant().with_hint("The authorization code is unknown or has expired."))?;
    let now = ctx.p.now();
    if row.used_at.is_some() {
        store::tokens::revoke_chain(ctx.p, &row.request_id).await?;
        return Err(replayed());
    }
    if row.expires_at <= now {
        return Err(ApiError::invalid_grant().with_hint("The authorization code has expired."));
    }
    if row.client_id != client.client_id {
        return Err(ApiError::invalid_grant().with_hint("The authorization code was issued to another client."));
    }
    let data: CodeData =
        serde_json::from_str(&row.data).map_err(|e| ApiError::server_error().with_debug(e.to_string()))?;
    let redirect_uri = param("redirect_uri")?;
    if data.redirect_uri_given && redirect_uri != data.redirect_uri {
        return Err(ApiError::invalid_grant()
            .with_hint("The 'redirect_uri' parameter does not match the one of the authorization request."));
    }
    if !data.redirect_uri_given && !redirect_uri.is_empty() && redirect_uri != data.redirect_uri {
        return Err(ApiError::invalid_grant()
            .with_hint("The 'redirect_uri' parameter does not match the authorization request."));
    }
    pkce::verify(&data.code_challenge, &param("code_verifier")?)?;

    // Mint before redeeming: the redemption and the token rows then commit together.
    let mut grant = data.grant;
    let requested = grant.originally_requested();
    let tokens =
        issue::user_tokens(ctx, client, &mut grant, GrantKind::AuthorizationCode, SPEC.grant_type, &requested).await?;
    let rows = tokens.rows();
    if !store::tokens::redeem_code(ctx.p, &signature, &random_hex128(), now, &rows).await? {
        // Another request redeemed it between our read and our write: a replay race.
        store::tokens::revoke_chain(ctx.p, &row.request_id).await?;
        return Err(replayed());
    }
    Ok(tokens.body(&grant.scopes))
}
