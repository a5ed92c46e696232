//! An in-memory [`Platform`] for host unit tests: a clock the test moves, KV with expiry, SQL
//! answered by a closure the test provides, and a record of every storage call, so that caches
//! and storage paths can be tested without workerd (end-to-end tests cover the real stores).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use serde_json::Value;

use crate::platform::{PResult, Platform, PlatformError, Query, QueryResult, ReadFrom, SigningKey};

type SqlHandler = Box<dyn Fn(&Query) -> PResult<QueryResult>>;

pub struct TestPlatform {
    now_ms: Cell<i64>,
    kv: RefCell<HashMap<String, (String, i64)>>,
    sql: SqlHandler,
    /// Every storage call: `sql <statement>`, `sql_read <from> <statement>`, `kv_get <key>`, ...
    pub calls: RefCell<Vec<String>>,
    pub bookmark: RefCell<Option<String>>,
    /// Answers of `http_get` by URL (anything else fails).
    pub http: RefCell<HashMap<String, (u16, Vec<u8>)>>,
    /// What the rate limiter says.
    pub rate_limit_allows: Cell<bool>,
}

impl TestPlatform {
    /// A platform whose SQL answers nothing (no rows, no changes).
    pub fn new() -> TestPlatform {
        TestPlatform::with_sql(|_| Ok(QueryResult::default()))
    }

    pub fn with_sql(sql: impl Fn(&Query) -> PResult<QueryResult> + 'static) -> TestPlatform {
        TestPlatform {
            now_ms: Cell::new(1_800_000_000_000),
            kv: RefCell::new(HashMap::new()),
            sql: Box::new(sql),
            calls: RefCell::new(Vec::new()),
            bookmark: RefCell::new(None),
            http: RefCell::new(HashMap::new()),
            rate_limit_allows: Cell::new(true),
        }
    }

    pub fn advance_ms(&self, ms: i64) {
        self.now_ms.set(self.now_ms.get() + ms);
    }

    /// How many recorded calls start with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.calls.borrow().iter().filter(|c| c.starts_with(prefix)).count()
    }

    fn record(&self, call: String) {
        self.calls.borrow_mut().push(call);
    }
}

impl Default for TestPlatform {
    fn default() -> Self {
        TestPlatform::new()
    }
}

/// Run a future that completes without waiting on anything (every test platform call does).
pub fn block_on<F: Future>(f: F) -> F::Output {
    match std::pin::pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the future waited on something the test platform never wakes"),
    }
}

fn unsupported<T>(what: &str) -> PResult<T> {
    Err(PlatformError(format!("{what} is not available on the test platform")))
}

impl Platform for TestPlatform {
    fn now_ms(&self) -> i64 {
        self.now_ms.get()
    }

    async fn sql(&self, query: Query) -> PResult<QueryResult> {
        self.record(format!("sql {}", query.sql));
        (self.sql)(&query)
    }

    async fn sql_batch(&self, queries: Vec<Query>) -> PResult<Vec<QueryResult>> {
        self.record(format!("batch {}", queries.len()));
        queries.iter().map(|q| (self.sql)(q)).collect()
    }

    async fn sql_read(&self, query: Query, from: ReadFrom<'_>) -> PResult<QueryResult> {
        self.record(format!("sql_read {from:?} {}", query.sql));
        (self.sql)(&query)
    }

    fn bookmark(&self) -> Option<String> {
        self.bookmark.borrow().clone()
    }

    async fn kv_get(&self, key: &str) -> PResult<Option<String>> {
        self.record(format!("kv_get {key}"));
        let now = self.now_ms();
        Ok(self.kv.borrow().get(key).filter(|(_, expires)| *expires > now).map(|(v, _)| v.clone()))
    }

    async fn kv_put(&self, key: &str, value: &str, ttl_secs: u64) -> PResult<()> {
        self.record(format!("kv_put {key} {ttl_secs}"));
        let expires = self.now_ms() + ttl_secs.max(60) as i64 * 1000;
        self.kv.borrow_mut().insert(key.to_string(), (value.to_string(), expires));
        Ok(())
    }

    async fn kv_delete(&self, key: &str) -> PResult<()> {
        self.record(format!("kv_delete {key}"));
        self.kv.borrow_mut().remove(key);
        Ok(())
    }

    fn kv_delete_later(&self, key: &str, _delay_ms: u64) {
        self.record(format!("kv_delete_later {key}"));
    }

    async fn sign(&self, _key: &SigningKey, _input: &[u8]) -> PResult<Vec<u8>> {
        unsupported("signing")
    }

    async fn verify(&self, _jwk: &Value, _alg: &str, _input: &[u8], _signature: &[u8]) -> PResult<bool> {
        unsupported("verification")
    }

    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> PResult<[u8; 32]> {
        self.record("pbkdf2".into());
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2::<hmac::Hmac<sha2::Sha256>>(password, salt, iterations, &mut out)
            .map_err(|e| PlatformError(e.to_string()))?;
        Ok(out)
    }

    async fn generate_jwk(&self, _alg: &str) -> PResult<Value> {
        unsupported("key generation")
    }

    async fn http_get(&self, url: &str) -> PResult<(u16, Vec<u8>)> {
        self.record(format!("http_get {url}"));
        match self.http.borrow().get(url) {
            Some(answer) => Ok(answer.clone()),
            None => unsupported("fetching that URL"),
        }
    }

    async fn http_post(&self, url: &str, _h: &[(&str, &str)], _b: &[u8], _t: u64) -> PResult<(u16, Vec<u8>)> {
        self.record(format!("http_post {url}"));
        unsupported("fetch")
    }

    fn after_response(&self, _fut: impl Future<Output = ()> + 'static) {}

    async fn rate_limit(&self, binding: &'static str, key: &str) -> PResult<bool> {
        self.record(format!("rate_limit {binding} {key}"));
        Ok(self.rate_limit_allows.get())
    }
}
