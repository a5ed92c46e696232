//! `/userinfo` end to end with an independent OpenID Connect library: plain JSON claims,
//! signed responses (ES256 and RS256), RS256 ID tokens for clients that ask, and 401 with a
//! `WWW-Authenticate: Bearer` challenge for every failure.

mod common;

use common::oauth::*;
use common::tokens::*;
use common::{json_of, shared, Server};
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{AccessToken, ClientId, ClientSecret, IssuerUrl, Nonce};
use p256::ecdsa::signature::Verifier;
use serde_json::{json, Value};

fn oidc_client(
    s: &Server,
    rp: &Rp,
) -> CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    let metadata = CoreProviderMetadata::discover(&IssuerUrl::new(s.base.clone()).unwrap(), &oidc_http).unwrap();
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.id.clone()),
        Some(ClientSecret::new(rp.secret.clone())),
    )
}

fn get(s: &Server, token: &str) -> reqwest::blocking::Response {
    s.client().get(s.url("/userinfo")).bearer_auth(token).send().unwrap()
}

#[test]
fn an_oidc_library_reads_userinfo() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let t = tokens_via_flow(&rp, "una", "openid offline_access profile");
    let at = t["access_token"].as_str().unwrap();
    let claims: CoreUserInfoClaims = oidc_client(s, &rp)
        .user_info(AccessToken::new(at.into()), None)
        .expect("userinfo endpoint discovered")
        .request(&oidc_http)
        .expect("userinfo answers");
    assert_eq!(claims.subject().as_str(), "una");
    assert_eq!(claims.email().map(|e| e.as_str()), Some("una@example.com"), "the consent's session.id_token claims");

    let id_claims = decode_part(t["id_token"].as_str().unwrap(), 1);
    let r = get(s, at);
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = r.json().unwrap();
    assert_eq!(body["sub"], "una");
    assert_eq!(body["iss"], s.base.as_str());
    assert_eq!(body["aud"], json!([rp.id]));
    assert_eq!(body["auth_time"], id_claims["auth_time"]);
    assert_eq!(body["rat"], id_claims["rat"]);
    for absent in ["nonce", "at_hash", "c_hash", "exp", "sid", "jti"] {
        assert!(body.get(absent).is_none(), "{absent} must not be in userinfo: {body}");
    }
    // POST with the header, and with the token in the form body.
    let r = s.client().post(s.url("/userinfo")).bearer_auth(at).send().unwrap();
    assert_eq!(json_of(r).1["sub"], "una");
    let r = s.client().post(s.url("/userinfo")).form(&[("access_token", at)]).send().unwrap();
    assert_eq!(json_of(r).1["sub"], "una");
    // A machine token has a subject too: its client.
    let (id, secret) = machine_client(s, json!({"access_token_strategy": "jwt"}));
    let (_, cc, _) = token_request(s, &id, &secret, &[("grant_type", "client_credentials")]);
    let (status, body) = json_of(get(s, cc["access_token"].as_str().unwrap()));
    assert_eq!((status, body["sub"].as_str()), (200, Some(id.as_str())), "{body}");
}

