//! [`Platform`] over the Worker's bindings: D1 `DB`, KV `KV`, WebCrypto and `fetch`.

use std::cell::Cell;

use futures_util::StreamExt;
use serde_json::Value;
use wasm_bindgen::JsValue;
use worker::{Context, D1Database, D1PreparedStatement, Env, KvStore};

use super::crypto;
use crate::platform::{PResult, Platform, PlatformError, Query, QueryResult, Row, SigningKey, SqlValue};

pub struct WorkerPlatform {
    db: D1Database,
    kv: KvStore,
    env: Env,
    /// The request's context; `None` in the scheduled job.
    ctx: Option<Context>,
    /// Storage operations of this request, reported to the end-to-end tests.
    pub ops: OpCounts,
    /// Test routes only: every D1 and KV call of this request fails (an outage, on demand).
    pub storage_down: bool,
}

/// Outbound fetches (a client's `jwks_uri`): the longest wait, and the most body read.
const FETCH_TIMEOUT_MS: u64 = 5_000;
const FETCH_MAX_BODY: usize = 64 * 1024;

#[derive(Default)]
pub struct OpCounts {
    pub d1_round_trips: Cell<u32>,
    pub d1_statements: Cell<u32>,
    pub kv_reads: Cell<u32>,
    pub kv_writes: Cell<u32>,
}

impl OpCounts {
    fn add(c: &Cell<u32>, n: u32) {
        c.set(c.get() + n);
    }

    /// `d1=<round trips>/<statements>, kv_read=<n>, kv_write=<n>`
    pub fn summary(&self) -> String {
        format!(
            "d1={}/{}, kv_read={}, kv_write={}",
            self.d1_round_trips.get(),
            self.d1_statements.get(),
            self.kv_reads.get(),
            self.kv_writes.get()
        )
    }
}

fn err(e: impl std::fmt::Display) -> PlatformError {
    PlatformError(e.to_string())
}

/// The rate-limiting binding named `binding`, if `wrangler.toml` declares it.
fn ratelimit_binding(env: &Env, binding: &str) -> Option<JsValue> {
    let value = js_sys::Reflect::get(env, &JsValue::from_str(binding)).ok()?;
    let limit = js_sys::Reflect::get(&value, &JsValue::from_str("limit")).ok()?;
    limit.is_function().then_some(value)
}

/// `await binding.limit({ key })` → `success`.
async fn limit(binding: &JsValue, key: &str) -> PResult<bool> {
    let js = |e: JsValue| PlatformError(format!("rate limiter: {e:?}"));
    let f: js_sys::Function = js_sys::Reflect::get(binding, &JsValue::from_str("limit")).map_err(js)?.into();
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &JsValue::from_str("key"), &JsValue::from_str(key)).map_err(js)?;
    let promise: js_sys::Promise = f.call1(binding, &options).map_err(js)?.into();
    let outcome = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(js)?;
    Ok(js_sys::Reflect::get(&outcome, &JsValue::from_str("success")).map_err(js)?.as_bool().unwrap_or(true))
}

/// Which of `bindings` this Worker lacks (reported once per isolate).
pub fn missing_ratelimit_bindings(env: &Env, bindings: &[&str]) -> Vec<String> {
    bindings.iter().filter(|b| ratelimit_binding(env, b).is_none()).map(|b| b.to_string()).collect()
}

impl WorkerPlatform {
    pub fn new(env: Env, ctx: Option<Context>) -> Result<WorkerPlatform, String> {
        let db = env.d1("DB").map_err(|e| format!("D1 binding DB: {e}"))?;
        let kv = env.kv("KV").map_err(|e| format!("KV binding KV: {e}"))?;
        Ok(WorkerPlatform { db, kv, env, ctx, ops: OpCounts::default(), storage_down: false })
    }

    fn up(&self) -> PResult<()> {
        if self.storage_down {
            return Err(PlatformError("simulated storage outage (test header)".into()));
        }
        Ok(())
    }

    fn prepare(&self, q: &Query) -> PResult<D1PreparedStatement> {
        prepare_on(&self.db, q)
    }
}

/// A statement with its parameters bound, on `db`.
fn prepare_on(db: &D1Database, q: &Query) -> PResult<D1PreparedStatement> {
    {
        let params: Vec<JsValue> = q
            .params
            .iter()
            .map(|v| match v {
                SqlValue::Null => JsValue::NULL,
                // Timestamps and counters stay far below 2^53.
                SqlValue::Int(i) => JsValue::from_f64(*i as f64),
                SqlValue::Text(s) => JsValue::from_str(s),
            })
            .collect();
        db.prepare(q.sql).bind(&params).map_err(err)
    }
}

