//! Compact JWS (JWT) encoding and parsing. Signing and verification themselves go through
//! [`Platform::sign`] / [`Platform::verify`] (WebCrypto in the Worker).

use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::{b64url, b64url_decode};
use crate::platform::{PResult, Platform, SigningKey};

/// Sign `claims` as a JWT with header `{alg, kid, typ}`.
pub async fn sign<P: Platform>(p: &P, key: &SigningKey, typ: &str, claims: &Value) -> PResult<String> {
    let header = json!({ "alg": key.alg, "kid": key.kid, "typ": typ });
    let input = format!(
        "{}.{}",
        b64url(&serde_json::to_vec(&header).expect("json")),
        b64url(&serde_json::to_vec(claims).expect("json"))
    );
    let sig = p.sign(key, input.as_bytes()).await?;
    Ok(format!("{input}.{}", b64url(&sig)))
}

/// A JWS split into its parts. Nothing is verified yet.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub header: Value,
    pub claims: Value,
    pub signing_input: String,
    pub signature: Vec<u8>,
}

/// The longest JWS this server reads (and so issues): beyond it a token is not one of ours, and
/// request headers of common servers and proxies would not carry it anyway.
pub const MAX_JWS_LEN: usize = 16 * 1024;

/// Split and decode a compact JWS. `None` for anything malformed, including JWE (5 parts) and
/// unsigned tokens.
pub fn parse(token: &str) -> Option<Parsed> {
    if token.len() > MAX_JWS_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || s.is_empty() {
        return None;
    }
    let header: Value = crate::ctx::json_from_bytes(&b64url_decode(h)?).ok()?;
    let claims: Value = crate::ctx::json_from_bytes(&b64url_decode(c)?).ok()?;
    // `crit` names extensions the verifier must understand or refuse the token (RFC 7515
    // §4.1.11); this server understands none (not even RFC 7797's unencoded `b64`).
    if !header.is_object() || !claims.is_object() || header.get("crit").is_some() {
        return None;
    }
    // A signature part of padding only (`=`) decodes to nothing: unsigned, refused.
    let signature = b64url_decode(s).filter(|sig| !sig.is_empty())?;
    Some(Parsed { header, claims, signing_input: format!("{h}.{c}"), signature })
}

/// Algorithms this server verifies (asymmetric only: never `none`, never HMAC). Trust keys of
/// the jwt-bearer grant may also verify EdDSA ([`TRUST_ALGS`]).
pub const VERIFY_ALGS: &[&str] = &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

/// [`VERIFY_ALGS`] and EdDSA (Ed25519): what a jwt-bearer trust key may verify.
const TRUST_ALGS: &[&str] = &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/// Does a public key fit the algorithm a JWS header names? The algorithm comes from the header,
/// but only asymmetric ones are accepted, only for a key of their family, and only the key's
/// own `alg` when it names one (no algorithm confusion).
pub fn key_fits(jwk: &Value, alg: &str) -> bool {
    fits(jwk, alg, VERIFY_ALGS)
}

/// [`key_fits`] for a jwt-bearer trust key, which may also be an Ed25519 key verifying EdDSA.
/// Only here: the server's own key sets (admin-imported keys included) never verify EdDSA, and
/// client assertions use their registered algorithm.
pub fn trust_key_fits(jwk: &Value, alg: &str) -> bool {
    fits(jwk, alg, TRUST_ALGS)
}

/// `alg` is one of `algs`, of the key's family, and the key's own `alg` when it names one.
fn fits(jwk: &Value, alg: &str, algs: &[&str]) -> bool {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or("");
    let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or("");
    let family = match kty {
        // The curve is the algorithm's own: ES256 is P-256 only (RFC 7518 §3.4).
        "EC" => matches!((alg, crv), ("ES256", "P-256") | ("ES384", "P-384") | ("ES512", "P-521")),
        "RSA" => alg.starts_with("RS") || alg.starts_with("PS"),
        // Ed25519 only: WebCrypto in workerd has no Ed448.
        "OKP" => alg == "EdDSA" && crv == "Ed25519",
        _ => false,
    };
    let named = jwk.get("alg").and_then(Value::as_str).map(|a| a == alg).unwrap_or(true);
    family && algs.contains(&alg) && named
}

/// A NumericDate claim (`exp`, `iat`, `nbf`) in whole seconds. RFC 7519 §2 allows a fractional
/// value and many clients send one (`time.time()`, `Date.now() / 1000`); it is floored, so an
/// `exp` ends no later than it says. `None` when absent or not a number.
pub fn numeric_date(claims: &Value, name: &str) -> Option<i64> {
    let v = claims.get(name)?;
    v.as_i64().or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f.floor() as i64))
}

