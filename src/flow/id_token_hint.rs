//! `id_token_hint`: an ID token this server issued, presented back by a client to say whom it
//! expects (authorization requests) or whom to log out (RP-initiated logout). Its signature and
//! issuer are checked; its expiry is not (OpenID Connect Core §3.1.2.1, RP-Initiated Logout
//! §2: an expired ID token is a fine hint).

use serde_json::Value;

use crate::crypto::jws;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::keys::signing::ID_TOKEN_SET;
use crate::platform::Platform;
use crate::store;

/// The verified claims of a hint, or `invalid_request` saying what is wrong with it.
pub async fn verify<P: Platform>(ctx: &Ctx<'_, P>, hint: &str) -> ApiResult<Value> {
    let bad = |why: &str| ApiError::invalid_request().with_hint(format!("The id_token_hint {why}."));
    let parsed = jws::parse(hint).ok_or_else(|| bad("is not a signed JWT"))?;
    let kid = parsed.header.get("kid").and_then(Value::as_str).unwrap_or("");
    let alg = parsed.header.get("alg").and_then(Value::as_str).unwrap_or("");
    if !crate::keys::SIGNING_ALGS.contains(&alg) {
        return Err(bad("uses an algorithm this server does not sign with"));
    }
    let keys = store::keys::public_keys(ctx.p, &[ID_TOKEN_SET]).await?;
    let key = keys
        .iter()
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        .ok_or_else(|| bad("was not signed by this server"))?;
    // The key's own `alg` when it names one, else its family and curve (an imported key may have
    // no `alg`): a mismatch is the hint's fault, never a WebCrypto failure (503).
    if !jws::key_fits(key, alg) {
        return Err(bad("names an algorithm that does not match its key"));
    }
    // WebCrypto answers `false` for a junk signature (wrong length included); an error is the
    // runtime failing with our own key, an outage (503), not a hint to refuse.
    if !ctx.p.verify(key, alg, parsed.signing_input.as_bytes(), &parsed.signature).await? {
        return Err(bad("has an invalid signature"));
    }
    if parsed.claims.get("iss").and_then(Value::as_str) != Some(ctx.cfg.issuer.as_str()) {
        return Err(bad("was issued by another issuer"));
    }
    if parsed.claims.get("sub").and_then(Value::as_str).unwrap_or("").is_empty() {
        return Err(bad("does not have a subject"));
    }
    Ok(parsed.claims)
}

/// `login_required` when a hint named someone other than `subject`, whoever logged in (OpenID
/// Connect Core §3.1.2.1; Hydra's words). `claims`: the hint's verified claims, `{}` without one.
pub fn subject_mismatch(claims: &Value, subject: &str) -> Option<ApiError> {
    let hint_sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    (!hint_sub.is_empty() && hint_sub != subject).then(|| {
        ApiError::login_required().with_hint(
            "Failed to validate OpenID Connect request because the subject from provided id token from id_token_hint does not match the current session's subject.",
        )
    })
}
