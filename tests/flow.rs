//! End-to-end tests of Hydra's login and consent flow through the Worker in workerd: the
//! browser with a cookie jar, the login/consent app through the admin API, the client at the
//! token endpoint, and an independent OpenID Connect library verifying what comes out.

mod common;

use std::time::{Duration, Instant};

use common::oauth::*;
use common::{json_of, shared, unique, Server, ADMIN_TOKEN};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{AccessToken, AccessTokenHash, ClientId, IssuerUrl, Nonce};
use reqwest::Method;
use serde_json::{json, Value};

fn code_of(r: &reqwest::blocking::Response) -> String {
    assert_eq!(r.status(), 303, "final redirect must be 303: {}", location(r));
    let loc = location(r);
    assert!(loc.starts_with(REDIRECT), "{loc}");
    param(&loc, "code").unwrap_or_else(|| panic!("no code in {loc}"))
}

/// Verify an ID token the way a relying party does, from the discovery document and JWKS.
fn verify_id_token(s: &Server, client_id: &str, id_token: &str, nonce: &str, access_token: Option<&str>) -> Value {
    let (_, doc) = json_of(s.client().get(s.url("/.well-known/openid-configuration")).send().unwrap());
    let metadata: CoreProviderMetadata =
        serde_json::from_value(doc).expect("discovery document parses as OIDC provider metadata");
    assert_eq!(metadata.issuer().as_str(), s.base);
    let (_, jwks) = json_of(s.client().get(metadata.jwks_uri().url().as_str()).send().unwrap());
    let jwks: CoreJsonWebKeySet = serde_json::from_value(jwks).expect("JWKS parses");
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(client_id.into()),
        IssuerUrl::new(s.base.clone()).unwrap(),
        jwks,
    )
    .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    let token: CoreIdToken = id_token.parse().expect("ID token parses");
    let claims =
        token.claims(&verifier, &Nonce::new(nonce.into())).expect("ID token verifies: signature, iss, aud, exp, nonce");
    if let Some(at) = access_token {
        let expected = AccessTokenHash::from_token(
            &AccessToken::new(at.into()),
            token.signing_alg().unwrap(),
            token.signing_key(&verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(claims.access_token_hash(), Some(&expected), "at_hash");
    }
    decode_claims(id_token)
}

fn decode_claims(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn header_of(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').next().unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn full_code_flow_with_pkce_verified_by_an_oidc_library() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let browser = s.browser();
    let mut report = Vec::new();
    let started = Instant::now();

    // 1. The client sends the browser to /oauth2/auth: 302 to the login app with a CSRF cookie.
    let t = Instant::now();
    let r = browser
        .get(rp.auth_url(&[
            ("scope", "openid offline_access profile"),
            ("acr_values", "urn:pwd"),
            ("ui_locales", "de en"),
            ("login_hint", "alice@example.com"),
            ("display", "page"),
        ]))
        .send()
        .unwrap();
    report.push(("GET /oauth2/auth", t.elapsed(), storage_ops(&r)));
    assert_eq!(r.status(), 302);
    let set_cookie: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(
        set_cookie.iter().any(|c| c.starts_with("ory_hydra_login_csrf_") && c.contains("HttpOnly")),
        "{set_cookie:?}"
    );
    let login = param(&location(&r), "login_challenge").unwrap();
    assert!(location(&r).starts_with(&s.url("/oauth2/fallbacks/login")));

    // 2. The login app reads the request.
    let t = Instant::now();
    let r = s.admin(Method::GET, &format!("/admin/oauth2/auth/requests/login?login_challenge={login}")).send().unwrap();
    report.push(("GET login request", t.elapsed(), storage_ops(&r)));
    let (status, req) = json_of(r);
    assert_eq!(status, 200, "{req}");
    assert_eq!(req["challenge"], login.as_str());
    assert_eq!(req["skip"], false);
    assert_eq!(req["subject"], "");
    assert_eq!(req["requested_scope"], json!(["openid", "offline_access", "profile"]));
    assert_eq!(req["client"]["client_id"], rp.id.as_str());
    assert!(req["client"].get("client_secret").is_none());
    assert!(req["request_url"].as_str().unwrap().starts_with(&s.url("/oauth2/auth?")));
    assert_eq!(req["session_id"].as_str().unwrap().len(), 36);
    assert_eq!(
        req["oidc_context"],
        json!({"acr_values": ["urn:pwd"], "ui_locales": ["de", "en"], "display": "page",
        "login_hint": "alice@example.com", "id_token_hint_claims": {}})
    );

    // 3. It accepts; the browser brings the login verifier back and is sent to consent.
    let t = Instant::now();
    let r = s.admin(Method::PUT, &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={login}"))
        .json(&json!({"subject": "alice", "remember": true, "remember_for": 3600, "acr": "urn:pwd", "amr": ["pwd"], "context": {"k": "v"}}))
        .send().unwrap();
    report.push(("PUT login accept", t.elapsed(), storage_ops(&r)));
    let (_, accepted) = json_of(r);
    let t = Instant::now();
    let r = browser.get(accepted["redirect_to"].as_str().unwrap()).send().unwrap();
    report.push(("GET /oauth2/auth?login_verifier", t.elapsed(), storage_ops(&r)));
    assert_eq!(r.status(), 302);
    let cookies: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("ory_hydra_session=") && c.contains("Max-Age=3600") && c.contains("HttpOnly")),
        "{cookies:?}"
    );
    let consent = param(&location(&r), "consent_challenge").unwrap();

    // 4. The consent app reads and accepts.
    let t = Instant::now();
    let r = s
        .admin(Method::GET, &format!("/admin/oauth2/auth/requests/consent?consent_challenge={consent}"))
        .send()
        .unwrap();
    report.push(("GET consent request", t.elapsed(), storage_ops(&r)));
    let (status, creq) = json_of(r);
    assert_eq!(status, 200);
    assert_eq!(creq["subject"], "alice");
    assert_eq!(creq["skip"], false);
    assert_eq!(creq["acr"], "urn:pwd");
    assert_eq!(creq["amr"], json!(["pwd"]));
    assert_eq!(creq["context"], json!({"k": "v"}));
    assert_eq!(creq["login_session_id"], req["session_id"]);
    assert_eq!(creq["consent_request_id"].as_str().unwrap().len(), 32);
    assert_eq!(creq["requested_scope"], json!(["openid", "offline_access", "profile"]));
    let t = Instant::now();
    let r = s.admin(Method::PUT, &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={consent}"))
        .json(&json!({"grant_scope": ["openid", "offline_access", "profile"], "remember": true,
            "session": {"id_token": {"email": "alice@example.com", "sub": "not-overridable"}, "access_token": {"tier": "gold"}}}))
        .send().unwrap();
    report.push(("PUT consent accept", t.elapsed(), storage_ops(&r)));
    let (_, accepted) = json_of(r);

    // 5. The browser brings the consent verifier back: 303 to the client with code, state, iss.
    let t = Instant::now();
    let r = browser.get(accepted["redirect_to"].as_str().unwrap()).send().unwrap();
    report.push(("GET /oauth2/auth?consent_verifier", t.elapsed(), storage_ops(&r)));
    let loc = location(&r);
    assert_eq!(param(&loc, "state").as_deref(), Some("state-0123456789"));
    assert_eq!(param(&loc, "iss").as_deref(), Some(s.base.as_str()));
    assert_eq!(param(&loc, "scope").as_deref(), Some("openid offline_access profile"));
    let code = code_of(&r);
    assert!(code.starts_with("ory_ac_"));

    // 6. The client exchanges the code.
    let t = Instant::now();
    let r = s
        .client()
        .post(s.url("/oauth2/token"))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .unwrap();
    report.push(("POST /oauth2/token", t.elapsed(), storage_ops(&r)));
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let (status, tokens) = json_of(r);
    let total = started.elapsed();
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "openid offline_access profile");
    let at = tokens["access_token"].as_str().unwrap();
    assert!(at.starts_with("ory_at_"));
    assert!(tokens["refresh_token"].as_str().unwrap().starts_with("ory_rt_"));

    let claims = verify_id_token(s, &rp.id, tokens["id_token"].as_str().unwrap(), "nonce-0123456789", Some(at));
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["acr"], "urn:pwd");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["sid"], req["session_id"]);
    for c in ["rat", "auth_time", "jti", "iat", "exp"] {
        assert!(claims.get(c).is_some(), "claim {c}");
    }
    assert_eq!(header_of(tokens["id_token"].as_str().unwrap())["alg"], "ES256");

    // Only signatures are stored, never the tokens themselves.
    let rows = s.d1(&format!("SELECT signature, kind FROM tokens WHERE client_id = '{}'", rp.id));
    assert_eq!(rows.len(), 2);
    let dump = serde_json::to_string(&rows).unwrap();
    assert!(!dump.contains(at) && !dump.contains(tokens["refresh_token"].as_str().unwrap()));

    assert!(!report.is_empty() && total > Duration::ZERO);
}

