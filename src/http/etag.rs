//! Conditional GETs of cacheable documents (discovery, JWKS): an `ETag` over the body,
//! `Cache-Control` so browsers, relying parties and resource servers keep them too, and
//! `304 Not Modified` when the client already has this version (RFC 9110 §13.1.2).

use super::{Request, Response};
use crate::crypto::{hex, sha256};

/// A document with its entity tag, computed once when the document is built.
#[derive(Debug)]
pub struct Tagged {
    pub body: Vec<u8>,
    pub etag: String,
}

impl Tagged {
    pub fn new(body: Vec<u8>) -> Tagged {
        Tagged { etag: of(&body), body }
    }
}

/// A strong entity tag for `body`: the first 128 bits of its SHA-256, quoted.
pub fn of(body: &[u8]) -> String {
    format!("\"{}\"", &hex(&sha256(body))[..32])
}

/// Does `If-None-Match` name `etag` (or `*`)? Weak comparison, as RFC 9110 §13.1.2 requires.
pub fn matches(req: &Request, etag: &str) -> bool {
    let Some(header) = req.header("if-none-match") else { return false };
    let bare = etag.trim_start_matches("W/");
    header.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == bare)
}

/// 200 with the body, or 304 without it when the client's copy is current; both carry `ETag` and
/// `Cache-Control`.
pub fn respond(req: &Request, body: &[u8], etag: &str, content_type: &str, cache_control: &str) -> Response {
    let response = if matches(req, etag) {
        Response::new(304)
    } else {
        Response::new(200).with_header("content-type", content_type).with_body(body.to_vec()).with_nosniff()
    };
    response.with_header("etag", etag).with_header("cache-control", cache_control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    fn get(if_none_match: Option<&str>) -> Request {
        let mut r = Request::new(Method::Get, "/.well-known/jwks.json");
        if let Some(v) = if_none_match {
            r.headers.push(("if-none-match".into(), v.into()));
        }
        r
    }

    #[test]
    fn answers_304_only_for_the_current_version() {
        let tag = of(b"{\"keys\":[]}");
        assert_eq!(tag.len(), 34);
        assert_ne!(tag, of(b"{\"keys\":[1]}"));
        let ok = respond(&get(None), b"{}", &tag, "application/json", "public, max-age=60");
        assert_eq!(ok.status, 200);
        assert_eq!(ok.body, b"{}");
        assert_eq!(ok.header("etag"), Some(tag.as_str()));
        assert_eq!(ok.header("cache-control"), Some("public, max-age=60"));
        for current in [tag.clone(), format!("W/{tag}"), format!("\"x\", {tag}"), "*".into()] {
            let r = respond(&get(Some(&current)), b"{}", &tag, "application/json", "public");
            assert_eq!(r.status, 304, "{current}");
            assert!(r.body.is_empty());
            assert_eq!(r.header("etag"), Some(tag.as_str()));
        }
        assert_eq!(respond(&get(Some("\"stale\"")), b"{}", &tag, "application/json", "public").status, 200);
    }
}