/// Rows as JSON objects. Going through `JSON.stringify` keeps integers integral.
fn rows_of(result: &worker::D1Result) -> PResult<Vec<Row>> {
    let values: Vec<Value> = result.results::<Value>().map_err(err)?;
    Ok(values
        .into_iter()
        .filter_map(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .collect())
}

fn to_result(result: &worker::D1Result) -> PResult<QueryResult> {
    if let Some(e) = result.error() {
        return Err(PlatformError(e));
    }
    let changes = result.meta().map_err(err)?.and_then(|m| m.changes).unwrap_or(0) as u64;
    Ok(QueryResult { rows: rows_of(result)?, changes })
}

impl Platform for WorkerPlatform {
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }

    async fn sql(&self, query: Query) -> PResult<QueryResult> {
        OpCounts::add(&self.ops.d1_round_trips, 1);
        OpCounts::add(&self.ops.d1_statements, 1);
        self.up()?;
        let stmt = self.prepare(&query)?;
        let result = stmt.all().await.map_err(|e| PlatformError(format!("D1: {e} (in: {})", query.sql)))?;
        to_result(&result)
    }

    async fn sql_batch(&self, queries: Vec<Query>) -> PResult<Vec<QueryResult>> {
        OpCounts::add(&self.ops.d1_round_trips, 1);
        OpCounts::add(&self.ops.d1_statements, queries.len() as u32);
        self.up()?;
        let stmts = queries.iter().map(|q| self.prepare(q)).collect::<PResult<Vec<_>>>()?;
        let results = self.db.batch(stmts).await.map_err(|e| PlatformError(format!("D1 batch: {e}")))?;
        results.iter().map(to_result).collect()
    }

    async fn kv_get(&self, key: &str) -> PResult<Option<String>> {
        OpCounts::add(&self.ops.kv_reads, 1);
        self.up()?;
        self.kv.get(key).text().await.map_err(err)
    }

    async fn kv_put(&self, key: &str, value: &str, ttl_secs: u64) -> PResult<()> {
        OpCounts::add(&self.ops.kv_writes, 1);
        self.up()?;
        self.kv.put(key, value).map_err(err)?.expiration_ttl(ttl_secs.max(60)).execute().await.map_err(err)
    }

    async fn kv_delete(&self, key: &str) -> PResult<()> {
        OpCounts::add(&self.ops.kv_writes, 1);
        self.up()?;
        self.kv.delete(key).await.map_err(err)
    }

    fn kv_delete_later(&self, key: &str, delay_ms: u64) {
        OpCounts::add(&self.ops.kv_writes, 1);
        let kv = self.kv.clone();
        let key = key.to_string();
        self.after_response(async move {
            worker::Delay::from(std::time::Duration::from_millis(delay_ms)).await;
            let _ = kv.delete(&key).await;
        });
    }

    async fn sign(&self, key: &SigningKey, input: &[u8]) -> PResult<Vec<u8>> {
        crypto::sign(key, input).await.map_err(PlatformError)
    }

    async fn verify(&self, jwk: &Value, alg: &str, input: &[u8], signature: &[u8]) -> PResult<bool> {
        crypto::verify(jwk, alg, input, signature).await.map_err(PlatformError)
    }

    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> PResult<[u8; 32]> {
        crypto::pbkdf2_sha256(password, salt, iterations).await.map_err(PlatformError)
    }

    async fn generate_jwk(&self, alg: &str) -> PResult<Value> {
        crypto::generate_jwk(alg).await.map_err(PlatformError)
    }

    /// GET without following redirects, within [`FETCH_TIMEOUT_MS`] for headers and body
    /// together, reading at most [`FETCH_MAX_BODY`] bytes of a 200 (and none of anything else);
    /// whatever is cut short is aborted, so the connection goes too.
    async fn http_get(&self, url: &str) -> PResult<(u16, Vec<u8>)> {
        use futures_util::future::{select, Either};
        let controller = worker::AbortController::default();
        let signal = controller.signal();
        let mut init = worker::RequestInit::new();
        init.with_method(worker::Method::Get).with_redirect(worker::RequestRedirect::Manual);
        let req = worker::Request::new_with_init(url, &init).map_err(err)?;
        let work = async {
            let mut resp = worker::Fetch::Request(req).send_with_signal(&signal).await.map_err(err)?;
            let status = resp.status_code();
            if status != 200 {
                return Ok((status, Vec::new()));
            }
            let mut stream = resp.stream().map_err(err)?;
            let mut body = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(err)?;
                if body.len() + chunk.len() > FETCH_MAX_BODY {
                    return Err(PlatformError(format!("response from {url} is larger than {FETCH_MAX_BODY} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, body))
        };
        let timeout = worker::Delay::from(std::time::Duration::from_millis(FETCH_TIMEOUT_MS));
        let outcome = match select(std::pin::pin!(work), timeout).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => {
                Err(PlatformError(format!("no complete answer from {url} within {FETCH_TIMEOUT_MS} ms")))
            }
        };
        if !matches!(outcome, Ok((200, _))) {
            controller.abort();
        }
        outcome
    }

    async fn rate_limit(&self, binding: &'static str, key: &str) -> PResult<bool> {
        match ratelimit_binding(&self.env, binding) {
            Some(limiter) => limit(&limiter, key).await,
            None => Ok(true),
        }
    }

    async fn http_post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout_ms: u64,
    ) -> PResult<(u16, Vec<u8>)> {
        bounded_post(url, headers, body, timeout_ms, true).await
    }

    fn post_after_response(&self, post: crate::platform::BackgroundPost) {
        self.after_response(async move {
            let headers: Vec<(&str, &str)> = post.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            // Relying parties' URLs: a redirect is an answer, never followed.
            let outcome = bounded_post(&post.url, &headers, &post.body, post.timeout_ms, false).await;
            worker::console_log!("{}", (post.report)(outcome.map(|(status, _)| status).map_err(|e| e.0)));
        });
    }

    fn sql_batch_after_response(&self, queries: Vec<Query>, done: Box<dyn FnOnce(PResult<()>)>) {
        if self.storage_down {
            return done(Err(PlatformError("simulated storage outage (test header)".into())));
        }
        let env = self.env.clone();
        self.after_response(async move {
            let run = async {
                let db = env.d1("DB").map_err(err)?;
                let stmts = queries.iter().map(|q| prepare_on(&db, q)).collect::<PResult<Vec<_>>>()?;
                let results = db.batch(stmts).await.map_err(|e| PlatformError(format!("D1 batch: {e}")))?;
                results.iter().map(to_result).collect::<PResult<Vec<_>>>().map(|_| ())
            };
            done(run.await);
        });
    }

    fn after_response(&self, fut: impl std::future::Future<Output = ()> + 'static) {
        match &self.ctx {
            Some(ctx) => ctx.wait_until(fut),
            None => wasm_bindgen_futures::spawn_local(fut),
        }
    }
}

/// POST `body` with `headers` to `url`, giving up after `timeout_ms` with the answer included
/// and reading at most 5 MiB of it; redirects are followed only when `follow_redirects`.
/// Borrows nothing of the platform, so it also runs after the response.
async fn bounded_post(
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout_ms: u64,
    follow_redirects: bool,
) -> PResult<(u16, Vec<u8>)> {
    use futures_util::future::{select, Either};
    const MAX: usize = 5 << 20;
    let h = worker::Headers::new();
    for (k, v) in headers {
        h.set(k, v).map_err(err)?;
    }
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post).with_headers(h).with_body(Some(js_sys::Uint8Array::from(body).into()));
    if !follow_redirects {
        init.with_redirect(worker::RequestRedirect::Manual);
    }
    let req = worker::Request::new_with_init(url, &init).map_err(err)?;
    let controller = worker::AbortController::default();
    let signal = controller.signal();
    let exchange = async move {
        let mut resp = worker::Fetch::Request(req).send_with_signal(&signal).await.map_err(err)?;
        let status = resp.status_code();
        let body = resp.bytes().await.map_err(err)?;
        Ok::<_, PlatformError>((status, body))
    };
    let timer = worker::Delay::from(std::time::Duration::from_millis(timeout_ms));
    match select(Box::pin(exchange), Box::pin(timer)).await {
        Either::Left((result, _)) => {
            let (status, body) = result?;
            if body.len() > MAX {
                return Err(PlatformError(format!("response from {url} is larger than {MAX} bytes")));
            }
            Ok((status, body))
        }
        Either::Right(_) => {
            controller.abort();
            Err(PlatformError(format!("no answer from {url} within {timeout_ms} ms")))
        }
    }
}
