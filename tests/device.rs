//! The Device Authorization Grant (RFC 8628) end to end against the Worker: device
//! authorization, the browser's verification with the user code, login and consent, and the
//! device's polling (`authorization_pending`, `slow_down`, `access_denied`, `expired_token`,
//! single-use device codes).

mod common;

use common::oauth::*;
use common::tokens::{active, token_request};
use common::{json_of, shared, unique, Server};
use reqwest::blocking::Client as Http;
use serde_json::{json, Value};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn device_client(s: &Server, extra: Value) -> Rp<'_> {
    let mut body = json!({
        "grant_types": [DEVICE_GRANT, "refresh_token"],
        "scope": "openid offline_access profile",
        "audience": ["https://api.example"],
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    Rp::register(s, body)
}

/// `POST /oauth2/device/auth` with client_secret_basic.
fn authorize_device(rp: &Rp, scope: &str) -> (u16, Value) {
    json_of(
        rp.s.client()
            .post(rp.s.url("/oauth2/device/auth"))
            .basic_auth(&rp.id, Some(&rp.secret))
            .form(&[("client_id", rp.id.as_str()), ("scope", scope)])
            .send()
            .unwrap(),
    )
}

fn poll(rp: &Rp, device_code: &str) -> (u16, Value) {
    let (status, body, _) =
        token_request(rp.s, &rp.id, &rp.secret, &[("grant_type", DEVICE_GRANT), ("device_code", device_code)]);
    (status, body)
}

/// The browser opens `verification_uri_complete`; the verification UI accepts the user code.
/// Returns the device challenge and the verifier URL.
fn verify(s: &Server, browser: &Http, complete_uri: &str, typed: &str) -> (String, String) {
    let r = browser.get(complete_uri).send().unwrap();
    assert_eq!(r.status(), 302);
    let loc = location(&r);
    assert!(loc.starts_with(&s.url("/oauth2/fallbacks/device")), "{loc}");
    let challenge = param(&loc, "device_challenge").unwrap();
    let (status, v) = admin_put(
        s,
        &format!("/admin/oauth2/auth/requests/device/accept?device_challenge={challenge}"),
        &json!({"user_code": typed}),
    );
    assert_eq!(status, 200, "{v}");
    (challenge, v["redirect_to"].as_str().unwrap().to_string())
}

/// Login and consent of a device flow started with the verifier URL; the final response.
fn login_and_consent(s: &Server, browser: &Http, verifier_url: &str, subject: &str) -> reqwest::blocking::Response {
    let login = to_login(browser, verifier_url);
    let (_, lr) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(lr["requested_scope"], json!(["openid", "offline_access"]), "{lr}");
    assert!(lr["request_url"].as_str().unwrap().contains("/oauth2/device/verify"), "{lr}");
    let to = accept_login(s, &login, &json!({"subject": subject, "remember": true}));
    assert!(to.contains("/oauth2/device/verify?") && to.contains("login_verifier="), "{to}");
    let consent = to_consent(browser, &to);
    let (_, cr) = s.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={consent}"));
    assert_eq!(cr["requested_scope"], json!(["openid", "offline_access"]), "{cr}");
    let to = accept_consent(s, &consent, &json!({"grant_scope": cr["requested_scope"], "remember": true}));
    browser.get(to).send().unwrap()
}

#[test]
fn a_device_signs_in_while_it_polls() {
    let s = shared();
    let rp = device_client(s, json!({}));
    let (status, d) = authorize_device(&rp, "openid offline_access");
    assert_eq!(status, 200, "{d}");
    let device_code = d["device_code"].as_str().unwrap();
    let user_code = d["user_code"].as_str().unwrap();
    assert!(device_code.starts_with("ory_dc_"), "{d}");
    assert_eq!(user_code.len(), 8);
    assert!(user_code.chars().all(|c| "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679".contains(c)), "{d}");
    assert_eq!(d["verification_uri"], s.url("/oauth2/device/verify"));
    assert_eq!(d["verification_uri_complete"], format!("{}?user_code={user_code}", s.url("/oauth2/device/verify")));
    assert_eq!((d["expires_in"].as_i64(), d["interval"].as_i64()), (Some(600), Some(5)));

    // Not yet: pending, and polling again at once is too fast.
    assert_eq!(poll(&rp, device_code).1["error"], "authorization_pending");
    let (status, body) = poll(&rp, device_code);
    assert_eq!((status, body["error"].as_str()), (400, Some("slow_down")), "{body}");

    let browser = s.browser();
    let (_, verifier_url) = verify(s, &browser, d["verification_uri_complete"].as_str().unwrap(), user_code);
    assert!(verifier_url.contains("device_verifier=") && verifier_url.contains(&format!("client_id={}", rp.id)));
    let subject = unique("device-user");
    let r = login_and_consent(s, &browser, &verifier_url, &subject);
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), format!("{}?client_id={}", s.url("/oauth2/fallbacks/device/done"), rp.id));

    // The verifier URLs are spent.
    let again = browser.get(&verifier_url).send().unwrap();
    assert!(location(&again).starts_with(&s.url("/oauth2/fallbacks/error")), "{}", location(&again));

    let (status, tokens) = poll(&rp, device_code);
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "openid offline_access");
    let at = tokens["access_token"].as_str().unwrap();
    assert!(at.starts_with("ory_at_") && tokens["refresh_token"].is_string() && tokens["id_token"].is_string());
    let claims = common::tokens::decode_part(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], subject.as_str());
    assert_eq!(claims["aud"], json!([rp.id]));
    assert!(claims["sid"].is_string());
    assert!(active(s, at));

    // Once only: a second redemption is invalid_grant and revokes what the first one got.
    let (status, body) = poll(&rp, device_code);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(!active(s, at), "a replayed device code revokes its tokens");

    // The consent is a consent session like any other.
    let (_, list) = s.admin_get(&format!("/admin/oauth2/auth/sessions/consent?subject={subject}"));
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["consent_request"]["client"]["client_id"], rp.id.as_str());
}

