//! Regression tests for the holes an attacker's review found (issue 8, "fix these first"): each
//! failed before its fix. Loopback redirect URIs, session fixation, `id_token_hint` after a
//! fresh login, the `jwks_uri` fetch, scope tokens and form decoding, dynamic-registration
//! bounds, `jwks` beside `jwks_uri`, storage outages.

mod common;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::jose::{EcKey, ASSERTION_TYPE};
use common::oauth::*;
use common::stub::Stub;
use common::{json_of, unique, Server};
use reqwest::Method;
use serde_json::{json, Value};

/// This file's server: dynamic registration on, so its bounds can be tested.
fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| Server::start(&[("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED", "true")]))
}

fn error_page(s: &Server) -> String {
    s.url("/oauth2/fallbacks/error")
}

// --- 1. Loopback redirect URIs (RFC 8252 §7.3: only the port may vary) ----------------------

#[test]
fn loopback_redirect_uris_vary_only_in_the_port() {
    let s = server();
    let rp = Rp::register(
        s,
        json!({"redirect_uris": [REDIRECT, "http://127.0.0.1:7000/cb", "http://[::1]/cb", "http://127.0.0.1/q?x=1"]}),
    );
    let b = s.browser();
    // prompt=none without a session errors at once: the error shows where the server would
    // send the browser for this redirect_uri.
    let try_uri = |uri: &str| {
        let r = b.get(rp.auth_url(&[("redirect_uri", uri), ("prompt", "none")])).send().unwrap();
        location(&r)
    };
    for (uri, expected) in [
        ("http://127.0.0.1:5555/cb", "http://127.0.0.1:5555/cb?error=login_required"),
        ("http://127.0.0.1/cb", "http://127.0.0.1/cb?error=login_required"),
        ("http://[::1]:8080/cb", "http://[::1]:8080/cb?error=login_required"),
        ("http://127.0.0.1:65535/q?x=1", "http://127.0.0.1:65535/q?x=1&error=login_required"),
    ] {
        let loc = try_uri(uri);
        assert!(loc.starts_with(expected), "{uri}: {loc}");
    }
    for attack in [
        // Userinfo: the real host is evil.example.
        "http://127.0.0.1:1@evil.example/cb",
        "http://127.0.0.1:7000@evil.example/cb",
        "http://[::1]:1@evil.example/cb",
        "http://[::1]@evil.example/cb",
        "http://user@127.0.0.1:7000/cb",
        "http://127.0.0.1:1\\@evil.example/cb",
        // Not the registered literal, not a numeric port, not the same path or query.
        "http://127.1:7000/cb",
        "http://0x7f.0.0.1:7000/cb",
        "http://[0:0::1]:7000/cb",
        "http://localhost:7000/cb",
        "http://127.0.0.1:70x0/cb",
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1:/cb",
        "http://127.0.0.1:5555/cb/",
        "http://127.0.0.1:5555/cb?x=1",
        "http://127.0.0.1:5555/q?x=2",
        "http://127.0.0.1:5555/q",
        "http://127.0.0.1:5555/cb#frag",
        "http://127.0.0.1:5555/CB",
        "https://127.0.0.1:7000/cb",
        "http://127.0.0.1:5555/%63b",
        "http://127.0.0.1:5555/./cb",
    ] {
        let loc = try_uri(attack);
        assert!(loc.starts_with(&error_page(s)), "{attack} must end at the error page, went to {loc}");
        assert!(!loc.contains("evil.example/cb?"), "{attack}: {loc}");
    }
}

// --- 2. Session fixation ---------------------------------------------------------------------

fn session_cookie(jar: &reqwest::cookie::Jar, s: &Server) -> Option<String> {
    use reqwest::cookie::CookieStore;
    let header = jar.cookies(&s.url("/").parse().unwrap())?;
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|c| c.strip_prefix("ory_hydra_session=").map(|v| format!("ory_hydra_session={v}")))
}

fn login_request(s: &Server, challenge: &str) -> Value {
    let (status, req) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={challenge}"));
    assert_eq!(status, 200, "{req}");
    req
}

