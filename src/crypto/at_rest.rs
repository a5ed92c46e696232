//! Encryption of private key material at rest: AES-256-GCM under a key derived from the system
//! secret. Stored form: base64url(nonce[12] || ciphertext+tag).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use super::{b64url, b64url_decode, derive_key, random_bytes};

const AAD: &[u8] = b"hydra-edge/jwk";

fn cipher(secret: &str) -> Aes256Gcm {
    Aes256Gcm::new(&derive_key(secret, "jwk-at-rest").into())
}

pub fn encrypt(secret: &str, plain: &[u8]) -> String {
    let nonce = random_bytes::<12>();
    let ct = cipher(secret)
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: AAD })
        .expect("encryption of an in-memory buffer does not fail");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    b64url(&out)
}

/// Decrypt with whichever configured secret encrypted the value.
pub fn decrypt(secrets: &[String], stored: &str) -> Option<Vec<u8>> {
    let raw = b64url_decode(stored)?;
    if raw.len() < 12 + 16 {
        return None;
    }
    let (nonce, ct) = raw.split_at(12);
    secrets.iter().find_map(|s| cipher(s).decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: AAD }).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rotation() {
        let stored = encrypt("old-secret-0123456789", b"{\"d\":\"x\"}");
        assert!(!stored.contains("\"d\""));
        let secrets = vec!["new-secret-0123456789".to_string(), "old-secret-0123456789".to_string()];
        assert_eq!(decrypt(&secrets, &stored).unwrap(), b"{\"d\":\"x\"}");
        assert!(decrypt(&secrets[..1], &stored).is_none());
        assert!(decrypt(&secrets, "garbage").is_none());
    }
}
