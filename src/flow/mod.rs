//! Hydra's login and consent protocol: challenges for the login and consent apps, the admin
//! routes that read, accept and reject them, and the verifiers the browser brings back.
//!
//! State travels sealed ([`crate::crypto::seal`]) inside challenges and verifiers, so no store
//! write happens when a flow starts and a login app in another region sees the challenge at
//! once. D1 keeps only what must be single-use or remembered: a marker per redeemed verifier
//! (a verifier works once; a handled request answers 410), login sessions and consent grants.
//!
//! * `login.rs`: `/admin/oauth2/auth/requests/login*` and the browser's login leg.
//! * `consent.rs`: `/admin/oauth2/auth/requests/consent*` and the browser's consent leg.
//! * `consent_v0_10.rs`: Hydra v0.10's one-step consent flow (`CONSENT_URL`).
//! * `cookies.rs`: the authentication session cookie and the per-client CSRF cookies.
//! * `id_token_hint.rs`: verifying an `id_token_hint` (authorization and logout requests).
//! * `logout.rs`: `/oauth2/sessions/logout` and `/admin/oauth2/auth/requests/logout*`.
//! * `backchannel.rs`: front-channel logout pages and back-channel logout tokens.
//! * `sessions.rs`: `/admin/oauth2/auth/sessions/*` (consent and login sessions).
//!
//! The device flow (`crate::device`) runs the same login and consent legs; its login state
//! carries a [`DeviceLink`] instead of an authorization request URL.

pub mod backchannel;
pub mod consent;
pub mod consent_v0_10;
pub mod cookies;
pub mod id_token_hint;
pub mod login;
pub mod logout;
pub mod sessions;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::authorize::request::AuthorizeRequest;
use crate::crypto::seal::{self, OpenError, Purpose};
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::platform::Platform;

/// A login flow as sealed into the login challenge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginState {
    /// The flow's id: the key of its single-use marker.
    pub id: String,
    pub client_id: String,
    /// The authorization request as a GET URL on the public side, without verifiers.
    pub request_url: String,
    pub requested_at: i64,
    /// True when a remembered login session covers this request.
    pub skip: bool,
    pub subject: String,
    pub authenticated_at: i64,
    /// The login session id (`sid`): the remembered session's, or a new one.
    pub session_id: String,
    pub csrf: String,
    /// Verified claims of `id_token_hint` (expiry ignored), `{}` when none.
    pub id_token_hint_claims: Value,
    /// Set when the flow authorizes a device (RFC 8628) rather than answering `/oauth2/auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceLink>,
    /// The client as the login and consent apps see it, as it was when this leg started (Hydra's
    /// flow carries it too): the admin routes answer without reading it again. Only in
    /// challenges (verifiers drop it), and only when small ([`carried_client`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<crate::clients::model::Client>,
}

/// The most a client's public view may take in a challenge (JSON bytes); a larger client (long
/// lists, inline JWKS) is read again by the admin routes instead, to keep challenge URLs short.
pub const CARRIED_CLIENT_MAX_BYTES: usize = 3072;

/// The client's public view to carry in a challenge, if small enough.
pub fn carried_client(client: &crate::clients::model::Client) -> Option<crate::clients::model::Client> {
    let view = client.public_view();
    let size = serde_json::to_vec(&view).map(|v| v.len()).unwrap_or(usize::MAX);
    (size <= CARRIED_CLIENT_MAX_BYTES).then_some(view)
}

/// The client of a flow for the admin routes: the one carried in the challenge, else read from
/// D1 (404 when it was deleted meanwhile).
pub async fn client_of<P: Platform>(ctx: &Ctx<'_, P>, login: &LoginState) -> ApiResult<crate::clients::model::Client> {
    match &login.client {
        Some(c) => Ok(c.clone()),
        None => Ok(crate::clients::load(ctx, &login.client_id).await?.client.public_view()),
    }
}

/// The device request a login/consent flow authorizes: what the device asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceLink {
    /// The device request's id (`device_codes.request_id`).
    pub request_id: String,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
}

/// What the login app decided (accept or reject).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoginResult {
    pub subject: String,
    pub remember: bool,
    pub remember_for: i64,
    pub extend_session_lifespan: bool,
    pub acr: String,
    pub amr: Vec<String>,
    pub context: Value,
    pub force_subject_identifier: String,
    pub identity_provider_session_id: String,
    pub authenticated_at: i64,
    pub error: Option<Denial>,
}

