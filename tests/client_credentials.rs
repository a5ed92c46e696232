//! The client_credentials grant end to end: write-free JWT access tokens (no D1 round trip on
//! the warm path, per the test-mode storage-cost header), opaque tokens, scope / audience /
//! client checks with precise errors, per-client lifespans, and revocation of write-free JWTs
//! (`/oauth2/revoke` and `DELETE /admin/oauth2/tokens`).

mod common;

use common::oauth::storage_ops;
use common::tokens::*;
use common::{json_of, shared};
use p256::ecdsa::signature::Verifier;
use reqwest::Method;
use serde_json::{json, Value};

fn cc(s: &common::Server, id: &str, secret: &str, extra: &[(&str, &str)]) -> (u16, Value, String) {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    let r = s.client().post(s.url("/oauth2/token")).basic_auth(id, Some(secret)).form(&form).send().unwrap();
    let ops = storage_ops(&r);
    let (status, body) = json_of(r);
    (status, body, ops)
}

/// Verify an ES256 JWT against the server's JWKS with the `p256` crate (not the server's code).
fn verify_es256(s: &common::Server, jwt: &str) {
    let (_, jwks) = json_of(s.client().get(s.url("/.well-known/jwks.json")).send().unwrap());
    let kid = decode_part(jwt, 0)["kid"].clone();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).expect("key published").clone();
    let coord = |n: &str| {
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, jwk[n].as_str().unwrap()).unwrap()
    };
    let mut sec1 = vec![4u8];
    sec1.extend(coord("x"));
    sec1.extend(coord("y"));
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig = p256::ecdsa::Signature::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).unwrap(),
    )
    .unwrap();
    key.verify(input.as_bytes(), &sig).expect("signature verifies");
}

#[test]
fn jwt_access_tokens_cost_no_d1_round_trip_when_warm() {
    let s = shared();
    let (id, secret) = machine_client(
        s,
        json!({"access_token_strategy": "jwt", "client_credentials_grant_access_token_lifespan": "15m"}),
    );
    let (status, body, _) =
        cc(s, &id, &secret, &[("scope", "read photos.view"), ("audience", "https://api.example/v1")]);
    assert_eq!(status, 200, "{body}");
    let mut warm = Vec::new();
    for _ in 0..3 {
        let (status, _, ops) = cc(s, &id, &secret, &[("scope", "read")]);
        assert_eq!(status, 200);
        warm.push(ops);
    }
    assert!(
        warm.iter().any(|o| o.starts_with("d1=0/0")),
        "a warm client_credentials JWT needs no D1 round trip: {warm:?}"
    );

    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "read photos.view");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none(), "{body}");
    let at = body["access_token"].as_str().unwrap();
    let header = decode_part(at, 0);
    assert_eq!(header["typ"], "at+jwt", "RFC 9068");
    assert_eq!(header["alg"], "ES256");
    let claims = decode_part(at, 1);
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["scp"], json!(["read", "photos.view"]));
    assert_eq!(claims["aud"], json!(["https://api.example/v1"]));
    assert_eq!(claims["iss"], s.base.as_str());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    verify_es256(s, at);
    let rows = s.d1(&format!("SELECT COUNT(*) AS n FROM tokens WHERE client_id = '{id}'"));
    assert_eq!(rows[0]["n"], 0, "nothing was written");
    let i = introspect(s, at, None);
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["sub"], id.as_str());
    assert_eq!(i["token_use"], "access_token");
    assert_eq!(i["aud"], json!(["https://api.example/v1"]));
}

#[test]
fn opaque_tokens_are_stored() {
    let s = shared();
    let (id, secret) = machine_client(s, json!({}));
    let (status, body, _) = cc(s, &id, &secret, &[]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "", "no scope requested: none granted (Hydra's default)");
    let at = body["access_token"].as_str().unwrap();
    assert!(at.starts_with("ory_at_"));
    let i = introspect(s, at, None);
    assert_eq!(
        (i["active"].as_bool(), i["client_id"].as_str(), i["sub"].as_str()),
        (Some(true), Some(id.as_str()), Some(id.as_str()))
    );
}

