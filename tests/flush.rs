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
