//! The login → consent → code → token flow (`client_secret_basic` and `private_key_jwt`); its
//! login and consent legs are also the device flow's.

use crate::host_support::*;
use crate::walker::*;
use hydra_edge::http::Method;
use serde_json::json;

pub fn secret_basic_client(h: &Host) -> (Rp, ClientAuth) {
    (h.register(json!({})), ClientAuth::SecretBasic)
}

pub fn private_key_jwt_client(h: &Host) -> (Rp, ClientAuth) {
    let k = AssertionKey::new(7);
    let rp = h.register(json!({"token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256", "jwks": {"keys": [k.jwk]}}));
    (rp, ClientAuth::PrivateKeyJwt(7))
}

/// Where a device flow's browser lands at the end (`URLS_DEVICE_SUCCESS`).
pub const DEVICE_DONE: &str = "http://127.0.0.1:8787/oauth2/fallbacks/device/done";

pub fn refused_to_client(r: &Resp) -> bool {
    r.location().starts_with(REDIRECT) && r.param("error").as_deref() == Some("access_denied")
}

/// A device flow's errors end on the error page (it has no redirect URI).
pub fn refused_on_error_page(r: &Resp) -> bool {
    r.location().starts_with(ERROR_PAGE) && r.param("error").as_deref() == Some("access_denied")
}

fn take_login_challenge(_: &Host, f: &mut Flow, r: &Resp) -> bool {
    r.param("login_challenge").map(|c| f.login_challenge = c).is_some()
}

fn take_consent_challenge(_: &Host, f: &mut Flow, r: &Resp) -> bool {
    r.param("consent_challenge").map(|c| f.consent_challenge = c).is_some()
}

fn login_committed(h: &Host, f: &Flow) -> bool {
    login_marker(h, f).is_some_and(|m| marker_exists(h, &m))
}

fn consent_committed(h: &Host, f: &Flow) -> bool {
    marker_exists(h, &format!("consent:{}", f.consent_request_id))
}

/// From the login request to the browser's return with the consent verifier (whose answer
/// differs: a code at the client, or the device flow's success page).
pub fn login_and_consent(device: bool) -> Vec<Step> {
    let login_verifier = Step::new(
        "GET login_verifier",
        |h, f| {
            let url = f.login_verifier_url.clone();
            f.browser.get(h, &url)
        },
        take_consent_challenge,
    );
    let finished: fn(&Host, &mut Flow, &Resp) -> bool = if device {
        |_, _, r| r.location().starts_with(DEVICE_DONE)
    } else {
        |_, f, r| r.location().starts_with(REDIRECT) && r.param("code").map(|c| f.code = c).is_some()
    };
    let consent_verifier = Step::new(
        "GET consent_verifier",
        |h, f| {
            let url = f.consent_verifier_url.clone();
            f.browser.get(h, &url)
        },
        finished,
    );
    let refusal = if device { refused_on_error_page } else { refused_to_client };
    vec![
        Step::new(
            "GET login request",
            |h, f| {
                h.admin_at(
                    &h.p,
                    Method::Get,
                    &format!("/admin/oauth2/auth/requests/login?login_challenge={}", f.login_challenge),
                    None,
                )
            },
            |_, f, r| {
                r.status() == 200 && r.json()["session_id"].as_str().map(|s| f.session_id = s.to_string()).is_some()
            },
        ),
        Step::new(
            "PUT login accept",
            |h, f| {
                h.accept_login(
                    &f.login_challenge,
                    &json!({"subject": "walker", "remember": true, "remember_for": 3600}),
                )
            },
            |_, f, r| {
                r.status() == 200
                    && r.json()["redirect_to"].as_str().map(|s| f.login_verifier_url = s.to_string()).is_some()
            },
        ),
        login_verifier.single_use(login_committed, refusal),
        Step::new(
            "GET consent request",
            |h, f| {
                h.admin_at(
                    &h.p,
                    Method::Get,
                    &format!("/admin/oauth2/auth/requests/consent?consent_challenge={}", f.consent_challenge),
                    None,
                )
            },
            |_, f, r| {
                r.status() == 200
                    && r.json()["consent_request_id"].as_str().map(|s| f.consent_request_id = s.to_string()).is_some()
            },
        ),
        Step::new(
            "PUT consent accept",
            |h, f| {
                h.accept_consent(
                    &f.consent_challenge,
                    &json!({"grant_scope": ["openid", "offline_access"], "remember": true}),
                )
            },
            |_, f, r| {
                r.status() == 200
                    && r.json()["redirect_to"].as_str().map(|s| f.consent_verifier_url = s.to_string()).is_some()
            },
        ),
        consent_verifier.single_use(consent_committed, refusal),
    ]
}

