//! The refresh_token grant end to end: an independent OpenID Connect library refreshes and
//! verifies the new ID token; rotation, reuse detection with chain revocation, scope
//! narrowing, failures that change nothing, expiry, the grace period, and 20 concurrent
//! redemptions of one refresh token.

mod common;

use common::oauth::Rp;
use common::tokens::*;
use common::{shared, Server};
use openidconnect::core::{CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce, OAuth2TokenResponse, RefreshToken, TokenResponse};
use reqwest::Method;
use serde_json::{json, Value};

fn provider(s: &Server) -> CoreProviderMetadata {
    CoreProviderMetadata::discover(&IssuerUrl::new(s.base.clone()).unwrap(), &oidc_http).expect("discovery")
}

#[test]
fn an_oidc_library_refreshes_and_verifies_the_new_id_token() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let first = tokens_via_flow(&rp, "rita", "openid offline_access");
    let rt = first["refresh_token"].as_str().unwrap().to_string();
    let first_claims = decode_part(first["id_token"].as_str().unwrap(), 1);

    let metadata = provider(s);
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.id.clone()),
        Some(ClientSecret::new(rp.secret.clone())),
    );
    let response = client
        .exchange_refresh_token(&RefreshToken::new(rt.clone()))
        .expect("token endpoint known")
        .request(&oidc_http)
        .expect("the refresh succeeds");
    let new_at = response.access_token().secret().to_string();
    let new_rt = response.refresh_token().expect("a new refresh token (rotation)").secret().to_string();
    assert_ne!(new_rt, rt);
    assert_ne!(new_at, first["access_token"].as_str().unwrap());
    let id_token = response.id_token().expect("a new ID token: openid was granted");
    let verifier = client.id_token_verifier().set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = id_token
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("the refreshed ID token verifies: signature, iss, aud, exp");
    assert_eq!(claims.subject().as_str(), "rita");
    let new_claims = decode_part(&id_token.to_string(), 1);
    assert_eq!(new_claims["auth_time"], first_claims["auth_time"], "auth_time of the original authentication");
    assert_ne!(new_claims["jti"], first_claims["jti"]);
    assert!(new_claims["at_hash"].is_string());

    // Rotation: the old access token is inactive, the new pair active.
    assert!(!active(s, first["access_token"].as_str().unwrap()));
    assert!(active(s, &new_at));
    assert_eq!(introspect(s, &new_rt, None)["token_use"], "refresh_token");

    // Reuse of the old refresh token: invalid_grant, and the whole chain is revoked.
    let (status, body) = refresh(&rp, &rt, &[]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("already used"), "{body}");
    assert!(!active(s, &new_at), "the chain's access token is revoked");
    assert!(!active(s, &new_rt), "the chain's refresh token is revoked");
    let (status, _) = refresh(&rp, &new_rt, &[]);
    assert_eq!(status, 400);
}

#[test]
fn scope_can_be_narrowed_never_widened() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let (status, _) = s.admin_json(
        Method::PUT,
        &format!("/admin/clients/{}/lifespans", rp.id),
        &json!({"refresh_token_grant_access_token_lifespan": "5m", "refresh_token_grant_id_token_lifespan": "2m"}),
    );
    assert_eq!(status, 200);
    let t = tokens_via_flow(&rp, "sam", "openid offline_access profile");
    let rt = t["refresh_token"].as_str().unwrap();
    // Widening: invalid_scope, and nothing changed (the refresh token still works).
    let (status, body) = refresh(&rp, rt, &[("scope", "openid email")]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    let (status, narrowed) = refresh(&rp, rt, &[("scope", "profile offline_access")]);
    assert_eq!(status, 200, "{narrowed}");
    assert_eq!(narrowed["scope"], "profile offline_access");
    assert_eq!(narrowed["expires_in"], 300, "the client's refresh_token_grant lifespan");
    assert!(narrowed.get("id_token").is_none(), "no openid in the narrowed scope: no ID token");
    assert_eq!(introspect(s, narrowed["access_token"].as_str().unwrap(), None)["scope"], "profile offline_access");
    // The new refresh token keeps the original grant's scope.
    let (status, full) = refresh(&rp, narrowed["refresh_token"].as_str().unwrap(), &[]);
    assert_eq!(status, 200, "{full}");
    assert_eq!(full["scope"], "openid offline_access profile");
    let id = decode_part(full["id_token"].as_str().unwrap(), 1);
    assert_eq!(id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(), 120);
}