/// A rejection from the login or consent app (`rejectOAuth2Request`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Denial {
    pub error: String,
    pub error_description: String,
    pub error_hint: String,
    pub error_debug: String,
    pub status_code: i64,
}

impl Denial {
    /// Hydra's default error name of a rejection that names none ("login request denied",
    /// "consent request denied": its `SetDefaults`, v1.10 and v26 alike).
    pub fn or_name(mut self, name: &str) -> Denial {
        if self.error.is_empty() {
            self.error = name.to_string();
        }
        self
    }

    /// The error the client receives.
    pub fn to_error(&self) -> ApiError {
        let status = if (400..600).contains(&self.status_code) { self.status_code as u16 } else { 400 };
        let name = if self.error.is_empty() { "request_denied" } else { self.error.as_str() };
        ApiError::new(status, name, &self.error_description)
            .with_hint(self.error_hint.clone())
            .with_debug(self.error_debug.clone())
    }
}

/// The login verifier: the flow plus the login app's decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginVerifier {
    pub login: LoginState,
    pub result: LoginResult,
}

/// A consent flow as sealed into the consent challenge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsentState {
    pub login: LoginState,
    pub login_result: LoginResult,
    /// 32 hex characters; also the request id of every token of this grant.
    pub consent_request_id: String,
    pub csrf: String,
    pub skip: bool,
    pub requested_at: i64,
}

/// The session claims the consent app sets for tokens.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ConsentSession {
    pub access_token: Value,
    pub id_token: Value,
}

/// What the consent app decided.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConsentResult {
    pub grant_scope: Vec<String>,
    pub grant_audience: Vec<String>,
    pub remember: bool,
    pub remember_for: i64,
    pub session: ConsentSession,
    pub context: Value,
    pub handled_at: i64,
    pub error: Option<Denial>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsentVerifier {
    pub consent: ConsentState,
    pub result: ConsentResult,
}

/// Deliver an error of a flow: to the client's redirect URI, or, for a device flow (which has
/// none), to the error page.
pub fn fail(cfg: &crate::config::Config, ar: &AuthorizeRequest, e: &ApiError) -> crate::http::Response {
    if ar.redirect_uri.is_empty() {
        crate::authorize::response::error_page(cfg, e)
    } else {
        crate::authorize::response::error_to_client(cfg, &ar.target(), e)
    }
}

/// The client and the request a returning verifier continues: the authorization request
/// re-read from the sealed URL, or the device request the flow authorizes.
pub async fn reload<P: Platform>(
    ctx: &Ctx<'_, P>,
    login: &LoginState,
    returning: &crate::http::form::Form,
) -> Result<(crate::clients::model::Client, AuthorizeRequest), crate::http::Response> {
    let Some(link) = &login.device else {
        return crate::authorize::reload(ctx, &login.client_id, &login.request_url, returning).await;
    };
    if let Ok(Some(id)) = returning.get("client_id") {
        if id != login.client_id {
            return Err(crate::authorize::response::error_page(
                ctx.cfg,
                &ApiError::invalid_client().with_hint("The flow client id does not match the request's client id."),
            ));
        }
    }
    let client = crate::authorize::load_client(ctx, &login.client_id)
        .await
        .map_err(|e| crate::authorize::response::error_page(ctx.cfg, &e))?;
    Ok((client, crate::device::authorize_request(&login.client_id, link)))
}

/// A verifier of a device flow brought to `/oauth2/auth`, or of an authorization flow brought to
/// `/oauth2/device/verify`: the error page (each flow ends only where it started).
pub fn wrong_endpoint<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &crate::http::Request,
    login: &LoginState,
) -> Option<crate::http::Response> {
    (login.device.is_some() != crate::device::is_verification_endpoint(&req.path)).then(|| {
        crate::authorize::response::error_page(
            ctx.cfg,
            &ApiError::invalid_request()
                .with_hint("The verifier belongs to another flow; start the authorization again."),
        )
    })
}

