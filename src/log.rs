//! The one structured log line per request: route, status, duration, client, grant type and
//! error code, as a small JSON object the Worker shell prints with one `console.log`.
//!
//! What may appear is chosen here, not by the callers: the route is the route table's name
//! (never the raw path or query), the grant type only one of the known names, the client id only
//! once the client was found, the error code only a short server-made code. Secrets, tokens,
//! codes, challenges and cookies have no field to go into.

use std::cell::{Cell, RefCell};

use serde::Serialize;

use crate::config::RequestLogLevel;
use crate::http::Response;

/// Grant types the line names; anything else a client sends is logged as `other`.
const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "implicit",
    "password",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

/// Client ids are limited like this in the store; longer input is not a client id.
const MAX_CLIENT_ID: usize = 255;

/// What handlers note about the request while they run (through `Ctx::log`).
#[derive(Debug, Default)]
pub struct RequestLog {
    route: RefCell<String>,
    admin: Cell<bool>,
    client_id: RefCell<Option<String>>,
    grant_type: Cell<Option<&'static str>>,
    /// Flow events and implicit issuance, for the metrics ([`crate::metrics`]); not logged.
    flow_started: Cell<Option<&'static str>>,
    flow_completed: Cell<Option<&'static str>>,
    implicit_tokens: Cell<bool>,
    /// The answer is a copy of per-isolate memory that stays the same until this time
    /// (milliseconds since the epoch), whoever asks (see [`RequestLog::replayable_until`]).
    replayable_until: Cell<Option<i64>>,
}

/// What the metrics count of one request (besides its response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub route: String,
    pub grant_type: Option<&'static str>,
    pub flow_started: Option<&'static str>,
    pub flow_completed: Option<&'static str>,
    /// Tokens were issued from the authorization endpoint (`response_type` with `token` or
    /// `id_token`).
    pub implicit_tokens: bool,
}

impl RequestLog {
    pub fn new() -> RequestLog {
        RequestLog::default()
    }

    /// The route that served the request (the router's name for it).
    pub fn route(&self, name: String, admin: bool) {
        *self.route.borrow_mut() = name;
        self.admin.set(admin);
    }

    /// The answer (a cacheable document) is the same for every request of this URL without
    /// `Origin` or conditional headers until `at_ms` (the end of the bound of the copy it came
    /// from), so the Worker shell may replay it from memory until then without running the
    /// request (src/worker/replay.mjs).
    pub fn replayable_until(&self, at_ms: i64) {
        self.replayable_until.set(Some(at_ms));
    }

    pub fn replayable_until_ms(&self) -> Option<i64> {
        self.replayable_until.get()
    }

    /// The client the request is for, once it was found or authenticated.
    pub fn client(&self, client_id: &str) {
        if !client_id.is_empty() && client_id.len() <= MAX_CLIENT_ID {
            *self.client_id.borrow_mut() = Some(client_id.to_string());
        }
    }

    /// The `grant_type` of a token request.
    pub fn grant_type(&self, grant_type: &str) {
        let known = GRANT_TYPES.iter().find(|g| **g == grant_type).copied().unwrap_or("other");
        self.grant_type.set(Some(known));
    }

    /// Whether this request writes a line at all: with `LOG_LEVEL` at `warn`, only server errors
    /// (5xx) and refusals (401, 403, 429); at `error` and quieter, only server errors; otherwise
    /// not a successful health probe
    /// (`SERVE_REQUEST_LOG_DISABLE_FOR_HEALTH`) or a successful fetch of a well-known document
    /// (`SERVE_REQUEST_LOG_DISABLE_FOR_DISCOVERY`) when those settings are on.
    pub fn wanted(&self, response: &Response, cfg: Option<&crate::config::Config>) -> bool {
        let Some(cfg) = cfg else { return true };
        match cfg.request_log_level {
            RequestLogLevel::All => {}
            // Refused credentials and rate limits are what an operator at `warn` still watches.
            RequestLogLevel::Warn => return response.status >= 500 || matches!(response.status, 401 | 403 | 429),
            RequestLogLevel::Error => return response.status >= 500,
        }
        if response.status >= 400 {
            return true;
        }
        let route = self.route.borrow();
        let quiet = match route.as_str() {
            "HealthAlive" | "HealthReady" => cfg.request_log_disable_for_health,
            "Discovery" | "Jwks" => cfg.request_log_disable_for_discovery,
            _ => false,
        };
        !quiet
    }