/// Time each step of a complete flow and collect the storage operations each request cost
/// (reported by the Worker when HYDRA_EDGE_TEST_ROUTES is on).
fn timed_flow(s: &Server, rp: &Rp) -> (Duration, Vec<(&'static str, Duration, String)>) {
    let browser = s.browser();
    let mut steps = Vec::new();
    let started = Instant::now();
    let mut step = |name: &'static str, rb: reqwest::blocking::RequestBuilder| {
        let t = Instant::now();
        let r = rb.send().unwrap();
        steps.push((name, t.elapsed(), storage_ops(&r)));
        r
    };
    let r = step("GET /oauth2/auth", browser.get(rp.auth_url(&[])));
    let login = param(&location(&r), "login_challenge").unwrap();
    step(
        "GET login request (admin)",
        s.admin(Method::GET, &format!("/admin/oauth2/auth/requests/login?login_challenge={login}")),
    );
    let r = step(
        "PUT login accept (admin)",
        s.admin(Method::PUT, &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={login}"))
            .json(&json!({"subject": "perf", "remember": true})),
    );
    let to = json_of(r).1["redirect_to"].as_str().unwrap().to_string();
    let r = step("GET /oauth2/auth?login_verifier", browser.get(&to));
    let consent = param(&location(&r), "consent_challenge").unwrap();
    step(
        "GET consent request (admin)",
        s.admin(Method::GET, &format!("/admin/oauth2/auth/requests/consent?consent_challenge={consent}")),
    );
    let r = step(
        "PUT consent accept (admin)",
        s.admin(Method::PUT, &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={consent}"))
            .json(&json!({"grant_scope": ["openid", "offline_access"]})),
    );
    let to = json_of(r).1["redirect_to"].as_str().unwrap().to_string();
    let r = step("GET /oauth2/auth?consent_verifier", browser.get(&to));
    let code = param(&location(&r), "code").unwrap();
    let r = step(
        "POST /oauth2/token",
        s.client().post(s.url("/oauth2/token")).basic_auth(&rp.id, Some(&rp.secret)).form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]),
    );
    assert_eq!(r.status(), 200);
    (started.elapsed(), steps)
}

/// D1 round trips are counted, not timed: a warm login + consent + code flow makes 6 (it made
/// 12 before issue 12), two of them reads a replica may answer (the admin GETs' 410 markers).
#[test]
fn a_code_flow_makes_six_d1_round_trips_two_on_replicas() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    timed_flow(s, &rp); // the first flow fills the caches
    let (_, steps) = timed_flow(s, &rp);
    let count = |ops: &str, key: &str| -> u32 {
        ops.split(", ")
            .find_map(|part| part.strip_prefix(key))
            .and_then(|v| v.split('/').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {ops:?}"))
    };
    let per_step: Vec<(&str, u32, u32)> =
        steps.iter().map(|(name, _, ops)| (*name, count(ops, "d1="), count(ops, "d1_replica="))).collect();
    let expected = [
        ("GET /oauth2/auth", 0, 0),
        ("GET login request (admin)", 1, 1),
        ("PUT login accept (admin)", 0, 0),
        ("GET /oauth2/auth?login_verifier", 1, 0),
        ("GET consent request (admin)", 1, 1),
        ("PUT consent accept (admin)", 0, 0),
        ("GET /oauth2/auth?consent_verifier", 1, 0),
        ("POST /oauth2/token", 2, 0),
    ];
    assert_eq!(per_step, expected, "{steps:#?}");
    assert_eq!(per_step.iter().map(|(_, d1, _)| d1).sum::<u32>(), 6);
}

/// Not an assertion of speed (timed tests are flaky): prints what a flow costs, for the notes.
#[test]
fn flow_cost_report() {
    let s = Server::start(&[]);
    let rp = Rp::register(&s, json!({}));
    for run in ["first flow (fresh keys, client not cached)", "second flow (warm)", "third flow (warm)"] {
        let (total, steps) = timed_flow(&s, &rp);
        eprintln!("\n{run}: {:.1} ms end to end on loopback under wrangler dev", total.as_secs_f64() * 1000.0);
        for (name, d, ops) in steps {
            eprintln!("  {name:<36} {:>6.1} ms   {ops}", d.as_secs_f64() * 1000.0);
        }
    }
}

