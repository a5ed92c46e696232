//! The device authorization grant (RFC 8628): device authorization, a poll while the user has
//! not finished, the verification legs in the browser (user code, device verifier, login and
//! consent), the redemption of the device code, and a replay of it (which revokes the grant).

use crate::code_flow::{login_and_consent, refused_on_error_page, take_tokens, tokens_stored};
use crate::host_support::*;
use crate::walker::*;
use hydra_edge::crypto::seal::Purpose;
use hydra_edge::device::DeviceState;
use hydra_edge::http::Method;
use serde_json::json;

pub fn client(h: &Host) -> (Rp, ClientAuth) {
    let rp = h.register(json!({
        "grant_types": [DEVICE_GRANT, "refresh_token"],
        "response_types": [],
        "redirect_uris": [],
        "scope": "openid offline_access",
    }));
    (rp, ClientAuth::SecretBasic)
}

fn poll(h: &Host, f: &Flow) -> Resp {
    h.token(&f.rp, &[("grant_type", DEVICE_GRANT), ("device_code", &f.device_code)])
}

fn device_state(h: &Host, f: &Flow) -> String {
    let rows = h
        .world
        .sql(&format!("SELECT state FROM device_codes WHERE signature = '{}'", sql_str(signature_of(&f.device_code))));
    rows.first().and_then(|r| r["state"].as_str()).unwrap_or("").to_string()
}

fn device_marker_exists(h: &Host, f: &Flow) -> bool {
    let id = h.unseal::<DeviceState>(Purpose::DeviceChallenge, &f.device_challenge).id;
    marker_exists(h, &format!("device:{id}"))
}

fn error_is(r: &Resp, error: &str) -> bool {
    r.status() == 400 && r.json()["error"] == error
}

pub fn steps() -> Vec<Step> {
    let mut steps = vec![
        Step::new(
            "POST /oauth2/device/auth",
            |h, f| {
                let body = form(&[("client_id", &f.rp.id), ("scope", "openid offline_access")]);
                h.post_form_at(&h.p, "/oauth2/device/auth", &body, &[("authorization", &basic(&f.rp.id, &f.rp.secret))])
            },
            |_, f, r| {
                let d = r.json();
                if r.status() != 200 || !d["device_code"].is_string() {
                    return false;
                }
                f.device_code = d["device_code"].as_str().unwrap_or_default().to_string();
                f.user_code = d["user_code"].as_str().unwrap_or_default().to_string();
                f.verification_uri_complete = d["verification_uri_complete"].as_str().unwrap_or_default().to_string();
                f.interval = d["interval"].as_i64().unwrap_or(5);
                true
            },
        ),
        // The first poll is never too soon; before a retry the device waits its interval, as
        // RFC 8628 §3.5 asks, so no poll of the walk is a `slow_down`. (The clock moves only
        // then: per-isolate caches stay as warm as the walk's mode says.)
        Step::new(
            "POST /oauth2/token (device code, pending)",
            |h, f| poll(h, f),
            |_, _, r| error_is(r, "authorization_pending"),
        )
        .before_retry(|h, f| {
            h.world.advance_secs(f.interval);
            Ok(())
        }),
        Step::new(
            "GET /oauth2/device/verify (user code)",
            |h, f| {
                let url = f.verification_uri_complete.clone();
                f.browser.get(h, &url)
            },
            |_, f, r| {
                r.param("user_code").as_deref() == Some(f.user_code.as_str())
                    && r.param("device_challenge").map(|c| f.device_challenge = c).is_some()
            },
        ),
        Step::new(
            "PUT device accept (user code)",
            |h, f| {
                h.admin_at(
                    &h.p,
                    Method::Put,
                    &format!("/admin/oauth2/auth/requests/device/accept?device_challenge={}", f.device_challenge),
                    Some(&json!({"user_code": f.user_code})),
                )
            },
            |_, f, r| {
                r.status() == 200
                    && r.json()["redirect_to"].as_str().map(|s| f.device_verifier_url = s.to_string()).is_some()
            },
        ),
        Step::new(
            "GET device_verifier",
            |h, f| {
                let url = f.device_verifier_url.clone();
                f.browser.get(h, &url)
            },
            |_, f, r| r.param("login_challenge").map(|c| f.login_challenge = c).is_some(),
        )
        .single_use(device_marker_exists, refused_on_error_page),
    ];
    let mut legs = login_and_consent(true);
    if let Some(last) = legs.last_mut() {
        last.done = |h, f, _| match device_state(h, f).as_str() {
            "accepted" => Ok(()),
            other => Err(format!("the device request is {other:?} after the consent, not accepted")),
        };
    }
    steps.extend(legs);
    steps.push(
        Step::new("POST /oauth2/token (device code)", |h, f| poll(h, f), |_, f, r| take_tokens(f, r))
            .single_use(|h, f| device_state(h, f) == "used", |r| error_is(r, "invalid_grant"))
            .replay_revokes()
            .done(tokens_stored),
    );
    steps.push(
        Step::new(
            "POST /oauth2/token (device code replayed)",
            |h, f| poll(h, f),
            |_, _, r| error_is(r, "invalid_grant"),
        )
        .revokes()
        .done(|h, f, _| match chain_tokens(h, f) {
            0 => Ok(()),
            n => Err(format!("{n} tokens left after the device code's replay")),
        }),
    );
    steps
}
