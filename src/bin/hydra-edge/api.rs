//! Talking to a deployment: one blocking HTTP client with the endpoint, the admin token and any
//! extra headers, and the classification of every failure into an [`Error`] with its exit code.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;
use ureq::http;

use crate::error::Error;

/// Responses larger than this are not read (a Hydra API answer is far smaller).
const MAX_RESPONSE_BYTES: u64 = 16 << 20;

pub struct Api {
    agent: ureq::Agent,
    /// Base URL without a trailing slash.
    pub endpoint: String,
    token: Option<String>,
    headers: Vec<(String, String)>,
}

/// A response the server answered with 2xx.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub link: Option<String>,
}

impl Reply {
    pub fn json(&self) -> Result<Value, Error> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::Failed(format!("the server answered HTTP {} with invalid JSON: {e}", self.status)))
    }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// The admin token (when one is set).
    Admin,
    /// HTTP Basic with a client's credentials (token endpoint, revocation).
    Basic(&'a str, &'a str),
    /// Nothing (public endpoints; the client authenticates in the body).
    None,
}

pub enum Body<'a> {
    Empty,
    Json(&'a Value),
    Form(&'a [(&'a str, &'a str)]),
}

impl Api {
    pub fn new(
        endpoint: &str,
        token: Option<String>,
        headers: Vec<(String, String)>,
        skip_tls_verify: bool,
    ) -> Result<Api, Error> {
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&endpoint)
            .map_err(|e| Error::Usage(format!("the endpoint '{endpoint}' is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Error::Usage(format!("the endpoint '{endpoint}' must be an http(s) URL")));
        }
        let tls = ureq::tls::TlsConfig::builder().disable_verification(skip_tls_verify).build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .max_redirects(0)
            .tls_config(tls)
            .user_agent(concat!("hydra-edge-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Api { agent, endpoint, token: token.filter(|t| !t.is_empty()), headers })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.endpoint, path)
    }

    /// Send a request to a path of the endpoint; answers the 2xx reply or the classified failure.
    pub fn send(&self, method: &str, path: &str, auth: Auth, body: Body) -> Result<Reply, Error> {
        self.send_to(method, &self.url(path), auth, body)
    }

    /// Send a request to an absolute URL (`--token-url`).
    pub fn send_to(&self, method: &str, url: &str, auth: Auth, body: Body) -> Result<Reply, Error> {
        let path = url::Url::parse(url).map(|u| u.path().to_string()).unwrap_or_else(|_| url.to_string());
        let mut req = http::Request::builder().method(method).uri(url).header("accept", "application/json");
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        match auth {
            Auth::Admin => {
                if let Some(t) = &self.token {
                    req = req.header("authorization", format!("Bearer {t}"));
                }
            }
            Auth::Basic(id, secret) => {
                req = req.header("authorization", basic(id, secret));
            }
            Auth::None => {}
        }
        let bytes = match body {
            Body::Empty => Vec::new(),
            Body::Json(v) => {
                req = req.header("content-type", "application/json");
                serde_json::to_vec(v).map_err(|e| Error::Failed(e.to_string()))?
            }
            Body::Form(pairs) => {
                req = req.header("content-type", "application/x-www-form-urlencoded");
                let mut f = form_urlencoded::Serializer::new(String::new());
                for (k, v) in pairs {
                    f.append_pair(k, v);
                }
                f.finish().into_bytes()
            }
        };
        // Header values come from flags; a value HTTP does not allow is a usage error.
        let req = req.body(bytes).map_err(|e| Error::Usage(format!("invalid request header: {e}")))?;
        let mut resp = self.agent.run(req).map_err(|e| transport_error(url, e))?;
        let status = resp.status().as_u16();
        let link = resp.headers().get("link").and_then(|v| v.to_str().ok()).map(str::to_string);
        let content_type =
            resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let mut body = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(MAX_RESPONSE_BYTES)
            .read_to_end(&mut body)
            .map_err(|e| Error::Unreachable(format!("the connection to {} broke while reading: {e}", self.endpoint)))?;
        if (200..300).contains(&status) {
            return Ok(Reply { status, body, link });
        }
        Err(self.status_error(method, &path, status, &content_type, &body, auth))
    }

    /// GET with the admin token, as JSON.
    pub fn get(&self, path: &str) -> Result<(Value, Option<String>), Error> {
        let r = self.send("GET", path, Auth::Admin, Body::Empty)?;
        Ok((r.json()?, r.link))
    }

    fn status_error(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: &[u8],
        auth: Auth,
    ) -> Error {
        let what = format!("{method} {path}");
        let detail = if content_type.contains("json") {
            serde_json::from_slice::<Value>(body).ok().map(|v| describe(&v)).unwrap_or_default()
        } else {
            String::new()
        };
        let detail = match &self.token {
            // The server never echoes the token; this makes sure an odd proxy cannot either.
            Some(t) => detail.replace(t.as_str(), "***"),
            None => detail,
        };
        let detail = if detail.is_empty() {
            if content_type.contains("json") {
                String::new()
            } else {
                " (not an API response: is --endpoint the deployment's base URL?)".to_string()
            }
        } else {
            format!(": {detail}")
        };
        match status {
            401 | 403 if matches!(auth, Auth::Admin) => {
                let hint = if self.token.is_some() {
                    "the admin token was refused; check --token or HYDRA_EDGE_ADMIN_TOKEN"
                } else {
                    "no admin token was given; pass --token or set HYDRA_EDGE_ADMIN_TOKEN"
                };
                Error::Unauthorized(format!("{what}: HTTP {status}{detail}\n{hint}"))
            }
            401 | 403 => Error::Unauthorized(format!("{what}: HTTP {status}{detail}")),
            500..=599 => Error::Server(format!("{what}: the server failed with HTTP {status}{detail}")),
            _ => Error::Failed(format!("{what}: HTTP {status}{detail}")),
        }
    }
}

/// Why `url` could not be reached, naming its origin (never a path or query).
fn transport_error(url: &str, e: ureq::Error) -> Error {
    let origin = url::Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    let why = match &e {
        ureq::Error::HostNotFound => "the host name does not resolve".to_string(),
        ureq::Error::ConnectionFailed => "the connection was refused".to_string(),
        ureq::Error::Timeout(_) => "it did not answer within 30 seconds".to_string(),
        ureq::Error::Io(io) => io.to_string(),
        ureq::Error::Tls(m) => format!("TLS failed: {m}"),
        ureq::Error::Rustls(r) => format!("TLS failed: {r}"),
        other => other.to_string(),
    };
    Error::Unreachable(format!(
        "cannot reach {origin} ({why}); check --endpoint (or ORY_SDK_URL) and that the deployment is up"
    ))
}

/// The readable part of a Hydra error body (`genericError` or `errorOAuth2`).
pub fn describe(v: &Value) -> String {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").trim().to_string();
    let (error, description, message, reason) = (s("error"), s("error_description"), s("message"), s("reason"));
    let mut parts: Vec<String> = Vec::new();
    for p in [error, message, description, reason] {
        if !p.is_empty() && !parts.iter().any(|q| q.contains(&p)) {
            parts.push(p);
        }
    }
    parts.join(": ")
}

pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    // RFC 6749 §2.3.1: both parts are form-encoded before they are joined.
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret))))
}

