//! User codes (RFC 8628 §6.1): what a user types on the verification page.
//!
//! Generated as Hydra generates them (its `entropy_preset`s): `high` (the default) is 8
//! characters from an alphabet without look-alikes, in both cases (`abcdefghijkmnpqrstuvwxyz`
//! `ACDEFGHJKLMNPQRTUVWXY34679`); `medium` 8 upper-case letters; `low` 9 digits. Only the HMAC
//! signature of a code is stored, so a database read does not reveal live codes.
//!
//! Comparison is Hydra's: the signature of exactly what was typed. The `high` alphabet has
//! both cases, so case matters there (folding it would merge codes and cut the entropy); the
//! `medium` alphabet has upper case only, so lower-case input is folded up (nothing is lost).
//! Spaces and dashes a user adds for readability are dropped: no alphabet contains them.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::{b64url, random_string, sha256};

/// Hydra's `randx.AlphaNumNoAmbiguous`.
pub const HIGH: &str = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679";
/// Hydra's `randx.AlphaUpper`.
pub const MEDIUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Hydra's `randx.Numeric`.
pub const LOW: &str = "0123456789";

/// Longest input looked at (anything longer cannot be a code).
const MAX_INPUT: usize = 64;

/// Length and alphabet of an entropy preset.
pub fn preset(name: &str) -> Option<(usize, &'static str)> {
    match name {
        "high" => Some((8, HIGH)),
        "medium" => Some((8, MEDIUM)),
        "low" => Some((9, LOW)),
        _ => None,
    }
}

pub fn generate(length: usize, alphabet: &str) -> String {
    random_string(length, alphabet.as_bytes())
}

/// What a typed code is compared as: without spaces and dashes, upper-cased when the alphabet
/// has no lower case. `None` when it cannot be a code of this alphabet (no lookup then).
pub fn normalize(typed: &str, length: usize, alphabet: &str) -> Option<String> {
    if typed.len() > MAX_INPUT {
        return None;
    }
    let upper_only = !alphabet.bytes().any(|b| b.is_ascii_lowercase());
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| if upper_only { c.to_ascii_uppercase() } else { c })
        .collect();
    (code.chars().count() == length && code.chars().all(|c| alphabet.contains(c))).then_some(code)
}

/// The stored form of a user code: HMAC-SHA256 under a key derived from the system secret.
pub fn signature(secret: &str, code: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(&sha256(format!("user_code:{secret}").as_bytes())).expect("any key");
    m.update(code.as_bytes());
    b64url(&m.finalize().into_bytes())
}

/// Signatures under every configured secret (the first one signs new codes; older ones still
/// find codes issued before a rotation).
pub fn signatures(secrets: &[String], code: &str) -> Vec<String> {
    secrets.iter().map(|s| signature(s, code)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_hydras() {
        assert_eq!(preset("high"), Some((8, HIGH)));
        assert_eq!(preset("medium").unwrap().0, 8);
        assert_eq!(preset("low"), Some((9, LOW)));
        assert_eq!(preset("extreme"), None);
        for c in ['l', 'o', 'B', 'I', 'O', 'S', 'Z', '0', '1', '2', '5', '8'] {
            assert!(!HIGH.contains(c), "{c} is ambiguous");
        }
    }

    #[test]
    fn generated_codes_use_the_alphabet() {
        for _ in 0..50 {
            let c = generate(8, HIGH);
            assert_eq!(c.len(), 8);
            assert!(c.chars().all(|ch| HIGH.contains(ch)), "{c}");
            assert_eq!(normalize(&c, 8, HIGH).as_deref(), Some(c.as_str()));
        }
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize("abcd-EFGH", 8, HIGH).as_deref(), Some("abcdEFGH"));
        assert_eq!(normalize("ab cd EF GH", 8, HIGH).as_deref(), Some("abcdEFGH"));
        assert_eq!(normalize("abcdefgh", 8, MEDIUM).as_deref(), Some("ABCDEFGH"));
        assert_eq!(normalize("ABCDEFGO", 8, HIGH), None, "O is not in the alphabet");
        assert_eq!(normalize("abc", 8, HIGH), None);
        assert_eq!(normalize("123456789", 9, LOW).as_deref(), Some("123456789"));
        assert_eq!(normalize("12345678a", 9, LOW), None);
        assert_eq!(normalize(&"a".repeat(100), 8, HIGH), None);
        assert_eq!(normalize("ä", 1, HIGH), None);
    }

    #[test]
    fn signatures_depend_on_secret_and_case() {
        let s = signature("secret-one-0123456", "abcdEFGH");
        assert_ne!(s, signature("secret-two-0123456", "abcdEFGH"));
        assert_ne!(s, signature("secret-one-0123456", "ABCDEFGH"));
        assert_eq!(signatures(&["secret-one-0123456".into()], "abcdEFGH"), vec![s]);
    }
}
