//! `/oauth2/token`: the token endpoint.
//!
//! Each grant is one module, and each declares what it needs ([`GrantSpec`]) in the same way;
//! [`GRANTS`] is the one table that maps `grant_type` to its grant (as fosite composes its
//! token-endpoint handlers). The endpoint authenticates the client and checks the client's
//! permission for the grant before the grant runs.
//!
//! * `authorization_code.rs`: the `authorization_code` grant (PKCE).
//! * `refresh_token.rs`: the `refresh_token` grant (rotation, grace period, reuse detection).
//! * `client_credentials.rs`: the `client_credentials` grant (write-free with JWT access tokens).
//! * `jwt_bearer.rs`: `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523).
//! * `device_code.rs`: `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628): polling,
//!   `slow_down`, single-use device codes.
//! * `issue.rs`: minting access, refresh and ID tokens; `hook.rs`: the token hook.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod hook;
pub mod issue;
pub mod jwt_bearer;
pub mod refresh_token;

use serde_json::{json, Value};

use crate::clients::auth;
use crate::clients::model::Client;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::http::{Request, Response, OAUTH_JSON};
use crate::platform::Platform;

/// The grants of the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    JwtBearer,
    DeviceCode,
}

/// What a grant needs from the endpoint before it runs.
#[derive(Debug, Clone, Copy)]
pub struct GrantSpec {
    pub grant_type: &'static str,
    pub grant: Grant,
    /// The client authenticates with its registered method (`none` for public clients counts).
    pub client_authentication: bool,
    /// The client's `grant_types` must list `grant_type`, else `unauthorized_client`.
    pub requires_permission: bool,
}

/// Every grant, by `grant_type`.
pub const GRANTS: &[GrantSpec] =
    &[authorization_code::SPEC, refresh_token::SPEC, client_credentials::SPEC, jwt_bearer::SPEC, device_code::SPEC];

pub fn spec_of(grant_type: &str) -> Option<&'static GrantSpec> {
    GRANTS.iter().find(|g| g.grant_type == grant_type)
}

/// The token response (`oAuth2TokenExchange`) with `Cache-Control: no-store`.
pub fn token_response(body: Value) -> Response {
    Response::json_typed(200, &body, OAUTH_JSON).no_store()
}

/// Longest `scope` or `audience` value accepted.
const MAX_PARAM_LEN: usize = 8 * 1024;

/// A single-valued form parameter ("" when absent); a duplicate is `invalid_request`.
pub fn param<'f>(form: &'f Form, name: &str) -> ApiResult<&'f str> {
    form.get(name).map(|v| v.unwrap_or("")).map_err(|e| ApiError::invalid_request().with_hint(e.to_string()))
}

/// The space-separated `scope` parameter.
pub fn scope_param(form: &Form) -> ApiResult<Vec<String>> {
    let raw = param(form, "scope")?;
    if raw.len() > MAX_PARAM_LEN {
        return Err(ApiError::invalid_request().with_hint("The 'scope' parameter is too long."));
    }
    Ok(raw.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect())
}

/// `audience`, repeated or space-separated (fosite's `GetAudiences`).
pub fn audience_param(form: &Form) -> ApiResult<Vec<String>> {
    let values = form.get_all("audience");
    if values.iter().map(|v| v.len()).sum::<usize>() > MAX_PARAM_LEN {
        return Err(ApiError::invalid_request().with_hint("The 'audience' parameter is too long."));
    }
    Ok(values.iter().flat_map(|v| v.split(' ')).filter(|s| !s.is_empty()).map(str::to_string).collect())
}

/// Every requested audience must be allowed for the client (fosite's default strategy).
pub fn check_audience(client: &Client, requested: &[String]) -> ApiResult<()> {
    match requested.iter().find(|a| !crate::authorize::scope::audience_allowed(&client.audience, a)) {
        Some(a) => Err(ApiError::invalid_request()
            .with_hint(format!("Requested audience '{a}' has not been whitelisted by the OAuth 2.0 Client."))),
        None => Ok(()),
    }
}

/// The form body of a POST to an OAuth endpoint (token, revocation, introspection).
pub fn form_body(req: &Request) -> ApiResult<Form> {
    if req.body.is_empty() {
        return Err(ApiError::invalid_request().with_hint("The POST body can not be empty."));
    }
    if req.content_type() != "application/x-www-form-urlencoded" {
        return Err(
            ApiError::invalid_request().with_hint("The request must be sent as application/x-www-form-urlencoded.")
        );
    }
    Form::parse(&req.body).map_err(|e| ApiError::invalid_request().with_hint(e.to_string()))
}

