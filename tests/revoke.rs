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
        if strategy == "jwt" {
            // The signature's twin (r, n - s) verifies as well; the token stays revoked in it.
            let twin = common::jose::es256_twin(t["access_token"].as_str().unwrap());
            assert!(!active(s, &twin), "{which}: the ECDSA twin of a revoked JWT");
            let r = s.client().get(s.url("/userinfo")).bearer_auth(&twin).send().unwrap();
            assert_eq!(r.status(), 401, "{which}: userinfo with the twin");
        }
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

/// Deleting a client takes everything issued to it, as Hydra's cascade does: stored and
/// write-free tokens inactive, refresh tokens dead even for a client re-created with the same
/// id and secret, remembered consents gone.
#[test]
fn deleting_a_client_revokes_everything_issued_to_it() {
    let s = shared();
    let secret = "a-secret-of-the-first-incarnation";
    let mut held = vec![];
    let mut ids = vec![];
    for strategy in ["opaque", "jwt"] {
        let rp = Rp::register(s, json!({"access_token_strategy": strategy, "client_secret": secret}));
        let t = tokens_via_flow(&rp, "dora", "openid offline_access");
        held.push((rp.id.clone(), t["access_token"].as_str().unwrap().to_string()));
        held.push((rp.id.clone(), t["refresh_token"].as_str().unwrap().to_string()));
        ids.push((rp.id.clone(), rp.client.clone()));
    }
    let (m2m, m2m_secret) = machine_client(s, json!({"access_token_strategy": "jwt"}));
    let (status, cc, _) = token_request(s, &m2m, &m2m_secret, &[("grant_type", "client_credentials")]);
    assert_eq!(status, 200, "{cc}");
    held.push((m2m.clone(), cc["access_token"].as_str().unwrap().to_string()));
    for (_, token) in &held {
        assert!(active(s, token));
    }
    let consents = |client: &str| {
        let (status, body) =
            json_of(s.admin(reqwest::Method::GET, "/admin/oauth2/auth/sessions/consent?subject=dora").send().unwrap());
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().iter().filter(|c| c["consent_request"]["client"]["client_id"] == client).count()
    };
    assert_eq!(consents(&ids[0].0), 1);

    for id in ids.iter().map(|(id, _)| id.as_str()).chain([m2m.as_str()]) {
        let r = s.admin(reqwest::Method::DELETE, &format!("/admin/clients/{id}")).send().unwrap();
        assert_eq!(r.status(), 204);
    }
    for (client, token) in &held {
        assert!(!active(s, token), "a token of deleted client {client} is still active");
    }
    assert_eq!(consents(&ids[0].0), 0, "remembered consent outlived its client");

    // The same id and secret again, a second later: the old refresh token stays dead, new
    // tokens of the new client work.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut body = ids[0].1.clone();
    body["client_secret"] = json!(secret);
    let (status, c) = s.admin_json(reqwest::Method::POST, "/admin/clients", &body);
    assert_eq!(status, 201, "{c}");
    let rp = Rp { s, id: ids[0].0.clone(), secret: secret.to_string(), client: c };
    let (status, body) = refresh(&rp, &held[1].1, &[]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let t = tokens_via_flow(&rp, "dora", "openid offline_access");
    assert!(active(s, t["access_token"].as_str().unwrap()));
    assert!(active(s, t["refresh_token"].as_str().unwrap()));

    // Deleting a client that does not exist leaves no cutoff behind to hit a later client.
    let ghost = common::unique("ghost");
    let r = s.admin(reqwest::Method::DELETE, &format!("/admin/clients/{ghost}")).send().unwrap();
    assert_eq!(r.status(), 404);
    let (ghost_id, ghost_secret) = machine_client(s, json!({"client_id": ghost, "access_token_strategy": "jwt"}));
    let (status, cc, _) = token_request(s, &ghost_id, &ghost_secret, &[("grant_type", "client_credentials")]);
    assert_eq!(status, 200, "{cc}");
    assert!(active(s, cc["access_token"].as_str().unwrap()));
}

/// Revoking an access token after it expired still revokes its grant: a client that logs out
/// with its (usually expired) access token must not leave its refresh token working. As fosite,
/// which looks the token up without checking its expiry.
#[test]
fn an_expired_access_token_still_revokes_its_grant() {
    let s = shared();
    let grants: Vec<(Rp, serde_json::Value)> = ["opaque", "jwt"]
        .iter()
        .map(|strategy| {
            let rp = Rp::register(
                s,
                json!({"access_token_strategy": strategy, "authorization_code_grant_access_token_lifespan": "1s"}),
            );
            let t = tokens_via_flow(&rp, "late-logout", "openid offline_access");
            (rp, t)
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    for (rp, t) in &grants {
        let access = t["access_token"].as_str().unwrap();
        assert!(!active(s, access), "expired");
        assert_eq!(revoke(s, &rp.id, &rp.secret, access), 200);
        let (status, body) = refresh(rp, t["refresh_token"].as_str().unwrap(), &[]);
        assert_eq!(status, 400, "the grant's refresh token is revoked too: {body}");
    }
}
