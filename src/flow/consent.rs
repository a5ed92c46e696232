//! The consent leg: starting it after login, the admin routes of the consent app, and the
//! browser's return with `consent_verifier`, which ends the flow at the client's redirect URI.

use serde::Deserialize;
use serde_json::{json, Value};

use super::cookies;
use super::{
    carried_client, challenge_param, client_of, consent_marker, fail, gone, oidc_context, open_challenge,
    open_verifier, to_ui, ConsentResult, ConsentSession, ConsentState, ConsentVerifier, Denial, LoginResult,
    LoginState,
};
use crate::authorize;
use crate::authorize::request::AuthorizeRequest;
use crate::authorize::scope::{audience_allowed, covers, scope_allowed};
use crate::clients::model::Client;
use crate::config::{is_loopback_host, Config};
use crate::crypto::random_hex128;
use crate::crypto::seal::{self, Purpose};
use crate::ctx::{parse_json_object, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::store;
use crate::store::flows::{Claim, ConsentSessionRow};
use crate::token::issue::Grant;

/// Public clients on a redirect URI that is not https (or http on localhost) cannot prove
/// who they are, so their consent is never skipped (Hydra does the same).
fn redirect_is_verifiable(uri: &str) -> bool {
    match crate::http::url::Url::parse(uri) {
        Ok(u) if u.scheme() == "https" => true,
        Ok(u) if u.scheme() == "http" => is_loopback_host(u.host_str().unwrap_or("")),
        _ => false,
    }
}

/// May a remembered consent let this request skip the consent app? Not with `prompt=consent`,
/// and not for a public client whose redirect URI cannot prove who it is (a device flow has
/// none, so a public client never skips there).
pub fn may_skip(client: &Client, ar: &AuthorizeRequest) -> bool {
    !(ar.has_prompt("consent") || (client.is_public() && !redirect_is_verifiable(&ar.redirect_uri)))
}

/// Start the consent leg after a successful login. `remembered`: the scopes of the subject's
/// remembered consent for this client, read with the login's redemption (only when
/// [`may_skip`]).
pub fn start<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    ar: &AuthorizeRequest,
    mut login: LoginState,
    login_result: LoginResult,
    remembered: Option<Vec<String>>,
) -> Response {
    let to_client = |e: ApiError| fail(ctx.cfg, ar, &e);
    let now = ctx.p.now();
    let skip = may_skip(client, ar)
        && remembered.map(|granted| covers(ctx.cfg.scope_strategy, &granted, &ar.scopes)).unwrap_or(false);
    if ar.has_prompt("none") && !skip {
        return to_client(ApiError::consent_required().with_hint(
            "Prompt 'none' was requested, but no previous consent was found that covers the requested scopes.",
        ));
    }
    // The consent app's view of the client travels in the challenge, as the login app's did.
    login.client = carried_client(client);
    let state = ConsentState {
        login,
        login_result,
        consent_request_id: random_hex128(),
        csrf: random_hex128(),
        skip,
        requested_at: now,
    };
    let csrf = (cookies::consent_csrf_name(ctx.cfg, &client.client_id), state.csrf.as_str());
    to_ui(
        ctx,
        &ctx.cfg.urls.consent,
        "consent",
        Purpose::ConsentChallenge,
        now + ctx.cfg.ttl.login_consent_request,
        &state,
        csrf,
    )
}

