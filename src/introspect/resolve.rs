//! What a presented token is: resolve an opaque access or refresh token, or one of our JWT
//! access tokens, to the active token it stands for, or to nothing (unknown, malformed,
//! expired, revoked, or a JWT of another purpose). Shared by introspection, revocation and
//! userinfo.
//!
//! JWT access tokens are recognised only with header `typ: at+jwt` (RFC 9068) and a key of the
//! access-token set, so an ID token, a logout token or a client assertion never passes as an
//! access token. Their revocation state is one D1 statement (`revoked_jtis`, the client's
//! cutoff time, and the stored grant when there is one).

use serde_json::{json, Value};

use crate::crypto::jws;
use crate::crypto::opaque::{self, TokenKind};
use crate::ctx::Ctx;
use crate::error::ApiResult;
use crate::keys::signing::{verification_key, ACCESS_TOKEN_SET};
use crate::platform::Platform;
use crate::store;
use crate::store::tokens::Grace;
use crate::token::issue::{Grant, ACCESS_TOKEN_TYP};

/// Clock skew accepted on `nbf` and `iat`.
const LEEWAY: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    AccessToken,
    RefreshToken,
}

impl Use {
    pub fn as_str(self) -> &'static str {
        match self {
            Use::AccessToken => "access_token",
            Use::RefreshToken => "refresh_token",
        }
    }
}

/// An active token.
#[derive(Debug, Clone)]
pub struct ActiveToken {
    pub token_use: Use,
    pub client_id: String,
    pub subject: String,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    /// The consent's `session.access_token` claims.
    pub ext: Value,
    pub issued_at: i64,
    /// `None`: a refresh token that never expires.
    pub expires_at: Option<i64>,
    /// The grant the token belongs to, when it is stored (every token but write-free JWTs).
    pub grant: Option<Grant>,
    /// Request id of a stored token (its chain).
    pub request_id: Option<String>,
    /// `jti` and `exp` of a JWT access token.
    pub jwt: Option<(String, i64)>,
}

fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2 && !token.starts_with("ory_")
}

/// Resolve `token` (its kind shows in its form, so no `token_type_hint` is needed).
pub async fn resolve<P: Platform>(ctx: &Ctx<'_, P>, token: &str) -> ApiResult<Option<ActiveToken>> {
    resolve_as(ctx, token, false).await
}

/// For revocation: the same, but an expired token still names its grant. Revoking an access
/// token after its hour (a client logging out) must still end the refresh token of its grant,
/// as fosite's revocation, which looks the token up without checking its expiry.
pub async fn resolve_expired_too<P: Platform>(ctx: &Ctx<'_, P>, token: &str) -> ApiResult<Option<ActiveToken>> {
    resolve_as(ctx, token, true).await
}

async fn resolve_as<P: Platform>(ctx: &Ctx<'_, P>, token: &str, expired_too: bool) -> ApiResult<Option<ActiveToken>> {
    if token.is_empty() || token.len() > crate::crypto::jws::MAX_JWS_LEN {
        return Ok(None);
    }
    if let Some(sig) = opaque::verify(&ctx.cfg.system_secrets, TokenKind::AccessToken, token) {
        return stored(ctx, &sig, Use::AccessToken, expired_too).await;
    }
    if let Some(sig) = opaque::verify(&ctx.cfg.system_secrets, TokenKind::RefreshToken, token) {
        return stored(ctx, &sig, Use::RefreshToken, expired_too).await;
    }
    if looks_like_jwt(token) {
        return jwt(ctx, token, expired_too).await;
    }
    Ok(None)
}

async fn stored<P: Platform>(
    ctx: &Ctx<'_, P>,
    signature: &str,
    token_use: Use,
    expired_too: bool,
) -> ApiResult<Option<ActiveToken>> {
    let Some(row) = store::tokens::get_token(ctx.p, signature).await? else {
        return Ok(None);
    };
    let now = ctx.p.now();
    let expired = row.expires_at.map(|e| e <= now).unwrap_or(false);
    if row.kind != token_use.as_str() || (expired && !expired_too) {
        return Ok(None);
    }
    if !row.active {
        let grace = (ctx.cfg.refresh_grace_period > 0)
            .then_some(Grace { period: ctx.cfg.refresh_grace_period, count: ctx.cfg.refresh_grace_reuse_count });
        if !crate::token::refresh_token::within_grace(&row, grace, now) {
            return Ok(None);
        }
    }
    let Ok(grant) = serde_json::from_str::<Grant>(&row.data) else {
        return Ok(None);
    };
    Ok(Some(ActiveToken {
        token_use,
        client_id: row.client_id,
        subject: row.subject,
        scopes: grant.scopes.clone(),
        audience: grant.audience.clone(),
        ext: grant.access_token_ext.clone(),
        issued_at: row.issued_at,
        expires_at: row.expires_at,
        request_id: Some(row.request_id),
        grant: Some(grant),
        jwt: None,
    }))
}

