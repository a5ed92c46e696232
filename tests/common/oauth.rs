//! Driving Hydra's login and consent flow from tests: the browser's part with a cookie-keeping
//! client, the login/consent app's part through the admin API, the client's part at the token
//! endpoint.
#![allow(dead_code)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use reqwest::blocking::{Client as Http, Response};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{json_of, unique, Server, ADMIN_TOKEN};

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const REDIRECT: &str = "https://rp.example/callback";

pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A relying party registered on the server.
pub struct Rp<'a> {
    pub s: &'a Server,
    pub id: String,
    pub secret: String,
    pub client: Value,
}

impl<'a> Rp<'a> {
    /// A confidential client (client_secret_basic) with code + refresh grants and
    /// `openid offline_access profile` scopes; `extra` overrides fields.
    pub fn register(s: &'a Server, extra: Value) -> Rp<'a> {
        let mut body = json!({
            "client_id": unique("rp"),
            "redirect_uris": [REDIRECT, "http://127.0.0.1:7000/cb"],
            "grant_types": ["authorization_code", "refresh_token", "implicit"],
            "response_types": ["code", "id_token", "token id_token", "code id_token", "code token id_token", "token"],
            "scope": "openid offline_access offline profile email",
            "audience": ["https://api.example"],
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, client) = s.admin_json(Method::POST, "/admin/clients", &body);
        assert_eq!(status, 201, "{client}");
        Rp {
            s,
            id: client["client_id"].as_str().unwrap().to_string(),
            secret: client["client_secret"].as_str().unwrap_or("").to_string(),
            client,
        }
    }

    /// `/oauth2/auth?...` for a code flow with PKCE, plus extra parameters (which win).
    pub fn auth_url(&self, extra: &[(&str, &str)]) -> String {
        let mut params: Vec<(&str, String)> = vec![
            ("client_id", self.id.clone()),
            ("response_type", "code".into()),
            ("redirect_uri", REDIRECT.into()),
            ("scope", "openid offline_access".into()),
            ("state", "state-0123456789".into()),
            ("nonce", "nonce-0123456789".into()),
            ("code_challenge", CHALLENGE.into()),
            ("code_challenge_method", "S256".into()),
        ];
        for (k, v) in extra {
            params.retain(|(name, _)| name != k);
            if !v.is_empty() {
                params.push((k, v.to_string()));
            }
        }
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            q.append_pair(k, v);
        }
        self.s.url(&format!("/oauth2/auth?{}", q.finish()))
    }

    /// Exchange a code with client_secret_basic.
    pub fn exchange(&self, code: &str, verifier: &str) -> (u16, Value, HeaderMap) {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ];
        self.token(&form)
    }

    pub fn token(&self, form: &[(&str, &str)]) -> (u16, Value, HeaderMap) {
        let r = self
            .s
            .client()
            .post(self.s.url("/oauth2/token"))
            .basic_auth(&self.id, Some(&self.secret))
            .form(form)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let (_, body) = json_of(r);
        (status, body, headers)
    }
}

/// Exchange a code with the client's credentials in the body (`extra`), without Basic auth:
/// `client_secret_post`, `none`, `private_key_jwt`.
pub fn exchange_in_body(s: &Server, code: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    form.extend_from_slice(extra);
    json_of(s.client().post(s.url("/oauth2/token")).form(&form).send().unwrap())
}

pub fn location(r: &Response) -> String {
    r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// A query (or fragment) parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    let (_, rest) = url.split_once(['?', '#'])?;
    let rest = rest.replace('#', "&");
    form_urlencoded::parse(rest.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

pub fn fragment_param(url: &str, name: &str) -> Option<String> {
    let (_, frag) = url.split_once('#')?;
    form_urlencoded::parse(frag.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

pub fn storage_ops(r: &Response) -> String {
    r.headers().get("x-hydra-edge-storage").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// Browser: GET and expect a redirect to the login app; returns the login challenge.
pub fn to_login(browser: &Http, url: &str) -> String {
    let r = browser.get(url).send().unwrap();
    assert_eq!(r.status(), 302, "expected a redirect to the login app from {url}: {}", r.text().unwrap_or_default());
    let loc = location(&r);
    param(&loc, "login_challenge").unwrap_or_else(|| panic!("no login_challenge in {loc}"))
}

pub fn admin_put(s: &Server, path: &str, body: &Value) -> (u16, Value) {
    json_of(s.client().request(Method::PUT, s.url(path)).bearer_auth(ADMIN_TOKEN).json(body).send().unwrap())
}

pub fn accept_login(s: &Server, challenge: &str, body: &Value) -> String {
    let (status, v) =
        admin_put(s, &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"), body);
    assert_eq!(status, 200, "{v}");
    v["redirect_to"].as_str().unwrap().to_string()
}

pub fn accept_consent(s: &Server, challenge: &str, body: &Value) -> String {
    let (status, v) =
        admin_put(s, &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={challenge}"), body);
    assert_eq!(status, 200, "{v}");
    v["redirect_to"].as_str().unwrap().to_string()
}

/// Browser follows a login verifier URL and lands at the consent app; returns the challenge.
pub fn to_consent(browser: &Http, redirect_to: &str) -> String {
    let r = browser.get(redirect_to).send().unwrap();
    let loc = location(&r);
    assert_eq!(r.status(), 302, "expected the consent app, got {} {loc}", r.status());
    param(&loc, "consent_challenge").unwrap_or_else(|| panic!("no consent_challenge in {loc}"))
}

/// Browser follows the consent verifier URL; returns the final redirect to the client.
pub fn to_client(browser: &Http, redirect_to: &str) -> Response {
    browser.get(redirect_to).send().unwrap()
}

/// The whole flow with default decisions: login as `subject` (remembered), consent to the
/// requested scopes. Returns the final response at the client.
pub fn run_flow(rp: &Rp, browser: &Http, url: &str, subject: &str) -> Response {
    let login = to_login(browser, url);
    let r = accept_login(rp.s, &login, &json!({"subject": subject, "remember": true, "remember_for": 3600}));
    let consent = to_consent(browser, &r);
    let (_, req) = rp.s.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={consent}"));
    let r = accept_consent(
        rp.s,
        &consent,
        &json!({
            "grant_scope": req["requested_scope"],
            "grant_access_token_audience": req["requested_access_token_audience"],
            "remember": true,
            "session": {"id_token": {"email": format!("{subject}@example.com")}, "access_token": {"tier": "gold"}},
        }),
    );
    to_client(browser, &r)
}

pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}
