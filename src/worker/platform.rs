//! [`Platform`] over the Worker's bindings: D1 `DB`, KV `KV`, WebCrypto and `fetch`, each
//! operation one call into `glue.mjs`.

use std::cell::{Cell, OnceCell};

use js_sys::{Promise, Uint8Array};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::platform::{PResult, Platform, PlatformError, Query, QueryResult, ReadFrom, Row, SigningKey, SqlValue};

#[wasm_bindgen(module = "/src/worker/glue.mjs")]
extern "C" {
    #[wasm_bindgen(js_name = d1Session)]
    fn d1_session(db: &JsValue, constraint_or_bookmark: &str) -> JsValue;
    #[wasm_bindgen(js_name = d1Bookmark)]
    fn d1_bookmark(session: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = d1All)]
    fn d1_all(db: &JsValue, sql: &str, params: &str) -> Promise;
    #[wasm_bindgen(js_name = d1Batch)]
    fn d1_batch(db: &JsValue, statements: &str) -> Promise;
    #[wasm_bindgen(js_name = kvGet)]
    fn kv_get(kv: &JsValue, key: &str) -> Promise;
    #[wasm_bindgen(js_name = kvPut)]
    fn kv_put(kv: &JsValue, key: &str, value: &str, ttl: f64) -> Promise;
    #[wasm_bindgen(js_name = kvDelete)]
    fn kv_delete(kv: &JsValue, key: &str) -> Promise;
    #[wasm_bindgen(js_name = kvDeleteLater)]
    fn kv_delete_later(ctx: &JsValue, kv: &JsValue, key: &str, delay_ms: f64);
    #[wasm_bindgen(js_name = sign)]
    fn js_sign(jwk: &str, alg: &str, input: &[u8]) -> Promise;
    #[wasm_bindgen(js_name = verify)]
    fn js_verify(jwk: &str, alg: &str, input: &[u8], signature: &[u8]) -> Promise;
    #[wasm_bindgen(js_name = pbkdf2Sha256)]
    fn js_pbkdf2(password: &[u8], salt: &[u8], iterations: u32) -> Promise;
    #[wasm_bindgen(js_name = generateJwk)]
    fn js_generate_jwk(alg: &str) -> Promise;
    #[wasm_bindgen(js_name = checkJwk)]
    fn js_check_jwk(jwk: &str) -> Promise;
    #[wasm_bindgen(js_name = aesGcm)]
    fn js_aes_gcm(encrypt: bool, key: &[u8], iv: &[u8], aad: &[u8], data: &[u8]) -> Promise;
    #[wasm_bindgen(js_name = http)]
    #[allow(clippy::too_many_arguments)]
    fn js_http(
        method: &str,
        url: &str,
        headers: &str,
        body: Option<Vec<u8>>,
        timeout_ms: f64,
        max_bytes: f64,
        follow_redirects: bool,
        ok_only: bool,
    ) -> Promise;
    #[wasm_bindgen(js_name = hasRateLimiter)]
    fn has_rate_limiter(env: &JsValue, binding: &str) -> bool;
    #[wasm_bindgen(js_name = rateLimit)]
    fn js_rate_limit(env: &JsValue, binding: &str, key: &str) -> Promise;
}

/// The D1 and KV bindings, looked up once per isolate (`env` does not change within one).
#[derive(Clone)]
struct Bindings {
    db: JsValue,
    kv: JsValue,
}

thread_local! {
    static BINDINGS: OnceCell<Result<Bindings, String>> = const { OnceCell::new() };
}

fn bindings(env: &JsValue) -> Result<Bindings, String> {
    BINDINGS.with(|b| {
        b.get_or_init(|| {
            let get = |name: &str| js_sys::Reflect::get(env, &JsValue::from_str(name)).ok().filter(|v| v.is_object());
            match (get("DB"), get("KV")) {
                (Some(db), Some(kv)) => Ok(Bindings { db, kv }),
                _ => Err("The D1 binding DB or the KV binding KV is missing; check wrangler.toml.".into()),
            }
        })
        .clone()
    })
}

pub struct WorkerPlatform {
    env: JsValue,
    /// The request's context (`waitUntil`); `None` in the scheduled job.
    ctx: Option<JsValue>,
    bindings: Result<Bindings, String>,
    /// This request's D1 session on the primary (`first-primary`): every write and every read
    /// that guards one, in order, and the bookmark of its writes. Opened on first use.
    primary: OnceCell<JsValue>,
    /// This request's D1 session for reads that may be stale (`first-unconstrained`, or a
    /// client's bookmark): sequentially consistent within the request.
    replica: OnceCell<JsValue>,
    /// Storage operations of this request, reported to the end-to-end tests.
    pub ops: OpCounts,
    /// Test routes only: every D1 and KV call of this request fails (an outage, on demand).
    pub storage_down: bool,
}

