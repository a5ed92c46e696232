//! Sealed state: JSON encrypted and authenticated with XChaCha20-Poly1305 under a key derived
//! from the system secret, bound to a purpose (a login challenge cannot be replayed as a consent
//! verifier) and to an expiry.
//!
//! This is how login/consent challenges and verifiers, session cookies and pagination tokens
//! carry their state without a store write: any location can open them, so a login app calling
//! the admin API from another region sees a fresh challenge at once (Hydra 2.2+ does the same).
//! Format: base64url(nonce[24] || ciphertext), AAD = purpose.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::{b64url, b64url_decode, derive_key, random_bytes};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    LoginChallenge,
    LoginVerifier,
    ConsentChallenge,
    ConsentVerifier,
    SessionCookie,
    PageToken,
    LogoutChallenge,
    LogoutVerifier,
    DeviceChallenge,
    DeviceVerifier,
    /// The id of a v0.10 consent request (`consent=`), which is also its challenge.
    ConsentV010,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::LoginChallenge => "login_challenge",
            Purpose::LoginVerifier => "login_verifier",
            Purpose::ConsentChallenge => "consent_challenge",
            Purpose::ConsentVerifier => "consent_verifier",
            Purpose::SessionCookie => "session_cookie",
            Purpose::PageToken => "page_token",
            Purpose::LogoutChallenge => "logout_challenge",
            Purpose::LogoutVerifier => "logout_verifier",
            Purpose::DeviceChallenge => "device_challenge",
            Purpose::DeviceVerifier => "device_verifier",
            Purpose::ConsentV010 => "consent_v0_10",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Not produced by this server with this purpose (forged, truncated or tampered).
    Invalid,
    /// Authentic, but past its expiry.
    Expired,
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    /// Expiry, seconds since the epoch.
    exp: i64,
    v: T,
}

fn cipher(secret: &str) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&derive_key(secret, "seal").into())
}

/// The longest sealed value [`open`] accepts.
pub const MAX_SEALED_LEN: usize = 16 * 1024;

/// The longest URL a challenge or verifier may travel in: Cloudflare refuses longer URLs
/// (414), so whoever puts a sealed value into a URL checks the whole URL against this.
pub const MAX_URL_LEN: usize = 16 * 1024 - 512;

/// Seal `value` for `purpose`, valid until `expires_at` (epoch seconds).
pub fn seal<T: Serialize>(secret: &str, purpose: Purpose, expires_at: i64, value: &T) -> String {
    let plain = serde_json::to_vec(&Envelope { exp: expires_at, v: value }).expect("serialisable state");
    let nonce = random_bytes::<24>();
    let ct = cipher(secret)
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: &plain, aad: purpose.label().as_bytes() })
        .expect("encryption of an in-memory buffer does not fail");
    let mut out = Vec::with_capacity(24 + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    b64url(&out)
}

/// Open a sealed value, trying every configured secret (the first one seals; older ones still
/// open during rotation).
pub fn open<T: DeserializeOwned>(secrets: &[String], purpose: Purpose, now: i64, sealed: &str) -> Result<T, OpenError> {
    // Bound the work an attacker can ask for.
    if sealed.len() > MAX_SEALED_LEN {
        return Err(OpenError::Invalid);
    }
    let raw = b64url_decode(sealed).ok_or(OpenError::Invalid)?;
    if raw.len() < 24 + 16 {
        return Err(OpenError::Invalid);
    }
    let (nonce, ct) = raw.split_at(24);
    for secret in secrets {
        if let Ok(plain) =
            cipher(secret).decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: purpose.label().as_bytes() })
        {
            let env: Envelope<T> = crate::ctx::json_from_bytes(&plain).map_err(|_| OpenError::Invalid)?;
            if env.exp < now {
                return Err(OpenError::Expired);
            }
            return Ok(env.v);
        }
    }
    Err(OpenError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "0123456789abcdef-secret";

    #[test]
    fn round_trip_and_purpose_binding() {
        let sealed = seal(S, Purpose::LoginChallenge, 100, &("alice", 7));
        let secrets = vec![S.to_string()];
        assert_eq!(open::<(String, i32)>(&secrets, Purpose::LoginChallenge, 50, &sealed).unwrap(), ("alice".into(), 7));
        assert_eq!(open::<(String, i32)>(&secrets, Purpose::ConsentChallenge, 50, &sealed), Err(OpenError::Invalid));
        assert_eq!(open::<(String, i32)>(&secrets, Purpose::LoginChallenge, 101, &sealed), Err(OpenError::Expired));
    }

    #[test]
    fn tampering_and_wrong_secret_fail() {
        let sealed = seal(S, Purpose::PageToken, 100, &1);
        let mut bytes = b64url_decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let secrets = vec![S.to_string()];
        assert_eq!(open::<i32>(&secrets, Purpose::PageToken, 0, &b64url(&bytes)), Err(OpenError::Invalid));
        assert_eq!(
            open::<i32>(&["another-secret-0123456".into()], Purpose::PageToken, 0, &sealed),
            Err(OpenError::Invalid)
        );
        assert_eq!(open::<i32>(&secrets, Purpose::PageToken, 0, "not base64!"), Err(OpenError::Invalid));
        assert_eq!(open::<i32>(&secrets, Purpose::PageToken, 0, ""), Err(OpenError::Invalid));
    }

    #[test]
    fn older_secret_still_opens() {
        let sealed = seal("old-secret-0123456789", Purpose::SessionCookie, 100, &"sid");
        let secrets = vec!["new-secret-0123456789".to_string(), "old-secret-0123456789".to_string()];
        assert_eq!(open::<String>(&secrets, Purpose::SessionCookie, 0, &sealed).unwrap(), "sid");
    }
}
