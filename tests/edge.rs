//! The defences of a public edge, end to end: rate limits through the Workers rate-limiting
//! binding (which `wrangler dev` enforces locally, per `wrangler.toml`), CORS as Hydra applies
//! it, the admin token's strength, one answer for unknown clients and wrong secrets, and the
//! production guard against a loopback issuer.

mod common;

use std::sync::OnceLock;

use common::oauth::*;
use common::{json_of, unique, unique_ip, Server, ADMIN_TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

const SPA: &str = "https://spa.example";
const GLOBAL: &str = "https://global.example";

/// Dynamic registration and CORS on (with one globally allowed origin).
fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        Server::start(&[
            ("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED", "true"),
            ("SERVE_PUBLIC_CORS_ENABLED", "true"),
            ("SERVE_PUBLIC_CORS_ALLOWED_ORIGINS", GLOBAL),
            ("SERVE_PUBLIC_CORS_MAX_AGE", "600"),
        ])
    })
}

/// The limits in wrangler.toml (per 60 s).
const CLIENT_AUTH_FAILURES_PER_CLIENT: usize = 20;
const CLIENT_AUTH_FAILURES_PER_IP: usize = 60;
const REGISTRATIONS_PER_IP: usize = 10;
const ADMIN_FAILURES_PER_IP: usize = 10;

/// Send until the first 429 (at most twice the limit plus two: a window may roll over once).
/// Returns how many went through before it and the 429's headers and body.
fn until_429(
    limit: usize,
    mut send: impl FnMut(usize) -> reqwest::blocking::Response,
) -> (usize, reqwest::header::HeaderMap, Value) {
    for i in 0..(2 * limit + 2) {
        let r = send(i);
        if r.status() == 429 {
            let headers = r.headers().clone();
            let (_, body) = json_of(r);
            return (i, headers, body);
        }
    }
    panic!("no 429 after {} requests", 2 * limit + 2);
}

