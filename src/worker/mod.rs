//! The Worker shell (wasm only): the fetch entry point, conversion between `worker` types and
//! [`crate::http`], and the [`crate::platform::Platform`] implementation over D1, KV and
//! WebCrypto.

mod crypto;
mod platform;

use std::cell::OnceCell;
use std::rc::Rc;

use futures_util::StreamExt;
use worker::{event, Context, Env, Headers, ScheduleContext, ScheduledEvent};

use crate::config::{Config, ConfigError};
use crate::http::{Method, Request, Response, MAX_BODY_BYTES};

thread_local! {
    /// Vars and secrets do not change within an isolate: parse and validate them once.
    static CONFIG: OnceCell<Rc<Result<Config, ConfigError>>> = const { OnceCell::new() };
}

fn config(env: &Env) -> Rc<Result<Config, ConfigError>> {
    CONFIG.with(|c| {
        c.get_or_init(|| {
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
                if let Some(f) = wasm_bindgen::JsCast::dyn_ref::<js_sys::Function>(&f) {
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
fn report_missing_rate_limiters(env: &Env) {
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

#[event(fetch)]
async fn fetch(req: worker::Request, env: Env, ctx: Context) -> worker::Result<worker::Response> {
    install_panic_hook();
    let cfg = config(&env);
    let (request, too_large) = read_request(req).await;
    report_missing_rate_limiters(&env);
    let mut platform = match platform::WorkerPlatform::new(env, Some(ctx)) {
        Ok(p) => p,
        Err(e) => {
            let err = crate::error::ApiError::internal(e)
                .with_description("The D1 binding DB or the KV binding KV is missing; check wrangler.toml.");
            return to_worker_response(err.admin_response(false));
        }
    };
    let test_routes = cfg.as_ref().as_ref().map(|c| c.test_routes).unwrap_or(false);
    // Test routes only: a request can ask for a storage outage, to test how the server degrades.
    platform.storage_down = test_routes && request.header(TEST_OUTAGE_HEADER) == Some("down");
    let head = request.method == Method::Head;
    let method = request.method.as_str();
    let log = crate::log::RequestLog::new();
    let started = js_sys::Date::now();
    let mut response = crate::app::handle(&platform, cfg.as_ref().as_ref(), request, too_large, &log).await;
    // One line per request (Workers Logs, `wrangler tail`). The clock only advances across I/O
    // in a Worker, so the duration is the time spent waiting on storage and the network.
    worker::console_log!("{}", log.line(method, &response, (js_sys::Date::now() - started).max(0.0) as u64));
    if test_routes {
        // What this request cost in storage operations (end-to-end tests report it).
        response = response.with_header("x-hydra-edge-storage", &platform.ops.summary());
        // The isolate's wasm linear memory, which never shrinks (the soak watches it).
        response = response.with_header("x-hydra-edge-wasm-memory", &wasm_memory_bytes().to_string());
    }
    count_and_flush(&platform, &log, &response);
    if head {
        response.body.clear();
    }
    to_worker_response(response)
}

/// Count the request in this isolate's metrics and, when the flush interval has passed, add the
/// counts to D1 after the response (never on its path; see src/metrics.rs).
fn count_and_flush(platform: &platform::WorkerPlatform, log: &crate::log::RequestLog, response: &Response) {
    let now_ms = js_sys::Date::now() as i64;
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
    let platform = match platform::WorkerPlatform::new(env, None) {
        Ok(p) => p,
        Err(e) => {
            worker::console_error!("cleanup: {e}");
            return;
        }
    };
    let now = js_sys::Date::now() as i64 / 1000;
    match crate::store::delete_expired(&platform, now).await {
        Ok(n) => worker::console_log!("cleanup: deleted {n} expired rows"),
        Err(e) => worker::console_error!("cleanup failed: {e}"),
    }
}

/// How much of an oversized body is still read (and thrown away) before the 413 goes out. A
/// response sent while the upload is unfinished leaves the client's connection mid-request,
/// which stalls the connection `wrangler dev`'s proxy shares between requests; draining a
/// moderately oversized body keeps that connection usable. Past this, nothing more is read.
const DRAIN_LIMIT_BYTES: usize = 8 << 20;

/// Convert the request, keeping at most [`MAX_BODY_BYTES`] of body. The second value is true
/// when the body is larger (its rest is then drained up to [`DRAIN_LIMIT_BYTES`] and dropped).
async fn read_request(mut req: worker::Request) -> (Request, bool) {
    let method = Method::parse(req.method().as_ref());
    let (path, query) = match req.url() {
        Ok(u) => (u.path().to_string(), u.query().unwrap_or("").to_string()),
        Err(_) => (req.path(), String::new()),
    };
    let headers: Vec<(String, String)> = req.headers().entries().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    let mut out = Request { method, path, query, headers, body: Vec::new() };
    let declared: Option<usize> = out.header("content-length").and_then(|v| v.parse().ok());
    if declared.map(|n| n > DRAIN_LIMIT_BYTES).unwrap_or(false) {
        return (out, true);
    }
    if matches!(method, Method::Get | Method::Head) {
        return (out, false);
    }
    // Content-Length may be absent or wrong: count what actually arrives.
    let mut seen = 0usize;
    if let Ok(mut stream) = req.stream() {
        while let Some(Ok(bytes)) = stream.next().await {
            seen += bytes.len();
            if seen > DRAIN_LIMIT_BYTES {
                break;
            }
            if seen <= MAX_BODY_BYTES {
                out.body.extend_from_slice(&bytes);
            }
        }
    }
    if seen > MAX_BODY_BYTES {
        out.body = Vec::new();
        return (out, true);
    }
    (out, false)
}

fn to_worker_response(r: Response) -> worker::Result<worker::Response> {
    let headers = Headers::new();
    for (k, v) in &r.headers {
        // Header values are built by us; a value the Headers API refuses is dropped, not a 500.
        let _ = headers.append(k, v);
    }
    let body = if r.body.is_empty() { None } else { Some(r.body) };
    let resp = match body {
        Some(b) => worker::Response::from_bytes(b)?,
        None => worker::Response::empty()?,
    };
    Ok(resp.with_status(r.status).with_headers(headers))
}
