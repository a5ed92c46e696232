//! The `hydra-edge` CLI's OAuth 2.0 commands end to end against the Worker: `perform
//! authorization-code` (the CLI's callback server, a browser, the login and consent app),
//! `perform client-credentials`, `introspect token`, `revoke token`, `delete access-tokens` and
//! `list|delete consent-sessions`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::cli::{admin, bin, run, run_raw, run_stdin, server, Out, TOKEN};
use common::oauth::{location, param};
use common::{unique, Server};
use reqwest::Method;
use serde_json::{json, Value};

/// A confidential client registered through the CLI; answers (id, secret).
fn create_client(s: &Server, extra: &[&str]) -> (String, String) {
    let id = unique("cli-rp");
    let mut args = vec!["create", "oauth2-client", "--id", id.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    let c = run(s, &args).ok().json();
    (id, c["client_secret"].as_str().unwrap_or("").to_string())
}

/// `perform authorization-code` running in the background, with the URL it printed.
struct Performing {
    child: Child,
    url: String,
    stderr: mpsc::Receiver<String>,
}

impl Performing {
    fn start(s: &Server, args: &[&str]) -> Performing {
        let mut all = vec!["--endpoint", s.base.as_str(), "perform", "authorization-code", "--no-open"];
        all.extend_from_slice(args);
        let mut child = Command::new(bin())
            .args(&all)
            .env("HYDRA_EDGE_ADMIN_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.trim().starts_with("http") && line.contains("/oauth2/auth?") => {
                    return Performing { child, url: line.trim().to_string(), stderr: rx };
                }
                Ok(line) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("the CLI printed no authorization URL: {seen:#?}");
                }
            }
        }
    }

    /// Wait for the CLI to end (it ends after one flow); answers its output.
    fn finish(mut self) -> Out {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the CLI did not end after the callback");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = self.child.wait_with_output().unwrap();
        // The reader thread forwards the last lines after the process ended: read until it hangs
        // up at end of file (bounded, in case something else holds the pipe open).
        let mut stderr = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            stderr.push(line);
        }
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: stderr.join("\n"),
        }
    }
}

/// The browser and the login & consent app: log in as `subject` and grant what is asked, or
/// reject the login. Answers the final response of the authorization server (to the client).
fn browse(s: &Server, url: &str, subject: &str, accept: bool) -> reqwest::blocking::Response {
    let browser = s.browser();
    let r = browser.get(url).send().unwrap();
    assert_eq!(r.status(), 302, "to the login app");
    let login = param(&location(&r), "login_challenge").unwrap();
    let path = |what: &str, action: &str, challenge: &str| {
        format!("/admin/oauth2/auth/requests/{what}/{action}?{what}_challenge={challenge}")
    };
    if !accept {
        let (status, v) =
            admin(s, Method::PUT, &path("login", "reject", &login), Some(&json!({"error": "access_denied"})));
        assert_eq!(status, 200, "{v}");
        return browser.get(v["redirect_to"].as_str().unwrap()).send().unwrap();
    }
    let (status, v) =
        admin(s, Method::PUT, &path("login", "accept", &login), Some(&json!({"subject": subject, "remember": true})));
    assert_eq!(status, 200, "{v}");
    let r = browser.get(v["redirect_to"].as_str().unwrap()).send().unwrap();
    assert_eq!(r.status(), 302, "to the consent app");
    let consent = param(&location(&r), "consent_challenge").unwrap();
    let (_, req) =
        admin(s, Method::GET, &format!("/admin/oauth2/auth/requests/consent?consent_challenge={consent}"), None);
    let grant = json!({"grant_scope": req["requested_scope"], "grant_access_token_audience": req["requested_access_token_audience"], "remember": true});
    let (status, v) = admin(s, Method::PUT, &path("consent", "accept", &consent), Some(&grant));
    assert_eq!(status, 200, "{v}");
    browser.get(v["redirect_to"].as_str().unwrap()).send().unwrap()
}

/// A full authorization code flow through the CLI; answers the tokens it printed.
fn tokens_through_the_cli(s: &Server, subject: &str) -> (String, String, Value) {
    let port = common::free_port();
    let callback = format!("http://127.0.0.1:{port}/callback");
    let (id, secret) = create_client(
        s,
        &["--grant-type", "authorization_code,refresh_token", "--scope", "openid,offline", "--redirect-uri", &callback],
    );
    let p = Performing::start(
        s,
        &["--client-id", &id, "--client-secret", &secret, "--port", &port.to_string(), "--format", "json"],
    );
    let r = browse(s, &p.url, subject, true);
    assert_eq!(r.status(), 303);
    let back = location(&r);
    assert!(back.starts_with(&callback), "{back}");
    let page = s.client().get(&back).send().unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("access_token"));
    let out = p.finish().ok();
    (id, secret, out.json())
}

