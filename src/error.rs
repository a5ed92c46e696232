//! The one error type of the server and its two renderings.
//!
//! * OAuth endpoints render Hydra's `errorOAuth2`: `error` (an RFC 6749 code), `error_description`
//!   (the base description followed by the hint, as Hydra emits it), `error_hint` and
//!   `status_code`. Token-endpoint errors also get `Cache-Control: no-store`.
//! * Admin endpoints render Hydra's `genericError` (`message`, `reason`, `code`, `status`), merged
//!   with the flat `{"error", "error_description"}` form that Hydra's error enhancer actually puts
//!   on the wire, so Ory's SDKs decode it whichever of the two models an operation declares.

use serde_json::{json, Value};

use crate::http::{Response, JSON, OAUTH_JSON};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// The RFC 6749 error code (`invalid_request`) or, for admin errors, herodot's message.
    pub error: String,
    /// The fixed description of the error kind.
    pub description: String,
    /// What exactly went wrong in this request.
    pub hint: String,
    /// Internal details, only rendered when `OAUTH2_EXPOSE_INTERNAL_ERRORS` is on.
    pub debug: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Seconds in `Retry-After` of a 429: Cloudflare's longest rate-limit period.
pub const RATE_LIMIT_RETRY_AFTER_SECS: u32 = 60;
/// Seconds in `Retry-After` of a 503 (a store or backend did not answer).
pub const OUTAGE_RETRY_AFTER_SECS: u32 = 5;

macro_rules! oauth_errors {
    ($($fn:ident => ($code:literal, $status:literal, $desc:literal)),* $(,)?) => {
        impl ApiError {
            $(
                #[doc = concat!("`", $code, "` (", stringify!($status), ")")]
                pub fn $fn() -> ApiError {
                    ApiError::new($status, $code, $desc)
                }
            )*
        }
    };
}

oauth_errors! {
    invalid_request => ("invalid_request", 400, "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed."),
    invalid_client => ("invalid_client", 401, "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)."),
    invalid_grant => ("invalid_grant", 400, "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."),
    unauthorized_client => ("unauthorized_client", 400, "The client is not authorized to request a token using this method."),
    unsupported_grant_type => ("unsupported_grant_type", 400, "The authorization grant type is not supported by the authorization server."),
    invalid_scope => ("invalid_scope", 400, "The requested scope is invalid, unknown, or malformed."),
    access_denied => ("access_denied", 403, "The resource owner or authorization server denied the request."),
    unsupported_response_type => ("unsupported_response_type", 400, "The authorization server does not support obtaining a token using this method."),
    unsupported_response_mode => ("unsupported_response_mode", 400, "The authorization server does not support obtaining a response using this response mode."),
    server_error => ("server_error", 500, "The authorization server encountered an unexpected condition that prevented it from fulfilling the request."),
    temporarily_unavailable => ("temporarily_unavailable", 503, "The authorization server is currently unable to handle the request due to a temporary overloading or maintenance of the server."),
    invalid_state => ("invalid_state", 400, "The state is missing or does not have enough characters and is therefore considered too weak."),
    insufficient_entropy => ("insufficient_entropy", 400, "The request used a security parameter (e.g., anti-replay, anti-csrf) with insufficient entropy."),
    login_required => ("login_required", 400, "The Authorization Server requires End-User authentication."),
    consent_required => ("consent_required", 400, "The Authorization Server requires End-User consent."),
    interaction_required => ("interaction_required", 400, "The Authorization Server requires End-User interaction of some form to proceed."),
    request_unauthorized => ("request_unauthorized", 401, "The request could not be authorized."),
    request_forbidden => ("request_forbidden", 403, "The request is not allowed."),
    invalid_client_metadata => ("invalid_client_metadata", 400, "The value of one of the Client Metadata fields is invalid and the server has rejected this request. Note that an Authorization Server MAY choose to substitute a valid value for any requested parameter of a Client's Metadata."),
    invalid_redirect_uri => ("invalid_redirect_uri", 400, "The value of one or more redirect_uris is invalid."),
    jti_known => ("jti_known", 400, "The jti was already used."),
    registration_not_supported => ("registration_not_supported", 400, "The OP does not support use of the registration parameter."),
    request_not_supported => ("request_not_supported", 400, "The OP does not support use of the request parameter."),
    request_uri_not_supported => ("request_uri_not_supported", 400, "The OP does not support use of the request_uri parameter."),
    authorization_pending => ("authorization_pending", 400, "The authorization request is still pending as the end user hasn't yet completed the user-interaction steps."),
    slow_down => ("slow_down", 400, "The authorization request was rate-limited to prevent system overload."),
    expired_token => ("expired_token", 400, "The device_code has expired, and the device authorization session has concluded."),
}