/// Outbound fetches (a client's `jwks_uri`): the longest wait, and the most body read.
const FETCH_TIMEOUT_MS: u64 = 5_000;
const FETCH_MAX_BODY: usize = 64 * 1024;
/// The most of a POST's answer (the token hook, back-channel logout) that is read.
const POST_MAX_BODY: usize = 5 << 20;

#[derive(Default)]
pub struct OpCounts {
    pub d1_round_trips: Cell<u32>,
    pub d1_statements: Cell<u32>,
    pub kv_reads: Cell<u32>,
    pub kv_writes: Cell<u32>,
    /// Of the D1 round trips, those a replica may have served.
    pub d1_replica: Cell<u32>,
    /// Rows D1 read for them (its `meta.rows_read`: what D1 bills, and what an index saves).
    pub d1_rows_read: Cell<u32>,
}

impl OpCounts {
    fn add(c: &Cell<u32>, n: u32) {
        c.set(c.get() + n);
    }

    /// `d1=<round trips>/<statements>, kv_read=<n>, kv_write=<n>, d1_replica=<round trips>,
    /// d1_rows_read=<n>`
    pub fn summary(&self) -> String {
        format!(
            "d1={}/{}, kv_read={}, kv_write={}, d1_replica={}, d1_rows_read={}",
            self.d1_round_trips.get(),
            self.d1_statements.get(),
            self.kv_reads.get(),
            self.kv_writes.get(),
            self.d1_replica.get(),
            self.d1_rows_read.get()
        )
    }
}

/// The message of a rejected promise or thrown error.
fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Await a glue promise.
async fn call(p: Promise) -> Result<JsValue, String> {
    JsFuture::from(p).await.map_err(js_err)
}

fn bytes(v: JsValue) -> Vec<u8> {
    v.dyn_into::<Uint8Array>().map(|a| a.to_vec()).unwrap_or_default()
}

/// Which of `bindings` this Worker lacks (reported once per isolate).
pub fn missing_ratelimit_bindings(env: &JsValue, bindings: &[&str]) -> Vec<String> {
    bindings.iter().filter(|b| !has_rate_limiter(env, b)).map(|b| b.to_string()).collect()
}

/// Bound parameters as the JSON array `glue.mjs` binds.
fn params_json(q: &Query) -> String {
    let values: Vec<Value> = q
        .params
        .iter()
        .map(|v| match v {
            SqlValue::Null => Value::Null,
            SqlValue::Int(i) => Value::from(*i),
            SqlValue::Text(s) => Value::from(s.as_str()),
        })
        .collect();
    Value::Array(values).to_string()
}

/// Statements as the JSON array of `[sql, params]` pairs `glue.mjs` batches.
fn batch_json(queries: &[Query]) -> String {
    let mut statements = String::from("[");
    for (i, q) in queries.iter().enumerate() {
        if i > 0 {
            statements.push(',');
        }
        statements.push('[');
        statements.push_str(&Value::from(q.sql).to_string());
        statements.push(',');
        statements.push_str(&params_json(q));
        statements.push(']');
    }
    statements.push(']');
    statements
}

#[derive(serde::Deserialize)]
struct RawResult {
    rows: Vec<Row>,
    changes: u64,
    #[serde(default)]
    rows_read: u32,
}

impl From<RawResult> for QueryResult {
    fn from(r: RawResult) -> QueryResult {
        QueryResult { rows: r.rows, changes: r.changes }
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: JsValue) -> PResult<T> {
    let text = v.as_string().unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| PlatformError(format!("D1 answered something unexpected: {e}")))
}

impl WorkerPlatform {
    pub fn new(env: JsValue, ctx: Option<JsValue>) -> WorkerPlatform {
        let bindings = bindings(&env);
        WorkerPlatform {
            env,
            ctx,
            bindings,
            primary: OnceCell::new(),
            replica: OnceCell::new(),
            ops: OpCounts::default(),
            storage_down: false,
        }
    }

    /// A D1 result, its rows read counted.
    fn counted(&self, r: RawResult) -> QueryResult {
        OpCounts::add(&self.ops.d1_rows_read, r.rows_read);
        r.into()
    }

    /// The request's primary session (opened on first use).
    fn primary(&self, b: &Bindings) -> JsValue {
        self.primary.get_or_init(|| d1_session(&b.db, "first-primary")).clone()
    }

