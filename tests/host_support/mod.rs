//! Handler-level tests on the host platform (`hydra_edge::host`): requests go straight to
//! `hydra_edge::app::handle`, with D1 as SQLite and KV in memory, in milliseconds. The browser,
//! the login & consent app and the relying party are played as in the end-to-end helpers
//! (tests/common/oauth.rs), without HTTP.
#![allow(dead_code)]

use hydra_edge::config::Config;
use hydra_edge::crypto::seal::Purpose;
use hydra_edge::host::{HostPlatform, World, ADMIN_TOKEN};
use hydra_edge::http::{Method, Request, Response};
use serde_json::{json, Value};

pub const ISSUER: &str = "http://127.0.0.1:8787";
pub const REDIRECT: &str = "https://rp.example/callback";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Where a relying party says goodbye (a registered `post_logout_redirect_uri`).
pub const BYE: &str = "https://rp.example/bye";
/// The error page a flow without a redirect URI ends on.
pub const ERROR_PAGE: &str = "http://127.0.0.1:8787/oauth2/fallbacks/error";

/// A response with helpers.
#[derive(Debug, Clone)]
pub struct Resp(pub Response);

impl Resp {
    pub fn status(&self) -> u16 {
        self.0.status
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.0.header(name).map(str::to_string)
    }
    pub fn location(&self) -> String {
        self.header("location").unwrap_or_default()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.0.body).unwrap_or(Value::Null)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.body).into_owned()
    }
    /// A query or fragment parameter of the `Location` URL.
    pub fn param(&self, name: &str) -> Option<String> {
        param(&self.location(), name)
    }
}

impl std::fmt::Display for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} location={:?} body={}", self.status(), self.location(), self.text())
    }
}

