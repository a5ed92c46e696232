//! `GET /oauth2/device/verify` (the browser's side of a device flow),
//! `PUT /admin/oauth2/auth/requests/device/accept` (the verification UI checks a user code),
//! and the end of a device flow's consent leg.

use serde::Deserialize;

use super::{authorize_request, user_code, DeviceState, DeviceVerifier};
use crate::clients::model::Client;
use crate::crypto::random_hex128;
use crate::crypto::seal::{self, Purpose};
use crate::ctx::{parse_json_object, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::flow::{self, cookies, device_marker, ConsentVerifier, DeviceLink};
use crate::http::form::Form;
use crate::http::{add_query, Request, Response};
use crate::platform::Platform;
use crate::ratelimit;
use crate::store;
use crate::store::flows::Claim;

/// User codes one verification may try (right or wrong) before the user must start again.
pub const MAX_USER_CODE_ATTEMPTS: i64 = 5;

/// Hydra's name of the device CSRF cookie (before the `__Host-` prefix).
const DEVICE_CSRF_COOKIE: &str = "ory_hydra_device_csrf";

fn page(ctx_cfg: &crate::config::Config, e: ApiError) -> Response {
    crate::authorize::response::error_page(ctx_cfg, &e)
}

/// `GET /oauth2/device/verify`: start a verification, or continue one with the verifier the
/// browser brings back (device, login or consent).
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let form = match Form::parse(req.query.as_bytes()) {
        Ok(f) => f,
        Err(e) => return Ok(page(ctx.cfg, ApiError::invalid_request().with_hint(e.to_string()))),
    };
    let mut present = Vec::new();
    for name in ["device_verifier", "login_verifier", "consent_verifier"] {
        match form.get(name) {
            Ok(Some(v)) if !v.trim().is_empty() => present.push((name, v.trim().to_string())),
            Ok(_) => {}
            Err(e) => return Ok(page(ctx.cfg, ApiError::invalid_request().with_hint(e.to_string()))),
        }
    }
    match present.as_slice() {
        [] => start(ctx, req, &form).await,
        [("device_verifier", v)] => Ok(verified(ctx, req, &form, v).await),
        [("login_verifier", v)] => Ok(flow::login::finish(ctx, req, &form, v).await),
        [("consent_verifier", v)] => Ok(flow::consent::finish(ctx, req, &form, v).await),
        _ => Ok(page(ctx.cfg, ApiError::invalid_request().with_hint("A request can carry only one verifier."))),
    }
}

