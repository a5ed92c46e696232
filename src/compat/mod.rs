//! Adapters between the generations of Hydra's API and the one set of handlers.
//!
//! The route table ([`crate::router`]) sends every generation's form of an operation to the same
//! handler; what differs between the forms is bridged here, before the handler (the request) and
//! after it (the response). Nothing here decides anything a handler decides: adapters move and
//! rename, and refuse requests whose old and new forms disagree.
//!
//! * `v1.rs`: v1.x: `limit`/`offset` pagination with `Link` and `X-Total-Count`.
//! * `v1_beta.rs`: v1.0-beta: challenges, users and clients in the path; strict bodies.
//! * `v0_10.rs`: v0.10/v0.11: clients with `id` and `public`; the consent-request models.

pub mod v0_10;
pub mod v1;
pub mod v1_beta;

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::http::{Method, Request, Response};
use crate::router::{Gen, Route, Routed};

/// A request as a handler should see it, and what the response adapter must know.
pub struct Adapted {
    /// The rewritten request, when the adapter changed anything.
    pub request: Option<Request>,
    /// The request wrote a client in v0.10's form (`id`, `public`).
    pub v010_client: bool,
}

/// Bring a request of an older form into the form the handler reads. Requests of v2 form (and
/// every public route) pass untouched and cost nothing.
pub fn adapt_request(routed: &Routed, req: &Request) -> ApiResult<Adapted> {
    let mut out = Adapted { request: None, v010_client: false };
    match (routed.gen, &routed.route) {
        (Gen::V1Beta, _) if !routed.params.is_empty() => {
            out.request = Some(v1_beta::adapt(&routed.route, req, &routed.params)?);
        }
        (Gen::V1, Route::Clients | Route::Client(_)) if matches!(req.method, Method::Post | Method::Put) => {
            if let Some(r) = v0_10::client_request(req)? {
                out.request = Some(r);
                out.v010_client = true;
            }
        }
        _ => {}
    }
    Ok(out)
}

/// What a response adapter must do, decided from the route before the handler takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseShape {
    /// The handler's answer as it is.
    Current,
    /// Clients without the prefix, read by SDKs of v0.10 to v1.x: `id` and `public` as well.
    ClientsBeforeV2,
}

impl ResponseShape {
    pub fn of(routed: &Routed) -> ResponseShape {
        match (routed.gen, &routed.route) {
            (Gen::V1, Route::Clients | Route::Client(_)) => ResponseShape::ClientsBeforeV2,
            _ => ResponseShape::Current,
        }
    }
}

/// Bring a handler's response into the form of the request's generation.
pub fn adapt_response(shape: ResponseShape, adapted: &Adapted, method: Method, resp: Response) -> Response {
    match shape {
        ResponseShape::Current => resp,
        ResponseShape::ClientsBeforeV2 => v0_10::client_response(resp, method, adapted.v010_client),
    }
}

/// A copy of `req` with `pairs` appended to its query.
pub fn with_query(req: &Request, pairs: &[(&str, &str)]) -> Request {
    let mut out = req.clone();
    let mut q = form_urlencoded::Serializer::new(std::mem::take(&mut out.query));
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    out.query = q.finish();
    out
}

/// Does the query name this parameter (with any value)?
pub fn has_param(req: &Request, name: &str) -> bool {
    form_urlencoded::parse(req.query.as_bytes()).any(|(k, _)| k == name)
}

/// Refuse a JSON object body with a member outside `known` (a generation that refused unknown
/// fields, or a field of another generation's model), naming it. Anything that is not an object
/// is left for the handler to refuse.
pub fn only_fields(req: &Request, known: &[&str], model: &str) -> ApiResult<()> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&req.body) else {
        return Ok(());
    };
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(field) => Err(ApiError::bad_request(format!(
            "The field \"{field}\" is not part of {model} (it has {}).",
            known.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_query_appends_encoded_pairs() {
        let r = Request::new(Method::Get, "/x?a=1");
        assert_eq!(with_query(&r, &[("b", "c d&e")]).query, "a=1&b=c+d%26e");
        let r = Request::new(Method::Get, "/x");
        assert_eq!(with_query(&r, &[("b", "c")]).query, "b=c");
    }

    #[test]
    fn only_fields_names_the_stranger() {
        let mut r = Request::new(Method::Put, "/x");
        r.body = br#"{"subject":"a","amr":["pwd"]}"#.to_vec();
        let e = only_fields(&r, &["subject"], "the v1.0-beta login acceptance").unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.description.contains("\"amr\""), "{}", e.description);
        assert!(only_fields(&r, &["subject", "amr"], "x").is_ok());
        r.body = b"[1]".to_vec();
        assert!(only_fields(&r, &[], "x").is_ok(), "non-objects are the handler's to refuse");
    }
}
