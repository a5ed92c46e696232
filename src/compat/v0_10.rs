//! v0.10 and v0.11: clients named by `id` and made public by `public: true`, and the models of
//! the consent-request API (`/oauth2/consent/requests/{id}`), whose flow lives in
//! [`crate::flow::consent_v0_10`].
//!
//! A client body with `id` or `public` is v0.10's: it becomes the same body in v1's words
//! (`client_id`, `token_endpoint_auth_method: none`) before the one client handler sees it. When
//! both words are present they must agree. Client responses without the `/admin` prefix, which
//! every SDK from v0.10 to v1.x reads, carry `id` and `public` beside v1's fields.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::http::{Method, Request, Response};

/// A v0.10 client body in v1's words, or `None` when the body is not v0.10's.
pub fn client_request(req: &Request) -> ApiResult<Option<Request>> {
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&req.body) else {
        return Ok(None);
    };
    let present = |m: &Map<String, Value>, k: &str| m.get(k).is_some_and(|v| !v.is_null());
    if !present(&map, "id") && !present(&map, "public") {
        return Ok(None);
    }
    if let Some(id) = map.remove("id").filter(|v| !v.is_null()) {
        let Value::String(id) = id else {
            return Err(ApiError::bad_request("Field id must be a string (the client's id, Hydra v0.10)."));
        };
        match map.get("client_id").filter(|v| !v.is_null()) {
            Some(Value::String(other)) if *other != id => {
                return Err(ApiError::bad_request(format!(
                    "The fields id (\"{id}\", Hydra v0.10) and client_id (\"{other}\") name different clients; send one, or the same value in both."
                )))
            }
            _ => {
                map.insert("client_id".into(), Value::String(id));
            }
        }
    }
    if let Some(public) = map.remove("public").filter(|v| !v.is_null()) {
        let Value::Bool(public) = public else {
            return Err(ApiError::bad_request("Field public must be true or false (Hydra v0.10)."));
        };
        let method = map.get("token_endpoint_auth_method").and_then(Value::as_str).unwrap_or("");
        match (public, method) {
            (true, "" | "none") => {
                map.insert("token_endpoint_auth_method".into(), json!("none"));
            }
            (false, m) if m != "none" => {}
            (_, m) => {
                return Err(ApiError::bad_request(format!(
                    "The fields public ({public}, Hydra v0.10) and token_endpoint_auth_method (\"{m}\") disagree: a public client authenticates with \"none\"."
                )))
            }
        }
    }
    let mut out = req.clone();
    out.body = serde_json::to_vec(&Value::Object(map)).unwrap_or_default();
    Ok(Some(out))
}

/// Client responses for SDKs of v0.10 to v1.x: every client also as `id` and `public`. An update
/// written in v0.10's form answers 201, as v0.10 did.
pub fn client_response(mut resp: Response, method: Method, v010_request: bool) -> Response {
    if !(200..300).contains(&resp.status) || resp.body.is_empty() {
        return resp;
    }
    let Ok(mut body) = serde_json::from_slice::<Value>(&resp.body) else {
        return resp;
    };
    let add = |c: &mut Value| {
        if let Some(obj) = c.as_object_mut() {
            let id = obj.get("client_id").cloned().unwrap_or(Value::Null);
            let public = obj.get("token_endpoint_auth_method").and_then(Value::as_str) == Some("none");
            obj.insert("id".into(), id);
            obj.insert("public".into(), Value::Bool(public));
        }
    };
    match &mut body {
        Value::Array(items) => items.iter_mut().for_each(add),
        other => add(other),
    }
    resp.body = serde_json::to_vec(&body).unwrap_or(resp.body);
    if v010_request && method == Method::Put && resp.status == 200 {
        resp.status = 201;
    }
    resp
}

/// v0.10's `oAuth2ConsentRequest`.
pub fn consent_request_view(
    id: &str,
    requested_scopes: &[String],
    client_id: &str,
    expires_at: i64,
    redirect_url: &str,
) -> Value {
    json!({
        "id": id,
        "requestedScopes": requested_scopes,
        "clientId": client_id,
        "expiresAt": crate::clients::rfc3339(expires_at),
        "redirectUrl": redirect_url,
    })
}

