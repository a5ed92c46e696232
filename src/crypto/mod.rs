//! Cryptographic building blocks in plain Rust: encodings, randomness, key derivation, and the
//! formats built on them. What is costly in wasm (ECDSA/RSA signatures, PBKDF2) runs through
//! WebCrypto via [`crate::platform::Platform`] instead.

pub mod at_rest;
pub mod jws;
pub mod opaque;
pub mod seal;
pub mod secret_hash;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

/// Standard alphabet without padding (Go's `RawStdEncoding`, used by Hydra's PBKDF2 format).
pub fn b64std(bytes: &[u8]) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

pub fn b64std_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

/// Fill `N` bytes from the platform CSPRNG (`crypto.getRandomValues` in the Worker).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // getrandom only fails when no entropy source exists, which no supported target lacks.
    getrandom::getrandom(&mut b).expect("no entropy source");
    b
}

/// A random string of `len` characters drawn uniformly from `alphabet` (rejection sampling).
pub fn random_string(len: usize, alphabet: &[u8]) -> String {
    let n = alphabet.len();
    let limit = 256 - (256 % n);
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<32>() {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % n] as char);
            }
        }
    }
    out
}

/// A random UUIDv4 string (RFC 9562: version 4, variant 10).
pub fn uuid_v4() -> String {
    uuid_v4_from(random_bytes::<16>())
}

/// A UUIDv4 whose first byte is `shard` (a JWT access token's `jti`, docs/scaling.md): 114
/// random bits are left.
pub fn uuid_v4_in(shard: u8) -> String {
    let mut b = random_bytes::<16>();
    b[0] = shard;
    uuid_v4_from(b)
}

fn uuid_v4_from(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// A UUID in any of its usual spellings: hyphenated, 32 hex digits, `{...}` or `urn:uuid:...`.
pub fn is_uuid(s: &str) -> bool {
    let s = s.strip_prefix("urn:uuid:").or_else(|| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).unwrap_or(s);
    let hex_only = |p: &str| p.bytes().all(|b| b.is_ascii_hexdigit());
    match s.len() {
        32 => hex_only(s),
        36 => {
            let groups: Vec<&str> = s.split('-').collect();
            groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| hex_only(g))
        }
        _ => false,
    }
}

/// 32 random hex characters (128 bits), Hydra's form for request ids and CSRF values.
pub fn random_hex128() -> String {
    hex(&random_bytes::<16>())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Derive a 32-byte key for one purpose from a system secret: HMAC-SHA256(secret, label).
/// The system secret is high-entropy, so a single PRF call is a sound KDF (HKDF-Expand with one
/// block); the label keeps keys for different uses independent.
pub fn derive_key(secret: &str, purpose: &str) -> [u8; 32] {
    hmac_sha256(secret.as_bytes(), format!("hydra-edge/v1/{purpose}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_string_uses_alphabet_and_length() {
        let s = random_string(26, b"abc");
        assert_eq!(s.len(), 26);
        assert!(s.bytes().all(|b| b"abc".contains(&b)));
        assert_ne!(random_string(26, b"abcdefghijklmnop"), random_string(26, b"abcdefghijklmnop"));
    }

    #[test]
    fn uuid_is_v4() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert!(is_uuid(&u) && is_uuid(&u.replace('-', "")) && is_uuid(&format!("{{{u}}}")));
        assert!(is_uuid(&format!("urn:uuid:{}", u.to_uppercase())));
        for bad in [
            "",
            "abc",
            "g0000000-0000-0000-0000-000000000000",
            "00000000-0000-0000-0000-0000000000000",
            "00000000000000000000000000000000-",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }

    #[test]
    fn encodings() {
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(b64std(&[0xfb, 0xff]), "+/8");
        assert_eq!(hex(&[0, 255, 16]), "00ff10");
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_secret() {
        assert_ne!(derive_key("s1-0123456789abcdef", "a"), derive_key("s1-0123456789abcdef", "b"));
        assert_ne!(derive_key("s1-0123456789abcdef", "a"), derive_key("s2-0123456789abcdef", "a"));
    }
}