#[test]
fn remembered_login_and_consent_are_skipped_and_prompt_none_works() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let browser = s.browser();
    code_of(&run_flow(&rp, &browser, &rp.auth_url(&[]), "bob"));

    // Second time: the login request says skip, with the remembered subject.
    let login = to_login(&browser, &rp.auth_url(&[]));
    let (_, req) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(req["skip"], true);
    assert_eq!(req["subject"], "bob");
    // Accepting as someone else (an account switch) sends the browser back to the authorization
    // request with prompt=login, as Hydra v2.2 and later do: a new login, not the session's.
    let (status, to) = admin_put(
        s,
        &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={login}"),
        &json!({"subject": "mallory"}),
    );
    assert_eq!(status, 200, "{to}");
    let again = to["redirect_to"].as_str().unwrap();
    assert!(again.starts_with(&s.url("/oauth2/auth?")), "{again}");
    assert_eq!(param(again, "prompt").as_deref(), Some("login"));
    assert!(param(again, "login_verifier").is_none(), "{again}");
    assert_eq!(param(again, "client_id").as_deref(), Some(rp.id.as_str()), "the same authorization request");
    // (prompt=login asking for a new login is checked below.)
    let r = accept_login(s, &login, &json!({"subject": "bob"}));
    let consent = to_consent(&browser, &r);
    let (_, creq) = s.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={consent}"));
    assert_eq!(creq["skip"], true, "remembered consent covers the requested scopes");
    let r = accept_consent(s, &consent, &json!({"grant_scope": creq["requested_scope"]}));
    code_of(&to_client(&browser, &r));

    // A scope beyond the remembered grant needs consent again.
    let login = to_login(&browser, &rp.auth_url(&[("scope", "openid offline_access email")]));
    let consent = to_consent(&browser, &accept_login(s, &login, &json!({"subject": "bob"})));
    let (_, creq) = s.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={consent}"));
    assert_eq!(creq["skip"], false);

    // prompt=none with a session and remembered consent: no interaction is required.
    let login = to_login(&browser, &rp.auth_url(&[("prompt", "none")]));
    let consent = to_consent(&browser, &accept_login(s, &login, &json!({"subject": "bob"})));
    code_of(&to_client(&browser, &accept_consent(s, &consent, &json!({"grant_scope": ["openid", "offline_access"]}))));

    // prompt=select_account keeps the session (Hydra v26): the login app sees skip and the
    // subject, and may offer another account.
    let login = to_login(&browser, &rp.auth_url(&[("prompt", "select_account")]));
    let (_, req) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!((req["skip"].as_bool(), req["subject"].as_str()), (Some(true), Some("bob")), "{req}");
    // prompt=login forces a new login even with a session.
    let login = to_login(&browser, &rp.auth_url(&[("prompt", "login")]));
    let (_, req) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(req["skip"], false);
    // max_age=0 as well.
    let login = to_login(&browser, &rp.auth_url(&[("max_age", "0")]));
    let (_, req) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(req["skip"], false);
}

#[test]
fn prompt_none_errors_go_to_the_client() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    // No session: login_required, delivered to the client with state and iss.
    let r = s.browser().get(rp.auth_url(&[("prompt", "none")])).send().unwrap();
    assert_eq!(r.status(), 303);
    let loc = location(&r);
    assert!(loc.starts_with(REDIRECT));
    assert_eq!(param(&loc, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&loc, "state").as_deref(), Some("state-0123456789"));
    assert_eq!(param(&loc, "iss").as_deref(), Some(s.base.as_str()));

    // A session but no remembered consent: consent_required.
    let browser = s.browser();
    let login = to_login(&browser, &rp.auth_url(&[]));
    let consent = to_consent(&browser, &accept_login(s, &login, &json!({"subject": "carol", "remember": true})));
    code_of(&to_client(&browser, &accept_consent(s, &consent, &json!({"grant_scope": ["openid"], "remember": false}))));
    let login = to_login(&browser, &rp.auth_url(&[("prompt", "none")]));
    let r = browser.get(accept_login(s, &login, &json!({"subject": "carol"}))).send().unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(param(&location(&r), "error").as_deref(), Some("consent_required"));
}

#[test]
fn login_and_consent_rejections_reach_the_client() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let browser = s.browser();
    let login = to_login(&browser, &rp.auth_url(&[]));
    let (status, v) = admin_put(
        s,
        &format!("/admin/oauth2/auth/requests/login/reject?login_challenge={login}"),
        &json!({"error": "access_denied", "error_description": "The resource owner denied the request"}),
    );
    assert_eq!(status, 200);
    let r = browser.get(v["redirect_to"].as_str().unwrap()).send().unwrap();
    assert_eq!(r.status(), 303);
    let loc = location(&r);
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"));
    assert!(param(&loc, "error_description").unwrap().contains("denied"));
    assert_eq!(param(&loc, "state").as_deref(), Some("state-0123456789"));
    assert!(param(&loc, "code").is_none());

    let login = to_login(&browser, &rp.auth_url(&[]));
    let consent = to_consent(&browser, &accept_login(s, &login, &json!({"subject": "dave"})));
    let (_, v) = admin_put(
        s,
        &format!("/admin/oauth2/auth/requests/consent/reject?consent_challenge={consent}"),
        &json!({"error": "access_denied", "error_description": "Consent withheld"}),
    );
    let r = browser.get(v["redirect_to"].as_str().unwrap()).send().unwrap();
    let loc = location(&r);
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"));
    assert!(param(&loc, "code").is_none());
    assert_eq!(
        s.d1(&format!("SELECT COUNT(*) AS n FROM authorization_codes WHERE client_id = '{}'", rp.id))[0]["n"],
        0
    );
    // An empty rejection uses Hydra's default error name (its `SetDefaults`); `null` members
    // count as absent, as Go's decoder treats them.
    let login = to_login(&browser, &rp.auth_url(&[]));
    let (_, v) = admin_put(
        s,
        &format!("/admin/oauth2/auth/requests/login/reject?login_challenge={login}"),
        &json!({"error": null, "error_description": null}),
    );
    let r = browser.get(v["redirect_to"].as_str().unwrap()).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("login request denied"));
    let login = to_login(&browser, &rp.auth_url(&[]));
    let consent = to_consent(
        &browser,
        &accept_login(s, &login, &json!({"subject": "u", "acr": null, "amr": null, "context": null, "remember": null})),
    );
    let (status, v) =
        admin_put(s, &format!("/admin/oauth2/auth/requests/consent/reject?consent_challenge={consent}"), &json!({}));
    assert_eq!(status, 200, "{v}");
    let r = browser.get(v["redirect_to"].as_str().unwrap()).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("consent request denied"));
}

