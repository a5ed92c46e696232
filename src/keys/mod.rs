//! JSON Web Keys: generation, validation, public projection and encryption at rest.
//!
//! * `admin.rs`: the `/admin/keys` routes.
//! * `signing.rs`: the signing sets (`hydra.openid.id-token`, `hydra.jwt.access-token`), their
//!   race-free bootstrap, the per-isolate signing-key cache and `/.well-known/jwks.json`.

pub mod admin;
pub mod signing;

use serde_json::{json, Map, Value};

use crate::crypto::{at_rest, b64url, random_bytes};
use crate::store::keys::StoredKey;

/// Algorithms `POST /admin/keys/{set}` generates. ES256 is what the server signs with by default.
pub const GENERATABLE_ALGS: &[&str] = &["ES256", "ES512", "RS256", "HS256", "HS512"];

/// Algorithms the server can sign tokens with (through WebCrypto).
pub const SIGNING_ALGS: &[&str] = &["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];

/// Private JWK members: never published, never logged, encrypted at rest.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A fresh P-256 key pair as a private JWK.
pub fn generate_es256(kid: &str, use_: &str) -> Value {
    // A uniformly random scalar; the rare out-of-range draw (about 2^-32) is retried.
    let sk = loop {
        if let Ok(sk) = p256::SecretKey::from_slice(&random_bytes::<32>()) {
            break sk;
        }
    };
    let ec: jose_jwk::Ec = (&sk).into();
    let mut jwk = serde_json::to_value(jose_jwk::Key::Ec(ec)).expect("serialisable");
    annotate(&mut jwk, kid, "ES256", use_);
    jwk
}

/// A fresh HMAC key (32 bytes for HS256, 64 for HS512).
pub fn generate_hmac(alg: &str, kid: &str, use_: &str) -> Value {
    let k = if alg == "HS512" { random_bytes::<64>().to_vec() } else { random_bytes::<32>().to_vec() };
    let mut jwk = json!({ "kty": "oct", "k": b64url(&k) });
    annotate(&mut jwk, kid, alg, use_);
    jwk
}

pub fn annotate(jwk: &mut Value, kid: &str, alg: &str, use_: &str) {
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(alg);
    jwk["use"] = json!(use_);
}

/// Check a JWK supplied through the admin API: known key type with well-formed members, a `kid`,
/// and no private part without its public part. Returns a message for the 400 body.
pub fn validate(jwk: &Value) -> Result<(), String> {
    let obj = jwk.as_object().ok_or("a JSON Web Key must be a JSON object")?;
    let kid = obj.get("kid").and_then(Value::as_str).unwrap_or("");
    if kid.is_empty() {
        return Err("the JSON Web Key is missing its \"kid\"".into());
    }
    if kid.len() > 255 {
        return Err("the \"kid\" must not be longer than 255 characters".into());
    }
    for member in ["alg", "use"] {
        if let Some(v) = obj.get(member) {
            if !v.is_string() {
                return Err(format!("\"{member}\" must be a string"));
            }
        }
    }
    let kty = obj.get("kty").and_then(Value::as_str).ok_or("the JSON Web Key is missing its \"kty\"")?;
    let required_public: &[&str] = match kty {
        "EC" => &["crv", "x", "y"],
        "RSA" => &["n", "e"],
        "OKP" => &["crv", "x"],
        "oct" => &["k"],
        other => return Err(format!("unsupported key type \"{other}\"")),
    };
    for m in required_public {
        if obj.get(*m).and_then(Value::as_str).map(str::is_empty).unwrap_or(true) {
            if obj.contains_key("d") && kty != "oct" {
                return Err(format!("the private key is missing its public part \"{m}\""));
            }
            return Err(format!("the {kty} key is missing \"{m}\""));
        }
    }
    let key: jose_jwk::Key =
        serde_json::from_value(jwk.clone()).map_err(|e| format!("the JSON Web Key is malformed: {e}"))?;
    if let jose_jwk::Key::Ec(ec) = &key {
        if ec.crv == jose_jwk::EcCurves::P256 {
            let public = p256::PublicKey::try_from(ec).map_err(|_| "the EC public key is not a valid P-256 point")?;
            if ec.d.is_some() {
                let secret = p256::SecretKey::try_from(ec).map_err(|_| "the EC private key is invalid")?;
                if secret.public_key() != public {
                    return Err("the EC private key does not match its public part".into());
                }
            }
        }
    }
    if let Some(alg) = obj.get("alg").and_then(Value::as_str) {
        let fits = match kty {
            "EC" => alg.starts_with("ES"),
            "RSA" => alg.starts_with("RS") || alg.starts_with("PS") || alg.starts_with("RSA"),
            "oct" => alg.starts_with("HS") || alg.starts_with('A') || alg == "dir",
            "OKP" => alg == "EdDSA" || alg.starts_with("ECDH"),
            _ => false,
        };
        if !fits {
            return Err(format!("the algorithm \"{alg}\" does not fit a key of type \"{kty}\""));
        }
    }
    Ok(())
}

/// The public part of a JWK; `None` for symmetric keys, which have none.
pub fn public_part(jwk: &Value) -> Option<Value> {
    let obj = jwk.as_object()?;
    if obj.get("kty").and_then(Value::as_str) == Some("oct") {
        return None;
    }
    let public: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !PRIVATE_MEMBERS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(Value::Object(public))
}

pub fn has_private_part(jwk: &Value) -> bool {
    PRIVATE_MEMBERS.iter().any(|m| jwk.get(*m).is_some())
}

/// The algorithm this key signs tokens with, if it is an asymmetric private key we can use.
pub fn signing_alg(jwk: &Value) -> Option<String> {
    let kty = jwk.get("kty")?.as_str()?;
    jwk.get("d")?;
    let alg = match jwk.get("alg").and_then(Value::as_str) {
        Some(a) => a.to_string(),
        None => match (kty, jwk.get("crv").and_then(Value::as_str)) {
            ("EC", Some("P-256")) => "ES256".into(),
            ("EC", Some("P-384")) => "ES384".into(),
            ("EC", Some("P-521")) => "ES512".into(),
            ("RSA", _) => "RS256".into(),
            _ => return None,
        },
    };
    SIGNING_ALGS.contains(&alg.as_str()).then_some(alg)
}

pub fn kid_of(jwk: &Value) -> String {
    jwk.get("kid").and_then(Value::as_str).unwrap_or("").to_string()
}

/// Prepare a validated private JWK for storage: public part in clear, the whole key encrypted.
pub fn to_stored(secret: &str, jwk: &Value, now: i64) -> StoredKey {
    StoredKey {
        kid: kid_of(jwk),
        public_jwk: public_part(jwk).map(|v| v.to_string()),
        private_enc: at_rest::encrypt(secret, jwk.to_string().as_bytes()),
        created_at: now,
    }
}

/// Decrypt a stored key. `None` if no configured secret opens it (a rotated-away secret).
pub fn from_stored(secrets: &[String], stored: &StoredKey) -> Option<Value> {
    let plain = at_rest::decrypt(secrets, &stored.private_enc)?;
    serde_json::from_slice(&plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_es256_is_valid_and_webcrypto_shaped() {
        let jwk = generate_es256("k1", "sig");
        assert_eq!(validate(&jwk), Ok(()));
        let public = public_part(&jwk).unwrap();
        for m in ["kid", "alg", "use", "kty", "crv", "x", "y"] {
            assert!(public.get(m).is_some(), "missing {m}");
        }
        assert!(public.get("d").is_none());
        assert_eq!(public["crv"], "P-256");
        assert_eq!(public["x"].as_str().unwrap().len(), 43);
        assert_eq!(signing_alg(&jwk).as_deref(), Some("ES256"));
        assert_eq!(signing_alg(&public), None);
    }

    #[test]
    fn hmac_keys_have_no_public_part() {
        let jwk = generate_hmac("HS512", "h", "sig");
        assert_eq!(validate(&jwk), Ok(()));
        assert_eq!(crate::crypto::b64url_decode(jwk["k"].as_str().unwrap()).unwrap().len(), 64);
        assert!(public_part(&jwk).is_none());
        assert_eq!(signing_alg(&jwk), None);
    }

    #[test]
    fn rejects_bad_keys() {
        let mut no_public = generate_es256("k", "sig");
        no_public.as_object_mut().unwrap().remove("x");
        assert!(validate(&no_public).unwrap_err().contains("missing its public part"));

        let mut mismatched = generate_es256("k", "sig");
        mismatched["d"] = generate_es256("k2", "sig")["d"].clone();
        assert!(validate(&mismatched).unwrap_err().contains("does not match"));

        let mut off_curve = generate_es256("k", "sig");
        off_curve["y"] = off_curve["x"].clone();
        assert!(validate(&off_curve).is_err());

        assert!(validate(&json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"})).unwrap_err().contains("kid"));
        assert!(validate(&json!({"kid": "a", "kty": "XYZ"})).unwrap_err().contains("unsupported"));
        assert!(validate(&json!({"kid": "a", "kty": "oct", "k": "***"})).is_err());
        assert!(validate(&json!("string")).is_err());
        let mut wrong_alg = generate_es256("k", "sig");
        wrong_alg["alg"] = json!("RS256");
        assert!(validate(&wrong_alg).is_err());
    }

    #[test]
    fn stored_form_hides_private_material() {
        let jwk = generate_es256("k1", "sig");
        let secret = "0123456789abcdef-secret";
        let stored = to_stored(secret, &jwk, 1);
        assert!(!stored.private_enc.contains(jwk["d"].as_str().unwrap()));
        assert!(!stored.public_jwk.as_ref().unwrap().contains(jwk["d"].as_str().unwrap()));
        assert_eq!(from_stored(&[secret.to_string()], &stored).unwrap(), jwk);
    }
}
