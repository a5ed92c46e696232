//! `GET /metrics/prometheus`: counters in Prometheus' text format (requests by route and
//! status, tokens issued by grant, flows started and completed, errors), global across isolates
//! and locations.
//!
//! Counting adds no storage call to any request. Each isolate counts in memory; at the end of a
//! request, when [`FLUSH_INTERVAL_MS`] have passed since its last flush, the shell hands the
//! counts to D1 as one batch of UPSERTs *after* the response is sent (`waitUntil`). The endpoint
//! answers D1's sums plus the counts this isolate has not flushed yet. So the numbers lag by at
//! most the flush interval per busy isolate; an isolate that stops receiving requests keeps its
//! last counts until its next request, and an isolate that is evicted loses them (at most a few
//! seconds' worth). `docs/storage.md` says the same.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::ctx::Ctx;
use crate::error::ApiResult;
use crate::http::Response;
use crate::log::{error_code_of, Observed};
use crate::platform::Platform;

/// The least time between two flushes of one isolate.
pub const FLUSH_INTERVAL_MS: i64 = 5_000;
/// The most counters one flush writes (the rest waits for the next).
pub const MAX_FLUSH_ROWS: usize = 200;

pub const REQUESTS: &str = "hydra_edge_http_requests_total";
pub const TOKENS: &str = "hydra_edge_tokens_issued_total";
pub const FLOWS_STARTED: &str = "hydra_edge_flows_started_total";
pub const FLOWS_COMPLETED: &str = "hydra_edge_flows_completed_total";
pub const ERRORS: &str = "hydra_edge_errors_total";

/// Each metric with its help text, in the order the endpoint writes them.
const METRICS: &[(&str, &str)] = &[
    (REQUESTS, "HTTP requests by route (the route table's name) and status."),
    (TOKENS, "Token responses: the token endpoint's by grant type; implicit: tokens from the authorization endpoint."),
    (FLOWS_STARTED, "Login, consent, logout, device and v0.10 consent flows started."),
    (FLOWS_COMPLETED, "Flows whose verifier was redeemed."),
    (ERRORS, "Error responses by route and error code (other: a code not in the known set)."),
];

/// Error codes counted by name; anything else is `other`, so label values stay few.
const KNOWN_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "unsupported_response_type",
    "unsupported_response_mode",
    "server_error",
    "temporarily_unavailable",
    "invalid_state",
    "login_required",
    "consent_required",
    "interaction_required",
    "request_unauthorized",
    "request_forbidden",
    "invalid_client_metadata",
    "invalid_redirect_uri",
    "invalid_token",
    "jti_known",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
    "authorization_pending",
    "slow_down",
    "expired_token",
    "rejected_consent_request",
];

/// One counter: metric name, labels as Prometheus writes them (`route="Token",status="200"`),
/// and a count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub name: String,
    pub labels: String,
    pub value: u64,
}

#[derive(Default)]
struct Pending {
    counts: BTreeMap<(String, String), u64>,
    /// When this isolate last flushed; `None` until its first request.
    last_flush_ms: Option<i64>,
}

thread_local! {
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
}

/// A label value safe inside `"…"` (our values are route names and codes; this is a guard).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The counters one request adds.
pub fn samples_of(seen: &Observed, response: &Response) -> Vec<(&'static str, String)> {
    let route = label(&seen.route);
    let mut out = vec![(REQUESTS, format!("route=\"{route}\",status=\"{}\"", response.status))];
    if seen.route == "Token" && response.status == 200 {
        out.push((TOKENS, format!("grant_type=\"{}\"", seen.grant_type.unwrap_or("other"))));
    }
    if seen.implicit_tokens {
        out.push((TOKENS, "grant_type=\"implicit\"".to_string()));
    }
    if let Some(flow) = seen.flow_started {
        out.push((FLOWS_STARTED, format!("flow=\"{flow}\"")));
    }
    if let Some(flow) = seen.flow_completed {
        out.push((FLOWS_COMPLETED, format!("flow=\"{flow}\"")));
    }
    let code = error_code_of(response);
    if response.status >= 400 || code.is_some() {
        let error = code.as_deref().filter(|c| KNOWN_ERRORS.contains(c)).unwrap_or("other");
        out.push((ERRORS, format!("route=\"{route}\",error=\"{error}\"")));
    }
    out
}

/// Count one finished request in this isolate.
pub fn record(seen: &Observed, response: &Response, now_ms: i64) {
    record_times(seen, response, now_ms, 1);
}

/// Count `times` requests that ended alike (answers the shell replayed from memory).
pub fn record_times(seen: &Observed, response: &Response, now_ms: i64, times: u64) {
    let samples = samples_of(seen, response);
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        p.last_flush_ms.get_or_insert(now_ms);
        for (name, labels) in samples {
            *p.counts.entry((name.to_string(), labels)).or_insert(0) += times;
        }
    });
}

/// The counts to flush now, taken out of this isolate's memory: when the interval has passed
/// since the last flush and anything was counted.
pub fn take_due(now_ms: i64) -> Option<Vec<Sample>> {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        let last = *p.last_flush_ms.get_or_insert(now_ms);
        if now_ms - last < FLUSH_INTERVAL_MS || p.counts.is_empty() {
            return None;
        }
        p.last_flush_ms = Some(now_ms);
        let mut taken = Vec::new();
        while taken.len() < MAX_FLUSH_ROWS {
            let Some(((name, labels), value)) = p.counts.pop_first() else { break };
            taken.push(Sample { name, labels, value });
        }
        Some(taken)
    })
}

