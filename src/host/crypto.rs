//! WebCrypto's signature algorithms, PBKDF2 and key generation in Rust, giving what
//! `src/worker/crypto.rs` gets from workerd: the same signature formats (ECDSA as `r||s`,
//! RSASSA-PKCS1-v1_5 and RSA-PSS with the hash's length as salt), the same JWK import rules
//! (key type and curve must fit the algorithm; `use`, `key_ops` and an RSA key's `alg` are
//! checked), the same exported JWKs. ES384 has no host implementation: it fails clearly.

use rsa::rand_core::{CryptoRng, RngCore};
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer, Verifier};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::BigUint;
use serde_json::{json, Value};
use sha2::{Sha256, Sha384, Sha512};

use crate::crypto::{b64url, b64url_decode};
use crate::platform::SigningKey;

/// The platform's CSPRNG as the `rand_core` the RSA and P-521 crates take.
struct HostRng;

impl RngCore for HostRng {
    fn next_u32(&mut self) -> u32 {
        u32::from_le_bytes(crate::crypto::random_bytes::<4>())
    }
    fn next_u64(&mut self) -> u64 {
        u64::from_le_bytes(crate::crypto::random_bytes::<8>())
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        getrandom::getrandom(dest).expect("entropy");
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for HostRng {}

type R<T> = Result<T, String>;

fn member(jwk: &Value, name: &str) -> R<Vec<u8>> {
    jwk.get(name)
        .and_then(Value::as_str)
        .and_then(b64url_decode)
        .ok_or_else(|| format!("DataError: the JWK's \"{name}\" is missing or not base64url"))
}

fn big(jwk: &Value, name: &str) -> R<BigUint> {
    Ok(BigUint::from_bytes_be(&member(jwk, name)?))
}

/// WebCrypto's checks when importing a JWK for `usage` under a JWS algorithm.
fn check_import(jwk: &Value, alg: &str, usage: &str) -> R<()> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or("");
    let want_kty = match &alg[..2.min(alg.len())] {
        "ES" => "EC",
        "RS" | "PS" => "RSA",
        "Ed" if alg == "EdDSA" => "OKP",
        _ => return Err(format!("NotSupportedError: unsupported JWS algorithm {alg}")),
    };
    if kty != want_kty {
        return Err(format!("DataError: a {kty:?} key cannot be imported for {alg}"));
    }
    if let Some(u) = jwk.get("use").and_then(Value::as_str) {
        if u != "sig" {
            return Err("DataError: the JWK's \"use\" is not \"sig\"".into());
        }
    }
    if let Some(ops) = jwk.get("key_ops").and_then(Value::as_array) {
        if !ops.iter().any(|o| o == usage) {
            return Err(format!("DataError: the JWK's \"key_ops\" do not allow {usage}"));
        }
    }
    if let Some(a) = jwk.get("alg").and_then(Value::as_str) {
        if a != alg {
            return Err(format!("DataError: the JWK's \"alg\" {a} does not match {alg}"));
        }
    }
    if want_kty == "EC" {
        let crv = match alg {
            "ES256" => "P-256",
            "ES384" => "P-384",
            _ => "P-521",
        };
        if jwk.get("crv").and_then(Value::as_str) != Some(crv) {
            return Err(format!("DataError: {alg} needs a {crv} key"));
        }
    }
    Ok(())
}

fn ec_point(jwk: &Value, len: usize) -> R<Vec<u8>> {
    let (x, y) = (member(jwk, "x")?, member(jwk, "y")?);
    if x.len() != len || y.len() != len {
        return Err("DataError: the EC coordinates have the wrong length".into());
    }
    Ok([&[4u8][..], &x, &y].concat())
}

fn rsa_public(jwk: &Value) -> R<rsa::RsaPublicKey> {
    rsa::RsaPublicKey::new(big(jwk, "n")?, big(jwk, "e")?).map_err(|e| format!("DataError: {e}"))
}

fn rsa_private(jwk: &Value) -> R<rsa::RsaPrivateKey> {
    let primes = vec![big(jwk, "p")?, big(jwk, "q")?];
    rsa::RsaPrivateKey::from_components(big(jwk, "n")?, big(jwk, "e")?, big(jwk, "d")?, primes)
        .map_err(|e| format!("DataError: {e}"))
}

pub fn sign(key: &SigningKey, input: &[u8]) -> R<Vec<u8>> {
    let jwk = &key.jwk;
    check_import(jwk, &key.alg, "sign")?;
    let d = member(jwk, "d")?;
    match key.alg.as_str() {
        "ES256" => {
            let k = p256::ecdsa::SigningKey::from_slice(&d).map_err(|e| format!("DataError: {e}"))?;
            let s: p256::ecdsa::Signature = k.sign(input);
            Ok(s.to_bytes().to_vec())
        }
        "ES512" => {
            let k = p521::ecdsa::SigningKey::from_slice(&d).map_err(|e| format!("DataError: {e}"))?;
            let s: p521::ecdsa::Signature = k.sign(input);
            Ok(s.to_bytes().to_vec())
        }
        "RS256" => Ok(rsa::pkcs1v15::SigningKey::<Sha256>::new(rsa_private(jwk)?).sign(input).to_vec()),
        "RS384" => Ok(rsa::pkcs1v15::SigningKey::<Sha384>::new(rsa_private(jwk)?).sign(input).to_vec()),
        "RS512" => Ok(rsa::pkcs1v15::SigningKey::<Sha512>::new(rsa_private(jwk)?).sign(input).to_vec()),
        "PS256" => {
            Ok(rsa::pss::SigningKey::<Sha256>::new(rsa_private(jwk)?).sign_with_rng(&mut HostRng, input).to_vec())
        }
        "PS384" => {
            Ok(rsa::pss::SigningKey::<Sha384>::new(rsa_private(jwk)?).sign_with_rng(&mut HostRng, input).to_vec())
        }
        "PS512" => {
            Ok(rsa::pss::SigningKey::<Sha512>::new(rsa_private(jwk)?).sign_with_rng(&mut HostRng, input).to_vec())
        }
        other => Err(format!("NotSupportedError: the host platform does not sign with {other}")),
    }
}

pub fn verify(jwk: &Value, alg: &str, input: &[u8], signature: &[u8]) -> R<bool> {
    // As in the Worker: only the public part is imported; symmetric keys cannot verify here.
    let public = crate::keys::public_part(jwk).ok_or("symmetric keys cannot verify signatures here")?;
    check_import(&public, alg, "verify")?;
    Ok(match alg {
        "ES256" => {
            let k = p256::ecdsa::VerifyingKey::from_sec1_bytes(&ec_point(&public, 32)?)
                .map_err(|e| format!("DataError: {e}"))?;
            // WebCrypto answers false (not an error) for a signature of the wrong shape.
            p256::ecdsa::Signature::from_slice(signature).map(|s| k.verify(input, &s).is_ok()).unwrap_or(false)
        }
        "ES512" => {
            let k = p521::ecdsa::VerifyingKey::from_sec1_bytes(&ec_point(&public, 66)?)
                .map_err(|e| format!("DataError: {e}"))?;
            p521::ecdsa::Signature::from_slice(signature).map(|s| k.verify(input, &s).is_ok()).unwrap_or(false)
        }
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => {
            let pk = rsa_public(&public)?;
            let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature) else { return Ok(false) };
            let pss = rsa::pss::Signature::try_from(signature).map_err(|e| e.to_string())?;
            match alg {
                "RS256" => rsa::pkcs1v15::VerifyingKey::<Sha256>::new(pk).verify(input, &sig).is_ok(),
                "RS384" => rsa::pkcs1v15::VerifyingKey::<Sha384>::new(pk).verify(input, &sig).is_ok(),
                "RS512" => rsa::pkcs1v15::VerifyingKey::<Sha512>::new(pk).verify(input, &sig).is_ok(),
                "PS256" => rsa::pss::VerifyingKey::<Sha256>::new(pk).verify(input, &pss).is_ok(),
                "PS384" => rsa::pss::VerifyingKey::<Sha384>::new(pk).verify(input, &pss).is_ok(),
                _ => rsa::pss::VerifyingKey::<Sha512>::new(pk).verify(input, &pss).is_ok(),
            }
        }
        "EdDSA" => {
            // WebCrypto imports only Ed25519 under this name (Ed448 is not in workerd).
            if public.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                return Err("DataError: an OKP key for EdDSA must be on Ed25519".into());
            }
            let x: [u8; 32] = member(&public, "x")?.try_into().map_err(|_| "DataError: bad Ed25519 key length")?;
            let k = ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|e| format!("DataError: {e}"))?;
            // workerd throws for a signature that is not 64 bytes; BoringSSL's check is the
            // plain (cofactorless) one, as dalek's `verify`.
            let sig = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| "OperationError: an Ed25519 signature is 64 bytes".to_string())?;
            ed25519_dalek::Verifier::verify(&k, input, &sig).is_ok()
        }
        other => return Err(format!("NotSupportedError: the host platform does not verify {other}")),
    })
}