/// `at_hash` / `c_hash`: the left half of the hash the signing algorithm uses, base64url.
pub fn half_hash(alg: &str, value: &str) -> String {
    let digest: Vec<u8> = match alg.get(2..) {
        Some("384") => Sha384::digest(value.as_bytes()).to_vec(),
        Some("512") => Sha512::digest(value.as_bytes()).to_vec(),
        _ => Sha256::digest(value.as_bytes()).to_vec(),
    };
    b64url(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_malformed() {
        assert!(parse("a.b").is_none());
        assert!(parse("a.b.c.d.e").is_none());
        assert!(parse("eyJhbGciOiJub25lIn0.e30.").is_none(), "unsigned");
        let ok = format!("{}.{}.{}", b64url(b"{\"alg\":\"ES256\"}"), b64url(b"{\"sub\":\"x\"}"), b64url(b"sig"));
        let p = parse(&ok).unwrap();
        assert_eq!(p.header["alg"], "ES256");
        assert_eq!(p.claims["sub"], "x");
        assert_eq!(p.signature, b"sig");
        // Any critical extension, understood or not, well-formed or not, refuses the token.
        for header in [
            r#"{"alg":"ES256","crit":["b64"],"b64":false}"#,
            r#"{"alg":"ES256","crit":[]}"#,
            r#"{"alg":"ES256","crit":"x"}"#,
        ] {
            let t = format!("{}.{}.{}", b64url(header.as_bytes()), b64url(b"{\"sub\":\"x\"}"), b64url(b"sig"));
            assert!(parse(&t).is_none(), "{header}");
        }
    }

    #[test]
    fn keys_fit_only_their_family() {
        let ec = json!({"kty": "EC", "crv": "P-256"});
        assert!(key_fits(&ec, "ES256"));
        assert!(!key_fits(&ec, "RS256"));
        assert!(!key_fits(&ec, "HS256"));
        assert!(!key_fits(&ec, "none"));
        assert!(!key_fits(&json!({"kty": "oct", "k": "x"}), "HS256"));
        assert!(key_fits(&json!({"kty": "RSA"}), "PS256"));
        assert!(!key_fits(&json!({"kty": "RSA", "alg": "RS256"}), "PS256"));
        // The curve belongs to the algorithm.
        assert!(!key_fits(&ec, "ES384"));
        assert!(key_fits(&json!({"kty": "EC", "crv": "P-521"}), "ES512"));
        // EdDSA: trust keys only, Ed25519 only.
        let ed = json!({"kty": "OKP", "crv": "Ed25519"});
        assert!(!key_fits(&ed, "EdDSA"), "the server's own key sets never verify EdDSA");
        assert!(trust_key_fits(&ed, "EdDSA"));
        assert!(trust_key_fits(&ec, "ES256"));
        assert!(!trust_key_fits(&ed, "ES256"));
        assert!(!trust_key_fits(&json!({"kty": "OKP", "crv": "Ed25519", "alg": "ECDH-ES"}), "EdDSA"));
        assert!(!trust_key_fits(&json!({"kty": "OKP", "crv": "Ed448"}), "EdDSA"));
        assert!(!trust_key_fits(&json!({"kty": "OKP", "crv": "X25519"}), "EdDSA"));
        assert!(!trust_key_fits(&ec, "EdDSA"));
        assert!(!trust_key_fits(&json!({"kty": "RSA"}), "EdDSA"));
        assert!(!key_fits(&json!({"kty": "EC", "crv": "P-384"}), "ES256"));
    }

    #[test]
    fn numeric_dates() {
        let c = json!({"a": 5, "b": 5.9, "c": "5", "d": -1.5, "e": null});
        assert_eq!(numeric_date(&c, "a"), Some(5));
        assert_eq!(numeric_date(&c, "b"), Some(5));
        assert_eq!(numeric_date(&c, "c"), None);
        assert_eq!(numeric_date(&c, "d"), Some(-2));
        assert_eq!(numeric_date(&c, "e"), None);
        assert_eq!(numeric_date(&c, "missing"), None);
    }

    /// Example from OpenID Connect Core (access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y").
    #[test]
    fn at_hash_matches_spec_example() {
        assert_eq!(half_hash("RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"), "77QmUPtjPfzWtF2AnpK9RQ");
    }
}
