//! The login → consent → code → token flow, handler by handler on the host platform
//! (milliseconds per test; the same flow end to end in workerd is tests/flow.rs).

mod host_support;

use host_support::*;
use hydra_edge::host::CallKind;
use hydra_edge::http::Method;
use serde_json::{json, Value};

fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&hydra_edge::crypto::b64url_decode(part).unwrap()).unwrap()
}

#[test]
fn code_flow_issues_tokens_and_stores_the_grant() {
    let h = Host::new();
    let rp = h.register(json!({}));
    let code = h.code(&rp, "alice");
    let r = h.exchange(&rp, &code);
    assert_eq!(r.status(), 200, "{r}");
    let t = r.json();
    assert!(t["access_token"].as_str().unwrap().starts_with("ory_at_"));
    assert!(t["refresh_token"].as_str().unwrap().starts_with("ory_rt_"));
    assert_eq!(t["scope"], "openid offline_access");
    let id = claims(t["id_token"].as_str().unwrap());
    assert_eq!((id["sub"].as_str(), id["iss"].as_str()), (Some("alice"), Some(ISSUER)));
    assert_eq!(id["nonce"], "nonce-0123456789");
    assert_eq!(id["aud"], json!([rp.id]));

    // The ID token verifies against the published JWKS.
    let jwks = h.get("/.well-known/jwks.json").json();
    let jwt = t["id_token"].as_str().unwrap();
    let kid =
        serde_json::from_slice::<Value>(&hydra_edge::crypto::b64url_decode(jwt.split('.').next().unwrap()).unwrap())
            .unwrap()["kid"]
            .clone();
    let key = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).expect("signing key published");
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig = hydra_edge::crypto::b64url_decode(sig).unwrap();
    assert!(hydra_edge::host::block_on(hydra_edge::platform::Platform::verify(
        &h.p,
        key,
        "ES256",
        input.as_bytes(),
        &sig
    ))
    .unwrap());

    // What D1 holds: one consent session, its used code, an access and a refresh token.
    assert_eq!(h.world.count("SELECT * FROM consent_sessions WHERE subject = 'alice'"), 1);
    assert_eq!(h.world.count("SELECT * FROM authorization_codes WHERE used_at IS NOT NULL"), 1);
    assert_eq!(h.world.count("SELECT * FROM tokens t JOIN consent_sessions c ON c.id = t.request_id"), 2);
}

#[test]
fn each_request_of_the_flow_costs_what_docs_say() {
    let h = Host::new();
    let rp = h.register(json!({}));
    flow_costs_what_docs_say(&h, &rp, &json!({"subject": "bob", "remember": true}));
}