fn token_request(s: &Server, ip: &str, id: &str, secret: &str) -> reqwest::blocking::Response {
    s.client_from(ip)
        .post(s.url("/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .unwrap()
}

// --- Rate limits ------------------------------------------------------------------------------

#[test]
fn failed_client_authentication_is_limited_per_client() {
    let s = server();
    let rp = Rp::register(s, json!({}));
    // The owner authenticated once before the attack: this isolate knows its secret.
    let owner = Rp::register(s, json!({}));
    assert_eq!(token_request(s, &unique_ip(), &owner.id, &owner.secret).status(), 400);
    for victim in [&rp, &owner] {
        let (passed, headers, body) =
            until_429(CLIENT_AUTH_FAILURES_PER_CLIENT, |_| token_request(s, &unique_ip(), &victim.id, "wrong-secret"));
        assert!(passed >= CLIENT_AUTH_FAILURES_PER_CLIENT, "limited after {passed}");
        assert_eq!(headers.get("retry-after").unwrap(), "60");
        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
        assert_eq!(body["status_code"], 429);
    }
    // Blocked: a secret this isolate never verified waits (no PBKDF2 runs for a refused id, so
    // guessing gets nowhere), even when it is right...
    assert_eq!(token_request(s, &unique_ip(), &rp.id, &rp.secret).status(), 429);
    // ...but strangers failing in a client's name do not lock its owner out: the secret verified
    // before still passes (400: the code is not ours), and a wrong one is still refused.
    let (status, body) = json_of(token_request(s, &unique_ip(), &owner.id, &owner.secret));
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert_eq!(token_request(s, &unique_ip(), &owner.id, "wrong-secret").status(), 429);
    // Other clients are not affected.
    let other = Rp::register(s, json!({}));
    let (status, body) = json_of(token_request(s, &unique_ip(), &other.id, &other.secret));
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

#[test]
fn failed_client_authentication_is_limited_per_address_and_only_cf_connecting_ip_counts() {
    let s = server();
    let ip = unique_ip();
    // Unknown clients, one address: the per-address limit.
    let (passed, _, body) =
        until_429(CLIENT_AUTH_FAILURES_PER_IP, |_| token_request(s, &ip, &unique("nobody"), "secret"));
    assert!(passed >= CLIENT_AUTH_FAILURES_PER_IP, "limited after {passed}");
    assert_eq!(body["error"], "temporarily_unavailable");
    // X-Forwarded-For is the client's to write: it changes nothing.
    let rp = Rp::register(s, json!({}));
    let r = s
        .client_from(&ip)
        .post(s.url("/oauth2/token"))
        .header("x-forwarded-for", "203.0.113.50")
        .header("x-real-ip", "203.0.113.51")
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    // Another address is fine.
    assert_eq!(token_request(s, &unique_ip(), &rp.id, &rp.secret).status(), 400);
}

#[test]
fn dynamic_registration_is_limited_per_address() {
    let s = server();
    let ip = unique_ip();
    let before = s.d1("SELECT COUNT(*) AS n FROM clients")[0]["n"].as_i64().unwrap();
    let (passed, headers, body) = until_429(REGISTRATIONS_PER_IP, |_| {
        s.client_from(&ip).post(s.url("/oauth2/register")).json(&json!({"redirect_uris": [REDIRECT]})).send().unwrap()
    });
    assert!(passed >= REGISTRATIONS_PER_IP, "limited after {passed}");
    assert_eq!(headers.get("retry-after").unwrap(), "60");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    let after = s.d1("SELECT COUNT(*) AS n FROM clients")[0]["n"].as_i64().unwrap();
    assert!(after - before <= passed as i64, "a refused registration stored nothing");
    let r = s.client().post(s.url("/oauth2/register")).json(&json!({"redirect_uris": [REDIRECT]})).send().unwrap();
    assert_eq!(r.status(), 201);
}

#[test]
fn wrong_admin_tokens_are_limited_per_address() {
    let s = server();
    let ip = unique_ip();
    let admin = |token: &str| s.client_from(&ip).get(s.url("/admin/clients")).bearer_auth(token).send().unwrap();
    let (passed, headers, body) =
        until_429(ADMIN_FAILURES_PER_IP, |i| admin(&format!("guess-{i}-0123456789abcdef0123456789")));
    assert!(passed >= ADMIN_FAILURES_PER_IP, "limited after {passed}");
    assert_eq!(headers.get("retry-after").unwrap(), "60");
    common::assert_admin_error(&body, 429);
    // While refused, every wrong token gets 429; the right one still passes, since an address can
    // be shared (NAT, a serverless login app's egress) and strangers must not lock the login app
    // out. A token of 32 characters or more is not found by guessing either way.
    assert_eq!(admin("guess-again-0123456789abcdef0123456789").status(), 429);
    assert_eq!(admin(ADMIN_TOKEN).status(), 200);
    assert_eq!(s.client().get(s.url("/admin/clients")).bearer_auth(ADMIN_TOKEN).send().unwrap().status(), 200);
}

// --- One answer for unknown clients and wrong secrets -------------------------------------------

#[test]
fn unknown_clients_and_wrong_secrets_get_the_same_answer() {
    let s = server();
    let rp = Rp::register(s, json!({"token_endpoint_auth_method": "client_secret_post"}));
    let post = |id: &str, secret: &str| {
        json_of(
            s.client()
                .post(s.url("/oauth2/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", "x"),
                    ("client_id", id),
                    ("client_secret", secret),
                ])
                .send()
                .unwrap(),
        )
    };
    let wrong = post(&rp.id, "not-the-secret");
    let unknown = post(&unique("no-such-client"), "not-the-secret");
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong, unknown, "the answers must not tell the two apart");
    let basic = |id: &str| json_of(token_request(s, &unique_ip(), id, "not-the-secret"));
    let known_basic = Rp::register(s, json!({}));
    assert_eq!(basic(&known_basic.id), basic(&unique("no-such-client")));
}

// --- CORS -------------------------------------------------------------------------------------

fn header(r: &reqwest::blocking::Response, name: &str) -> Option<String> {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

#[test]
fn cors_follows_the_global_list_on_public_metadata() {
    let s = server();
    for path in
        ["/.well-known/openid-configuration", "/.well-known/jwks.json", "/.well-known/oauth-authorization-server"]
    {
        let r = s.client().get(s.url(path)).header("origin", GLOBAL).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some(GLOBAL), "{path}");
        assert_eq!(header(&r, "access-control-allow-credentials").as_deref(), Some("true"));
        assert!(header(&r, "access-control-expose-headers").unwrap().contains("Cache-Control"));
        assert!(header(&r, "vary").unwrap().contains("Origin"));
        let r = s.client().get(s.url(path)).header("origin", "https://evil.example").send().unwrap();
        assert_eq!(header(&r, "access-control-allow-origin"), None, "{path}");
        assert!(header(&r, "vary").unwrap().contains("Origin"));
    }
}

#[test]
fn cors_at_the_token_endpoint_follows_the_clients_allowed_origins() {
    let s = server();
    let rp =
        Rp::register(s, json!({"allowed_cors_origins": [SPA], "token_endpoint_auth_method": "client_secret_post"}));
    let post = |origin: &str, id: &str| {
        s.client()
            .post(s.url("/oauth2/token"))
            .header("origin", origin)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("client_id", id),
                ("client_secret", &rp.secret),
            ])
            .send()
            .unwrap()
    };
    let r = post(SPA, &rp.id);
    assert_eq!(r.status(), 400, "authenticated, junk code");
    assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some(SPA));
    let r = post("https://other.example", &rp.id);
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    let other = Rp::register(s, json!({}));
    let r = post(SPA, &other.id);
    assert_eq!(header(&r, "access-control-allow-origin"), None, "another client's origins do not count");
    // The Basic-auth user names the client too.
    let basic = Rp::register(s, json!({"allowed_cors_origins": ["https://*.apps.example"]}));
    let r = s
        .client()
        .post(s.url("/oauth2/token"))
        .header("origin", "https://one.apps.example")
        .basic_auth(&basic.id, Some(&basic.secret))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some("https://one.apps.example"));
    let r = s
        .client()
        .post(s.url("/oauth2/token"))
        .header("origin", "https://a.b.apps.example")
        .basic_auth(&basic.id, Some(&basic.secret))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None, "a wildcard covers one label");
}

