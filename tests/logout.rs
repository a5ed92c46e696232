//! Logout end to end against the Worker: RP-initiated (`id_token_hint`, exact
//! `post_logout_redirect_uri`, `state`, expired hints), OP-initiated, no session, the logout
//! app's admin routes (410 once used), and what completion does: session gone, cookie cleared,
//! front-channel page, back-channel logout tokens received by a relying party.

mod common;

use std::time::Duration;

use common::jose::EcKey;
use common::oauth::*;
use common::receiver::Receiver;
use common::tokens::decode_part;
use common::{json_of, shared, unique, Server};
use reqwest::blocking::Client as Http;
use serde_json::json;

/// A browser that logged in (remembered) through `rp` and got an ID token; (browser, id token).
fn logged_in(rp: &Rp, subject: &str) -> (Http, String) {
    let browser = rp.s.browser();
    let r = run_flow(rp, &browser, &rp.auth_url(&[]), subject);
    let code = param(&location(&r), "code").unwrap();
    let (status, tokens, _) = rp.exchange(&code, VERIFIER);
    assert_eq!(status, 200, "{tokens}");
    (browser, tokens["id_token"].as_str().unwrap().to_string())
}

fn logout_url(s: &Server, params: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    s.url(&format!("/oauth2/sessions/logout?{}", q.finish()))
}

fn challenge_from(r: &reqwest::blocking::Response, s: &Server) -> String {
    let loc = location(r);
    assert_eq!(r.status(), 302, "{loc}");
    assert!(loc.starts_with(&s.url("/oauth2/fallbacks/logout")), "{loc}");
    param(&loc, "logout_challenge").unwrap()
}

fn to_error_page(r: &reqwest::blocking::Response, s: &Server, hint: &str) {
    let loc = location(r);
    assert!(loc.starts_with(&s.url("/oauth2/fallbacks/error")), "{loc}");
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"), "{loc}");
    assert!(param(&loc, "error_description").unwrap_or_default().contains(hint), "{loc}");
}

#[test]
fn rp_initiated_logout_with_front_and_back_channel() {
    let s = shared();
    let rp_site = Receiver::start();
    let rp = Rp::register(
        s,
        json!({
            "post_logout_redirect_uris": ["https://rp.example/bye"],
            "frontchannel_logout_uri": rp_site.url("/frontchannel"),
            "backchannel_logout_uri": rp_site.url("/backchannel"),
        }),
    );
    let subject = unique("logout-user");
    let (browser, id_token) = logged_in(&rp, &subject);
    let sid = decode_part(&id_token, 1)["sid"].as_str().unwrap().to_string();

    let r = browser
        .get(logout_url(
            s,
            &[
                ("id_token_hint", &id_token),
                ("client_id", &rp.id),
                ("post_logout_redirect_uri", "https://rp.example/bye"),
                ("state", "st-1"),
            ],
        ))
        .send()
        .unwrap();
    let challenge = challenge_from(&r, s);
    let (status, lr) = s.admin_get(&format!("/admin/oauth2/auth/requests/logout?logout_challenge={challenge}"));
    assert_eq!(status, 200, "{lr}");
    assert_eq!(lr["subject"], subject.as_str());
    assert_eq!(lr["sid"], sid.as_str());
    assert_eq!(lr["rp_initiated"], true);
    assert_eq!(lr["client"]["client_id"], rp.id.as_str());
    assert!(lr["client"].get("client_secret").is_none());
    assert!(lr["requested_at"].is_string() && lr["expires_at"].is_string());
    assert!(lr["request_url"].as_str().unwrap().contains("/oauth2/sessions/logout?"), "{lr}");

    let (status, v) =
        admin_put(s, &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"), &json!({}));
    assert_eq!(status, 200, "{v}");
    let to = v["redirect_to"].as_str().unwrap();
    assert!(to.starts_with(&s.url("/oauth2/sessions/logout?logout_verifier=")), "{to}");

    let r = browser.get(to).send().unwrap();
    assert_eq!(r.status(), 200);
    let cookies: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|c| c.to_str().unwrap().to_string()).collect();
    assert!(cookies.iter().any(|c| c.starts_with("ory_hydra_session=;") && c.contains("Max-Age=0")), "{cookies:?}");
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains(&format!("frame-src {}", rp_site.base)) && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let page = r.text().unwrap();
    let iframe = format!(
        "{}?iss={}&sid={sid}",
        rp_site.url("/frontchannel"),
        form_urlencoded::byte_serialize(s.base.as_bytes()).collect::<String>()
    );
    assert!(page.contains(&iframe.replace('&', "&amp;")) || page.contains(&iframe), "{page}");
    assert!(page.contains("https://rp.example/bye?state=st-1"), "{page}");

    // The back-channel logout token arrives (after the response).
    let got = rp_site.wait_for("/backchannel", 1, Duration::from_secs(15));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].content_type, "application/x-www-form-urlencoded");
    let token: String = form_urlencoded::parse(got[0].body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let header = decode_part(&token, 0);
    let claims = decode_part(&token, 1);
    assert_eq!(header["typ"], "logout+jwt");
    assert!(header["kid"].is_string());
    assert_eq!(claims["iss"], s.base.as_str());
    assert_eq!(claims["aud"], json!([rp.id]));
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(claims["events"], json!({"http://schemas.openid.net/event/backchannel-logout": {}}));
    assert!(claims["iat"].is_i64() && claims["jti"].is_string() && claims.get("nonce").is_none());
    // Signed with the ID-token key: verifiable with the JWKS like an ID token.
    let (_, jwks) = json_of(s.client().get(s.url("/.well-known/jwks.json")).send().unwrap());
    assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == header["kid"]));

    // The session is gone: the next authorization asks the login app again.
    let login = to_login(&browser, &rp.auth_url(&[]));
    let (_, req) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(req["skip"], false, "{req}");

    // The request is spent: 410 with the post-logout URL, and the verifier does nothing again.
    let (status, gone) = s.admin_get(&format!("/admin/oauth2/auth/requests/logout?logout_challenge={challenge}"));
    assert_eq!(status, 410, "{gone}");
    assert_eq!(gone["redirect_to"], "https://rp.example/bye?state=st-1");
    let (status, _) =
        admin_put(s, &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"), &json!({}));
    assert_eq!(status, 409);
    let r = browser.get(to).send().unwrap();
    assert_eq!((r.status().as_u16(), location(&r)), (302, "https://rp.example/bye?state=st-1".to_string()));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rp_site.to("/backchannel").len(), 1, "no second notification");
}

