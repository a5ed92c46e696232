//! Consent and login sessions through the admin API, end to end: Hydra's list model and
//! pagination, the three revocation combinations (every token of the revoked consents inactive
//! at once, opaque and JWT), and login-session revocation.

mod common;

use common::oauth::*;
use common::tokens::{active, refresh, tokens_via_flow};
use common::{shared, unique};
use reqwest::Method;
use serde_json::json;

fn list(s: &common::Server, query: &str) -> (u16, serde_json::Value, String) {
    let r = s.admin(Method::GET, &format!("/admin/oauth2/auth/sessions/consent?{query}")).send().unwrap();
    let link = r.headers().get("link").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let (status, body) = common::json_of(r);
    (status, body, link)
}

fn delete(s: &common::Server, path: &str) -> u16 {
    s.admin(Method::DELETE, path).send().unwrap().status().as_u16()
}

#[test]
fn consent_sessions_are_listed_like_hydra_and_paginated() {
    let s = shared();
    let subject = unique("sessions-user");
    let a = Rp::register(s, json!({}));
    let b = Rp::register(s, json!({}));
    tokens_via_flow(&a, &subject, "openid offline_access");
    tokens_via_flow(&b, &subject, "openid");
    // A second flow with `a` skips consent: it is not listed again (as in Hydra).
    tokens_via_flow(&a, &subject, "openid offline_access");

    let (status, body, link) = list(s, &format!("subject={subject}"));
    assert_eq!(status, 200, "{body}");
    let items = body.as_array().unwrap();
    assert_eq!(items.len(), 2, "{body}");
    let first = &items[0];
    assert_eq!(first["consent_request"]["client"]["client_id"], a.id.as_str());
    assert!(first["consent_request"]["client"].get("client_secret").is_none());
    assert_eq!(first["consent_request"]["challenge"], "");
    assert_eq!(first["consent_request"]["subject"], subject.as_str());
    assert_eq!(first["consent_request_id"], first["consent_request"]["consent_request_id"]);
    assert_eq!(first["consent_request_id"].as_str().unwrap().len(), 32);
    assert_eq!(first["grant_scope"], json!(["openid", "offline_access"]));
    assert_eq!(first["grant_access_token_audience"], json!([]));
    assert_eq!(first["remember"], true);
    assert_eq!(first["remember_for"], 0);
    assert!(first["handled_at"].as_str().unwrap().ends_with('Z'), "{first}");
    assert_eq!(first["session"]["id_token"]["email"], format!("{subject}@example.com"));
    assert!(first["context"].is_object() || first["context"].is_null(), "{first}");
    assert!(link.contains("rel=\"first\"") && !link.contains("rel=\"next\""), "{link}");

    // One per page, following Link.
    let (_, page1, link) = list(s, &format!("subject={subject}&page_size=1"));
    assert_eq!(page1.as_array().unwrap().len(), 1);
    let next = link.split(',').find(|l| l.contains("rel=\"next\"")).expect("a next link");
    let url = next.trim().trim_start_matches('<').split('>').next().unwrap();
    let (status, page2) = common::json_of(s.client().get(url).bearer_auth(common::ADMIN_TOKEN).send().unwrap());
    assert_eq!(status, 200, "{page2}");
    assert_eq!(page2[0]["consent_request"]["client"]["client_id"], b.id.as_str());

    // By login session.
    let sid = first["consent_request"]["login_session_id"].as_str().unwrap();
    let (_, by_sid, _) = list(s, &format!("subject={subject}&login_session_id={sid}"));
    assert_eq!(by_sid.as_array().unwrap().len(), 1, "{by_sid}");
    // Unknown subject: [] with 200.
    let (status, none, _) = list(s, "subject=nobody-at-all");
    assert_eq!((status, none), (200, json!([])));
    // Errors.
    let (status, e, _) = list(s, "");
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_request")), "{e}");
    assert!(e["error_description"].as_str().unwrap().contains("'subject' is not defined"), "{e}");
    let (status, _, _) = list(s, &format!("subject={subject}&page_token=forged"));
    assert_eq!(status, 400);
}