#[test]
fn preflights_pass_on_cors_paths_including_routes_added_later() {
    let s = server();
    for path in ["/oauth2/token", "/oauth2/revoke", "/userinfo", "/.well-known/jwks.json"] {
        let r = s
            .client()
            .request(Method::OPTIONS, s.url(path))
            .header("origin", SPA)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
            .unwrap();
        assert_eq!(r.status(), 204, "{path}");
        assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some(SPA), "{path}");
        assert_eq!(header(&r, "access-control-allow-methods").as_deref(), Some("POST"), "{path}");
        assert_eq!(header(&r, "access-control-allow-headers").as_deref(), Some("authorization, content-type"));
        assert_eq!(header(&r, "access-control-max-age").as_deref(), Some("600"));
    }
    // A header outside the allowed list: no CORS headers.
    let r = s
        .client()
        .request(Method::OPTIONS, s.url("/oauth2/token"))
        .header("origin", SPA)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "x-evil")
        .send()
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None);
}

#[test]
fn a_bearer_tokens_client_decides_cors_on_bearer_paths() {
    let s = server();
    let rp = Rp::register(s, json!({"allowed_cors_origins": [SPA]}));
    let r = run_flow(&rp, &s.browser(), &rp.auth_url(&[]), &unique("cora"));
    let code = param(&location(&r), "code").unwrap();
    let (_, tokens, _) = rp.exchange(&code, VERIFIER);
    let access = tokens["access_token"].as_str().unwrap();
    // /userinfo comes with another change; whatever answers there gets CORS by path already.
    let r = s.client().get(s.url("/userinfo")).header("origin", SPA).bearer_auth(access).send().unwrap();
    assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some(SPA), "status {}", r.status());
    let r = s.client().get(s.url("/userinfo")).header("origin", SPA).bearer_auth("ory_at_forged.sig").send().unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None);
}

#[test]
fn no_cors_on_the_authorization_endpoint_or_admin_routes() {
    let s = server();
    let rp = Rp::register(s, json!({"allowed_cors_origins": [GLOBAL]}));
    let r = s.browser().get(rp.auth_url(&[])).header("origin", GLOBAL).send().unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    for path in ["/oauth2/auth", "/admin/clients", "/clients", "/admin/keys/x"] {
        let r = s
            .client()
            .request(Method::OPTIONS, s.url(path))
            .header("origin", GLOBAL)
            .header("access-control-request-method", "GET")
            .send()
            .unwrap();
        assert_ne!(r.status(), 204, "{path}");
        assert_eq!(header(&r, "access-control-allow-origin"), None, "{path}");
        let r = s.admin(Method::GET, path).header("origin", GLOBAL).send().unwrap();
        assert_eq!(header(&r, "access-control-allow-origin"), None, "{path}");
    }
}

#[test]
fn cors_is_off_by_default() {
    let s = common::shared();
    let r = s.client().get(s.url("/.well-known/jwks.json")).header("origin", GLOBAL).send().unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    assert_eq!(header(&r, "vary"), None);
}

// --- Admin token, cookies and the production guard ---------------------------------------------

