//! The jwt-bearer grant (RFC 7523) and Hydra's trust API end to end: create (201), list with
//! pagination and the `issuer` filter, get, delete, with Hydra's errors; every check on the
//! assertion, each failure a precise error and no token.

mod common;

use common::tokens::*;
use common::{json_of, shared, unique, Server};
use p256::ecdsa::signature::Signer;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use reqwest::Method;
use serde_json::{json, Value};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const PATH: &str = "/admin/trust/grants/jwt-bearer/issuers";

struct Idp {
    key: p256::ecdsa::SigningKey,
    jwk: Value,
    issuer: String,
}

fn idp(seed: u8) -> Idp {
    let secret = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
    let point = secret.public_key().to_encoded_point(false);
    let kid = unique("kid");
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
        "x": b64url(point.x().unwrap()), "y": b64url(point.y().unwrap())});
    Idp { key: p256::ecdsa::SigningKey::from(secret), jwk, issuer: format!("https://{}.idp.example", unique("idp")) }
}

fn sign(idp: &Idp, header: Value, claims: &Value) -> String {
    let input =
        format!("{}.{}", b64url(&serde_json::to_vec(&header).unwrap()), b64url(&serde_json::to_vec(claims).unwrap()));
    let sig: p256::ecdsa::Signature = idp.key.sign(input.as_bytes());
    format!("{input}.{}", b64url(&sig.to_bytes()))
}

fn claims(s: &Server, idp: &Idp, sub: &str) -> Value {
    let n = now();
    json!({"iss": idp.issuer, "sub": sub, "aud": s.url("/oauth2/token"), "exp": n + 300, "iat": n, "jti": unique("jti")})
}

fn assertion(s: &Server, idp: &Idp, sub: &str) -> String {
    sign(idp, json!({"alg": "ES256", "kid": idp.jwk["kid"], "typ": "JWT"}), &claims(s, idp, sub))
}

fn trust(s: &Server, body: Value) -> (u16, Value) {
    s.admin_json(Method::POST, PATH, &body)
}

fn trust_for(s: &Server, idp: &Idp, subject: Option<&str>, expires_at: &str) -> Value {
    let mut body =
        json!({"issuer": idp.issuer, "scope": ["read", "photos.*"], "jwk": idp.jwk, "expires_at": expires_at});
    match subject {
        Some(sub) => body["subject"] = json!(sub),
        None => body["allow_any_subject"] = json!(true),
    }
    let (status, t) = trust(s, body);
    assert_eq!(status, 201, "{t}");
    t
}

