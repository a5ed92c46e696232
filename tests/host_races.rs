//! Concurrent requests on the host platform, interleaved at every storage and crypto call, in
//! two locations sharing one database: single-use rules hold at every interleaving the
//! scheduler produces (the same races across two workerd processes: tests/races.rs).

mod host_support;

use std::future::Future;
use std::pin::Pin;

use host_support::*;
use hydra_edge::host::{run_concurrently, HostPlatform};
use hydra_edge::http::{Method, Request, Response};
use serde_json::json;

/// Send the same request `n` times at once, alternating between locations a and b; answers in
/// order. `rotate` changes which request is polled first.
fn race(h: &Host, n: usize, rotate: usize, make: impl Fn() -> Request) -> Vec<Response> {
    let (a, b) = (h.p.clone(), h.world.location("b"));
    let platforms: Vec<HostPlatform> = (0..n).map(|i| if i % 2 == 0 { a.clone() } else { b.clone() }).collect();
    h.world.set_interleave(true);
    let futs: Vec<Pin<Box<dyn Future<Output = Response> + '_>>> = platforms
        .iter()
        .map(|p| Box::pin(p.serve(&h.cfg, make())) as Pin<Box<dyn Future<Output = Response>>>)
        .collect();
    let out = run_concurrently(futs, rotate);
    h.world.set_interleave(false);
    h.world.run_due();
    out
}

fn request(method: Method, target: &str, headers: &[(&str, &str)], body: &str) -> Request {
    let mut r = Request::new(method, target.strip_prefix(ISSUER).unwrap_or(target));
    r.headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    r.body = body.as_bytes().to_vec();
    r
}

#[test]
fn one_code_one_winner_and_the_chain_is_revoked() {
    let h = Host::new();
    let rp = h.register(json!({}));
    for rotate in 0..3 {
        let code = h.code(&rp, "racer");
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]);
        let auth = basic(&rp.id, &rp.secret);
        let out = race(&h, 40, rotate, || {
            request(
                Method::Post,
                "/oauth2/token",
                &[("content-type", "application/x-www-form-urlencoded"), ("authorization", &auth)],
                &body,
            )
        });
        let wins = out.iter().filter(|r| r.status == 200).count();
        assert_eq!(wins, 1, "exactly one redemption wins");
        for r in out.iter().filter(|r| r.status != 200) {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!((r.status, v["error"].as_str()), (400, Some("invalid_grant")), "{v}");
        }
        assert_eq!(h.world.count("SELECT * FROM tokens"), 0, "the losers' replays revoked the winner's tokens");
    }
}

