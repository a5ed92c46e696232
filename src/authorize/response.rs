//! Where authorization responses go and how: redirect-URI matching, the three response modes,
//! and error delivery (to the client when its redirect URI is known good, otherwise to the
//! error page).

use crate::config::Config;
use crate::crypto::{b64url, random_bytes};
use crate::error::ApiError;
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

/// Exact string match against the registered URIs (RFC 9700 §4.1.3), with one exception for
/// native apps (RFC 8252 §7.3): an `http` loopback-IP URI may use any port when scheme, host,
/// path and query are equal. `localhost` gets no exception.
pub fn match_redirect_uri(registered: &[String], presented: &str) -> bool {
    if registered.iter().any(|r| r == presented) {
        return true;
    }
    let Some(p) = loopback_parts(presented) else {
        return false;
    };
    registered.iter().filter_map(|r| loopback_parts(r)).any(|r| r == p)
}

/// (host, path, query) of an `http` URI on 127.0.0.1 or [::1], without the port.
fn loopback_parts(uri: &str) -> Option<(String, String, String)> {
    let rest = uri.strip_prefix("http://")?;
    let (authority, path_query) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = if let Some(v6) = authority.strip_prefix('[') {
        format!("[{}", &v6[..=v6.find(']')?])
    } else {
        authority.split(':').next()?.to_string()
    };
    if host != "127.0.0.1" && host != "[::1]" {
        return None;
    }
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (path_query.to_string(), String::new()),
    };
    Some((host, path, query))
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
        assert!(match_redirect_uri(&reg, "https://app.example/cb"));
        for bad in [
            "https://app.example/cb/",
            "https://APP.example/cb",
            "https://app.example/cb?x=1",
            "https://app.example:443/cb",
            "https://app.example/CB",
            "https://app.example/c%62",
        ] {
            assert!(!match_redirect_uri(&reg, bad), "{bad}");
        }
    }

    #[test]
    fn loopback_port_exception() {
        let reg = vec![
            "http://127.0.0.1:3000/cb?x=1".to_string(),
            "http://[::1]/cb".to_string(),
            "http://localhost:3000/cb".to_string(),
        ];
        assert!(match_redirect_uri(&reg, "http://127.0.0.1:51234/cb?x=1"));
        assert!(match_redirect_uri(&reg, "http://127.0.0.1/cb?x=1"));
        assert!(match_redirect_uri(&reg, "http://[::1]:8080/cb"));
        assert!(!match_redirect_uri(&reg, "http://127.0.0.1:51234/cb"), "query must match (CVE-2020-15233)");
        assert!(!match_redirect_uri(&reg, "http://127.0.0.1:51234/cb?x=1&y=2"));
        assert!(!match_redirect_uri(&reg, "http://localhost:4000/cb"), "no exception for localhost");
        assert!(!match_redirect_uri(&reg, "https://127.0.0.1:3000/cb?x=1"));
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