#[test]
fn failed_refreshes_change_nothing() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let other = Rp::register(s, json!({}));
    let t = tokens_via_flow(&rp, "tom", "openid offline_access");
    let rt = t["refresh_token"].as_str().unwrap();
    let at = t["access_token"].as_str().unwrap();
    let long = format!("ory_rt_{}", "a".repeat(10_000));
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("grant_type", "refresh_token")], 400, "invalid_request"),
        (vec![("grant_type", "refresh_token"), ("refresh_token", rt), ("refresh_token", rt)], 400, "invalid_request"),
        (vec![("grant_type", "refresh_token"), ("refresh_token", "ory_rt_garbage.garbage")], 400, "invalid_grant"),
        (vec![("grant_type", "refresh_token"), ("refresh_token", at)], 400, "invalid_grant"),
        (vec![("grant_type", "refresh_token"), ("refresh_token", &long)], 400, "invalid_grant"),
        (vec![("grant_type", "refresh_token"), ("refresh_token", rt), ("scope", "admin")], 400, "invalid_scope"),
    ];
    for (form, status, error) in cases {
        let (st, body, _) = token_request(s, &rp.id, &rp.secret, &form);
        assert_eq!((st, body["error"].as_str()), (status, Some(error)), "{form:?}: {body}");
    }
    // Another client presenting the token: invalid_grant.
    let (status, body) = refresh(&other, rt, &[]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("does not match"), "{body}");
    // Wrong secret: invalid_client.
    let (status, body, _) =
        token_request(s, &rp.id, "wrong", &[("grant_type", "refresh_token"), ("refresh_token", rt)]);
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    assert!(active(s, at) && active(s, rt), "no failure touched the tokens");
    let (status, body) = refresh(&rp, rt, &[]);
    assert_eq!(status, 200, "the refresh token survived every failure: {body}");

    // A client without the refresh_token grant: unauthorized_client; no refresh token at all.
    let no_refresh = Rp::register(s, json!({"grant_types": ["authorization_code"]}));
    let t = tokens_via_flow(&no_refresh, "tom", "openid offline_access");
    assert!(t.get("refresh_token").is_none(), "{t}");
    let (status, body) = refresh(&no_refresh, rt, &[]);
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");
    // Without offline scope: no refresh token either.
    let t = tokens_via_flow(&rp, "tom", "openid");
    assert!(t.get("refresh_token").is_none(), "{t}");

    // A scope the client has lost since the grant: invalid_scope.
    let t = tokens_via_flow(&rp, "tom", "openid offline_access profile");
    let (status, _) = s.admin_json(
        Method::PATCH,
        &format!("/admin/clients/{}", rp.id),
        &json!([{"op": "replace", "path": "/scope", "value": "openid offline_access"}]),
    );
    assert_eq!(status, 200);
    let (status, body) = refresh(&rp, t["refresh_token"].as_str().unwrap(), &[]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
}

#[test]
fn an_expired_refresh_token_is_refused() {
    let s = shared();
    let rp = Rp::register(s, json!({"authorization_code_grant_refresh_token_lifespan": "1s"}));
    let t = tokens_via_flow(&rp, "uma", "openid offline_access");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (status, body) = refresh(&rp, t["refresh_token"].as_str().unwrap(), &[]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("expired"), "{body}");
    assert!(!active(s, t["refresh_token"].as_str().unwrap()));
}