#[test]
fn one_login_verifier_one_consent_verifier_one_jti() {
    let h = Host::new();
    let k = AssertionKey::new(7);
    let rp = h.register(json!({"token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256", "jwks": {"keys": [k.jwk]}}));
    let mut browser = Browser::default();
    let r = browser.get(&h, &rp.auth_url(&[]));
    let login = r.param("login_challenge").unwrap();
    let to = h.accept_login(&login, &json!({"subject": "racer", "remember": true})).json()["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    let cookie = browser.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let out = race(&h, 30, 1, || request(Method::Get, &to, &[("cookie", &cookie)], ""));
    let winners: Vec<&Response> =
        out.iter().filter(|r| Resp((*r).clone()).param("consent_challenge").is_some()).collect();
    assert_eq!(winners.len(), 1, "one login verifier, one winner");
    assert!(out
        .iter()
        .filter(|r| Resp((*r).clone()).param("consent_challenge").is_none())
        .all(|r| Resp(r.clone()).param("error").as_deref() == Some("access_denied")));
    assert_eq!(h.world.count("SELECT * FROM flow_markers WHERE id LIKE 'login:%'"), 1);

    let consent = Resp(winners[0].clone()).param("consent_challenge").unwrap();
    for (k, v) in winners[0].headers.iter().filter(|(k, _)| k == "set-cookie") {
        let _ = k;
        if let Some((n, val)) = v.split(';').next().and_then(|c| c.split_once('=')) {
            browser.cookies.retain(|(x, _)| x != n);
            browser.cookies.push((n.to_string(), val.to_string()));
        }
    }
    let to = h.accept_consent(&consent, &json!({"grant_scope": ["openid"]})).json()["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    let cookie = browser.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let out = race(&h, 30, 2, || request(Method::Get, &to, &[("cookie", &cookie)], ""));
    let codes: Vec<String> = out.iter().filter_map(|r| Resp(r.clone()).param("code")).collect();
    assert_eq!(codes.len(), 1, "one consent verifier, one code");
    assert_eq!(h.world.count("SELECT * FROM authorization_codes"), 1);
    assert_eq!(h.world.count("SELECT * FROM consent_sessions"), 1);

    let assertion = k.assertion(&rp.id, "one-jti", h.now());
    let body = assertion_exchange(&codes[0], &assertion);
    let out = race(&h, 30, 0, || {
        request(Method::Post, "/oauth2/token", &[("content-type", "application/x-www-form-urlencoded")], &body)
    });
    let statuses: Vec<u16> = out.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    for r in out.iter().filter(|r| r.status != 200) {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["error"], "jti_known", "{v}");
    }
}

fn token_body_request(rp: &Rp, pairs: &[(&str, &str)]) -> Request {
    let auth = basic(&rp.id, &rp.secret);
    request(
        Method::Post,
        "/oauth2/token",
        &[("content-type", "application/x-www-form-urlencoded"), ("authorization", &auth)],
        &form(pairs),
    )
}

fn error_of(r: &Response) -> (u16, String) {
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    (r.status, v["error"].as_str().unwrap_or_default().to_string())
}

#[test]
fn one_refresh_token_one_rotation_and_a_later_reuse_revokes_the_chain() {
    let h = Host::new();
    let rp = h.register(json!({}));
    for rotate in 0..3 {
        let t = h.exchange(&rp, &h.code(&rp, "racer")).json();
        let rt = t["refresh_token"].as_str().unwrap().to_string();
        let out = race(&h, 40, rotate, || {
            token_body_request(&rp, &[("grant_type", "refresh_token"), ("refresh_token", &rt)])
        });
        let winners: Vec<&Response> = out.iter().filter(|r| r.status == 200).collect();
        assert_eq!(winners.len(), 1, "exactly one rotation wins");
        let mut reused = false;
        for r in out.iter().filter(|r| r.status != 200) {
            // A loser that read the token before the winner's rotation lost the conditional
            // update (Hydra's answer to concurrent refreshes); one that read it used is reuse.
            match error_of(r) {
                (400, e) if e == "invalid_request" => {}
                (400, e) if e == "invalid_grant" => reused = true,
                other => panic!("a loser answered {other:?}"),
            }
        }
        let new: serde_json::Value = serde_json::from_slice(&winners[0].body).unwrap();
        let new_rt = new["refresh_token"].as_str().unwrap().to_string();
        let alive = h.introspect(&new_rt).json()["active"] == true;
        assert_eq!(alive, !reused, "a reuse among the losers revokes the chain, the winner's tokens included");
        // Presenting the rotated token again is reuse: the whole chain goes.
        assert_eq!(h.refresh(&rp, &rt).json()["error"], "invalid_grant");
        assert_eq!(h.introspect(&new_rt).json()["active"], false);
        assert_eq!(h.refresh(&rp, &new_rt).json()["error"], "invalid_grant");
    }
}

#[test]
fn one_device_code_one_redemption_and_the_losers_revoke_it() {
    let h = Host::new();
    let rp = h.register(json!({"grant_types": [DEVICE_GRANT, "refresh_token"], "response_types": [], "redirect_uris": [], "scope": "openid offline_access"}));
    for rotate in 0..3 {
        let auth = basic(&rp.id, &rp.secret);
        let d = h
            .post_form_at(
                &h.p,
                "/oauth2/device/auth",
                &form(&[("client_id", &rp.id), ("scope", "openid offline_access")]),
                &[("authorization", &auth)],
            )
            .json();
        let device_code = d["device_code"].as_str().unwrap().to_string();
        // The user finishes in a browser.
        let mut b = Browser::default();
        let challenge = b.get(&h, d["verification_uri_complete"].as_str().unwrap()).param("device_challenge").unwrap();
        let to = h.admin_at(
            &h.p,
            Method::Put,
            &format!("/admin/oauth2/auth/requests/device/accept?device_challenge={challenge}"),
            Some(&json!({"user_code": d["user_code"]})),
        );
        let login = b.get(&h, to.json()["redirect_to"].as_str().unwrap()).param("login_challenge").unwrap();
        let to = h.accept_login(&login, &json!({"subject": "racer", "remember": true})).json()["redirect_to"]
            .as_str()
            .unwrap()
            .to_string();
        let consent = b.get(&h, &to).param("consent_challenge").unwrap();
        let to = h.accept_consent(&consent, &json!({"grant_scope": ["openid", "offline_access"]})).json()
            ["redirect_to"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(b.get(&h, &to).location().contains("/device/done"));

        let out = race(&h, 40, rotate, || {
            token_body_request(&rp, &[("grant_type", DEVICE_GRANT), ("device_code", &device_code)])
        });
        assert_eq!(out.iter().filter(|r| r.status == 200).count(), 1, "exactly one redemption wins");
        for r in out.iter().filter(|r| r.status != 200) {
            assert_eq!(error_of(r), (400, "invalid_grant".to_string()));
        }
        let consent_id = h.world.sql("SELECT consent_request_id FROM device_codes ORDER BY rowid DESC LIMIT 1")[0]
            ["consent_request_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            h.world.count(&format!("SELECT * FROM tokens WHERE request_id = '{consent_id}'")),
            0,
            "the losers' replays revoked the winner's tokens"
        );
    }
}