/// Login (remembered) and consent in `browser`; returns the login request the app saw.
fn login_and_consent(rp: &Rp, browser: &reqwest::blocking::Client, url: &str, subject: &str) -> Value {
    let challenge = to_login(browser, url);
    let req = login_request(rp.s, &challenge);
    let to = accept_login(rp.s, &challenge, &json!({"subject": subject, "remember": true, "remember_for": 3600}));
    let consent = to_consent(browser, &to);
    let to = accept_consent(rp.s, &consent, &json!({"grant_scope": ["openid", "offline_access"]}));
    let r = to_client(browser, &to);
    assert_eq!(r.status(), 303, "{}", location(&r));
    req
}

#[test]
fn a_planted_session_cookie_never_ends_up_naming_the_victim() {
    let s = server();
    let rp = Rp::register(s, json!({}));
    let mallory = unique("mallory");
    let victim = unique("victim");

    // The attacker logs in and keeps the session cookie.
    let attacker_jar = Arc::new(reqwest::cookie::Jar::default());
    let attacker = s.browser_with_jar(attacker_jar.clone());
    let first = login_and_consent(&rp, &attacker, &rp.auth_url(&[]), &mallory);
    let attacker_sid = first["session_id"].as_str().unwrap().to_string();
    let planted = session_cookie(&attacker_jar, s).expect("the attacker got a session cookie");

    // The cookie is planted in the victim's browser; the victim logs in anew.
    let victim_jar = Arc::new(reqwest::cookie::Jar::default());
    victim_jar.add_cookie_str(&format!("{planted}; Path=/"), &s.url("/").parse().unwrap());
    let victim_browser = s.browser_with_jar(victim_jar.clone());
    let fresh = login_and_consent(&rp, &victim_browser, &rp.auth_url(&[("prompt", "login")]), &victim);
    assert_eq!(fresh["skip"], false);
    let victim_sid = fresh["session_id"].as_str().unwrap().to_string();
    assert_ne!(victim_sid, attacker_sid, "a login that was not skipped gets a new session id");

    // The attacker's session row still names the attacker, and the victim has a row of their own.
    let rows = s.d1(&format!("SELECT id, subject FROM login_sessions WHERE id IN ('{attacker_sid}', '{victim_sid}')"));
    let subject_of = |sid: &str| rows.iter().find(|r| r["id"] == sid).map(|r| r["subject"].clone());
    assert_eq!(subject_of(&attacker_sid), Some(json!(mallory)));
    assert_eq!(subject_of(&victim_sid), Some(json!(victim)));

    // The attacker's cookie still opens only the attacker's own session.
    let challenge = to_login(&attacker, &rp.auth_url(&[]));
    let again = login_request(s, &challenge);
    assert_eq!(again["skip"], true);
    assert_eq!(again["subject"], json!(mallory), "the attacker's cookie must not carry the victim's login");
}

#[test]
fn max_age_and_a_new_user_in_the_same_browser_also_get_a_new_session() {
    let s = server();
    let rp = Rp::register(s, json!({}));
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let b = s.browser_with_jar(jar);
    let first = login_and_consent(&rp, &b, &rp.auth_url(&[]), &unique("ann"));
    let sid = first["session_id"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(1100));
    let other = unique("ben");
    let second = login_and_consent(&rp, &b, &rp.auth_url(&[("max_age", "0")]), &other);
    assert_eq!(second["skip"], false);
    assert_ne!(second["session_id"], json!(sid));
    let rows = s.d1(&format!("SELECT subject FROM login_sessions WHERE id = '{sid}'"));
    assert_ne!(rows[0]["subject"], json!(other), "the subject of a session row never changes");
}

// --- 3. id_token_hint after a login that was not skipped ---------------------------------------