/// The verification starts: a sealed challenge for the verification UI and a CSRF cookie that
/// binds the verification to this browser. A `user_code` from `verification_uri_complete` is
/// passed on to the UI (never into the sealed state).
async fn start<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, form: &Form) -> ApiResult<Response> {
    // Every verification can try a few user codes: bound how many an address may start. The
    // user is in a browser: a refusal goes to the error page, as every other one here.
    if let Err(e) = ratelimit::user_code_attempt(ctx, req, None).await {
        // No Retry-After header reaches the error page: say it in words.
        let e = if e.status == 429 {
            e.with_hint("Too many device verifications were started from this network; wait a minute, then try again.")
        } else {
            e
        };
        return Ok(page(ctx.cfg, e));
    }
    let now = ctx.p.now();
    let kept: Vec<(String, String)> = form
        .pairs()
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("user_code"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let kept_refs: Vec<(&str, &str)> = kept.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let state = DeviceState {
        id: random_hex128(),
        csrf: random_hex128(),
        request_url: add_query(&ctx.cfg.public("/oauth2/device/verify"), &kept_refs),
        requested_at: now,
    };
    let challenge =
        seal::seal(ctx.cfg.primary_secret(), Purpose::DeviceChallenge, now + ctx.cfg.ttl.login_consent_request, &state);
    let typed = form.get("user_code").ok().flatten().unwrap_or("");
    let passed_on: &[(&str, &str)] = if typed.is_empty() { &[] } else { &[("user_code", typed)] };
    // Extra query parameters travel sealed in the challenge: a request too large for the
    // challenge to be opened again (or to fit in a URL) is refused now, not at the admin GET.
    let to_ui = flow::with_sealed(&ctx.cfg.urls.device_verification, "device_challenge", &challenge)
        .map(|url| add_query(&url, passed_on))
        .filter(|url| url.len() <= seal::MAX_URL_LEN);
    let Some(to_ui) = to_ui else {
        return Ok(page(
            ctx.cfg,
            ApiError::invalid_request().with_hint(
                "The verification request is too large: drop its extra parameters or shorten the user code.",
            ),
        ));
    };
    let name = cookies::cookie_name(ctx.cfg, DEVICE_CSRF_COOKIE);
    Ok(Response::redirect(302, &to_ui)
        .with_header("set-cookie", &cookies::set_csrf(ctx, &name, &state.csrf))
        .no_store())
}

/// The browser returns with a `device_verifier`: check it (sealed, unexpired, this browser's,
/// used once, its device request still waiting) and start the login leg for the device request.
async fn verified<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, form: &Form, verifier: &str) -> Response {
    let now = ctx.p.now();
    let v: DeviceVerifier = match seal::open(&ctx.cfg.system_secrets, Purpose::DeviceVerifier, now, verifier) {
        Ok(v) => v,
        Err(_) => {
            return page(
                ctx.cfg,
                ApiError::access_denied().with_hint("The device verifier is invalid or has expired; start again."),
            )
        }
    };
    if form.get("client_id").ok().flatten().map(|id| id != v.client_id).unwrap_or(false) {
        return page(
            ctx.cfg,
            ApiError::invalid_client().with_hint("The flow client id does not match the request's client id."),
        );
    }
    if !cookies::csrf_matches(req, &cookies::cookie_name(ctx.cfg, DEVICE_CSRF_COOKIE), &v.device.csrf) {
        return page(
            ctx.cfg,
            ApiError::request_forbidden().with_hint(
                "The device CSRF cookie is missing or does not match: the verification must finish in the browser that started it.",
            ),
        );
    }
    let client = match crate::authorize::load_client(ctx, &v.client_id).await {
        Ok(c) => c,
        Err(e) => return page(ctx.cfg, e),
    };
    match store::devices::by_request_id(ctx.p, &v.link.request_id).await {
        Ok(Some(row)) if row.state == "pending" && row.expires_at > now => {}
        Ok(_) => {
            return page(
                ctx.cfg,
                ApiError::expired_token().with_hint("The device request has expired or was already decided."),
            )
        }
        Err(e) => return page(ctx.cfg, e.into()),
    }
    let claim = Claim { marker: device_marker(&v.device.id), value: random_hex128() };
    let expiry = v.device.requested_at + ctx.cfg.ttl.login_consent_request;
    match store::flows::redeem_marker(ctx.p, &claim, &v.device.request_url, now, expiry).await {
        Ok(true) => {}
        Ok(false) => {
            return page(ctx.cfg, ApiError::access_denied().with_hint("The device verifier has already been used."))
        }
        Err(e) => return page(ctx.cfg, e.into()),
    }
    let request_url = add_query(&ctx.cfg.public("/oauth2/device/verify"), &[("client_id", &client.client_id)]);
    let ar = authorize_request(&client.client_id, &v.link);
    flow::login::start(ctx, req, &client, &ar, request_url, Some(v.link)).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AcceptUserCode {
    user_code: String,
}

/// `PUT /admin/oauth2/auth/requests/device/accept?device_challenge=`: the verification UI
/// checks the user code the user typed. Every attempt of a verification counts (in D1, before
/// the lookup); after [`MAX_USER_CODE_ATTEMPTS`] the verification is refused, right code or not.
pub async fn accept<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let challenge = req.query_param("device_challenge").unwrap_or_default();
    if challenge.is_empty() {
        return Err(ApiError::invalid_request()
            .with_hint("Query parameter 'device_challenge' is not defined but should have been."));
    }
    let body: AcceptUserCode = parse_json_object(req)?;
    if body.user_code.is_empty() {
        return Err(ApiError::invalid_request().with_hint("Field 'user_code' must not be empty."));
    }
    let state: DeviceState = flow::open_challenge(ctx, Purpose::DeviceChallenge, "device", &challenge)?;
    let device = &ctx.cfg.device;
    let typed = user_code::normalize(&body.user_code, device.user_code_length, device.user_code_alphabet)
        .unwrap_or_else(|| body.user_code.clone());
    let signatures = user_code::signatures(&ctx.cfg.system_secrets, &typed);
    let attempts_expire = state.requested_at + ctx.cfg.ttl.login_consent_request;
    let marker = device_marker(&state.id);
    let found = store::devices::attempt_user_code(ctx.p, &marker, &marker, attempts_expire, &signatures[0]).await?;
    if found.verification_used {
        return Err(flow::already_used("device"));
    }
    if found.attempts > MAX_USER_CODE_ATTEMPTS {
        return Err(ApiError::invalid_request().with_hint(format!(
            "Too many user codes were tried in this verification (at most {MAX_USER_CODE_ATTEMPTS}); start again at the verification URI."
        )));
    }
    let (mut row, mut client_exists) = (found.row, found.client_exists);
    for older in signatures.iter().skip(1) {
        if row.is_some() {
            break;
        }
        row = store::devices::by_user_code_signature(ctx.p, older).await?;
        client_exists = row.is_some();
    }
    let now = ctx.p.now();
    let row = row.filter(|r| r.state == "pending" && r.expires_at > now).ok_or_else(|| {
        ApiError::invalid_request()
            .with_hint("The 'user_code' session could not be found or has expired or is otherwise malformed.")
    })?;
    if !client_exists {
        return Err(ApiError::new(404, "Not Found", "The OAuth 2.0 Client of this device request no longer exists."));
    }
    let verifier = DeviceVerifier {
        device: state.clone(),
        client_id: row.client_id.clone(),
        link: DeviceLink { request_id: row.request_id, scopes: row.scope, audience: row.audience },
    };
    let sealed = seal::seal(ctx.cfg.primary_secret(), Purpose::DeviceVerifier, attempts_expire, &verifier);
    let back = add_query(&state.request_url, &[("client_id", &row.client_id)]);
    flow::verifier_redirect(&back, "device_verifier", &sealed, "device")
}

