//! Helpers for the token-lifecycle tests: getting tokens through a flow or a grant,
//! introspecting and revoking them, and an HTTP adapter for the `openidconnect` crate.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use super::oauth::{param, run_flow, Rp, REDIRECT, VERIFIER};
use super::{json_of, Server};

/// Code flow for `subject` with `scope`, then the code exchange; the token response.
pub fn tokens_via_flow(rp: &Rp, subject: &str, scope: &str) -> Value {
    let r = run_flow(rp, &rp.s.browser(), &rp.auth_url(&[("scope", scope)]), subject);
    assert_eq!(r.status(), 303, "{:?}", r.headers().get("location"));
    let loc = r.headers().get("location").unwrap().to_str().unwrap().to_string();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    let code = param(&loc, "code").unwrap_or_else(|| panic!("no code in {loc}"));
    let (status, body, _) = rp.exchange(&code, VERIFIER);
    assert_eq!(status, 200, "{body}");
    body
}

/// A token request with client_secret_basic.
pub fn token_request(s: &Server, id: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value, HeaderMap) {
    let r = s.client().post(s.url("/oauth2/token")).basic_auth(id, Some(secret)).form(form).send().unwrap();
    let headers = r.headers().clone();
    let (status, body) = json_of(r);
    (status, body, headers)
}

pub fn refresh(rp: &Rp, refresh_token: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    form.extend_from_slice(extra);
    let (status, body, _) = token_request(rp.s, &rp.id, &rp.secret, &form);
    (status, body)
}

/// `POST /admin/oauth2/introspect` with `token` (and optional `scope`).
pub fn introspect(s: &Server, token: &str, scope: Option<&str>) -> Value {
    let mut form = vec![("token", token)];
    if let Some(sc) = scope {
        form.push(("scope", sc));
    }
    let (status, body) =
        json_of(s.admin(reqwest::Method::POST, "/admin/oauth2/introspect").form(&form).send().unwrap());
    assert_eq!(status, 200, "{body}");
    body
}

pub fn active(s: &Server, token: &str) -> bool {
    introspect(s, token, None)["active"] == json!(true)
}

/// `POST /oauth2/revoke` with client_secret_basic; the status.
pub fn revoke(s: &Server, id: &str, secret: &str, token: &str) -> u16 {
    s.client()
        .post(s.url("/oauth2/revoke"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// A client_credentials client (client_secret_basic); `extra` overrides fields.
pub fn machine_client(s: &Server, extra: Value) -> (String, String) {
    let mut body = json!({
        "client_id": super::unique("m2m"),
        "grant_types": ["client_credentials"],
        "scope": "read write photos.*",
        "audience": ["https://api.example"],
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, c) = s.admin_json(reqwest::Method::POST, "/admin/clients", &body);
    assert_eq!(status, 201, "{c}");
    (c["client_id"].as_str().unwrap().to_string(), c["client_secret"].as_str().unwrap_or("").to_string())
}

pub fn decode_part(jwt: &str, i: usize) -> Value {
    let part = jwt.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The `openidconnect` crate's HTTP client: its requests sent with reqwest.
pub fn oidc_http(req: openidconnect::HttpRequest) -> Result<openidconnect::HttpResponse, std::io::Error> {
    let client = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
    let mut rb = client.request(method, req.uri().to_string());
    for (k, v) in req.headers() {
        rb = rb.header(k.as_str(), v.as_bytes());
    }
    let resp = rb.body(req.body().clone()).send().map_err(std::io::Error::other)?;
    let mut out = openidconnect::http::Response::builder().status(resp.status().as_u16());
    for (k, v) in resp.headers() {
        out = out.header(k.as_str(), v.as_bytes());
    }
    let body = resp.bytes().map_err(std::io::Error::other)?.to_vec();
    out.body(body).map_err(std::io::Error::other)
}