/// The scope and audience a flow asks for (shown to the login and consent apps).
pub fn requested(login: &LoginState) -> (Vec<String>, Vec<String>) {
    match &login.device {
        Some(link) => (link.scopes.clone(), link.audience.clone()),
        None => {
            let ar = crate::authorize::parse_loose(&login.request_url);
            (ar.scopes, ar.audience)
        }
    }
}

/// Spend a verifier that carries a denial: its marker only, and for a device flow also the
/// device request (polling then answers `access_denied`). False when it was used already.
pub async fn redeem_denial<P: Platform>(
    ctx: &Ctx<'_, P>,
    login: &LoginState,
    claim: &crate::store::flows::Claim,
    now: i64,
    marker_expiry: i64,
) -> Result<bool, crate::platform::PlatformError> {
    match &login.device {
        Some(link) => {
            crate::store::devices::redeem_denial(ctx.p, claim, &login.request_url, now, marker_expiry, &link.request_id)
                .await
        }
        None => crate::store::flows::redeem_marker(ctx.p, claim, &login.request_url, now, marker_expiry).await,
    }
}

/// Marker keys of redeemed verifiers in D1.
pub fn login_marker(flow_id: &str) -> String {
    format!("login:{flow_id}")
}
pub fn consent_marker(consent_request_id: &str) -> String {
    format!("consent:{consent_request_id}")
}
pub fn logout_marker(logout_id: &str) -> String {
    format!("logout:{logout_id}")
}
pub fn device_marker(device_challenge_id: &str) -> String {
    format!("device:{device_challenge_id}")
}

/// When a flow started at `requested_at` stops being usable.
pub fn expires_at<P: Platform>(ctx: &Ctx<'_, P>, requested_at: i64) -> i64 {
    requested_at + ctx.cfg.ttl.login_consent_request
}

/// Open a challenge given to the admin API, with Hydra's errors: 404 for anything that was not
/// issued here, 401 when it has expired.
pub fn open_challenge<T: serde::de::DeserializeOwned, P: Platform>(
    ctx: &Ctx<'_, P>,
    purpose: Purpose,
    what: &str,
    challenge: &str,
) -> ApiResult<T> {
    if challenge.is_empty() {
        return Err(ApiError::bad_request(format!("The {what}_challenge query parameter is missing.")));
    }
    seal::open(&ctx.cfg.system_secrets, purpose, ctx.p.now(), challenge).map_err(|e| match e {
        OpenError::Invalid => ApiError::new(404, "Not Found", "Unable to locate the requested resource"),
        OpenError::Expired => {
            ApiError::request_unauthorized().with_hint(format!("The {what} request has expired, please try again."))
        }
    })
}

/// Open a verifier the browser brought back. Anything that does not open (forged, tampered,
/// expired) ends at the error page: without the sealed flow, no redirect URI is trusted.
pub fn open_verifier<T: serde::de::DeserializeOwned, P: Platform>(
    ctx: &Ctx<'_, P>,
    purpose: Purpose,
    what: &str,
    verifier: &str,
) -> Result<T, crate::http::Response> {
    seal::open(&ctx.cfg.system_secrets, purpose, ctx.p.now(), verifier).map_err(|_| {
        crate::authorize::response::error_page(
            ctx.cfg,
            &ApiError::access_denied()
                .with_hint(format!("The {what} verifier is invalid or has expired; start the authorization again.")),
        )
    })
}

/// `url` with the sealed value added as `name`, or `None` when it is too long to travel: longer
/// than `seal::open` accepts, or the whole URL longer than Cloudflare takes.
pub fn with_sealed(url: &str, name: &str, sealed: &str) -> Option<String> {
    let full = crate::http::add_query(url, &[(name, sealed)]);
    (sealed.len() <= seal::MAX_SEALED_LEN && full.len() <= seal::MAX_URL_LEN).then_some(full)
}

/// The admin answer of an accepted or rejected login or consent: `redirect_to` the flow's
/// request URL with the sealed `verifier` as `name`, or a 400 when the `what` decision is too
/// large to travel there.
pub fn verifier_redirect(
    request_url: &str,
    name: &str,
    verifier: &str,
    what: &str,
) -> ApiResult<crate::http::Response> {
    let Some(redirect_to) = with_sealed(request_url, name, verifier) else {
        return Err(ApiError::bad_request(format!(
            "The {what} decision is too large to travel in its verifier: keep its context and session claims smaller."
        )));
    };
    Ok(crate::http::Response::json(200, &json!({ "redirect_to": redirect_to })))
}