/// Put counts back after a flush that failed (they go out with the next one).
pub fn restore(samples: Vec<Sample>) {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        for s in samples {
            *p.counts.entry((s.name, s.labels)).or_insert(0) += s.value;
        }
    });
}

/// This isolate's counts not flushed yet.
pub fn pending() -> Vec<Sample> {
    PENDING.with(|p| {
        p.borrow()
            .counts
            .iter()
            .map(|((name, labels), value)| Sample { name: name.clone(), labels: labels.clone(), value: *value })
            .collect()
    })
}

/// Prometheus' text exposition format (0.0.4) of the stored and pending counts, summed.
pub fn render(stored: Vec<Sample>, pending: Vec<Sample>) -> String {
    let mut sums: BTreeMap<(String, String), u64> = BTreeMap::new();
    for s in stored.into_iter().chain(pending) {
        *sums.entry((s.name, s.labels)).or_insert(0) += s.value;
    }
    let mut out = String::new();
    for (name, help) in METRICS {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
        for ((_, labels), value) in sums.range((name.to_string(), String::new())..).take_while(|((n, _), _)| n == name)
        {
            out.push_str(&format!("{name}{{{labels}}} {value}\n"));
        }
    }
    out
}

/// `GET /metrics/prometheus`
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> ApiResult<Response> {
    let stored = crate::store::metrics::read_all(ctx.p).await?;
    Ok(Response::new(200)
        .with_header("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .with_body(render(stored, pending()).into_bytes())
        .with_nosniff())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seen(route: &str) -> Observed {
        Observed {
            route: route.into(),
            grant_type: None,
            flow_started: None,
            flow_completed: None,
            implicit_tokens: false,
        }
    }

    #[test]
    fn a_token_request_counts_route_and_grant() {
        let mut s = seen("Token");
        s.grant_type = Some("client_credentials");
        let got = samples_of(&s, &Response::json(200, &json!({})));
        assert_eq!(
            got,
            vec![
                (REQUESTS, "route=\"Token\",status=\"200\"".to_string()),
                (TOKENS, "grant_type=\"client_credentials\"".to_string())
            ]
        );
    }

    #[test]
    fn errors_are_counted_with_bounded_codes() {
        let got = samples_of(&seen("Token"), &Response::json(400, &json!({"error": "invalid_grant"})));
        assert!(got.contains(&(ERRORS, "route=\"Token\",error=\"invalid_grant\"".to_string())), "{got:?}");
        let got = samples_of(&seen("LoginAccept"), &Response::json(404, &json!({"error": "Unable to locate"})));
        assert!(got.contains(&(ERRORS, "route=\"LoginAccept\",error=\"other\"".to_string())));
        let redirect = Response::redirect(303, "https://rp/cb?error=access_denied&state=x");
        let mut s = seen("Authorize");
        s.flow_completed = Some("consent");
        let got = samples_of(&s, &redirect);
        assert!(got.contains(&(ERRORS, "route=\"Authorize\",error=\"access_denied\"".to_string())));
        assert!(got.contains(&(FLOWS_COMPLETED, "flow=\"consent\"".to_string())));
    }

    #[test]
    fn flushes_wait_for_the_interval_and_sum_up() {
        let ok = Response::new(204);
        record(&seen("Flush"), &ok, 1_000);
        record(&seen("Flush"), &ok, 2_000);
        assert_eq!(take_due(3_000), None, "within the interval");
        let taken = take_due(6_500).expect("due");
        assert_eq!(
            taken,
            vec![Sample { name: REQUESTS.into(), labels: "route=\"Flush\",status=\"204\"".into(), value: 2 }]
        );
        assert!(pending().is_empty());
        restore(taken.clone());
        assert_eq!(pending(), taken);
        assert_eq!(take_due(7_000), None, "the interval starts again");
    }

    #[test]
    fn replayed_answers_count_as_many_requests() {
        record_times(&seen("Replayed"), &Response::new(200), 1_000, 41);
        record(&seen("Replayed"), &Response::new(200), 1_000);
        let counted = pending().into_iter().find(|s| s.labels == "route=\"Replayed\",status=\"200\"");
        assert_eq!(counted.map(|s| s.value), Some(42));
    }

    #[test]
    fn rendering_sums_stored_and_pending() {
        let s = |n: &str, l: &str, v| Sample { name: n.into(), labels: l.into(), value: v };
        let text = render(
            vec![s(REQUESTS, "route=\"Token\",status=\"200\"", 5), s(TOKENS, "grant_type=\"refresh_token\"", 1)],
            vec![s(REQUESTS, "route=\"Token\",status=\"200\"", 2)],
        );
        assert!(text.contains("# TYPE hydra_edge_http_requests_total counter\n"), "{text}");
        assert!(text.contains("hydra_edge_http_requests_total{route=\"Token\",status=\"200\"} 7\n"), "{text}");
        assert!(text.contains("hydra_edge_tokens_issued_total{grant_type=\"refresh_token\"} 1\n"), "{text}");
        assert!(text.contains("# HELP hydra_edge_errors_total"), "every metric is described, counted or not");
    }
}
