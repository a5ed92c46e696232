//! The hostile-input suite: a table of requests an attacker (or a broken client) sends, each
//! with the precise answer it must get, run against the Worker in workerd. After every case the
//! whole D1 database is compared with what it was before: a refused request changes nothing.
//!
//! Adding cases: each route family has a file here returning `Vec<Case>` from the shared
//! [`Fixture`] (clients, codes, challenges, tokens made once). A new route gets a new file and
//! one line in [`families`]. A case that is meant to change state names the tables it may
//! change ([`Case::changes`]).

#[path = "../common/mod.rs"]
mod common;

mod authorize;
mod clients;
mod compat;
mod device;
mod flow;
mod keys;
mod logout;
mod misc;
mod registration;
mod sessions;
mod token;

use std::sync::{Mutex, OnceLock};

use common::jose::EcKey;
use common::oauth::*;
use common::{json_of, unique, Server, ADMIN_TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

/// What a case sends.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub method: Method,
    /// Path and query, as sent (no re-encoding).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Send the admin token.
    pub admin: bool,
    pub expect: Expect,
    /// Tables this case may change (none unless said).
    pub changes: Vec<&'static str>,
}

/// What it must get.
#[derive(Clone, Debug)]
pub enum Expect {
    /// `errorOAuth2` JSON: status, `error`, `status_code`.
    OAuth(u16, &'static str),
    /// Hydra's `genericError` JSON with this status.
    Admin(u16),
    /// An admin-route JSON error with this status and `error`.
    AdminError(u16, &'static str),
    /// A redirect to the error page (never the client) with this `error`.
    ErrorPage(&'static str),
    /// A 303 to the registered redirect URI with this `error` (and `iss`).
    Client(&'static str),
    /// Only a status.
    Status(u16),
    /// An HTML page (200) that does not contain this raw text (reflected XSS).
    HtmlWithout(&'static str),
}

impl Case {
    pub fn new(name: impl Into<String>, method: Method, target: impl Into<String>) -> Case {
        Case {
            name: name.into(),
            method,
            target: target.into(),
            headers: Vec::new(),
            body: None,
            admin: false,
            expect: Expect::Status(0),
            changes: Vec::new(),
        }
    }
    pub fn get(name: impl Into<String>, target: impl Into<String>) -> Case {
        Case::new(name, Method::GET, target)
    }
    pub fn post(name: impl Into<String>, target: impl Into<String>) -> Case {
        Case::new(name, Method::POST, target)
    }
    pub fn put(name: impl Into<String>, target: impl Into<String>) -> Case {
        Case::new(name, Method::PUT, target)
    }
    pub fn header(mut self, k: &str, v: &str) -> Case {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
    /// A raw `application/x-www-form-urlencoded` body (sent byte for byte).
    pub fn form(self, raw: &str) -> Case {
        self.raw(raw.as_bytes().to_vec(), "application/x-www-form-urlencoded")
    }
    /// A raw JSON body (sent byte for byte, valid or not).
    pub fn json(self, raw: &str) -> Case {
        self.raw(raw.as_bytes().to_vec(), "application/json")
    }
    pub fn raw(mut self, body: Vec<u8>, content_type: &str) -> Case {
        self.body = Some(body);
        self.header("content-type", content_type)
    }
    pub fn basic(self, id: &str, secret: &str) -> Case {
        let v = basic(id, secret);
        self.header("authorization", &v)
    }
    pub fn bearer(self, token: &str) -> Case {
        self.header("authorization", &format!("Bearer {token}"))
    }
    pub fn admin(mut self) -> Case {
        self.admin = true;
        self
    }
    pub fn expect(mut self, e: Expect) -> Case {
        self.expect = e;
        self
    }
    pub fn changes(mut self, tables: &[&'static str]) -> Case {
        self.changes = tables.to_vec();
        self
    }
}

/// Percent-encode a value for a query or form body.
pub fn enc(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// Everything the cases refer to, made once.
pub struct Fixture {
    pub s: &'static Server,
    /// Confidential (`client_secret_basic`) client with code, implicit and refresh grants.
    pub rp: Rp<'static>,
    /// `client_secret_post`.
    pub post: Rp<'static>,
    /// Public (`none`).
    pub public: Rp<'static>,
    /// `private_key_jwt` with an inline ES256 key.
    pub jwt: Rp<'static>,
    pub jwt_key: EcKey,
    /// Clients whose failed authentications the cases spread over (the per-client rate limit).
    pub pool: Vec<Rp<'static>>,
    /// A code of `rp`, never redeemed (cases that must not consume it).
    pub fresh_code: String,
    /// A code of `rp`, redeemed and replayed once already (its tokens are revoked).
    pub spent_code: String,
    pub id_token: String,
    pub access_token: String,
    /// A client assertion already used once (its `jti` is remembered).
    pub used_assertion: String,
    pub login_challenge: String,
    pub consent_challenge: String,
    /// A login challenge whose verifier was redeemed.
    pub used_login_challenge: String,
    pub used_login_verifier: String,
    pub used_consent_verifier: String,
    /// A dynamically registered client and its registration access token.
    pub dcr_id: String,
    pub dcr_token: String,
    /// Another one's token.
    pub other_dcr_token: String,
    /// An open (OP-initiated) logout challenge, a rejected one, and a spent logout verifier.
    pub logout_challenge: String,
    pub used_logout_challenge: String,
    pub spent_logout_verifier: String,
    /// A client with the device grant, one of its pending device codes, and an open device
    /// verification (challenge).
    pub device: Rp<'static>,
    pub device_code: String,
    pub device_challenge: String,
    /// A client of the v0.10 consent flow (`CONSENT_URL_CLIENTS`) and one of its open consent
    /// requests (the `consent` id), neither accepted nor rejected.
    pub v010: Rp<'static>,
    pub v010_request: String,
}

/// The v0.10 consent app of the hostile server, and the clients that use it.
pub const V010_CONSENT_APP: &str = "https://consent-v0-10.example/consent";
pub const V010_CLIENT: &str = "hostile-v010-client";

static POOL_NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Fixture {
    /// The next pool client (failed authentications are spread over them).
    pub fn pooled(&self) -> &Rp<'static> {
        &self.pool[POOL_NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % self.pool.len()]
    }

    /// A full, valid authorization URL of `rp` (parameters appended may override nothing).
    pub fn auth(&self, extra: &[(&str, &str)]) -> String {
        let url = self.rp.auth_url(extra);
        url.strip_prefix(&self.s.base).unwrap().to_string()
    }

    /// The query of a valid authorization request without `skip` parameters, for hand-made URLs.
    pub fn auth_query_without(&self, skip: &[&str]) -> String {
        let all = [
            ("client_id", self.rp.id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid offline_access"),
            ("state", "state-0123456789"),
            ("nonce", "nonce-0123456789"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        all.iter()
            .filter(|(k, _)| !skip.contains(k))
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        Server::start(&[
            ("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED", "true"),
            ("CONSENT_URL", V010_CONSENT_APP),
            ("CONSENT_URL_CLIENTS", V010_CLIENT),
        ])
    })
}

fn code_from(r: &reqwest::blocking::Response) -> String {
    assert_eq!(r.status(), 303, "{}", location(r));
    param(&location(r), "code").unwrap_or_else(|| panic!("no code in {}", location(r)))
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let s = server();
        // Warm up: the first key use creates the signing sets (a write no case should see).
        assert_eq!(s.client().get(s.url("/.well-known/jwks.json")).send().unwrap().status(), 200);
        let rp = Rp::register(s, json!({"scope": "openid offline_access offline profile photos.*"}));
        let post = Rp::register(s, json!({"token_endpoint_auth_method": "client_secret_post"}));
        let public = Rp::register(s, json!({"token_endpoint_auth_method": "none"}));
        let jwt_key = EcKey::new(21, "hostile-k1");
        let jwt = Rp::register(
            s,
            json!({"token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256", "jwks": jwt_key.jwks()}),
        );
        let pool = (0..6).map(|_| Rp::register(s, json!({}))).collect();

        let browser = s.browser();
        let fresh_code = code_from(&run_flow(&rp, &browser, &rp.auth_url(&[]), "hostile-user"));
        let spent_code = code_from(&run_flow(&rp, &browser, &rp.auth_url(&[]), "hostile-user"));
        let (status, tokens, _) = rp.exchange(&spent_code, VERIFIER);
        assert_eq!(status, 200, "{tokens}");
        let (status, _, _) = rp.exchange(&spent_code, VERIFIER);
        assert_eq!(status, 400);
        let third = code_from(&run_flow(&rp, &browser, &rp.auth_url(&[]), "hostile-user"));
        let (status, tokens, _) = rp.exchange(&third, VERIFIER);
        assert_eq!(status, 200, "{tokens}");
        let id_token = tokens["id_token"].as_str().unwrap().to_string();
        let access_token = tokens["access_token"].as_str().unwrap().to_string();

        let used_assertion = jwt_key.assertion(&jwt.id, &s.url("/oauth2/token"), &unique("jti"), 600);
        let (status, body) = json_of(
            s.client()
                .post(s.url("/oauth2/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", "junk"),
                    ("client_assertion_type", common::jose::ASSERTION_TYPE),
                    ("client_assertion", &used_assertion),
                ])
                .send()
                .unwrap(),
        );
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

        // A login challenge left open, a consent challenge left open.
        let b = s.browser();
        let login_challenge = to_login(&b, &rp.auth_url(&[("prompt", "login")]));
        let b2 = s.browser();
        let l2 = to_login(&b2, &rp.auth_url(&[]));
        let to = accept_login(s, &l2, &json!({"subject": "hostile-user"}));
        let consent_challenge = to_consent(&b2, &to);
        // A login challenge whose verifier was redeemed, and a redeemed consent verifier.
        let b3 = s.browser();
        let used_login_challenge = to_login(&b3, &rp.auth_url(&[]));
        let used_login_url = accept_login(s, &used_login_challenge, &json!({"subject": "hostile-user"}));
        let used_login_verifier = param(&used_login_url, "login_verifier").unwrap();
        let c3 = to_consent(&b3, &used_login_url);
        let used_consent_url = accept_consent(s, &c3, &json!({"grant_scope": ["openid"]}));
        let used_consent_verifier = param(&used_consent_url, "consent_verifier").unwrap();
        assert_eq!(to_client(&b3, &used_consent_url).status(), 303);

        let register = || {
            let (status, c) = json_of(
                s.client().post(s.url("/oauth2/register")).json(&json!({"redirect_uris": [REDIRECT]})).send().unwrap(),
            );
            assert_eq!(status, 201, "{c}");
            (c["client_id"].as_str().unwrap().to_string(), c["registration_access_token"].as_str().unwrap().to_string())
        };
        let (dcr_id, dcr_token) = register();
        let (_, other_dcr_token) = register();
        let (status, _) = s.admin_json(Method::POST, "/admin/keys/hostile-set", &json!({"alg": "ES256", "use": "sig"}));
        assert_eq!(status, 201);

        // Logout: three requests of one logged-in browser; the second is rejected, the third
        // completed (which ends the session).
        let lb = s.browser();
        assert_eq!(run_flow(&rp, &lb, &rp.auth_url(&[]), "hostile-logout").status(), 303);
        let logout = || {
            let r = lb.get(s.url("/oauth2/sessions/logout")).send().unwrap();
            param(&location(&r), "logout_challenge").unwrap_or_else(|| panic!("no logout challenge: {}", location(&r)))
        };
        let logout_challenge = logout();
        let used_logout_challenge = logout();
        let r = s
            .admin(Method::PUT, &format!("/admin/oauth2/auth/requests/logout/reject?logout_challenge={used_logout_challenge}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 204);
        let third = logout();
        let (_, v) = admin_put(s, &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={third}"), &json!({}));
        let to = v["redirect_to"].as_str().unwrap().to_string();
        assert_eq!(lb.get(&to).send().unwrap().status(), 302);
        let spent_logout_verifier = param(&to, "logout_verifier").unwrap();

        // Device: a pending device code and an open verification.
        let device = Rp::register(
            s,
            json!({"grant_types": ["urn:ietf:params:oauth:grant-type:device_code"], "scope": "openid offline_access"}),
        );
        let (status, d) = json_of(
            s.client()
                .post(s.url("/oauth2/device/auth"))
                .basic_auth(&device.id, Some(&device.secret))
                .form(&[("client_id", device.id.as_str()), ("scope", "openid")])
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{d}");
        let device_code = d["device_code"].as_str().unwrap().to_string();
        let r = s.browser().get(s.url("/oauth2/device/verify")).send().unwrap();
        let device_challenge = param(&location(&r), "device_challenge").unwrap();

        // v0.10: a client of the v0.10 consent app and one open consent request.
        let v010 = Rp::register(s, json!({"client_id": V010_CLIENT, "scope": "openid offline_access"}));
        let r = s.browser().get(v010.auth_url(&[])).send().unwrap();
        assert!(location(&r).starts_with(V010_CONSENT_APP), "{}", location(&r));
        let v010_request = param(&location(&r), "consent").unwrap();

        Fixture {
            s,
            rp,
            post,
            public,
            jwt,
            jwt_key,
            pool,
            fresh_code,
            spent_code,
            id_token,
            access_token,
            used_assertion,
            login_challenge,
            consent_challenge,
            used_login_challenge,
            used_login_verifier,
            used_consent_verifier,
            dcr_id,
            dcr_token,
            other_dcr_token,
            logout_challenge,
            used_logout_challenge,
            spent_logout_verifier,
            device,
            device_code,
            device_challenge,
            v010,
            v010_request,
        }
    })
}

/// Run one case; `Err` says what was wrong.
fn run(fx: &Fixture, case: &Case) -> Result<(), String> {
    let s = fx.s;
    let before = s.d1_snapshot();
    let mut req = s.client().request(case.method.clone(), s.url(&case.target));
    for (k, v) in &case.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if case.admin {
        req = req.bearer_auth(ADMIN_TOKEN);
    }
    if let Some(b) = &case.body {
        req = req.body(b.clone());
    }
    let r = req.send().map_err(|e| format!("request failed: {e}"))?;
    let status = r.status().as_u16();
    let loc = location(&r);
    let content_type =
        r.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_string()).unwrap_or_default();
    let text = r.text().unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let got = || format!("got {status} {loc} {}", text.chars().take(400).collect::<String>());
    match &case.expect {
        Expect::OAuth(st, error) => {
            if status != *st
                || body["error"] != *error
                || body["status_code"] != *st
                || !content_type.starts_with("application/json")
            {
                return Err(format!("expected {st} {error}: {}", got()));
            }
            if body["error_description"].as_str().map(str::is_empty).unwrap_or(true) {
                return Err(format!("no error_description: {}", got()));
            }
        }
        Expect::Admin(st) => {
            if status != *st || body["code"] != *st || body["status_code"] != *st || !body["message"].is_string() {
                return Err(format!("expected genericError {st}: {}", got()));
            }
        }
        Expect::AdminError(st, error) => {
            if status != *st || body["error"] != *error || body["code"] != *st {
                return Err(format!("expected admin {st} {error}: {}", got()));
            }
        }
        Expect::ErrorPage(error) => {
            let page = s.url("/oauth2/fallbacks/error");
            if !(status == 302 || status == 303)
                || !loc.starts_with(&page)
                || param(&loc, "error").as_deref() != Some(error)
            {
                return Err(format!("expected the error page with {error}: {}", got()));
            }
        }
        Expect::Client(error) => {
            if status != 303 || !loc.starts_with(REDIRECT) || param(&loc, "error").as_deref() != Some(error) {
                return Err(format!("expected {error} at the client: {}", got()));
            }
            if param(&loc, "iss").as_deref() != Some(s.base.as_str()) {
                return Err(format!("no iss: {}", got()));
            }
        }
        Expect::Status(st) => {
            if status != *st {
                return Err(format!("expected {st}: {}", got()));
            }
        }
        Expect::HtmlWithout(raw) => {
            if status != 200 || !content_type.starts_with("text/html") || text.contains(raw) {
                return Err(format!("expected an HTML page without {raw:?}: {}", got()));
            }
        }
    }
    if status >= 500 && !matches!(case.expect, Expect::Status(500..) | Expect::OAuth(500.., _) | Expect::Admin(500..)) {
        return Err(format!("a 5xx: {}", got()));
    }
    let after = s.d1_snapshot();
    for ((table, a), (_, b)) in before.iter().zip(after.iter()) {
        if a != b && !case.changes.contains(&table.as_str()) {
            return Err(format!("changed table {table}"));
        }
    }
    Ok(())
}

/// Builds a family's cases from the fixture.
type Family = fn(&Fixture) -> Vec<Case>;

/// The case families, one per route family.
fn families() -> Vec<(&'static str, Family)> {
    vec![
        ("authorize", authorize::cases),
        ("token", token::cases),
        ("clients", clients::cases),
        ("keys", keys::cases),
        ("flow", flow::cases),
        ("registration", registration::cases),
        ("sessions", sessions::cases),
        ("logout", logout::cases),
        ("device", device::cases),
        ("misc", misc::cases),
        ("compat", compat::cases),
    ]
}

/// The snapshots compare the whole database, so cases run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn run_family(name: &str) {
    let fx = fixture();
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let build = families().into_iter().find(|(n, _)| *n == name).unwrap().1;
    let cases = build(fx);
    let failures: Vec<String> =
        cases.iter().filter_map(|c| run(fx, c).err().map(|e| format!("  [{}] {}: {e}", name, c.name))).collect();
    println!("hostile/{name}: {} cases, {} failed", cases.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn hostile_authorization_requests() {
    run_family("authorize");
}

#[test]
fn hostile_token_requests() {
    run_family("token");
}

#[test]
fn hostile_client_administration() {
    run_family("clients");
}

#[test]
fn hostile_key_administration() {
    run_family("keys");
}

#[test]
fn hostile_login_and_consent_administration() {
    run_family("flow");
}

#[test]
fn hostile_dynamic_registration() {
    run_family("registration");
}

#[test]
fn hostile_session_administration() {
    run_family("sessions");
}

#[test]
fn hostile_logout_requests() {
    run_family("logout");
}

#[test]
fn hostile_device_flow_requests() {
    run_family("device");
}

#[test]
fn hostile_requests_of_older_generations() {
    run_family("compat");
}

#[test]
fn hostile_requests_elsewhere() {
    run_family("misc");
}

/// The suite's size, as the README reports it.
#[test]
fn the_suite_has_at_least_150_cases_with_unique_names() {
    let fx = fixture();
    let mut names: Vec<String> = Vec::new();
    for (family, build) in families() {
        names.extend(build(fx).into_iter().map(|c| format!("{family}/{}", c.name)));
    }
    let total = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), total, "case names must be unique");
    println!("hostile suite: {total} cases");
    assert!(total >= 150, "only {total} cases");
}