#[test]
fn perform_authorization_code_runs_a_flow_and_shows_the_tokens() {
    let s = server();
    let (id, _, tokens) = tokens_through_the_cli(s, "cli-user");
    let at = tokens["access_token"].as_str().unwrap();
    assert!(at.starts_with("ory_at_"), "{tokens}");
    assert!(tokens["refresh_token"].as_str().is_some_and(|r| r.starts_with("ory_rt_")), "offline scope: {tokens}");
    assert!(tokens["expiry"].as_str().is_some_and(|e| e.ends_with('Z')), "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id_token.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], json!([id]));
    assert_eq!(claims["sub"], "cli-user");
    assert!(claims["nonce"].as_str().is_some_and(|n| n.len() >= 20), "the CLI sends a nonce: {claims}");
}

#[test]
fn perform_authorization_code_with_form_post_and_a_public_client() {
    let s = server();
    let port = common::free_port();
    let callback = format!("http://127.0.0.1:{port}/callback");
    let (id, _) =
        create_client(s, &["--scope", "openid", "--redirect-uri", &callback, "--token-endpoint-auth-method", "none"]);
    let p = Performing::start(
        s,
        &["--client-id", &id, "--port", &port.to_string(), "--scope", "openid", "--response-mode", "form_post", "-q"],
    );
    let r = browse(s, &p.url, "cli-user", true);
    assert_eq!(r.status(), 200, "form_post answers with a self-posting form");
    let html = r.text().unwrap();
    let fields: Vec<(String, String)> = html
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|f| {
            let (name, rest) = f.split_once("\" value=\"")?;
            Some((name.to_string(), rest.split('"').next()?.replace("&amp;", "&")))
        })
        .collect();
    assert!(fields.iter().any(|(k, _)| k == "code"), "{html}");
    let page = s.client().post(&callback).form(&fields).send().unwrap();
    assert_eq!(page.status(), 200);
    let out = p.finish().ok();
    assert!(out.stdout.trim().starts_with("ory_at_"), "quiet prints the access token: {out:#?}");
}

#[test]
fn a_rejected_login_ends_perform_authorization_code_with_the_error() {
    let s = server();
    let port = common::free_port();
    let callback = format!("http://127.0.0.1:{port}/callback");
    let (id, secret) = create_client(s, &["--scope", "openid", "--redirect-uri", &callback]);
    let p = Performing::start(
        s,
        &["--client-id", &id, "--client-secret", &secret, "--port", &port.to_string(), "--scope", "openid"],
    );
    let r = browse(s, &p.url, "cli-user", false);
    assert_eq!(r.status(), 303);
    let page = s.client().get(location(&r)).send().unwrap();
    assert_eq!(page.status(), 400);
    let out = p.finish();
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("access_denied"), "{out:#?}");
    assert!(out.stdout.is_empty(), "{out:#?}");
}

#[test]
fn perform_authorization_code_refuses_a_callback_with_a_foreign_state() {
    let s = server();
    let port = common::free_port();
    let (id, secret) = create_client(s, &["--redirect-uri", &format!("http://127.0.0.1:{port}/callback")]);
    let p = Performing::start(s, &["--client-id", &id, "--client-secret", &secret, "--port", &port.to_string()]);
    // An attacker's callback (CSRF): its state is not the flow's, so no code is exchanged.
    let forged = s.client().get(format!("http://127.0.0.1:{port}/callback?code=stolen&state=forged")).send().unwrap();
    assert_eq!(forged.status(), 400);
    let out = p.finish();
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("state"), "{out:#?}");
}

#[test]
fn perform_commands_need_a_client() {
    let s = server();
    let out = run(s, &["perform", "authorization-code", "--no-open"]);
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(out.stderr.contains("--client-id"), "{out:#?}");
    let out = run(s, &["perform", "client-credentials", "--client-id", "x"]);
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(out.stderr.contains("--client-secret"), "{out:#?}");
    let out = run(s, &["revoke", "token", "t"]);
    assert_eq!(out.code, 2, "{out:#?}");
}

