//! The host platform: [`Platform`] without workerd, for handler-level tests that run in
//! milliseconds under `cargo test`.
//!
//! * D1 is SQLite (`rusqlite`, bundled) running the real `migrations/` files with D1's
//!   semantics: one statement per `sql` call, a `batch` as one transaction (all or nothing),
//!   rows as JSON objects with D1's value types, `changes` of the statement (`sqlite.rs`).
//! * Workers KV is in memory, with TTLs and a propagation delay between locations: a
//!   [`World`] is one deployment, each [`HostPlatform`] one location of it; a write is seen at
//!   once where it was made and after [`World::set_kv_delay_ms`] elsewhere (`kv.rs`).
//! * WebCrypto's algorithms in Rust, with the same results (known-answer vectors in
//!   `tests/vectors/webcrypto.json` prove it) (`crypto.rs`).
//! * Faults: any storage or crypto call can be made to fail by its index, as an error or as a
//!   timeout whose write did land (`faults.rs`).
//! * A manual clock, work deferred after the response (`after_response`, `kv_delete_later`,
//!   `post_after_response`) run when the clock passes its time, and a small executor that can
//!   interleave concurrent requests at every platform call (`exec.rs`).
//! * Outbound HTTP to answers the test serves, every request recorded with its outcome: a
//!   client's `jwks_uri`, the token hook, back-channel logout (`outbound.rs`).
//! * The rate-limiting bindings of `wrangler.toml`, as fixed windows per location
//!   (`ratelimit.rs`).
//! * The log: each request's line (`crate::log`) and each line work after the response logs.
//!
//! An isolate's own memory (the `thread_local!` caches of clients, signing keys, verified
//! secrets, refused rate-limit keys) is the thread's: the locations of a [`World`] share it, and
//! a second `World` on the same thread would inherit it. Use one `World` per thread (each test
//! runs on its own); a new thread is a new isolate.
//!
//! Why a cargo feature (`host-platform`) and not `#[cfg(test)]`: integration tests in `tests/`
//! link the library built without `cfg(test)`, and they are where most handler tests live. The
//! feature's crates are optional and in a `cfg(not(target_arch = "wasm32"))` dependency section,
//! so neither rusqlite nor the RSA/P-521 code can reach the wasm; a dev-dependency of the crate
//! on itself turns the feature on for every `cargo test` (unit and integration alike).
//!
//! This is no stand-in for the end-to-end suite (tests/*.rs against `wrangler dev`): that one
//! proves what only workerd, D1 and KV themselves can show.

mod crypto;
mod exec;
mod faults;
mod kv;
mod outbound;
mod ratelimit;
mod sqlite;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde_json::Value;

pub use exec::{block_on, run_concurrently};
pub use faults::{Call, CallKind, Fault};
pub use outbound::{Sent, Stub};
pub use ratelimit::Limit;

use crate::config::{Config, ConfigError};
use crate::http::{Request, Response};
use crate::log::RequestLog;
use crate::platform::{BackgroundPost, PResult, Platform, PlatformError, Query, QueryResult, ReadFrom, SigningKey};

type Deferred = Pin<Box<dyn Future<Output = ()>>>;

struct Inner {
    db: sqlite::Db,
    kv: RefCell<kv::Kv>,
    clock_ms: Cell<i64>,
    kv_delay_ms: Cell<i64>,
    faults: RefCell<faults::Faults>,
    /// Work to run after the response: (due time, task), in the order it was queued.
    deferred: RefCell<Vec<(i64, Deferred)>>,
    /// When set, every platform call yields once first, so concurrently polled requests
    /// interleave at each call (see [`run_concurrently`]).
    interleave: Cell<bool>,
    outbound: RefCell<outbound::Outbound>,
    rate_limits: RefCell<ratelimit::RateLimits>,
    /// What the Worker would print: one line per request, and the lines of deferred work.
    logs: RefCell<Vec<String>>,
}

/// One deployment: a D1 database, a KV namespace, a clock and a fault plan, shared by all its
/// locations.
#[derive(Clone)]
pub struct World {
    inner: Rc<Inner>,
}

