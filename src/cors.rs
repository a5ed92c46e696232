//! Cross-origin resource sharing, as Hydra does it (`x/oauth2cors` over `rs/cors`), applied by
//! the dispatcher by path so that every route under a path gets it, whoever adds the route.
//!
//! * Off unless `SERVE_PUBLIC_CORS_ENABLED`.
//! * [`Scope::PerClient`] paths (`/oauth2/token`, `/oauth2/revoke`, `/userinfo`,
//!   `/.well-known/*`): an origin is allowed when the global list allows it (an empty list allows
//!   every origin, as in Hydra), on every preflight, or when it matches the `allowed_cors_origins`
//!   of the client the request names (form `client_id`, Basic-auth user, or the client of a
//!   bearer access token).
//! * [`Scope::Global`]: the other public routes, with the global list only (Hydra's serve-level
//!   middleware).
//! * Never on admin routes, and never on `/oauth2/auth` (RFC 9700 §2.6).
//!
//! Wildcards: `scheme://*` allows every origin of that scheme; otherwise one `*` stands for part
//! of one DNS label (`https://*.example.com`), and only when it is bounded by a registrable
//! domain (not `https://*.com`, `https://*example.com`, `https://app.*`), like Hydra's check.

use crate::http::{Method, Request, Response};

/// `SERVE_PUBLIC_CORS_*`, with Hydra's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub enabled: bool,
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub exposed_headers: Vec<String>,
    pub allow_credentials: bool,
    pub max_age: u32,
}

pub const DEFAULT_METHODS: &[&str] = &["POST", "GET", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD", "OPTIONS", "TRACE"];
pub const DEFAULT_HEADERS: &[&str] =
    &["Accept", "Content-Type", "Content-Length", "Accept-Language", "Content-Language", "Authorization"];
pub const DEFAULT_EXPOSED: &[&str] =
    &["Cache-Control", "Expires", "Last-Modified", "Pragma", "Content-Length", "Content-Language", "Content-Type"];

impl Default for Settings {
    fn default() -> Settings {
        let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Settings {
            enabled: false,
            allowed_origins: Vec::new(),
            allowed_methods: own(DEFAULT_METHODS),
            allowed_headers: own(DEFAULT_HEADERS),
            exposed_headers: own(DEFAULT_EXPOSED),
            allow_credentials: true,
            max_age: 0,
        }
    }
}

/// Which CORS policy a path gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    None,
    Global,
    PerClient,
}

/// The policy of a path. Admin paths (and Hydra v1's unprefixed admin aliases, which the router
/// marks admin) never get CORS; the caller passes what the router decided, or `None` for a path
/// it does not know.
pub fn scope_of(path: &str, admin: Option<bool>) -> Scope {
    let path = path.trim_end_matches('/');
    if admin == Some(true) || path == "/admin" || path.starts_with("/admin/") {
        return Scope::None;
    }
    match path {
        "/oauth2/auth" => Scope::None,
        "/oauth2/token" | "/oauth2/revoke" | "/userinfo" => Scope::PerClient,
        p if p.starts_with("/.well-known/") => Scope::PerClient,
        _ if admin == Some(false) => Scope::Global,
        _ => Scope::None,
    }
}

/// A preflight: `OPTIONS` with `Access-Control-Request-Method`.
pub fn is_preflight(req: &Request) -> bool {
    req.method == Method::Options && req.header("access-control-request-method").is_some()
}

/// Does the global list allow `origin` (lower-cased)? Empty lists allow everything (Hydra).
pub fn globally_allowed(settings: &Settings, origin: &str) -> bool {
    settings.allowed_origins.is_empty() || settings.allowed_origins.iter().any(|p| pattern_matches(p, origin))
}

/// Does one origin pattern (global or a client's) match `origin` (lower-cased)?
pub fn pattern_matches(pattern: &str, origin: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    if pattern == "*" {
        return true;
    }
    if let Some((scheme, "*")) = pattern.split_once("://") {
        return origin.strip_prefix(scheme).map(|r| r.starts_with("://")).unwrap_or(false);
    }
    if !pattern.contains('*') {
        return pattern == origin;
    }
    // One wildcard per pattern (Hydra's schema says so): more would also make matching costly.
    if pattern.matches('*').count() > 1 || origin.len() > 512 || !bounded_wildcard(&pattern) {
        return false;
    }
    glob_label(&pattern, origin)
}