#[test]
fn client_credentials_introspection_revocation_and_token_deletion() {
    let s = server();
    let (id, secret) = create_client(
        s,
        &[
            "--grant-type",
            "client_credentials",
            "--response-type",
            "token",
            "--scope",
            "read,write",
            "--audience",
            "https://api.example",
        ],
    );
    // perform client-credentials, with the credentials from Hydra's environment variables.
    let base = s.base.as_str();
    let out = run_raw(
        &[
            "--endpoint",
            base,
            "perform",
            "client-credentials",
            "--scope",
            "read",
            "--audience",
            "https://api.example",
            "--format",
            "json",
        ],
        &[("OAUTH2_CLIENT_ID", &id), ("OAUTH2_CLIENT_SECRET", &secret)],
        None,
    )
    .ok();
    let t = out.json();
    let at = t["access_token"].as_str().unwrap().to_string();
    assert!(t["expiry"].is_string(), "{t}");
    let wrong = run(s, &["perform", "client-credentials", "--client-id", &id, "--client-secret", "wrong-secret"]);
    assert_eq!(wrong.code, 4, "{wrong:#?}");
    assert!(!wrong.stderr.contains("wrong-secret"));

    // introspect token: active, with client, scope and expiry; --scope checks scopes.
    let i = run(s, &["introspect", "token", &at, "--format", "json"]).ok().json();
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], id.as_str());
    assert_eq!(i["scope"], "read");
    assert_eq!(i["token_use"], "access_token");
    let table = run(s, &["introspect", "token", &at]).ok().stdout;
    assert!(table.starts_with("ACTIVE") && table.contains("true"), "{table}");
    let i = run_stdin(s, &["introspect", "token", "-", "--scope", "write", "--format", "json"], &at).ok().json();
    assert_eq!(i["active"], false, "a scope that was not granted: {i}");

    // revoke token: then inactive.
    let out =
        run(s, &["revoke", "token", &at, "--client-id", &id, "--client-secret", &secret, "--format", "json"]).ok();
    assert_eq!(out.json(), json!({"revoked": true}));
    assert!(!out.stdout.contains(&at), "the token is not printed back");
    let i = run(s, &["introspect", "token", &at, "--format", "json"]).ok().json();
    assert_eq!(i["active"], false, "{i}");

    // delete access-tokens: every access token of the client.
    let at2 =
        run(s, &["perform", "client-credentials", "--client-id", &id, "--client-secret", &secret, "-q"]).ok().stdout;
    let at2 = at2.trim();
    assert_eq!(run(s, &["introspect", "token", at2, "--format", "json"]).ok().json()["active"], true);
    assert_eq!(run(s, &["delete", "access-tokens", &id, "-q"]).ok().stdout.trim(), id);
    assert_eq!(run(s, &["introspect", "token", at2, "--format", "json"]).ok().json()["active"], false);
}

#[test]
fn tokens_from_perform_authorization_code_can_be_introspected_and_revoked() {
    let s = server();
    let (id, secret, tokens) = tokens_through_the_cli(s, "cli-revoke-user");
    let rt = tokens["refresh_token"].as_str().unwrap();
    let i = run(s, &["introspect", "token", rt, "--format", "json"]).ok().json();
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["token_use"], "refresh_token");
    assert_eq!(i["sub"], "cli-revoke-user");
    run_stdin(s, &["revoke", "token", "-", "--client-id", &id, "--client-secret", &secret], rt).ok();
    assert_eq!(run(s, &["introspect", "token", rt, "--format", "json"]).ok().json()["active"], false);
}

#[test]
fn consent_sessions_are_listed_and_revoked() {
    let s = server();
    let subject = unique("cli-subject");
    let (id, _, _) = tokens_through_the_cli(s, &subject);
    let (other, _, _) = tokens_through_the_cli(s, &subject);

    let list = run(s, &["list", "consent-sessions", &subject, "--format", "json"]).ok().json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    let clients: Vec<&str> =
        items.iter().map(|c| c["consent_request"]["client"]["client_id"].as_str().unwrap()).collect();
    assert!(clients.contains(&id.as_str()) && clients.contains(&other.as_str()), "{list}");
    let table = run(s, &["list", "consent-sessions", &subject]).ok().stdout;
    assert!(table.starts_with("CONSENT REQUEST ID") && table.contains(&id), "{table}");

    // One client's sessions, then all; bad combinations never reach the server.
    assert_eq!(run(s, &["delete", "consent-sessions", &subject]).code, 2);
    assert_eq!(run(s, &["delete", "consent-sessions", &subject, "--client", &id, "--all"]).code, 2);
    run(s, &["delete", "consent-sessions", &subject, "--client", &id]).ok();
    let list = run(s, &["list", "consent-sessions", &subject, "--format", "json"]).ok().json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    run(s, &["delete", "consent-sessions", &subject, "--all"]).ok();
    let list = run(s, &["list", "consent-sessions", &subject, "--format", "json"]).ok().json();
    assert_eq!(list["items"], json!([]), "{list}");
}