/// The end of a device flow: redeem the consent verifier, store the consent and accept the
/// device request in one transaction, then send the browser to `URLS_DEVICE_SUCCESS`.
pub async fn complete<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    link: &DeviceLink,
    v: &ConsentVerifier,
    claim: &Claim,
    marker_expiry: i64,
) -> ApiResult<Response> {
    let grant = flow::consent::grant_of(ctx.cfg, v, client, "", false, &link.scopes)?;
    let consent = flow::consent::session_row(v, &client.client_id, &link.scopes, &link.audience);
    let grant_data = serde_json::to_value(&grant).expect("serialisable grant");
    let (won, accepted) = store::devices::redeem_consent(
        ctx.p,
        claim,
        &v.consent.login.request_url,
        ctx.p.now(),
        marker_expiry,
        &link.request_id,
        &consent,
        &grant_data,
    )
    .await?;
    if !won {
        return Err(ApiError::access_denied().with_hint("The consent verifier has already been used."));
    }
    if !accepted {
        return Err(ApiError::expired_token().with_hint("The device request has expired or was already decided."));
    }
    ctx.log.flow_completed("device");
    Ok(Response::redirect(302, &add_query(&ctx.cfg.urls.device_success, &[("client_id", &client.client_id)]))
        .no_store())
}
