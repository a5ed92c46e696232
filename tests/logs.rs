//! The request log (src/log.rs) end to end: one JSON line per request in what `wrangler dev`
//! prints, naming route, status, client and grant type, and never a secret. A full flow runs
//! with known secrets, tokens, codes, challenges, verifiers and cookies, failures included, and
//! then the whole log is searched for each of them.

mod common;

use std::time::{Duration, Instant};

use common::oauth::{challenge_of, location, param};
use common::{json_of, unique, Server};
use reqwest::blocking::Response;
use serde_json::{json, Value};

const ADMIN: &str = "logs-e2e-admin-token-0123456789abcdefghij";
const CLIENT_SECRET: &str = "logs-e2e-client-secret-5f1d9c2a7b";
const WRONG_SECRET: &str = "logs-e2e-wrong-secret-88a1c0ffee";
const WRONG_ADMIN: &str = "logs-e2e-wrong-admin-token-0123456789abcdef";
const PKCE_VERIFIER: &str = "logs-e2e-pkce-verifier-0123456789abcdefghijklmnop";
const REDIRECT: &str = "https://rp.example/callback";

fn admin_put(s: &Server, path: &str, body: &Value) -> Value {
    let (status, v) = json_of(s.client().put(s.url(path)).bearer_auth(ADMIN).json(body).send().unwrap());
    assert_eq!(status, 200, "{path}: {v}");
    v
}

fn cookies_of(r: &Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next()?.split_once('=').map(|(_, v)| v.to_string()))
        .filter(|v| !v.is_empty())
        .collect()
}