/// `POST /oauth2/token`
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let form = form_body(req)?;
    let grant_type = param(&form, "grant_type")?;
    ctx.log.grant_type(grant_type);
    if grant_type.is_empty() {
        return Err(ApiError::invalid_request().with_hint("The 'grant_type' parameter is missing."));
    }
    let Some(spec) = spec_of(grant_type) else {
        let supported: Vec<&str> = GRANTS.iter().map(|g| g.grant_type).collect();
        return Err(ApiError::unsupported_grant_type().with_hint(format!(
            "The grant type '{grant_type}' is not supported by this server (supported: {}).",
            supported.join(", ")
        )));
    };
    // Every grant so far authenticates its client (a grant that may skip it, as Hydra allows for
    // jwt-bearer, would load the client unauthenticated here).
    debug_assert!(spec.client_authentication);
    let client = match authenticate_client(ctx, req, &form).await? {
        Ok(client) => client,
        Err(denied) => return Ok(denied),
    };
    ctx.log.client(&client.client_id);
    if spec.requires_permission && !client.has_grant(spec.grant_type) {
        return Err(ApiError::unauthorized_client().with_hint(format!(
            "The OAuth 2.0 Client is not allowed to use authorization grant '{}'.",
            spec.grant_type
        )));
    }
    let body = match spec.grant {
        Grant::AuthorizationCode => authorization_code::exchange(ctx, &client, &form).await?,
        Grant::RefreshToken => refresh_token::exchange(ctx, &client, &form).await?,
        Grant::ClientCredentials => client_credentials::exchange(ctx, &client, &form).await?,
        Grant::JwtBearer => jwt_bearer::exchange(ctx, &client, &form).await?,
        Grant::DeviceCode => device_code::exchange(ctx, &client, &form).await?,
    };
    Ok(token_response(body))
}

/// Authenticate the client of a token, revocation or device-authorization request: the client,
/// or the 401 `invalid_client` response (challenged as [`invalid_client_challenge`] says).
pub async fn authenticate_client<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
    form: &Form,
) -> ApiResult<Result<Client, Response>> {
    match auth::authenticate(ctx, req, form).await {
        Ok(client) => Ok(Ok(client.client)),
        Err(e) if e.error == "invalid_client" => {
            let denied = e.oauth_response(ctx.cfg.expose_internal_errors);
            Ok(Err(match invalid_client_challenge(req) {
                Some(challenge) => denied.with_header("www-authenticate", challenge),
                None => denied,
            }))
        }
        Err(e) => Err(e),
    }
}

/// The `WWW-Authenticate` challenge of a 401 `invalid_client`. RFC 6749 §5.2 requires one, for
/// the scheme the client used, when the client authenticated with the `Authorization` header;
/// its `error` parameter names the error there too (as node-oidc-provider does), since
/// relying-party libraries such as openid-client report a challenged 401 by its challenge. A
/// client that sent its credentials in the body, or none, gets the error alone, as from Hydra:
/// with a challenge, openid-client raises a challenge error instead of `invalid_client`, and a
/// browser page calling the endpoint would show a password dialog.
pub fn invalid_client_challenge(req: &Request) -> Option<&'static str> {
    req.header("authorization").map(|_| "Basic realm=\"hydra-edge\", error=\"invalid_client\"")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_grant_type() {
        for g in GRANTS {
            assert_eq!(spec_of(g.grant_type).map(|s| s.grant), Some(g.grant));
            assert!(g.client_authentication && g.requires_permission);
        }
        assert!(spec_of("password").is_none());
    }

    #[test]
    fn invalid_client_is_challenged_only_when_the_header_was_used() {
        use crate::http::Method;
        let mut req = Request::new(Method::Post, "/oauth2/token");
        assert_eq!(invalid_client_challenge(&req), None, "client_secret_post, none, private_key_jwt");
        req.headers.push(("Authorization".into(), "Basic Zm9vOmJhcg==".into()));
        assert_eq!(invalid_client_challenge(&req), Some("Basic realm=\"hydra-edge\", error=\"invalid_client\""));
    }

    #[test]
    fn parameters() {
        let form = Form::parse(b"scope=a+b&audience=x%20y&audience=z").unwrap();
        assert_eq!(scope_param(&form).unwrap(), vec!["a", "b"]);
        assert_eq!(audience_param(&form).unwrap(), vec!["x", "y", "z"]);
        let dup = Form::parse(b"scope=a&scope=b").unwrap();
        assert_eq!(scope_param(&dup).unwrap_err().error, "invalid_request");
        let long = format!("scope={}", "a".repeat(MAX_PARAM_LEN + 1));
        assert_eq!(scope_param(&Form::parse(long.as_bytes()).unwrap()).unwrap_err().error, "invalid_request");
    }
}
