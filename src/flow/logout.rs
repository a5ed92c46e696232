//! Logout: OpenID Connect RP-Initiated Logout 1.0 at `/oauth2/sessions/logout`, the logout app's
//! admin routes (`/admin/oauth2/auth/requests/logout*`), and the end of a logout (session
//! deleted, cookie cleared, front- and back-channel notifications).
//!
//! As for login and consent, the logout request travels sealed in the `logout_challenge` and
//! the `logout_verifier`; redeeming the verifier inserts its D1 marker and deletes the login
//! session in one transaction, so a verifier works once and notifications go out at most once.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{already_used, challenge_param, cookies, logout_marker, open_challenge};
use crate::authorize::response::error_page;
use crate::crypto::random_hex128;
use crate::crypto::seal::{self, Purpose};
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::http::{add_query, Method, Request, Response};
use crate::platform::Platform;
use crate::store;
use crate::store::flows::Claim;

/// A logout request as sealed into the challenge and the verifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogoutState {
    pub id: String,
    pub subject: String,
    pub sid: String,
    /// The logout URL as requested (empty in the verifier).
    pub request_url: String,
    pub rp_initiated: bool,
    /// The relying party that asked (RP-initiated only).
    pub client_id: Option<String>,
    pub requested_at: i64,
    pub expires_at: i64,
    /// Where the browser goes at the end, `state` included.
    pub post_logout_redirect: String,
}

/// Seconds an `id_token_hint`'s `iat` may lie in the future (clock skew between locations).
const IAT_LEEWAY: i64 = 30;

fn invalid(hint: impl Into<String>) -> ApiError {
    ApiError::invalid_request().with_hint(hint)
}

/// `GET|POST /oauth2/sessions/logout`. Never fails as a whole: errors go to the error page.
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Response {
    let params = match parameters(req) {
        Ok(f) => f,
        Err(e) => return error_page(ctx.cfg, &e),
    };
    let get = |name: &str| params.get(name).map(|v| v.unwrap_or("").trim().to_string());
    let result = match get("logout_verifier") {
        Err(e) => Err(invalid(e.to_string())),
        Ok(v) if !v.is_empty() => Ok(complete(ctx, req, &v).await),
        Ok(_) => initiate(ctx, req, &params).await,
    };
    result.unwrap_or_else(|e| error_page(ctx.cfg, &e))
}

/// The query, and for a POST the form body as well.
fn parameters(req: &Request) -> ApiResult<Form> {
    let query = Form::parse(req.query.as_bytes()).map_err(|e| invalid(e.to_string()))?;
    if req.method != Method::Post || req.body.is_empty() {
        return Ok(query);
    }
    if req.content_type() != "application/x-www-form-urlencoded" {
        return Err(invalid("A POST to the logout endpoint must be application/x-www-form-urlencoded."));
    }
    let body = Form::parse(&req.body).map_err(|e| invalid(e.to_string()))?;
    Ok(Form::merged(query, body))
}