#[test]
fn revoking_consents_makes_their_tokens_inactive_at_once() {
    let s = shared();
    let subject = unique("revoke-user");
    let opaque = Rp::register(s, json!({}));
    let jwt = Rp::register(s, json!({"access_token_strategy": "jwt"}));
    let t1 = tokens_via_flow(&opaque, &subject, "openid offline_access");
    let t2 = tokens_via_flow(&jwt, &subject, "openid offline_access");
    let other = tokens_via_flow(&opaque, &unique("someone-else"), "openid offline_access");
    for t in [&t1, &t2, &other] {
        assert!(active(s, t["access_token"].as_str().unwrap()));
    }

    // Wrong combinations: 400, nothing revoked.
    for q in ["", "subject=x", "client=y", &format!("subject={subject}&client={}&all=true", opaque.id), "all=true"] {
        let r = s.admin(Method::DELETE, &format!("/admin/oauth2/auth/sessions/consent?{q}")).send().unwrap();
        let (status, e) = common::json_of(r);
        assert_eq!((status, e["error"].as_str()), (400, Some("invalid_request")), "{q}: {e}");
        assert!(e["error_description"].as_str().unwrap().contains("Invalid combination of query parameters."), "{e}");
    }
    // Another subject's consents are not touched by this subject's revocation.
    assert_eq!(delete(s, &format!("/admin/oauth2/auth/sessions/consent?subject={subject}&client={}", opaque.id)), 204);
    assert!(!active(s, t1["access_token"].as_str().unwrap()));
    assert!(!active(s, t1["refresh_token"].as_str().unwrap()));
    assert_eq!(refresh(&opaque, t1["refresh_token"].as_str().unwrap(), &[]).0, 400);
    assert!(active(s, t2["access_token"].as_str().unwrap()), "the other client's grant stays");
    assert!(active(s, other["access_token"].as_str().unwrap()), "another subject's grant stays");

    // The next flow asks for consent again.
    let browser = s.browser();
    let login = to_login(&browser, &opaque.auth_url(&[]));
    let to = accept_login(s, &login, &json!({"subject": subject}));
    let consent = to_consent(&browser, &to);
    let (_, req) = s.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={consent}"));
    assert_eq!(req["skip"], false, "{req}");

    // all=true: the JWT grant too (its jti is revoked without any write at issue time).
    assert_eq!(delete(s, &format!("/admin/oauth2/auth/sessions/consent?subject={subject}&all=true")), 204);
    assert!(!active(s, t2["access_token"].as_str().unwrap()));
    assert!(!active(s, t2["refresh_token"].as_str().unwrap()));
    let (_, left, _) = list(s, &format!("subject={subject}"));
    assert_eq!(left, json!([]));

    // By consent request id.
    let t3 = tokens_via_flow(&opaque, &subject, "openid offline_access");
    let (_, listed, _) = list(s, &format!("subject={subject}"));
    let id = listed[0]["consent_request_id"].as_str().unwrap().to_string();
    assert_eq!(delete(s, &format!("/admin/oauth2/auth/sessions/consent?consent_request_id={id}")), 204);
    assert!(!active(s, t3["access_token"].as_str().unwrap()));
    assert_eq!(delete(s, &format!("/admin/oauth2/auth/sessions/consent?consent_request_id={id}")), 204);
    assert!(active(s, other["access_token"].as_str().unwrap()));
}

#[test]
fn revoking_login_sessions_forces_a_new_login() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let subject = unique("login-sessions");
    let browser = s.browser();
    let r = run_flow(&rp, &browser, &rp.auth_url(&[]), &subject);
    assert_eq!(r.status(), 303);
    let skip = |b: &reqwest::blocking::Client| {
        let login = to_login(b, &rp.auth_url(&[]));
        s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}")).1["skip"].clone()
    };
    assert_eq!(skip(&browser), true);
    let r = s.admin(Method::DELETE, "/admin/oauth2/auth/sessions/login").send().unwrap();
    let (status, e) = common::json_of(r);
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_request")), "{e}");
    assert!(e["error_description"].as_str().unwrap().contains("Either 'subject' or 'sid'"), "{e}");
    assert_eq!(delete(s, &format!("/admin/oauth2/auth/sessions/login?subject={subject}")), 204);
    assert_eq!(skip(&browser), false);
    // v1 path without /admin.
    assert_eq!(delete(s, &format!("/oauth2/auth/sessions/login?subject={subject}")), 204);
}

/// A login skipped on a remembered session that is revoked before the browser returns (the
/// lag a D1 replica may add, or a plain race) logs no one in: `login_required`, the cookie
/// cleared, and an extension of the session does not bring the revoked row back.
#[test]
fn a_session_revoked_during_a_skipped_login_logs_no_one_in() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    for extend in [false, true] {
        let subject = unique("revoked-mid-flow");
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let browser = s.browser_with_jar(jar.clone());
        let origin: reqwest::Url = s.url("/").parse().unwrap();
        assert_eq!(run_flow(&rp, &browser, &rp.auth_url(&[]), &subject).status(), 303);
        let login = to_login(&browser, &rp.auth_url(&[]));
        let (_, req) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
        assert_eq!(req["skip"], true, "{req}");
        use reqwest::cookie::CookieStore;
        let saved = jar.cookies(&origin).unwrap().to_str().unwrap().to_string();
        assert_eq!(delete(s, &format!("/admin/oauth2/auth/sessions/login?subject={subject}")), 204);
        let to = accept_login(s, &login, &json!({"subject": subject, "extend_session_lifespan": extend}));
        let r = browser.get(&to).send().unwrap();
        let loc = location(&r);
        assert!(loc.starts_with(REDIRECT), "extend={extend}: {loc}");
        assert_eq!(param(&loc, "error").as_deref(), Some("login_required"), "extend={extend}: {loc}");
        let cookies: Vec<_> =
            r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        assert!(
            cookies.iter().any(|c| c.contains("Max-Age=0") || c.contains("max-age=0")),
            "extend={extend}: {cookies:?}"
        );
        // The revoked session stays gone, even for a browser that kept the old cookie: the
        // next request asks the login app again.
        for pair in saved.split("; ") {
            jar.add_cookie_str(&format!("{pair}; Path=/"), &origin);
        }
        let login = to_login(&browser, &rp.auth_url(&[]));
        let (_, req) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
        assert_eq!(req["skip"], false, "extend={extend}: {req}");
    }
}
