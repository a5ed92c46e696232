//! Where authorization responses go and how: redirect-URI matching, the three response modes,
//! and error delivery (to the client when its redirect URI is known good, otherwise to the
//! error page).

use crate::config::Config;
use crate::crypto::{b64url, random_bytes};
use crate::error::ApiError;
use crate::http::url::{Host, Url};
use crate::http::{add_query, html_escape, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    pub fn parse(s: &str) -> Option<ResponseMode> {
        match s {
            "query" => Some(ResponseMode::Query),
            "fragment" => Some(ResponseMode::Fragment),
            "form_post" => Some(ResponseMode::FormPost),
            _ => None,
        }
    }
}

/// A redirect URI the client registered and may receive responses at, and how.
#[derive(Debug, Clone)]
pub struct Target {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: String,
}

/// The URI responses go to when `presented` names a registered redirect URI, or `None`.
///
/// Exact string match against the registered URIs (RFC 9700 §4.1.3), with one exception for
/// native apps (RFC 8252 §7.3): for an `http` URI on the loopback literal `127.0.0.1` or `[::1]`
/// only the port may differ. Then the answer is the registered URI with only the port replaced,
/// so nothing of the presented URI but a validated number ever reaches a `Location` header.
/// `localhost` gets no exception.
pub fn match_redirect_uri(registered: &[String], presented: &str) -> Option<String> {
    if registered.iter().any(|r| r == presented) {
        return Some(presented.to_string());
    }
    let p = Loopback::parse(presented)?;
    registered
        .iter()
        .filter_map(|r| Loopback::parse(r))
        .find(|r| r.host == p.host && r.rest == p.rest)
        .map(|r| r.with_port(p.port))
}

/// An `http` loopback URI split into the parts RFC 8252 §7.3 compares.
struct Loopback<'a> {
    /// `127.0.0.1` or `[::1]`, exactly as written.
    host: &'static str,
    /// The decimal port as written, if any.
    port: Option<&'a str>,
    /// Path and query, byte for byte.
    rest: &'a str,
}

impl<'a> Loopback<'a> {
    fn parse(uri: &'a str) -> Option<Loopback<'a>> {
        let after_scheme = uri.strip_prefix("http://")?;
        // The authority ends at the first '/', '?' or '#'; a backslash (which URL parsers read as
        // '/') or a fragment anywhere disqualifies the URI.
        if uri.contains(['\\', '#']) || !uri.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let end = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
        let (authority, rest) = after_scheme.split_at(end);
        // Exactly the literal, then nothing or ":<port>": no userinfo, no other spelling of the
        // address (127.1, 0x7f.0.0.1, [0:0::1]), no host after an '@'.
        let (host, after_host) = if let Some(r) = authority.strip_prefix("127.0.0.1") {
            ("127.0.0.1", r)
        } else if let Some(r) = authority.strip_prefix("[::1]") {
            ("[::1]", r)
        } else {
            return None;
        };
        let port = match after_host {
            "" => None,
            p => Some(p.strip_prefix(':').filter(|d| is_port(d))?),
        };
        // What a URL parser makes of it must be the same URI, so no normalisation (dot
        // segments, escapes) can make two different strings compare equal.
        let parsed = Url::parse(uri).ok()?;
        let same_host = match parsed.host()? {
            Host::Ipv4(ip) => host == "127.0.0.1" && ip == std::net::Ipv4Addr::LOCALHOST,
            Host::Ipv6(ip) => host == "[::1]" && ip == std::net::Ipv6Addr::LOCALHOST,
            Host::Domain(_) => false,
        };
        let path_and_query = parsed.path_and_query();
        let same_rest = if rest.is_empty() { path_and_query == "/" } else { path_and_query == rest };
        if parsed.scheme() != "http"
            || !parsed.username().is_empty()
            || parsed.password().is_some()
            || !same_host
            || !same_rest
        {
            return None;
        }
        Some(Loopback { host, port, rest })
    }

    fn with_port(&self, port: Option<&str>) -> String {
        match port {
            Some(p) => format!("http://{}:{p}{}", self.host, self.rest),
            None => format!("http://{}{}", self.host, self.rest),
        }
    }
}

/// A TCP port in canonical decimal: 1 to 65535, no sign, no leading zero.
fn is_port(digits: &str) -> bool {
    !digits.is_empty()
        && digits.len() <= 5
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
        && digits.parse::<u32>().map(|p| (1..=65535).contains(&p)).unwrap_or(false)
}

/// Deliver parameters to the client: 303 with a query or fragment, or an auto-submitting form.
pub fn deliver(target: &Target, params: &[(&str, &str)]) -> Response {
    let response = match target.mode {
        ResponseMode::Query => Response::redirect(303, &add_query(&target.redirect_uri, params)),
        ResponseMode::Fragment => {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                s.append_pair(k, v);
            }
            Response::redirect(303, &format!("{}#{}", target.redirect_uri, s.finish()))
        }
        ResponseMode::FormPost => form_post(&target.redirect_uri, params),
    };
    response.no_store()
}