#[test]
fn an_id_token_hint_for_alice_then_a_login_as_bob_is_login_required() {
    let s = server();
    let rp = Rp::register(s, json!({}));
    let alice = unique("alice");
    let bob = unique("bob");
    let code = {
        let r = run_flow(&rp, &s.browser(), &rp.auth_url(&[]), &alice);
        param(&location(&r), "code").unwrap()
    };
    let (_, tokens, _) = rp.exchange(&code, VERIFIER);
    let hint = tokens["id_token"].as_str().unwrap().to_string();

    // A browser without a session: the login is not skipped, and the user logs in as bob.
    let b = s.browser();
    let challenge = to_login(&b, &rp.auth_url(&[("id_token_hint", &hint)]));
    assert_eq!(login_request(s, &challenge)["skip"], false);
    let to = accept_login(s, &challenge, &json!({"subject": bob, "remember": true}));
    let r = b.get(&to).send().unwrap();
    let loc = location(&r);
    assert_eq!(r.status(), 303, "{loc}");
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert_eq!(param(&loc, "error").as_deref(), Some("login_required"), "{loc}");
    assert!(param(&loc, "error_description").unwrap().contains("id_token_hint"), "{loc}");
    assert_eq!(s.d1(&format!("SELECT id FROM login_sessions WHERE subject = '{bob}'")).len(), 0);
    // The same hint with a login as alice works.
    let challenge = to_login(&b, &rp.auth_url(&[("id_token_hint", &hint)]));
    let to = accept_login(s, &challenge, &json!({"subject": alice}));
    let consent = to_consent(&b, &to);
    assert!(!consent.is_empty());
}

// --- 4. The jwks_uri fetch --------------------------------------------------------------------

fn private_key_jwt_client(s: &Server, jwks_uri: &str) -> String {
    let (status, c) = s.admin_json(
        Method::POST,
        "/admin/clients",
        &json!({"token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256",
                "jwks_uri": jwks_uri, "redirect_uris": [REDIRECT]}),
    );
    assert_eq!(status, 201, "{c}");
    c["client_id"].as_str().unwrap().to_string()
}

/// A token request authenticated by an assertion: 400 invalid_grant means the client
/// authenticated (the code is junk), 401 invalid_client means it did not.
fn assert_with(s: &Server, key: &EcKey, client_id: &str) -> (u16, Value, Duration) {
    send_assertion(s, &key.assertion(client_id, &s.url("/oauth2/token"), &unique("jti"), 300))
}

fn send_assertion(s: &Server, assertion: &str) -> (u16, Value, Duration) {
    let started = Instant::now();
    let (status, body) = json_of(
        s.client()
            .post(s.url("/oauth2/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", "junk"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion),
            ])
            .send()
            .unwrap(),
    );
    (status, body, started.elapsed())
}

#[test]
fn jwks_uri_fetches_follow_no_redirect_and_read_a_capped_body_within_a_timeout() {
    let s = server();
    let stub = Stub::start();
    let key = EcKey::new(11, "k1");
    stub.set("good", key.jwks());
    stub.set("moved", key.jwks());

    let good = private_key_jwt_client(s, &stub.url("/doc/good"));
    let (status, body, _) = assert_with(s, &key, &good);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // Signed by the right key, but with a critical header extension (RFC 7515 §4.1.11) that
    // this server does not implement: refused, however it is spelt.
    let claims = common::jose::assertion_claims(&good, &s.url("/oauth2/token"), &unique("jti"), 300);
    for crit in [json!(["b64"]), json!([]), json!("x")] {
        let signed = key.sign(&json!({"alg": "ES256", "kid": "k1", "crit": crit, "b64": false}), &claims);
        let (status, body, _) = send_assertion(s, &signed);
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "crit {crit}: {body}");
    }

    // A redirect is not followed, even to a valid key set.
    let moved = private_key_jwt_client(s, &stub.url("/redirect/moved"));
    let (status, body, _) = assert_with(s, &key, &moved);
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    assert_eq!(stub.hits("/doc/moved"), 0, "the redirect target was fetched");

    // A 64 MiB answer: the read stops at the cap.
    let huge = private_key_jwt_client(s, &stub.url("/huge"));
    let (status, body, took) = assert_with(s, &key, &huge);
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(stub.huge_bytes_written() < 16 << 20, "read {} bytes", stub.huge_bytes_written());
    assert!(took < Duration::from_secs(10), "{took:?}");

    // No answer at all: the fetch gives up.
    let silent = private_key_jwt_client(s, &stub.url("/hang"));
    let (status, body, took) = assert_with(s, &key, &silent);
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    assert!(took < Duration::from_secs(15), "{took:?}");
}