    /// A login, consent, logout, device or v0.10 consent flow began (the browser was sent to
    /// the app, or the device got its codes).
    pub fn flow_started(&self, flow: &'static str) {
        self.flow_started.set(Some(flow));
    }

    /// A flow ended well: its verifier was redeemed.
    pub fn flow_completed(&self, flow: &'static str) {
        self.flow_completed.set(Some(flow));
    }

    /// The authorization endpoint issued an access or ID token.
    pub fn implicit_tokens(&self) {
        self.implicit_tokens.set(true);
    }

    /// What the metrics count of this request.
    pub fn observed(&self) -> Observed {
        let route = self.route.borrow();
        Observed {
            route: if route.is_empty() { "unmatched".to_string() } else { route.clone() },
            grant_type: self.grant_type.get(),
            flow_started: self.flow_started.get(),
            flow_completed: self.flow_completed.get(),
            implicit_tokens: self.implicit_tokens.get(),
        }
    }

    /// The line for this request as it ended with `response` after `duration_ms`.
    pub fn line(&self, method: &'static str, response: &Response, duration_ms: u64) -> String {
        let route = self.route.borrow();
        let client_id = self.client_id.borrow();
        let line = Line {
            msg: "request",
            method,
            route: if route.is_empty() { "unmatched" } else { route.as_str() },
            admin: self.admin.get(),
            status: response.status,
            duration_ms,
            client_id: client_id.as_deref(),
            grant_type: self.grant_type.get(),
            error: error_code_of(response),
        };
        // A struct of strings and numbers always serialises.
        serde_json::to_string(&line).unwrap_or_default()
    }
}

#[derive(Serialize)]
struct Line<'a> {
    msg: &'static str,
    method: &'static str,
    route: &'a str,
    admin: bool,
    status: u16,
    duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The route's name as the route table spells it: the variant name without its data (which
/// holds client ids, key set names and the like).
pub fn route_name(route: &impl std::fmt::Debug) -> String {
    let mut name = format!("{route:?}");
    name.truncate(name.find(['(', ' ', '{']).unwrap_or(name.len()));
    name
}

/// The error code an error response carries: `error` of an `errorOAuth2`/`genericError` JSON
/// body, or the `error` parameter of a redirect to the client (authorization errors).
pub fn error_code_of(response: &Response) -> Option<String> {
    let code = if response.status >= 400 {
        #[derive(serde::Deserialize)]
        struct Body {
            error: Option<String>,
        }
        crate::ctx::json_from_bytes::<Body>(&response.body).ok()?.error?
    } else if (300..400).contains(&response.status) {
        let location = response.header("location")?;
        let (_, params) = location.split_once(['?', '#'])?;
        let params = params.replace('#', "&");
        form_urlencoded::parse(params.as_bytes()).find(|(k, _)| k == "error").map(|(_, v)| v.into_owned())?
    } else {
        return None;
    };
    plausible_code(&code).then_some(code)
}

