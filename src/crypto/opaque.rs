//! Hydra's opaque token format: `<prefix><key>.<signature>`.
//!
//! `key` is 32 random bytes and `signature` is HMAC-SHA512/256 of those bytes under
//! SHA-256(system secret), both base64url without padding (fosite's HMAC strategy). Only the
//! signature is stored, so a database leak yields no usable token, and a token whose HMAC does
//! not verify is rejected before any storage read.

use hmac::{Hmac, Mac};
use sha2::Sha512_256;

use super::{b64url, b64url_decode, ct_eq, random_bytes, sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    AccessToken,
    RefreshToken,
    AuthorizeCode,
    DeviceCode,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::AccessToken => "ory_at_",
            TokenKind::RefreshToken => "ory_rt_",
            TokenKind::AuthorizeCode => "ory_ac_",
            TokenKind::DeviceCode => "ory_dc_",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OpaqueToken {
    /// What the client receives.
    pub token: String,
    /// What the server stores and looks up.
    pub signature: String,
}

fn mac(secret: &str, key: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha512_256>::new_from_slice(&sha256(secret.as_bytes())).expect("any key length");
    m.update(key);
    m.finalize().into_bytes().to_vec()
}

pub fn generate(secret: &str, kind: TokenKind) -> OpaqueToken {
    from_key(secret, kind, random_bytes::<32>())
}

/// A token of a grant whose rows would live in shard `shard` if storage were split
/// (docs/scaling.md, "Past one database"): the first byte of its key is the shard, the other 31
/// are random, and the HMAC covers all of them, so the shard cannot be changed.
pub fn generate_in(secret: &str, kind: TokenKind, shard: u8) -> OpaqueToken {
    let mut key = random_bytes::<32>();
    key[0] = shard;
    from_key(secret, kind, key)
}

fn from_key(secret: &str, kind: TokenKind, key: [u8; 32]) -> OpaqueToken {
    let signature = b64url(&mac(secret, &key));
    OpaqueToken { token: format!("{}{}.{}", kind.prefix(), b64url(&key), signature), signature }
}

/// The shard of a grant (docs/scaling.md): the first byte of SHA-256 of its subject, or of its
/// client id when it has none (client_credentials). Everything of one subject shares it.
pub fn shard_of(subject: &str, client_id: &str) -> u8 {
    sha256(if subject.is_empty() { client_id } else { subject }.as_bytes())[0]
}

/// The shard byte a token carries (read it only from a token whose HMAC [`verify`] accepted).
pub fn shard_of_token(kind: TokenKind, token: &str) -> Option<u8> {
    let key = token.strip_prefix(kind.prefix())?.split_once('.')?.0;
    b64url_decode(key)?.first().copied()
}

/// Check a presented token's HMAC against every configured secret; returns its signature.
pub fn verify(secrets: &[String], kind: TokenKind, token: &str) -> Option<String> {
    let rest = token.strip_prefix(kind.prefix())?;
    let (key_b64, sig_b64) = rest.split_once('.')?;
    if key_b64.len() > 64 || sig_b64.len() > 64 {
        return None;
    }
    let key = b64url_decode(key_b64)?;
    let sig = b64url_decode(sig_b64)?;
    secrets.iter().any(|s| ct_eq(&mac(s, &key), &sig)).then(|| sig_b64.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_carries_its_grants_shard_under_the_hmac() {
        let shard = shard_of("alice", "client-1");
        assert_eq!(shard, shard_of("alice", "another-client"), "by subject");
        assert_eq!(shard_of("", "client-1"), sha256(b"client-1")[0], "by client without a subject");
        let t = generate_in(S, TokenKind::RefreshToken, shard);
        assert_eq!(shard_of_token(TokenKind::RefreshToken, &t.token), Some(shard));
        assert_eq!(verify(&[S.to_string()], TokenKind::RefreshToken, &t.token), Some(t.signature.clone()));
        // Another shard byte under the same signature: the HMAC no longer verifies.
        let key = t.token.strip_prefix("ory_rt_").unwrap().split_once('.').unwrap().0;
        let mut bytes = b64url_decode(key).unwrap();
        bytes[0] ^= 1;
        let forged = format!("ory_rt_{}.{}", b64url(&bytes), t.signature);
        assert_eq!(verify(&[S.to_string()], TokenKind::RefreshToken, &forged), None);
    }

    const S: &str = "0123456789abcdef0123";

    #[test]
    fn format_and_verification() {
        let t = generate(S, TokenKind::AccessToken);
        assert!(t.token.starts_with("ory_at_"));
        let body = t.token.strip_prefix("ory_at_").unwrap();
        let (key, sig) = body.split_once('.').unwrap();
        assert_eq!(key.len(), 43);
        assert_eq!(sig.len(), 43);
        assert_eq!(sig, t.signature);
        let secrets = vec![S.to_string()];
        assert_eq!(verify(&secrets, TokenKind::AccessToken, &t.token), Some(t.signature.clone()));
        assert_eq!(verify(&secrets, TokenKind::RefreshToken, &t.token), None);
    }

    #[test]
    fn forged_tokens_fail() {
        let secrets = vec![S.to_string()];
        let t = generate("another-secret-012345", TokenKind::AuthorizeCode);
        assert_eq!(verify(&secrets, TokenKind::AuthorizeCode, &t.token), None);
        assert_eq!(verify(&secrets, TokenKind::AuthorizeCode, "ory_ac_abc"), None);
        assert_eq!(verify(&secrets, TokenKind::AuthorizeCode, "ory_ac_!!.??"), None);
        let good = generate(S, TokenKind::AuthorizeCode);
        let tampered = format!("{}x", good.token);
        assert_eq!(verify(&secrets, TokenKind::AuthorizeCode, &tampered), None);
    }

    /// The same construction as fosite, checked against a vector computed independently
    /// (Python: hmac.new(sha256(secret), key, "sha512_256")).
    #[test]
    fn matches_fosite_hmac() {
        let key = [7u8; 32];
        let sig = b64url(&mac("some-system-secret-123", &key));
        assert_eq!(sig, include_str!("../../tests/vectors/opaque_hmac.txt").trim());
    }
}
