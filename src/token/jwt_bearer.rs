//! `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1): an assertion signed by an
//! issuer the admin trusts (`/admin/trust/grants/jwt-bearer/issuers`) buys an access token for
//! its `sub`. Checks, as Hydra makes them: `iss` and `sub`; a trusted, unexpired key for that
//! issuer and subject (or an any-subject trust); the signature, with the algorithm the key
//! fits (never `none`, never HMAC); `aud` naming our token endpoint; `exp` present and future;
//! `nbf` past; `iat` present (unless `OAUTH2_GRANT_JWT_IAT_OPTIONAL`); `exp - iat` within
//! `OAUTH2_GRANT_JWT_MAX_TTL`; `jti` present (unless `OAUTH2_GRANT_JWT_JTI_OPTIONAL`) and used
//! once (`jti_known`, D1); requested scope within the trust's scope. No refresh token, no ID
//! token; the assertion's audience is not granted (Hydra's `omit_assertion_audience`).

use serde_json::Value;

use super::hook::{self, HookRequest};
use super::issue::{self, lifetimes, Grant as GrantData, GrantKind, ACCESS_TOKEN_TYP};
use super::{param, scope_param, Grant, GrantSpec};
use crate::authorize::scope::scope_allowed;
use crate::clients::model::Client;
use crate::crypto::{hex, jws, random_hex128, sha256};
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::platform::Platform;
use crate::store;
use crate::store::trust::TrustRow;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

pub const SPEC: GrantSpec = GrantSpec {
    grant_type: GRANT_TYPE,
    grant: Grant::JwtBearer,
    client_authentication: true,
    requires_permission: true,
};

/// Clock skew accepted on `iat`.
const LEEWAY: i64 = 60;

fn invalid(hint: impl Into<String>) -> ApiError {
    ApiError::invalid_grant().with_hint(hint)
}

/// The claim checks after the signature verified (pure; `accepted_aud`: our token URLs). Returns
/// the assertion's `exp` in whole seconds: how long its `jti` must be remembered.
pub fn check_claims(
    claims: &Value,
    accepted_aud: &[String],
    now: i64,
    cfg: &crate::config::JwtGrant,
) -> ApiResult<i64> {
    let aud: Vec<&str> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if aud.is_empty() {
        return Err(invalid("The JWT in 'assertion' request parameter MUST contain an 'aud' (audience) claim."));
    }
    if !aud.iter().any(|a| accepted_aud.iter().any(|x| x == a)) {
        return Err(invalid(format!(
            "The JWT in 'assertion' request parameter MUST contain an 'aud' (audience) claim containing a value '{}' that identifies the authorization server as an intended audience.",
            accepted_aud.join("' or '")
        )));
    }
    let number = |name: &str| jws::numeric_date(claims, name);
    let exp = number("exp").ok_or_else(|| {
        invalid("The JWT in 'assertion' request parameter MUST contain an 'exp' (expiration time) claim.")
    })?;
    if exp <= now {
        return Err(invalid("The JWT in 'assertion' request parameter expired."));
    }
    if let Some(nbf) = number("nbf") {
        if nbf > now {
            return Err(invalid(format!(
                "The JWT in 'assertion' request parameter contains an 'nbf' (not before) claim, that identifies the time '{}' before which the token MUST NOT be accepted.",
                crate::clients::rfc3339(nbf)
            )));
        }
    }
    let iat = number("iat");
    if iat.is_none() && !cfg.iat_optional {
        return Err(invalid("The JWT in 'assertion' request parameter MUST contain an 'iat' (issued at) claim."));
    }
    if let Some(iat) = iat {
        if iat > now + LEEWAY {
            return Err(invalid("The JWT in 'assertion' request parameter was issued in the future ('iat')."));
        }
    }
    let issued = iat.unwrap_or(now);
    // Saturating: an `iat` far in the past must not wrap the lifetime around to a small number.
    if exp.saturating_sub(issued) > cfg.max_ttl {
        return Err(invalid(format!(
            "The JWT in 'assertion' request parameter contains an 'exp' (expiration time) claim with value '{}' that is unreasonably far in the future, considering token issued at '{}'.",
            crate::clients::rfc3339(exp),
            crate::clients::rfc3339(issued)
        )));
    }
    let jti = claims.get("jti").and_then(Value::as_str).unwrap_or("");
    if jti.is_empty() && !cfg.jti_optional {
        return Err(invalid("The JWT in 'assertion' request parameter MUST contain an 'jti' (JWT ID) claim."));
    }
    Ok(exp)
}

