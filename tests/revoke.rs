//! `POST /oauth2/revoke` (RFC 7009) end to end: either token of a grant revokes the whole
//! chain; another client's token, an unknown or an inactive one answers 200 and nothing
//! changes; bad requests get precise errors.

mod common;

use common::oauth::*;
use common::tokens::*;
use common::{json_of, shared};
use serde_json::json;

#[test]
fn revoking_either_token_revokes_the_chain() {
    let s = shared();
    for (strategy, which) in
        [("opaque", "refresh_token"), ("opaque", "access_token"), ("jwt", "access_token"), ("jwt", "refresh_token")]
    {
        let rp = Rp::register(s, json!({"access_token_strategy": strategy}));
        let t = tokens_via_flow(&rp, "rob", "openid offline_access");
        let r = s
            .client()
            .post(s.url("/oauth2/revoke"))
            .basic_auth(&rp.id, Some(&rp.secret))
            .form(&[("token", t[which].as_str().unwrap()), ("token_type_hint", which)])
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
        assert!(!active(s, t["access_token"].as_str().unwrap()), "{strategy}/{which}");
        assert!(!active(s, t["refresh_token"].as_str().unwrap()), "{strategy}/{which}");
        let (status, _) = refresh(&rp, t["refresh_token"].as_str().unwrap(), &[]);
        assert_eq!(status, 400);
    }
}

#[test]
fn other_clients_tokens_and_unknown_tokens_change_nothing() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let other = Rp::register(s, json!({}));
    let t = tokens_via_flow(&rp, "sue", "openid offline_access");
    assert_eq!(revoke(s, &other.id, &other.secret, t["refresh_token"].as_str().unwrap()), 200);
    assert_eq!(revoke(s, &other.id, &other.secret, t["access_token"].as_str().unwrap()), 200);
    assert!(active(s, t["access_token"].as_str().unwrap()) && active(s, t["refresh_token"].as_str().unwrap()));
    assert_eq!(revoke(s, &rp.id, &rp.secret, "ory_rt_unknown.unknown"), 200);
    assert_eq!(revoke(s, &rp.id, &rp.secret, &"x".repeat(5000)), 200);

    // Bad requests.
    let send = |form: &[(&str, &str)], secret: &str| {
        json_of(s.client().post(s.url("/oauth2/revoke")).basic_auth(&rp.id, Some(secret)).form(form).send().unwrap())
    };
    let (status, body) = send(&[("token_type_hint", "access_token")], &rp.secret);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "missing token: {body}");
    let (status, body) = send(&[("token", "a"), ("token", "b")], &rp.secret);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    let (status, body) = send(&[("token", t["access_token"].as_str().unwrap())], "wrong");
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    let (status, body) = json_of(s.client().post(s.url("/oauth2/revoke")).form(&[("token", "x")]).send().unwrap());
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "no client credentials: {body}");
    let r = s.client().post(s.url("/oauth2/revoke")).basic_auth(&rp.id, Some(&rp.secret)).send().unwrap();
    assert_eq!(r.status(), 400, "empty body");
    let r = s.client().get(s.url("/oauth2/revoke")).send().unwrap();
    assert_eq!(r.status(), 405);
    assert!(active(s, t["access_token"].as_str().unwrap()), "no failure revoked anything");
}
