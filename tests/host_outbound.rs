//! Outbound HTTP on the host platform: the token hook (called before tokens are issued, bounded
//! by its timeout) and back-channel logout (POSTed after the response), against answers the
//! test serves, every request recorded (`World::serve`, `World::sent`). End to end against
//! real receivers: tests/token_hook.rs and tests/logout.rs.

mod host_support;

use host_support::*;
use hydra_edge::host::Stub;
use hydra_edge::http::Method;
use serde_json::{json, Value};

const HOOK: &str = "https://hook.example/token";
const BACKCHANNEL: &str = "https://rp.example/backchannel";
const FRONTCHANNEL: &str = "https://rp.example/frontchannel";

#[test]
fn the_token_hook_changes_claims_denies_and_is_bounded_by_its_timeout() {
    let h = Host::with(&[
        ("OAUTH2_TOKEN_HOOK_URL", HOOK),
        ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_NAME", "x-hook-key"),
        ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE", "hook-secret"),
        ("OAUTH2_TOKEN_HOOK_TIMEOUT", "2s"),
    ]);
    let rp = h.register(json!({}));
    h.world.serve_post(HOOK, 200, r#"{"session":{"access_token":{"team":"blue"},"id_token":{"nick":"al"}}}"#);
    let r = h.exchange(&rp, &h.code(&rp, "alice"));
    assert_eq!(r.status(), 200, "{r}");
    assert_eq!(h.claims(r.json()["id_token"].as_str().unwrap())["nick"], "al");
    let at = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(h.introspect(&at).json()["ext"], json!({"team": "blue"}));
    let sent = h.world.sent();
    assert_eq!(sent.len(), 1, "one hook call: {sent:?}");
    let call = &sent[0];
    assert_eq!((call.method, call.url.as_str(), call.outcome.clone()), ("POST", HOOK, Ok(200)));
    assert!(call.headers.contains(&("x-hook-key".into(), "hook-secret".into())), "{:?}", call.headers);
    let payload: Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(payload["request"]["grant_types"], json!(["authorization_code"]));
    assert_eq!(payload["request"]["client_id"], rp.id.as_str());

    // 403: the request is denied and nothing is issued; the code stays redeemable.
    let code = h.code(&rp, "alice");
    h.world.serve_post(HOOK, 403, "");
    let r = h.exchange(&rp, &code);
    assert_eq!((r.status(), r.json()["error"].as_str()), (403, Some("access_denied")), "{r}");
    // Slower than its timeout: server_error once the timeout passed, and still nothing issued.
    h.world.serve("POST", HOOK, Stub { status: 204, body: vec![], delay_ms: 2_000 });
    let before = h.world.now_ms();
    let r = h.exchange(&rp, &code);
    assert_eq!((r.status(), r.json()["error"].as_str()), (500, Some("server_error")), "{r}");
    assert_eq!(h.world.now_ms() - before, 2_000, "the request waited for the timeout, no longer");
    assert!(h.world.sent().last().unwrap().outcome.as_ref().unwrap_err().contains("within 2000 ms"));
    // A hook that answers in time with 204 keeps the claims: the code still works.
    h.world.serve("POST", HOOK, Stub { status: 204, body: vec![], delay_ms: 1_999 });
    let r = h.exchange(&rp, &code);
    assert_eq!(r.status(), 200, "the failed attempts left the code unredeemed: {r}");
    assert_eq!(h.world.count("SELECT * FROM tokens WHERE kind = 'access_token'"), 2);
}

/// A client with front- and back-channel logout URIs, logged in through the code flow in
/// `browser`: its ID token.
fn logged_in(h: &Host, browser: &mut Browser, subject: &str) -> (Rp, String) {
    let rp = h.register(json!({
        "post_logout_redirect_uris": [BYE],
        "frontchannel_logout_uri": FRONTCHANNEL,
        "backchannel_logout_uri": BACKCHANNEL,
    }));
    let r = h.run_flow(&rp, browser, subject);
    let t = h.exchange(&rp, &r.param("code").unwrap());
    assert_eq!(t.status(), 200, "{t}");
    (rp, t.json()["id_token"].as_str().unwrap().to_string())
}

/// RP-initiated logout through the logout app; the browser's final response.
fn logout(h: &Host, browser: &mut Browser, id_token: &str) -> Resp {
    let url = format!(
        "/oauth2/sessions/logout?{}",
        form(&[("id_token_hint", id_token), ("post_logout_redirect_uri", BYE), ("state", "st-1")])
    );
    let r = browser.get(h, &url);
    let challenge = r.param("logout_challenge").unwrap_or_else(|| panic!("no logout challenge: {r}"));
    let accepted = h.admin_at(
        &h.p,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"),
        Some(&json!({})),
    );
    assert_eq!(accepted.status(), 200, "{accepted}");
    browser.get(h, accepted.json()["redirect_to"].as_str().unwrap())
}

#[test]
fn back_channel_logout_is_posted_after_the_response_once() {
    let h = Host::new();
    h.world.serve_post(BACKCHANNEL, 200, "");
    let mut browser = Browser::default();
    let (_, id_token) = logged_in(&h, &mut browser, "bob");
    let sid = h.claims(&id_token)["sid"].as_str().unwrap().to_string();
    let r = logout(&h, &mut browser, &id_token);
    assert_eq!(r.status(), 200, "the front-channel page: {r}");
    assert!(r.text().contains(&format!("{FRONTCHANNEL}?iss=")) && r.text().contains(&sid), "{r}");
    assert_eq!(h.world.count(&format!("SELECT * FROM login_sessions WHERE id = '{sid}'")), 0);

    let posts: Vec<_> = h.world.sent().into_iter().filter(|s| s.url == BACKCHANNEL).collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].outcome, Ok(200));
    let token = posts[0].form_param("logout_token").expect("a logout_token");
    let claims = h.claims(&token);
    assert_eq!((claims["sid"].as_str(), claims["iss"].as_str()), (Some(sid.as_str()), Some(ISSUER)));
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object(), "{claims}");
    // Sent after the response: its log line follows the request's.
    let logs = h.world.logs();
    let request = logs.iter().rposition(|l| l.contains("\"route\":\"Logout\"")).unwrap();
    let notified = logs.iter().rposition(|l| l.contains("backchannel_logout")).unwrap();
    assert!(request < notified && logs[notified].contains("\"status\":200"), "{logs:#?}");
    assert!(!logs.iter().any(|l| l.contains(&token)), "the logout token is never logged");

    // A relying party that fails is logged, never shown to the user.
    h.world.serve_post(BACKCHANNEL, 500, "");
    let mut browser = Browser::default();
    let (_, id_token) = logged_in(&h, &mut browser, "carol");
    assert_eq!(logout(&h, &mut browser, &id_token).status(), 200);
    let last = h.world.logs().into_iter().rfind(|l| l.contains("backchannel_logout")).unwrap();
    assert!(last.contains("\"status\":500") && last.contains("error"), "{last}");
}