/// v0.10's `consentRequestAcceptance` (v0.10.10 also had `authTime` and `providedAcr`). Other
/// members, such as v1's `grant_scope`, are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Acceptance {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub grant_scopes: Option<Vec<String>>,
    #[serde(default)]
    pub access_token_extra: Option<Map<String, Value>>,
    #[serde(default)]
    pub id_token_extra: Option<Map<String, Value>>,
    #[serde(default)]
    pub auth_time: Option<i64>,
    #[serde(default)]
    pub provided_acr: Option<String>,
}

/// v0.10's `consentRequestRejection` (v0.10.10 also had `error`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: Value) -> Request {
        let mut r = Request::new(Method::Post, "/clients");
        r.body = serde_json::to_vec(&body).unwrap();
        r
    }

    fn adapted(body: Value) -> ApiResult<Option<Value>> {
        client_request(&req(body)).map(|r| r.map(|r| serde_json::from_slice(&r.body).unwrap()))
    }

    #[test]
    fn v1_bodies_pass_untouched() {
        assert!(adapted(json!({"client_id": "a", "scope": "openid"})).unwrap().is_none());
        assert!(adapted(json!({"id": null, "public": null})).unwrap().is_none());
        assert!(client_request(&Request::new(Method::Post, "/clients")).unwrap().is_none());
    }

    #[test]
    fn v0_10_bodies_become_v1_bodies() {
        let v = adapted(json!({"id": "a", "public": true, "scope": "openid"})).unwrap().unwrap();
        assert_eq!(v, json!({"client_id": "a", "token_endpoint_auth_method": "none", "scope": "openid"}));
        let v = adapted(json!({"id": "a", "client_id": "a", "public": false})).unwrap().unwrap();
        assert_eq!(v, json!({"client_id": "a"}));
        let v = adapted(json!({"public": true, "token_endpoint_auth_method": "none"})).unwrap().unwrap();
        assert_eq!(v, json!({"token_endpoint_auth_method": "none"}));
    }

    #[test]
    fn disagreeing_words_are_a_400() {
        for body in [
            json!({"id": "a", "client_id": "b"}),
            json!({"id": 5}),
            json!({"public": "yes"}),
            json!({"public": true, "token_endpoint_auth_method": "client_secret_basic"}),
            json!({"public": false, "token_endpoint_auth_method": "none"}),
        ] {
            assert_eq!(adapted(body.clone()).unwrap_err().status, 400, "{body}");
        }
    }

    #[test]
    fn responses_carry_id_and_public() {
        let one = Response::json(200, &json!({"client_id": "a", "token_endpoint_auth_method": "none"}));
        let out = client_response(one, Method::Put, true);
        assert_eq!(out.status, 201);
        let v: Value = serde_json::from_slice(&out.body).unwrap();
        assert_eq!((v["id"].as_str(), v["public"].as_bool()), (Some("a"), Some(true)));
        let list =
            Response::json(200, &json!([{"client_id": "a", "token_endpoint_auth_method": "client_secret_basic"}]))
                .with_header("x-total-count", "1");
        let out = client_response(list, Method::Get, false);
        let v: Value = serde_json::from_slice(&out.body).unwrap();
        assert_eq!((v[0]["id"].as_str(), v[0]["public"].as_bool()), (Some("a"), Some(false)));
        assert_eq!((out.status, out.header("x-total-count")), (200, Some("1")));
        let err = Response::json(404, &json!({"error": "x"}));
        assert_eq!(client_response(err, Method::Get, false).body, serde_json::to_vec(&json!({"error": "x"})).unwrap());
    }

    #[test]
    fn acceptance_is_v0_10_shaped() {
        let a: Acceptance =
            serde_json::from_value(json!({"subject": "u", "grantScopes": ["openid"], "accessTokenExtra": {"a": 1}}))
                .unwrap();
        assert_eq!(a.grant_scopes.unwrap(), vec!["openid"]);
        assert!(serde_json::from_value::<Acceptance>(json!({"subject": "u", "grant_scope": ["openid"]})).is_err());
        assert!(serde_json::from_value::<Rejection>(json!({"reason": "no", "error_description": "x"})).is_err());
    }
}