#[test]
fn rs256_id_tokens_and_signed_userinfo_for_clients_that_ask() {
    let s = shared();
    let rp = Rp::register(s, json!({"id_token_signed_response_alg": "RS256", "userinfo_signed_response_alg": "RS256"}));
    assert_eq!(rp.client["id_token_signed_response_alg"], "RS256");
    let t = tokens_via_flow(&rp, "vera", "openid offline_access");
    let id_token = t["id_token"].as_str().unwrap();
    assert_eq!(decode_part(id_token, 0)["alg"], "RS256");
    let client = oidc_client(s, &rp);
    let parsed: openidconnect::core::CoreIdToken = id_token.parse().unwrap();
    parsed
        .claims(&client.id_token_verifier(), &Nonce::new("nonce-0123456789".into()))
        .expect("the RS256 ID token verifies with the published RSA key");
    let claims: CoreUserInfoClaims = client
        .user_info(AccessToken::new(t["access_token"].as_str().unwrap().into()), None)
        .unwrap()
        .require_signed_response(true)
        .request(&oidc_http)
        .expect("signed RS256 userinfo verifies");
    assert_eq!(claims.subject().as_str(), "vera");
    let r = get(s, t["access_token"].as_str().unwrap());
    assert_eq!(r.headers()["content-type"], "application/jwt");

    // ES256 stays the default for everyone else; discovery lists both.
    let plain = Rp::register(s, json!({}));
    let t = tokens_via_flow(&plain, "vera", "openid");
    assert_eq!(decode_part(t["id_token"].as_str().unwrap(), 0)["alg"], "ES256");
    let (_, doc) = json_of(s.client().get(s.url("/.well-known/openid-configuration")).send().unwrap());
    assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["ES256", "RS256"]));
    assert_eq!(doc["userinfo_signing_alg_values_supported"], json!(["none", "ES256", "RS256"]));
    assert_eq!(doc["userinfo_endpoint"], s.url("/userinfo"));

    // ES256-signed userinfo, checked with the p256 crate against the JWKS.
    let es = Rp::register(s, json!({"userinfo_signed_response_alg": "ES256"}));
    let t = tokens_via_flow(&es, "wil", "openid");
    let r = get(s, t["access_token"].as_str().unwrap());
    assert_eq!(r.headers()["content-type"], "application/jwt");
    let jwt = r.text().unwrap();
    let header = decode_part(&jwt, 0);
    assert_eq!(header["alg"], "ES256");
    let claims = decode_part(&jwt, 1);
    assert_eq!((claims["sub"].as_str(), claims["iss"].as_str()), (Some("wil"), Some(s.base.as_str())));
    assert!(claims["jti"].is_string() && claims["iat"].is_i64());
    let (_, jwks) = json_of(s.client().get(s.url("/.well-known/jwks.json")).send().unwrap());
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header["kid"]).unwrap().clone();
    let d = |v: &Value| {
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v.as_str().unwrap()).unwrap()
    };
    let mut sec1 = vec![4u8];
    sec1.extend(d(&jwk["x"]));
    sec1.extend(d(&jwk["y"]));
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&d(&json!(sig))).unwrap();
    key.verify(input.as_bytes(), &sig).expect("ES256 userinfo verifies");
}

#[test]
fn failures_are_401_with_a_bearer_challenge() {
    let s = shared();
    let rp = Rp::register(s, json!({}));
    let t = tokens_via_flow(&rp, "xena", "openid offline_access");
    let at = t["access_token"].as_str().unwrap();
    let revoked = tokens_via_flow(&rp, "xena", "openid offline_access");
    assert_eq!(revoke(s, &rp.id, &rp.secret, revoked["access_token"].as_str().unwrap()), 200);
    let check = |r: reqwest::blocking::Response, what: &str| -> Value {
        assert_eq!(r.status(), 401, "{what}");
        let challenge = r
            .headers()
            .get("www-authenticate")
            .unwrap_or_else(|| panic!("{what}: no challenge"))
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.starts_with("Bearer error=\"invalid_token\",error_description=\""), "{what}: {challenge}");
        let (_, body) = json_of(r);
        assert_eq!(body["error"], "invalid_token", "{what}");
        body
    };
    check(s.client().get(s.url("/userinfo")).send().unwrap(), "no token");
    check(get(s, "garbage"), "garbage");
    check(get(s, revoked["access_token"].as_str().unwrap()), "revoked");
    check(get(s, t["id_token"].as_str().unwrap()), "an ID token is not an access token");
    let body = check(get(s, t["refresh_token"].as_str().unwrap()), "refresh token");
    assert!(body["error_description"].as_str().unwrap().contains("Only access tokens"), "{body}");
    check(
        s.client().post(s.url("/userinfo")).bearer_auth(at).form(&[("access_token", at)]).send().unwrap(),
        "header and body",
    );
    check(
        s.client().post(s.url("/userinfo")).form(&[("access_token", at), ("access_token", at)]).send().unwrap(),
        "duplicate",
    );
    assert_eq!(get(s, at).status(), 200, "the good token still works");
}
