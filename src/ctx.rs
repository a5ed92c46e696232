//! What every handler receives: the isolate's configuration and the runtime. It lives apart from
//! the dispatcher (`app.rs`) so that handlers depend on this small module and nothing below
//! `app` points back up at it.

use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::http::Request;
use crate::log::RequestLog;
use crate::platform::Platform;

/// The configuration and the runtime of one request.
pub struct Ctx<'a, P: Platform> {
    pub cfg: &'a Config,
    pub p: &'a P,
    /// What the request's log line names besides route and status: handlers note the client
    /// (`ctx.log.client(id)`) and the grant type (`ctx.log.grant_type(g)`).
    pub log: &'a RequestLog,
}

/// Decode `T` from a JSON object, naming the field whose value has the wrong type:
/// `Field <name> has the wrong type: <why>.` The object is decoded from its text, the way stored
/// models are read, so no second decoder is compiled per type; the culprit is looked for only
/// after a failure, by decoding each field on its own.
pub fn decode_fields<T: DeserializeOwned>(map: serde_json::Map<String, serde_json::Value>) -> ApiResult<T> {
    let whole = serde_json::Value::Object(map);
    match serde_json::from_str::<T>(&whole.to_string()) {
        Ok(t) => Ok(t),
        Err(e) => {
            let serde_json::Value::Object(map) = whole else { unreachable!() };
            let culprit = map.into_iter().find_map(|(k, v)| {
                let one = serde_json::Value::Object(serde_json::Map::from_iter([(k.clone(), v)]));
                let why = serde_json::from_str::<T>(&one.to_string()).err()?.to_string();
                // A required field missing from the one-field object says nothing about this one.
                (!why.starts_with("missing field")).then_some((k, why))
            });
            let (field, why) = culprit.unwrap_or_else(|| (".".into(), e.to_string()));
            let why = why.split(" at line ").next().unwrap_or(&why).to_string();
            Err(ApiError::bad_request(format!("Field {field} has the wrong type: {why}.")))
        }
    }
}

/// `serde_json::from_slice`, through the string decoder: every model is decoded by one decoder
/// (stored rows and KV values are strings), so each type's decoding is compiled once.
pub fn json_from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => Err(serde::de::Error::custom("the JSON text is not valid UTF-8")),
    }
}

/// Decode a JSON request body, with a 400 that says what is wrong.
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> ApiResult<T> {
    if req.body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::bad_request("The request body is empty; a JSON document was expected."));
    }
    json_from_bytes(&req.body).map_err(not_valid_json)
}

fn not_valid_json(e: serde_json::Error) -> ApiError {
    ApiError::bad_request(format!("The request body is not valid JSON for this operation: {e}."))
}

/// Decode a JSON object body the way Hydra's Go decoder does: a member that is `null` counts as
/// absent (Ory's SDKs send `"acr": null` for an unset field).
pub fn parse_json_object<T: DeserializeOwned>(req: &Request) -> ApiResult<T> {
    // Decoded from text again, the way everything else is, so no second decoder is compiled per
    // type (see `decode_fields`); the rest is one function for every type.
    serde_json::from_str(&object_without_nulls(req)?).map_err(not_valid_json)
}

/// The body's JSON object as text, without its `null` members.
#[inline(never)]
fn object_without_nulls(req: &Request) -> ApiResult<String> {
    let serde_json::Value::Object(mut map) = parse_json::<serde_json::Value>(req)? else {
        return Err(ApiError::bad_request("The request body must be a JSON object."));
    };
    map.retain(|_, v| !v.is_null());
    Ok(serde_json::Value::Object(map).to_string())
}
