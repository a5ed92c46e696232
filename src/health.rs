//! `/health/alive`, `/health/ready` and `/version`.

use serde_json::{json, Map, Value};

use crate::ctx::Ctx;
use crate::http::Response;
use crate::platform::Platform;
use crate::store;

pub fn alive() -> Response {
    Response::json(200, &json!({ "status": "ok" }))
}

/// 200 when D1 and KV both answer; otherwise 503 naming each store that does not.
pub async fn ready<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let (d1, kv) = store::ping(ctx.p).await;
    let mut errors = Map::new();
    if let Some(e) = d1 {
        errors.insert("database".into(), Value::String(format!("D1 binding DB is not answering: {e}")));
    }
    if let Some(e) = kv {
        errors.insert("kv".into(), Value::String(format!("KV binding KV is not answering: {e}")));
    }
    if errors.is_empty() {
        Response::json(200, &json!({ "status": "ok" }))
    } else {
        Response::json(503, &json!({ "errors": errors }))
    }
}

pub fn version() -> Response {
    Response::json(200, &json!({ "version": concat!("v", env!("CARGO_PKG_VERSION")) }))
}