impl ApiError {
    pub fn new(status: u16, error: &str, description: &str) -> ApiError {
        ApiError {
            status,
            error: error.to_string(),
            description: description.to_string(),
            hint: String::new(),
            debug: String::new(),
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> ApiError {
        self.hint = hint.into();
        self
    }

    pub fn with_debug(mut self, debug: impl Into<String>) -> ApiError {
        self.debug = debug.into();
        self
    }

    pub fn with_description(mut self, description: impl Into<String>) -> ApiError {
        self.description = description.into();
        self
    }

    // --- Admin (herodot) errors, with the messages Hydra uses. ---

    pub fn not_found() -> ApiError {
        ApiError::new(404, "Unable to locate the resource", "")
    }

    pub fn bad_request(reason: impl Into<String>) -> ApiError {
        ApiError::new(400, "The request was malformed or contained invalid parameters", "").with_description(reason)
    }

    pub fn conflict(reason: impl Into<String>) -> ApiError {
        ApiError::new(409, "Unable to insert or update resource because a resource with that value exists already", "")
            .with_description(reason)
    }

    pub fn unauthorized(reason: impl Into<String>) -> ApiError {
        ApiError::new(401, "The request could not be authorized", "").with_description(reason)
    }

    pub fn method_not_allowed(allowed: &str) -> ApiError {
        ApiError::new(405, "The requested HTTP method is not supported for this resource", "")
            .with_description(format!("Allowed methods: {allowed}."))
    }

    /// 429: a rate limit was reached. The error code keeps OAuth clients parsing the body.
    pub fn rate_limited(what: &str) -> ApiError {
        ApiError::new(
            429,
            "temporarily_unavailable",
            "The request was refused because too many similar requests were made.",
        )
        .with_hint(format!("Too many {what}; retry after the time given in the Retry-After header."))
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(413, "The request body is too large", "")
            .with_description(format!("Request bodies are limited to {limit} bytes."))
    }

    /// The same refusal under RFC 6749's `invalid_request` code (its status kept), for an OAuth
    /// endpoint: the admin error's message becomes the description.
    pub fn as_invalid_request(mut self) -> ApiError {
        let message = std::mem::replace(&mut self.error, "invalid_request".into());
        self.hint = std::mem::replace(&mut self.description, message + ".");
        self
    }

    pub fn internal(reason: impl Into<String>) -> ApiError {
        ApiError::new(500, "An internal server error occurred, please contact the system administrator", "")
            .with_debug(reason)
    }

    /// Description followed by the hint, the way Hydra writes `error_description`.
    pub fn full_description(&self, expose_debug: bool) -> String {
        let mut out = String::new();
        let debug = if expose_debug { self.debug.as_str() } else { "" };
        for part in [self.description.as_str(), self.hint.as_str(), debug] {
            if part.is_empty() {
                continue;
            }
            if !out.is_empty() {
                // Some of Hydra's descriptions ("Unsupported key algorithm") end without a stop.
                if !out.ends_with(['.', '!', '?']) {
                    out.push('.');
                }
                out.push(' ');
            }
            out.push_str(part);
        }
        sanitize(&out)
    }

    /// Hydra's `errorOAuth2`.
    pub fn oauth_body(&self, expose_debug: bool) -> Value {
        let mut body = json!({
            "error": self.error,
            "error_description": self.full_description(expose_debug),
            "status_code": self.status,
        });
        if !self.hint.is_empty() {
            body["error_hint"] = json!(sanitize(&self.hint));
        }
        if expose_debug && !self.debug.is_empty() {
            body["error_debug"] = json!(self.debug);
        }
        body
    }

    /// Hydra's `genericError`, merged with the flat form Hydra's admin API emits.
    pub fn admin_body(&self, expose_debug: bool) -> Value {
        let description = self.full_description(expose_debug);
        let mut body = json!({
            "error": self.error,
            "error_description": description,
            "status_code": self.status,
            "code": self.status,
            "status": status_text(self.status),
            "message": self.error,
            "reason": description,
        });
        if !self.hint.is_empty() {
            body["error_hint"] = json!(sanitize(&self.hint));
        }
        if expose_debug && !self.debug.is_empty() {
            body["debug"] = json!(self.debug);
        }
        body
    }

    pub fn oauth_response(&self, expose_debug: bool) -> Response {
        self.retry_after(Response::json_typed(self.status, &self.oauth_body(expose_debug), OAUTH_JSON).no_store())
    }

    pub fn admin_response(&self, expose_debug: bool) -> Response {
        self.retry_after(Response::json_typed(self.status, &self.admin_body(expose_debug), JSON))
    }

    /// `Retry-After` on 429 (the longest rate-limit period, 60 s) and 503 (an outage).
    fn retry_after(&self, r: Response) -> Response {
        match self.status {
            429 => r.with_header("retry-after", &RATE_LIMIT_RETRY_AFTER_SECS.to_string()),
            503 => r.with_header("retry-after", &OUTAGE_RETRY_AFTER_SECS.to_string()),
            _ => r,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.error, self.status, self.full_description(false))
    }
}

/// Keep `error_description` within the characters RFC 6749 §5.2 allows
/// (`%x20-21 / %x23-5B / %x5D-7E`): Hydra swaps `"` for `'`; we also drop `\` and non-ASCII.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            '\t' | '\n' | '\r' => ' ',
            c if (' '..='~').contains(&c) => c,
            _ => '?',
        })
        .collect()
}