#[test]
fn a_replayed_code_is_refused_and_revokes_the_tokens_it_yielded() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let code = code_of(&run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "erin"));
    let (status, first, _) = rp.exchange(&code, VERIFIER);
    assert_eq!(status, 200);
    let rows = s.d1(&format!("SELECT COUNT(*) AS n FROM tokens WHERE client_id = '{}'", rp.id));
    assert_eq!(rows[0]["n"], 2, "access + refresh token stored");
    let (status, err, _) = rp.exchange(&code, VERIFIER);
    assert_eq!(status, 400);
    assert_eq!(err["error"], "invalid_grant");
    assert!(err["error_description"].as_str().unwrap().contains("already been used"));
    let rows = s.d1(&format!("SELECT COUNT(*) AS n FROM tokens WHERE client_id = '{}'", rp.id));
    assert_eq!(rows[0]["n"], 0, "every token of the grant is revoked (RFC 6749 §10.5)");
    assert!(first["access_token"].is_string());
}

#[test]
fn concurrent_redemptions_of_one_code_yield_at_most_one_token_set() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let code = code_of(&run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "frank"));
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (b, client, url, id, secret, code) =
                (barrier.clone(), s.client(), s.url("/oauth2/token"), rp.id.clone(), rp.secret.clone(), code.clone());
            std::thread::spawn(move || {
                b.wait();
                client
                    .post(url)
                    .basic_auth(id, Some(secret))
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", REDIRECT),
                        ("code_verifier", VERIFIER),
                    ])
                    .send()
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(statuses.iter().filter(|s| **s == 200).count() <= 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "{statuses:?}");
}

#[test]
fn token_endpoint_checks_redirect_uri_pkce_and_client() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let code = code_of(&run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "gina"));
    let base = |code: &str| vec![("grant_type", "authorization_code".to_string()), ("code", code.to_string())];
    let send = |form: Vec<(&str, String)>| {
        let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        rp.token(&f)
    };
    let mut wrong_redirect = base(&code);
    wrong_redirect
        .extend([("redirect_uri", "http://127.0.0.1:7000/cb".to_string()), ("code_verifier", VERIFIER.to_string())]);
    assert_eq!(send(wrong_redirect).1["error"], "invalid_grant");
    let mut wrong_verifier = base(&code);
    wrong_verifier.extend([("redirect_uri", REDIRECT.to_string()), ("code_verifier", "x".repeat(43))]);
    assert_eq!(send(wrong_verifier).1["error"], "invalid_grant");
    let mut no_verifier = base(&code);
    no_verifier.push(("redirect_uri", REDIRECT.to_string()));
    assert_eq!(send(no_verifier).1["error"], "invalid_grant");
    // The failed attempts did not use the code up.
    let (status, tokens, _) = rp.exchange(&code, VERIFIER);
    assert_eq!(status, 200, "{tokens}");

    // PKCE downgrade (RFC 9700 §4.8.2): a code issued without a challenge refuses a verifier.
    let no_pkce = rp.auth_url(&[("code_challenge", ""), ("code_challenge_method", "")]);
    let code = code_of(&run_flow(&rp, &s.browser(), &no_pkce, "gina"));
    let (status, body, _) = rp.exchange(&code, VERIFIER);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("code challenge was absent"), "{body}");
    let (status, body, _) =
        rp.token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)]);
    assert_eq!(status, 200, "a confidential client may still skip PKCE entirely: {body}");

    // Another client cannot redeem it, nor can a forged or unknown code be.
    let other = Rp::register(s, json!({}));
    let code = code_of(&run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "gina"));
    assert_eq!(other.exchange(&code, VERIFIER).1["error"], "invalid_grant");
    assert_eq!(rp.exchange("ory_ac_forged.signature", VERIFIER).1["error"], "invalid_grant");
    assert_eq!(rp.exchange(&code.replace("ory_ac_", "ory_at_"), VERIFIER).1["error"], "invalid_grant");

    // Malformed requests.
    let r = s.client().post(s.url("/oauth2/token")).basic_auth(&rp.id, Some(&rp.secret)).send().unwrap();
    assert_eq!(json_of(r).1["error"], "invalid_request");
    let (status, body, _) = rp.token(&[("code", "x")]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
    let (status, body, _) = rp.token(&[("grant_type", "password"), ("username", "u"), ("password", "p")]);
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
    let (status, body, _) = rp.token(&[("grant_type", "authorization_code"), ("grant_type", "authorization_code")]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
    let r = s
        .client()
        .post(s.url("/oauth2/token"))
        .basic_auth(&rp.id, Some(&rp.secret))
        .json(&json!({"grant_type": "authorization_code"}))
        .send()
        .unwrap();
    assert_eq!(json_of(r).1["error"], "invalid_request");
}

#[test]
fn client_authentication_methods() {
    let s = shared();
    // Wrong secret and unknown client: 401 invalid_client with WWW-Authenticate.
    let rp = Rp::register(s, json!({}));
    let r = s
        .client()
        .post(s.url("/oauth2/token"))
        .basic_auth(&rp.id, Some("wrong-secret"))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    assert_eq!(json_of(r).1["error"], "invalid_client");
    let r = s
        .client()
        .post(s.url("/oauth2/token"))
        .basic_auth("no-such-client", Some("x"))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    // A basic client cannot use client_secret_post; two methods at once are refused.
    let r = s
        .client()
        .post(s.url("/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", rp.id.as_str()),
            ("client_secret", rp.secret.as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(json_of(r).1["error"], "invalid_client");
    let r = s
        .client()
        .post(s.url("/oauth2/token"))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&[("grant_type", "authorization_code"), ("code", "x"), ("client_secret", rp.secret.as_str())])
        .send()
        .unwrap();
    assert_eq!(json_of(r).1["error"], "invalid_request");

    // client_secret_post.
    let post = Rp::register(s, json!({"token_endpoint_auth_method": "client_secret_post"}));
    let code = code_of(&run_flow(&post, &s.browser(), &post.auth_url(&[]), "hank"));
    let (status, body) =
        exchange_in_body(s, &code, &[("client_id", post.id.as_str()), ("client_secret", post.secret.as_str())]);
    assert_eq!(status, 200, "{body}");

    // Public client (none): PKCE is required at /oauth2/auth.
    let public = Rp::register(s, json!({"token_endpoint_auth_method": "none"}));
    let r = s.browser().get(public.auth_url(&[("code_challenge", ""), ("code_challenge_method", "")])).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("invalid_request"));
    let code = code_of(&run_flow(&public, &s.browser(), &public.auth_url(&[]), "ivy"));
    let (status, body) = exchange_in_body(s, &code, &[("client_id", public.id.as_str())]);
    assert_eq!(status, 200, "{body}");
}

/// A `private_key_jwt` client assertion signed with a P-256 key.
fn client_assertion(
    key: &p256::ecdsa::SigningKey,
    kid: &str,
    client_id: &str,
    aud: &str,
    jti: &str,
    exp_in: i64,
) -> String {
    use p256::ecdsa::signature::Signer;
    let input = assertion_input("ES256", kid, client_id, aud, jti, exp_in);
    let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64url(&sig.to_bytes()))
}

