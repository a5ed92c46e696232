//! `POST /oauth2/flush` (Hydra v0.11 to v1.x): delete what has expired, on demand. It runs the
//! cleanup the cron job runs ([`crate::store::delete_expired`]), bounded by `notAfter`: rows
//! that expired at or after `notAfter` are kept (for auditing, as Hydra documents it).
//!
//! Hydra flushed access tokens requested before `notAfter` that had expired; here every expired
//! row older than the cutoff goes (tokens, codes, redeemed-flow markers, jtis, sessions), which
//! is what the scheduled job removes anyway. Each call removes at most
//! [`crate::store::CLEANUP_BATCH`] rows per table, in one transaction.

use serde::Deserialize;
use serde_json::Value;

use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::platform::Platform;

/// `flushInactiveOAuth2TokensRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FlushRequest {
    #[serde(default)]
    not_after: Option<String>,
}

/// The cutoff a request asks for (seconds since the epoch), or none. The body is optional, and
/// `null` (what generated SDKs send for "no body") counts as none.
pub fn not_after(body: &[u8]) -> ApiResult<Option<i64>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}.")))?;
    if value.is_null() {
        return Ok(None);
    }
    let req: FlushRequest = serde_json::from_value(value).map_err(|e| {
        ApiError::bad_request(format!("The body must be {{\"notAfter\": \"<RFC 3339 date-time>\"}}: {e}."))
    })?;
    match req.not_after.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => crate::rfc3339::parse(&s).map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "The notAfter must be an RFC 3339 date-time such as \"2024-01-31T12:00:00Z\", got \"{s}\"."
            ))
        }),
    }
}

/// `POST /oauth2/flush`: 204 once the expired rows before the cutoff are gone.
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let now = ctx.p.now();
    let cutoff = not_after(&req.body)?.map(|t| t.min(now)).unwrap_or(now);
    crate::store::delete_expired(ctx.p, cutoff).await?;
    Ok(Response::new(204))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_hydra_sdks_send() {
        assert_eq!(not_after(b"").unwrap(), None);
        assert_eq!(not_after(b"null").unwrap(), None);
        assert_eq!(not_after(b"{}").unwrap(), None);
        assert_eq!(not_after(br#"{"notAfter":"1970-01-01T00:01:40Z"}"#).unwrap(), Some(100));
        assert_eq!(not_after(br#"{"notAfter":"2020-01-01T01:00:00+01:00"}"#).unwrap(), Some(1_577_836_800));
    }

    #[test]
    fn bad_bodies_are_400() {
        for body in [
            &br#"{"notAfter":"yesterday"}"#[..],
            br#"{"not_after":"2020-01-01T00:00:00Z"}"#,
            b"[",
            b"[1]",
            br#"{"notAfter":5}"#,
        ] {
            assert_eq!(not_after(body).unwrap_err().status, 400, "{}", String::from_utf8_lossy(body));
        }
    }
}