/// Take the tokens of a 200 token response.
pub fn take_tokens(f: &mut Flow, r: &Resp) -> bool {
    let t = r.json();
    if r.status() != 200 || !t["access_token"].is_string() {
        return false;
    }
    f.access_token = t["access_token"].as_str().unwrap_or_default().to_string();
    if let Some(rt) = t["refresh_token"].as_str() {
        f.rotated_refresh_token = std::mem::replace(&mut f.refresh_token, rt.to_string());
    }
    if let Some(id) = t["id_token"].as_str() {
        f.id_token = id.to_string();
    }
    f.tokens = t;
    true
}

/// The tokens the client holds are stored and active.
pub fn tokens_stored(h: &Host, f: &Flow, _: bool) -> Result<(), String> {
    for (what, token, kind) in
        [("access", &f.access_token, "access_token"), ("refresh", &f.refresh_token, "refresh_token")]
    {
        match stored_token(h, token) {
            Some((k, true)) if k == kind => {}
            other => return Err(format!("the {what} token the client got is not stored as active: {other:?}")),
        }
    }
    Ok(())
}

fn code_used(h: &Host, f: &Flow) -> bool {
    !f.consent_request_id.is_empty()
        && h.world.count(&format!(
            "SELECT 1 FROM authorization_codes WHERE request_id = '{}' AND used_at IS NOT NULL",
            sql_str(&f.consent_request_id)
        )) > 0
}

fn token_request(h: &Host, f: &Flow) -> Resp {
    match &f.auth {
        ClientAuth::SecretBasic => h.exchange(&f.rp, &f.code),
        ClientAuth::PrivateKeyJwt(seed) => {
            let assertion = AssertionKey::new(*seed).assertion(&f.rp.id, &f.jti, h.now());
            h.post_form_at(&h.p, "/oauth2/token", &assertion_exchange(&f.code, &assertion), &[])
        }
    }
}

/// The whole code flow, to the tokens.
pub fn steps() -> Vec<Step> {
    let mut steps = vec![Step::new(
        "GET /oauth2/auth",
        |h, f| {
            let url = f.rp.auth_url(&[("state", &f.state)]);
            f.browser.get(h, &url)
        },
        take_login_challenge,
    )];
    steps.extend(login_and_consent(false));
    steps.push(
        Step::new("POST /oauth2/token (code)", |h, f| token_request(h, f), |_, f, r| take_tokens(f, r))
            .single_use(code_used, |r| r.status() == 400 && r.json()["error"] == "invalid_grant")
            .replay_revokes()
            .before_retry(|h, f| {
                // A spent assertion (its jti landed) is refused as a replay; a client retrying
                // signs a new one (RFC 7523: one jti per assertion).
                if let ClientAuth::PrivateKeyJwt(_) = f.auth {
                    if jti_stored(h, f) {
                        let r = token_request(h, f);
                        if r.json()["error"] != "jti_known" {
                            return Err(format!("a spent client assertion must be refused as jti_known: {r}"));
                        }
                        f.jti = format!("{}-retry", f.jti);
                    }
                }
                Ok(())
            })
            .done(tokens_stored),
    );
    steps
}

/// Setup of the walks that start from tokens: the whole code flow without faults.
pub fn to_tokens(h: &Host, f: &mut Flow) {
    run_all(h, &steps(), f);
}