#[test]
fn rp_initiated_logout_refuses_bad_hints_and_unregistered_redirects() {
    let s = shared();
    let rp = Rp::register(s, json!({"post_logout_redirect_uris": ["https://rp.example/bye"]}));
    let (browser, id_token) = logged_in(&rp, &unique("u"));
    let r = browser
        .get(logout_url(s, &[("id_token_hint", &id_token), ("post_logout_redirect_uri", "https://rp.example/bye/")]))
        .send()
        .unwrap();
    to_error_page(&r, s, "post_logout_redirect_uri is not a whitelisted");
    // Signed by another key (same claims), naming our key or its own.
    let claims = decode_part(&id_token, 1);
    let forged = EcKey::new(77, "x").sign(&json!({"alg": "ES256", "kid": decode_part(&id_token, 0)["kid"]}), &claims);
    let r = browser.get(logout_url(s, &[("id_token_hint", &forged)])).send().unwrap();
    to_error_page(&r, s, "has an invalid signature");
    let forged = EcKey::new(77, "not-ours").sign(&json!({"alg": "ES256", "kid": "not-ours"}), &claims);
    let r = browser.get(logout_url(s, &[("id_token_hint", &forged)])).send().unwrap();
    to_error_page(&r, s, "was not signed by this server");
    // Another algorithm than the key's is the hint's fault (never a 503).
    let forged = EcKey::new(77, "x").sign(&json!({"alg": "RS256", "kid": decode_part(&id_token, 0)["kid"]}), &claims);
    let r = browser.get(logout_url(s, &[("id_token_hint", &forged)])).send().unwrap();
    to_error_page(&r, s, "names an algorithm that does not match its key");
    // A client_id must be the hint's audience (RP-Initiated Logout §2).
    let other = Rp::register(s, json!({"post_logout_redirect_uris": ["https://rp.example/bye"]}));
    let r = browser
        .get(logout_url(
            s,
            &[
                ("id_token_hint", &id_token),
                ("client_id", &other.id),
                ("post_logout_redirect_uri", "https://rp.example/bye"),
            ],
        ))
        .send()
        .unwrap();
    to_error_page(&r, s, "client_id is not an audience of id_token_hint");
    // OP-initiated requests cannot carry state or a redirect.
    let r = browser.get(logout_url(s, &[("state", "abcdefgh")])).send().unwrap();
    to_error_page(&r, s, "state is set but id_token_hint is missing");
    let r = browser.get(logout_url(s, &[("post_logout_redirect_uri", "https://rp.example/bye")])).send().unwrap();
    to_error_page(&r, s, "post_logout_redirect_uri is set but id_token_hint is missing");
    // None of this logged anyone out.
    let login_url = rp.auth_url(&[]);
    let r = browser.get(&login_url).send().unwrap();
    let (_, req) = s.admin_get(&format!(
        "/admin/oauth2/auth/requests/login?login_challenge={}",
        param(&location(&r), "login_challenge").unwrap()
    ));
    assert_eq!(req["skip"], true);
}