#[test]
fn a_denied_device_gets_access_denied() {
    let s = shared();
    let rp = device_client(s, json!({}));
    let (_, d) = authorize_device(&rp, "openid");
    let browser = s.browser();
    let (_, verifier_url) =
        verify(s, &browser, d["verification_uri"].as_str().unwrap(), d["user_code"].as_str().unwrap());
    let login = to_login(&browser, &verifier_url);
    let to = accept_login(s, &login, &json!({"subject": unique("u")}));
    let consent = to_consent(&browser, &to);
    let (status, v) = admin_put(
        s,
        &format!("/admin/oauth2/auth/requests/consent/reject?consent_challenge={consent}"),
        &json!({"error": "access_denied", "error_description": "no"}),
    );
    assert_eq!(status, 200, "{v}");
    let r = browser.get(v["redirect_to"].as_str().unwrap()).send().unwrap();
    assert!(location(&r).starts_with(&s.url("/oauth2/fallbacks/error")), "{}", location(&r));
    let (status, body) = poll(&rp, d["device_code"].as_str().unwrap());
    assert_eq!((status, body["error"].as_str()), (403, Some("access_denied")), "{body}");
}

#[test]
fn device_authorization_refuses_what_the_client_may_not_do() {
    let s = shared();
    let rp = device_client(s, json!({}));
    let plain = Rp::register(s, json!({}));
    let post = |rp: &Rp, form: &[(&str, &str)]| {
        json_of(
            s.client()
                .post(s.url("/oauth2/device/auth"))
                .basic_auth(&rp.id, Some(&rp.secret))
                .form(form)
                .send()
                .unwrap(),
        )
    };
    let (status, b) = post(&plain, &[("client_id", &plain.id)]);
    assert_eq!((status, b["error"].as_str()), (400, Some("invalid_grant")), "{b}");
    let (status, b) = post(&rp, &[("client_id", &rp.id), ("scope", "admin")]);
    assert_eq!((status, b["error"].as_str()), (400, Some("invalid_scope")), "{b}");
    let (status, b) = post(&rp, &[("client_id", &plain.id)]);
    assert_eq!((status, b["error"].as_str()), (400, Some("invalid_request")), "{b}");
    let (status, b) = post(&rp, &[("client_id", &rp.id), ("audience", "https://evil.example")]);
    assert_eq!((status, b["error"].as_str()), (400, Some("invalid_request")), "{b}");
    let (status, b) = json_of(
        s.client()
            .post(s.url("/oauth2/device/auth"))
            .basic_auth(&rp.id, Some("wrong"))
            .form(&[("client_id", &rp.id)])
            .send()
            .unwrap(),
    );
    assert_eq!((status, b["error"].as_str()), (401, Some("invalid_client")), "{b}");
    // A public client authenticates with its id alone.
    let public = device_client(s, json!({"token_endpoint_auth_method": "none"}));
    let (status, d) = json_of(
        s.client().post(s.url("/oauth2/device/auth")).form(&[("client_id", public.id.as_str())]).send().unwrap(),
    );
    assert_eq!(status, 200, "{d}");
}

