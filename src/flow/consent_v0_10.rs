//! Hydra v0.10's consent flow, for deployments whose consent app speaks it (`CONSENT_URL`).
//!
//! v0.10 had one step where v1 and later have two (login, then consent): `/oauth2/auth` sends
//! the browser to the consent app with `?consent=<id>`; the app reads the request
//! (`GET /oauth2/consent/requests/{id}`), authenticates the user and accepts the request with
//! the subject and the granted scopes (`PATCH …/{id}/accept`, 204) or rejects it with a reason
//! (`PATCH …/{id}/reject`, 204), then sends the browser to the request's `redirectUrl`: the
//! authorization URL plus `&consent=<id>`, where the flow ends at the client.
//!
//! The machinery is the v2 flow's: the request is a [`ConsentState`] sealed into its id (no
//! store write when the flow starts), a CSRF cookie binds it to the browser, and the end is
//! [`crate::authorize::complete`] with the same single-use `consent:` marker, consent session
//! and code in one transaction. Only the decision needs a row of its own, because v0.10's accept
//! and reject return no verifier: it waits in D1 (`consent_v0_10_decisions`, conditional
//! insert, so a request is decided once) until the browser comes back.

use serde_json::{Map, Value};

use super::cookies;
use super::{
    already_used, consent_marker, gone, open_challenge, open_verifier, ConsentResult, ConsentSession, ConsentState,
    ConsentVerifier, Denial, LoginResult, LoginState,
};
use crate::authorize;
use crate::authorize::request::AuthorizeRequest;
use crate::authorize::scope::scope_allowed;
use crate::clients::model::Client;
use crate::compat::v0_10::{consent_request_view, Acceptance, Rejection};
use crate::config::Config;
use crate::crypto::random_hex128;
use crate::crypto::seal::{self, Purpose};
use crate::ctx::{parse_json_object, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::http::{add_query, Request, Response};
use crate::platform::Platform;
use crate::store;
use crate::store::flows::Claim;

/// The flow's name in the metrics.
pub const FLOW: &str = "consent_v0_10";

/// What the consent app decided, as it waits in D1: who logged in and what they granted, in the
/// v2 flow's own models (a rejection is a [`ConsentResult`] with its `error`).
pub type Decision = (LoginResult, ConsentResult);

/// Does this client's authorization go through the v0.10 consent app?
pub fn applies<P: Platform>(ctx: &Ctx<'_, P>, client_id: &str) -> bool {
    ctx.cfg.consent_v0_10.as_ref().is_some_and(|c| c.covers(client_id))
}

/// Start the flow for a validated authorization request: seal it into the request id and send
/// the browser to the consent app with `?consent=<id>`.
pub async fn start<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    ar: &AuthorizeRequest,
    request_url: String,
) -> Response {
    let Some(settings) = &ctx.cfg.consent_v0_10 else {
        return super::fail(ctx.cfg, ar, &ApiError::server_error());
    };
    // v0.10 had no sessions to skip to: whoever comes here is asked.
    if ar.has_prompt("none") {
        return super::fail(
            ctx.cfg,
            ar,
            &ApiError::login_required()
                .with_hint("Prompt 'none' was requested, but this client's consent app always asks."),
        );
    }
    // A hint must be one of our ID tokens, as in the v2 flow; its subject is checked against
    // whoever the consent app says logged in (`finish`).
    let id_token_hint_claims = if ar.id_token_hint.is_empty() {
        Value::Object(Map::new())
    } else {
        match super::id_token_hint::verify(ctx, &ar.id_token_hint).await {
            Ok(claims) => claims,
            Err(e) => return super::fail(ctx.cfg, ar, &e),
        }
    };
    let now = ctx.p.now();
    let state = ConsentState {
        login: LoginState {
            id: random_hex128(),
            client_id: client.client_id.clone(),
            request_url,
            requested_at: now,
            skip: false,
            subject: String::new(),
            authenticated_at: 0,
            // No login session exists (v0.10 had none), so tokens name none (`sid`).
            session_id: String::new(),
            csrf: String::new(),
            id_token_hint_claims,
            device: None,
            // v0.10's consent request names the client by id; the request id stays short.
            client: None,
        },
        login_result: LoginResult::default(),
        consent_request_id: random_hex128(),
        csrf: random_hex128(),
        skip: false,
        requested_at: now,
    };
    let id = seal::seal(ctx.cfg.primary_secret(), Purpose::ConsentV010, expires_at(ctx, &state), &state);
    ctx.log.flow_started(FLOW);
    let csrf_name = cookies::consent_csrf_name(ctx.cfg, &client.client_id);
    Response::redirect(302, &add_query(&settings.url, &[("consent", &id)]))
        .with_header("set-cookie", &cookies::set_csrf(ctx, &csrf_name, &state.csrf))
        .no_store()
}