/// A logout begins: find whom to log out, then ask the logout app (or, when there is no
/// session to end, go straight to the post-logout URL).
async fn initiate<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, params: &Form) -> ApiResult<Response> {
    let get = |name: &str| params.get(name).map(|v| v.unwrap_or("").to_string()).map_err(|e| invalid(e.to_string()));
    let hint = get("id_token_hint")?;
    let state = get("state")?;
    let requested_redirect = get("post_logout_redirect_uri")?;
    let now = ctx.p.now();
    let request_url = format!("{}?{}", ctx.cfg.public("/oauth2/sessions/logout"), params.encode());

    if hint.is_empty() {
        // OP-initiated: only the browser's session says whom to log out.
        if !state.is_empty() {
            return Err(invalid("Logout failed because query parameter state is set but id_token_hint is missing."));
        }
        if !requested_redirect.is_empty() {
            return Err(invalid(
                "Logout failed because query parameter post_logout_redirect_uri is set but id_token_hint is missing.",
            ));
        }
        let default_redirect = ctx.cfg.urls.post_logout_redirect.clone();
        let session = match cookies::session_id(ctx, req) {
            Some(sid) => store::flows::remembered_session(ctx.p, &sid, now).await?,
            None => None,
        };
        let Some(session) = session else {
            return Ok(Response::redirect(302, &default_redirect).no_store());
        };
        return Ok(to_logout_app(
            ctx,
            LogoutState {
                id: random_hex128(),
                subject: session.subject,
                sid: session.id,
                request_url,
                rp_initiated: false,
                client_id: None,
                requested_at: now,
                expires_at: now + ctx.cfg.ttl.login_consent_request,
                post_logout_redirect: default_redirect,
            },
        ));
    }

    // RP-initiated: the hint names the session and the relying party.
    let claims = super::id_token_hint::verify(ctx, &hint).await?;
    let iat = claims.get("iat").and_then(Value::as_i64);
    match iat {
        Some(iat) if iat <= now + IAT_LEEWAY => {}
        Some(iat) => {
            return Err(invalid(format!(
            "Logout failed because iat claim value '{iat}' from query parameter id_token_hint is before now ('{now}')."
        )))
        }
        None => return Err(invalid("Logout failed because query parameter id_token_hint is missing the iat claim.")),
    }
    let sid = claims.get("sid").and_then(Value::as_str).unwrap_or("").to_string();
    if sid.is_empty() {
        return Err(invalid("Logout failed because query parameter id_token_hint is missing sid claim."));
    }
    let audiences: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    // RP-Initiated Logout §2: with both, the client_id must be the one the ID token was issued to.
    let named = get("client_id")?;
    if !named.is_empty() && !audiences.contains(&named) {
        return Err(invalid("Logout failed because query parameter client_id is not an audience of id_token_hint."));
    }
    let mut client = None;
    let candidates = audiences.iter().filter(|a| named.is_empty() || **a == named);
    for aud in candidates.filter(|a| crate::clients::validate::check_client_id(a).is_ok()) {
        if let Some(c) = store::clients::get(ctx.p, aud).await? {
            client = Some(c.client);
            break;
        }
    }
    let client = client.ok_or_else(|| {
        invalid("Logout failed because none of the listed audiences is a registered OAuth 2.0 Client.")
    })?;
    ctx.log.client(&client.client_id);
    let mut redirect = ctx.cfg.urls.post_logout_redirect.clone();
    if !requested_redirect.is_empty() {
        // Exactly one of the registered URIs, character for character.
        let registered = client.post_logout_redirect_uris.as_deref().unwrap_or(&[]);
        let Some(found) = registered.iter().find(|r| **r == requested_redirect) else {
            return Err(invalid(
                "Logout failed because query parameter post_logout_redirect_uri is not a whitelisted as a post_logout_redirect_uri for the client.",
            ));
        };
        redirect = if state.is_empty() { found.clone() } else { add_query(found, &[("state", &state)]) };
    }
    let Some(session) = store::flows::remembered_session(ctx.p, &sid, now).await? else {
        // Already logged out (or never remembered): nothing to end.
        return Ok(Response::redirect(302, &redirect).no_store());
    };
    Ok(to_logout_app(
        ctx,
        LogoutState {
            id: random_hex128(),
            subject: session.subject,
            sid,
            request_url,
            rp_initiated: true,
            client_id: Some(client.client_id),
            requested_at: now,
            expires_at: now + ctx.cfg.ttl.login_consent_request,
            post_logout_redirect: redirect,
        },
    ))
}

fn to_logout_app<P: Platform>(ctx: &Ctx<'_, P>, state: LogoutState) -> Response {
    let challenge = seal::seal(ctx.cfg.primary_secret(), Purpose::LogoutChallenge, state.expires_at, &state);
    ctx.log.flow_started("logout");
    Response::redirect(302, &add_query(&ctx.cfg.urls.logout, &[("logout_challenge", &challenge)])).no_store()
}