pub fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_body_joins_description_and_hint() {
        let e = ApiError::invalid_request().with_hint("The \"grant_type\" parameter is missing.");
        let b = e.oauth_body(false);
        assert_eq!(b["error"], "invalid_request");
        assert_eq!(b["status_code"], 400);
        assert!(b["error_description"].as_str().unwrap().ends_with("The 'grant_type' parameter is missing."));
        assert_eq!(b["error_hint"], "The 'grant_type' parameter is missing.");
        assert!(b.get("error_debug").is_none());
    }

    #[test]
    fn debug_only_when_exposed() {
        let e = ApiError::internal("d1 exploded");
        assert!(!e.admin_body(false).to_string().contains("d1 exploded"));
        assert_eq!(e.admin_body(true)["debug"], "d1 exploded");
    }

    #[test]
    fn admin_body_is_generic_error_and_flat_error() {
        let b = ApiError::not_found().admin_body(false);
        assert_eq!(b["message"], "Unable to locate the resource");
        assert_eq!(b["error"], "Unable to locate the resource");
        assert_eq!(b["code"], 404);
        assert_eq!(b["status"], "Not Found");
    }

    #[test]
    fn token_errors_are_not_cached() {
        let r = ApiError::invalid_grant().oauth_response(false);
        assert_eq!(r.status, 400);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("pragma"), Some("no-cache"));
    }

    #[test]
    fn outages_and_rate_limits_say_when_to_retry() {
        let e: ApiError = crate::platform::PlatformError("D1: database is locked".into()).into();
        let r = e.oauth_response(false);
        assert_eq!(r.status, 503);
        assert_eq!(r.header("retry-after"), Some("5"));
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.contains("temporarily_unavailable") && !body.contains("locked"), "{body}");
        let r = ApiError::rate_limited("failed attempts").admin_response(false);
        assert_eq!((r.status, r.header("retry-after")), (429, Some("60")));
        assert!(ApiError::invalid_request().oauth_response(false).header("retry-after").is_none());
    }

    #[test]
    fn sanitizes_description() {
        assert_eq!(sanitize("a\"b\\c\né"), "a'b/c ?");
    }
}
