//! The cacheable documents end to end: discovery and JWKS carry `ETag` and `Cache-Control`,
//! answer 304 to a current `If-None-Match`, come from the isolate's memory (no storage call) once
//! built, and a key write changes the JWKS (and its tag) at once where it was made. The bounds of
//! the per-isolate copies are unit-tested with a moved clock (docs/storage.md, "Caches").

mod common;

use common::oauth::storage_ops;
use common::{json_of, shared};
use reqwest::Method;
use serde_json::json;

fn get(path: &str, if_none_match: Option<&str>) -> reqwest::blocking::Response {
    let s = shared();
    let mut rb = s.client().get(s.url(path));
    if let Some(tag) = if_none_match {
        rb = rb.header("if-none-match", tag);
    }
    rb.send().unwrap()
}

#[test]
fn discovery_and_jwks_are_cacheable_and_revalidate_with_304() {
    for (path, cache_control) in
        [("/.well-known/openid-configuration", "public, max-age=300"), ("/.well-known/jwks.json", "public, max-age=60")]
    {
        let first = get(path, None);
        assert_eq!(first.status(), 200, "{path}");
        assert_eq!(first.headers()["cache-control"], cache_control, "{path}");
        let etag = first.headers()["etag"].to_str().unwrap().to_string();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
        let again = get(path, None);
        assert!(storage_ops(&again).starts_with("d1=0/0, kv_read=0"), "from memory: {}", storage_ops(&again));
        let not_modified = get(path, Some(&etag));
        assert_eq!(not_modified.status(), 304, "{path}");
        assert_eq!(not_modified.headers()["etag"], etag.as_str());
        assert_eq!(not_modified.headers()["cache-control"], cache_control);
        assert!(not_modified.bytes().unwrap().is_empty());
        assert_eq!(get(path, Some("\"stale\", W/\"other\"")).status(), 200, "{path}");
        // HEAD answers like GET, without a body.
        let head = shared().client().head(shared().url(path)).send().unwrap();
        assert_eq!((head.status().as_u16(), head.headers()["etag"].to_str().unwrap()), (200, etag.as_str()));
    }
}

#[test]
fn a_key_write_changes_the_jwks_and_its_tag_at_once_where_it_was_made() {
    let s = shared();
    let before = get("/.well-known/jwks.json", None);
    let etag = before.headers()["etag"].to_str().unwrap().to_string();
    let (_, doc) = json_of(before);
    let (status, created) =
        s.admin_json(Method::POST, "/admin/keys/hydra.jwt.access-token", &json!({"alg": "ES256", "use": "sig"}));
    assert_eq!(status, 201, "{created}");
    let kid = created["keys"][0]["kid"].as_str().unwrap().to_string();
    assert!(!doc.to_string().contains(&kid));
    let after = get("/.well-known/jwks.json", Some(&etag));
    assert_eq!(after.status(), 200, "the old tag no longer matches");
    assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
    let (_, doc) = json_of(after);
    assert!(doc["keys"].as_array().unwrap().iter().any(|k| k["kid"] == kid.as_str()), "{doc}");
    assert!(doc.to_string().find("\"d\"").is_none(), "no private part is published");
}