/// `*` matches any run of characters other than `.` (a glob with `.` as separator).
fn glob_label(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else { return false };
            // Try every split of `rest` whose consumed part has no '.'.
            let mut end = 0;
            loop {
                if glob_label(tail, &rest[end..]) {
                    return true;
                }
                match rest[end..].chars().next() {
                    Some(c) if c != '.' => end += c.len_utf8(),
                    _ => return false,
                }
            }
        }
    }
}

/// Multi-label public suffixes and shared-hosting domains under which anyone can register a
/// name; a wildcard directly above one of them is unbounded. (Hydra consults the full public
/// suffix list; this short list keeps the Worker small and covers the common cases.)
const PUBLIC_SUFFIXES: &[&str] = &[
    "co.uk",
    "org.uk",
    "ac.uk",
    "gov.uk",
    "me.uk",
    "ltd.uk",
    "plc.uk",
    "net.uk",
    "com.au",
    "net.au",
    "org.au",
    "edu.au",
    "gov.au",
    "co.nz",
    "org.nz",
    "co.jp",
    "ne.jp",
    "or.jp",
    "ac.jp",
    "go.jp",
    "co.kr",
    "or.kr",
    "com.br",
    "net.br",
    "org.br",
    "com.cn",
    "net.cn",
    "org.cn",
    "com.mx",
    "com.ar",
    "com.tr",
    "co.in",
    "co.za",
    "com.sg",
    "com.hk",
    "com.tw",
    "co.il",
    "com.pl",
    "co.id",
    "com.my",
    "com.ph",
    "com.vn",
    "github.io",
    "gitlab.io",
    "vercel.app",
    "netlify.app",
    "pages.dev",
    "workers.dev",
    "herokuapp.com",
    "appspot.com",
    "web.app",
    "firebaseapp.com",
    "azurewebsites.net",
    "cloudfront.net",
    "amazonaws.com",
    "blogspot.com",
    "onrender.com",
    "fly.dev",
    "ngrok.io",
    "ngrok.app",
    "glitch.me",
    "repl.co",
    "surge.sh",
    "now.sh",
];

/// Is the last `*` of the pattern confined to one label above a registrable domain?
fn bounded_wildcard(pattern: &str) -> bool {
    let star = pattern.rfind('*').unwrap_or(0);
    let Some((_, base)) = pattern[star..].split_once('.') else { return false };
    let host = base.split(':').next().unwrap_or("");
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2 && labels.iter().all(|l| !l.is_empty() && !l.contains('*')) && !PUBLIC_SUFFIXES.contains(&host)
}

/// Answer a preflight (no handler runs): 204 with Vary and, when allowed, the CORS headers.
pub fn preflight(settings: &Settings, scope: Scope, req: &Request) -> Response {
    let mut r =
        Response::new(204).with_header("vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    let origin = req.header("origin").unwrap_or("");
    if origin.is_empty() {
        return r;
    }
    let allowed = match scope {
        Scope::PerClient => true,
        Scope::Global => globally_allowed(settings, &origin.to_ascii_lowercase()),
        Scope::None => false,
    };
    if !allowed {
        return r;
    }
    let method = req.header("access-control-request-method").unwrap_or("");
    if !method_allowed(settings, method) {
        return r;
    }
    let requested = req.header("access-control-request-headers");
    if let Some(h) = requested {
        let ok = h
            .split(',')
            .map(|x| x.trim().to_ascii_lowercase())
            .filter(|x| !x.is_empty())
            .all(|x| settings.allowed_headers.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(&x)));
        if !ok {
            return r;
        }
    }
    r = r.with_header("access-control-allow-origin", origin).with_header("access-control-allow-methods", method);
    if let Some(h) = requested.filter(|h| !h.is_empty()) {
        r = r.with_header("access-control-allow-headers", h);
    }
    if settings.allow_credentials {
        r = r.with_header("access-control-allow-credentials", "true");
    }
    if settings.max_age > 0 {
        r = r.with_header("access-control-max-age", &settings.max_age.to_string());
    }
    r
}