/// The browser returns with `consent_verifier`: redeem it once, store the consent, and answer
/// the client with a code and/or tokens.
pub async fn finish<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, form: &Form, verifier: &str) -> Response {
    let v: ConsentVerifier = match open_verifier(ctx, Purpose::ConsentVerifier, "consent", verifier) {
        Ok(v) => v,
        Err(page) => return page,
    };
    if let Some(wrong) = super::wrong_endpoint(ctx, req, &v.consent.login) {
        return wrong;
    }
    let c = &v.consent;
    let (client, ar) = match super::reload(ctx, &c.login, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let to_client = |e: ApiError| fail(ctx.cfg, &ar, &e);
    let csrf_name = cookies::consent_csrf_name(ctx.cfg, &client.client_id);
    if !cookies::csrf_matches(req, &csrf_name, &c.csrf) {
        return to_client(ApiError::request_forbidden().with_hint(
            "The consent CSRF cookie is missing or does not match: the flow must finish in the browser that started it.",
        ));
    }
    let now = ctx.p.now();
    let claim = Claim { marker: consent_marker(&c.consent_request_id), value: random_hex128() };
    let marker_expiry = c.requested_at + ctx.cfg.ttl.login_consent_request;

    if let Some(denial) = &v.result.error {
        return match super::redeem_denial(ctx, &c.login, &claim, now, marker_expiry).await {
            Ok(true) => to_client(denial.to_error()),
            Ok(false) => to_client(ApiError::access_denied().with_hint("The consent verifier has already been used.")),
            Err(e) => to_client(e.into()),
        };
    }
    // The consent app's grant was checked against the client as the flow carried it; a client
    // narrowed since then grants no more than it allows now.
    if let Err(e) = check_grant(ctx, &client, &v.result.grant_scope, &v.result.grant_audience) {
        return to_client(e);
    }
    let done = match &c.login.device {
        Some(link) => crate::device::verify::complete(ctx, &client, link, &v, &claim, marker_expiry).await,
        None => authorize::complete(ctx, &client, &ar, &v, &claim, marker_expiry).await,
    };
    done.unwrap_or_else(to_client)
}

/// The grant a handled consent yields (what codes and tokens carry), with the `sub` the client
/// sees ([`crate::subject`]; refused when the client's pairwise setting cannot be honoured).
pub fn grant_of(
    cfg: &Config,
    v: &ConsentVerifier,
    client: &Client,
    nonce: &str,
    acr_requested: bool,
    requested_scopes: &[String],
) -> ApiResult<Grant> {
    let c = &v.consent;
    let r = &v.result;
    let subject = &c.login_result.subject;
    let shown = crate::subject::for_client(cfg, client, subject, &c.login_result.force_subject_identifier)?;
    let object_or_empty = |v: &Value| if v.is_object() { v.clone() } else { json!({}) };
    Ok(Grant {
        request_id: c.consent_request_id.clone(),
        client_id: client.client_id.clone(),
        subject: subject.clone(),
        scopes: r.grant_scope.clone(),
        audience: r.grant_audience.clone(),
        requested_at: c.login.requested_at,
        auth_time: c.login_result.authenticated_at,
        acr: c.login_result.acr.clone(),
        amr: c.login_result.amr.clone(),
        sid: c.login.session_id.clone(),
        nonce: nonce.to_string(),
        acr_requested,
        access_token_ext: object_or_empty(&r.session.access_token),
        id_token_ext: object_or_empty(&r.session.id_token),
        requested_scopes: Some(requested_scopes.to_vec()),
        // Empty when the client sees the subject itself (public, or a forced value equal to
        // it): nothing is hidden then, so nothing needs guarding (issue::access_token).
        obfuscated_subject: if shown == *subject { String::new() } else { shown },
    })
}

/// The consent session a handled consent stores (remembered grant, basis of the tokens, and
/// what the consent-session list shows).
pub fn session_row(
    v: &ConsentVerifier,
    client_id: &str,
    requested_scope: &[String],
    requested_audience: &[String],
) -> ConsentSessionRow {
    let c = &v.consent;
    let r = &v.result;
    ConsentSessionRow {
        id: c.consent_request_id.clone(),
        client_id: client_id.to_string(),
        subject: c.login_result.subject.clone(),
        login_session_id: c.login.session_id.clone(),
        grant_scope: r.grant_scope.clone(),
        remember: r.remember,
        remember_for: r.remember_for,
        skipped: c.skip,
        handled_at: r.handled_at,
        data: json!({
            "grant_access_token_audience": r.grant_audience,
            "session": r.session,
            "context": r.context,
            "requested_scope": requested_scope,
            "requested_access_token_audience": requested_audience,
            "login_challenge": c.login.id,
            "request_url": c.login.request_url,
            "acr": c.login_result.acr,
            "amr": c.login_result.amr,
            "skip": c.skip,
            "login_context": c.login_result.context,
        }),
    }
}

// --- Admin API -----------------------------------------------------------------------------

/// The consent request as the consent app sees it (`OAuth2ConsentRequest`).
pub fn request_view(challenge: &str, c: &ConsentState, client: &Client) -> Value {
    let ar = authorize::parse_loose(&c.login.request_url);
    let (scopes, audience) = super::requested(&c.login);
    let mut v = json!({
        "challenge": challenge,
        "consent_request_id": c.consent_request_id,
        "requested_scope": scopes,
        "requested_access_token_audience": audience,
        "skip": c.skip,
        "subject": c.login_result.subject,
        "oidc_context": oidc_context(&ar, &c.login.id_token_hint_claims),
        "client": client,
        "request_url": c.login.request_url,
        "login_challenge": c.login.id,
        "login_session_id": c.login.session_id,
        "acr": c.login_result.acr,
        "amr": c.login_result.amr,
    });
    if !c.login_result.context.is_null() {
        v["context"] = c.login_result.context.clone();
    }
    v
}

/// `GET /admin/oauth2/auth/requests/consent`: one D1 read, which a replica may answer (the 410
/// of a used request); the client comes from the challenge.
pub async fn get_request<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let challenge = challenge_param(req, "consent");
    let state: ConsentState = open_challenge(ctx, Purpose::ConsentChallenge, "consent", &challenge)?;
    if let Some(url) = store::flows::marker_for_display(ctx.p, &consent_marker(&state.consent_request_id)).await? {
        return Ok(gone(&url));
    }
    let client = client_of(ctx, &state.login).await?;
    Ok(Response::json(200, &request_view(&challenge, &state, &client)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AcceptConsent {
    grant_scope: Vec<String>,
    grant_access_token_audience: Vec<String>,
    remember: bool,
    remember_for: i64,
    session: ConsentSession,
    context: Value,
}

/// The verifier the browser brings back (without the carried client, see the login leg's).
fn redirect_with_verifier<P: Platform>(
    ctx: &Ctx<'_, P>,
    mut consent: ConsentState,
    result: ConsentResult,
) -> ApiResult<Response> {
    consent.login.client = None;
    let expiry = consent.requested_at + ctx.cfg.ttl.login_consent_request;
    let request_url = consent.login.request_url.clone();
    let verifier =
        seal::seal(ctx.cfg.primary_secret(), Purpose::ConsentVerifier, expiry, &ConsentVerifier { consent, result });
    super::verifier_redirect(&request_url, "consent_verifier", &verifier, "consent")
}

/// Nothing beyond the client's allow-lists can be granted, whatever the consent app says.
fn check_grant<P: Platform>(ctx: &Ctx<'_, P>, client: &Client, scope: &[String], audience: &[String]) -> ApiResult<()> {
    let allowed = client.scopes();
    if let Some(bad) = scope.iter().find(|s| !scope_allowed(ctx.cfg.scope_strategy, &allowed, s)) {
        return Err(ApiError::invalid_request()
            .with_hint(format!("The OAuth 2.0 Client is not allowed to be granted scope '{bad}'.")));
    }
    if let Some(bad) = audience.iter().find(|a| !audience_allowed(&client.audience, a)) {
        return Err(ApiError::invalid_request()
            .with_hint(format!("The OAuth 2.0 Client is not allowed to be granted audience '{bad}'.")));
    }
    Ok(())
}

/// `PUT /admin/oauth2/auth/requests/consent/accept`: no storage call (the client's allow-lists
/// come from the challenge). As in Hydra v26, accepting again answers a new verifier; only one
/// redeems.
pub async fn accept<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let body: AcceptConsent = parse_json_object(req)?;
    if body.remember_for < 0 {
        return Err(ApiError::invalid_request().with_hint("Field 'remember_for' must not be negative."));
    }
    for (name, v) in
        [("session.access_token", &body.session.access_token), ("session.id_token", &body.session.id_token)]
    {
        if !v.is_null() && !v.is_object() {
            return Err(ApiError::invalid_request().with_hint(format!("Field '{name}' must be a JSON object.")));
        }
    }
    let state: ConsentState =
        open_challenge(ctx, Purpose::ConsentChallenge, "consent", &challenge_param(req, "consent"))?;
    let client = client_of(ctx, &state.login).await?;
    check_grant(ctx, &client, &body.grant_scope, &body.grant_access_token_audience)?;
    let result = ConsentResult {
        grant_scope: body.grant_scope,
        grant_audience: body.grant_access_token_audience,
        remember: body.remember,
        remember_for: body.remember_for,
        session: body.session,
        context: body.context,
        handled_at: ctx.p.now(),
        error: None,
    };
    redirect_with_verifier(ctx, state, result)
}

/// `PUT /admin/oauth2/auth/requests/consent/reject`
pub async fn reject<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let denial = parse_json_object::<Denial>(req)?.or_name("consent request denied");
    let state: ConsentState =
        open_challenge(ctx, Purpose::ConsentChallenge, "consent", &challenge_param(req, "consent"))?;
    let result = ConsentResult { error: Some(denial), handled_at: ctx.p.now(), ..Default::default() };
    redirect_with_verifier(ctx, state, result)
}