/// The signing input (`header.claims`) of a client assertion with the given `alg` header.
fn assertion_input(alg: &str, kid: &str, client_id: &str, aud: &str, jti: &str, exp_in: i64) -> String {
    let json = |v: &Value| b64url(&serde_json::to_vec(v).unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    format!(
        "{}.{}",
        json(&json!({"alg": alg, "kid": kid, "typ": "JWT"})),
        json(&json!({"iss": client_id, "sub": client_id, "aud": aud, "jti": jti, "iat": now, "exp": now + exp_in}))
    )
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn private_key_jwt_with_replay_protection() {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let s = shared();
    let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
    let point = secret.public_key().to_encoded_point(false);
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256", "x": b64url(point.x().unwrap()), "y": b64url(point.y().unwrap())});
    let rp = Rp::register(
        s,
        json!({"token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256", "jwks": {"keys": [jwk]}}),
    );
    let key = p256::ecdsa::SigningKey::from(secret);
    let token_url = s.url("/oauth2/token");
    let send = |code: &str, assertion: &str| {
        exchange_in_body(
            s,
            code,
            &[
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", assertion),
            ],
        )
    };
    let code = code_of(&run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "jack"));
    let jti = unique("jti");
    let assertion = client_assertion(&key, "k1", &rp.id, &token_url, &jti, 300);
    let (status, body) = send(&code, &assertion);
    assert_eq!(status, 200, "{body}");
    // The same assertion again: jti_known.
    let code = code_of(&run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "jack"));
    let (status, body) = send(&code, &assertion);
    assert_eq!((status, body["error"].as_str()), (400, Some("jti_known")), "{body}");
    // Wrong audience, expired, foreign key, wrong kid: invalid_client.
    let other = p256::ecdsa::SigningKey::from(p256::SecretKey::from_slice(&[9u8; 32]).unwrap());
    for bad in [
        client_assertion(&key, "k1", &rp.id, "https://elsewhere.example/token", &unique("j"), 300),
        client_assertion(&key, "k1", &rp.id, &token_url, &unique("j"), -10),
        client_assertion(&key, "k1", &rp.id, &token_url, &unique("j"), 7 * 24 * 3600),
        client_assertion(&other, "k1", &rp.id, &token_url, &unique("j"), 300),
        client_assertion(&key, "k2", &rp.id, &token_url, &unique("j"), 300),
        "not.a.jwt".to_string(),
    ] {
        let (status, body) = send(&code, &bad);
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    }
    // JOSE attacks (security checklist): an unsigned assertion; HS256 keyed with the client's
    // public key (algorithm confusion); the ES256 signature DER-encoded instead of raw R||S; and
    // the "psychic signature" r = s = 0.
    let input = |alg: &str| assertion_input(alg, "k1", &rp.id, &token_url, &unique("j"), 300);
    let hs256 = |data: &str, key: &[u8]| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(data.as_bytes());
        b64url(&mac.finalize().into_bytes())
    };
    let es256 = |data: &str| -> p256::ecdsa::Signature { p256::ecdsa::signature::Signer::sign(&key, data.as_bytes()) };
    let (none_input, hs_input, der_input, zero_input) = (input("none"), input("HS256"), input("ES256"), input("ES256"));
    for bad in [
        format!("{none_input}."),
        format!("{hs_input}.{}", hs256(&hs_input, serde_json::to_string(&jwk).unwrap().as_bytes())),
        format!("{hs_input}.{}", hs256(&hs_input, point.as_bytes())),
        format!("{der_input}.{}", b64url(es256(&der_input).to_der().as_bytes())),
        format!("{zero_input}.{}", b64url(&[0u8; 64])),
    ] {
        let (status, body) = send(&code, &bad);
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{bad}: {body}");
    }
    let (status, _) = send(&code, &client_assertion(&key, "k1", &rp.id, &token_url, &unique("j"), 300));
    assert_eq!(status, 200, "the code survived the failed attempts");
}

