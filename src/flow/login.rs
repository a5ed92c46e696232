//! The login leg: starting it from `/oauth2/auth`, the admin routes of the login app, and the
//! browser's return with `login_verifier`.

use serde::Deserialize;
use serde_json::{json, Value};

use super::cookies;
use super::{
    carried_client, challenge_param, client_of, expires_at, fail, gone, login_marker, oidc_context, open_challenge,
    open_verifier, to_ui, Denial, DeviceLink, LoginResult, LoginState, LoginVerifier,
};
use crate::authorize;
use crate::authorize::request::AuthorizeRequest;
use crate::clients::model::Client;
use crate::crypto::seal::{self, Purpose};
use crate::crypto::{random_hex128, uuid_v4};
use crate::ctx::{parse_json_object, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::store;
use crate::store::flows::{Claim, LoginSession};

/// Start the login leg of a validated authorization request (or of a device request, `device`):
/// decide whether a remembered session lets the login app skip, seal the flow into a challenge
/// and send the browser to the login app.
pub async fn start<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
    client: &Client,
    ar: &AuthorizeRequest,
    request_url: String,
    device: Option<DeviceLink>,
) -> Response {
    let to_client = |e: ApiError| fail(ctx.cfg, ar, &e);
    let now = ctx.p.now();
    // A replica may answer, one that has the session cookie's own write (its bookmark).
    let session = match cookies::session(ctx, req) {
        Some(c) => match store::flows::remembered_session_from_replica(ctx.p, &c.sid, now, c.bm.as_deref()).await {
            Ok(s) => s,
            Err(e) => return to_client(e.into()),
        },
        None => None,
    };
    let hint_claims = if ar.id_token_hint.is_empty() {
        json!({})
    } else {
        match super::id_token_hint::verify(ctx, &ar.id_token_hint).await {
            Ok(c) => c,
            Err(e) => return to_client(e),
        }
    };

    // Only prompt=login forces a new login (Hydra v26). With prompt=select_account the login app
    // gets skip and the session's subject, and may offer "continue as" or another account.
    let mut skip = session.is_some() && !ar.has_prompt("login");
    if let (Some(s), Some(max_age)) = (&session, ar.max_age) {
        // More than max_age seconds since the login: a new one. Both times are whole seconds, so
        // the elapsed time may be up to a second more than `now - authenticated_at`; the session
        // is kept only while it is surely young enough (max_age=0: never).
        if s.authenticated_at.saturating_add(max_age) <= now {
            skip = false;
        }
    }
    if let (Some(s), Some(hint_sub), true) = (&session, hint_claims.get("sub").and_then(Value::as_str), skip) {
        match super::id_token_hint::names_subject(ctx, client, hint_sub, &s.subject).await {
            Ok(true) => {}
            Ok(false) => {
                return to_client(
                    ApiError::login_required()
                        .with_hint("The subject of the id_token_hint does not match the authenticated session."),
                )
            }
            Err(e) => return to_client(e),
        }
    }
    if ar.has_prompt("none") && !skip {
        return to_client(ApiError::login_required().with_hint(if session.is_some() {
            "Prompt 'none' was requested, but the existing login session does not satisfy the request (max_age)."
        } else {
            "Prompt 'none' was requested, but no existing login session was found."
        }));
    }

    let state = LoginState {
        id: random_hex128(),
        client_id: ar.client_id.clone(),
        request_url,
        requested_at: now,
        skip,
        subject: session.as_ref().filter(|_| skip).map(|s| s.subject.clone()).unwrap_or_default(),
        authenticated_at: session.as_ref().filter(|_| skip).map(|s| s.authenticated_at).unwrap_or(0),
        // Only a skipped login continues the browser's session. Any other login gets a new id,
        // so a session cookie planted in the browser never ends up naming whoever logs in next.
        session_id: session.as_ref().filter(|_| skip).map(|s| s.id.clone()).unwrap_or_else(uuid_v4),
        csrf: random_hex128(),
        id_token_hint_claims: hint_claims,
        device,
        client: carried_client(client),
    };
    let csrf = (cookies::login_csrf_name(ctx.cfg, &ar.client_id), state.csrf.as_str());
    to_ui(ctx, &ctx.cfg.urls.login, "login", Purpose::LoginChallenge, expires_at(ctx, now), &state, csrf)
}

