//! Token revocation: `POST /oauth2/revoke` (RFC 7009) and `DELETE /admin/oauth2/tokens`.
//!
//! Revoking either token of a grant revokes its whole chain (every access and refresh token of
//! the request id), as Hydra does; a write-free JWT access token (client_credentials,
//! jwt-bearer) is revoked by its `jti`. An expired token still revokes its grant (as fosite
//! does: it looks the token up without checking expiry). A token of another client, an unknown
//! token or a used one answers 200 and nothing changes (RFC 7009 §2.2).

use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::introspect::resolve::resolve_expired_too;
use crate::platform::{Platform, PlatformError};
use crate::store;
use crate::token::{authenticate_client, form_body, param};

/// A failed revocation must not look like a successful one (CVE-2020-15223): 503.
fn unavailable(e: PlatformError) -> ApiError {
    ApiError::temporarily_unavailable().with_hint("The token could not be revoked; retry.").with_debug(e.0)
}

/// `POST /oauth2/revoke`
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let form = form_body(req)?;
    let client = match authenticate_client(ctx, req, &form).await? {
        Ok(client) => client,
        Err(denied) => return Ok(denied),
    };
    let token = param(&form, "token")?;
    if token.is_empty() {
        return Err(ApiError::invalid_request().with_hint("The 'token' parameter is missing."));
    }
    param(&form, "token_type_hint")?;
    if let Some(t) = resolve_expired_too(ctx, token).await? {
        if t.client_id == client.client_id {
            match (&t.request_id, &t.jwt) {
                (Some(request_id), _) => {
                    store::tokens::revoke_chain(ctx.p, request_id).await.map_err(unavailable)?;
                }
                (None, Some((jti, exp))) => store::tokens::revoke_jti(ctx.p, jti, *exp).await.map_err(unavailable)?,
                (None, None) => {}
            }
        }
    }
    Ok(Response::new(200).no_store())
}

/// `DELETE /admin/oauth2/tokens?client_id=`: every access token of the client inactive at once
/// (stored ones deleted, JWT ones through the client's cutoff time). Refresh tokens stay.
pub async fn delete_client_tokens<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let client_id = req.query_param("client_id").unwrap_or_default();
    if client_id.is_empty() {
        return Err(ApiError::invalid_request()
            .with_hint("Query parameter 'client_id' is not defined but it should have been."));
    }
    store::tokens::revoke_client_access_tokens(ctx.p, &client_id, ctx.p.now()).await?;
    Ok(Response::new(204))
}