#[test]
fn failed_jwks_uri_fetches_are_cached_briefly() {
    let s = server();
    let stub = Stub::start();
    let key = EcKey::new(12, "k1");
    let failing = private_key_jwt_client(s, &stub.url("/fail"));
    for _ in 0..4 {
        let (status, body, _) = assert_with(s, &key, &failing);
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    }
    assert_eq!(stub.hits("/fail"), 1, "a junk assertion naming the client must not trigger a fetch each time");
}

#[test]
fn uris_the_server_fetches_must_not_point_into_private_networks() {
    let s = server();
    let key = EcKey::new(13, "k1");
    let base = json!({"token_endpoint_auth_method": "private_key_jwt", "redirect_uris": [REDIRECT]});
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        if field != "jwks_uri" {
            body["jwks"] = key.jwks();
        }
        body[field] = value;
        body
    };
    for (field, value) in [
        ("jwks_uri", json!("https://10.0.0.1/jwks")),
        ("jwks_uri", json!("https://192.168.1.10/jwks")),
        ("jwks_uri", json!("https://172.16.5.4/jwks")),
        ("jwks_uri", json!("https://169.254.169.254/latest/meta-data")),
        ("jwks_uri", json!("https://[fd00::1]/jwks")),
        ("jwks_uri", json!("https://[fe80::1]/jwks")),
        ("jwks_uri", json!("https://[::ffff:10.0.0.1]/jwks")),
        ("jwks_uri", json!("https://0.0.0.0/jwks")),
        ("jwks_uri", json!("https://100.64.0.1/jwks")),
        ("jwks_uri", json!("http://keys.example/jwks")),
        ("jwks_uri", json!("ftp://keys.example/jwks")),
        ("sector_identifier_uri", json!("https://10.1.2.3/sector")),
        ("sector_identifier_uri", json!("http://sector.example/uris")),
        ("backchannel_logout_uri", json!("https://192.168.0.1/logout")),
        ("backchannel_logout_uri", json!("http://rp.example/logout")),
        ("request_uris", json!(["https://10.0.0.2/request.jwt"])),
        ("request_uris", json!(["http://rp.example/request.jwt"])),
    ] {
        let (status, body) = s.admin_json(Method::POST, "/admin/clients", &with(field, value.clone()));
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client_metadata")), "{field}={value}: {body}");
        assert!(body["error_description"].as_str().unwrap().contains(field), "{body}");
    }
    // The issuer here is loopback (local development), so loopback keys are fine.
    let (status, body) =
        s.admin_json(Method::POST, "/admin/clients", &with("jwks_uri", json!("http://127.0.0.1:9/jwks")));
    assert_eq!(status, 201, "{body}");
    let (status, body) =
        s.admin_json(Method::POST, "/admin/clients", &with("jwks_uri", json!("https://keys.example/jwks")));
    assert_eq!(status, 201, "{body}");
}

// --- 5. Scope tokens and form decoding --------------------------------------------------------

#[test]
fn wildcard_scopes_cover_only_scope_tokens() {
    let s = server();
    let rp = Rp::register(s, json!({"scope": "openid offline_access photos.*"}));
    let b = s.browser();
    let r = b.get(rp.auth_url(&[("scope", "openid photos.read")])).send().unwrap();
    assert_eq!(r.status(), 302);
    assert!(param(&location(&r), "login_challenge").is_some(), "{}", location(&r));
    for bad in ["photos.a\"b", "photos.\\x", "photos.é", "photos.a\u{7f}"] {
        let r = b.get(rp.auth_url(&[("scope", &format!("openid {bad}"))])).send().unwrap();
        let loc = location(&r);
        let error = param(&loc, "error");
        assert!(matches!(error.as_deref(), Some("invalid_scope") | Some("invalid_request")), "{bad:?}: {loc}");
        assert!(param(&loc, "login_challenge").is_none(), "{bad:?} reached the login app");
    }
}