/// The browser returns with `login_verifier`: check it (sealed, unexpired, CSRF cookie, used
/// once), remember the session, and continue with the consent leg.
pub async fn finish<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, form: &Form, verifier: &str) -> Response {
    let v: LoginVerifier = match open_verifier(ctx, Purpose::LoginVerifier, "login", verifier) {
        Ok(v) => v,
        Err(page) => return page,
    };
    if let Some(wrong) = super::wrong_endpoint(ctx, req, &v.login) {
        return wrong;
    }
    let (client, ar) = match super::reload(ctx, &v.login, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let to_client = |e: ApiError| fail(ctx.cfg, &ar, &e);
    let csrf_name = cookies::login_csrf_name(ctx.cfg, &client.client_id);
    if !cookies::csrf_matches(req, &csrf_name, &v.login.csrf) {
        return to_client(ApiError::request_forbidden().with_hint(
            "The login CSRF cookie is missing or does not match: the flow must finish in the browser that started it.",
        ));
    }
    let now = ctx.p.now();
    let claim = Claim { marker: login_marker(&v.login.id), value: random_hex128() };
    let marker_expiry = expires_at(ctx, v.login.requested_at);

    if let Some(denial) = &v.result.error {
        return match super::redeem_denial(ctx, &v.login, &claim, now, marker_expiry).await {
            Ok(true) => to_client(denial.to_error()),
            Ok(false) => to_client(ApiError::access_denied().with_hint("The login verifier has already been used.")),
            Err(e) => to_client(e.into()),
        };
    }

    // An id_token_hint names who the client expects; a login as anyone else is login_required
    // (OIDC Core §3.1.2.1), also when the login was not skipped. As Hydra does, the verifier is
    // spent, no session is written and the browser's session cookie is dropped.
    // The `sub` the client will see; a pairwise client that cannot get one fails here, before
    // anything is written (Hydra's check at the same point).
    let shown =
        match crate::subject::for_client(ctx.cfg, &client, &v.result.subject, &v.result.force_subject_identifier) {
            Ok(s) => s,
            Err(e) => return to_client(e),
        };
    if let Some(mismatch) = super::id_token_hint::subject_mismatch(&v.login.id_token_hint_claims, &shown) {
        let error = match store::flows::redeem_marker(ctx.p, &claim, &v.login.request_url, now, marker_expiry).await {
            Ok(true) => mismatch,
            Ok(false) => ApiError::access_denied().with_hint("The login verifier has already been used."),
            Err(e) => e.into(),
        };
        return to_client(error)
            .with_header("set-cookie", &cookies::clear(ctx, &cookies::session_cookie_name(ctx.cfg)));
    }

    let r = &v.result;
    let lifetime = if r.remember_for > 0 { r.remember_for } else { ctx.cfg.ttl.authentication_session };
    // A new authentication (or an extended one) is written; a plain skip leaves the session be.
    let session = (!v.login.skip || r.extend_session_lifespan).then(|| LoginSession {
        id: v.login.session_id.clone(),
        subject: r.subject.clone(),
        authenticated_at: r.authenticated_at,
        remember: r.remember,
        identity_provider_session_id: r.identity_provider_session_id.clone(),
        expires_at: now + lifetime,
    });
    // The consent leg's remembered-consent lookup rides in the same transaction.
    let remembered_for =
        super::consent::may_skip(&client, &ar).then_some((client.client_id.as_str(), r.subject.as_str()));
    let url = &v.login.request_url;
    // A forced pairwise identifier is remembered, so that a later id_token_hint carrying it
    // matches this user's session (login start, `names_subject`).
    let forced =
        (client.subject_type == crate::subject::PAIRWISE && !r.force_subject_identifier.is_empty()).then(|| {
            store::flows::ForcedSubject {
                client_id: &client.client_id,
                subject: &r.subject,
                obfuscated: &r.force_subject_identifier,
            }
        });
    // A skipped login relied on a session that a replica found; the redemption re-reads it on
    // the primary, so a session revoked or logged out meanwhile logs no one in.
    let skipped = v.login.skip.then_some((v.login.session_id.as_str(), v.login.subject.as_str()));
    let remembered = match store::flows::redeem_login(
        ctx.p,
        &claim,
        url,
        now,
        marker_expiry,
        skipped,
        session.as_ref(),
        forced,
        remembered_for,
    )
    .await
    {
        Ok(r) if !r.won => {
            return to_client(ApiError::access_denied().with_hint("The login verifier has already been used."))
        }
        Ok(r) if !r.session_alive => {
            return to_client(ApiError::login_required().with_hint(
                "The login session this request relied on has ended (logged out or revoked); the user must log in again.",
            ))
            .with_header("set-cookie", &cookies::clear(ctx, &cookies::session_cookie_name(ctx.cfg)));
        }
        Ok(r) => {
            ctx.log.flow_completed("login");
            r.remembered
        }
        Err(e) => return to_client(e.into()),
    };
    // The CSRF cookie stays until it expires, so a verifier replayed in this browser is
    // reported as used rather than as a CSRF failure.
    let mut set_cookies = Vec::new();
    if r.remember && session.is_some() {
        set_cookies.push(cookies::set_session(ctx, &v.login.session_id, lifetime));
    } else if !r.remember && !v.login.skip {
        set_cookies.push(cookies::clear(ctx, &cookies::session_cookie_name(ctx.cfg)));
    }
    let mut response = super::consent::start(ctx, &client, &ar, v.login, v.result, remembered);
    for c in set_cookies {
        response = response.with_header("set-cookie", &c);
    }
    response
}

// --- Admin API -----------------------------------------------------------------------------

/// `GET /admin/oauth2/auth/requests/login`: one D1 read, which a replica may answer (the 410 of
/// a used request); the client comes from the challenge.
pub async fn get_request<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let challenge = challenge_param(req, "login");
    let state: LoginState = open_challenge(ctx, Purpose::LoginChallenge, "login", &challenge)?;
    if let Some(url) = store::flows::marker_for_display(ctx.p, &login_marker(&state.id)).await? {
        return Ok(gone(&url));
    }
    let client = client_of(ctx, &state).await?;
    let (scope, audience) = super::requested(&state);
    let ar = authorize::parse_loose(&state.request_url);
    Ok(Response::json(
        200,
        &json!({
            "challenge": challenge,
            "requested_scope": scope,
            "requested_access_token_audience": audience,
            "skip": state.skip,
            "subject": state.subject,
            "oidc_context": oidc_context(&ar, &state.id_token_hint_claims),
            "client": client,
            "request_url": state.request_url,
            "session_id": state.session_id,
        }),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AcceptLogin {
    subject: String,
    remember: bool,
    remember_for: i64,
    extend_session_lifespan: bool,
    acr: String,
    amr: Vec<String>,
    context: Value,
    force_subject_identifier: String,
    identity_provider_session_id: String,
}

/// The verifier the browser brings back: the flow (without the carried client, which the
/// browser's leg reads through its caches) and the decision.
fn redirect_with_verifier<P: Platform>(
    ctx: &Ctx<'_, P>,
    mut state: LoginState,
    result: LoginResult,
) -> ApiResult<Response> {
    state.client = None;
    let expiry = expires_at(ctx, state.requested_at);
    let request_url = state.request_url.clone();
    let verifier =
        seal::seal(ctx.cfg.primary_secret(), Purpose::LoginVerifier, expiry, &LoginVerifier { login: state, result });
    super::verifier_redirect(&request_url, "login_verifier", &verifier, "login")
}

/// `PUT /admin/oauth2/auth/requests/login/accept`: no storage call. As in Hydra v26, accepting
/// again (before or after the browser returned) answers a new verifier; only one verifier of a
/// flow ever redeems, so a late one ends in `access_denied` at `/oauth2/auth`.
pub async fn accept<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let body: AcceptLogin = parse_json_object(req)?;
    if body.subject.is_empty() {
        return Err(ApiError::invalid_request().with_hint("Field 'subject' must not be empty."));
    }
    if body.remember_for < 0 {
        return Err(ApiError::invalid_request().with_hint("Field 'remember_for' must not be negative."));
    }
    let state: LoginState = open_challenge(ctx, Purpose::LoginChallenge, "login", &challenge_param(req, "login"))?;
    if state.skip && body.subject != state.subject {
        // The device verification has no prompt to carry the switch through: the error, as
        // Hydra answered every switch before v2.2.
        if state.device.is_some() {
            return Err(ApiError::invalid_request()
                .with_hint("Field 'subject' does not match subject from previous authentication."));
        }
        // Someone else than the remembered user logged in (an account switch): as Hydra v2.2 and
        // later, send the browser back to the authorization request with prompt=login, which
        // asks for a new login instead of reusing the session. No verifier is issued.
        let again = crate::http::set_query(&state.request_url, "prompt", "login");
        return Ok(Response::json(200, &json!({ "redirect_to": again })));
    }
    let result = LoginResult {
        authenticated_at: if state.skip { state.authenticated_at } else { ctx.p.now() },
        // A skipped login re-uses the remembered session, so it stays remembered.
        remember: body.remember || state.skip,
        subject: body.subject,
        remember_for: body.remember_for,
        extend_session_lifespan: body.extend_session_lifespan,
        acr: body.acr,
        amr: body.amr,
        context: body.context,
        force_subject_identifier: body.force_subject_identifier,
        identity_provider_session_id: body.identity_provider_session_id,
        error: None,
    };
    redirect_with_verifier(ctx, state, result)
}

/// `PUT /admin/oauth2/auth/requests/login/reject`: no storage call, like accept.
pub async fn reject<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let denial = parse_json_object::<Denial>(req)?.or_name("login request denied");
    let state: LoginState = open_challenge(ctx, Purpose::LoginChallenge, "login", &challenge_param(req, "login"))?;
    let result = LoginResult { error: Some(denial), ..Default::default() };
    redirect_with_verifier(ctx, state, result)
}
