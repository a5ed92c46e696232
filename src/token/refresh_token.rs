//! The `refresh_token` grant (RFC 6749 §6) with Hydra's rotation rules.
//!
//! Every use rotates: a new access and refresh token replace the presented one. The refresh
//! token is redeemed by one conditional D1 UPDATE, and its successors are inserted in the same
//! transaction only when that UPDATE was this request's, so concurrent redemptions yield exactly
//! one new pair. A used token presented again (outside the grace period) is reuse: the whole
//! chain of the grant is revoked (RFC 9700 §4.14.2). Within
//! `OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD` (and under its reuse count) a used token
//! still works and revokes only the access token issued with it.
//!
//! `scope` may narrow the new access token's scope (never widen it); the refresh token keeps the
//! scope of the original grant (RFC 6749 §6).

use serde_json::Value;

use super::hook::{self, HookRequest};
use super::issue::{self, lifetimes, Grant as GrantData, GrantKind};
use super::{check_audience, param, scope_param, Grant, GrantSpec};
use crate::authorize::scope::scope_allowed;
use crate::clients::model::Client;
use crate::crypto::opaque::{self, TokenKind};
use crate::crypto::random_hex128;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::platform::Platform;
use crate::store;
use crate::store::tokens::{Grace, StoredToken};

pub const SPEC: GrantSpec = GrantSpec {
    grant_type: "refresh_token",
    grant: Grant::RefreshToken,
    client_authentication: true,
    requires_permission: true,
};

fn not_valid() -> ApiError {
    ApiError::invalid_grant().with_hint("The refresh token is malformed or not valid.")
}

/// `scope_not_granted` (403): Hydra's answer when neither `offline` nor `offline_access` was
/// granted.
fn scope_not_granted() -> ApiError {
    ApiError::new(403, "scope_not_granted", "The token was not granted the requested scope.").with_hint(
        "The OAuth 2.0 Client was not granted scope offline or offline_access and may thus not perform the 'refresh_token' authorization grant.",
    )
}

/// May a used refresh token still be redeemed (inside the grace period and reuse count)?
pub fn within_grace(row: &StoredToken, grace: Option<Grace>, now: i64) -> bool {
    let Some(g) = grace else { return false };
    row.first_used_at.map(|first| first + g.period > now).unwrap_or(false) && (g.count == 0 || row.used_times < g.count)
}

/// The scope of the new access token: the granted scope, or the narrower one requested.
pub fn narrowed_scope(
    strategy: crate::config::ScopeStrategy,
    granted: &[String],
    requested: &[String],
) -> ApiResult<Vec<String>> {
    if requested.is_empty() {
        return Ok(granted.to_vec());
    }
    let g: Vec<&str> = granted.iter().map(String::as_str).collect();
    match requested.iter().find(|r| !scope_allowed(strategy, &g, r)) {
        Some(r) => Err(ApiError::invalid_scope().with_hint(format!(
            "The requested scope '{r}' was not granted by the resource owner and cannot be added on refresh."
        ))),
        None => Ok(requested.to_vec()),
    }
}