fn expires_at<P: Platform>(ctx: &Ctx<'_, P>, state: &ConsentState) -> i64 {
    state.requested_at + ctx.cfg.ttl.login_consent_request
}

/// Where the consent app sends the browser back to: the authorization URL plus `consent=<id>`.
fn redirect_url(state: &ConsentState, id: &str) -> String {
    add_query(&state.login.request_url, &[("consent", id)])
}

// --- Admin API (v0.10's consent-request routes) --------------------------------------------

/// `GET /oauth2/consent/requests/{id}`: v0.10's `oAuth2ConsentRequest`; 410 once the browser
/// finished the flow.
pub async fn get_request<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> ApiResult<Response> {
    let state: ConsentState = open_challenge(ctx, Purpose::ConsentV010, "consent", id)?;
    let (_, redeemed) =
        store::consent_v0_10::decision(ctx.p, &state.consent_request_id, &consent_marker(&state.consent_request_id))
            .await?;
    if let Some(url) = redeemed {
        return Ok(gone(&url));
    }
    let scopes = authorize::parse_loose(&state.login.request_url).scopes;
    let body =
        consent_request_view(id, &scopes, &state.login.client_id, expires_at(ctx, &state), &redirect_url(&state, id));
    Ok(Response::json(200, &body))
}

/// `PATCH /oauth2/consent/requests/{id}/accept`: 204; the browser may now return.
pub async fn accept<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, id: &str) -> ApiResult<Response> {
    let body: Acceptance = parse_json_object(req)?;
    if body.subject.is_empty() {
        return Err(ApiError::invalid_request().with_hint("Field 'subject' must not be empty."));
    }
    let state: ConsentState = open_challenge(ctx, Purpose::ConsentV010, "consent", id)?;
    let grant_scope = body.grant_scopes.unwrap_or_default();
    // Nothing beyond the client's allowed scope can be granted, as in the v2 flow.
    let client = crate::clients::load(ctx, &state.login.client_id).await?.client;
    let allowed = client.scopes();
    if let Some(bad) = grant_scope.iter().find(|s| !scope_allowed(ctx.cfg.scope_strategy, &allowed, s)) {
        return Err(ApiError::invalid_request()
            .with_hint(format!("The OAuth 2.0 Client is not allowed to be granted scope '{bad}'.")));
    }
    let now = ctx.p.now();
    let login = LoginResult {
        subject: body.subject,
        authenticated_at: body.auth_time.filter(|t| *t > 0 && *t <= now).unwrap_or(now),
        acr: body.provided_acr.unwrap_or_default(),
        ..Default::default()
    };
    let consent = ConsentResult {
        grant_scope,
        session: ConsentSession {
            access_token: Value::Object(body.access_token_extra.unwrap_or_default()),
            id_token: Value::Object(body.id_token_extra.unwrap_or_default()),
        },
        handled_at: now,
        ..Default::default()
    };
    decide(ctx, &state, &(login, consent)).await
}

/// `PATCH /oauth2/consent/requests/{id}/reject`: 204; the browser's return ends in an error.
pub async fn reject<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, id: &str) -> ApiResult<Response> {
    let body: Rejection = parse_json_object(req)?;
    let state: ConsentState = open_challenge(ctx, Purpose::ConsentV010, "consent", id)?;
    let denial = Denial {
        error: body.error.unwrap_or_default(),
        error_description: body.reason.unwrap_or_default(),
        ..Default::default()
    };
    let consent = ConsentResult { error: Some(denial), handled_at: ctx.p.now(), ..Default::default() };
    decide(ctx, &state, &(LoginResult::default(), consent)).await
}

async fn decide<P: Platform>(ctx: &Ctx<'_, P>, state: &ConsentState, decision: &Decision) -> ApiResult<Response> {
    let json = serde_json::to_string(decision).expect("serialisable decision");
    if !store::consent_v0_10::decide(ctx.p, &state.consent_request_id, &json, expires_at(ctx, state)).await? {
        return Err(already_used("consent"));
    }
    Ok(Response::new(204))
}