fn method_allowed(settings: &Settings, method: &str) -> bool {
    !settings.allowed_methods.is_empty()
        && (method == "OPTIONS" || settings.allowed_methods.iter().any(|m| m == method))
}

/// Decorate the response of an actual (non-preflight) request: `Vary: Origin` always, and the
/// CORS headers when `allowed` says the origin may read it.
pub fn decorate(settings: &Settings, req: &Request, allowed: bool, response: Response) -> Response {
    let mut r = response.with_header("vary", "Origin");
    let origin = req.header("origin").unwrap_or("");
    if origin.is_empty() || !allowed || !method_allowed(settings, req.method.as_str()) {
        return r;
    }
    r = r.set_header("access-control-allow-origin", origin);
    if !settings.exposed_headers.is_empty() {
        r = r.set_header("access-control-expose-headers", &settings.exposed_headers.join(", "));
    }
    if settings.allow_credentials {
        r = r.set_header("access-control-allow-credentials", "true");
    }
    r
}

/// The client a request names for CORS: form `client_id` in a form-encoded body, else the
/// Basic-auth user. (A bearer token's client is looked up by the caller.)
pub fn named_client(req: &Request) -> Option<String> {
    if matches!(req.method, Method::Post | Method::Put | Method::Patch)
        && req.content_type() == "application/x-www-form-urlencoded"
    {
        if let Ok(form) = crate::http::form::Form::parse(&req.body) {
            if let Ok(Some(id)) = form.get("client_id") {
                return Some(id.to_string());
            }
        }
    }
    let value = req.header("authorization")?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, _) = text.split_once(':')?;
    crate::http::form::decode(id.as_bytes()).ok().filter(|id| !id.is_empty())
}

