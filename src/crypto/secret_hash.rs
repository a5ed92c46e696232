//! Client secret hashing in Hydra's PBKDF2 format, `$pbkdf2-sha256$i=25000,l=32$<salt>$<key>`
//! (salt and key in unpadded standard base64), so hashes move between Hydra and this server.
//!
//! PBKDF2 runs through WebCrypto (natively) but still costs milliseconds, and the token endpoint
//! verifies a secret on every call. So each isolate remembers, per client, a keyed digest of the
//! secret that last verified against the stored hash: a busy client pays the slow hash once per
//! isolate. The digest key is random per isolate and never leaves memory; an entry is only used
//! while the stored hash is unchanged, so rotating a secret invalidates it.

use std::cell::RefCell;
use std::collections::HashMap;

use super::{b64std, b64std_decode, ct_eq, hmac_sha256, random_bytes};
use crate::platform::{PResult, Platform};

pub const ITERATIONS: u32 = 25_000;
const SALT_LEN: usize = 16;
const KEY_LEN: usize = 32;
/// Entries kept per isolate before the cache starts over.
const CACHE_LIMIT: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pbkdf2Hash {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub key: Vec<u8>,
}

pub fn format(h: &Pbkdf2Hash) -> String {
    format!("$pbkdf2-sha256$i={},l={}${}${}", h.iterations, h.key.len(), b64std(&h.salt), b64std(&h.key))
}

pub fn parse(s: &str) -> Option<Pbkdf2Hash> {
    let mut parts = s.split('$');
    if !parts.next()?.is_empty() || parts.next()? != "pbkdf2-sha256" {
        return None;
    }
    let params = parts.next()?;
    let salt = b64std_decode(parts.next()?)?;
    let key = b64std_decode(parts.next()?)?;
    if parts.next().is_some() {
        return None;
    }
    let mut iterations = None;
    let mut len = None;
    for kv in params.split(',') {
        match kv.split_once('=')? {
            ("i", v) => iterations = v.parse::<u32>().ok(),
            ("l", v) => len = v.parse::<usize>().ok(),
            _ => return None,
        }
    }
    let iterations = iterations.filter(|i| (1..=10_000_000).contains(i))?;
    if len? != key.len() || key.len() != KEY_LEN {
        return None;
    }
    Some(Pbkdf2Hash { iterations, salt, key })
}

/// Hash a new secret with a fresh salt.
pub async fn hash<P: Platform>(p: &P, secret: &str) -> PResult<String> {
    let salt = random_bytes::<SALT_LEN>();
    let key = p.pbkdf2_sha256(secret.as_bytes(), &salt, ITERATIONS).await?;
    Ok(format(&Pbkdf2Hash { iterations: ITERATIONS, salt: salt.to_vec(), key: key.to_vec() }))
}

struct Verified {
    stored_hash: String,
    digest: [u8; 32],
}

thread_local! {
    static ISOLATE_KEY: [u8; 32] = random_bytes::<32>();
    static VERIFIED: RefCell<HashMap<String, Verified>> = RefCell::new(HashMap::new());
}

fn fast_digest(client_id: &str, secret: &str) -> [u8; 32] {
    let mut msg = Vec::with_capacity(client_id.len() + 1 + secret.len());
    msg.extend_from_slice(client_id.as_bytes());
    msg.push(0);
    msg.extend_from_slice(secret.as_bytes());
    ISOLATE_KEY.with(|k| hmac_sha256(k, &msg))
}

/// How a verification was decided (a cache hit skips PBKDF2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The per-isolate digest matched: no PBKDF2 run.
    MatchCached,
    /// PBKDF2 ran and matched.
    MatchDerived,
    Mismatch,
}

impl Verdict {
    pub fn ok(self) -> bool {
        self != Verdict::Mismatch
    }
}

/// Did this isolate verify `presented` for `client_id` against this very `stored_hash` before?
/// No PBKDF2: a secret that was never verified here is not checked at all.
pub fn verified_before(client_id: &str, stored_hash: &str, presented: &str) -> bool {
    cached(client_id, stored_hash, &fast_digest(client_id, presented))
}

/// Is `digest` the one this isolate remembers for `client_id` under `stored_hash`?
fn cached(client_id: &str, stored_hash: &str, digest: &[u8; 32]) -> bool {
    VERIFIED.with(|v| {
        v.borrow().get(client_id).map(|e| e.stored_hash == stored_hash && ct_eq(&e.digest, digest)).unwrap_or(false)
    })
}