pub fn param(url: &str, name: &str) -> Option<String> {
    let (_, rest) = url.split_once(['?', '#'])?;
    let rest = rest.replace('#', "&");
    form_urlencoded::parse(rest.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// One deployment with its configuration; `p` is location "a".
pub struct Host {
    pub world: World,
    pub p: HostPlatform,
    pub cfg: Config,
}

impl Host {
    pub fn new() -> Host {
        Host::with(&[])
    }

    pub fn with(vars: &[(&str, &str)]) -> Host {
        let world = World::new();
        let p = world.location("a");
        Host { p, world, cfg: hydra_edge::host::config(vars).unwrap() }
    }

    pub fn now(&self) -> i64 {
        self.world.now_ms() / 1000
    }

    /// Send a request to location `p`; `target` may be a path or an absolute URL of the issuer.
    pub fn send_at(
        &self,
        p: &HostPlatform,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let target = target.strip_prefix(ISSUER).unwrap_or(target);
        let mut req = Request::new(method, target);
        req.headers = headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect();
        req.body = body.to_vec();
        Resp(p.handle(&self.cfg, req))
    }

    pub fn send(&self, method: Method, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        self.send_at(&self.p, method, target, headers, body)
    }

    pub fn get(&self, target: &str) -> Resp {
        self.send(Method::Get, target, &[], b"")
    }

    pub fn admin_at(&self, p: &HostPlatform, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let mut headers = vec![("authorization", auth.as_str())];
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.send_at(p, method, path, &headers, &bytes)
    }

    /// Admin call at location "a": status and JSON body.
    pub fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let r = self.admin_at(&self.p, method, path, body);
        (r.status(), r.json())
    }

    pub fn post_form_at(&self, p: &HostPlatform, path: &str, body: &str, headers: &[(&str, &str)]) -> Resp {
        let mut h = vec![("content-type", "application/x-www-form-urlencoded")];
        h.extend_from_slice(headers);
        self.send_at(p, Method::Post, path, &h, body.as_bytes())
    }

    /// Register a client (code grant, PKCE-ready, `openid offline_access`); `extra` overrides.
    pub fn register(&self, extra: Value) -> Rp {
        let mut body = json!({
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "openid offline_access offline profile",
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, c) = self.admin(Method::Post, "/admin/clients", Some(&body));
        assert_eq!(status, 201, "{c}");
        Rp {
            id: c["client_id"].as_str().unwrap().to_string(),
            secret: c["client_secret"].as_str().unwrap_or("").to_string(),
        }
    }

    pub fn accept_login(&self, challenge: &str, body: &Value) -> Resp {
        self.admin_at(
            &self.p,
            Method::Put,
            &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
            Some(body),
        )
    }

    pub fn accept_consent(&self, challenge: &str, body: &Value) -> Resp {
        self.admin_at(
            &self.p,
            Method::Put,
            &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={challenge}"),
            Some(body),
        )
    }

    /// The whole flow with default decisions, in `browser`; the final response at the client.
    pub fn run_flow(&self, rp: &Rp, browser: &mut Browser, subject: &str) -> Resp {
        let r = browser.get(self, &rp.auth_url(&[]));
        let login = r.param("login_challenge").unwrap_or_else(|| panic!("no login challenge: {r}"));
        let accepted = self.accept_login(&login, &json!({"subject": subject, "remember": true, "remember_for": 3600}));
        assert_eq!(accepted.status(), 200, "{accepted}");
        let r = browser.get(self, accepted.json()["redirect_to"].as_str().unwrap());
        let consent = r.param("consent_challenge").unwrap_or_else(|| panic!("no consent challenge: {r}"));
        let accepted =
            self.accept_consent(&consent, &json!({"grant_scope": ["openid", "offline_access"], "remember": true}));
        assert_eq!(accepted.status(), 200, "{accepted}");
        browser.get(self, accepted.json()["redirect_to"].as_str().unwrap())
    }

    /// A code through the whole flow in a new browser.
    pub fn code(&self, rp: &Rp, subject: &str) -> String {
        let r = self.run_flow(rp, &mut Browser::default(), subject);
        r.param("code").unwrap_or_else(|| panic!("no code: {r}"))
    }

    /// Exchange a code with client_secret_basic.
    pub fn exchange(&self, rp: &Rp, code: &str) -> Resp {
        self.token(
            rp,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
    }

    /// A token-endpoint request with client_secret_basic.
    pub fn token(&self, rp: &Rp, pairs: &[(&str, &str)]) -> Resp {
        self.post_form_at(&self.p, "/oauth2/token", &form(pairs), &[("authorization", &basic(&rp.id, &rp.secret))])
    }

    /// `grant_type=refresh_token` with client_secret_basic.
    pub fn refresh(&self, rp: &Rp, refresh_token: &str) -> Resp {
        self.token(rp, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
    }

    /// `POST /oauth2/revoke` with client_secret_basic.
    pub fn revoke(&self, rp: &Rp, token: &str) -> Resp {
        let auth = basic(&rp.id, &rp.secret);
        self.post_form_at(&self.p, "/oauth2/revoke", &form(&[("token", token)]), &[("authorization", &auth)])
    }

    /// `POST /admin/oauth2/introspect`.
    pub fn introspect(&self, token: &str) -> Resp {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        self.post_form_at(&self.p, "/admin/oauth2/introspect", &form(&[("token", token)]), &[("authorization", &auth)])
    }

    /// `GET /userinfo` with a bearer access token.
    pub fn userinfo(&self, access_token: &str) -> Resp {
        self.send(Method::Get, "/userinfo", &[("authorization", &format!("Bearer {access_token}"))], b"")
    }

    /// Open a challenge or verifier this deployment sealed (tests read the flow ids in it).
    pub fn unseal<T: serde::de::DeserializeOwned>(&self, purpose: Purpose, sealed: &str) -> T {
        hydra_edge::crypto::seal::open(&self.cfg.system_secrets, purpose, self.now(), sealed)
            .unwrap_or_else(|e| panic!("cannot open a sealed {purpose:?}: {e:?}"))
    }

    /// The claims of a JWT (unverified).
    pub fn claims(&self, jwt: &str) -> Value {
        let part = jwt.split('.').nth(1).unwrap_or_default();
        serde_json::from_slice(&hydra_edge::crypto::b64url_decode(part).unwrap_or_default()).unwrap_or(Value::Null)
    }
}

/// The stored signature of an opaque token (`ory_at_…`, `ory_rt_…`: the part after the dot).
pub fn signature_of(token: &str) -> &str {
    token.rsplit('.').next().unwrap_or_default()
}

pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

/// A registered relying party.
#[derive(Clone)]
pub struct Rp {
    pub id: String,
    pub secret: String,
}

impl Rp {
    /// `/oauth2/auth?...` for a code flow with PKCE; `extra` parameters win.
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
            params.push((k, v.to_string()));
        }
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("/oauth2/auth?{}", form(&pairs))
    }
}

/// A browser: a cookie jar (names and values; the tests need no paths or domains), and
/// headers it sends with every request (`cf-connecting-ip`, which Cloudflare would add).
#[derive(Default, Clone)]
pub struct Browser {
    pub cookies: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn store(&mut self, r: &Response) {
        for (k, v) in &r.headers {
            if k != "set-cookie" {
                continue;
            }
            let first = v.split(';').next().unwrap_or("");
            let Some((name, value)) = first.split_once('=') else { continue };
            let gone = v.to_ascii_lowercase().contains("max-age=0") || v.to_ascii_lowercase().contains("max-age=-");
            self.cookies.retain(|(n, _)| n != name.trim());
            if !gone {
                self.cookies.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
    }

    pub fn get_at(&mut self, h: &Host, p: &HostPlatform, target: &str) -> Resp {
        let cookie = self.cookie_header();
        let mut headers: Vec<(&str, &str)> = self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if !cookie.is_empty() {
            headers.push(("cookie", cookie.as_str()));
        }
        let r = h.send_at(p, Method::Get, target, &headers, b"");
        self.store(&r.0);
        r
    }

    pub fn get(&mut self, h: &Host, target: &str) -> Resp {
        let p = h.p.clone();
        self.get_at(h, &p, target)
    }
}

/// A P-256 key for `private_key_jwt`, its public JWK (kid `k1`) and assertions signed with it.
pub struct AssertionKey {
    pub key: p256::ecdsa::SigningKey,
    pub jwk: Value,
}

fn b64url(bytes: &[u8]) -> String {
    hydra_edge::crypto::b64url(bytes)
}

impl AssertionKey {
    pub fn new(seed: u8) -> AssertionKey {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let secret = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
        let point = secret.public_key().to_encoded_point(false);
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
            "x": b64url(point.x().unwrap()), "y": b64url(point.y().unwrap())});
        AssertionKey { key: p256::ecdsa::SigningKey::from(secret), jwk }
    }

    /// An assertion for `client_id` at the token endpoint, issued `now`.
    pub fn assertion(&self, client_id: &str, jti: &str, now: i64) -> String {
        use p256::ecdsa::signature::Signer;
        let json = |v: &Value| b64url(&serde_json::to_vec(v).unwrap());
        let input = format!(
            "{}.{}",
            json(&json!({"alg": "ES256", "kid": "k1", "typ": "JWT"})),
            json(
                &json!({"iss": client_id, "sub": client_id, "aud": format!("{ISSUER}/oauth2/token"), "jti": jti, "iat": now, "exp": now + 300})
            )
        );
        let sig: p256::ecdsa::Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", b64url(&sig.to_bytes()))
    }
}

/// The token-endpoint body of a code exchange with a client assertion.
pub fn assertion_exchange(code: &str, assertion: &str) -> String {
    form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ])
}