#[test]
fn the_trust_api_follows_hydra() {
    let s = shared();
    let a = idp(3);
    let r = s
        .admin(Method::POST, PATH)
        .json(&json!({"issuer": a.issuer, "subject": "alice", "scope": ["read"], "jwk": a.jwk, "expires_at": "2040-01-01T00:00:00Z"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let (_, created) = json_of(r);
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("{PATH}/{id}"));
    assert_eq!(id.len(), 36);
    assert_eq!(created["issuer"], a.issuer.as_str());
    assert_eq!(created["subject"], "alice");
    assert_eq!(created["allow_any_subject"], false);
    assert_eq!(created["scope"], json!(["read"]));
    assert_eq!(created["public_key"], json!({"set": a.issuer, "kid": a.jwk["kid"]}));
    assert_eq!(created["expires_at"], "2040-01-01T00:00:00Z");
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let (status, dup) = trust(
        s,
        json!({"issuer": a.issuer, "subject": "alice", "scope": [], "jwk": a.jwk, "expires_at": "2040-01-01T00:00:00Z"}),
    );
    assert_eq!(status, 409, "{dup}");
    let base =
        json!({"issuer": a.issuer, "subject": "bob", "scope": [], "jwk": a.jwk, "expires_at": "2040-01-01T00:00:00Z"});
    for (patch, error) in [
        (json!({"issuer": ""}), "missing_required_parameter"),
        (json!({"subject": ""}), "missing_required_parameter"),
        (json!({"allow_any_subject": true}), "missing_required_parameter"),
        (json!({"expires_at": ""}), "missing_required_parameter"),
        (json!({"jwk": {"kty": "EC", "crv": "P-256", "x": a.jwk["x"], "y": a.jwk["y"]}}), "missing_required_parameter"),
    ] {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, e) = trust(s, body);
        assert_eq!((status, e["error"].as_str()), (400, Some(error)), "{patch}: {e}");
    }
    for patch in [
        json!({"expires_at": "next year"}),
        json!({"jwk": {"kty": "oct", "k": "AAAA", "kid": "h"}}),
        json!({"scope": "read"}),
    ] {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        assert_eq!(trust(s, body).0, 400, "{patch}");
    }
    assert_eq!(s.admin(Method::POST, PATH).body("{").send().unwrap().status(), 400);

    let (status, got) = s.admin_get(&format!("{PATH}/{id}"));
    assert_eq!((status, &got), (200, &created));
    assert_eq!(s.admin_get(&format!("{PATH}/not-a-uuid")).0, 400);
    assert_eq!(s.admin_get(&format!("{PATH}/00000000-0000-4000-8000-000000000000")).0, 404);

    // List: issuer filter and pagination with Link headers.
    trust_for(s, &a, Some("carol"), "2040-01-01T00:00:00Z");
    trust_for(s, &a, None, "2040-01-01T00:00:00Z");
    let (status, all) = s.admin_get(&format!("{PATH}?issuer={}", a.issuer));
    assert_eq!(status, 200);
    assert_eq!(all.as_array().unwrap().len(), 3);
    let r = s.admin(Method::GET, &format!("{PATH}?issuer={}&page_size=2", a.issuer)).send().unwrap();
    let link = r.headers()["link"].to_str().unwrap().to_string();
    assert_eq!(json_of(r).1.as_array().unwrap().len(), 2);
    let next = link.split(',').find(|l| l.contains("rel=\"next\"")).expect("a next page");
    let next_url = next.trim().trim_start_matches('<').split('>').next().unwrap();
    let path = next_url.strip_prefix(&s.base).unwrap();
    let (_, page2) = s.admin_get(path);
    assert_eq!(page2.as_array().unwrap().len(), 1);
    assert_eq!(s.admin_get(&format!("{PATH}?page_token=forged")).0, 400);

    assert_eq!(s.admin(Method::DELETE, &format!("{PATH}/{id}")).send().unwrap().status(), 204);
    assert_eq!(s.admin(Method::DELETE, &format!("{PATH}/{id}")).send().unwrap().status(), 404);
    assert_eq!(s.client().get(s.url(PATH)).send().unwrap().status(), 401, "admin token required");
}

#[test]
fn the_grant_checks_everything_hydra_checks() {
    let s = shared();
    let a = idp(4);
    let stranger = idp(5);
    trust_for(s, &a, Some("alice"), "2040-01-01T00:00:00Z");
    let (id, secret) =
        machine_client(s, json!({"grant_types": ["client_credentials", GRANT], "access_token_strategy": "jwt"}));
    let grant = |assertion: &str, scope: &str| {
        let (status, body, _) =
            token_request(s, &id, &secret, &[("grant_type", GRANT), ("assertion", assertion), ("scope", scope)]);
        (status, body)
    };
    let good = assertion(s, &a, "alice");
    let (status, body) = grant(&good, "read photos.view");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read photos.view");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(decode_part(at, 1)["sub"], "alice");
    assert_eq!(decode_part(at, 1)["aud"], json!([]), "the assertion's audience is not granted");
    let i = introspect(s, at, None);
    assert_eq!(
        (i["active"].as_bool(), i["sub"].as_str(), i["client_id"].as_str()),
        (Some(true), Some("alice"), Some(id.as_str()))
    );
    // The same assertion again: jti_known.
    let (status, body) = grant(&good, "read");
    assert_eq!((status, body["error"].as_str()), (400, Some("jti_known")), "{body}");

    let header = json!({"alg": "ES256", "kid": a.jwk["kid"], "typ": "JWT"});
    let with = |patch: Value| {
        let mut c = claims(s, &a, "alice");
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        sign(&a, header.clone(), &c)
    };
    let n = now();
    let hs_input = format!(
        "{}.{}",
        b64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(&serde_json::to_vec(&claims(s, &a, "alice")).unwrap())
    );
    let hs = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(a.jwk.to_string().as_bytes()).unwrap();
        mac.update(hs_input.as_bytes());
        format!("{hs_input}.{}", b64url(&mac.finalize().into_bytes()))
    };
    let none =
        format!("{}.{}.", b64url(br#"{"alg":"none"}"#), b64url(&serde_json::to_vec(&claims(s, &a, "alice")).unwrap()));
    let (_, cc_token, _) = token_request(s, &id, &secret, &[("grant_type", "client_credentials")]);
    let cases: Vec<(&str, String, &str)> = vec![
        ("no iss", with(json!({"iss": null})), "'iss'"),
        ("no sub", with(json!({"sub": null})), "'sub'"),
        ("untrusted subject", with(json!({"sub": "mallory"})), "No public JWK"),
        ("untrusted issuer", assertion(s, &stranger, "alice"), "No public JWK"),
        ("signed by another key", sign(&stranger, header.clone(), &claims(s, &a, "alice")), "integrity"),
        ("alg none", none, "parse"),
        (
            "a critical extension",
            sign(
                &a,
                json!({"alg": "ES256", "kid": a.jwk["kid"], "crit": ["b64"], "b64": false}),
                &claims(s, &a, "alice"),
            ),
            "parse",
        ),
        ("HS256 keyed with the public key", hs, "integrity"),
        ("no aud", with(json!({"aud": null})), "'aud'"),
        ("foreign aud", with(json!({"aud": "https://other.example/token"})), "intended audience"),
        ("no exp", with(json!({"exp": null})), "'exp'"),
        ("expired", with(json!({"exp": n - 10})), "expired"),
        ("nbf in the future", with(json!({"nbf": n + 600})), "'nbf'"),
        ("no iat", with(json!({"iat": null})), "'iat'"),
        ("exp beyond max_ttl", with(json!({"exp": n + 721 * 3600})), "unreasonably far"),
        ("no jti", with(json!({"jti": null})), "'jti'"),
        ("an access token", cc_token["access_token"].as_str().unwrap().to_string(), ""),
        ("garbage", "a.b.c".into(), "parse"),
        ("oversized", "a".repeat(20_000), "parse"),
    ];
    for (what, assertion, hint) in cases {
        let (status, body) = grant(&assertion, "read");
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{what}: {body}");
        assert!(body["error_description"].as_str().unwrap().contains(hint), "{what}: {body}");
    }
    let (status, body) = grant(&assertion(s, &a, "alice"), "write");
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "scope beyond the trust: {body}");
    let (status, body, _) = token_request(s, &id, &secret, &[("grant_type", GRANT)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    let (plain, plain_secret) = machine_client(s, json!({}));
    let (status, body, _) =
        token_request(s, &plain, &plain_secret, &[("grant_type", GRANT), ("assertion", &assertion(s, &a, "alice"))]);
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");

    // Any-subject trust; an expired trust.
    let b = idp(6);
    trust_for(s, &b, None, "2040-01-01T00:00:00Z");
    let (status, body) = grant(&assertion(s, &b, "anyone"), "read");
    assert_eq!(status, 200, "{body}");
    let c = idp(7);
    trust_for(s, &c, Some("alice"), "2001-01-01T00:00:00Z");
    let (status, body) = grant(&assertion(s, &c, "alice"), "read");
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("expired"), "{body}");
}

#[test]
fn ed25519_trust_keys_verify_eddsa_assertions_and_nothing_else() {
    use ed25519_dalek::Signer as _;
    let s = shared();
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let kid = unique("ed-kid");
    let issuer = format!("https://{}.idp.example", unique("ed"));
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig", "alg": "EdDSA",
        "x": b64url(key.verifying_key().as_bytes())});
    let (status, t) = trust(
        s,
        json!({"issuer": issuer, "subject": "alice", "scope": ["read"], "jwk": jwk, "expires_at": "2040-01-01T00:00:00Z"}),
    );
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["public_key"]["kid"], kid.as_str(), "{t}");
    let (id, secret) = machine_client(s, json!({"grant_types": [GRANT]}));
    let sign_with = |k: &ed25519_dalek::SigningKey, header: Value| {
        let n = now();
        let claims = json!({"iss": issuer, "sub": "alice", "aud": s.url("/oauth2/token"), "exp": n + 300, "iat": n, "jti": unique("jti")});
        let input = format!(
            "{}.{}",
            b64url(&serde_json::to_vec(&header).unwrap()),
            b64url(&serde_json::to_vec(&claims).unwrap())
        );
        format!("{input}.{}", b64url(&k.sign(input.as_bytes()).to_bytes()))
    };
    let grant = |assertion: &str| {
        let (status, body, _) = token_request(s, &id, &secret, &[("grant_type", GRANT), ("assertion", assertion)]);
        (status, body)
    };

    // Verified through workerd's WebCrypto (Ed25519).
    let (status, body) = grant(&sign_with(&key, json!({"alg": "EdDSA", "kid": kid})));
    assert_eq!(status, 200, "{body}");
    assert_eq!(introspect(s, body["access_token"].as_str().unwrap(), None)["sub"], "alice");

    // Another key's signature, a flipped bit, and another algorithm for the same key: refused.
    let other = ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]);
    let mut tampered = sign_with(&key, json!({"alg": "EdDSA", "kid": kid}));
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [
        sign_with(&other, json!({"alg": "EdDSA", "kid": kid})),
        tampered,
        sign_with(&key, json!({"alg": "ES256", "kid": kid})),
        sign_with(&key, json!({"alg": "none", "kid": kid})),
    ] {
        let (status, body) = grant(&bad);
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    }

    // Keys that cannot verify here are refused when the trust is created.
    for (jwk, why) in [
        (json!({"kty": "OKP", "crv": "Ed448", "kid": "k448", "x": b64url(&[1u8; 57])}), "Ed448"),
        (json!({"kty": "OKP", "crv": "X25519", "kid": "kx", "x": b64url(&[1u8; 32])}), "X25519"),
    ] {
        let (status, e) = trust(
            s,
            json!({"issuer": issuer, "subject": "bob", "scope": ["read"], "jwk": jwk, "expires_at": "2040-01-01T00:00:00Z"}),
        );
        assert_eq!(status, 400, "{why}: {e}");
    }
}