/// The `page_token` of a `Link: <...>; rel="next"` header.
pub fn next_page_token(link: Option<&str>) -> Option<String> {
    for part in link?.split(',') {
        let (target, params) = part.split_once(';').unwrap_or((part, ""));
        if !params.split(';').any(|p| p.trim().trim_start_matches("rel=").trim_matches('"') == "next") {
            continue;
        }
        let target = target.trim().trim_start_matches('<').trim_end_matches('>');
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
        if let Some((_, v)) = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "page_token") {
            if !v.is_empty() {
                return Some(v.into_owned());
            }
        }
    }
    None
}

/// A path with query parameters (empty values left out).
pub fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in params {
        if !v.is_empty() {
            q.append_pair(k, v);
            any = true;
        }
    }
    if any {
        format!("{path}?{}", q.finish())
    } else {
        path.to_string()
    }
}

/// A path segment, percent-encoded.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn next_page_token_reads_the_next_link_only() {
        let link = r#"</admin/clients?page_size=2&page_token=abc>; rel="next", </admin/clients?page_size=2&page_token=first>; rel="first""#;
        assert_eq!(next_page_token(Some(link)).as_deref(), Some("abc"));
        let only_first = r#"</admin/clients?page_token=first>; rel="first""#;
        assert_eq!(next_page_token(Some(only_first)), None);
        assert_eq!(next_page_token(None), None);
    }

    #[test]
    fn errors_are_described_without_repetition() {
        let admin = json!({"error": "Unable to locate the resource", "message": "Unable to locate the resource", "status_code": 404});
        assert_eq!(describe(&admin), "Unable to locate the resource");
        let oauth = json!({"error": "invalid_client", "error_description": "Client authentication failed."});
        assert_eq!(describe(&oauth), "invalid_client: Client authentication failed.");
    }

    #[test]
    fn basic_credentials_are_form_encoded() {
        assert_eq!(basic("a b", "p:w"), format!("Basic {}", base64_of("a+b:p%3Aw")));
    }

    fn base64_of(s: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn queries_skip_empty_values_and_segments_are_encoded() {
        assert_eq!(with_query("/x", &[("a", "1 2"), ("b", "")]), "/x?a=1+2");
        assert_eq!(with_query("/x", &[("b", "")]), "/x");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }
}
