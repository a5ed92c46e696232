//! JOSE helpers for tests: P-256 client keys, their public JWKs, and `private_key_jwt` client
//! assertions signed with them (or forged in the ways the attack tests need).
#![allow(dead_code)]

use p256::ecdsa::signature::Signer;
use serde_json::{json, Value};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64json(v: &Value) -> String {
    b64url(&serde_json::to_vec(v).unwrap())
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A deterministic P-256 key (`seed` must be a valid scalar byte, e.g. 1..=200).
pub struct EcKey {
    pub signing: p256::ecdsa::SigningKey,
    pub kid: String,
}

impl EcKey {
    pub fn new(seed: u8, kid: &str) -> EcKey {
        let secret = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
        EcKey { signing: p256::ecdsa::SigningKey::from(secret), kid: kid.to_string() }
    }

    /// The public JWK (`use: sig`, `alg: ES256`).
    pub fn jwk(&self) -> Value {
        let point = self.signing.verifying_key().to_encoded_point(false);
        json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
               "x": b64url(point.x().unwrap()), "y": b64url(point.y().unwrap())})
    }

    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// Sign `header.claims` with ES256 (raw R||S).
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64json(header), b64json(claims));
        let sig: p256::ecdsa::Signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", b64url(&sig.to_bytes()))
    }

    /// A client assertion for `client_id` at `aud`, valid for `exp_in` seconds.
    pub fn assertion(&self, client_id: &str, aud: &str, jti: &str, exp_in: i64) -> String {
        self.sign(
            &json!({"alg": "ES256", "kid": self.kid, "typ": "JWT"}),
            &assertion_claims(client_id, aud, jti, exp_in),
        )
    }
}

pub fn assertion_claims(client_id: &str, aud: &str, jti: &str, exp_in: i64) -> Value {
    let now = now();
    json!({"iss": client_id, "sub": client_id, "aud": aud, "jti": jti, "iat": now, "exp": now + exp_in})
}

/// An unsigned token (`alg: none`).
pub fn unsigned(claims: &Value) -> String {
    format!("{}.{}.", b64json(&json!({"alg": "none", "typ": "JWT"})), b64json(claims))
}

/// HS256 over `header.claims` keyed with `key` (algorithm-confusion attacks).
pub fn hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
    use hmac::Mac;
    let input = format!("{}.{}", b64json(header), b64json(claims));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64url(&mac.finalize().into_bytes()))
}

/// The ECDSA twin of an ES256 JWT: the same `r` with `n - s`, a second valid signature of the
/// same token (signature malleability). Revocation must not be keyed by the signature's bytes.
pub fn es256_twin(jwt: &str) -> String {
    use base64::Engine;
    use p256::elliptic_curve::PrimeField;
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig).unwrap();
    assert_eq!(sig.len(), 64, "an ES256 signature");
    let s = p256::Scalar::from_repr(p256::FieldBytes::clone_from_slice(&sig[32..])).unwrap();
    let mut twin = sig[..32].to_vec();
    twin.extend_from_slice(&(-s).to_repr());
    format!("{input}.{}", b64url(&twin))
}