/// The browser returns with `logout_verifier`: end the session once, then notify.
async fn complete<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, verifier: &str) -> Response {
    let now = ctx.p.now();
    let lr: LogoutState = match seal::open(&ctx.cfg.system_secrets, Purpose::LogoutVerifier, now, verifier) {
        Ok(v) => v,
        Err(_) => {
            return error_page(
                ctx.cfg,
                &invalid("The logout verifier is invalid or has expired; start the logout again."),
            )
        }
    };
    let go_on = || Response::redirect(302, &lr.post_logout_redirect).no_store();
    if !lr.rp_initiated {
        // OP-initiated: only the browser that holds the session may end it; a changed or
        // missing cookie (another login meanwhile, a replayed verifier) changes nothing.
        let current = match cookies::session_id(ctx, req) {
            Some(sid) => store::flows::remembered_session(ctx.p, &sid, now).await.ok().flatten(),
            None => None,
        };
        match current {
            Some(s) if s.subject == lr.subject && s.id == lr.sid => {}
            _ => return go_on(),
        }
    }
    let claim = Claim { marker: logout_marker(&lr.id), value: random_hex128() };
    let redeemed = match store::sessions::redeem_logout(
        ctx.p,
        &claim,
        &lr.post_logout_redirect,
        now,
        lr.expires_at,
        &lr.sid,
        &lr.subject,
    )
    .await
    {
        Ok(x) => x,
        Err(e) => return error_page(ctx.cfg, &e.into()),
    };
    if !redeemed.won || !redeemed.deleted {
        // A reused verifier, or the session ended some other way meanwhile: no notifications
        // (they went out, or go out, with the deletion that did happen).
        return go_on();
    }
    ctx.log.flow_completed("logout");
    let clear = cookies::clear(ctx, &cookies::session_cookie_name(ctx.cfg));
    let clients = redeemed.clients;
    // Signing failures must not keep the user logged in on screen: they are the notifications'.
    let _ = super::backchannel::notify(ctx, &clients, &lr.sid).await;
    let urls = super::backchannel::frontchannel_urls(&ctx.cfg.issuer, &clients, &lr.sid);
    let response =
        if urls.is_empty() { go_on() } else { super::backchannel::frontchannel_page(&urls, &lr.post_logout_redirect) };
    response.with_header("set-cookie", &clear)
}

// --- Admin API -----------------------------------------------------------------------------

fn open<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<(String, LogoutState)> {
    let challenge = challenge_param(req, "logout");
    let state = open_challenge(ctx, Purpose::LogoutChallenge, "logout", &challenge)?;
    Ok((challenge, state))
}

/// `GET /admin/oauth2/auth/requests/logout`
pub async fn get_request<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let (challenge, state) = open(ctx, req)?;
    if let Some(url) = store::flows::marker_for_display(ctx.p, &logout_marker(&state.id)).await? {
        return Ok(super::gone(&url));
    }
    let client = match &state.client_id {
        Some(id) => store::clients::get(ctx.p, id).await?.map(|c| c.client.public_view()),
        None => None,
    };
    let mut body = json!({
        "challenge": challenge,
        "subject": state.subject,
        "request_url": state.request_url,
        "rp_initiated": state.rp_initiated,
        "requested_at": crate::clients::rfc3339(state.requested_at),
        "expires_at": crate::clients::rfc3339(state.expires_at),
    });
    // Left out, not `null`, when no client asked for the logout: Ory's Python SDK of Hydra
    // v1.x refuses a `null` client.
    if let Some(client) = client {
        body["client"] = json!(client);
    }
    if !state.sid.is_empty() {
        body["sid"] = json!(state.sid);
    }
    Ok(Response::json(200, &body))
}

/// `PUT /admin/oauth2/auth/requests/logout/accept`: the verifier, on the public logout URL.
pub async fn accept<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let (_, mut state) = open(ctx, req)?;
    if store::flows::marker(ctx.p, &logout_marker(&state.id)).await?.is_some() {
        return Err(already_used("logout"));
    }
    // The verifier travels in a URL: without the request URL (which can hold a whole ID token).
    state.request_url = String::new();
    let verifier = seal::seal(ctx.cfg.primary_secret(), Purpose::LogoutVerifier, state.expires_at, &state);
    let to = add_query(&ctx.cfg.public("/oauth2/sessions/logout"), &[("logout_verifier", &verifier)]);
    Ok(Response::json(200, &json!({ "redirect_to": to })))
}

/// `PUT /admin/oauth2/auth/requests/logout/reject`: 204; the request is spent (its verifiers
/// stop working) and the user stays logged in.
pub async fn reject<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let (_, state) = open(ctx, req)?;
    let claim = Claim { marker: logout_marker(&state.id), value: random_hex128() };
    let now = ctx.p.now();
    if !store::flows::redeem_marker(ctx.p, &claim, &state.post_logout_redirect, now, state.expires_at).await? {
        return Err(already_used("logout"));
    }
    Ok(Response::new(204))
}