/// One location (isolate) of a [`World`]: what the handlers get as their [`Platform`].
#[derive(Clone)]
pub struct HostPlatform {
    inner: Rc<Inner>,
    location: Rc<str>,
}

/// KV's propagation delay between locations, as Cloudflare documents it ("up to 60 s").
pub const KV_PROPAGATION_MS: i64 = 60_000;

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    /// A fresh deployment: an in-memory database with every migration applied, an empty KV, the
    /// clock at the current time, KV propagation at [`KV_PROPAGATION_MS`].
    pub fn new() -> World {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        World {
            inner: Rc::new(Inner {
                db: sqlite::Db::open_migrated().expect("apply migrations/ to an in-memory SQLite database"),
                kv: RefCell::new(kv::Kv::default()),
                clock_ms: Cell::new(now),
                kv_delay_ms: Cell::new(KV_PROPAGATION_MS),
                faults: RefCell::new(faults::Faults::default()),
                deferred: RefCell::new(Vec::new()),
                interleave: Cell::new(false),
                outbound: RefCell::new(outbound::Outbound::default()),
                rate_limits: RefCell::new(ratelimit::RateLimits::default()),
                logs: RefCell::new(Vec::new()),
            }),
        }
    }

    /// The platform of one location (`"a"`, `"b"`, ...).
    pub fn location(&self, name: &str) -> HostPlatform {
        HostPlatform { inner: self.inner.clone(), location: name.into() }
    }

    pub fn now_ms(&self) -> i64 {
        self.inner.clock_ms.get()
    }

    /// Move the clock forward, running the deferred work that comes due on the way, each task
    /// at its own time.
    pub fn advance_ms(&self, ms: i64) {
        let target = self.inner.clock_ms.get() + ms;
        loop {
            let next = self.inner.deferred.borrow().iter().map(|(due, _)| *due).filter(|d| *d <= target).min();
            match next {
                Some(due) => {
                    self.inner.clock_ms.set(due.max(self.inner.clock_ms.get()));
                    self.run_due();
                }
                None => break,
            }
        }
        self.inner.clock_ms.set(target);
    }

    pub fn advance_secs(&self, secs: i64) {
        self.advance_ms(secs * 1000);
    }

    pub fn set_kv_delay_ms(&self, ms: i64) {
        self.inner.kv_delay_ms.set(ms);
    }

    /// Yield at every platform call (for [`run_concurrently`]).
    pub fn set_interleave(&self, on: bool) {
        self.inner.interleave.set(on);
    }

    /// Run the deferred work whose time has come (a response has been sent).
    pub fn run_due(&self) {
        loop {
            let now = self.now_ms();
            let task = {
                let mut d = self.inner.deferred.borrow_mut();
                d.iter().position(|(due, _)| *due <= now).map(|i| d.remove(i).1)
            };
            match task {
                Some(t) => block_on(t),
                None => break,
            }
        }
    }

    /// Empty KV everywhere (cold caches).
    pub fn clear_kv(&self) {
        *self.inner.kv.borrow_mut() = kv::Kv::default();
    }

    /// Run one statement directly on the database (test inspection; no faults, not counted).
    pub fn sql(&self, sql: &str) -> Vec<serde_json::Map<String, Value>> {
        self.inner.db.run_raw(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// `SELECT COUNT(*)` of a query's rows.
    pub fn count(&self, sql: &str) -> i64 {
        self.sql(&format!("SELECT COUNT(*) AS n FROM ({sql})"))[0]["n"].as_i64().unwrap_or(-1)
    }

    /// Start a new numbering of platform calls (index 0 is the next call).
    pub fn start_counting(&self) {
        self.inner.faults.borrow_mut().start();
    }

    /// The calls made since [`World::start_counting`].
    pub fn calls(&self) -> Vec<Call> {
        self.inner.faults.borrow().calls.clone()
    }

    /// Make the call of this index (counted from [`World::start_counting`]) fail.
    pub fn inject(&self, index: usize, fault: Fault) {
        self.inner.faults.borrow_mut().plan.push((index, fault));
    }

    /// Forget planned faults.
    pub fn clear_faults(&self) {
        self.inner.faults.borrow_mut().plan.clear();
    }

    /// Answer `GET url` with this status and body (client `jwks_uri` documents).
    pub fn serve_http(&self, url: &str, status: u16, body: impl Into<Vec<u8>>) {
        self.serve("GET", url, Stub { status, body: body.into(), delay_ms: 0 });
    }

    /// Answer `POST url` with this status and body (the token hook, back-channel logout URIs).
    pub fn serve_post(&self, url: &str, status: u16, body: impl Into<Vec<u8>>) {
        self.serve("POST", url, Stub { status, body: body.into(), delay_ms: 0 });
    }

    /// Answer `method url` as `stub` says (a slow answer: `delay_ms` at or beyond the caller's
    /// timeout never arrives).
    pub fn serve(&self, method: &'static str, url: &str, stub: Stub) {
        self.inner.outbound.borrow_mut().serve(method, url, stub);
    }

    /// Every outbound request sent so far, in order, with its outcome.
    pub fn sent(&self) -> Vec<Sent> {
        self.inner.outbound.borrow().sent.clone()
    }

    /// Change a rate-limiting binding's limit (`None`: no such binding, nothing limited).
    pub fn set_rate_limit(&self, binding: &str, limit: Option<Limit>) {
        self.inner.rate_limits.borrow_mut().set(binding, limit);
    }

    /// The log lines printed so far: one JSON line per request (`crate::log`) and the lines of
    /// work after the response (back-channel logout outcomes).
    pub fn logs(&self) -> Vec<String> {
        self.inner.logs.borrow().clone()
    }

    fn log(&self, line: String) {
        self.inner.logs.borrow_mut().push(line);
    }
}

/// A configuration from `(NAME, value)` pairs over test defaults (issuer, system secret and
/// admin token set).
pub fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut all: Vec<(String, String)> = vec![
        ("URLS_SELF_ISSUER".into(), "http://127.0.0.1:8787".into()),
        ("SECRETS_SYSTEM".into(), "host-platform-system-secret".into()),
        ("ADMIN_API_TOKEN".into(), ADMIN_TOKEN.into()),
        ("HYDRA_EDGE_TEST_ROUTES".into(), "true".into()),
    ];
    for (k, v) in vars {
        all.retain(|(n, _)| n != k);
        all.push((k.to_string(), v.to_string()));
    }
    Config::from_lookup(|name| all.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
}

/// The admin token of [`config`] (at least `config::MIN_ADMIN_TOKEN_LEN` characters).
pub const ADMIN_TOKEN: &str = "host-platform-admin-token-0123456789";

impl HostPlatform {
    pub fn world(&self) -> World {
        World { inner: self.inner.clone() }
    }

    /// Handle one request as the Worker would (its log line included), then run the deferred
    /// work that is due.
    pub fn handle(&self, cfg: &Config, req: Request) -> Response {
        let r = block_on(self.serve(cfg, req));
        self.world().run_due();
        r
    }

    /// The request as the Worker's fetch handler runs it: dispatch, then the request's log
    /// line. Deferred work is left to the caller ([`World::run_due`]).
    pub async fn serve(&self, cfg: &Config, req: Request) -> Response {
        let log = RequestLog::new();
        let method = req.method.as_str();
        let started = self.now_ms();
        let response = crate::app::handle(self, Ok(cfg), req, false, &log).await;
        self.world().log(log.line(method, &response, (self.now_ms() - started).max(0) as u64));
        response
    }

    /// Send one outbound request through the stubs; the clock advances by the time it took.
    fn exchange(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout_ms: u64,
    ) -> PResult<(u16, Vec<u8>)> {
        let sent = Sent {
            method,
            url: url.to_string(),
            headers: headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect(),
            body: body.to_vec(),
            location: self.location.to_string(),
            at_ms: self.now_ms(),
            outcome: Ok(0),
        };
        let done = self.inner.outbound.borrow_mut().exchange(sent, timeout_ms);
        // Time passes while waiting on the network (deferred work runs only after the response).
        self.inner.clock_ms.set(self.inner.clock_ms.get() + done.elapsed_ms);
        done.result.map_err(PlatformError)
    }

    /// Count the call, apply a planned fault, and yield first when interleaving.
    async fn enter(&self, kind: CallKind, detail: &str) -> Option<Fault> {
        if self.inner.interleave.get() {
            exec::yield_now().await;
        }
        self.inner.faults.borrow_mut().enter(kind, detail, &self.location)
    }
}

fn injected(kind: CallKind, fault: Fault) -> PlatformError {
    match fault {
        Fault::Error => PlatformError(format!("{kind:?}: injected failure")),
        Fault::Timeout => PlatformError(format!("{kind:?}: timed out (injected)")),
    }
}

impl Platform for HostPlatform {
    fn now_ms(&self) -> i64 {
        self.inner.clock_ms.get()
    }

    async fn sql(&self, query: Query) -> PResult<QueryResult> {
        let fault = self.enter(CallKind::Sql, query.sql).await;
        if fault == Some(Fault::Error) {
            return Err(injected(CallKind::Sql, Fault::Error));
        }
        let r = self.inner.db.run(&query);
        match fault {
            Some(f) => Err(injected(CallKind::Sql, f)),
            None => r,
        }
    }

    async fn sql_batch(&self, queries: Vec<Query>) -> PResult<Vec<QueryResult>> {
        let detail = queries.first().map(|q| q.sql).unwrap_or("");
        let fault = self.enter(CallKind::SqlBatch, detail).await;
        if fault == Some(Fault::Error) {
            return Err(injected(CallKind::SqlBatch, Fault::Error));
        }
        let r = self.inner.db.batch(&queries);
        match fault {
            Some(f) => Err(injected(CallKind::SqlBatch, f)),
            None => r,
        }
    }

    /// One SQLite database: every read is the primary's (no replica lag is simulated), counted
    /// and faulted as any other statement.
    async fn sql_read(&self, query: Query, _from: ReadFrom<'_>) -> PResult<QueryResult> {
        self.sql(query).await
    }

    async fn kv_get(&self, key: &str) -> PResult<Option<String>> {
        if let Some(f) = self.enter(CallKind::KvGet, key).await {
            return Err(injected(CallKind::KvGet, f));
        }
        Ok(self.inner.kv.borrow().get(key, &self.location, self.now_ms(), self.inner.kv_delay_ms.get()))
    }

    async fn kv_put(&self, key: &str, value: &str, ttl_secs: u64) -> PResult<()> {
        let fault = self.enter(CallKind::KvPut, key).await;
        if fault != Some(Fault::Error) {
            // KV's minimum TTL is 60 s; the Worker raises shorter ones the same way.
            let expires = self.now_ms() + ttl_secs.max(60) as i64 * 1000;
            self.inner.kv.borrow_mut().put(key, Some(value.to_string()), Some(expires), &self.location, self.now_ms());
        }
        fault.map_or(Ok(()), |f| Err(injected(CallKind::KvPut, f)))
    }

    async fn kv_delete(&self, key: &str) -> PResult<()> {
        let fault = self.enter(CallKind::KvDelete, key).await;
        if fault != Some(Fault::Error) {
            self.inner.kv.borrow_mut().put(key, None, None, &self.location, self.now_ms());
        }
        fault.map_or(Ok(()), |f| Err(injected(CallKind::KvDelete, f)))
    }

    fn kv_delete_later(&self, key: &str, delay_ms: u64) {
        // Counted like the others; a fault drops the delayed delete (as a failed waitUntil would).
        if self.inner.faults.borrow_mut().enter(CallKind::KvDeleteLater, key, &self.location).is_some() {
            return;
        }
        let inner = self.inner.clone();
        let location = self.location.clone();
        let key = key.to_string();
        let due = self.now_ms() + delay_ms as i64;
        self.inner.deferred.borrow_mut().push((
            due,
            Box::pin(async move {
                let now = inner.clock_ms.get();
                inner.kv.borrow_mut().put(&key, None, None, &location, now);
            }),
        ));
    }

    async fn sign(&self, key: &SigningKey, input: &[u8]) -> PResult<Vec<u8>> {
        if let Some(f) = self.enter(CallKind::Sign, &key.alg).await {
            return Err(injected(CallKind::Sign, f));
        }
        crypto::sign(key, input).map_err(PlatformError)
    }

    async fn verify(&self, jwk: &Value, alg: &str, input: &[u8], signature: &[u8]) -> PResult<bool> {
        if let Some(f) = self.enter(CallKind::Verify, alg).await {
            return Err(injected(CallKind::Verify, f));
        }
        crypto::verify(jwk, alg, input, signature).map_err(PlatformError)
    }

    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> PResult<[u8; 32]> {
        if let Some(f) = self.enter(CallKind::Pbkdf2, "").await {
            return Err(injected(CallKind::Pbkdf2, f));
        }
        Ok(crypto::pbkdf2_sha256(password, salt, iterations))
    }

    async fn generate_jwk(&self, alg: &str) -> PResult<Value> {
        if let Some(f) = self.enter(CallKind::GenerateJwk, alg).await {
            return Err(injected(CallKind::GenerateJwk, f));
        }
        crypto::generate_jwk(alg).map_err(PlatformError)
    }

    async fn aes_256_gcm(
        &self,
        encrypt: bool,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        data: &[u8],
    ) -> PResult<Option<Vec<u8>>> {
        if let Some(f) = self.enter(CallKind::AesGcm, if encrypt { "encrypt" } else { "decrypt" }).await {
            return Err(injected(CallKind::AesGcm, f));
        }
        Ok(crate::crypto::at_rest::aes_256_gcm_on_host(encrypt, key, nonce, aad, data))
    }

    async fn check_jwk(&self, jwk: &Value) -> PResult<Result<(), String>> {
        if let Some(f) = self.enter(CallKind::CheckJwk, jwk.get("crv").and_then(Value::as_str).unwrap_or("")).await {
            return Err(injected(CallKind::CheckJwk, f));
        }
        Ok(crate::keys::check_p256_on_host(jwk))
    }

    async fn http_get(&self, url: &str) -> PResult<(u16, Vec<u8>)> {
        if let Some(f) = self.enter(CallKind::HttpGet, url).await {
            return Err(injected(CallKind::HttpGet, f));
        }
        self.exchange("GET", url, &[], &[], outbound::GET_TIMEOUT_MS)
    }

    async fn http_post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout_ms: u64,
    ) -> PResult<(u16, Vec<u8>)> {
        // A timeout: the request went out (the receiver acted on it), its answer was lost.
        let fault = self.enter(CallKind::HttpPost, url).await;
        if fault == Some(Fault::Error) {
            return Err(injected(CallKind::HttpPost, Fault::Error));
        }
        let r = self.exchange("POST", url, headers, body, timeout_ms);
        fault.map_or(r, |f| Err(injected(CallKind::HttpPost, f)))
    }

    fn after_response(&self, fut: impl Future<Output = ()> + 'static) {
        self.inner.deferred.borrow_mut().push((self.now_ms(), Box::pin(fut)));
    }

    /// As the Worker: the POST runs after the response (deferred work), through the stubs and
    /// the fault plan, and the line its `report` makes is logged.
    fn post_after_response(&self, post: BackgroundPost) {
        let p = self.clone();
        self.after_response(async move {
            let headers: Vec<(&str, &str)> = post.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let outcome = p.http_post(&post.url, &headers, &post.body, post.timeout_ms).await;
            let line = (post.report)(outcome.map(|(status, _)| status).map_err(|e| e.0));
            p.world().log(line);
        });
    }

    async fn rate_limit(&self, binding: &'static str, key: &str) -> PResult<bool> {
        // A timeout: the event was counted, the answer lost.
        let fault = self.enter(CallKind::RateLimit, binding).await;
        if fault == Some(Fault::Error) {
            return Err(injected(CallKind::RateLimit, Fault::Error));
        }
        let allowed = self.inner.rate_limits.borrow_mut().count(&self.location, binding, key, self.now_ms());
        fault.map_or(Ok(allowed), |f| Err(injected(CallKind::RateLimit, f)))
    }
}