/// Has this isolate verified any secret of `client_id` (that it still remembers)?
pub fn verified_any(client_id: &str) -> bool {
    VERIFIED.with(|v| v.borrow().contains_key(client_id))
}

/// Verify `presented` against `stored_hash` in constant time, via the per-isolate cache.
pub async fn verify<P: Platform>(p: &P, client_id: &str, stored_hash: &str, presented: &str) -> PResult<Verdict> {
    let digest = fast_digest(client_id, presented);
    if cached(client_id, stored_hash, &digest) {
        return Ok(Verdict::MatchCached);
    }
    let Some(h) = parse(stored_hash) else {
        return Ok(Verdict::Mismatch);
    };
    let derived = p.pbkdf2_sha256(presented.as_bytes(), &h.salt, h.iterations).await?;
    if !ct_eq(&derived, &h.key) {
        return Ok(Verdict::Mismatch);
    }
    VERIFIED.with(|v| {
        let mut v = v.borrow_mut();
        if v.len() >= CACHE_LIMIT {
            v.clear();
        }
        v.insert(client_id.to_string(), Verified { stored_hash: stored_hash.to_string(), digest });
    });
    Ok(Verdict::MatchDerived)
}

/// The work of a failed verification without a stored hash (an unknown client): the same
/// PBKDF2 over the presented secret, so the answer takes as long as a wrong secret's.
pub async fn verify_nothing<P: Platform>(p: &P, presented: &str) -> PResult<Verdict> {
    let salt = [0u8; SALT_LEN];
    let _ = p.pbkdf2_sha256(presented.as_bytes(), &salt, ITERATIONS).await?;
    Ok(Verdict::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{block_on, TestPlatform};

    /// A verified secret is remembered (as a keyed digest) for as long as the stored hash stays
    /// the same: no time bound, the stored hash is the key.
    #[test]
    fn a_verified_secret_skips_pbkdf2_until_the_stored_hash_changes() {
        let p = TestPlatform::new();
        let stored = block_on(hash(&p, "right-secret")).unwrap();
        assert_eq!(p.count("pbkdf2"), 1);
        assert_eq!(block_on(verify(&p, "c1", &stored, "right-secret")).unwrap(), Verdict::MatchDerived);
        assert_eq!(block_on(verify(&p, "c1", &stored, "right-secret")).unwrap(), Verdict::MatchCached);
        p.advance_ms(86_400_000);
        assert_eq!(block_on(verify(&p, "c1", &stored, "right-secret")).unwrap(), Verdict::MatchCached);
        assert_eq!(p.count("pbkdf2"), 2, "PBKDF2 ran once for the check");
        assert_eq!(block_on(verify(&p, "c1", &stored, "wrong-secret")).unwrap(), Verdict::Mismatch, "never cached");
        assert_eq!(p.count("pbkdf2"), 3);
        let rotated = block_on(hash(&p, "right-secret")).unwrap();
        assert_eq!(
            block_on(verify(&p, "c1", &rotated, "right-secret")).unwrap(),
            Verdict::MatchDerived,
            "a new hash: derived again"
        );
    }

    /// A vector computed independently with Python's hashlib.pbkdf2_hmac("sha256", b"some-secret",
    /// salt=bytes(range(16)), iterations=25000, dklen=32).
    #[test]
    fn known_vector_in_hydra_format() {
        let expected = include_str!("../../tests/vectors/pbkdf2_hydra.txt").trim();
        let mut key = [0u8; 32];
        let salt: Vec<u8> = (0u8..16).collect();
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"some-secret", &salt, 25_000, &mut key);
        let formatted = format(&Pbkdf2Hash { iterations: 25_000, salt: salt.clone(), key: key.to_vec() });
        assert_eq!(formatted, expected);
        let parsed = parse(expected).unwrap();
        assert_eq!(parsed.iterations, 25_000);
        assert_eq!(parsed.salt, salt);
        assert_eq!(parsed.key, key.to_vec());
    }

    #[test]
    fn rejects_malformed_hashes() {
        for bad in [
            "",
            "$2a$10$abcdefghijklmnopqrstuv",
            "$pbkdf2-sha256$i=25000,l=32$c2FsdA",
            "$pbkdf2-sha256$i=0,l=32$c2FsdA$a2V5",
            "$pbkdf2-sha256$i=25000,l=3$c2FsdA$a2V5",
            "$pbkdf2-sha512$i=25000,l=32$c2FsdA$a2V5",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