/// `response_mode=form_post`: an HTML form posting the parameters to the redirect URI, submitted
/// by a script that the Content-Security-Policy allows by nonce and nothing else.
fn form_post(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let nonce = b64url(&random_bytes::<16>());
    let inputs: String = params
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\"/>", html_escape(k), html_escape(v)))
        .collect();
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Submit This Form</title></head><body>\
         <form method=\"post\" action=\"{}\">{inputs}<noscript><button type=\"submit\">Continue</button></noscript></form>\
         <script nonce=\"{nonce}\">document.forms[0].submit();</script></body></html>",
        html_escape(redirect_uri)
    );
    Response::html(200, html).set_header(
        "content-security-policy",
        &format!("default-src 'none'; script-src 'nonce-{nonce}'; frame-ancestors 'none'"),
    )
}

/// An error for the client at its redirect URI, with `state` and the issuer (RFC 9207).
pub fn error_to_client(cfg: &Config, target: &Target, e: &ApiError) -> Response {
    let description = e.full_description(cfg.expose_internal_errors);
    let mut params: Vec<(&str, &str)> = vec![("error", &e.error), ("error_description", &description)];
    if !target.state.is_empty() {
        params.push(("state", &target.state));
    }
    params.push(("iss", &cfg.issuer));
    deliver(target, &params)
}

/// An error that must not go to the client (unknown client, unregistered redirect URI):
/// 302 to the configured error page, never to the URI the request named.
pub fn error_page(cfg: &Config, e: &ApiError) -> Response {
    let description = e.full_description(cfg.expose_internal_errors);
    let mut params: Vec<(&str, &str)> = vec![("error", &e.error), ("error_description", &description)];
    if !e.hint.is_empty() {
        params.push(("error_hint", &e.hint));
    }
    Response::redirect(302, &add_query(&cfg.urls.error, &params)).no_store()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_matching() {
        let reg = vec!["https://app.example/cb".to_string()];
        assert_eq!(match_redirect_uri(&reg, "https://app.example/cb").as_deref(), Some("https://app.example/cb"));
        for bad in [
            "https://app.example/cb/",
            "https://APP.example/cb",
            "https://app.example/cb?x=1",
            "https://app.example:443/cb",
            "https://app.example/CB",
            "https://app.example/c%62",
        ] {
            assert_eq!(match_redirect_uri(&reg, bad), None, "{bad}");
        }
    }

    #[test]
    fn loopback_port_exception() {
        let reg = vec![
            "http://127.0.0.1:3000/cb?x=1".to_string(),
            "http://[::1]/cb".to_string(),
            "http://localhost:3000/cb".to_string(),
            "http://127.0.0.1".to_string(),
        ];
        let m = |p: &str| match_redirect_uri(&reg, p);
        assert_eq!(m("http://127.0.0.1:51234/cb?x=1").as_deref(), Some("http://127.0.0.1:51234/cb?x=1"));
        assert_eq!(m("http://127.0.0.1/cb?x=1").as_deref(), Some("http://127.0.0.1/cb?x=1"));
        assert_eq!(m("http://[::1]:8080/cb").as_deref(), Some("http://[::1]:8080/cb"));
        assert_eq!(m("http://127.0.0.1:8080").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(m("http://127.0.0.1:51234/cb"), None, "query must match (CVE-2020-15233)");
        assert_eq!(m("http://127.0.0.1:51234/cb?x=1&y=2"), None);
        assert_eq!(m("http://localhost:4000/cb"), None, "no exception for localhost");
        assert_eq!(m("https://127.0.0.1:3000/cb?x=1"), None);
        for attack in [
            "http://127.0.0.1:1@evil.example/cb?x=1",
            "http://127.0.0.1:3000@evil.example/cb?x=1",
            "http://[::1]:1@evil.example/cb",
            "http://[::1]@evil.example/cb",
            "http://user@127.0.0.1:3000/cb?x=1",
            "http://127.0.0.1:1\\@evil.example/cb?x=1",
            "http://127.0.0.1:3000\\cb?x=1",
            "http://127.1:3000/cb?x=1",
            "http://0x7f.0.0.1:3000/cb?x=1",
            "http://[0:0::1]:3000/cb",
            "http://127.0.0.1:03000/cb?x=1",
            "http://127.0.0.1:+3000/cb?x=1",
            "http://127.0.0.1:0/cb?x=1",
            "http://127.0.0.1:65536/cb?x=1",
            "http://127.0.0.1:/cb?x=1",
            "http://127.0.0.1:3000/./cb?x=1",
            "http://127.0.0.1:3000/%63b?x=1",
            "http://127.0.0.1:3000/cb?x=1#f",
            "http://127.0.0.1:3000/cb?x=1\t",
            "HTTP://127.0.0.1:3000/cb?x=1",
        ] {
            assert_eq!(m(attack), None, "{attack}");
        }
    }

    #[test]
    fn response_modes() {
        let t = |mode| Target { redirect_uri: "https://app.example/cb?a=1".into(), mode, state: "s".into() };
        let r = deliver(&t(ResponseMode::Query), &[("code", "c d"), ("state", "s")]);
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location"), Some("https://app.example/cb?a=1&code=c+d&state=s"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let r = deliver(&t(ResponseMode::Fragment), &[("access_token", "x")]);
        assert_eq!(r.header("location"), Some("https://app.example/cb?a=1#access_token=x"));
        let r = deliver(&t(ResponseMode::FormPost), &[("code", "\"><script>")]);
        assert_eq!(r.status, 200);
        let body = String::from_utf8(r.body.clone()).unwrap();
        assert!(body.contains("action=\"https://app.example/cb?a=1\""));
        assert!(!body.contains("\"><script>"));
        assert!(r.header("content-security-policy").unwrap().contains("script-src 'nonce-"));
    }
}
