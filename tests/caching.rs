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
        // From memory (a key write of the test below may make the isolate forget it once).
        let from_memory = (0..3).any(|_| storage_ops(&get(path, None)).starts_with("d1=0/0, kv_read=0"));
        assert!(from_memory, "{path} is served from memory once built");
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

const DOCUMENTS: [&str; 2] = ["/.well-known/openid-configuration", "/.well-known/jwks.json"];

/// A plain GET of a document whose answer came from the isolate's copy is replayed by the shell
/// (src/worker/replay.mjs) without running in wasm: byte for byte the same answer. A request with
/// anything that could change the answer (CORS, revalidation, HEAD) runs as before.
#[test]
fn plain_gets_of_the_documents_are_replayed_and_other_requests_are_not() {
    let s = shared();
    for path in DOCUMENTS {
        let replayed = (0..4).map(|_| get(path, None)).find(|r| storage_ops(r).ends_with("replayed=1"));
        let replayed = replayed.unwrap_or_else(|| panic!("{path} is replayed once its copy is in memory"));
        let ran = get(path, Some("\"other\""));
        assert!(!storage_ops(&ran).contains("replayed"), "If-None-Match runs in wasm: {}", storage_ops(&ran));
        for r in [&replayed, &ran] {
            assert!(r.headers().get("x-hydra-edge-replay").is_none(), "the shell's mark never leaves it");
        }
        for name in ["content-type", "cache-control", "etag"] {
            assert_eq!(replayed.headers()[name], ran.headers()[name], "{path} {name}");
        }
        assert_eq!(replayed.bytes().unwrap(), ran.bytes().unwrap(), "{path}: the same body");
        let with_origin = s.client().get(s.url(path)).header("origin", "https://rp.example").send().unwrap();
        assert_eq!(with_origin.status(), 200);
        assert!(!storage_ops(&with_origin).contains("replayed"), "{path} with Origin runs in wasm");
        let head = s.client().head(s.url(path)).send().unwrap();
        assert!(!storage_ops(&head).contains("replayed"), "{path}: HEAD runs in wasm");
        assert!(head.bytes().unwrap().is_empty());
    }
}

/// A copy is kept per Host header as well as URL: with a loopback issuer the server refuses
/// other host names (500), and a replayed 200 must not answer for it. (Under `wrangler dev` the
/// URL follows the Host header already; the key holds both for a front end where it does not.)
#[test]
fn a_replayed_document_is_not_served_under_another_host_name() {
    let s = shared();
    let path = "/.well-known/openid-configuration";
    assert!((0..4).any(|_| storage_ops(&get(path, None)).ends_with("replayed=1")), "replayed first");
    let r = s.client().get(s.url(path)).header("host", "auth.example.com").send().unwrap();
    assert_eq!(r.status(), 500, "another host name is refused, not replayed");
}

/// A replayed copy lives no longer than the per-isolate copy it was made from (10 s): for a URL
/// only this test asks for, every replay comes within 10 s of the last answer that ran in wasm
/// (which made the copy), and after 11 s of asking, both kinds were seen.
#[test]
fn a_replayed_document_lasts_no_longer_than_its_isolate_copy() {
    let path = format!("/.well-known/openid-configuration?replay-bound={}", std::process::id());
    let started = std::time::Instant::now();
    let (mut last_run, mut runs, mut replays) = (started, 0, 0);
    while started.elapsed().as_millis() < 11_000 {
        let sent = std::time::Instant::now();
        let r = get(&path, None);
        if storage_ops(&r).contains("replayed") {
            replays += 1;
            let age = sent.duration_since(last_run);
            assert!(runs > 0 && age.as_millis() < 10_100, "a replay {age:?} after the copy was made");
        } else {
            runs += 1;
            last_run = sent;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(replays > 0, "replayed within the bound");
    assert!(runs >= 2, "ran in wasm again after the bound ({runs} runs, {replays} replays)");
}

/// A key write ends the replayed JWKS at once where it was made (the wasm module's memo
/// generation moves, and the shell drops its copies).
#[test]
fn a_key_write_ends_the_replayed_jwks_at_once() {
    let s = shared();
    let replayed = (0..4).any(|_| storage_ops(&get("/.well-known/jwks.json", None)).ends_with("replayed=1"));
    assert!(replayed, "the JWKS is replayed before the write");
    let (status, created) =
        s.admin_json(Method::POST, "/admin/keys/hydra.jwt.access-token", &json!({"alg": "ES256", "use": "sig"}));
    assert_eq!(status, 201, "{created}");
    let kid = created["keys"][0]["kid"].as_str().unwrap().to_string();
    let (_, doc) = json_of(get("/.well-known/jwks.json", None));
    assert!(doc["keys"].as_array().unwrap().iter().any(|k| k["kid"] == kid.as_str()), "{doc}");
}

/// The client copies, end to end: a client whose D1 row is gone (moved behind the server's back,
/// so nothing invalidates) is still served from the isolate's memory within its 10 s bound (no
/// KV read), then from KV after it (one KV read; D1 no longer has it), and an admin delete ends
/// both at once. The KV copy's own bound (`CLIENT_CACHE_TTL`) is unit-tested with a moved clock.
#[test]
fn a_client_is_served_from_the_isolate_copy_within_its_bound_then_from_kv() {
    use common::oauth::basic;
    let s = shared();
    let secret = "a-secret-for-the-cache-test";
    let (status, created) = s.admin_json(
        Method::POST,
        "/admin/clients",
        &json!({"grant_types": ["client_credentials"], "access_token_strategy": "jwt", "client_secret": secret}),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["client_id"].as_str().unwrap().to_string();
    let token = || {
        s.client()
            .post(s.url("/oauth2/token"))
            .header("authorization", basic(&id, secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .unwrap()
    };
    // A write deletes KV's copy again 5 s later (docs/storage.md): fill it after that.
    std::thread::sleep(std::time::Duration::from_millis(5_500));
    let first = token();
    assert_eq!(first.status(), 200, "{}", first.text().unwrap());
    // The row moves out of the way in D1 itself (no cache invalidation runs).
    s.d1(&format!("UPDATE clients SET id = id || '-hidden' WHERE id = '{id}'"));
    let started = std::time::Instant::now();
    let within = token();
    let ops = storage_ops(&within);
    assert_eq!(within.status(), 200, "the isolate's copy answers");
    // (D1 may be read for a signing key another test's key write made this isolate forget.)
    assert!(ops.contains(", kv_read=0,"), "within the bound: the client from memory: {ops}");

    std::thread::sleep(std::time::Duration::from_millis(10_500).saturating_sub(started.elapsed()));
    let after = token();
    let ops = storage_ops(&after);
    assert_eq!(after.status(), 200, "KV's copy answers (the D1 row is gone)");
    assert!(ops.contains(", kv_read=1,"), "after the bound: the client from KV: {ops}");

    // An admin delete clears the copies at once (the isolate's and KV's).
    s.d1(&format!("UPDATE clients SET id = '{id}' WHERE id = '{id}-hidden'"));
    assert_eq!(s.admin(Method::DELETE, &format!("/admin/clients/{id}")).send().unwrap().status(), 204);
    assert_eq!(token().status(), 401, "deleted: refused at once");
}
