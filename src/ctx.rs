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

/// Decode a JSON request body, with a 400 that says what is wrong.
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> ApiResult<T> {
    if req.body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::bad_request("The request body is empty; a JSON document was expected."));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON for this operation: {e}.")))
}