pub async fn exchange<P: Platform>(ctx: &Ctx<'_, P>, client: &Client, form: &Form) -> ApiResult<Value> {
    let assertion = param(form, "assertion")?;
    if assertion.is_empty() {
        return Err(ApiError::invalid_request().with_hint(format!(
            "The assertion request parameter must be set when using grant_type of '{GRANT_TYPE}'."
        )));
    }
    let requested = scope_param(form)?;
    let parsed = jws::parse(assertion)
        .ok_or_else(|| invalid("Unable to parse JSON Web Token passed in 'assertion' request parameter."))?;
    let header_str = |n: &str| parsed.header.get(n).and_then(Value::as_str).unwrap_or("").to_string();
    let alg = header_str("alg");
    if header_str("typ").eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
        || header_str("typ").eq_ignore_ascii_case("application/at+jwt")
    {
        return Err(invalid("An access token cannot be used as an assertion."));
    }
    let claim_str = |n: &str| parsed.claims.get(n).and_then(Value::as_str).unwrap_or("").to_string();
    let (iss, sub) = (claim_str("iss"), claim_str("sub"));
    if iss.is_empty() {
        return Err(invalid("The JWT in 'assertion' request parameter MUST contain an 'iss' (issuer) claim."));
    }
    if sub.is_empty() {
        return Err(invalid("The JWT in 'assertion' request parameter MUST contain a 'sub' (subject) claim."));
    }
    let no_key = || {
        invalid(format!(
            "No public JWK was registered for issuer '{iss}' and subject '{sub}', and public key is required to check signature of JWT in 'assertion' request parameter."
        ))
    };
    let kid = header_str("kid");
    if kid.len() > 255 {
        return Err(no_key());
    }
    let candidates = store::trust::candidates(ctx.p, &iss, &sub, &kid).await?;
    if candidates.is_empty() {
        return Err(no_key());
    }
    let now = ctx.p.now();
    let live: Vec<&TrustRow> = candidates.iter().filter(|t| t.expires_at > now).collect();
    if live.is_empty() {
        return Err(invalid(format!("The trust relationship for issuer '{iss}' and subject '{sub}' has expired.")));
    }
    let mut trust = None;
    for t in live.into_iter().filter(|t| jws::trust_key_fits(&t.public_jwk, &alg)).take(8) {
        if ctx.p.verify(&t.public_jwk, &alg, parsed.signing_input.as_bytes(), &parsed.signature).await.unwrap_or(false)
        {
            trust = Some(t);
            break;
        }
    }
    let trust = trust.ok_or_else(|| invalid("Unable to verify the integrity of the 'assertion' value."))?;
    let accepted = vec![ctx.cfg.public("/oauth2/token"), ctx.cfg.under_issuer("/oauth2/token")];
    let exp = check_claims(&parsed.claims, &accepted, now, &ctx.cfg.jwt_grant)?;
    let allowed: Vec<&str> = trust.scope.iter().map(String::as_str).collect();
    if let Some(s) = requested.iter().find(|s| !scope_allowed(ctx.cfg.scope_strategy, &allowed, s)) {
        return Err(ApiError::invalid_scope().with_hint(format!(
            "The public key registered for issuer '{iss}' and subject '{sub}' is not allowed to request scope '{s}'."
        )));
    }
    let jti = claim_str("jti");
    if !jti.is_empty() {
        let key = hex(&sha256(format!("jwt-bearer\u{0}{iss}\u{0}{jti}").as_bytes()));
        if !store::tokens::remember_jti(ctx.p, &key, exp, now).await? {
            return Err(ApiError::jti_known().with_hint("The jti of the assertion was already used."));
        }
    }
    let lt = lifetimes(ctx.cfg, client, GrantKind::JwtBearer);
    let mut grant = GrantData {
        request_id: random_hex128(),
        client_id: client.client_id.clone(),
        subject: sub.clone(),
        scopes: requested.clone(),
        requested_at: now,
        ..Default::default()
    };
    hook::run(
        ctx,
        &mut grant,
        &HookRequest {
            grant_type: GRANT_TYPE,
            requested_scopes: &requested,
            assertion: Some(assertion),
            access_expires_at: now + lt.access,
            id_token_expires_at: None,
            refresh_expires_at: None,
        },
    )
    .await?;
    let access = issue::access_token(ctx, client, &grant, lt.access).await?;
    if access.jti().is_none() {
        store::tokens::insert_tokens(ctx.p, std::slice::from_ref(&access.row)).await?;
    }
    Ok(super::body(&access.token, lt.access, &grant.scopes, None, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg() -> crate::config::JwtGrant {
        crate::config::JwtGrant { jti_optional: false, iat_optional: false, max_ttl: 3600 }
    }

    const AUD: &str = "https://as.example/oauth2/token";

    fn ok_claims() -> Value {
        json!({"iss": "i", "sub": "s", "aud": AUD, "exp": 1100, "iat": 1000, "jti": "j"})
    }

    fn hint(mut claims: Value, k: &str, v: Value) -> String {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v;
        }
        check_claims(&claims, &[AUD.to_string()], 1000, &cfg()).unwrap_err().hint
    }

    #[test]
    fn claim_checks() {
        assert!(check_claims(&ok_claims(), &[AUD.to_string()], 1000, &cfg()).is_ok());
        assert!(check_claims(
            &json!({"aud": [AUD, "x"], "exp": 1100, "iat": 1000, "jti": "j"}),
            &[AUD.into()],
            1000,
            &cfg()
        )
        .is_ok());
        assert!(hint(ok_claims(), "aud", Value::Null).contains("'aud'"));
        assert!(hint(ok_claims(), "aud", json!("https://other/token")).contains("intended audience"));
        assert!(hint(ok_claims(), "exp", Value::Null).contains("'exp'"));
        assert!(hint(ok_claims(), "exp", json!(1000)).contains("expired"));
        assert!(hint(ok_claims(), "nbf", json!(1001)).contains("'nbf'"));
        assert!(hint(ok_claims(), "iat", Value::Null).contains("'iat'"));
        assert!(hint(ok_claims(), "iat", json!(1100)).contains("future"));
        assert!(hint(ok_claims(), "exp", json!(1000 + 3601)).contains("unreasonably far"));
        assert!(hint(ok_claims(), "jti", Value::Null).contains("'jti'"));
        let lax = crate::config::JwtGrant { jti_optional: true, iat_optional: true, max_ttl: 3600 };
        assert!(check_claims(&json!({"aud": AUD, "exp": 1100}), &[AUD.into()], 1000, &lax).is_ok());
    }

    /// A fractional `exp` is the assertion's lifetime and the `jti`'s memory alike: were the
    /// memory shorter (it once fell back to `now`), the assertion could be replayed every second.
    #[test]
    fn fractional_dates_are_dates() {
        let mut c = ok_claims();
        c["exp"] = json!(1100.5);
        assert_eq!(check_claims(&c, &[AUD.to_string()], 1000, &cfg()).unwrap(), 1100);
        assert!(hint(ok_claims(), "nbf", json!(1001.5)).contains("'nbf'"));
        assert!(hint(ok_claims(), "exp", json!(999.9)).contains("expired"));
        assert!(hint(ok_claims(), "exp", json!("1100")).contains("'exp'"));
    }

    /// An `iat` far in the past must not wrap `exp - iat` around and pass the lifetime check.
    #[test]
    fn lifetime_does_not_overflow() {
        assert!(hint(ok_claims(), "iat", json!(i64::MIN)).contains("unreasonably far"));
        let mut c = ok_claims();
        c["iat"] = json!(-1e300);
        c["exp"] = json!(i64::MAX);
        assert!(check_claims(&c, &[AUD.to_string()], 1000, &cfg()).unwrap_err().hint.contains("unreasonably far"));
    }
}
