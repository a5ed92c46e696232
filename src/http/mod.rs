//! The plain HTTP model every handler works on.
//!
//! The Worker shell (`src/worker/`) converts a `worker::Request` into [`Request`] (reading the
//! body under [`MAX_BODY_BYTES`]) and a [`Response`] back, so all handlers are ordinary Rust that
//! builds and is tested on the host.

pub mod cookies;
pub mod etag;
pub mod form;
pub mod outbound;
pub mod url;

use serde::Serialize;

/// Bodies above this size are refused with 413 before anything parses them.
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    pub fn parse(s: &str) -> Method {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other => "OTHER",
        }
    }
}

/// An incoming request. Header names are lower-case.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// Path without query, percent-encoding kept as sent.
    pub path: String,
    /// Raw query string without the leading `?` (empty when absent).
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: Method, target: &str) -> Request {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (target.to_string(), String::new()),
        };
        Request { method, path, query, headers: Vec::new(), body: Vec::new() }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    /// The bearer token of the `Authorization` header, if any.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") {
            Some(token.trim())
        } else {
            None
        }
    }

    pub fn content_type(&self) -> String {
        self.header("content-type")
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .unwrap_or_default()
    }
}

/// An outgoing response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// `Content-Type` of JSON written by Hydra's admin API (herodot).
pub const JSON: &str = "application/json; charset=utf-8";
/// `Content-Type` of JSON written by Hydra's OAuth endpoints (fosite).
pub const OAUTH_JSON: &str = "application/json;charset=UTF-8";

impl Response {
    pub fn new(status: u16) -> Response {
        Response { status, headers: Vec::new(), body: Vec::new() }
    }

    /// A JSON response with Hydra's admin content type.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Response {
        Response::json_typed(status, value, JSON)
    }

    pub fn json_typed<T: Serialize + ?Sized>(status: u16, value: &T, content_type: &str) -> Response {
        // Serialising our own models cannot fail (no maps with non-string keys).
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Response::new(status).with_header("content-type", content_type).with_body(body).with_nosniff()
    }

    pub fn html(status: u16, body: String) -> Response {
        Response::new(status)
            .with_header("content-type", "text/html; charset=utf-8")
            .with_body(body.into_bytes())
            .with_frame_protection()
            .with_nosniff()
    }

    /// The body is exactly its declared type: no browser guesses another (an error echoing a
    /// parameter never runs as HTML or script).
    pub fn with_nosniff(self) -> Response {
        self.with_header("x-content-type-options", "nosniff")
    }

    /// A redirect with an absolute or relative `Location`.
    pub fn redirect(status: u16, location: &str) -> Response {
        Response::new(status).with_header("location", location)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    pub fn with_body(mut self, body: Vec<u8>) -> Response {
        self.body = body;
        self
    }

    /// `Cache-Control: no-store` and `Pragma: no-cache`, required on every response that carries
    /// tokens or OAuth errors (RFC 6749 §5.1).
    pub fn no_store(self) -> Response {
        self.set_header("cache-control", "no-store").set_header("pragma", "no-cache")
    }

    /// Clickjacking protection for every HTML page this server renders (RFC 9700 §4.16).
    pub fn with_frame_protection(self) -> Response {
        self.set_header("x-frame-options", "DENY").set_header("content-security-policy", "frame-ancestors 'none'")
    }

    /// Replace a header (or add it when absent).
    pub fn set_header(mut self, name: &str, value: &str) -> Response {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(k, _)| *k != name);
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Escape text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Append query parameters to a URL that may already carry a query.
pub fn add_query(url: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return url.to_string();
    }
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        encoded.append_pair(k, v);
    }
    let sep = if base.contains('?') {
        if base.ends_with('?') || base.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    let mut out = format!("{base}{sep}{}", encoded.finish());
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Set one query parameter of a URL: every `name` it carried is replaced by `name=value`.
pub fn set_query(url: &str, name: &str, value: &str) -> String {
    let (rest, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != name) {
        encoded.append_pair(&k, &v);
    }
    encoded.append_pair(name, value);
    let mut out = format!("{base}?{}", encoded.finish());
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_query_replaces_a_parameter() {
        assert_eq!(set_query("https://a/x?prompt=none&b=1", "prompt", "login"), "https://a/x?b=1&prompt=login");
        assert_eq!(set_query("https://a/x", "prompt", "login"), "https://a/x?prompt=login");
        assert_eq!(
            set_query("https://a/x?s=a+b&prompt=none&prompt=consent#f", "prompt", "login"),
            "https://a/x?s=a+b&prompt=login#f"
        );
    }

    #[test]
    fn add_query_respects_existing_query_and_fragment() {
        assert_eq!(add_query("https://a/cb", &[("a", "1 2")]), "https://a/cb?a=1+2");
        assert_eq!(add_query("https://a/cb?x=1", &[("a", "b")]), "https://a/cb?x=1&a=b");
        assert_eq!(add_query("https://a/cb?", &[("a", "b")]), "https://a/cb?a=b");
        assert_eq!(add_query("https://a/cb#f", &[("a", "b")]), "https://a/cb?a=b#f");
    }

    #[test]
    fn escapes_html() {
        assert_eq!(html_escape("<a href=\"x\">'&"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;");
    }

    #[test]
    fn bearer_token_is_case_insensitive_scheme() {
        let mut r = Request::new(Method::Get, "/x?a=1");
        r.headers.push(("authorization".into(), "bearer abc".into()));
        assert_eq!(r.bearer_token(), Some("abc"));
        assert_eq!(r.query_param("a").as_deref(), Some("1"));
    }
}
