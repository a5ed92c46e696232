//! Parsed URLs (WHATWG URL Standard) for everything that compares or checks one: redirect URIs,
//! audiences, CORS origins, fetch targets, settings.
//!
//! The parser is the platform's: in the Worker, workerd's own `URL` (through `glue.mjs`, so the
//! module carries no URL parser and no IDNA tables); on the host (unit tests, the CLI), the `url`
//! crate. Both implement the same standard, and both fill the same [`Url`] view, so callers
//! compare parsed components and never slice strings.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The host of a URL, typed as the URL Standard parses it (special schemes only get IP hosts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Domain(String),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
}

/// The authority of `scheme://authority/...` exactly as written (up to the first `/`, `?` or
/// `#`), or `None` when the URI has no `//`. For checks of how a URI is spelled, never for
/// comparing URLs (those are compared parsed).
pub fn written_authority(uri: &str) -> Option<&str> {
    let rest = uri.split_once(':')?.1.strip_prefix("//")?;
    Some(&rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())])
}

/// A parsed absolute URL: its serialisation and components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    href: String,
    scheme: String,
    username: String,
    password: Option<String>,
    /// `None` without a host (`mailto:x`) or with an empty one (`file:///x`).
    host: Option<String>,
    port: Option<u16>,
    path: String,
    query: Option<String>,
    fragment: Option<String>,
    /// `scheme://host[:port]` for schemes with a tuple origin.
    origin: Option<String>,
}

/// Why a string is not an absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError;

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a valid absolute URL")
    }
}

impl Url {
    pub fn parse(input: &str) -> Result<Url, ParseError> {
        backend::parse(input)
    }

    /// The serialisation (normalised as the URL Standard does).
    pub fn as_str(&self) -> &str {
        &self.href
    }

