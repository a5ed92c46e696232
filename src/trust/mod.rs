//! `/admin/trust/grants/jwt-bearer/issuers`: Hydra's trust relationships for the jwt-bearer
//! grant (RFC 7523): which issuer may assert which subject (or any subject), with which key,
//! for which scopes, until when. Create (201), list (pagination, `issuer` filter), get, delete.
//!
//! Unlike Hydra, the trusted public key is kept with the relationship rather than in a key set
//! named after the issuer; `public_key.set` still names the issuer, as Hydra's does.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::clients::rfc3339;
use crate::crypto::uuid_v4;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::pagination::{self, page_size};
use crate::platform::Platform;
use crate::store;
use crate::store::trust::TrustRow;

const PATH: &str = "/admin/trust/grants/jwt-bearer/issuers";
/// Hydra's `missing_required_parameter` (400).
fn missing(hint: &str) -> ApiError {
    ApiError::new(
        400,
        "missing_required_parameter",
        "One of the required parameters is missing. Check your request parameters.",
    )
    .with_hint(hint)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateTrust {
    issuer: String,
    subject: String,
    allow_any_subject: bool,
    scope: Option<Vec<String>>,
    jwk: Value,
    expires_at: String,
}

/// `trustedOAuth2JwtGrantIssuer`
pub fn view(t: &TrustRow) -> Value {
    json!({
        "id": t.id,
        "issuer": t.issuer,
        "subject": t.subject,
        "allow_any_subject": t.allow_any_subject,
        "scope": t.scope,
        "public_key": { "set": t.issuer, "kid": t.key_id },
        "created_at": rfc3339(t.created_at),
        "expires_at": rfc3339(t.expires_at),
    })
}

/// Validate a create request (Hydra's rules and messages); returns the row to store.
fn validate(body: CreateTrust, id: String, now: i64) -> ApiResult<TrustRow> {
    if body.issuer.is_empty() {
        return Err(missing("Field 'issuer' is required."));
    }
    if body.subject.is_empty() && !body.allow_any_subject {
        return Err(missing("One of 'subject' or 'allow_any_subject' field must be set."));
    }
    if !body.subject.is_empty() && body.allow_any_subject {
        return Err(missing("Both 'subject' and 'allow_any_subject' fields cannot be set at the same time."));
    }
    if body.expires_at.is_empty() {
        return Err(missing("Field 'expires_at' is required."));
    }
    let expires_at = crate::rfc3339::parse(&body.expires_at)
        .map_err(|e| ApiError::bad_request(format!("Field 'expires_at' must be an RFC 3339 date-time: it {e}.")))?;
    let kid = body.jwk.get("kid").and_then(Value::as_str).unwrap_or("").to_string();
    if kid.is_empty() {
        return Err(missing("Field 'jwk' must contain JWK with kid header."));
    }
    for (name, v) in [("issuer", &body.issuer), ("subject", &body.subject)] {
        if v.len() > 1024 {
            return Err(ApiError::bad_request(format!("Field '{name}' is too long.")));
        }
    }
    crate::keys::validate(&body.jwk).map_err(|e| ApiError::bad_request(format!("Field 'jwk' is invalid: {e}.")))?;
    let verifiable = |k: &Value| match k.get("kty").and_then(Value::as_str) {
        Some("EC" | "RSA") => true,
        // EdDSA over Ed25519 only (Ed448 cannot be verified in a Worker, X25519/X448 and an
        // `alg` other than EdDSA never verify a signature).
        Some("OKP") => crate::crypto::jws::trust_key_fits(k, "EdDSA"),
        _ => false,
    };
    let public = crate::keys::public_part(&body.jwk)
        .filter(verifiable)
        .ok_or_else(|| ApiError::bad_request("Field 'jwk' must be an EC, RSA or Ed25519 (OKP) public key."))?;
    Ok(TrustRow {
        pk: 0,
        id,
        issuer: body.issuer,
        subject: body.subject,
        allow_any_subject: body.allow_any_subject,
        scope: body.scope.unwrap_or_default(),
        key_id: kid,
        public_jwk: public,
        created_at: now,
        expires_at,
    })
}

/// `POST /admin/trust/grants/jwt-bearer/issuers`
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let body: CreateTrust = crate::ctx::parse_json_object(req)?;
    let row = validate(body, uuid_v4(), ctx.p.now())?;
    // The public key must also be a point of its curve (WebCrypto in the Worker).
    ctx.p
        .check_jwk(&row.public_jwk)
        .await?
        .map_err(|e| ApiError::bad_request(format!("Field 'jwk' is invalid: {e}.")))?;
    if !store::trust::insert(ctx.p, &row).await? {
        return Err(ApiError::conflict("A trust relationship for this issuer, subject and key id exists already."));
    }
    Ok(Response::json(201, &view(&row)).with_header("location", &format!("{PATH}/{}", row.id)))
}