#[test]
fn bad_requests_get_precise_errors() {
    let s = shared();
    let (id, secret) = machine_client(s, json!({}));
    let long = "a".repeat(9000);
    for (extra, status, error) in [
        (vec![("scope", "admin")], 400, "invalid_scope"),
        (vec![("scope", "read"), ("scope", "write")], 400, "invalid_request"),
        (vec![("scope", long.as_str())], 400, "invalid_request"),
        (vec![("audience", "https://evil.example")], 400, "invalid_request"),
        (vec![("audience", "https://api.example.evil")], 400, "invalid_request"),
    ] {
        let (st, body, _) = cc(s, &id, &secret, &extra);
        assert_eq!((st, body["error"].as_str()), (status, Some(error)), "{extra:?}: {body}");
    }
    let (st, body, _) = cc(s, &id, "wrong-secret", &[]);
    assert_eq!((st, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    let r = s
        .client()
        .post(s.url("/oauth2/token"))
        .basic_auth(&id, Some("x"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap();
    assert!(r.headers().get("www-authenticate").is_some());
    let (st, body, _) = cc(s, &id, &secret, &[("grant_type", "client_credentials")]);
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_request")), "duplicate grant_type: {body}");
    let r = s
        .client()
        .post(s.url("/oauth2/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "password")])
        .send()
        .unwrap();
    assert_eq!(json_of(r).1["error"], "unsupported_grant_type");

    let (other, other_secret) =
        machine_client(s, json!({"grant_types": ["authorization_code"], "redirect_uris": ["https://rp.example/cb"]}));
    let (st, body, _) = cc(s, &other, &other_secret, &[]);
    assert_eq!((st, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");
    let (public, _) = machine_client(s, json!({"token_endpoint_auth_method": "none"}));
    let r = s
        .client()
        .post(s.url("/oauth2/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", public.as_str())])
        .send()
        .unwrap();
    let (st, body) = json_of(r);
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_grant")), "public clients cannot: {body}");
    let rows = s.d1(&format!("SELECT COUNT(*) AS n FROM tokens WHERE client_id IN ('{id}', '{other}', '{public}')"));
    assert_eq!(rows[0]["n"], 0);
}

#[test]
fn write_free_jwts_can_still_be_revoked() {
    let s = shared();
    let (id, secret) = machine_client(s, json!({"access_token_strategy": "jwt"}));
    let (other, other_secret) = machine_client(s, json!({"access_token_strategy": "jwt"}));
    let token = |id: &str, secret: &str| {
        cc(s, id, secret, &[("scope", "read")]).1["access_token"].as_str().unwrap().to_string()
    };
    let (a, b) = (token(&id, &secret), token(&id, &secret));
    // Another client cannot revoke it (200, nothing happens); the owner can.
    assert_eq!(revoke(s, &other, &other_secret, &a), 200);
    assert!(active(s, &a));
    assert_eq!(revoke(s, &id, &secret, &a), 200);
    assert!(!active(s, &a), "revoked by jti");
    assert!(active(s, &b), "only that token");

    // DELETE /admin/oauth2/tokens: every access token of the client, JWT and opaque.
    let o = token(&other, &other_secret);
    let (opaque_id, opaque_secret) = machine_client(s, json!({}));
    let opaque = token(&opaque_id, &opaque_secret);
    for client in [&id, &opaque_id] {
        let r = s.admin(Method::DELETE, &format!("/admin/oauth2/tokens?client_id={client}")).send().unwrap();
        assert_eq!(r.status(), 204);
    }
    assert!(!active(s, &b) && !active(s, &opaque));
    assert!(active(s, &o), "other clients are untouched");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(active(s, &token(&id, &secret)), "tokens issued afterwards are active");
    let (status, body) = json_of(s.admin(Method::DELETE, "/admin/oauth2/tokens").send().unwrap());
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    assert_eq!(s.client().delete(s.url(&format!("/admin/oauth2/tokens?client_id={id}"))).send().unwrap().status(), 401);
}
