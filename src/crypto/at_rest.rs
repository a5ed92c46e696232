//! Encryption of private key material at rest: AES-256-GCM under a key derived from the system
//! secret, through the platform (WebCrypto in the Worker). Stored form:
//! base64url(nonce[12] || ciphertext+tag).

use super::{b64url, b64url_decode, derive_key, random_bytes};
use crate::platform::{PResult, Platform};

const AAD: &[u8] = b"hydra-edge/jwk";

fn key(secret: &str) -> [u8; 32] {
    derive_key(secret, "jwk-at-rest")
}

pub async fn encrypt<P: Platform>(p: &P, secret: &str, plain: &[u8]) -> PResult<String> {
    let nonce = random_bytes::<12>();
    let ct = p
        .aes_256_gcm(true, &key(secret), &nonce, AAD, plain)
        .await?
        .ok_or_else(|| crate::platform::PlatformError("AES-GCM encryption failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(b64url(&out))
}

/// Decrypt with whichever configured secret encrypted the value (`None`: none of them did, or
/// the value is not ours).
pub async fn decrypt<P: Platform>(p: &P, secrets: &[String], stored: &str) -> PResult<Option<Vec<u8>>> {
    let Some(raw) = b64url_decode(stored).filter(|r| r.len() >= 12 + 16) else {
        return Ok(None);
    };
    let (nonce, ct) = raw.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().expect("12 bytes");
    for s in secrets {
        if let Some(plain) = p.aes_256_gcm(false, &key(s), &nonce, AAD, ct).await? {
            return Ok(Some(plain));
        }
    }
    Ok(None)
}

/// [`Platform::aes_256_gcm`] on the host (the trait's default and the host platform): the
/// `aes-gcm` crate, as WebCrypto's `encrypt`/`decrypt` with a 96-bit nonce and additional
/// data; `None` when opening fails. The Worker carries no AES code and asks WebCrypto.
#[cfg(not(target_arch = "wasm32"))]
pub fn aes_256_gcm_on_host(
    encrypt: bool,
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    data: &[u8],
) -> Option<Vec<u8>> {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let cipher = aes_gcm::Aes256Gcm::new(key.into());
    let payload = Payload { msg: data, aad };
    let nonce = aes_gcm::Nonce::from_slice(nonce);
    if encrypt {
        cipher.encrypt(nonce, payload).ok()
    } else {
        cipher.decrypt(nonce, payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{block_on, TestPlatform};

    #[test]
    fn round_trip_and_rotation() {
        let p = TestPlatform::new();
        let stored = block_on(encrypt(&p, "old-secret-0123456789", b"{\"d\":\"x\"}")).unwrap();
        assert!(!stored.contains("\"d\""));
        let secrets = vec!["new-secret-0123456789".to_string(), "old-secret-0123456789".to_string()];
        assert_eq!(block_on(decrypt(&p, &secrets, &stored)).unwrap().unwrap(), b"{\"d\":\"x\"}");
        assert!(block_on(decrypt(&p, &secrets[..1], &stored)).unwrap().is_none());
        assert!(block_on(decrypt(&p, &secrets, "garbage")).unwrap().is_none());
        let mut tampered = crate::crypto::b64url_decode(&stored).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(block_on(decrypt(&p, &secrets, &b64url(&tampered))).unwrap().is_none());
    }
}
