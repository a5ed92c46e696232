//! `POST /oauth2/device/auth`: the device authorization endpoint (RFC 8628 §3.1–3.2).
//!
//! The client authenticates as at the token endpoint (public clients send `client_id`), must
//! hold the device grant, and may ask only for scopes and audiences it is allowed. The answer
//! carries a fresh `ory_dc_` device code and a user code; D1 stores only their signatures.

use serde_json::json;

use super::user_code;
use crate::authorize::scope::scope_allowed;
use crate::crypto::opaque::{self, TokenKind};
use crate::crypto::random_hex128;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response, OAUTH_JSON};
use crate::platform::Platform;
use crate::store;
use crate::store::devices::DeviceRow;
use crate::token::{self, device_code::GRANT_TYPE};

/// Fresh user codes drawn before giving up (a collision with a live code is rare; Hydra: 3).
const USER_CODE_TRIES: usize = 3;

pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let form = token::form_body(req)?;
    let client = match token::authenticate_client(ctx, req, &form).await? {
        Ok(client) => client,
        Err(denied) => return Ok(denied),
    };
    ctx.log.client(&client.client_id);
    if token::param(&form, "client_id")? != client.client_id {
        return Err(ApiError::invalid_request().with_hint("Provided client_id mismatch."));
    }
    if !client.has_grant(GRANT_TYPE) {
        return Err(ApiError::invalid_grant()
            .with_hint(format!("The requested OAuth 2.0 Client does not have the '{GRANT_TYPE}' grant.")));
    }
    let scopes = token::scope_param(&form)?;
    let allowed = client.scopes();
    if let Some(bad) = scopes.iter().find(|s| !scope_allowed(ctx.cfg.scope_strategy, &allowed, s)) {
        return Err(ApiError::invalid_scope()
            .with_hint(format!("The OAuth 2.0 Client is not allowed to request scope '{bad}'.")));
    }
    let audience = token::audience_param(&form)?;
    token::check_audience(&client, &audience)?;

    let now = ctx.p.now();
    let device = ctx.cfg.device.clone();
    let code = opaque::generate(ctx.cfg.primary_secret(), TokenKind::DeviceCode);
    let mut row = DeviceRow {
        signature: code.signature,
        user_code_signature: String::new(),
        request_id: random_hex128(),
        client_id: client.client_id.clone(),
        scope: scopes,
        audience,
        requested_at: now,
        expires_at: now + ctx.cfg.ttl.device_user_code,
        state: "pending".into(),
        consent_request_id: None,
        grant_data: None,
        last_polled_at: None,
        poll_interval: device.polling_interval,
    };
    let mut issued = None;
    for _ in 0..USER_CODE_TRIES {
        let typed = user_code::generate(device.user_code_length, device.user_code_alphabet);
        row.user_code_signature = user_code::signature(ctx.cfg.primary_secret(), &typed);
        if store::devices::insert(ctx.p, &row).await? {
            issued = Some(typed);
            break;
        }
    }
    let user_code = issued.ok_or_else(|| {
        ApiError::server_error().with_debug(format!("no free user code after {USER_CODE_TRIES} attempts"))
    })?;
    let verification_uri = ctx.cfg.public("/oauth2/device/verify");
    let complete = crate::http::add_query(&verification_uri, &[("user_code", &user_code)]);
    ctx.log.flow_started("device");
    Ok(Response::json_typed(
        200,
        &json!({
            "device_code": code.token,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": complete,
            "expires_in": ctx.cfg.ttl.device_user_code,
            "interval": device.polling_interval,
        }),
        OAUTH_JSON,
    )
    .no_store())
}
