//! The edge's rate limits on the host platform: the bindings of wrangler.toml counted in fixed
//! windows per location (`hydra_edge::host`), through the handlers. End to end through the
//! binding under `wrangler dev`: tests/edge.rs.

mod host_support;

use host_support::*;
use hydra_edge::host::{CallKind, Limit};
use serde_json::json;

fn wrong_secret(h: &Host, rp: &Rp) -> Resp {
    let body = form(&[("grant_type", "client_credentials")]);
    h.post_form_at(&h.p, "/oauth2/token", &body, &[("authorization", &basic(&rp.id, "not-the-secret"))])
}

#[test]
fn failed_client_authentications_are_limited_per_client_then_refused_without_work() {
    let h = Host::new();
    let rp = h.register(json!({"grant_types": ["client_credentials"]}));
    // wrangler.toml: 20 failures per client per 60 s.
    for i in 0..20 {
        let r = wrong_secret(&h, &rp);
        assert_eq!((r.status(), r.json()["error"].as_str()), (401, Some("invalid_client")), "failure {i}: {r}");
    }
    let r = wrong_secret(&h, &rp);
    assert_eq!(r.status(), 429, "{r}");
    assert_eq!(r.header("retry-after").as_deref(), Some("60"));
    // Refused at once afterwards: no secret hashing, no storage call.
    h.world.start_counting();
    assert_eq!(wrong_secret(&h, &rp).status(), 429);
    assert!(h.world.calls().is_empty(), "{:?}", h.world.calls());
    // A minute later the window and the isolate's block are over.
    h.world.advance_secs(61);
    assert_eq!(wrong_secret(&h, &rp).status(), 401);
}

/// Anyone can fail in a client's name (client ids are public): the owner's secret, verified
/// before in this isolate, still passes while the id is refused; nothing else does, and a wrong
/// secret costs no hashing.
#[test]
fn strangers_failing_in_a_clients_name_do_not_lock_its_owner_out() {
    let h = Host::new();
    let rp = h.register(json!({"grant_types": ["client_credentials"]}));
    let right = |h: &Host| {
        let body = form(&[("grant_type", "client_credentials")]);
        h.post_form_at(&h.p, "/oauth2/token", &body, &[("authorization", &basic(&rp.id, &rp.secret))])
    };
    assert_eq!(right(&h).status(), 200);
    for _ in 0..20 {
        assert_eq!(wrong_secret(&h, &rp).status(), 401);
    }
    assert_eq!(wrong_secret(&h, &rp).status(), 429);
    let r = right(&h);
    assert_eq!(r.status(), 200, "{r}");
    h.world.start_counting();
    assert_eq!(wrong_secret(&h, &rp).status(), 429);
    assert!(!h.world.calls().iter().any(|c| c.kind == CallKind::Pbkdf2), "{:?}", h.world.calls());
    // A client this isolate never verified is refused without a lookup.
    let other = h.register(json!({"grant_types": ["client_credentials"]}));
    for _ in 0..21 {
        wrong_secret(&h, &other);
    }
    h.world.start_counting();
    let body = form(&[("grant_type", "client_credentials")]);
    let r = h.post_form_at(&h.p, "/oauth2/token", &body, &[("authorization", &basic(&other.id, &other.secret))]);
    assert_eq!(r.status(), 429, "{r}");
    assert!(h.world.calls().is_empty(), "{:?}", h.world.calls());
}

/// While a client id is refused, guesses at its secret still count against their address: the
/// address is refused after its 60 failures, for every client.
#[test]
fn a_refused_client_id_still_charges_the_address() {
    let h = Host::new();
    let rp = h.register(json!({"grant_types": ["client_credentials"]}));
    let other = h.register(json!({"grant_types": ["client_credentials"]}));
    let from = |id: &str, secret: &str| {
        let body = form(&[("grant_type", "client_credentials")]);
        let auth = basic(id, secret);
        h.post_form_at(&h.p, "/oauth2/token", &body, &[("authorization", &auth), ("cf-connecting-ip", "203.0.113.9")])
    };
    assert_eq!(from(&rp.id, &rp.secret).status(), 200);
    let statuses: Vec<u16> = (0..60).map(|_| from(&rp.id, "guess").status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 20, "{statuses:?}");
    assert_eq!(from(&other.id, "guess").status(), 429, "the address is over its 60 failures");
    assert_eq!(from(&other.id, &other.secret).status(), 429);
}

/// Only a wrong secret counts against a client id: a public client cannot be locked out by
/// requests that name it with a secret or a method it does not use.
#[test]
fn a_public_client_cannot_be_locked_out() {
    let h = Host::new();
    let spa = h.register(json!({"token_endpoint_auth_method": "none"}));
    for i in 0..30 {
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", &spa.id),
            ("client_secret", "s"),
        ]);
        let r = h.post_form_at(&h.p, "/oauth2/token", &body, &[]);
        assert_eq!(r.status(), 401, "attempt {i}: {r}");
    }
    let body = form(&[("grant_type", "authorization_code"), ("code", "x"), ("client_id", &spa.id)]);
    let r = h.post_form_at(&h.p, "/oauth2/token", &body, &[]);
    assert_eq!((r.status(), r.json()["error"].as_str()), (400, Some("invalid_grant")), "{r}");
}

#[test]
fn device_verifications_are_limited_per_address_and_a_failing_limiter_allows() {
    let h = Host::new();
    h.world.set_rate_limit("RATE_LIMIT_DEVICE_USER_CODE", Some(Limit { limit: 3, period_secs: 10 }));
    let mut b = Browser { headers: vec![("cf-connecting-ip".into(), "203.0.113.9".into())], ..Default::default() };
    for _ in 0..3 {
        let r = b.get(&h, "/oauth2/device/verify");
        assert!(r.param("device_challenge").is_some(), "{r}");
    }
    // The user is in a browser: the refusal goes to the error page (the 429 of an API would
    // show them raw JSON).
    let r = b.get(&h, "/oauth2/device/verify");
    assert_eq!(r.status(), 302, "{r}");
    assert_eq!(r.param("error").as_deref(), Some("temporarily_unavailable"), "{r}");
    assert!(r.param("device_challenge").is_none(), "{r}");
    let hint = r.param("error_hint").unwrap_or_default();
    assert!(hint.contains("wait a minute") && !hint.contains("Retry-After"), "no header reaches the page: {hint}");
    // Another address is counted apart.
    let mut other = Browser { headers: vec![("cf-connecting-ip".into(), "203.0.113.10".into())], ..Default::default() };
    h.world.start_counting();
    assert!(other.get(&h, "/oauth2/device/verify").param("device_challenge").is_some());
    assert_eq!(h.world.calls().iter().filter(|c| c.kind == CallKind::RateLimit).count(), 1);
    // A limiter that does not answer lets the request through (an outage must not lock out),
    // even for an address at its limit.
    for _ in 0..2 {
        assert!(other.get(&h, "/oauth2/device/verify").param("device_challenge").is_some());
    }
    h.world.start_counting();
    h.world.inject(0, hydra_edge::host::Fault::Error);
    let r = other.get(&h, "/oauth2/device/verify");
    assert_eq!(h.world.calls()[0].kind, CallKind::RateLimit);
    assert!(r.param("device_challenge").is_some(), "{r}");
    let r = other.get(&h, "/oauth2/device/verify");
    assert_eq!(r.param("error").as_deref(), Some("temporarily_unavailable"), "the limiter answers again: {r}");
}