/// An https issuer (reached here over loopback http), a short admin token, dynamic registration.
fn https_server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        Server::start(&[
            ("URLS_SELF_ISSUER", "https://auth.example.test"),
            ("HYDRA_EDGE_TEST_ROUTES", "false"),
            ("ADMIN_API_TOKEN", "short-admin-token"),
            ("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED", "true"),
        ])
    })
}

#[test]
fn admin_tokens_shorter_than_32_characters_close_the_admin_api() {
    let s = https_server();
    for token in ["short-admin-token", ADMIN_TOKEN] {
        let (status, body) = json_of(s.client().get(s.url("/admin/clients")).bearer_auth(token).send().unwrap());
        assert_eq!(status, 401, "{body}");
        let reason = body["reason"].as_str().unwrap();
        assert!(reason.contains("shorter than 32 characters") && reason.contains("ADMIN_API_TOKEN"), "{reason}");
    }
    // The public side keeps working.
    assert_eq!(s.client().get(s.url("/.well-known/jwks.json")).send().unwrap().status(), 200);
}

#[test]
fn the_test_routes_do_not_exist_for_a_public_issuer() {
    let s = https_server();
    let r = s
        .client()
        .post(s.url("/admin/_test/sql"))
        .bearer_auth("short-admin-token")
        .json(&json!({"statements": ["SELECT 1"]}))
        .send()
        .unwrap();
    assert_ne!(r.status(), 200);
    assert!(r.headers().get("x-hydra-edge-storage").is_none());
}

#[test]
fn a_loopback_issuer_serves_nothing_under_a_public_host_name() {
    let s = common::shared();
    for (method, path) in [
        (Method::GET, "/.well-known/openid-configuration"),
        (Method::GET, "/admin/_test/panic"),
        (Method::POST, "/oauth2/token"),
    ] {
        let (status, body) =
            json_of(s.client().request(method, s.url(path)).header("host", "auth.example.com").send().unwrap());
        assert_eq!(status, 500, "{path}: {body}");
        assert!(body.to_string().contains("URLS_SELF_ISSUER"), "{body}");
    }
    let (status, body) =
        json_of(s.client().get(s.url("/health/alive")).header("host", "auth.example.com").send().unwrap());
    assert_eq!(status, 200, "{body}");
}

#[test]
fn cookies_carry_the_host_prefix_on_an_https_issuer() {
    let s = https_server();
    let (status, client) = json_of(
        s.client()
            .post(s.url("/oauth2/register"))
            .json(&json!({"redirect_uris": [REDIRECT], "scope": "openid"}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{client}");
    let id = client["client_id"].as_str().unwrap();
    let url = format!(
        "/oauth2/auth?client_id={id}&response_type=code&scope=openid&state=state-0123456789&redirect_uri={}",
        form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let r = s.client().get(s.url(&url)).send().unwrap();
    assert_eq!(r.status(), 302, "{}", location(&r));
    let cookies: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(!cookies.is_empty());
    for c in cookies {
        assert!(c.starts_with("__Host-ory_hydra_login_csrf_"), "{c}");
        assert!(c.contains("; Secure") && c.contains("Path=/") && !c.to_ascii_lowercase().contains("domain="), "{c}");
    }
}

#[test]
fn wrangler_deploy_refuses_the_committed_configuration() {
    common::ensure_built();
    let out = std::process::Command::new("node")
        .arg(common::root().join("node_modules/wrangler/bin/wrangler.js"))
        .args(["deploy", "--dry-run", "--outdir", common::root().join("target/e2e-guard").to_str().unwrap()])
        .current_dir(common::root())
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("refusing to deploy") && text.contains("URLS_SELF_ISSUER"), "{text}");
    let out = std::process::Command::new("node")
        .arg(common::root().join("node_modules/wrangler/bin/wrangler.js"))
        .args(["deploy", "--dry-run", "--outdir", common::root().join("target/e2e-guard").to_str().unwrap()])
        .args(["--var", "URLS_SELF_ISSUER:https://auth.example.com", "--var", "HYDRA_EDGE_TEST_ROUTES:true"])
        .current_dir(common::root())
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && text.contains("HYDRA_EDGE_TEST_ROUTES"), "{text}");
    let out = std::process::Command::new("node")
        .arg(common::root().join("node_modules/wrangler/bin/wrangler.js"))
        .args(["deploy", "--dry-run", "--outdir", common::root().join("target/e2e-guard").to_str().unwrap()])
        .args(["--var", "URLS_SELF_ISSUER:https://auth.example.com"])
        .current_dir(common::root())
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
}
