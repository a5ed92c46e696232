//! The device code grant (`urn:ietf:params:oauth:grant-type:device_code`, RFC 8628 §3.4–3.5).
//!
//! The device polls with its `ory_dc_` code. While the user has not finished, the answer is
//! `authorization_pending`; a poll sooner than the interval is `slow_down`, and the interval
//! grows by 5 seconds for every one (recorded in D1 with a compare-and-set on the last poll, so
//! concurrent polls cannot both pass). A denied request is `access_denied`, an expired one
//! `expired_token`. Once accepted, the code is redeemed together with the tokens in one D1
//! transaction that only the first request wins; a second redemption is `invalid_grant` and
//! revokes every token of the grant (as a replayed authorization code does).

use serde_json::Value;

use super::issue::{self, Grant as GrantData, GrantKind};
use super::{param, Grant, GrantSpec};
use crate::clients::model::Client;
use crate::crypto::opaque::{self, TokenKind};
use crate::crypto::random_hex128;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::platform::Platform;
use crate::store;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub const SPEC: GrantSpec = GrantSpec {
    grant_type: GRANT_TYPE,
    grant: Grant::DeviceCode,
    client_authentication: true,
    requires_permission: true,
};

/// Polls this much earlier than the interval still count as on time (network jitter).
const POLL_TOLERANCE_MS: i64 = 500;

fn replayed() -> ApiError {
    ApiError::invalid_grant().with_hint("The device code has already been used.")
}

/// Is a poll at `now_ms` too soon after `last_ms` for an interval of `interval` seconds?
pub fn too_soon(last_ms: Option<i64>, interval: i64, now_ms: i64) -> bool {
    last_ms.map(|last| now_ms - last < interval * 1000 - POLL_TOLERANCE_MS).unwrap_or(false)
}

pub async fn exchange<P: Platform>(ctx: &Ctx<'_, P>, client: &Client, form: &Form) -> ApiResult<Value> {
    let code = param(form, "device_code")?;
    if code.is_empty() {
        return Err(ApiError::invalid_request().with_hint("The 'device_code' parameter is missing."));
    }
    let signature = opaque::verify(&ctx.cfg.system_secrets, TokenKind::DeviceCode, code).ok_or_else(|| {
        ApiError::invalid_grant().with_hint("The device code is malformed or was not issued by this server.")
    })?;
    let row = store::devices::by_signature(ctx.p, &signature)
        .await?
        .ok_or_else(|| ApiError::invalid_grant().with_hint("The device code is unknown or has expired."))?;
    if row.client_id != client.client_id {
        return Err(ApiError::invalid_grant().with_hint(
            "The OAuth 2.0 Client ID from this request does not match the one from the authorize request.",
        ));
    }
    let now = ctx.p.now();
    if row.state == "used" {
        if let Some(id) = &row.consent_request_id {
            store::tokens::revoke_chain(ctx.p, id).await?;
        }
        return Err(replayed());
    }
    if row.expires_at <= now {
        return Err(ApiError::expired_token().with_hint("The device code has expired; start again."));
    }
    match row.state.as_str() {
        "rejected" => {
            return Err(ApiError::access_denied().with_hint("The user denied the authorization of this device."))
        }
        "pending" => {
            let now_ms = ctx.p.now_ms();
            if too_soon(row.last_polled_at, row.poll_interval, now_ms)
                || !store::devices::record_poll(ctx.p, &signature, row.last_polled_at, now_ms).await?
            {
                store::devices::slow_down(ctx.p, &signature, now_ms).await?;
                return Err(ApiError::slow_down().with_hint(format!(
                    "Ensure that you don't call the token endpoint sooner than the polling interval; wait at least {} seconds between requests.",
                    (row.poll_interval + 5).min(300)
                )));
            }
            return Err(ApiError::authorization_pending());
        }
        "accepted" => {}
        _ => return Err(ApiError::invalid_grant().with_hint("The device code is not valid.")),
    }

    let mut grant: GrantData = row
        .grant_data
        .as_deref()
        .and_then(|g| serde_json::from_str(g).ok())
        .ok_or_else(|| ApiError::server_error().with_debug("accepted device code without a grant"))?;
    let requested = row.scope.clone();
    let tokens = issue::user_tokens(ctx, client, &mut grant, GrantKind::DeviceCode, GRANT_TYPE, &requested).await?;
    let rows = tokens.rows();
    if !store::devices::redeem(ctx.p, &signature, &random_hex128(), now, &rows).await? {
        // Another request redeemed it between our read and our write.
        store::tokens::revoke_chain(ctx.p, &grant.request_id).await?;
        return Err(replayed());
    }
    Ok(tokens.body(&grant.scopes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_interval() {
        assert!(!too_soon(None, 5, 1_000));
        assert!(too_soon(Some(1_000), 5, 2_000));
        assert!(too_soon(Some(1_000), 5, 5_400));
        assert!(!too_soon(Some(1_000), 5, 5_500), "half a second of jitter is fine");
        assert!(!too_soon(Some(1_000), 5, 6_000));
        assert!(too_soon(Some(1_000), 10, 8_000));
    }
}
