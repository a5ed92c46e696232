//! The ports: everything the server needs from its runtime, as one trait.
//!
//! `src/worker/` implements it with D1, Workers KV, WebCrypto and `fetch` (the only wasm-only
//! code). Handlers and the storage module are generic over it, so they build and unit-test on
//! the host.

use serde_json::{Map, Value};

/// A value bound to a SQL parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Text(String),
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        SqlValue::Text(s.to_string())
    }
}
impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        SqlValue::Text(s)
    }
}
impl From<&String> for SqlValue {
    fn from(s: &String) -> Self {
        SqlValue::Text(s.clone())
    }
}
impl From<i64> for SqlValue {
    fn from(i: i64) -> Self {
        SqlValue::Int(i)
    }
}
impl From<bool> for SqlValue {
    fn from(b: bool) -> Self {
        SqlValue::Int(b as i64)
    }
}
impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(o: Option<T>) -> Self {
        o.map(Into::into).unwrap_or(SqlValue::Null)
    }
}

/// One SQL statement with its parameters (`?1`, `?2`, ...).
#[derive(Debug, Clone)]
pub struct Query {
    pub sql: &'static str,
    pub params: Vec<SqlValue>,
}

impl Query {
    pub fn new(sql: &'static str) -> Query {
        Query { sql, params: Vec::new() }
    }
    pub fn bind(mut self, v: impl Into<SqlValue>) -> Query {
        self.params.push(v.into());
        self
    }
}

/// A result row as a JSON object (column name → value).
pub type Row = Map<String, Value>;

/// What one statement returned: its rows (for `SELECT`/`RETURNING`) and rows changed.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    pub rows: Vec<Row>,
    pub changes: u64,
}

/// A failure of the storage or crypto backend (never a client mistake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformError(pub String);

impl std::fmt::Display for PlatformError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A store or runtime that failed (D1 busy or unreachable, KV, WebCrypto) is a condition the
/// client may retry: 503 `temporarily_unavailable`, never a 500. Under concurrent writes the
/// local D1 answers `SQLITE_BUSY`; the race tests (tests/races.rs) hold every answer to this.
impl From<PlatformError> for crate::error::ApiError {
    fn from(e: PlatformError) -> Self {
        crate::error::ApiError::temporarily_unavailable().with_debug(e.0)
    }
}

pub type PResult<T> = Result<T, PlatformError>;

/// A private JWK ready for signing: the key's id, algorithm and full JSON (with private parts).
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    pub jwk: Value,
}

#[allow(async_fn_in_trait)]
pub trait Platform {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Seconds since the Unix epoch.
    fn now(&self) -> i64 {
        self.now_ms() / 1000
    }

    // --- D1: strongly consistent, the home of everything single-use, rotated or listed. ---

    /// Run one statement.
    async fn sql(&self, query: Query) -> PResult<QueryResult>;

    /// Run statements as one transaction (D1 `batch`): all apply or none do.
    async fn sql_batch(&self, queries: Vec<Query>) -> PResult<Vec<QueryResult>>;

    // --- Workers KV: eventually consistent caches and TTL'd data. ---

    async fn kv_get(&self, key: &str) -> PResult<Option<String>>;
    /// `ttl_secs` must be at least 60 (KV's minimum).
    async fn kv_put(&self, key: &str, value: &str, ttl_secs: u64) -> PResult<()>;
    async fn kv_delete(&self, key: &str) -> PResult<()>;
    /// Delete a KV key again after `delay_ms`, after the response is sent (cache invalidation
    /// that also catches a stale copy written back by a concurrent reader).
    fn kv_delete_later(&self, key: &str, delay_ms: u64);

    // --- WebCrypto: native speed for what is costly in wasm. ---

    /// A JWS signature (`r||s` for ECDSA) over `input` with a private JWK.
    async fn sign(&self, key: &SigningKey, input: &[u8]) -> PResult<Vec<u8>>;

    /// Verify a JWS signature with a public JWK and the algorithm the verifier expects.
    async fn verify(&self, jwk: &Value, alg: &str, input: &[u8], signature: &[u8]) -> PResult<bool>;

    /// PBKDF2-HMAC-SHA256 with a 32-byte output.
    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> PResult<[u8; 32]>;

    /// Generate a key pair WebCrypto is better at (RS256: RSA-2048; ES512: P-521) and return
    /// its private JWK.
    async fn generate_jwk(&self, alg: &str) -> PResult<Value>;

    // --- Outbound HTTP (client `jwks_uri`). ---

    /// GET a URL; returns status and body (bounded by the implementation).
    async fn http_get(&self, url: &str) -> PResult<(u16, Vec<u8>)>;

    /// Run `fut` after the response is sent (`ctx.waitUntil`).
    fn after_response(&self, fut: impl std::future::Future<Output = ()> + 'static);
}

/// Read a column as a string (`NULL` and missing become "").
pub fn col_str(row: &Row, name: &str) -> String {
    match row.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Read a column as an integer (`NULL` and missing become 0).
pub fn col_i64(row: &Row, name: &str) -> i64 {
    match row.get(name) {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Bool(b)) => *b as i64,
        _ => 0,
    }
}

/// Read a nullable text column.
pub fn col_opt(row: &Row, name: &str) -> Option<String> {
    match row.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}
