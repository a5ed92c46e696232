//! PKCE (RFC 7636), `S256` only.

use crate::crypto::{b64url, ct_eq, sha256};
use crate::error::{ApiError, ApiResult};

fn is_verifier_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Check `code_challenge` / `code_challenge_method` at the authorization endpoint.
/// `required`: the client must send a challenge (public clients by default).
pub fn check_challenge(challenge: &str, method: &str, required: bool) -> ApiResult<()> {
    if challenge.is_empty() {
        if !method.is_empty() {
            return Err(
                ApiError::invalid_request().with_hint("The code_challenge_method was sent without a code_challenge.")
            );
        }
        if required {
            return Err(ApiError::invalid_request().with_hint(
                "Clients must include a code_challenge when performing the authorize code flow, but it is missing.",
            ));
        }
        return Ok(());
    }
    if method != "S256" {
        return Err(
            ApiError::invalid_request().with_hint("Clients must use code_challenge_method=S256, plain is not allowed.")
        );
    }
    // An S256 challenge is the unpadded base64url of a SHA-256 digest: exactly 43 characters.
    if challenge.len() != 43 || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(ApiError::invalid_request().with_hint(
            "The code_challenge must be the base64url-encoded SHA-256 of the code_verifier (43 characters).",
        ));
    }
    Ok(())
}

/// Check a `code_verifier` at the token endpoint against the stored challenge.
pub fn verify(challenge: &str, verifier: &str) -> ApiResult<()> {
    if challenge.is_empty() {
        if verifier.is_empty() {
            return Ok(());
        }
        return Err(ApiError::invalid_grant().with_hint(
            "The PKCE code verifier was provided but the code challenge was absent from the authorization request.",
        ));
    }
    if verifier.is_empty() {
        return Err(
            ApiError::invalid_grant().with_hint("The PKCE code verifier must be sent with this authorization code.")
        );
    }
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(is_verifier_char) {
        return Err(ApiError::invalid_grant()
            .with_hint("The PKCE code verifier must be 43 to 128 characters of [A-Za-z0-9-._~]."));
    }
    if !ct_eq(b64url(&sha256(verifier.as_bytes())).as_bytes(), challenge.as_bytes()) {
        return Err(ApiError::invalid_grant().with_hint("The PKCE code challenge did not match the code verifier."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_example() {
        assert!(check_challenge(CHALLENGE, "S256", true).is_ok());
        assert!(verify(CHALLENGE, VERIFIER).is_ok());
        assert_eq!(verify(CHALLENGE, &VERIFIER.replace('d', "e")).unwrap_err().error, "invalid_grant");
    }

    #[test]
    fn challenge_rules() {
        assert!(check_challenge("", "", false).is_ok());
        assert_eq!(check_challenge("", "", true).unwrap_err().error, "invalid_request");
        assert!(check_challenge(CHALLENGE, "plain", false).unwrap_err().hint.contains("plain is not allowed"));
        assert!(check_challenge(CHALLENGE, "", false).is_err());
        assert!(check_challenge("", "S256", false).is_err());
        assert!(check_challenge("short", "S256", false).is_err());
    }

    #[test]
    fn verifier_rules() {
        assert!(verify("", "").is_ok());
        assert_eq!(verify("", VERIFIER).unwrap_err().error, "invalid_grant");
        assert_eq!(verify(CHALLENGE, "").unwrap_err().error, "invalid_grant");
        assert_eq!(verify(CHALLENGE, "short").unwrap_err().error, "invalid_grant");
        assert_eq!(verify(CHALLENGE, &format!("{VERIFIER}!")).unwrap_err().error, "invalid_grant");
    }
}