/// Does a client's `allowed_cors_origins` allow `origin` (lower-cased)?
pub fn client_allows(client_origins: &[String], origin: &str) -> bool {
    client_origins.iter().any(|o| pattern_matches(o, origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, path: &str, headers: &[(&str, &str)]) -> Request {
        let mut r = Request::new(method, path);
        r.headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        r
    }

    #[test]
    fn scopes_by_path() {
        assert_eq!(scope_of("/oauth2/token", Some(false)), Scope::PerClient);
        assert_eq!(scope_of("/oauth2/revoke", None), Scope::PerClient);
        assert_eq!(scope_of("/userinfo", None), Scope::PerClient);
        assert_eq!(scope_of("/.well-known/jwks.json", Some(false)), Scope::PerClient);
        assert_eq!(scope_of("/.well-known/openid-configuration/", Some(false)), Scope::PerClient);
        assert_eq!(scope_of("/oauth2/auth", Some(false)), Scope::None);
        assert_eq!(scope_of("/admin/clients", Some(true)), Scope::None);
        assert_eq!(scope_of("/clients", Some(true)), Scope::None);
        assert_eq!(scope_of("/admin/.well-known/jwks.json", None), Scope::None);
        assert_eq!(scope_of("/health/alive", Some(false)), Scope::Global);
        assert_eq!(scope_of("/nowhere", None), Scope::None);
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("https://app.example", "https://app.example"));
        assert!(pattern_matches("HTTPS://App.Example", "https://app.example"));
        assert!(!pattern_matches("https://app.example", "https://app.example.evil"));
        assert!(pattern_matches("*", "https://anything"));
        assert!(pattern_matches("https://*", "https://a.b.c"));
        assert!(!pattern_matches("https://*", "http://a.b.c"));
        assert!(pattern_matches("https://*.example.com", "https://a.example.com"));
        assert!(!pattern_matches("https://*.example.com", "https://a.b.example.com"), "one label only");
        assert!(!pattern_matches("https://*.example.com", "https://example.com"));
        assert!(!pattern_matches("https://*.example.com", "https://evil.com/.example.com"));
        assert!(pattern_matches("https://*.example.com:8443", "https://a.example.com:8443"));
        for unbounded in
            ["https://*.com", "https://*example.com", "https://app.*", "https://*.co.uk", "https://*.github.io"]
        {
            assert!(!pattern_matches(unbounded, "https://evilexample.com"), "{unbounded}");
            assert!(!pattern_matches(unbounded, "https://x.com"), "{unbounded}");
            assert!(!pattern_matches(unbounded, "https://x.co.uk"), "{unbounded}");
            assert!(!pattern_matches(unbounded, "https://app.evil"), "{unbounded}");
            assert!(!pattern_matches(unbounded, "https://x.github.io"), "{unbounded}");
        }
        assert!(pattern_matches("https://*.example.co.uk", "https://a.example.co.uk"));
        assert!(!pattern_matches(
            "https://*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*.example.com",
            &format!("https://{}b.example.com", "a".repeat(60))
        ));
    }

    #[test]
    fn empty_global_list_allows_every_origin_as_hydra_does() {
        let s = Settings { enabled: true, ..Default::default() };
        assert!(globally_allowed(&s, "https://any.example"));
        let s = Settings { enabled: true, allowed_origins: vec!["https://a.example".into()], ..Default::default() };
        assert!(!globally_allowed(&s, "https://b.example"));
    }

    #[test]
    fn preflights() {
        let s = Settings {
            enabled: true,
            allowed_origins: vec!["https://a.example".into()],
            max_age: 10,
            ..Default::default()
        };
        let r = preflight(
            &s,
            Scope::PerClient,
            &req(
                Method::Options,
                "/oauth2/token",
                &[
                    ("origin", "https://b.example"),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "content-type,authorization"),
                ],
            ),
        );
        assert_eq!(r.status, 204);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://b.example"),
            "preflights pass on per-client paths"
        );
        assert_eq!(r.header("access-control-allow-methods"), Some("POST"));
        assert_eq!(r.header("access-control-allow-headers"), Some("content-type,authorization"));
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(r.header("access-control-max-age"), Some("10"));
        let denied = preflight(
            &s,
            Scope::Global,
            &req(
                Method::Options,
                "/health/alive",
                &[("origin", "https://b.example"), ("access-control-request-method", "GET")],
            ),
        );
        assert!(denied.header("access-control-allow-origin").is_none());
        let bad_header = preflight(
            &s,
            Scope::PerClient,
            &req(
                Method::Options,
                "/oauth2/token",
                &[
                    ("origin", "https://a.example"),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "x-evil"),
                ],
            ),
        );
        assert!(bad_header.header("access-control-allow-origin").is_none());
    }

    #[test]
    fn actual_requests() {
        let s = Settings { enabled: true, ..Default::default() };
        let r = decorate(
            &s,
            &req(Method::Post, "/oauth2/token", &[("origin", "https://a.example")]),
            true,
            Response::new(200),
        );
        assert_eq!(r.header("vary"), Some("Origin"));
        assert_eq!(r.header("access-control-allow-origin"), Some("https://a.example"));
        assert_eq!(
            r.header("access-control-expose-headers"),
            Some("Cache-Control, Expires, Last-Modified, Pragma, Content-Length, Content-Language, Content-Type")
        );
        let r = decorate(
            &s,
            &req(Method::Post, "/oauth2/token", &[("origin", "https://a.example")]),
            false,
            Response::new(200),
        );
        assert!(r.header("access-control-allow-origin").is_none());
        assert_eq!(r.header("vary"), Some("Origin"));
    }

    #[test]
    fn the_named_client() {
        let mut r = req(Method::Post, "/oauth2/token", &[("content-type", "application/x-www-form-urlencoded")]);
        r.body = b"grant_type=x&client_id=my%20app".to_vec();
        assert_eq!(named_client(&r).as_deref(), Some("my app"));
        let r = req(Method::Post, "/oauth2/token", &[("authorization", "Basic YSUyMGI6c2VjcmV0")]);
        assert_eq!(named_client(&r).as_deref(), Some("a b"));
        assert_eq!(named_client(&req(Method::Get, "/userinfo", &[("authorization", "Bearer x")])), None);
    }
}