/// Send the browser to the login or consent app with a sealed challenge, setting the CSRF
/// cookie that binds the leg to this browser.
pub fn to_ui<P: Platform, T: Serialize>(
    ctx: &Ctx<'_, P>,
    ui_url: &str,
    what: &str,
    purpose: Purpose,
    expires_at: i64,
    state: &T,
    csrf_cookie: (String, &str),
) -> crate::http::Response {
    let challenge = seal::seal(ctx.cfg.primary_secret(), purpose, expires_at, state);
    let Some(url) = with_sealed(ui_url, &format!("{what}_challenge"), &challenge) else {
        // It could not be opened again (nor fit in a URL): say so now, not at the admin GET.
        return crate::authorize::response::error_page(
            ctx.cfg,
            &ApiError::invalid_request().with_hint(format!(
                "The authorization request is too large to travel in the {what} challenge; send fewer or shorter parameters."
            )),
        );
    };
    ctx.log.flow_started(match what {
        "login" => "login",
        "consent" => "consent",
        _ => "other",
    });
    crate::http::Response::redirect(302, &url)
        .with_header("set-cookie", &cookies::set_csrf(ctx, &csrf_cookie.0, csrf_cookie.1))
        .no_store()
}

/// The challenge from `?<what>_challenge=` or its alias `?challenge=`.
pub fn challenge_param(req: &crate::http::Request, what: &str) -> String {
    req.query_param(&format!("{what}_challenge"))
        .filter(|v| !v.is_empty())
        .or_else(|| req.query_param("challenge"))
        .unwrap_or_default()
}

/// Hydra's `oidc_context`: arrays and objects are `[]`/`{}` when empty, strings omitted.
pub fn oidc_context(ar: &AuthorizeRequest, id_token_hint_claims: &Value) -> Value {
    let mut ctx = Map::new();
    ctx.insert("acr_values".into(), json!(ar.acr_values));
    ctx.insert("ui_locales".into(), json!(ar.ui_locales));
    if !ar.display.is_empty() {
        ctx.insert("display".into(), json!(ar.display));
    }
    if !ar.login_hint.is_empty() {
        ctx.insert("login_hint".into(), json!(ar.login_hint));
    }
    let claims = if id_token_hint_claims.is_object() { id_token_hint_claims.clone() } else { json!({}) };
    ctx.insert("id_token_hint_claims".into(), claims);
    Value::Object(ctx)
}

/// A 410 for a request whose verifier was already redeemed: the app should send the browser to
/// `redirect_to`, which starts the flow again (and will skip what is remembered).
pub fn gone(request_url: &str) -> crate::http::Response {
    crate::http::Response::json(410, &json!({ "redirect_to": request_url }))
}

/// Hydra's older generations (v1.x and v1.0-beta, as Hydra did up to v2.3) answer 409 to an
/// accept or reject of a login or consent request whose verifier was already redeemed; their
/// routes keep that answer at the cost of one primary read of the marker. The v2 form follows
/// Hydra v26: no read, and the new verifier never redeems (docs/compatibility.md, "Flows").
pub async fn refuse_if_already_used<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &crate::http::Request,
    what: &str,
) -> ApiResult<()> {
    let marker = if what == "login" {
        let state: LoginState = open_challenge(ctx, Purpose::LoginChallenge, what, &challenge_param(req, what))?;
        login_marker(&state.id)
    } else {
        let state: ConsentState = open_challenge(ctx, Purpose::ConsentChallenge, what, &challenge_param(req, what))?;
        consent_marker(&state.consent_request_id)
    };
    match crate::store::flows::marker(ctx.p, &marker).await? {
        Some(_) => Err(already_used(what)),
        None => Ok(()),
    }
}

/// 409 for changing a request that was already used (logout and device requests, as Hydra 2.3
/// does; login and consent requests follow Hydra v26, which has no such answer, except in the
/// older generations' forms: [`refuse_if_already_used`]).
pub fn already_used(what: &str) -> ApiError {
    ApiError::new(409, "Conflict", "")
        .with_description(format!("The {what} request was already used and can no longer be changed."))
}
