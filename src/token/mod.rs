//! `/oauth2/token`: the token endpoint.
//!
//! * `issue.rs`: minting access, refresh and ID tokens.
//! * `authorization_code.rs`: the `authorization_code` grant.

pub mod authorization_code;
pub mod issue;

use serde_json::{json, Value};

use crate::ctx::Ctx;
use crate::clients::auth;
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::http::{Request, Response, OAUTH_JSON};
use crate::platform::Platform;

/// The token response (`oAuth2TokenExchange`) with `Cache-Control: no-store`.
pub fn token_response(body: Value) -> Response {
    Response::json_typed(200, &body, OAUTH_JSON).no_store()
}

/// `POST /oauth2/token`
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    if req.body.is_empty() {
        return Err(ApiError::invalid_request().with_hint("The POST body can not be empty."));
    }
    if req.content_type() != "application/x-www-form-urlencoded" {
        return Err(ApiError::invalid_request()
            .with_hint("The token request must be sent as application/x-www-form-urlencoded."));
    }
    let form = Form::parse(&req.body).map_err(|e| ApiError::invalid_request().with_hint(e.to_string()))?;
    let grant_type = form
        .get("grant_type")
        .map_err(|e| ApiError::invalid_request().with_hint(e.to_string()))?
        .ok_or_else(|| ApiError::invalid_request().with_hint("The 'grant_type' parameter is missing."))?
        .to_string();
    if grant_type != "authorization_code" {
        return Err(ApiError::unsupported_grant_type().with_hint(format!(
            "The grant type '{grant_type}' is not supported by this server (supported: authorization_code)."
        )));
    }
    let client = match auth::authenticate(ctx, req, &form).await {
        Ok(client) => client,
        Err(e) if e.error == "invalid_client" => {
            return Ok(e
                .oauth_response(ctx.cfg.expose_internal_errors)
                .with_header("www-authenticate", "Basic realm=\"hydra-edge\""));
        }
        Err(e) => return Err(e),
    };
    let body = authorization_code::exchange(ctx, &client.client, &form).await?;
    Ok(token_response(body))
}

/// Assemble the token response body.
pub fn body(
    access_token: &str,
    expires_in: i64,
    scopes: &[String],
    refresh: Option<&str>,
    id_token: Option<&str>,
) -> Value {
    let mut b = json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": expires_in,
        "scope": scopes.join(" "),
    });
    if let Some(r) = refresh {
        b["refresh_token"] = json!(r);
    }
    if let Some(i) = id_token {
        b["id_token"] = json!(i);
    }
    b
}
