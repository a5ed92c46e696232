//! `POST /oauth2/flush` (Hydra v0.11 to v1.x) against the Worker in workerd: it runs the
//! cleanup the cron job runs, bounded by `notAfter`, behind the admin token.

mod common;

use common::{json_of, Server, ADMIN_TOKEN};
use serde_json::json;

#[test]
fn flush_deletes_what_expired_before_not_after() {
    let s = Server::start(&[]);
    // Two redeemed-flow markers long expired (2001 and 2011) and one still valid.
    s.d1("INSERT INTO flow_markers (id, request_url, claim, used_at, expires_at) VALUES \
         ('flush-old', 'u', 'c', 1, 1000000000), ('flush-newer', 'u', 'c', 1, 1300000000), \
         ('flush-live', 'u', 'c', 1, 4000000000)");
    let ids = || -> Vec<String> {
        s.d1("SELECT id FROM flow_markers WHERE id LIKE 'flush-%' ORDER BY id")
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let flush = |body: Option<serde_json::Value>| {
        let mut r = s.client().post(s.url("/oauth2/flush")).bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().unwrap()
    };
    // Without the admin token: nothing happens.
    let r = s.client().post(s.url("/oauth2/flush")).json(&json!({})).send().unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(ids().len(), 3);
    // A bad date is a 400, and nothing happens.
    let (status, body) = json_of(flush(Some(json!({"notAfter": "last tuesday"}))));
    assert_eq!(status, 400, "{body}");
    assert_eq!(ids().len(), 3);
    // notAfter 2005: only what expired before 2005 goes.
    let r = flush(Some(json!({"notAfter": "2005-01-01T00:00:00Z"})));
    assert_eq!(r.status(), 204);
    assert!(r.text().unwrap().is_empty());
    assert_eq!(ids(), vec!["flush-live", "flush-newer"]);
    // Without a body (or `null`, as generated SDKs send it): everything expired goes.
    let r = s
        .client()
        .post(s.url("/oauth2/flush"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("null")
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(ids(), vec!["flush-live"]);
    assert_eq!(flush(None).status(), 204);
    // A notAfter in the future flushes nothing that has not expired.
    assert_eq!(flush(Some(json!({"notAfter": "2100-01-01T00:00:00Z"}))).status(), 204);
    assert_eq!(ids(), vec!["flush-live"]);
}

/// The cleanup finds expired tokens through the expires_at index: with 400 live tokens and 3
/// expired ones it reads a handful of token rows, not the whole table (`d1_rows_read` of the
/// test-mode storage header; D1 runs one query at a time, so a full scan would hold up every
/// other request, and D1 bills the rows it reads).
#[test]
fn the_cleanup_reads_the_expired_tokens_not_the_table() {
    let s = Server::start(&[]);
    s.d1(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 403) \
         INSERT INTO tokens (signature, kind, request_id, client_id, subject, data, issued_at, expires_at) \
         SELECT 'live-' || i, 'access_token', 'r-' || i, 'c', 'u', '{}', 1, CASE WHEN i > 400 THEN 1000 ELSE 4000000000 END FROM n",
    );
    let r = s.client().post(s.url("/oauth2/flush")).bearer_auth(ADMIN_TOKEN).json(&json!({})).send().unwrap();
    assert_eq!(r.status(), 204);
    let ops = common::oauth::storage_ops(&r);
    let read: u32 = ops.split(", ").find_map(|p| p.strip_prefix("d1_rows_read=")).unwrap().parse().unwrap();
    assert!(read < 100, "the cleanup read {read} rows for 3 expired tokens among 400: {ops}");
    assert_eq!(s.d1("SELECT COUNT(*) AS n FROM tokens")[0]["n"], 400);
}