fn parse_id(raw: &str) -> ApiResult<()> {
    if crate::crypto::is_uuid(raw) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("Unable to parse parameter id: {raw:?} is not a UUID")))
    }
}

fn not_found() -> ApiError {
    ApiError::not_found().with_description("The trust relationship does not exist.")
}

/// `GET /admin/trust/grants/jwt-bearer/issuers/{id}`
pub async fn get<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> ApiResult<Response> {
    parse_id(id)?;
    let row = store::trust::get(ctx.p, id).await?.ok_or_else(not_found)?;
    Ok(Response::json(200, &view(&row)))
}

/// `DELETE /admin/trust/grants/jwt-bearer/issuers/{id}`
pub async fn delete<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> ApiResult<Response> {
    parse_id(id)?;
    if !store::trust::delete(ctx.p, id).await? {
        return Err(not_found());
    }
    Ok(Response::new(204))
}

/// `GET /admin/trust/grants/jwt-bearer/issuers`: keyset pagination in creation order,
/// `issuer` filter, `Link` header with `rel="first"` and (unless last) `rel="next"`.
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let size = page_size(req.query_param("page_size").as_deref())?;
    let after = pagination::after(ctx, req).ok_or_else(|| {
        ApiError::bad_request("Unable to parse pagination parameters: the page_token is invalid or has expired.")
    })?;
    let issuer = req.query_param("issuer").unwrap_or_default();
    let mut rows = store::trust::list(ctx.p, after, size, &issuer).await?;
    let has_next = rows.len() as i64 > size;
    rows.truncate(size as usize);
    let next = if has_next { rows.last().map(|r| r.pk) } else { None };
    let links = pagination::link_header(ctx, req, &[("issuer", &issuer)], size, next);
    let body: Vec<Value> = rows.iter().map(view).collect();
    Ok(Response::json(200, &body).with_header("link", &links))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> CreateTrust {
        serde_json::from_value(v).unwrap()
    }

    fn ec_jwk() -> Value {
        let mut k = crate::keys::test_es256("k1", "sig");
        k.as_object_mut().unwrap().remove("d");
        k
    }

    #[test]
    fn validation_follows_hydra() {
        let ok = json!({"issuer": "https://idp", "subject": "alice", "scope": ["a"], "jwk": ec_jwk(), "expires_at": "2030-01-01T00:00:00Z"});
        let row = validate(body(ok.clone()), "id".into(), 1).unwrap();
        assert_eq!(row.key_id, "k1");
        assert_eq!(row.expires_at, 1893456000);
        let hint = |patch: Value| {
            let mut v = ok.clone();
            for (k, x) in patch.as_object().unwrap() {
                v[k] = x.clone();
            }
            validate(body(v), "id".into(), 1).unwrap_err()
        };
        assert_eq!(hint(json!({"issuer": ""})).error, "missing_required_parameter");
        assert!(hint(json!({"subject": ""})).hint.contains("One of 'subject'"));
        assert!(hint(json!({"allow_any_subject": true})).hint.contains("Both"));
        assert!(hint(json!({"expires_at": ""})).hint.contains("expires_at"));
        assert_eq!(hint(json!({"expires_at": "tomorrow"})).status, 400);
        assert!(hint(json!({"jwk": {"kty": "EC"}})).hint.contains("kid"));
        assert_eq!(hint(json!({"jwk": {"kty": "oct", "k": "AAAA", "kid": "h"}})).status, 400);
        let with_private = validate(body(json!({"issuer": "i", "allow_any_subject": true, "jwk": crate::keys::test_es256("p", "sig"), "expires_at": "2030-01-01T00:00:00Z"})), "id".into(), 1).unwrap();
        assert!(with_private.public_jwk.get("d").is_none(), "only the public part is kept");
        assert_eq!(with_private.subject, "");
    }
}