#[test]
fn challenges_and_verifiers_are_single_use_tamper_proof_and_bound_to_the_browser() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let browser = s.browser();
    let login = to_login(&browser, &rp.auth_url(&[]));

    // Tampered or foreign challenges: 404. Missing: 400.
    let mut tampered = login.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let (status, body) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={tampered}"));
    assert_eq!(status, 404, "{body}");
    assert_eq!(s.admin_get("/admin/oauth2/auth/requests/login?login_challenge=garbage").0, 404);
    assert_eq!(s.admin_get("/admin/oauth2/auth/requests/login").0, 400);
    // A login challenge is not a consent challenge.
    assert_eq!(s.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={login}")).0, 404);
    // The alias `challenge` works.
    assert_eq!(s.admin_get(&format!("/admin/oauth2/auth/requests/login?challenge={login}")).0, 200);

    // Accepting twice before the browser returns: both answer, only one verifier redeems.
    let first = accept_login(s, &login, &json!({"subject": "kim"}));
    let second = accept_login(s, &login, &json!({"subject": "kim"}));
    assert_ne!(first, second);
    // A verifier in a browser without the flow's CSRF cookie is refused.
    let r = s.browser().get(&first).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("request_forbidden"));
    let consent = to_consent(&browser, &first);
    let r = browser.get(&second).send().unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(param(&location(&r), "error").as_deref(), Some("access_denied"));
    let r = browser.get(&first).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("access_denied"), "a login verifier redeems once");

    // Once handled, the login request is gone (410 with redirect_to). Accepting or rejecting it
    // again answers (Hydra v26: stateless, no 409), but that verifier never redeems.
    let (status, body) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(status, 410);
    assert!(body["redirect_to"].as_str().unwrap().starts_with(&s.url("/oauth2/auth?")));
    let late = accept_login(s, &login, &json!({"subject": "mallory"}));
    let r = browser.get(&late).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("access_denied"), "a late accept never redeems");
    let (status, rejected) =
        admin_put(s, &format!("/admin/oauth2/auth/requests/login/reject?login_challenge={login}"), &json!({}));
    assert_eq!(status, 200);
    let r = browser.get(rejected["redirect_to"].as_str().unwrap()).send().unwrap();
    let loc = location(&r);
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"), "a late reject never redeems: {loc}");
    assert!(param(&loc, "error_description").unwrap_or_default().contains("already been used"), "{loc}");

    // The same for consent.
    let verifier = accept_consent(s, &consent, &json!({"grant_scope": ["openid"]}));
    code_of(&to_client(&browser, &verifier));
    let r = to_client(&browser, &verifier);
    assert_eq!(param(&location(&r), "error").as_deref(), Some("access_denied"), "a consent verifier redeems once");
    assert_eq!(s.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={consent}")).0, 410);
    let late = accept_consent(s, &consent, &json!({"grant_scope": ["openid", "offline_access"]}));
    let r = to_client(&browser, &late);
    assert_eq!(param(&location(&r), "error").as_deref(), Some("access_denied"), "a late consent never redeems");

    // A tampered verifier goes to the error page.
    let broken = verifier.replace("consent_verifier=", "consent_verifier=x");
    let r = browser.get(&broken).send().unwrap();
    assert!(location(&r).starts_with(&s.url("/oauth2/fallbacks/error")), "{}", location(&r));

    // Accept needs a subject.
    let login = to_login(&browser, &rp.auth_url(&[("prompt", "login")]));
    assert_eq!(
        admin_put(s, &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={login}"), &json!({})).0,
        400
    );
    // A consent that grants beyond the client's scopes is refused.
    let consent = to_consent(&browser, &accept_login(s, &login, &json!({"subject": "kim"})));
    assert_eq!(
        admin_put(
            s,
            &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={consent}"),
            &json!({"grant_scope": ["admin"]})
        )
        .0,
        400
    );
}

#[test]
fn expired_challenges_are_401_and_expired_verifiers_fail() {
    let s = Server::start(&[("TTL_LOGIN_CONSENT_REQUEST", "2s")]);
    let rp = Rp::register(&s, json!({}));
    let browser = s.browser();
    let login = to_login(&browser, &rp.auth_url(&[]));
    let verifier = accept_login(&s, &login, &json!({"subject": "lee"}));
    std::thread::sleep(Duration::from_millis(3100));
    let (status, body) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "request_unauthorized");
    assert!(body["error_description"].as_str().unwrap().contains("expired"));
    let r = browser.get(&verifier).send().unwrap();
    assert!(location(&r).starts_with(&s.url("/oauth2/fallbacks/error")));
}

#[test]
fn bad_authorization_requests() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let b = s.browser();
    // Unknown client and unregistered redirect URI: never redirected there; the error page.
    for url in [
        s.url(
            "/oauth2/auth?client_id=nope&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2F&state=12345678",
        ),
        rp.auth_url(&[("redirect_uri", "https://evil.example/cb")]),
        rp.auth_url(&[("redirect_uri", "https://rp.example/callback/")]),
        rp.auth_url(&[("redirect_uri", "HTTPS://rp.example/callback")]),
    ] {
        let r = b.get(&url).send().unwrap();
        assert_eq!(r.status(), 302, "{url}");
        let loc = location(&r);
        assert!(loc.starts_with(&s.url("/oauth2/fallbacks/error?")), "{loc}");
        assert!(param(&loc, "error").is_some());
    }
    let page = b.get(s.url("/oauth2/fallbacks/error?error=x&error_hint=%3Cscript%3E")).send().unwrap().text().unwrap();
    assert!(!page.contains("<script>"));
    // Loopback redirect URIs may change port.
    let r = b.get(rp.auth_url(&[("redirect_uri", "http://127.0.0.1:54321/cb")])).send().unwrap();
    assert_eq!(r.status(), 302);
    assert!(param(&location(&r), "login_challenge").is_some());
    // Errors after the redirect URI is known go to the client.
    for (extra, error) in [
        (vec![("state", "short")], "invalid_state"),
        (vec![("scope", "openid admin")], "invalid_scope"),
        (vec![("response_type", "code id_token token magic")], "unsupported_response_type"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("nonce", "short")], "insufficient_entropy"),
        (vec![("prompt", "none login")], "invalid_request"),
        (vec![("audience", "https://elsewhere.example")], "invalid_request"),
    ] {
        let r = b.get(rp.auth_url(&extra)).send().unwrap();
        assert_eq!(r.status(), 303, "{extra:?}");
        let loc = location(&r);
        assert!(loc.starts_with(REDIRECT), "{loc}");
        assert_eq!(param(&loc, "error").as_deref(), Some(error), "{extra:?}: {loc}");
        assert_eq!(param(&loc, "iss").as_deref(), Some(s.base.as_str()));
    }
    // The same request as a form POST works.
    let mut q = rp.auth_url(&[]);
    q = q.split_once('?').unwrap().1.to_string();
    let r = b
        .post(s.url("/oauth2/auth"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(q)
        .send()
        .unwrap();
    assert_eq!(r.status(), 302);
    assert!(param(&location(&r), "login_challenge").is_some());
}

#[test]
fn response_modes_implicit_and_hybrid() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    // form_post: an auto-submitting form to the redirect URI.
    let r = run_flow(&rp, &s.browser(), &rp.auth_url(&[("response_mode", "form_post")]), "mia");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let html = r.text().unwrap();
    assert!(html.contains(&format!("action=\"{REDIRECT}\"")));
    assert!(html.contains("name=\"code\""));
    assert!(html.contains("name=\"state\" value=\"state-0123456789\""));

    // Implicit id_token token: tokens in the fragment, the ID token with at_hash.
    let r = run_flow(
        &rp,
        &s.browser(),
        &rp.auth_url(&[("response_type", "id_token token"), ("code_challenge", ""), ("code_challenge_method", "")]),
        "mia",
    );
    assert_eq!(r.status(), 303);
    let loc = location(&r);
    let at = fragment_param(&loc, "access_token").expect("access token in the fragment");
    let id_token = fragment_param(&loc, "id_token").unwrap();
    assert_eq!(fragment_param(&loc, "token_type").as_deref(), Some("bearer"));
    assert!(param(loc.split('#').next().unwrap(), "access_token").is_none(), "never in the query");
    verify_id_token(s, &rp.id, &id_token, "nonce-0123456789", Some(&at));

    // Hybrid code id_token: c_hash binds the code.
    let r = run_flow(&rp, &s.browser(), &rp.auth_url(&[("response_type", "code id_token")]), "mia");
    let loc = location(&r);
    let code = fragment_param(&loc, "code").unwrap();
    let claims = verify_id_token(s, &rp.id, &fragment_param(&loc, "id_token").unwrap(), "nonce-0123456789", None);
    let digest = <sha2::Sha256 as sha2::Digest>::digest(code.as_bytes());
    assert_eq!(claims["c_hash"], b64url(&digest[..16]));
    assert_eq!(rp.exchange(&code, VERIFIER).0, 200);

    // Tokens never go in a query; implicit needs a nonce.
    let r = s
        .browser()
        .get(rp.auth_url(&[("response_type", "id_token token"), ("response_mode", "query")]))
        .send()
        .unwrap();
    assert_eq!(
        fragment_param(&location(&r), "error").or(param(&location(&r), "error")).as_deref(),
        Some("unsupported_response_mode")
    );
    let r = s.browser().get(rp.auth_url(&[("response_type", "id_token"), ("nonce", "")])).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("invalid_request"));
}