    /// Why the Worker cannot serve at all (a missing binding), if so.
    pub fn misconfigured(&self) -> Option<&str> {
        self.bindings.as_ref().err().map(String::as_str)
    }

    fn up(&self) -> PResult<&Bindings> {
        if self.storage_down {
            return Err(PlatformError("simulated storage outage (test header)".into()));
        }
        self.bindings.as_ref().map_err(|e| PlatformError(e.clone()))
    }
}

impl Platform for WorkerPlatform {
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }

    async fn sql(&self, query: Query) -> PResult<QueryResult> {
        OpCounts::add(&self.ops.d1_round_trips, 1);
        OpCounts::add(&self.ops.d1_statements, 1);
        let b = self.up()?;
        let out = call(d1_all(&self.primary(b), query.sql, &params_json(&query)))
            .await
            .map_err(|e| PlatformError(format!("D1: {e} (in: {})", query.sql)))?;
        Ok(self.counted(parse::<RawResult>(out)?))
    }

    async fn sql_batch(&self, queries: Vec<Query>) -> PResult<Vec<QueryResult>> {
        OpCounts::add(&self.ops.d1_round_trips, 1);
        OpCounts::add(&self.ops.d1_statements, queries.len() as u32);
        let b = self.up()?;
        let out = call(d1_batch(&self.primary(b), &batch_json(&queries)))
            .await
            .map_err(|e| PlatformError(format!("D1 batch: {e}")))?;
        Ok(parse::<Vec<RawResult>>(out)?.into_iter().map(|r| self.counted(r)).collect())
    }

    async fn sql_read(&self, query: Query, from: ReadFrom<'_>) -> PResult<QueryResult> {
        OpCounts::add(&self.ops.d1_round_trips, 1);
        OpCounts::add(&self.ops.d1_statements, 1);
        OpCounts::add(&self.ops.d1_replica, 1);
        let b = self.up()?;
        let session = self
            .replica
            .get_or_init(|| {
                d1_session(
                    &b.db,
                    match from {
                        ReadFrom::Replica => "first-unconstrained",
                        ReadFrom::AtLeast(bookmark) => bookmark,
                    },
                )
            })
            .clone();
        let out = call(d1_all(&session, query.sql, &params_json(&query)))
            .await
            .map_err(|e| PlatformError(format!("D1: {e} (in: {})", query.sql)))?;
        Ok(self.counted(parse::<RawResult>(out)?))
    }

    fn bookmark(&self) -> Option<String> {
        self.primary.get().and_then(|s| d1_bookmark(s).as_string())
    }

    async fn kv_get(&self, key: &str) -> PResult<Option<String>> {
        OpCounts::add(&self.ops.kv_reads, 1);
        let b = self.up()?;
        Ok(call(kv_get(&b.kv, key)).await.map_err(PlatformError)?.as_string())
    }

    async fn kv_put(&self, key: &str, value: &str, ttl_secs: u64) -> PResult<()> {
        OpCounts::add(&self.ops.kv_writes, 1);
        let b = self.up()?;
        call(kv_put(&b.kv, key, value, ttl_secs.max(60) as f64)).await.map_err(PlatformError)?;
        Ok(())
    }

    async fn kv_delete(&self, key: &str) -> PResult<()> {
        OpCounts::add(&self.ops.kv_writes, 1);
        let b = self.up()?;
        call(kv_delete(&b.kv, key)).await.map_err(PlatformError)?;
        Ok(())
    }

    fn kv_delete_later(&self, key: &str, delay_ms: u64) {
        OpCounts::add(&self.ops.kv_writes, 1);
        if let Ok(b) = &self.bindings {
            kv_delete_later(self.ctx.as_ref().unwrap_or(&JsValue::UNDEFINED), &b.kv, key, delay_ms as f64);
        }
    }

    async fn sign(&self, key: &SigningKey, input: &[u8]) -> PResult<Vec<u8>> {
        Ok(bytes(call(js_sign(&key.jwk.to_string(), &key.alg, input)).await.map_err(PlatformError)?))
    }

    async fn verify(&self, jwk: &Value, alg: &str, input: &[u8], signature: &[u8]) -> PResult<bool> {
        let public = crate::keys::public_part(jwk)
            .ok_or_else(|| PlatformError("symmetric keys cannot verify signatures here".into()))?;
        Ok(call(js_verify(&public.to_string(), alg, input, signature)).await.map_err(PlatformError)?.is_truthy())
    }

    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> PResult<[u8; 32]> {
        let out = bytes(call(js_pbkdf2(password, salt, iterations)).await.map_err(PlatformError)?);
        out.try_into().map_err(|_| PlatformError("PBKDF2 returned an unexpected length".into()))
    }

    async fn generate_jwk(&self, alg: &str) -> PResult<Value> {
        let text = call(js_generate_jwk(alg)).await.map_err(PlatformError)?.as_string().unwrap_or_default();
        serde_json::from_str(&text).map_err(|e| PlatformError(e.to_string()))
    }

    async fn aes_256_gcm(
        &self,
        encrypt: bool,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        data: &[u8],
    ) -> PResult<Option<Vec<u8>>> {
        let out = call(js_aes_gcm(encrypt, key, nonce, aad, data)).await.map_err(PlatformError)?;
        Ok((!out.is_null()).then(|| bytes(out)))
    }

    async fn check_jwk(&self, jwk: &Value) -> PResult<Result<(), String>> {
        let why = call(js_check_jwk(&jwk.to_string())).await.map_err(PlatformError)?;
        Ok(match why.as_string() {
            Some(reason) => Err(reason),
            None => Ok(()),
        })
    }

    /// GET without following redirects, within [`FETCH_TIMEOUT_MS`] for headers and body
    /// together, reading at most [`FETCH_MAX_BODY`] bytes of a 200 (and none of anything else).
    async fn http_get(&self, url: &str) -> PResult<(u16, Vec<u8>)> {
        exchange("GET", url, "", None, FETCH_TIMEOUT_MS, FETCH_MAX_BODY, false, true).await
    }

    async fn rate_limit(&self, binding: &'static str, key: &str) -> PResult<bool> {
        Ok(call(js_rate_limit(&self.env, binding, key))
            .await
            .map_err(|e| PlatformError(format!("rate limiter: {e}")))?
            .is_truthy())
    }

    async fn http_post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout_ms: u64,
    ) -> PResult<(u16, Vec<u8>)> {
        exchange("POST", url, &flat(headers), Some(body.to_vec()), timeout_ms, POST_MAX_BODY, true, false).await
    }

    fn post_after_response(&self, post: crate::platform::BackgroundPost) {
        self.after_response(async move {
            let headers: Vec<(&str, &str)> = post.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            // Relying parties' URLs: a redirect is an answer, never followed.
            let outcome = exchange(
                "POST",
                &post.url,
                &flat(&headers),
                Some(post.body),
                post.timeout_ms,
                POST_MAX_BODY,
                false,
                false,
            )
            .await;
            worker::console_log!("{}", (post.report)(outcome.map(|(status, _)| status).map_err(|e| e.0)));
        });
    }

    fn sql_batch_after_response(&self, queries: Vec<Query>, done: Box<dyn FnOnce(PResult<()>)>) {
        if self.storage_down {
            return done(Err(PlatformError("simulated storage outage (test header)".into())));
        }
        let db = match &self.bindings {
            Ok(b) => b.db.clone(),
            Err(e) => return done(Err(PlatformError(e.clone()))),
        };
        let statements = batch_json(&queries);
        self.after_response(async move {
            let outcome = call(d1_batch(&db, &statements)).await.map(|_| ());
            done(outcome.map_err(|e| PlatformError(format!("D1 batch: {e}"))));
        });
    }

    fn after_response(&self, fut: impl std::future::Future<Output = ()> + 'static) {
        let promise = wasm_bindgen_futures::future_to_promise(async move {
            fut.await;
            Ok(JsValue::UNDEFINED)
        });
        if let Some(ctx) = &self.ctx {
            let ctx: &worker::worker_sys::Context = ctx.unchecked_ref();
            let _ = ctx.wait_until(&promise);
        }
    }
}

/// Headers as the `name\nvalue\n...` text `glue.mjs` reads.
fn flat(headers: &[(&str, &str)]) -> String {
    headers.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect()
}

/// One bounded HTTP exchange through `glue.mjs` (see `http` there). Borrows nothing of the
/// platform, so it also runs after the response.
#[allow(clippy::too_many_arguments)]
async fn exchange(
    method: &str,
    url: &str,
    headers: &str,
    body: Option<Vec<u8>>,
    timeout_ms: u64,
    max_bytes: usize,
    follow_redirects: bool,
    ok_only: bool,
) -> PResult<(u16, Vec<u8>)> {
    let out = call(js_http(method, url, headers, body, timeout_ms as f64, max_bytes as f64, follow_redirects, ok_only))
        .await
        .map_err(PlatformError)?;
    let pair: js_sys::Array = out.unchecked_into();
    let status = pair.get(0).as_f64().unwrap_or(0.0) as u16;
    Ok((status, bytes(pair.get(1))))
}