pub async fn exchange<P: Platform>(ctx: &Ctx<'_, P>, client: &Client, form: &Form) -> ApiResult<Value> {
    let presented = param(form, "refresh_token")?;
    if presented.is_empty() {
        return Err(ApiError::invalid_request().with_hint("The 'refresh_token' parameter is missing."));
    }
    let requested = scope_param(form)?;
    let signature =
        opaque::verify(&ctx.cfg.system_secrets, TokenKind::RefreshToken, presented).ok_or_else(not_valid)?;
    let row = store::tokens::get_token(ctx.p, &signature)
        .await?
        .filter(|r| r.kind == "refresh_token")
        .ok_or_else(not_valid)?;
    let now = ctx.p.now();
    let grace = (ctx.cfg.refresh_grace_period > 0)
        .then_some(Grace { period: ctx.cfg.refresh_grace_period, count: ctx.cfg.refresh_grace_reuse_count });
    if !row.active && !within_grace(&row, grace, now) {
        store::tokens::revoke_chain(ctx.p, &row.request_id).await?;
        return Err(ApiError::invalid_grant().with_hint("The refresh token was already used."));
    }
    if row.expires_at.map(|e| e <= now).unwrap_or(false) {
        return Err(ApiError::invalid_grant().with_hint("The refresh token expired."));
    }
    let mut grant: GrantData =
        serde_json::from_str(&row.data).map_err(|e| ApiError::server_error().with_debug(e.to_string()))?;
    if !grant.wants_refresh() {
        return Err(scope_not_granted());
    }
    if row.client_id != client.client_id {
        return Err(ApiError::invalid_grant().with_hint(
            "The OAuth 2.0 Client ID from this request does not match the ID during the initial token issuance.",
        ));
    }
    // The client may have lost scopes or audiences since the grant.
    let allowed = client.scopes();
    if let Some(s) = grant.scopes.iter().find(|s| !scope_allowed(ctx.cfg.scope_strategy, &allowed, s)) {
        return Err(
            ApiError::invalid_scope().with_hint(format!("The OAuth 2.0 Client is not allowed to request scope '{s}'."))
        );
    }
    check_audience(client, &grant.audience)?;
    let access_scopes = narrowed_scope(ctx.cfg.scope_strategy, &grant.scopes, &requested)?;

    let lt = lifetimes(ctx.cfg, client, GrantKind::RefreshToken);
    let openid = access_scopes.iter().any(|s| s == "openid");
    // The hook is told what the authorization request asked for (fosite's requested scopes of
    // the original request), not this request's narrowing `scope`.
    let originally_requested = grant.originally_requested();
    hook::run(
        ctx,
        &mut grant,
        &HookRequest {
            grant_type: SPEC.grant_type,
            requested_scopes: &originally_requested,
            assertion: None,
            access_expires_at: now + lt.access,
            id_token_expires_at: openid.then_some(now + lt.id),
            refresh_expires_at: lt.refresh.map(|l| now + l),
        },
    )
    .await?;
    let mut access_grant = grant.clone();
    access_grant.scopes = access_scopes;
    let access = issue::access_token(ctx, client, &access_grant, lt.access).await?;
    let refresh = issue::refresh_token(ctx.cfg, &grant, now, lt.refresh, &access);
    let id_token = if openid {
        Some(issue::id_token(ctx, client, &access_grant, lt.id, Some(&access.token), None).await?)
    } else {
        None
    };
    let rows = [access.row.clone(), refresh.row.clone()];
    if !store::tokens::rotate_refresh(ctx.p, &signature, &row.request_id, &random_hex128(), now, grace, &rows).await? {
        return Err(ApiError::invalid_request().with_hint(
            "Failed to refresh token because of multiple concurrent requests using the same token. Please retry the request.",
        ));
    }
    Ok(super::body(&access.token, lt.access, &access_grant.scopes, Some(&refresh.token), id_token.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScopeStrategy;

    fn row(active: bool, first_used_at: Option<i64>, used_times: i64) -> StoredToken {
        StoredToken {
            signature: "s".into(),
            kind: "refresh_token".into(),
            request_id: "r".into(),
            client_id: "c".into(),
            subject: "u".into(),
            data: "{}".into(),
            issued_at: 0,
            expires_at: None,
            active,
            first_used_at,
            used_times,
        }
    }

    #[test]
    fn grace_period_and_reuse_count() {
        let g = Some(Grace { period: 30, count: 0 });
        assert!(!within_grace(&row(false, Some(100), 1), None, 101), "no grace: strict");
        assert!(within_grace(&row(false, Some(100), 1), g, 129));
        assert!(!within_grace(&row(false, Some(100), 1), g, 130));
        let limited = Some(Grace { period: 30, count: 2 });
        assert!(within_grace(&row(false, Some(100), 1), limited, 110));
        assert!(!within_grace(&row(false, Some(100), 2), limited, 110));
    }

    #[test]
    fn scope_can_only_narrow() {
        let granted = vec!["openid".to_string(), "offline".to_string(), "photos.*".to_string()];
        let s = ScopeStrategy::Wildcard;
        assert_eq!(narrowed_scope(s, &granted, &[]).unwrap(), granted);
        assert_eq!(narrowed_scope(s, &granted, &["openid".into()]).unwrap(), vec!["openid"]);
        assert_eq!(narrowed_scope(s, &granted, &["photos.read".into()]).unwrap(), vec!["photos.read"]);
        assert_eq!(narrowed_scope(s, &granted, &["email".into()]).unwrap_err().error, "invalid_scope");
    }
}
