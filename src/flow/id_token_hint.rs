//! `id_token_hint`: an ID token this server issued, presented back by a client to say whom it
//! expects (authorization requests) or whom to log out (RP-initiated logout). Its signature and
//! issuer are checked; its expiry is not (OpenID Connect Core §3.1.2.1, RP-Initiated Logout
//! §2: an expired ID token is a fine hint).

use serde_json::Value;

use crate::clients::model::Client;
use crate::crypto::jws;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::keys::signing::ID_TOKEN_SET;
use crate::platform::Platform;
use crate::store;
use crate::subject;

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

/// `login_required` when a hint named someone other than the user who logged in (OpenID Connect
/// Core §3.1.2.1; Hydra's words). `claims`: the hint's verified claims, `{}` without one;
/// `shown`: the `sub` the client sees for that user ([`subject::for_client`]). A pairwise
/// client's hint must carry the pairwise value, as in Hydra: were the real subject accepted
/// too, a client could learn whose pairwise value it holds by sending another client's ID
/// token as the hint.
pub fn subject_mismatch(claims: &Value, shown: &str) -> Option<ApiError> {
    let hint_sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    (!hint_sub.is_empty() && hint_sub != shown).then(|| {
        ApiError::login_required().with_hint(
            "Failed to validate OpenID Connect request because the subject from provided id token from id_token_hint does not match the current session's subject.",
        )
    })
}

/// Whether a hint's `sub` names the session's `subject` for `client`: the subject itself for a
/// public client; for a pairwise one, its computed identifier or the one a login app forced for
/// the user (never the real subject: see [`subject_mismatch`]). Only the forced value costs a D1
/// read, and only when the computed one did not match.
pub async fn names_subject<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    hint_sub: &str,
    subject: &str,
) -> ApiResult<bool> {
    if client.subject_type != subject::PAIRWISE {
        return Ok(hint_sub == subject);
    }
    if subject::for_client(ctx.cfg, client, subject, "").is_ok_and(|s| s == hint_sub) {
        return Ok(true);
    }
    let forced = store::flows::forced_subject(ctx.p, &client.client_id, subject).await?;
    Ok(forced.as_deref() == Some(hint_sub))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_hint_must_name_the_sub_the_client_sees() {
        assert!(subject_mismatch(&json!({}), "pw").is_none());
        assert!(subject_mismatch(&json!({"sub": "pw"}), "pw").is_none());
        for other in ["alice", "bob"] {
            let e = subject_mismatch(&json!({"sub": other}), "pw").unwrap();
            assert_eq!(e.error, "login_required");
        }
    }
}