// --- The browser's return --------------------------------------------------------------------

/// v0.10's refusal of a consent the app rejected (or never decided): error
/// `rejected_consent_request` with the app's reason.
fn rejected(reason: &str) -> ApiError {
    ApiError::new(401, "rejected_consent_request", "The resource owner denied consent for this request.")
        .with_hint(reason.to_string())
}

/// `/oauth2/auth?…&consent=<id>`: the consent app is done; end the flow at the client as v0.10
/// did (code and/or tokens, or `rejected_consent_request`).
pub async fn finish<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, form: &Form, id: &str) -> Response {
    let state: ConsentState = match open_verifier(ctx, Purpose::ConsentV010, "consent", id) {
        Ok(s) => s,
        Err(page) => return page,
    };
    let (client, ar) = match authorize::reload(ctx, &state.login.client_id, &state.login.request_url, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let to_client = |e: ApiError| super::fail(ctx.cfg, &ar, &e);
    if !cookies::csrf_matches(req, &cookies::consent_csrf_name(ctx.cfg, &client.client_id), &state.csrf) {
        return to_client(ApiError::request_forbidden().with_hint(
            "The consent CSRF cookie is missing or does not match: the flow must finish in the browser that started it.",
        ));
    }
    let marker = consent_marker(&state.consent_request_id);
    let (decision, redeemed) = match store::consent_v0_10::decision(ctx.p, &state.consent_request_id, &marker).await {
        Ok(x) => x,
        Err(e) => return to_client(e.into()),
    };
    if redeemed.is_some() {
        return to_client(ApiError::access_denied().with_hint("The consent request has already been used."));
    }
    let Some(decision) = decision.and_then(|d| serde_json::from_str::<Decision>(&d).ok()) else {
        return to_client(rejected("The consent app has neither accepted nor rejected the request."));
    };
    let now = ctx.p.now();
    let claim = Claim { marker, value: random_hex128() };
    let marker_expiry = expires_at(ctx, &state);
    let (login_result, mut result) = decision;
    if let Some(denial) = result.error.take() {
        return match store::flows::redeem_marker(ctx.p, &claim, &state.login.request_url, now, marker_expiry).await {
            Ok(true) => to_client(rejected(&denial.error_description)),
            Ok(false) => to_client(ApiError::access_denied().with_hint("The consent request has already been used.")),
            Err(e) => to_client(e.into()),
        };
    }
    // What the v2 flow checks of a login, fosite checked of v0.10's consent: the subject an
    // id_token_hint names, and an authentication recent enough for max_age. Either failing
    // spends the request, as a refused login does.
    if let Some(refusal) = unsatisfied(ctx.cfg, &client, &state, &ar, &login_result) {
        return match store::flows::redeem_marker(ctx.p, &claim, &state.login.request_url, now, marker_expiry).await {
            Ok(true) => to_client(refusal),
            Ok(false) => to_client(ApiError::access_denied().with_hint("The consent request has already been used.")),
            Err(e) => to_client(e.into()),
        };
    }
    let mut consent = state;
    consent.login_result = login_result;
    let v = ConsentVerifier { consent, result };
    match authorize::complete(ctx, &client, &ar, &v, &claim, marker_expiry).await {
        Ok(r) => {
            ctx.log.flow_completed(FLOW);
            r
        }
        Err(e) => to_client(e),
    }
}

/// Why the consent app's login does not satisfy the authorization request (`login_required`),
/// if it does not.
fn unsatisfied(
    cfg: &Config,
    client: &Client,
    state: &ConsentState,
    ar: &AuthorizeRequest,
    login: &LoginResult,
) -> Option<ApiError> {
    let shown = match crate::subject::for_client(cfg, client, &login.subject, "") {
        Ok(s) => s,
        Err(e) => return Some(e),
    };
    if let Some(mismatch) = super::id_token_hint::subject_mismatch(&state.login.id_token_hint_claims, &shown) {
        return Some(mismatch);
    }
    let too_old = ar.max_age.is_some_and(|max_age| login.authenticated_at.saturating_add(max_age) < state.requested_at);
    too_old.then(|| {
        ApiError::login_required().with_hint(
            "Failed to validate OpenID Connect request because authentication time does not satisfy max_age time.",
        )
    })
}