/// PBKDF2-HMAC-SHA256 with a 32-byte output (one block), written over SHA-256's block function:
/// the generic `pbkdf2` crate would be compiled unoptimised into this crate's test builds (about
/// 170 ms per 25,000 iterations), `sha2::compress256` is optimised in its own crate.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    use sha2::digest::generic_array::GenericArray;
    const IV: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let key = if password.len() > 64 { crate::crypto::sha256(password).to_vec() } else { password.to_vec() };
    let (mut ipad, mut opad) = ([0x36u8; 64], [0x5cu8; 64]);
    for (i, b) in key.iter().enumerate() {
        ipad[i] ^= b;
        opad[i] ^= b;
    }
    let keyed = |pad: &[u8; 64]| {
        let mut st = IV;
        sha2::compress256(&mut st, &[*GenericArray::from_slice(pad)]);
        st
    };
    let (inner, outer) = (keyed(&ipad), keyed(&opad));
    // One block holding a 32-byte message that follows the 64-byte keyed pad: the message, the
    // 0x80 terminator, and the total length (96 bytes = 768 bits).
    let mut block = [0u8; 64];
    block[32] = 0x80;
    block[62..].copy_from_slice(&768u16.to_be_bytes());
    let hash_after = |start: [u32; 8], msg: &[u8; 32], block: &mut [u8; 64]| {
        block[..32].copy_from_slice(msg);
        let mut st = start;
        sha2::compress256(&mut st, &[*GenericArray::from_slice(&block[..])]);
        let mut out = [0u8; 32];
        for (i, w) in st.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
        }
        out
    };
    let mut u = crate::crypto::hmac_sha256(password, &[salt, &1u32.to_be_bytes()].concat());
    let mut t = u;
    for _ in 1..iterations {
        let ih = hash_after(inner, &u, &mut block);
        u = hash_after(outer, &ih, &mut block);
        for (a, b) in t.iter_mut().zip(u.iter()) {
            *a ^= b;
        }
    }
    t
}

