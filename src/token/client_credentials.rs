//! The `client_credentials` grant (RFC 6749 §4.4): a confidential client gets an access token
//! for itself (`sub` = its id), scoped within its registered `scope` and `audience`; no refresh
//! token, no ID token.
//!
//! This is the edge's hottest path. With JWT access tokens it makes no D1 round trip: the
//! client comes from the KV cache, its secret from the per-isolate verified-secret cache, the
//! signature from WebCrypto, and nothing is written (revocation works through `revoked_jtis`
//! and the client's cutoff time, see `store::tokens`). Opaque tokens are stored.

use serde_json::Value;

use super::hook::{self, HookRequest};
use super::issue::{self, lifetimes, Grant as GrantData, GrantKind};
use super::{audience_param, check_audience, scope_param, Grant, GrantSpec};
use crate::authorize::scope::scope_allowed;
use crate::clients::model::Client;
use crate::crypto::random_hex128;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::platform::Platform;
use crate::store;

pub const SPEC: GrantSpec = GrantSpec {
    grant_type: "client_credentials",
    grant: Grant::ClientCredentials,
    client_authentication: true,
    requires_permission: true,
};

pub async fn exchange<P: Platform>(ctx: &Ctx<'_, P>, client: &Client, form: &Form) -> ApiResult<Value> {
    let requested = scope_param(form)?;
    let allowed = client.scopes();
    if let Some(s) = requested.iter().find(|s| !scope_allowed(ctx.cfg.scope_strategy, &allowed, s)) {
        return Err(
            ApiError::invalid_scope().with_hint(format!("The OAuth 2.0 Client is not allowed to request scope '{s}'."))
        );
    }
    let audience = audience_param(form)?;
    check_audience(client, &audience)?;
    if client.is_public() {
        return Err(ApiError::invalid_grant().with_hint(
            "The OAuth 2.0 Client is marked as public and is thus not allowed to use authorization grant 'client_credentials'.",
        ));
    }
    let scopes = if requested.is_empty() && ctx.cfg.client_credentials_default_scope {
        allowed.iter().map(|s| s.to_string()).collect()
    } else {
        requested.clone()
    };
    let now = ctx.p.now();
    let lt = lifetimes(ctx.cfg, client, GrantKind::ClientCredentials);
    let mut grant = GrantData {
        request_id: random_hex128(),
        client_id: client.client_id.clone(),
        subject: client.client_id.clone(),
        scopes,
        audience,
        requested_at: now,
        ..Default::default()
    };
    hook::run(
        ctx,
        &mut grant,
        &HookRequest {
            grant_type: SPEC.grant_type,
            requested_scopes: &requested,
            assertion: None,
            access_expires_at: now + lt.access,
            id_token_expires_at: None,
            refresh_expires_at: None,
        },
    )
    .await?;
    let access = issue::access_token(ctx, client, &grant, lt.access).await?;
    if access.jti().is_none() {
        store::tokens::insert_tokens(ctx.p, std::slice::from_ref(&access.row)).await?;
    }
    Ok(super::body(&access.token, lt.access, &grant.scopes, None, None))
}