/// The claims of a JWT access token this server signed, if it verifies (purpose, key,
/// signature, issuer, time window). Pure checks except the signature and key lookup.
async fn verified_claims<P: Platform>(
    ctx: &Ctx<'_, P>,
    token: &str,
    expired_too: bool,
) -> ApiResult<Option<(Value, String)>> {
    let Some(parsed) = jws::parse(token) else { return Ok(None) };
    let header = |n: &str| parsed.header.get(n).and_then(Value::as_str).unwrap_or("");
    let typ = header("typ");
    if !(typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || typ.eq_ignore_ascii_case("application/at+jwt")) {
        return Ok(None);
    }
    let (alg, kid) = (header("alg"), header("kid"));
    if kid.is_empty() || kid.len() > 255 {
        return Ok(None);
    }
    let Some(key) = verification_key(ctx, ACCESS_TOKEN_SET, kid).await? else { return Ok(None) };
    if !jws::key_fits(&key, alg) {
        return Ok(None);
    }
    // WebCrypto answers `false` for a junk signature; an error is the runtime failing with our
    // own key: an outage (503), never "inactive" (which would let a revocation answer 200
    // without revoking).
    if !ctx.p.verify(&key, alg, parsed.signing_input.as_bytes(), &parsed.signature).await? {
        return Ok(None);
    }
    let signature = token.rsplit('.').next().unwrap_or_default().to_string();
    // An expired token is judged at its last second of life (revocation only).
    let now = ctx.p.now();
    let at = match parsed.claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if expired_too && exp <= now => exp - 1,
        _ => now,
    };
    if !claims_in_window(&parsed.claims, &ctx.cfg.issuer, at) {
        return Ok(None);
    }
    Ok(Some((parsed.claims, signature)))
}

/// Issuer, `exp`, `nbf`, `iat`, `client_id` and `jti` of a JWT access token.
pub fn claims_in_window(c: &Value, issuer: &str, now: i64) -> bool {
    let num = |n: &str| c.get(n).and_then(Value::as_i64);
    let text = |n: &str| c.get(n).and_then(Value::as_str).filter(|s| !s.is_empty());
    c.get("iss").and_then(Value::as_str) == Some(issuer)
        && num("exp").map(|e| e > now).unwrap_or(false)
        && num("nbf").map(|t| t <= now + LEEWAY).unwrap_or(true)
        && num("iat").map(|t| t <= now + LEEWAY).unwrap_or(false)
        && text("client_id").is_some()
        && text("jti").is_some()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::String(s)) => s.split(' ').filter(|x| !x.is_empty()).map(str::to_string).collect(),
        _ => vec![],
    }
}

async fn jwt<P: Platform>(ctx: &Ctx<'_, P>, token: &str, expired_too: bool) -> ApiResult<Option<ActiveToken>> {
    let Some((c, signature)) = verified_claims(ctx, token, expired_too).await? else { return Ok(None) };
    let text = |n: &str| c.get(n).and_then(Value::as_str).unwrap_or("").to_string();
    let (jti, client_id) = (text("jti"), text("client_id"));
    let iat = c.get("iat").and_then(Value::as_i64).unwrap_or(0);
    let exp = c.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let state = store::tokens::jwt_state(ctx.p, &jti, &client_id, &signature).await?;
    if state.revoked || state.client_cutoff.map(|cut| iat <= cut).unwrap_or(false) {
        return Ok(None);
    }
    let grant = state.data.and_then(|d| serde_json::from_str::<Grant>(&d).ok());
    // The session's data as stored: the token itself may not mirror it under `ext`
    // (OAUTH2_MIRROR_TOP_LEVEL_CLAIMS=false).
    let ext = match &grant {
        Some(g) if g.access_token_ext.is_object() => g.access_token_ext.clone(),
        _ => c.get("ext").cloned().unwrap_or_else(|| json!({})),
    };
    let scopes = if c.get("scp").is_some() { strings(c.get("scp")) } else { strings(c.get("scope")) };
    Ok(Some(ActiveToken {
        token_use: Use::AccessToken,
        client_id,
        subject: text("sub"),
        scopes,
        audience: strings(c.get("aud")),
        ext,
        issued_at: iat,
        expires_at: Some(exp),
        request_id: grant.as_ref().map(|g| g.request_id.clone()),
        grant,
        jwt: Some((jti, exp)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_window() {
        let ok = json!({"iss": "https://i", "exp": 200, "iat": 100, "nbf": 100, "client_id": "c", "jti": "j"});
        assert!(claims_in_window(&ok, "https://i", 150));
        assert!(!claims_in_window(&ok, "https://i", 200), "expired");
        assert!(!claims_in_window(&ok, "https://other", 150), "foreign issuer");
        let mut no_jti = ok.clone();
        no_jti.as_object_mut().unwrap().remove("jti");
        assert!(!claims_in_window(&no_jti, "https://i", 150));
        let mut future = ok.clone();
        future["nbf"] = json!(500);
        assert!(!claims_in_window(&future, "https://i", 150));
        assert!(looks_like_jwt("a.b.c") && !looks_like_jwt("ory_at_a.b") && !looks_like_jwt("a.b"));
    }
}