#[test]
fn malformed_escapes_nul_and_control_characters_are_invalid_request() {
    let s = server();
    let rp = Rp::register(s, json!({"scope": "openid offline_access photos.*"}));
    let b = s.browser();
    let query = |extra: &str| {
        let mut q = format!(
            "/oauth2/auth?client_id={}&response_type=code&redirect_uri=https%3A%2F%2Frp.example%2Fcallback&scope=openid\
             &code_challenge={CHALLENGE}&code_challenge_method=S256&{extra}",
            rp.id
        );
        if !extra.contains("state=") {
            q.push_str("&state=state-0123456789");
        }
        s.url(&q)
    };
    for raw in [
        "scope=photos.%00x",
        "state=abc%ZZdefgh",
        "state=abcdefgh%",
        "state=abcdefgh%4",
        "nonce=abc%0Adefgh",
        "state=a%01bcdefgh",
        "state=abcdefgh%C2%85",
        "login_hint=a%0D%0ASet-Cookie:x",
    ] {
        let url = query(raw).replace("&scope=openid&", if raw.starts_with("scope=") { "&" } else { "&scope=openid&" });
        let r = b.get(&url).send().unwrap();
        let loc = location(&r);
        assert!(loc.starts_with(&error_page(s)), "{raw}: {loc}");
        assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"), "{raw}: {loc}");
    }
    // The token endpoint: invalid_request before anything else is looked at.
    for body in [
        "grant_type=authorization_code&code=%ZZ",
        "grant_type=authorization_code&code=abc%",
        "grant_type=authorization_code&code=a%00b",
        "grant_type=authorization_code%0D%0Ax&code=a",
        "grant_type=authorization_code&redirect_uri=https%3A%2F%2Frp.example%2Fcallback%0D%0ASet-Cookie%3A+x&code=a",
    ] {
        let (status, v) = json_of(
            s.client()
                .post(s.url("/oauth2/token"))
                .basic_auth(&rp.id, Some(&rp.secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .unwrap(),
        );
        assert_eq!((status, v["error"].as_str()), (400, Some("invalid_request")), "{body}: {v}");
    }
}

// --- 6. Dynamic registration bounds -----------------------------------------------------------

#[test]
fn registrants_cannot_choose_centuries_of_lifespan_or_scopes_and_audiences_outside_the_configured_sets() {
    let s = server();
    let register = |extra: Value| {
        let mut body = json!({"redirect_uris": [REDIRECT]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        json_of(s.client().post(s.url("/oauth2/register")).json(&body).send().unwrap())
    };
    for bad in [
        json!({"authorization_code_grant_access_token_lifespan": "876000h"}),
        json!({"refresh_token_grant_refresh_token_lifespan": "100000h"}),
        json!({"implicit_grant_id_token_lifespan": "8760h"}),
        json!({"client_credentials_grant_access_token_lifespan": "25h"}),
        json!({"scope": "*"}),
        json!({"scope": "openid admin"}),
        json!({"scope": "openid photos.*"}),
        json!({"audience": ["https://api.example"]}),
    ] {
        let (status, body) = register(bad.clone());
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client_metadata")), "{bad}: {body}");
    }
    let before = s.d1("SELECT COUNT(*) AS n FROM clients")[0]["n"].clone();
    let (status, body) = register(json!({
        "scope": "openid offline_access",
        "authorization_code_grant_access_token_lifespan": "30m",
        "authorization_code_grant_refresh_token_lifespan": "720h",
    }));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["authorization_code_grant_access_token_lifespan"], "30m0s");
    let after = s.d1("SELECT COUNT(*) AS n FROM clients")[0]["n"].clone();
    assert_eq!(after.as_i64().unwrap(), before.as_i64().unwrap() + 1);

    // The same bounds apply when a registrant updates its client.
    let uri = body["registration_client_uri"].as_str().unwrap().to_string();
    let token = body["registration_access_token"].as_str().unwrap().to_string();
    let (status, updated) = json_of(
        s.client()
            .put(&uri)
            .bearer_auth(&token)
            .json(&json!({"redirect_uris": [REDIRECT], "scope": "openid *"}))
            .send()
            .unwrap(),
    );
    assert_eq!((status, updated["error"].as_str()), (400, Some("invalid_client_metadata")), "{updated}");
    // The admin API is not bound by them.
    let (status, body) = s.admin_json(
        Method::POST,
        "/admin/clients",
        &json!({"scope": "openid admin photos.*", "authorization_code_grant_access_token_lifespan": "8760h"}),
    );
    assert_eq!(status, 201, "{body}");
}

// --- 7. jwks and jwks_uri together ------------------------------------------------------------

#[test]
fn jwks_and_jwks_uri_together_are_refused_in_any_form() {
    let s = server();
    let key = EcKey::new(14, "k1");
    for jwks in [json!({"keys": []}), key.jwks(), json!({"keys": null})] {
        let body = json!({"jwks": jwks, "jwks_uri": "https://keys.example/jwks", "token_endpoint_auth_method": "private_key_jwt"});
        let (status, v) = s.admin_json(Method::POST, "/admin/clients", &body);
        assert_eq!((status, v["error"].as_str()), (400, Some("invalid_client_metadata")), "{jwks}: {v}");
        let (status, v) = json_of(s.client().post(s.url("/oauth2/register")).json(&body).send().unwrap());
        assert_eq!((status, v["error"].as_str()), (400, Some("invalid_client_metadata")), "{jwks}: {v}");
    }
    // An empty object is no key set (as Hydra reads it), so it may stand beside jwks_uri.
    let (status, v) = s.admin_json(
        Method::POST,
        "/admin/clients",
        &json!({"jwks": {}, "jwks_uri": "https://keys.example/jwks", "token_endpoint_auth_method": "private_key_jwt"}),
    );
    assert_eq!(status, 201, "{v}");
    // PATCHing a client that has a key set to add a jwks_uri is refused too.
    let (status, c) = s.admin_json(Method::POST, "/admin/clients", &json!({"jwks": key.jwks()}));
    assert_eq!(status, 201, "{c}");
    let id = c["client_id"].as_str().unwrap();
    let (status, v) = s.admin_json(
        Method::PATCH,
        &format!("/admin/clients/{id}"),
        &json!([{"op": "add", "path": "/jwks_uri", "value": "https://keys.example/jwks"}]),
    );
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_client_metadata")), "{v}");
}

// --- 8. Storage outages -----------------------------------------------------------------------

/// The test-only header that makes every D1 and KV call of one request fail.
const OUTAGE: (&str, &str) = ("x-hydra-edge-test-storage", "down");

#[test]
fn storage_outages_answer_503_with_retry_after_and_no_internal_text() {
    let s = server();
    let rp = Rp::register(s, json!({}));
    // OAuth endpoint: temporarily_unavailable.
    let r = s
        .client()
        .post(s.url("/oauth2/token"))
        .header(OUTAGE.0, OUTAGE.1)
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some(), "{:?}", r.headers());
    let (_, body) = json_of(r);
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(!body.to_string().contains("simulated"), "internal text leaked: {body}");
    // Admin endpoint: genericError 503.
    let r = s.admin(Method::GET, "/admin/clients").header(OUTAGE.0, OUTAGE.1).send().unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
    let (_, body) = json_of(r);
    common::assert_admin_error(&body, 503);
    assert!(!body.to_string().contains("simulated"), "{body}");
    // The authorization endpoint sends the browser to the error page with the same error.
    let r = s.browser().get(rp.auth_url(&[])).header(OUTAGE.0, OUTAGE.1).send().unwrap();
    let loc = location(&r);
    assert!(loc.starts_with(&error_page(s)), "{loc}");
    assert_eq!(param(&loc, "error").as_deref(), Some("temporarily_unavailable"), "{loc}");
    // Readiness says which store is down, never why.
    let r = s.client().get(s.url("/health/ready")).header(OUTAGE.0, OUTAGE.1).send().unwrap();
    assert_eq!(r.status(), 503);
    let text = r.text().unwrap();
    assert!(text.contains("database") && !text.contains("simulated") && !text.contains("D1"), "{text}");
    // Without the header everything works again.
    assert_eq!(s.client().get(s.url("/health/ready")).send().unwrap().status(), 200);
}