/// Error codes are short phrases the server writes (`invalid_grant`, herodot's "Unable to locate
/// the resource"); anything else is not logged.
fn plausible_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 100
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b' ' | b'-' | b'.' | b','))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parsed(line: &str) -> Value {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn a_plain_request_logs_route_status_and_duration_only() {
        let log = RequestLog::new();
        log.route("HealthReady".into(), false);
        let v = parsed(&log.line("GET", &Response::new(200), 3));
        assert_eq!(
            v,
            json!({"msg": "request", "method": "GET", "route": "HealthReady", "admin": false, "status": 200, "duration_ms": 3})
        );
    }

    #[test]
    fn token_requests_log_client_grant_and_error() {
        let log = RequestLog::new();
        log.route("Token".into(), false);
        log.grant_type("authorization_code");
        log.client("my-client");
        let resp = Response::json(400, &json!({"error": "invalid_grant", "error_description": "code SECRET"}));
        let v = parsed(&log.line("POST", &resp, 12));
        assert_eq!(v["client_id"], "my-client");
        assert_eq!(v["grant_type"], "authorization_code");
        assert_eq!(v["error"], "invalid_grant");
        assert!(!v.to_string().contains("SECRET"), "descriptions never reach the log");
    }

    #[test]
    fn unknown_grant_types_are_not_echoed() {
        let log = RequestLog::new();
        log.grant_type("my-secret-value");
        let v = parsed(&log.line("POST", &Response::new(400), 1));
        assert_eq!(v["grant_type"], "other");
        assert_eq!(v["route"], "unmatched");
    }

    #[test]
    fn oversized_or_empty_client_ids_are_dropped() {
        let log = RequestLog::new();
        log.client("");
        log.client(&"x".repeat(300));
        assert!(parsed(&log.line("GET", &Response::new(200), 0)).get("client_id").is_none());
    }

    #[test]
    fn redirect_errors_are_read_from_the_location() {
        let r = Response::redirect(303, "https://rp.example/cb?error=access_denied&state=s3cr3t");
        assert_eq!(error_code_of(&r).as_deref(), Some("access_denied"));
        let r = Response::redirect(303, "https://rp.example/cb#error=login_required&state=x");
        assert_eq!(error_code_of(&r).as_deref(), Some("login_required"));
        let ok = Response::redirect(303, "https://rp.example/cb?code=abc&state=s");
        assert_eq!(error_code_of(&ok), None);
    }

    #[test]
    fn odd_error_values_are_not_logged() {
        let r = Response::json(400, &json!({"error": "<script>\n"}));
        assert_eq!(error_code_of(&r), None);
        let r = Response::json(404, &json!({"error": "Unable to locate the resource"}));
        assert_eq!(error_code_of(&r).as_deref(), Some("Unable to locate the resource"));
        assert_eq!(error_code_of(&Response::new(500).with_body(b"not json".to_vec())), None);
    }

    #[test]
    fn log_level_warn_keeps_refusals_and_server_errors_error_keeps_server_errors() {
        use crate::config::tests::lookup;
        use crate::config::Config;
        let cfg = |level: Option<&str>| {
            let mut vars =
                vec![("URLS_SELF_ISSUER", "https://auth.example.com"), ("SECRETS_SYSTEM", "0123456789abcdef0123")];
            if let Some(l) = level {
                vars.push(("LOG_LEVEL", l));
            }
            Config::from_lookup(lookup(&vars)).unwrap()
        };
        let log = RequestLog::new();
        log.route("Token".into(), false);
        let (ok, bad, broken) = (Response::new(200), Response::new(400), Response::new(500));
        for level in [None, Some("info"), Some("DEBUG"), Some("trace")] {
            let c = cfg(level);
            assert!(
                log.wanted(&ok, Some(&c)) && log.wanted(&bad, Some(&c)) && log.wanted(&broken, Some(&c)),
                "{level:?}"
            );
        }
        let (refused, limited) = (Response::new(401), Response::new(429));
        for level in ["warn", "warning", "error", "fatal", "panic"] {
            let c = cfg(Some(level));
            assert!(!log.wanted(&ok, Some(&c)) && !log.wanted(&bad, Some(&c)), "{level}");
            assert!(log.wanted(&broken, Some(&c)), "{level}: a server error is still logged");
            let warn = level.starts_with("warn");
            assert_eq!(log.wanted(&refused, Some(&c)), warn, "{level}: refused credentials");
            assert_eq!(log.wanted(&limited, Some(&c)), warn, "{level}: rate limited");
        }
        let refused = Config::from_lookup(lookup(&[
            ("URLS_SELF_ISSUER", "https://auth.example.com"),
            ("SECRETS_SYSTEM", "0123456789abcdef0123"),
            ("LOG_LEVEL", "loud"),
        ]));
        assert!(refused.is_err(), "an unknown level is a configuration error");
    }

    #[test]
    fn route_names_drop_the_route_data() {
        #[derive(Debug)]
        #[allow(dead_code)]
        enum R {
            Client(String),
            Key(String, String),
            Token,
        }
        assert_eq!(route_name(&R::Client("secret-id".into())), "Client");
        assert_eq!(route_name(&R::Key("a".into(), "b".into())), "Key");
        assert_eq!(route_name(&R::Token), "Token");
    }
}
