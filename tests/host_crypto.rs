//! The host platform's crypto gives WebCrypto's results: known answers produced by WebCrypto
//! (tests/vectors/webcrypto.json, from tests/vectors/webcrypto.mjs) verify, are reproduced where
//! the algorithm is deterministic, and keys and signatures have WebCrypto's shapes.

use hydra_edge::crypto::{b64url_decode, hex, hmac_sha256};
use hydra_edge::host::{block_on, World};
use hydra_edge::platform::{Platform, SigningKey};
use serde_json::{json, Value};

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/webcrypto.json")).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn key(v: &Value) -> SigningKey {
    SigningKey { kid: "k".into(), alg: v["alg"].as_str().unwrap().into(), jwk: v["jwk"].clone() }
}

#[test]
fn webcrypto_signatures_verify_and_tampering_is_caught() {
    let p = World::new().location("a");
    for v in vectors()["signatures"].as_array().unwrap() {
        let alg = v["alg"].as_str().unwrap();
        let msg = v["message"].as_str().unwrap().as_bytes();
        let sig = b64url_decode(v["signature"].as_str().unwrap()).unwrap();
        assert!(block_on(p.verify(&v["jwk"], alg, msg, &sig)).unwrap(), "{alg}: WebCrypto's signature");
        assert!(!block_on(p.verify(&v["jwk"], alg, b"other message", &sig)).unwrap(), "{alg}: other message");
        let mut flipped = sig.clone();
        flipped[5] ^= 1;
        assert!(!block_on(p.verify(&v["jwk"], alg, msg, &flipped)).unwrap(), "{alg}: flipped bit");
        // Wrong shapes are a plain `false`, as in WebCrypto (never an error, never a panic).
        for bad in [vec![], vec![0u8; sig.len()], sig[..sig.len() - 1].to_vec()] {
            assert!(!block_on(p.verify(&v["jwk"], alg, msg, &bad)).unwrap(), "{alg}: {} bytes", bad.len());
        }
    }
}

#[test]
fn host_signatures_have_webcrypto_shapes_and_rs256_is_byte_identical() {
    let p = World::new().location("a");
    for v in vectors()["signatures"].as_array().unwrap() {
        let alg = v["alg"].as_str().unwrap();
        let msg = v["message"].as_str().unwrap().as_bytes();
        let theirs = b64url_decode(v["signature"].as_str().unwrap()).unwrap();
        let ours = block_on(p.sign(&key(v), msg)).unwrap();
        assert_eq!(ours.len(), theirs.len(), "{alg}: signature length");
        assert!(block_on(p.verify(&v["jwk"], alg, msg, &ours)).unwrap(), "{alg}: own signature verifies");
        if alg == "RS256" {
            // RSASSA-PKCS1-v1_5 is deterministic: the very same bytes.
            assert_eq!(ours, theirs);
        }
    }
}

#[test]
fn pbkdf2_and_hmac_match_webcrypto() {
    let p = World::new().location("a");
    let v = vectors();
    for t in v["pbkdf2"].as_array().unwrap() {
        let out = block_on(p.pbkdf2_sha256(
            t["password"].as_str().unwrap().as_bytes(),
            &unhex(t["salt_hex"].as_str().unwrap()),
            t["iterations"].as_u64().unwrap() as u32,
        ))
        .unwrap();
        assert_eq!(hex(&out), t["key_hex"].as_str().unwrap(), "{t}");
    }
    for t in v["hmac"].as_array().unwrap() {
        let mac = hmac_sha256(&unhex(t["key_hex"].as_str().unwrap()), t["data"].as_str().unwrap().as_bytes());
        assert_eq!(hex(&mac), t["mac_hex"].as_str().unwrap());
    }
}

#[test]
fn generated_keys_look_like_webcrypto_exports_and_sign() {
    let p = World::new().location("a");
    for v in vectors()["signatures"].as_array().unwrap() {
        let alg = v["alg"].as_str().unwrap();
        if alg != "RS256" && alg != "ES512" {
            continue;
        }
        let jwk = block_on(p.generate_jwk(alg)).unwrap();
        let mut ours: Vec<&String> = jwk.as_object().unwrap().keys().collect();
        let mut theirs: Vec<&String> = v["jwk"].as_object().unwrap().keys().collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{alg}: members of the exported JWK");
        // Fixed-length members (an RSA `d` may be shorter by its leading zero bytes).
        for m in ["n", "x", "y", "d"] {
            if let Some(s) = v["jwk"][m].as_str().filter(|_| !(alg == "RS256" && m == "d")) {
                assert_eq!(jwk[m].as_str().unwrap().len(), s.len(), "{alg}: length of {m}");
            }
        }
        let k = SigningKey { kid: "g".into(), alg: alg.into(), jwk: jwk.clone() };
        let sig = block_on(p.sign(&k, b"x.y")).unwrap();
        assert!(block_on(p.verify(&jwk, alg, b"x.y", &sig)).unwrap());
    }
    // ES256 keys too come from WebCrypto in the Worker (glue.mjs): a P-256 JWK that signs.
    let jwk = block_on(p.generate_jwk("ES256")).unwrap();
    assert_eq!((jwk["kty"].as_str(), jwk["crv"].as_str()), (Some("EC"), Some("P-256")));
    assert_eq!(block_on(p.check_jwk(&jwk)).unwrap(), Ok(()));
    let k = SigningKey { kid: "g".into(), alg: "ES256".into(), jwk: jwk.clone() };
    let sig = block_on(p.sign(&k, b"x.y")).unwrap();
    assert!(block_on(p.verify(&jwk, "ES256", b"x.y", &sig)).unwrap());
    assert!(block_on(p.generate_jwk("PS256")).unwrap_err().0.contains("does not handle"));
}

#[test]
fn imports_follow_webcrypto_rules() {
    let p = World::new().location("a");
    let v = vectors();
    let es256 = v["signatures"][0].clone();
    let rs256 = v["signatures"][2].clone();
    let msg = b"m";
    let sig = [0u8; 64];
    let fails = |jwk: &Value, alg: &str| block_on(p.verify(jwk, alg, msg, &sig)).is_err();
    let mut enc = es256["jwk"].clone();
    enc["use"] = json!("enc");
    assert!(fails(&enc, "ES256"), "use=enc cannot verify");
    let mut ops = es256["jwk"].clone();
    ops["key_ops"] = json!(["sign"]);
    assert!(fails(&ops, "ES256"), "key_ops without verify");
    assert!(fails(&es256["jwk"], "ES512"), "curve mismatch");
    assert!(fails(&es256["jwk"], "RS256"), "key type mismatch");
    assert!(fails(&rs256["jwk"], "RS384"), "RSA key whose alg names another hash");
    assert!(fails(&json!({"kty": "oct", "k": "AAAA"}), "HS256"), "symmetric keys do not verify here");
    let err = block_on(p.verify(&json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}), "ES384", msg, &sig))
        .unwrap_err();
    assert!(err.0.contains("ES384"), "a clear unsupported error: {err}");
}