#[test]
fn an_expired_hint_still_logs_out_and_no_session_goes_straight_back() {
    let s = Server::start(&[("TTL_ID_TOKEN", "1s")]);
    let rp = Rp::register(&s, json!({"post_logout_redirect_uris": ["https://rp.example/bye"]}));
    let (browser, id_token) = logged_in(&rp, &unique("u"));
    std::thread::sleep(Duration::from_millis(2100));
    let url = logout_url(&s, &[("id_token_hint", &id_token), ("post_logout_redirect_uri", "https://rp.example/bye")]);
    let r = browser.get(&url).send().unwrap();
    let challenge = challenge_from(&r, &s);
    let (_, v) =
        admin_put(&s, &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"), &json!({}));
    let r = browser.get(v["redirect_to"].as_str().unwrap()).send().unwrap();
    assert_eq!((r.status().as_u16(), location(&r)), (302, "https://rp.example/bye".to_string()));
    // The same hint again: the session is gone, so straight to the redirect, no logout app.
    let r = s.browser().get(&url).send().unwrap();
    assert_eq!((r.status().as_u16(), location(&r)), (302, "https://rp.example/bye".to_string()));
    // Without a hint and without a session: the default post-logout page.
    let r = s.browser().get(s.url("/oauth2/sessions/logout")).send().unwrap();
    assert_eq!(location(&r), s.url("/oauth2/fallbacks/logout/callback"));
}

#[test]
fn op_initiated_logout_by_post_and_rejection() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let (browser, _) = logged_in(&rp, &unique("u"));
    // Rejected: 204, the user stays logged in and the challenge is spent.
    let r = browser.post(s.url("/oauth2/sessions/logout")).form(&[("x", "1")]).send().unwrap();
    let challenge = challenge_from(&r, s);
    let (_, lr) = s.admin_get(&format!("/admin/oauth2/auth/requests/logout?logout_challenge={challenge}"));
    assert_eq!((lr["rp_initiated"].as_bool(), lr["client"].is_null()), (Some(false), true), "{lr}");
    let r = s
        .admin(reqwest::Method::PUT, &format!("/admin/oauth2/auth/requests/logout/reject?logout_challenge={challenge}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, _) = s.admin_get(&format!("/admin/oauth2/auth/requests/logout?logout_challenge={challenge}"));
    assert_eq!(status, 410);
    let login = to_login(&browser, &rp.auth_url(&[]));
    let (_, req) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(req["skip"], true);

    // Accepted: the session ends, the default post-logout page follows.
    let r = browser.get(s.url("/oauth2/sessions/logout")).send().unwrap();
    let challenge = challenge_from(&r, s);
    let (_, v) =
        admin_put(s, &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"), &json!({}));
    let verifier_url = v["redirect_to"].as_str().unwrap().to_string();
    // Another browser cannot complete an OP-initiated logout of this one.
    let r = s.browser().get(&verifier_url).send().unwrap();
    assert_eq!(location(&r), s.url("/oauth2/fallbacks/logout/callback"));
    let r = browser.get(&verifier_url).send().unwrap();
    assert_eq!(location(&r), s.url("/oauth2/fallbacks/logout/callback"));
    let login = to_login(&browser, &rp.auth_url(&[]));
    let (_, req) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(req["skip"], false);
}

#[test]
fn headless_logout_by_sid_notifies_once() {
    let s = shared();
    let rp_site = Receiver::start();
    let rp = Rp::register(s, json!({"backchannel_logout_uri": rp_site.url("/bc")}));
    let (_, id_token) = logged_in(&rp, &unique("u"));
    let sid = decode_part(&id_token, 1)["sid"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let r =
            s.admin(reqwest::Method::DELETE, &format!("/admin/oauth2/auth/sessions/login?sid={sid}")).send().unwrap();
        assert_eq!(r.status(), 204);
    }
    let got = rp_site.wait_for("/bc", 1, Duration::from_secs(15));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rp_site.to("/bc").len(), 1, "{got:?}");
    let token: String =
        form_urlencoded::parse(got[0].body.as_bytes()).find(|(k, _)| k == "logout_token").unwrap().1.into_owned();
    assert_eq!(decode_part(&token, 1)["sid"], sid.as_str());
}