#[test]
fn a_pairwise_flow_costs_no_more_than_a_public_one() {
    let h = Host::with(&[
        ("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "public,pairwise"),
        ("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", "host-salt"),
    ]);
    let rp = h.register(json!({"subject_type": "pairwise"}));
    flow_costs_what_docs_say(&h, &rp, &json!({"subject": "bob", "remember": true}));
    // A forced identifier rides in the login verifier's batch.
    flow_costs_what_docs_say(&h, &rp, &json!({"subject": "carol", "force_subject_identifier": "c-1"}));
    assert_eq!(h.world.count("SELECT * FROM forced_subject_identifiers WHERE obfuscated = 'c-1'"), 1);
}

/// The D1 round trips of each request of a code flow (docs/storage.md, "D1 round trips of a
/// flow"), with the login app accepting `login`.
fn flow_costs_what_docs_say(h: &Host, rp: &Rp, login_body: &Value) {
    // Afterwards the signing keys, the client cache and the verified-secret digest exist.
    assert_eq!(h.exchange(rp, &h.code(rp, "warm-up")).status(), 200);
    let mut b = Browser::default();
    let d1 = |h: &Host| h.world.calls().iter().filter(|c| matches!(c.kind, CallKind::Sql | CallKind::SqlBatch)).count();
    h.world.start_counting();
    let r = b.get(h, &rp.auth_url(&[]));
    assert_eq!(d1(h), 0, "starting a flow reads the client from KV and writes nothing");
    let login = r.param("login_challenge").unwrap();
    let accepted = h.accept_login(&login, login_body);
    h.world.start_counting();
    let r = b.get(h, accepted.json()["redirect_to"].as_str().unwrap());
    assert_eq!(d1(h), 1, "login verifier: one batch (marker, session and the remembered-consent read)");
    let consent = r.param("consent_challenge").unwrap();
    let accepted = h.accept_consent(&consent, &json!({"grant_scope": ["openid"]}));
    h.world.start_counting();
    let r = b.get(h, accepted.json()["redirect_to"].as_str().unwrap());
    assert_eq!(d1(h), 1, "consent verifier: one batch (marker, consent, code)");
    h.world.start_counting();
    let t = h.exchange(rp, &r.param("code").unwrap());
    assert_eq!(t.status(), 200, "{t}");
    assert_eq!(d1(h), 2, "token: read the code, one batch redeeming it with the tokens");
}

#[test]
fn a_replayed_code_is_refused_and_revokes_its_tokens() {
    let h = Host::new();
    let rp = h.register(json!({}));
    let code = h.code(&rp, "carol");
    assert_eq!(h.exchange(&rp, &code).status(), 200);
    assert_eq!(h.world.count("SELECT * FROM tokens"), 2);
    let r = h.exchange(&rp, &code);
    assert_eq!((r.status(), r.json()["error"].as_str()), (400, Some("invalid_grant")), "{r}");
    assert_eq!(h.world.count("SELECT * FROM tokens"), 0, "the chain is revoked");
}

#[test]
fn verifiers_are_single_use_and_remembered_sessions_skip() {
    let h = Host::new();
    let rp = h.register(json!({}));
    let mut b = Browser::default();
    let r = b.get(&h, &rp.auth_url(&[]));
    let login = r.param("login_challenge").unwrap();
    let to = h.accept_login(&login, &json!({"subject": "dave", "remember": true})).json()["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(b.get(&h, &to).param("consent_challenge").is_some());
    let again = b.get(&h, &to);
    assert_eq!(again.param("error").as_deref(), Some("access_denied"), "{again}");
    // The admin API sees the login request as handled (410).
    let (status, body) =
        h.admin(Method::Get, &format!("/admin/oauth2/auth/requests/login?login_challenge={login}"), None);
    assert_eq!(status, 410, "{body}");
    // A new flow in the same browser skips the login.
    let r = b.get(&h, &rp.auth_url(&[]));
    let login = r.param("login_challenge").unwrap();
    let (_, req) = h.admin(Method::Get, &format!("/admin/oauth2/auth/requests/login?login_challenge={login}"), None);
    assert_eq!((req["skip"].as_bool(), req["subject"].as_str()), (Some(true), Some("dave")), "{req}");
}

/// `max_age` (OpenID Connect Core §3.1.2.1): more than `max_age` seconds since the login means
/// a new one. Logins are stored in whole seconds, so a session is kept only while it is surely
/// young enough: a login at 100.9 s is too old for `max_age=1` at 101.95 s.
#[test]
fn max_age_counts_the_seconds_since_the_login() {
    let h = Host::new();
    let rp = h.register(json!({}));
    let mut b = Browser::default();
    let to_second = 1000 - h.world.now_ms().rem_euclid(1000);
    h.world.advance_ms(to_second + 900);
    h.run_flow(&rp, &mut b, "erin");
    let skip = |b: &mut Browser, max_age: &str| {
        let login = b.get(&h, &rp.auth_url(&[("max_age", max_age)])).param("login_challenge").unwrap();
        let (_, req) =
            h.admin(Method::Get, &format!("/admin/oauth2/auth/requests/login?login_challenge={login}"), None);
        req["skip"].as_bool().unwrap()
    };
    assert!(skip(&mut b, "60"));
    h.world.advance_ms(1050);
    assert!(!skip(&mut b, "1"), "1.05 s after the login");
    assert!(skip(&mut b, "3"));
}

#[test]
fn private_key_jwt_authenticates_once_per_jti() {
    let h = Host::new();
    let k = AssertionKey::new(7);
    let rp = h.register(json!({"token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256", "jwks": {"keys": [k.jwk]}}));
    let assertion = k.assertion(&rp.id, "jti-1", h.now());
    let r = h.post_form_at(&h.p, "/oauth2/token", &assertion_exchange(&h.code(&rp, "erin"), &assertion), &[]);
    assert_eq!(r.status(), 200, "{r}");
    let code = h.code(&rp, "erin");
    let r = h.post_form_at(&h.p, "/oauth2/token", &assertion_exchange(&code, &assertion), &[]);
    assert_eq!((r.status(), r.json()["error"].as_str()), (400, Some("jti_known")), "{r}");
    // Another location, same jti: refused too (D1, not KV, remembers it).
    let b = h.world.location("b");
    let r = h.post_form_at(&b, "/oauth2/token", &assertion_exchange(&code, &assertion), &[]);
    assert_eq!(r.json()["error"], "jti_known", "{r}");
    let other = AssertionKey::new(9);
    let r = h.post_form_at(
        &h.p,
        "/oauth2/token",
        &assertion_exchange(&code, &other.assertion(&rp.id, "jti-2", h.now())),
        &[],
    );
    assert_eq!((r.status(), r.json()["error"].as_str()), (401, Some("invalid_client")), "{r}");
    let r =
        h.post_form_at(&h.p, "/oauth2/token", &assertion_exchange(&code, &k.assertion(&rp.id, "jti-3", h.now())), &[]);
    assert_eq!(r.status(), 200, "the code survived the failed attempts: {r}");
}

#[test]
fn expired_codes_and_cleanup() {
    let h = Host::new();
    let rp = h.register(json!({}));
    let code = h.code(&rp, "frank");
    h.world.advance_secs(601);
    let r = h.exchange(&rp, &code);
    assert_eq!(r.json()["error"], "invalid_grant", "{r}");
    let before = h.world.count("SELECT * FROM authorization_codes");
    assert_eq!(before, 1);
    let deleted = hydra_edge::host::block_on(hydra_edge::store::delete_expired(&h.p, h.now())).unwrap();
    assert!(deleted >= 1);
    assert_eq!(h.world.count("SELECT * FROM authorization_codes"), 0);
}

/// A hint naming a key of the ID-token set in another algorithm than the key's family is the
/// hint's fault (`invalid_request`), also for an imported key that names no `alg` of its own:
/// never a verification error answered as an outage.
#[test]
fn a_hint_in_the_wrong_algorithm_for_an_imported_key_is_refused() {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let h = Host::new();
    let secret = p256::SecretKey::from_slice(&[7; 32]).unwrap();
    let point = secret.public_key().to_encoded_point(false);
    let b64 = hydra_edge::crypto::b64url;
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "imported", "use": "sig",
        "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()), "d": b64(&secret.to_bytes())});
    let (status, body) = h.admin(Method::Put, "/admin/keys/hydra.openid.id-token/imported", Some(&jwk));
    assert_eq!(status, 200, "{body}");
    let part = |v: Value| b64(&serde_json::to_vec(&v).unwrap());
    for alg in ["RS256", "ES384"] {
        let hint =
            format!("{}.{}.{}", part(json!({"alg": alg, "kid": "imported"})), part(json!({"sub": "x"})), b64(&[1; 64]));
        let r = h.get(&format!("/oauth2/sessions/logout?id_token_hint={hint}"));
        let to = r.location();
        assert!(to.contains("error=invalid_request"), "{alg}: {r}");
        assert!(to.contains("names+an+algorithm") || to.contains("names%20an%20algorithm"), "{alg}: {to}");
    }
}

#[test]
fn a_pairwise_grant_never_gets_a_jwt_access_token() {
    let pairwise = [
        ("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "public,pairwise"),
        ("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", "host-salt"),
    ];
    let mut h = Host::with(&pairwise);
    let rp = h.register(json!({"subject_type": "pairwise"}));
    let code = h.code(&rp, "alice");
    let t = h.exchange(&rp, &code).json();
    let sub = claims(t["id_token"].as_str().unwrap())["sub"].as_str().unwrap().to_string();
    assert_eq!(sub.len(), 64, "a pairwise value: {sub}");

    // The operator turns JWT access tokens on for everyone: the grant made under pairwise
    // identifiers is not refreshed into a JWT that would carry "alice" to the client.
    let mut vars = pairwise.to_vec();
    vars.push(("STRATEGIES_ACCESS_TOKEN", "jwt"));
    h.cfg = hydra_edge::host::config(&vars).unwrap();
    let r = h.refresh(&rp, t["refresh_token"].as_str().unwrap());
    assert_eq!(r.status(), 500, "{r}");
    assert_eq!(r.json()["error"], "server_error");
    assert!(r.to_string().contains("opaque"), "{r}");
    assert!(!r.to_string().contains("alice"), "{r}");

    // Nothing was used up: once the client is given opaque tokens, the same refresh works.
    h.cfg = hydra_edge::host::config(&pairwise).unwrap();
    let r = h.refresh(&rp, t["refresh_token"].as_str().unwrap());
    assert_eq!(r.status(), 200, "{r}");
    assert_eq!(claims(r.json()["id_token"].as_str().unwrap())["sub"], sub.as_str());
}

#[test]
fn a_device_verification_too_large_to_seal_goes_to_the_error_page() {
    let h = Host::new();
    let mut b = Browser::default();
    // Extra parameters travel sealed in the challenge; 12 KiB of them (within a request line
    // Cloudflare accepts) would make a challenge the verification UI could not hand back.
    let r = b.get(&h, &format!("/oauth2/device/verify?user_code=ABCD&extra={}", "x".repeat(12 * 1024)));
    assert_eq!(r.status(), 302, "{r}");
    assert!(r.location().starts_with(&format!("{ISSUER}/oauth2/fallbacks/error")), "{}", r.location());
    assert_eq!(r.param("error").as_deref(), Some("invalid_request"), "{r}");
    assert!(r.header("set-cookie").is_none(), "no CSRF cookie for a refused start: {r}");
    // The user code is passed on beside the challenge, so it counts towards the URL too.
    let r = b.get(&h, &format!("/oauth2/device/verify?user_code={}", "A".repeat(16 * 1024)));
    assert_eq!(r.param("error").as_deref(), Some("invalid_request"), "{r}");
    // A normal start still works.
    let r = b.get(&h, "/oauth2/device/verify?user_code=ABCD");
    assert!(r.param("device_challenge").is_some(), "{r}");
    assert_eq!(r.param("user_code").as_deref(), Some("ABCD"));
}