#[test]
fn jwt_access_tokens_and_key_rotation() {
    let s = Server::start(&[]);
    let rp = Rp::register(&s, json!({"access_token_strategy": "jwt"}));
    let code = code_of(&run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "ned"));
    let (_, tokens, _) = rp.exchange(&code, VERIFIER);
    let at = tokens["access_token"].as_str().unwrap();
    let claims = decode_claims(at);
    for c in ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scp", "ext"] {
        assert!(claims.get(c).is_some(), "JWT access token claim {c}: {claims}");
    }
    assert_eq!(claims["scp"], json!(["openid", "offline_access"]));
    assert_eq!(claims["ext"], json!({"tier": "gold"}));
    assert_eq!(claims["client_id"], rp.id.as_str());
    let (_, jwks) = json_of(s.client().get(s.url("/.well-known/jwks.json")).send().unwrap());
    let kid = header_of(at)["kid"].clone();
    assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == kid), "signed with a published key");
    let old_id_token = tokens["id_token"].as_str().unwrap().to_string();
    let old_kid = header_of(&old_id_token)["kid"].clone();

    // Rotation: a new key in the ID-token set signs from now on; old tokens still verify.
    let (status, _) = s.admin_json(
        Method::POST,
        "/admin/keys/hydra.openid.id-token",
        &json!({"alg": "ES256", "use": "sig", "kid": "rotated"}),
    );
    assert_eq!(status, 201);
    let code = code_of(&run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "ned"));
    let (_, tokens, _) = rp.exchange(&code, VERIFIER);
    let new_id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(header_of(new_id_token)["kid"], "rotated");
    verify_id_token(&s, &rp.id, new_id_token, "nonce-0123456789", None);
    verify_id_token(&s, &rp.id, &old_id_token, "nonce-0123456789", None);
    // Deleting the old key retires the old tokens.
    let r = s
        .admin(Method::DELETE, &format!("/admin/keys/hydra.openid.id-token/{}", old_kid.as_str().unwrap()))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, jwks) = json_of(s.client().get(s.url("/.well-known/jwks.json")).send().unwrap());
    assert!(jwks["keys"].as_array().unwrap().iter().all(|k| k["kid"] != old_kid));
}

#[test]
fn client_changes_apply_at_once_through_the_cache() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    // Warm the KV cache with a token request.
    let code = code_of(&run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "olga"));
    assert_eq!(rp.exchange(&code, VERIFIER).0, 200);
    // Rotate the secret: the old one stops working immediately (same location).
    let (status, updated) = s.admin_json(
        Method::PATCH,
        &format!("/admin/clients/{}", rp.id),
        &json!([{"op": "replace", "path": "/client_secret", "value": "rotated-secret-value"}]),
    );
    assert_eq!(status, 200, "{updated}");
    let code = code_of(&run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "olga"));
    assert_eq!(rp.exchange(&code, VERIFIER).0, 401, "old secret refused after rotation");
    let rotated = Rp { s, id: rp.id.clone(), secret: "rotated-secret-value".into(), client: rp.client.clone() };
    assert_eq!(rotated.exchange(&code, VERIFIER).0, 200);
    // Delete the client: authorization and token requests fail at once.
    let code = code_of(&run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "olga"));
    assert_eq!(s.admin(Method::DELETE, &format!("/admin/clients/{}", rp.id)).send().unwrap().status(), 204);
    assert_eq!(rotated.exchange(&code, VERIFIER).0, 401);
    let r = s.browser().get(rp.auth_url(&[])).send().unwrap();
    assert!(location(&r).starts_with(&s.url("/oauth2/fallbacks/error")));
}

#[test]
fn flow_admin_routes_need_the_admin_token() {
    let s = shared();
    for path in [
        "/admin/oauth2/auth/requests/login?login_challenge=x",
        "/admin/oauth2/auth/requests/consent?consent_challenge=x",
    ] {
        assert_eq!(s.client().get(s.url(path)).send().unwrap().status(), 401);
        assert_eq!(s.client().get(s.url(path)).bearer_auth(ADMIN_TOKEN).send().unwrap().status(), 404);
    }
}