    /// Lower-case, without the `:`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    pub fn has_host(&self) -> bool {
        self.host.is_some()
    }

    /// The host as serialised (IPv6 in brackets, domains in punycode).
    pub fn host_str(&self) -> Option<&str> {
        self.host.as_deref()
    }

    pub fn host(&self) -> Option<Host> {
        let h = self.host.as_deref()?;
        if let Some(v6) = h.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            return v6.parse().ok().map(Host::Ipv6);
        }
        // The URL Standard reads IPv4 hosts (in any spelling) only under special schemes, and
        // serialises them as dotted decimal.
        if is_special(&self.scheme) {
            if let Ok(v4) = h.parse() {
                return Some(Host::Ipv4(v4));
            }
        }
        Some(Host::Domain(h.to_string()))
    }

    /// The port when it is not the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    pub fn port_or_known_default(&self) -> Option<u16> {
        self.port.or(match self.scheme.as_str() {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            "ftp" => Some(21),
            _ => None,
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query without `?`; `Some("")` when the URL ends in a bare `?`.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The fragment without `#`; `Some("")` for a bare `#`.
    pub fn fragment(&self) -> Option<&str> {
        self.fragment.as_deref()
    }

    /// Path and query as serialised (`/cb?x=1`, `/cb?`), without the fragment.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    /// `scheme://host[:port]` (ASCII), or `None` for an opaque origin.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }
}

fn is_special(scheme: &str) -> bool {
    matches!(scheme, "http" | "https" | "ws" | "wss" | "ftp" | "file")
}

#[cfg(not(target_arch = "wasm32"))]
mod backend {
    use super::{ParseError, Url};

    pub fn parse(input: &str) -> Result<Url, ParseError> {
        let u = url::Url::parse(input).map_err(|_| ParseError)?;
        let origin = u.origin();
        Ok(Url {
            href: u.as_str().to_string(),
            scheme: u.scheme().to_string(),
            username: u.username().to_string(),
            password: u.password().map(str::to_string),
            host: u.host_str().filter(|h| !h.is_empty()).map(str::to_string),
            port: u.port(),
            path: u.path().to_string(),
            query: u.query().map(str::to_string),
            fragment: u.fragment().map(str::to_string),
            origin: origin.is_tuple().then(|| origin.ascii_serialization()),
        })
    }
}

#[cfg(target_arch = "wasm32")]
mod backend {
    use super::{ParseError, Url};
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/src/worker/glue.mjs")]
    extern "C" {
        /// `new URL(input)` as JSON `[href, scheme, username, password, host, port, path, query,
        /// fragment, origin]` (absent parts `null`), or `null` when it does not parse.
        #[wasm_bindgen(js_name = parseUrl)]
        fn parse_url(input: &str) -> Option<String>;
    }

    type Parts = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );

    pub fn parse(input: &str) -> Result<Url, ParseError> {
        let json = parse_url(input).ok_or(ParseError)?;
        let (href, scheme, username, password, host, port, path, query, fragment, origin): Parts =
            serde_json::from_str(&json).map_err(|_| ParseError)?;
        Ok(Url {
            href,
            scheme,
            username,
            password,
            host,
            port: port.and_then(|p| p.parse().ok()),
            path,
            query,
            fragment,
            origin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_as_the_url_standard_parses_them() {
        let u = Url::parse("HTTPS://User:pw@Example.COM:8443/a/../b?x=1#frag").unwrap();
        assert_eq!(u.scheme(), "https");
        assert_eq!((u.username(), u.password()), ("User", Some("pw")));
        assert_eq!(u.host_str(), Some("example.com"));
        assert_eq!(u.host(), Some(Host::Domain("example.com".into())));
        assert_eq!(u.port(), Some(8443));
        assert_eq!(u.path(), "/b");
        assert_eq!(u.query(), Some("x=1"));
        assert_eq!(u.fragment(), Some("frag"));
        assert_eq!(u.origin(), Some("https://example.com:8443"));
        assert_eq!(u.path_and_query(), "/b?x=1");

        let bare = Url::parse("http://127.1/cb?").unwrap();
        assert_eq!(bare.host(), Some(Host::Ipv4(Ipv4Addr::LOCALHOST)));
        assert_eq!(bare.host_str(), Some("127.0.0.1"));
        assert_eq!((bare.query(), bare.fragment(), bare.password()), (Some(""), None, None));
        assert_eq!(bare.path_and_query(), "/cb?");
        assert_eq!(bare.port_or_known_default(), Some(80));

        let v6 = Url::parse("http://[0:0::1]:8080/").unwrap();
        assert_eq!(v6.host_str(), Some("[::1]"));
        assert_eq!(v6.host(), Some(Host::Ipv6(Ipv6Addr::LOCALHOST)));

        let native = Url::parse("com.example.app:/callback").unwrap();
        assert!(!native.has_host());
        assert_eq!((native.scheme(), native.path(), native.origin()), ("com.example.app", "/callback", None));
        let opaque = Url::parse("myapp://127.0.0.1/cb").unwrap();
        assert_eq!(opaque.host(), Some(Host::Domain("127.0.0.1".into())), "no IPv4 hosts outside special schemes");
        assert!(!Url::parse("file:///etc/passwd").unwrap().has_host());

        for bad in ["", "/relative", "http://", "http://exa mple.com/", "https://[::1/"] {
            assert_eq!(Url::parse(bad), Err(ParseError), "{bad}");
        }
    }

    /// The shared vectors (tests/vectors/urls.json): the host parser must read each as recorded;
    /// tests/url_parity.rs checks workerd's reads them the same way.
    #[test]
    fn the_shared_vectors() {
        let vectors: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../../tests/vectors/urls.json")).unwrap();
        assert!(vectors.len() > 50);
        for v in vectors {
            let input = v["input"].as_str().unwrap();
            let parsed = Url::parse(input);
            assert_eq!(parsed.is_ok(), v["ok"] == true, "{input}");
            let Ok(u) = parsed else { continue };
            let s = |k: &str| v[k].as_str().map(str::to_string);
            assert_eq!(Some(u.as_str().to_string()), s("href"), "{input}");
            assert_eq!(Some(u.scheme().to_string()), s("scheme"), "{input}");
            assert_eq!(Some(u.username().to_string()), s("username"), "{input}");
            assert_eq!(u.password().map(str::to_string), s("password"), "{input}");
            assert_eq!(u.host_str().map(str::to_string), s("host"), "{input}");
            assert_eq!(u.port().map(u64::from), v["port"].as_u64(), "{input}");
            assert_eq!(Some(u.path().to_string()), s("path"), "{input}");
            assert_eq!(u.query().map(str::to_string), s("query"), "{input}");
            assert_eq!(u.fragment().map(str::to_string), s("fragment"), "{input}");
            assert_eq!(u.origin().map(str::to_string), s("origin"), "{input}");
        }
    }
}