/// The request lines the Worker printed so far.
fn request_lines(s: &Server) -> Vec<Value> {
    s.log()
        .lines()
        .filter_map(|l| l.find("{\"msg\":\"request\"").map(|i| &l[i..]))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn every_request_logs_one_line_and_no_secret_reaches_the_log() {
    // Health probes and well-known documents too (quiet by default, see the next test).
    let s = Server::start(&[
        ("ADMIN_API_TOKEN", ADMIN),
        ("SERVE_REQUEST_LOG_DISABLE_FOR_HEALTH", "false"),
        ("SERVE_REQUEST_LOG_DISABLE_FOR_DISCOVERY", "false"),
    ]);
    let mut secrets: Vec<(&str, String)> = vec![
        ("admin token", ADMIN.into()),
        ("wrong admin token", WRONG_ADMIN.into()),
        ("system secret", common::SYSTEM_SECRET.into()),
        ("client secret", CLIENT_SECRET.into()),
        ("wrong client secret", WRONG_SECRET.into()),
        ("PKCE verifier", PKCE_VERIFIER.into()),
    ];

    // A client with a known secret.
    let client_id = unique("logs");
    let (status, created) = json_of(
        s.client()
            .post(s.url("/admin/clients"))
            .bearer_auth(ADMIN)
            .json(&json!({
                "client_id": client_id, "client_secret": CLIENT_SECRET, "redirect_uris": [REDIRECT],
                "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
                "scope": "openid offline_access",
            }))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{created}");
    secrets.push(("registration access token", created["registration_access_token"].as_str().unwrap().into()));
    let r = s.client().get(s.url("/admin/clients")).bearer_auth(WRONG_ADMIN).send().unwrap();
    assert_eq!(r.status(), 401);

    // The flow: browser, login and consent through the admin API, code exchange.
    let browser = s.browser();
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid offline_access")
        .append_pair("state", "logs-e2e-state-0123456789")
        .append_pair("nonce", "logs-e2e-nonce-0123456789")
        .append_pair("code_challenge", &challenge_of(PKCE_VERIFIER))
        .append_pair("code_challenge_method", "S256");
    let r = browser.get(s.url(&format!("/oauth2/auth?{}", q.finish()))).send().unwrap();
    assert_eq!(r.status(), 302);
    let cookies = cookies_of(&r);
    let login = param(&location(&r), "login_challenge").unwrap();
    let to = admin_put(
        &s,
        &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={login}"),
        &json!({"subject": "logs-user", "remember": true}),
    )["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    secrets.push(("login verifier", param(&to, "login_verifier").unwrap()));
    let r = browser.get(&to).send().unwrap();
    assert_eq!(r.status(), 302);
    let cookies = [cookies, cookies_of(&r)].concat();
    let consent = param(&location(&r), "consent_challenge").unwrap();
    let to = admin_put(
        &s,
        &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={consent}"),
        &json!({"grant_scope": ["openid", "offline_access"], "remember": true}),
    )["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    secrets.push(("consent verifier", param(&to, "consent_verifier").unwrap()));
    let r = browser.get(&to).send().unwrap();
    assert_eq!(r.status(), 303);
    let cookies = [cookies, cookies_of(&r)].concat();
    assert!(!cookies.is_empty(), "the flow sets cookies");
    let code = param(&location(&r), "code").unwrap();
    secrets.push(("login challenge", login));
    secrets.push(("consent challenge", consent));
    for c in cookies {
        secrets.push(("cookie", c));
    }

    let exchange = |secret: &str| {
        json_of(
            s.client()
                .post(s.url("/oauth2/token"))
                .basic_auth(&client_id, Some(secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", PKCE_VERIFIER),
                ])
                .send()
                .unwrap(),
        )
    };
    let (status, _) = exchange(WRONG_SECRET);
    assert_eq!(status, 401);
    let (status, tokens) = exchange(CLIENT_SECRET);
    assert_eq!(status, 200, "{tokens}");
    let (status, _) = exchange(CLIENT_SECRET);
    assert_eq!(status, 400, "a replayed code fails");
    secrets.push(("code", code.clone()));
    for t in ["access_token", "refresh_token", "id_token"] {
        if let Some(v) = tokens[t].as_str() {
            secrets.push((t, v.to_string()));
        }
    }
    // The pieces of a JWT are secrets too (a signature alone must not leak either).
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    secrets.push(("id token signature", id_token.rsplit('.').next().unwrap().to_string()));

    // Wait for the token requests' lines (wrangler's output may lag a little).
    let deadline = Instant::now() + Duration::from_secs(20);
    let lines = loop {
        let lines = request_lines(&s);
        if lines.iter().filter(|l| l["route"] == "Token").count() >= 3 || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(200));
    };

    let token_lines: Vec<&Value> = lines.iter().filter(|l| l["route"] == "Token").collect();
    assert_eq!(token_lines.len(), 3, "one line per token request: {lines:#?}");
    let ok = token_lines.iter().find(|l| l["status"] == 200).expect("the successful exchange is logged");
    assert_eq!(ok["client_id"], client_id.as_str());
    assert_eq!(ok["grant_type"], "authorization_code");
    assert_eq!(ok["method"], "POST");
    assert_eq!(ok["admin"], false);
    assert!(ok["duration_ms"].is_u64(), "{ok}");
    assert!(ok.get("error").is_none(), "{ok}");
    let bad = token_lines.iter().find(|l| l["status"] == 401).expect("the failed authentication is logged");
    assert_eq!(bad["error"], "invalid_client");
    assert_eq!(bad["grant_type"], "authorization_code");
    assert!(bad.get("client_id").is_none(), "an unauthenticated client id is not logged: {bad}");
    let replay = token_lines.iter().find(|l| l["status"] == 400).expect("the replay is logged");
    assert_eq!(replay["error"], "invalid_grant");

    let denied = lines.iter().find(|l| l["status"] == 401 && l["route"] == "Clients").expect("admin 401 logged");
    assert_eq!(denied["admin"], true);
    let authorize: Vec<&Value> = lines.iter().filter(|l| l["route"] == "Authorize").collect();
    assert_eq!(authorize.len(), 3, "the authorization endpoint is visited three times: {lines:#?}");
    assert!(authorize.iter().all(|l| l["client_id"] == client_id.as_str()), "{authorize:#?}");
    for route in ["Clients", "LoginAccept", "ConsentAccept", "HealthAlive"] {
        assert!(lines.iter().any(|l| l["route"] == route), "no line for {route}: {lines:#?}");
    }

    let log = s.log();
    for (what, value) in &secrets {
        assert!(value.len() >= 8, "{what} is long enough to search for: {value}");
        assert!(!log.contains(value.as_str()), "the {what} reached the Worker's log");
    }
}

#[test]
fn successful_health_probes_and_well_known_documents_are_not_logged_by_default() {
    let s = Server::start(&[("ADMIN_API_TOKEN", ADMIN)]);
    for path in ["/health/alive", "/health/ready", "/.well-known/openid-configuration", "/.well-known/jwks.json"] {
        assert_eq!(s.client().get(s.url(path)).send().unwrap().status(), 200, "{path}");
    }
    // A failure is logged whatever the route; so is every other route.
    assert_eq!(s.client().post(s.url("/health/alive")).send().unwrap().status(), 405);
    s.client().get(s.url("/oauth2/auth")).send().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let lines = loop {
        let lines = request_lines(&s);
        if lines.iter().any(|l| l["route"] == "Authorize") || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(lines.iter().any(|l| l["route"] == "Authorize"), "other routes are logged: {lines:#?}");
    let quiet =
        |l: &&Value| ["HealthAlive", "HealthReady", "Discovery", "Jwks"].contains(&l["route"].as_str().unwrap_or(""));
    assert!(!lines.iter().any(|l| quiet(&l)), "{lines:#?}");
    assert!(lines.iter().any(|l| l["status"] == 405), "a failed probe is logged: {lines:#?}");
}

/// `LOG_LEVEL` as in Hydra: at `warn` and quieter, only server errors write a request line.
#[test]
fn log_level_warn_logs_server_errors_only() {
    let s = Server::start(&[("ADMIN_API_TOKEN", ADMIN), ("LOG_LEVEL", "warn")]);
    assert_eq!(s.client().get(s.url("/oauth2/fallbacks/error")).send().unwrap().status(), 200);
    assert_eq!(s.client().post(s.url("/oauth2/token")).form(&[("grant_type", "nope")]).send().unwrap().status(), 400);
    // A simulated storage outage (test routes): the admin API answers 503.
    let r = s
        .client()
        .get(s.url("/admin/clients"))
        .bearer_auth(ADMIN)
        .header("x-hydra-edge-test-storage", "down")
        .send()
        .unwrap();
    assert_eq!(r.status(), 503);
    let deadline = Instant::now() + Duration::from_secs(20);
    let lines = loop {
        let lines = request_lines(&s);
        if lines.iter().any(|l| l["status"] == 503) || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(lines.len(), 1, "only the server error is logged: {lines:#?}");
    assert_eq!(lines[0]["route"], "Clients");
}