#[test]
fn the_scheduled_cleanup_removes_expired_rows_only() {
    let s = Server::start(&[]);
    let rp = Rp::register(&s, json!({}));
    let code = code_of(&run_flow(&rp, &s.browser(), &rp.auth_url(&[]), "pat"));
    assert_eq!(rp.exchange(&code, VERIFIER).0, 200);
    s.d1("INSERT INTO flow_markers (id, request_url, claim, used_at, expires_at) VALUES ('login:old', 'u', 'c', 1, 2); \
          INSERT INTO authorization_codes (signature, request_id, client_id, data, expires_at) VALUES ('old-code', 'r', 'c', '{}', 2); \
          INSERT INTO tokens (signature, kind, request_id, client_id, subject, data, issued_at, expires_at) VALUES ('old-token', 'access_token', 'r', 'c', 's', '{}', 1, 2); \
          INSERT INTO client_assertion_jtis (id, expires_at) VALUES ('old-jti', 2); \
          INSERT INTO login_sessions (id, subject, authenticated_at, remember, expires_at) VALUES ('old-sid', 's', 1, 1, 2)");
    let count = |table: &str| s.d1(&format!("SELECT COUNT(*) AS n FROM {table}"))[0]["n"].as_i64().unwrap();
    let before: Vec<i64> = ["flow_markers", "authorization_codes", "tokens", "client_assertion_jtis", "login_sessions"]
        .iter()
        .map(|t| count(t))
        .collect();
    let r = s.client().get(s.url("/__scheduled?cron=17+*+*+*+*")).send().unwrap();
    assert_eq!(r.status(), 200, "{}", s.log());
    let after: Vec<i64> = ["flow_markers", "authorization_codes", "tokens", "client_assertion_jtis", "login_sessions"]
        .iter()
        .map(|t| count(t))
        .collect();
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(*a, b - 1, "exactly the expired row goes: before {before:?}, after {after:?}");
    }
    assert!(after[0] >= 2 && after[2] >= 2 && after[4] >= 1, "live rows stay: {after:?}");
}

#[test]
fn id_token_hint_is_verified_and_matched_against_the_session() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let browser = s.browser();
    let code = code_of(&run_flow(&rp, &browser, &rp.auth_url(&[]), "quinn"));
    let (_, tokens, _) = rp.exchange(&code, VERIFIER);
    let hint = tokens["id_token"].as_str().unwrap().to_string();

    // The login app sees the verified claims of the hint.
    let login = to_login(&browser, &rp.auth_url(&[("id_token_hint", &hint)]));
    let (_, req) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(req["skip"], true);
    assert_eq!(req["oidc_context"]["id_token_hint_claims"]["sub"], "quinn");

    // A hint for another user than the session's: login_required.
    let other = s.browser();
    let code = code_of(&run_flow(&rp, &other, &rp.auth_url(&[]), "rita"));
    let (_, rita, _) = rp.exchange(&code, VERIFIER);
    let r = browser
        .get(rp.auth_url(&[("id_token_hint", rita["id_token"].as_str().unwrap()), ("prompt", "none")]))
        .send()
        .unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("login_required"));

    // A forged or tampered hint: invalid_request.
    let mut parts: Vec<String> = hint.split('.').map(str::to_string).collect();
    let mut claims = decode_claims(&hint);
    claims["sub"] = json!("quinn-admin");
    parts[1] = b64url(&serde_json::to_vec(&claims).unwrap());
    for bad in [parts.join("."), "not-a-jwt".to_string(), format!("{}.{}.", parts[0], parts[1])] {
        let r = browser.get(rp.auth_url(&[("id_token_hint", &bad)])).send().unwrap();
        assert_eq!(param(&location(&r), "error").as_deref(), Some("invalid_request"), "{bad}");
    }
}

#[test]
fn malformed_authorization_requests_never_reach_the_client() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let b = s.browser();
    for q in ["client_id=%FF%FE", "client_id=a&client_id=b", ""] {
        let r = b.get(s.url(&format!("/oauth2/auth?{q}"))).send().unwrap();
        assert_eq!(r.status(), 302, "{q}");
        assert!(location(&r).starts_with(&s.url("/oauth2/fallbacks/error")), "{q}: {}", location(&r));
    }
    let r = b.post(s.url("/oauth2/auth")).header("content-type", "application/json").body("{}").send().unwrap();
    assert!(location(&r).starts_with(&s.url("/oauth2/fallbacks/error")));
    // A parameter sent twice is invalid_request (RFC 6749 §3.1).
    let r = b.get(format!("{}&state=another-state-value", rp.auth_url(&[]))).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("invalid_request"), "{}", location(&r));
}

/// State too large to travel in a challenge or verifier (Cloudflare refuses URLs over 16 KB) is
/// refused where it is made, with a reason: an authorization request with a huge parameter at
/// `/oauth2/auth`, a consent decision with huge session claims at accept. Never a challenge that
/// later answers 404, or a verifier that ends in `access_denied`.
#[test]
fn oversized_state_is_refused_where_it_is_made() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let browser = s.browser();
    let huge = "x".repeat(3_900);
    let url = rp.auth_url(&[("a", huge.as_str()), ("b", huge.as_str()), ("c", huge.as_str()), ("d", huge.as_str())]);
    let r = browser.get(&url).send().unwrap();
    let to = location(&r);
    assert!(to.contains("error=invalid_request") && to.contains("too+large"), "{to}");
    assert!(param(&to, "login_challenge").is_none(), "{to}");

    let login = to_login(&browser, &rp.auth_url(&[]));
    let consent = to_consent(&browser, &accept_login(s, &login, &json!({"subject": "big"})));
    let claims = json!({"id_token": {"blob": "y".repeat(14_000)}});
    let (status, body) = admin_put(
        s,
        &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={consent}"),
        &json!({"grant_scope": ["openid"], "session": claims}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("too large"), "{body}");
    // A decision of normal size still completes the flow.
    code_of(&to_client(&browser, &accept_consent(s, &consent, &json!({"grant_scope": ["openid"]}))));
}

/// A hybrid `code id_token` is the code grant's (fosite): a client with only that grant gets its
/// code and ID token. And when the consent withholds `openid`, the front channel carries no ID
/// token: the subject and its claims were not granted.
#[test]
fn hybrid_responses_follow_the_grant() {
    let s = shared();
    let rp = Rp::register(s, json!({"grant_types": ["authorization_code"], "response_types": ["code id_token"]}));
    let browser = s.browser();
    let url = |_: ()| rp.auth_url(&[("response_type", "code id_token"), ("nonce", "nonce-0123456789")]);
    let run = |granted: Value| {
        let login = to_login(&browser, &url(()));
        let consent = to_consent(&browser, &accept_login(s, &login, &json!({"subject": "hy"})));
        let to = location(&to_client(&browser, &accept_consent(s, &consent, &json!({"grant_scope": granted}))));
        assert!(to.starts_with(REDIRECT), "{to}");
        to
    };
    let to = run(json!(["openid"]));
    assert!(fragment_param(&to, "code").is_some() && fragment_param(&to, "id_token").is_some(), "{to}");
    let to = run(json!([]));
    assert!(fragment_param(&to, "code").is_some(), "{to}");
    assert!(fragment_param(&to, "id_token").is_none(), "openid was not granted: {to}");
}
