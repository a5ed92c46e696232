//! `/health/alive`, `/health/ready` and `/version`.

use serde_json::{json, Map, Value};

use crate::ctx::Ctx;
use crate::http::Response;
use crate::platform::Platform;
use crate::store;

pub fn alive() -> Response {
    Response::json(200, &json!({ "status": "ok" }))
}

/// 200 when D1 and KV both answer; otherwise 503 naming each store that does not, without the
/// error itself (this route is public; internal text goes nowhere but `error_debug`).
pub async fn ready<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let (d1, kv) = store::ping(ctx.p).await;
    let mut errors = Map::new();
    if d1.is_some() {
        errors.insert("database".into(), Value::String("The database is not answering.".into()));
    }
    if kv.is_some() {
        errors.insert("kv".into(), Value::String("The key-value store is not answering.".into()));
    }
    if errors.is_empty() {
        Response::json(200, &json!({ "status": "ok" }))
    } else {
        Response::json(503, &json!({ "errors": errors }))
            .with_header("retry-after", &crate::error::OUTAGE_RETRY_AFTER_SECS.to_string())
    }
}

pub fn version() -> Response {
    Response::json(200, &json!({ "version": concat!("v", env!("CARGO_PKG_VERSION")) }))
}
