//! The Worker shell (wasm only): the `respond` export that `entry.mjs` calls with each request,
//! the scheduled job, and the [`crate::platform::Platform`] implementation over D1, KV and
//! WebCrypto (through `glue.mjs`).
//!
//! Per-request cost is kept to what the request needs: the request arrives as plain values
//! (method, URL, headers as one string, body bytes), the answer leaves as one array, the
//! configuration is parsed once per isolate, bindings are looked up once per isolate, and a
//! request that needs no I/O is answered synchronously (no Promise, no task queue).

mod platform;

use std::cell::OnceCell;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll, Waker};

use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use worker::{event, Env, ScheduleContext, ScheduledEvent};

use crate::config::{Config, ConfigError};
use crate::http::{Method, Request, Response};

thread_local! {
    /// Vars and secrets do not change within an isolate: parse and validate them once.
    static CONFIG: OnceCell<Rc<Result<Config, ConfigError>>> = const { OnceCell::new() };
}

fn config(env: &JsValue) -> Rc<Result<Config, ConfigError>> {
    CONFIG.with(|c| {
        c.get_or_init(|| {
            let env: &Env = env.unchecked_ref();
            Rc::new(Config::from_lookup(|name| {
                env.secret(name).ok().map(|s| s.to_string()).or_else(|| env.var(name).ok().map(|v| v.to_string()))
            }))
        })
        .clone()
    })
}

/// Chain a panic hook (once per instance) that answers the requests in flight through
/// `globalThis.__hydraEdgePanic` (src/worker/entry.mjs) before the instance aborts. The hook
/// `worker` installs (logging, marking the instance for re-creation) still runs first.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            let global = js_sys::global();
            if let Ok(f) = js_sys::Reflect::get(&global, &"__hydraEdgePanic".into()) {
                if let Some(f) = f.dyn_ref::<js_sys::Function>() {
                    let _ = f.call0(&global);
                }
            }
        }));
    });
}

/// With test routes on: `x-hydra-edge-test-storage: down` makes every D1 and KV call fail.
const TEST_OUTAGE_HEADER: &str = "x-hydra-edge-test-storage";

/// Say once per isolate which rate limiters the Worker runs without (no `[[ratelimits]]`
/// binding, e.g. under plain miniflare): those limits are then not enforced.
fn report_missing_rate_limiters(env: &JsValue) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let names: Vec<&str> = crate::ratelimit::Limiter::ALL.iter().map(|l| l.binding()).collect();
        let missing = platform::missing_ratelimit_bindings(env, &names);
        if !missing.is_empty() {
            worker::console_warn!(
                "hydra-edge: rate limiting is off for {}: no such [[ratelimits]] binding (see wrangler.toml)",
                missing.join(", ")
            );
        }
    });
}

/// The request as `entry.mjs` hands it over: method, URL, headers as `name\nvalue\n...` (names
/// lower-case, as the Headers API gives them), body (absent for GET and HEAD).
fn to_request(method: &str, url: &str, headers: &str, body: Option<Vec<u8>>) -> Request {
    // workerd gives the URL serialised (WHATWG): scheme, "//", authority, then the path.
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    let target = url[after_scheme..].find('/').map(|i| &url[after_scheme + i..]).unwrap_or("/");
    let target = target.split_once('#').map(|(t, _)| t).unwrap_or(target);
    let mut request = Request::new(Method::parse(method), target);
    let mut lines = headers.split('\n');
    while let (Some(k), Some(v)) = (lines.next(), lines.next()) {
        request.headers.push((k.to_string(), v.to_string()));
    }
    request.body = body.unwrap_or_default();
    request
}

/// `[status, "name\nvalue\n...", body or null]` for `entry.mjs`.
fn to_js(r: Response) -> JsValue {
    let mut headers = String::new();
    for (k, v) in &r.headers {
        // Header values are built by us; one that could not be a header is dropped.
        if !k.contains(['\n', '\r']) && !v.contains(['\n', '\r']) {
            headers.push_str(k);
            headers.push('\n');
            headers.push_str(v);
            headers.push('\n');
        }
    }
    let body = if r.body.is_empty() { JsValue::NULL } else { Uint8Array::from(&r.body[..]).into() };
    Array::of3(&JsValue::from(r.status), &JsValue::from_str(&headers), &body).into()
}

/// Answer one request: the response array when it could be answered without waiting on I/O,
/// else a Promise of it.
#[wasm_bindgen]
pub fn respond(
    method: &str,
    url: &str,
    headers: &str,
    body: Option<Vec<u8>>,
    too_large: bool,
    env: JsValue,
    ctx: JsValue,
) -> JsValue {
    install_panic_hook();
    let request = to_request(method, url, headers, body);
    let mut work = Box::pin(serve(request, too_large, env, ctx));
    // Poll once right away: a route that needs no I/O (health, cached discovery and JWKS) is
    // done now. Anything pending continues under a Promise; its futures re-register their waker
    // on every poll, so the first poll's no-op waker is never relied on.
    match work.as_mut().poll(&mut TaskContext::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => wasm_bindgen_futures::future_to_promise(async move { Ok(work.await) }).into(),
    }
}

