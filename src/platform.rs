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

/// A backend that does not answer is an outage, not a bug: 503 with `Retry-After`
/// (`temporarily_unavailable` on OAuth endpoints). What failed stays internal (`error_debug`
/// only with `OAUTH2_EXPOSE_INTERNAL_ERRORS`).
impl From<PlatformError> for crate::error::ApiError {
    fn from(e: PlatformError) -> Self {
        crate::error::ApiError::temporarily_unavailable()
            .with_hint("A storage or crypto backend did not answer; retry in a few seconds.")
            .with_debug(e.0)
    }
}

pub type PResult<T> = Result<T, PlatformError>;

/// Where a read may be served from (see [`Platform::sql_read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom<'a> {
    /// Any replica: the answer may lag the primary by the replication delay.
    Replica,
    /// A replica at least as new as this bookmark (or the primary).
    AtLeast(&'a str),
}

/// A private JWK ready for signing: the key's id, algorithm and full JSON (with private parts).
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    pub jwk: Value,
}

/// A POST sent after the response (`waitUntil`), e.g. a back-channel logout notification.
pub struct BackgroundPost {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Gives up after this long, answer included.
    pub timeout_ms: u64,
    /// Called with the answer's status (or why there was none); returns the line to log.
    pub report: Box<dyn FnOnce(Result<u16, String>) -> String>,
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

    /// Run a read that may be served by a D1 read replica (Sessions API): `Replica` for reads
    /// that may be slightly stale, `AtLeast(bookmark)` for a replica at least as new as a write
    /// this client made earlier (read-your-writes). Platforms without replicas read the primary.
    /// Never for a single-use claim or anything that guards one: those go through [`Self::sql`]
    /// and [`Self::sql_batch`], which always run on the primary.
    async fn sql_read(&self, query: Query, from: ReadFrom<'_>) -> PResult<QueryResult> {
        let _ = from;
        self.sql(query).await
    }

    /// A bookmark (Sessions API) covering every write this request made so far, to hand to the
    /// client so that a later read of it can use [`ReadFrom::AtLeast`]. `None` when the platform
    /// has no replicas or nothing was written.
    fn bookmark(&self) -> Option<String> {
        None
    }

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

    /// Generate a key pair (ES256: P-256; ES512: P-521; RS256: RSA-2048) and return its private
    /// JWK.
    async fn generate_jwk(&self, alg: &str) -> PResult<Value>;

    /// AES-256-GCM with a 96-bit nonce and additional data: `encrypt` seals (ciphertext and tag),
    /// else opens; `Ok(None)` when opening fails (another key, or tampered). The Worker asks
    /// WebCrypto; this default uses the `aes-gcm` crate on the host and has nothing elsewhere.
    async fn aes_256_gcm(
        &self,
        encrypt: bool,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        data: &[u8],
    ) -> PResult<Option<Vec<u8>>> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            Ok(crate::crypto::at_rest::aes_256_gcm_on_host(encrypt, key, nonce, aad, data))
        }
        #[cfg(target_arch = "wasm32")]
        {
            let _ = (encrypt, key, nonce, aad, data);
            Err(PlatformError("AES-GCM is not available on this platform".into()))
        }
    }

    /// What only curve arithmetic can tell about a structurally valid JWK: an EC public key is a
    /// point of its curve, and a private key matches its public part. `Ok(Err(why))` for a bad
    /// key. The Worker asks WebCrypto; this default does P-256 with the `p256` crate on the host
    /// and accepts everything elsewhere.
    async fn check_jwk(&self, jwk: &Value) -> PResult<Result<(), String>> {
        Ok(crate::keys::check_p256_on_host(jwk))
    }

    // --- Outbound HTTP (client `jwks_uri`, the token hook). ---

    /// GET a URL; returns status and body (bounded by the implementation).
    async fn http_get(&self, url: &str) -> PResult<(u16, Vec<u8>)>;

    /// POST `body` with `headers` to a URL (the token hook); gives up after `timeout_ms`,
    /// reading the answer included. Returns status and body (bounded by the implementation).
    async fn http_post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout_ms: u64,
    ) -> PResult<(u16, Vec<u8>)>;

    /// Run `fut` after the response is sent (`ctx.waitUntil`).
    fn after_response(&self, fut: impl std::future::Future<Output = ()> + 'static);

    /// Run `queries` as one batch (one transaction, one round trip) after the response is sent,
    /// then call `done` with the outcome (the metrics' flush). Not counted as the request's
    /// storage cost. A platform that cannot work after a response reports a failure.
    fn sql_batch_after_response(&self, queries: Vec<Query>, done: Box<dyn FnOnce(PResult<()>)>) {
        let _ = queries;
        done(Err(PlatformError("this platform runs nothing after the response".into())));
    }

    /// Send `post` after the response is sent (through [`Platform::after_response`], bounded as
    /// [`Platform::http_post`] is) and log the line its `report` makes of the outcome. A
    /// platform that cannot work after a response reports the POST as not sent.
    fn post_after_response(&self, post: BackgroundPost) {
        let _ = (post.report)(Err("this platform sends nothing after the response".into()));
    }

    // --- Rate limiting (Workers rate-limiting binding). ---

    /// Count one event for `key` on the rate limiter bound as `binding`; false when the key is
    /// over its limit. Platforms without the binding allow everything.
    async fn rate_limit(&self, binding: &'static str, key: &str) -> PResult<bool> {
        let _ = (binding, key);
        Ok(true)
    }
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