#[test]
fn twenty_concurrent_redemptions_yield_exactly_one_new_pair() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let t = tokens_via_flow(&rp, "vic", "openid offline_access");
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(20));
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let (b, client, url, id, secret, rt) =
                (barrier.clone(), s.client(), s.url("/oauth2/token"), rp.id.clone(), rp.secret.clone(), rt.clone());
            std::thread::spawn(move || {
                b.wait();
                let r = client
                    .post(url)
                    .basic_auth(id, Some(secret))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", rt.as_str())])
                    .send()
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().unwrap_or(Value::Null))
            })
        })
        .collect();
    let results: Vec<(u16, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = results.iter().filter(|(st, _)| *st == 200).count();
    assert_eq!(ok, 1, "exactly one redemption wins: {results:?}");
    for (st, body) in &results {
        assert!(
            *st == 200
                || (*st == 400 && ["invalid_grant", "invalid_request"].contains(&body["error"].as_str().unwrap_or(""))),
            "{st} {body}"
        );
    }
    let rows = s.d1(&format!(
        "SELECT COUNT(*) AS n FROM tokens WHERE client_id = '{}' AND kind = 'refresh_token' AND active = 1",
        rp.id
    ));
    assert!(rows[0]["n"].as_i64().unwrap() <= 1, "at most one active refresh token in the chain: {rows:?}");
}

#[test]
fn within_the_grace_period_a_used_token_works_up_to_the_reuse_count() {
    let s = Server::start(&[
        ("OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD", "30s"),
        ("OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_REUSE_COUNT", "2"),
    ]);
    let rp = Rp::register(&s, json!({}));
    let t = tokens_via_flow(&rp, "wes", "openid offline_access");
    let rt = t["refresh_token"].as_str().unwrap();
    let (status, b) = refresh(&rp, rt, &[]);
    assert_eq!(status, 200, "{b}");
    assert!(!active(&s, t["access_token"].as_str().unwrap()), "the access token issued with the used token is revoked");
    let (status, c) = refresh(&rp, rt, &[]);
    assert_eq!(status, 200, "a retry inside the grace period works: {c}");
    assert!(active(&s, b["access_token"].as_str().unwrap()), "only the used token's own access token is revoked");
    // The reuse count (2) is spent: reuse, and the chain goes.
    let (status, body) = refresh(&rp, rt, &[]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    for token in [&b["access_token"], &b["refresh_token"], &c["access_token"], &c["refresh_token"]] {
        assert!(!active(&s, token.as_str().unwrap()), "chain revoked");
    }
}

/// A rotation reads the same few D1 rows however long its chain is: a chain keeps one used
/// refresh token per rotation until they expire, and the statements that deactivate and revoke
/// the chain's tokens find theirs through the (request_id, kind, active) index instead of
/// reading every row of the chain (`d1_rows_read` of the test-mode storage header).
#[test]
fn rotation_reads_the_same_rows_however_long_the_chain() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let t = tokens_via_flow(&rp, "long-chain", "openid offline_access");
    let mut refresh_token = t["refresh_token"].as_str().unwrap().to_string();
    let mut rows_read = Vec::new();
    for _ in 0..25 {
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token.as_str())];
        let (status, body, headers) = token_request(s, &rp.id, &rp.secret, &form);
        assert_eq!(status, 200, "{body}");
        refresh_token = body["refresh_token"].as_str().unwrap().to_string();
        let ops = headers.get("x-hydra-edge-storage").unwrap().to_str().unwrap().to_string();
        let n: u32 = ops.split(", ").find_map(|p| p.strip_prefix("d1_rows_read=")).unwrap().parse().unwrap();
        rows_read.push(n);
    }
    assert!(rows_read[0] > 0, "D1 reports rows read: {rows_read:?}");
    assert_eq!(rows_read[4], rows_read[24], "rows read per rotation must not grow with the chain: {rows_read:?}");
}