async fn serve(request: Request, too_large: bool, env: JsValue, ctx: JsValue) -> JsValue {
    let cfg = config(&env);
    report_missing_rate_limiters(&env);
    let test_routes = cfg.as_ref().as_ref().map(|c| c.test_routes).unwrap_or(false);
    let mut platform = platform::WorkerPlatform::new(env, Some(ctx));
    if let Some(why) = platform.misconfigured() {
        return to_js(crate::error::ApiError::internal(why).with_description(why).admin_response(false));
    }
    // Test routes only: a request can ask for a storage outage, to test how the server degrades.
    platform.storage_down = test_routes && request.header(TEST_OUTAGE_HEADER) == Some("down");
    let head = request.method == Method::Head;
    // Whether entry.mjs may replay this answer to later requests of the same URL: a plain GET,
    // nothing in it that changes the answer (CORS, revalidation, a test outage).
    let plain_get = request.method == Method::Get
        && request.header("origin").is_none()
        && request.header("if-none-match").is_none()
        && !platform.storage_down;
    let method = request.method.as_str();
    // Read before the request runs: a copy made from an answer that raced a key write (which
    // moves the generation) is never current in entry.mjs.
    let generation = crate::memo::generation();
    let log = crate::log::RequestLog::new();
    let started = js_sys::Date::now();
    let mut response = crate::app::handle(&platform, cfg.as_ref().as_ref(), request, too_large, &log).await;
    // One line per request (Workers Logs, `wrangler tail`). The clock only advances across I/O
    // in a Worker, so the duration is the time spent waiting on storage and the network.
    if log.wanted(&response, cfg.as_ref().as_ref().ok()) {
        worker::console_log!("{}", log.line(method, &response, (js_sys::Date::now() - started).max(0.0) as u64));
    }
    if test_routes {
        // What this request cost in storage operations (end-to-end tests report it).
        response = response.with_header("x-hydra-edge-storage", &platform.ops.summary());
        // The isolate's wasm linear memory, which never shrinks (the soak watches it).
        response = response.with_header("x-hydra-edge-wasm-memory", &wasm_memory_bytes().to_string());
    }
    let now_ms = js_sys::Date::now() as i64;
    if let Some(until) = log.replayable_until_ms().filter(|u| plain_get && response.status == 200 && *u > now_ms) {
        if !log.wanted(&response, cfg.as_ref().as_ref().ok()) {
            let mark = format!("{until} {generation} {}", log.observed().route);
            response = response.with_header(REPLAY_HEADER, &mark);
        }
    }
    count_and_flush(&platform, &log, &response, now_ms);
    if head {
        response.body.clear();
    }
    to_js(response)
}

/// Tells entry.mjs it may answer later plain GETs of this URL with a copy of this answer until
/// `<until>` (ms since the epoch: the end of the per-isolate copy's bound the answer came from)
/// while the memo generation is still `<generation>` (read before the request ran), counting
/// them as route `<route>`: `x-hydra-edge-replay: <until> <generation> <route>`. entry.mjs
/// removes it.
const REPLAY_HEADER: &str = "x-hydra-edge-replay";

/// entry.mjs drops its replayed copies when this moved (a per-isolate copy was cleared, e.g. by
/// a key write).
#[wasm_bindgen]
pub fn replay_generation() -> u32 {
    crate::memo::generation()
}

/// Count the answers entry.mjs replayed since the last call: `route\ntimes\n...` (all 200s).
#[wasm_bindgen]
pub fn count_replayed(counts: &str) {
    let now_ms = js_sys::Date::now() as i64;
    let mut lines = counts.split('\n');
    while let (Some(route), Some(times)) = (lines.next(), lines.next()) {
        let Ok(times) = times.parse::<u64>() else { continue };
        let seen = crate::log::Observed {
            route: route.to_string(),
            grant_type: None,
            flow_started: None,
            flow_completed: None,
            implicit_tokens: false,
        };
        crate::metrics::record_times(&seen, &Response::new(200), now_ms, times);
    }
}

/// Count the request in this isolate's metrics and, when the flush interval has passed, add the
/// counts to D1 after the response (never on its path; see src/metrics.rs).
fn count_and_flush(
    platform: &platform::WorkerPlatform,
    log: &crate::log::RequestLog,
    response: &Response,
    now_ms: i64,
) {
    crate::metrics::record(&log.observed(), response, now_ms);
    if let Some(samples) = crate::metrics::take_due(now_ms) {
        let queries = crate::store::metrics::upsert(&samples);
        crate::platform::Platform::sql_batch_after_response(
            platform,
            queries,
            Box::new(move |outcome| {
                if let Err(e) = outcome {
                    worker::console_warn!("metrics: flush failed, kept for the next one: {e}");
                    crate::metrics::restore(samples);
                }
            }),
        );
    }
}

fn wasm_memory_bytes() -> u32 {
    use wasm_bindgen::JsCast;
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| m.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length())
        .unwrap_or(0)
}

/// The cleanup job (cron trigger in wrangler.toml): delete expired markers, codes, tokens,
/// jtis and sessions.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    install_panic_hook();
    let platform = platform::WorkerPlatform::new(env.into(), None);
    let now = js_sys::Date::now() as i64 / 1000;
    match crate::store::delete_expired(&platform, now).await {
        Ok(n) => worker::console_log!("cleanup: deleted {n} expired rows"),
        Err(e) => worker::console_error!("cleanup failed: {e}"),
    }
}
