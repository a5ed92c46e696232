//! Dynamic client registration: `POST /oauth2/register` (RFC 7591) and
//! `GET/PUT/DELETE /oauth2/register/{id}` (RFC 7592), off unless
//! `OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED=true`.
//!
//! Management calls carry the registration access token as a Bearer token. It has Hydra's
//! opaque `ory_at_` form; only its HMAC signature is stored, and every PUT replaces it.

use serde_json::Value;

use super::model::Client;
use super::validate::{self, Origin};
use super::{create as create_client, encode_segment, registration_uri, rfc3339, save};
use crate::crypto::ct_eq;
use crate::crypto::opaque::{self, TokenKind};
use crate::ctx::{parse_json, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::store;
use crate::store::clients::StoredClient;

fn disabled() -> ApiError {
    ApiError::new(404, "The requested resource could not be found", "Dynamic registration is not enabled.")
}

fn unauthorized() -> ApiError {
    ApiError::new(401, "The request could not be authorized", "")
        .with_description("The registration access token is missing, invalid, or does not belong to this client.")
}

/// Hide what only the admin API may see: the secret, and `metadata`.
fn registration_view(c: &Client) -> Client {
    let mut v = c.public_view();
    v.metadata = serde_json::json!({});
    v
}

/// `POST /oauth2/register`
pub async fn register<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    if !ctx.cfg.dcr_enabled {
        return Err(disabled());
    }
    if let Some(ip) = crate::ratelimit::client_ip(req) {
        crate::ratelimit::attempt(ctx.p, crate::ratelimit::Limiter::RegistrationPerIp, &format!("ip:{ip}")).await?;
    }
    let mut input = Client::from_json(parse_json(req)?)?;
    if input.client_secret.as_deref().map(|s| !s.is_empty()).unwrap_or(false) {
        return Err(ApiError::bad_request("It is not allowed to choose your own OAuth2 Client secret."));
    }
    // OpenID Connect Dynamic Registration §2: a registrant that names no ID token algorithm gets
    // RS256 (admin-created clients keep the server's ES256 default).
    if input.id_token_signed_response_alg.is_empty() {
        input.id_token_signed_response_alg = "RS256".into();
    }
    let created = create_client(ctx, input, Origin::Registration).await?;
    Ok(Response::json(201, &created)
        .with_header("location", &format!("/admin/clients/{}", encode_segment(&created.client_id)))
        .no_store())
}

/// Authenticate a management call: the Bearer token must verify and match the stored signature.
async fn authorize<P: Platform>(ctx: &Ctx<'_, P>, id: &str, req: &Request) -> ApiResult<StoredClient> {
    let token = req.bearer_token().ok_or_else(unauthorized)?;
    let signature = opaque::verify(&ctx.cfg.system_secrets, TokenKind::AccessToken, token).ok_or_else(unauthorized)?;
    if validate::check_client_id(id).is_err() {
        return Err(unauthorized());
    }
    let stored = store::clients::get(ctx.p, id).await?.ok_or_else(unauthorized)?;
    let expected = stored.registration_token_sig.clone().unwrap_or_default();
    if expected.is_empty() || !ct_eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(unauthorized());
    }
    Ok(stored)
}

/// `GET /oauth2/register/{id}`
pub async fn read<P: Platform>(ctx: &Ctx<'_, P>, id: &str, req: &Request) -> ApiResult<Response> {
    if !ctx.cfg.dcr_enabled {
        return Err(disabled());
    }
    let stored = authorize(ctx, id, req).await?;
    Ok(Response::json(200, &registration_view(&stored.client)).no_store())
}

/// `PUT /oauth2/register/{id}`: replace the client's metadata and rotate its registration
/// access token. The secret cannot be chosen here and stays as it is.
pub async fn update<P: Platform>(ctx: &Ctx<'_, P>, id: &str, req: &Request) -> ApiResult<Response> {
    if !ctx.cfg.dcr_enabled {
        return Err(disabled());
    }
    let mut stored = authorize(ctx, id, req).await?;
    let body: Value = parse_json(req)?;
    let mut next = Client::from_json(body)?;
    if next.client_secret.as_deref().map(|s| !s.is_empty()).unwrap_or(false) {
        return Err(ApiError::new(403, "The requested action was forbidden", "")
            .with_description("It is not allowed to choose your own OAuth2 Client secret."));
    }
    next.client_id = stored.client.client_id.clone();
    // A registrant's update that leaves the ID token algorithm out keeps the one in force.
    if next.id_token_signed_response_alg.is_empty() {
        next.id_token_signed_response_alg = stored.client.id_token_signed_response_alg.clone();
    }
    next.client_secret = None;
    next.registration_access_token = None;
    next.registration_client_uri = None;
    validate::validate(ctx.cfg, &mut next, Origin::Registration)?;
    if next.is_public() != stored.client.is_public() {
        return Err(ApiError::invalid_client_metadata().with_hint(
            "Field token_endpoint_auth_method cannot switch between public and confidential through registration.",
        ));
    }
    // Admin-only settings stay as the admin API left them.
    next.metadata = stored.client.metadata.clone();
    next.access_token_strategy = stored.client.access_token_strategy.clone();
    next.skip_consent = stored.client.skip_consent;
    next.skip_logout_consent = stored.client.skip_logout_consent;
    // The strategy kept from the admin API may rule out pairwise identifiers.
    validate::check_subject_type(ctx.cfg, &next)?;
    super::sector::check(ctx, &next).await?;
    next.created_at = stored.client.created_at.clone();
    next.updated_at = rfc3339(ctx.p.now());
    let rat = opaque::generate(ctx.cfg.primary_secret(), TokenKind::AccessToken);
    stored.registration_token_sig = Some(rat.signature);
    stored.client = next;
    save(ctx, &stored).await?;
    let mut body = registration_view(&stored.client);
    body.registration_access_token = Some(rat.token);
    body.registration_client_uri = Some(registration_uri(ctx, id));
    Ok(Response::json(200, &body).no_store())
}

/// `DELETE /oauth2/register/{id}`
pub async fn delete<P: Platform>(ctx: &Ctx<'_, P>, id: &str, req: &Request) -> ApiResult<Response> {
    if !ctx.cfg.dcr_enabled {
        return Err(disabled());
    }
    authorize(ctx, id, req).await?;
    store::clients::delete(ctx.p, id, ctx.p.now()).await?;
    Ok(Response::new(204))
}