#[test]
fn headless_logout_reads_whom_to_notify_in_the_deletions_transaction() {
    let h = Host::new();
    h.world.serve_post(BACKCHANNEL, 204, "");
    let mut browser = Browser::default();
    let (_, id_token) = logged_in(&h, &mut browser, "dave");
    let sid = h.claims(&id_token)["sid"].as_str().unwrap().to_string();
    let delete = format!("/admin/oauth2/auth/sessions/login?sid={sid}");
    let notified = |h: &Host| {
        h.world.sent().iter().filter(|s| s.url == BACKCHANNEL && s.form_param("logout_token").is_some()).count()
    };
    // The transaction fails: the session stays, nobody is told; the retry ends it and notifies.
    h.world.start_counting();
    h.world.inject(0, hydra_edge::host::Fault::Error);
    let (status, body) = h.admin(Method::Delete, &delete, None);
    assert_eq!((status, body["error"].as_str()), (503, Some("temporarily_unavailable")), "{body}");
    assert_eq!(h.world.calls()[0].kind, hydra_edge::host::CallKind::SqlBatch);
    assert_eq!(h.world.count(&format!("SELECT * FROM login_sessions WHERE id = '{sid}'")), 1);
    assert_eq!(notified(&h), 0);
    h.world.start_counting();
    assert_eq!(h.admin(Method::Delete, &delete, None).0, 204);
    let d1 = h.world.calls().iter().filter(|c| c.kind.is_storage()).count();
    assert_eq!(d1, 1, "deletion and whom to notify: one round trip");
    assert_eq!(h.world.count(&format!("SELECT * FROM login_sessions WHERE id = '{sid}'")), 0);
    assert_eq!(notified(&h), 1);
    // At most once: a second deletion finds nothing and tells nobody.
    assert_eq!(h.admin(Method::Delete, &delete, None).0, 204);
    assert_eq!(notified(&h), 1);
}