/// A private JWK as WebCrypto exports it (without `key_ops` and `ext`, which the Worker drops).
pub fn generate_jwk(alg: &str) -> R<Value> {
    match alg {
        "RS256" => {
            let k = rsa::RsaPrivateKey::new(&mut HostRng, 2048).map_err(|e| e.to_string())?;
            let b = |n: &BigUint| b64url(&n.to_bytes_be());
            let primes = k.primes();
            Ok(json!({
                "kty": "RSA",
                "alg": "RS256",
                "n": b(k.n()),
                "e": b(k.e()),
                "d": b(k.d()),
                "p": b(&primes[0]),
                "q": b(&primes[1]),
                "dp": b(k.dp().ok_or("no CRT values")?),
                "dq": b(k.dq().ok_or("no CRT values")?),
                "qi": b(&k.crt_coefficient().ok_or("no CRT values")?),
            }))
        }
        "ES256" => {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            let sk = p256::SecretKey::random(&mut HostRng);
            let point = sk.public_key().to_encoded_point(false);
            let (x, y) = (point.x().ok_or("identity point")?, point.y().ok_or("identity point")?);
            Ok(json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64url(x),
                "y": b64url(y),
                "d": b64url(&sk.to_bytes()),
            }))
        }
        "ES512" => {
            use p521::elliptic_curve::sec1::ToEncodedPoint;
            let sk = p521::SecretKey::random(&mut HostRng);
            let point = sk.public_key().to_encoded_point(false);
            let (x, y) = (point.x().ok_or("identity point")?, point.y().ok_or("identity point")?);
            Ok(json!({
                "kty": "EC",
                "crv": "P-521",
                "x": b64url(x),
                "y": b64url(y),
                "d": b64url(&sk.to_bytes()),
            }))
        }
        other => Err(format!("WebCrypto key generation does not handle {other}")),
    }
}
