//! `/metrics/prometheus` against the Worker in workerd: real counts of requests, tokens and
//! flows in Prometheus' text format, behind the admin token; counted in memory, added to D1
//! after a response once the flush interval has passed (never on a response's path), and read
//! back as D1's sums plus what the isolate has not flushed yet.

mod common;

use std::time::Duration;

use common::oauth::{location, param, run_flow, storage_ops, Rp, VERIFIER};
use common::{Server, ADMIN_TOKEN};
use serde_json::json;

fn metrics(s: &Server) -> String {
    let r = s.client().get(s.url("/metrics/prometheus")).bearer_auth(ADMIN_TOKEN).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    r.text().unwrap()
}

/// The value of one sample line, 0 when absent.
fn value(text: &str, sample: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|v| v.strip_prefix(' ')))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0)
}

#[test]
fn counters_are_exact_global_and_cost_no_storage_on_the_response_path() {
    let s = Server::start(&[]);
    // Behind the admin token.
    assert_eq!(s.client().get(s.url("/metrics/prometheus")).send().unwrap().status(), 401);

    // A complete flow: login and consent started and completed, a code exchanged.
    let rp = Rp::register(&s, json!({}));
    let browser = s.browser();
    let r = run_flow(&rp, &browser, &rp.auth_url(&[]), "metrics-user");
    let code = param(&location(&r), "code").unwrap();
    let (status, _, _) = rp.exchange(&code, VERIFIER);
    assert_eq!(status, 200);
    let (status, _, _) = rp.exchange(&code, VERIFIER);
    assert_eq!(status, 400, "a replayed code is an error");
    for _ in 0..3 {
        assert_eq!(s.client().get(s.url("/oauth2/fallbacks/error")).send().unwrap().status(), 200);
    }

    let text = metrics(&s);
    assert!(text.contains("# TYPE hydra_edge_http_requests_total counter"), "{text}");
    assert_eq!(value(&text, "hydra_edge_http_requests_total{route=\"Fallback\",status=\"200\"}"), 3, "{text}");
    assert_eq!(value(&text, "hydra_edge_http_requests_total{route=\"Token\",status=\"200\"}"), 1);
    assert_eq!(value(&text, "hydra_edge_http_requests_total{route=\"Token\",status=\"400\"}"), 1);
    assert_eq!(value(&text, "hydra_edge_tokens_issued_total{grant_type=\"authorization_code\"}"), 1);
    assert_eq!(value(&text, "hydra_edge_errors_total{route=\"Token\",error=\"invalid_grant\"}"), 1);
    for flow in ["login", "consent"] {
        assert_eq!(value(&text, &format!("hydra_edge_flows_started_total{{flow=\"{flow}\"}}")), 1, "{text}");
        assert_eq!(value(&text, &format!("hydra_edge_flows_completed_total{{flow=\"{flow}\"}}")), 1, "{text}");
    }

    // After the flush interval, the next request hands the counts to D1 after its response:
    // its own storage cost stays what the route costs (discovery: nothing).
    std::thread::sleep(Duration::from_millis(5_500));
    let r = s.client().get(s.url("/.well-known/openid-configuration")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(storage_ops(&r).starts_with("d1=0/0"), "{}", storage_ops(&r));
    let mut stored = Vec::new();
    for _ in 0..50 {
        stored = s.d1("SELECT name, labels, value FROM metrics WHERE labels = 'route=\"Fallback\",status=\"200\"'");
        if !stored.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(stored.len(), 1, "the counts reached D1");
    assert_eq!(stored[0]["value"], 3);
    // D1's sums plus the unflushed counts: nothing counted twice or lost.
    let text = metrics(&s);
    assert_eq!(value(&text, "hydra_edge_http_requests_total{route=\"Fallback\",status=\"200\"}"), 3, "{text}");
    assert_eq!(value(&text, "hydra_edge_tokens_issued_total{grant_type=\"authorization_code\"}"), 1);
    assert_eq!(value(&text, "hydra_edge_http_requests_total{route=\"Discovery\",status=\"200\"}"), 1);

    // Answers the shell replays from memory (src/worker/replay.mjs) never run in wasm, yet are
    // counted: the next request that runs there hands their count over.
    for _ in 0..4 {
        let r = s.client().get(s.url("/.well-known/openid-configuration")).send().unwrap();
        assert!(storage_ops(&r).ends_with("replayed=1"), "{}", storage_ops(&r));
    }
    let text = metrics(&s);
    assert_eq!(value(&text, "hydra_edge_http_requests_total{route=\"Discovery\",status=\"200\"}"), 5, "{text}");
}