#[test]
fn wrong_user_codes_are_bounded_per_verification() {
    let s = shared();
    let rp = device_client(s, json!({}));
    let (_, d) = authorize_device(&rp, "openid");
    let browser = s.browser();
    let r = browser.get(s.url("/oauth2/device/verify")).send().unwrap();
    let challenge = param(&location(&r), "device_challenge").unwrap();
    let accept = |code: &str| {
        admin_put(
            s,
            &format!("/admin/oauth2/auth/requests/device/accept?device_challenge={challenge}"),
            &json!({"user_code": code}),
        )
    };
    for wrong in ["aaaaaaaa", "AAAAAAAA", "bbbbbbbb", "cccccccc", "dddddddd"] {
        let (status, b) = accept(wrong);
        assert_eq!((status, b["error"].as_str()), (400, Some("invalid_request")), "{b}");
    }
    // The sixth attempt is refused even with the right code.
    let (status, b) = accept(d["user_code"].as_str().unwrap());
    assert_eq!(status, 400, "{b}");
    assert!(b["error_description"].as_str().unwrap().contains("Too many"), "{b}");
    // A new verification may try again.
    let (_, to) = verify(s, &browser, d["verification_uri"].as_str().unwrap(), d["user_code"].as_str().unwrap());
    assert!(to.contains("device_verifier="));
}

#[test]
fn an_expired_device_code_is_expired_token() {
    let s = Server::start(&[("TTL_DEVICE_USER_CODE", "2s")]);
    let rp = device_client(&s, json!({}));
    let (_, d) = authorize_device(&rp, "openid");
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let (status, body) = poll(&rp, d["device_code"].as_str().unwrap());
    assert_eq!((status, body["error"].as_str()), (400, Some("expired_token")), "{body}");
    let r = s.browser().get(s.url("/oauth2/device/verify")).send().unwrap();
    let challenge = param(&location(&r), "device_challenge").unwrap();
    let (status, b) = admin_put(
        &s,
        &format!("/admin/oauth2/auth/requests/device/accept?device_challenge={challenge}"),
        &json!({"user_code": d["user_code"]}),
    );
    assert_eq!((status, b["error"].as_str()), (400, Some("invalid_request")), "{b}");
}

/// D1 round trips of each device-flow request (the test-mode storage-cost header), printed for
/// the report and bounded here.
#[test]
fn device_flow_storage_cost() {
    let s = shared();
    let rp = device_client(s, json!({}));
    let d1 = |r: &reqwest::blocking::Response| -> u32 {
        let ops = storage_ops(r);
        ops.strip_prefix("d1=").and_then(|x| x.split('/').next()).and_then(|n| n.parse().ok()).unwrap_or(99)
    };
    let auth = |rp: &Rp| {
        rp.s.client()
            .post(rp.s.url("/oauth2/device/auth"))
            .basic_auth(&rp.id, Some(&rp.secret))
            .form(&[("client_id", rp.id.as_str()), ("scope", "openid")])
            .send()
            .unwrap()
    };
    // Warm the client caches, then measure.
    let _ = auth(&rp);
    let r = auth(&rp);
    let auth_ops = storage_ops(&r);
    let auth_d1 = d1(&r);
    let (_, d) = json_of(r);
    let poll_once = || {
        s.client()
            .post(s.url("/oauth2/token"))
            .basic_auth(&rp.id, Some(&rp.secret))
            .form(&[("grant_type", DEVICE_GRANT), ("device_code", d["device_code"].as_str().unwrap())])
            .send()
            .unwrap()
    };
    let r = poll_once();
    let pending = (storage_ops(&r), d1(&r));
    let r = poll_once();
    let slow = (storage_ops(&r), d1(&r));
    let browser = s.browser();
    let r = browser.get(s.url("/oauth2/device/verify")).send().unwrap();
    let start = (storage_ops(&r), d1(&r));
    let challenge = param(&location(&r), "device_challenge").unwrap();
    let r = s
        .admin(reqwest::Method::PUT, &format!("/admin/oauth2/auth/requests/device/accept?device_challenge={challenge}"))
        .json(&json!({"user_code": d["user_code"]}))
        .send()
        .unwrap();
    let accept = (storage_ops(&r), d1(&r));
    println!("device auth: {auth_ops}");
    println!("poll (pending): {}", pending.0);
    println!("poll (too fast): {}", slow.0);
    println!("verify (start): {}", start.0);
    println!("accept user code: {}", accept.0);
    assert!(auth_d1 <= 1, "device auth: {auth_ops}");
    assert!(pending.1 <= 2, "pending poll: {}", pending.0);
    assert!(slow.1 <= 2, "slow_down: {}", slow.0);
    assert_eq!(start.1, 0, "starting a verification writes nothing: {}", start.0);
    assert!(accept.1 <= 2, "accept: {}", accept.0);
}
