//! The token hook end to end, against a hook server this test starts: Hydra's payload (with the
//! configured API key), claims merged into access and ID tokens for every grant, 204 keeps the
//! claims, 403 is `access_denied`, any other answer or a timeout is `server_error`, and a
//! failed hook issues nothing.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::oauth::{accept_consent, accept_login, location, param, to_client, to_consent, to_login, Rp, VERIFIER};
use common::tokens::*;
use common::Server;
use serde_json::{json, Value};

/// Requests the hook received: (auth header value, JSON body).
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// A hook that answers by the client id's prefix: `deny` 403, `fail` 500, `slow` too late,
/// `keep` 204, anything else 200 with new session claims.
fn hook_server() -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let record = record.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head, body) = loop {
                    let n = stream.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_string();
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        while buf.len() < i + 4 + len {
                            let n = stream.read(&mut chunk).unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            buf.extend_from_slice(&chunk[..n]);
                        }
                        break (head, buf[i + 4..].to_vec());
                    }
                };
                let key = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().starts_with("x-hook-key:").then(|| l[11..].trim().to_string()))
                    .unwrap_or_default();
                let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let client = payload["request"]["client_id"].as_str().unwrap_or("").to_string();
                record.lock().unwrap().push((key, payload));
                let (status, answer) = if client.starts_with("deny") {
                    ("403 Forbidden", String::new())
                } else if client.starts_with("fail") {
                    ("500 Internal Server Error", String::new())
                } else if client.starts_with("slow") {
                    std::thread::sleep(Duration::from_secs(4));
                    ("204 No Content", String::new())
                } else if client.starts_with("keep") {
                    ("204 No Content", String::new())
                } else {
                    (
                        "200 OK",
                        json!({"session": {"access_token": {"hooked": true}, "id_token": {"hooked_id": "yes"}}})
                            .to_string(),
                    )
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            });
        }
    });
    (port, seen)
}

#[test]
fn the_hook_shapes_tokens_and_can_stop_them() {
    let (port, seen) = hook_server();
    let url = format!("http://127.0.0.1:{port}/token-hook");
    let s = Server::start(&[
        ("OAUTH2_TOKEN_HOOK_URL", url.as_str()),
        ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_NAME", "X-Hook-Key"),
        ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE", "s3cret"),
        ("OAUTH2_TOKEN_HOOK_TIMEOUT", "1s"),
    ]);
    let last =
        |client: &str| seen.lock().unwrap().iter().rev().find(|(_, p)| p["request"]["client_id"] == client).cloned();

    // client_credentials: claims merged into the JWT access token.
    let (id, secret) = machine_client(&s, json!({"client_id": common::unique("ok"), "access_token_strategy": "jwt"}));
    let (status, body, _) = token_request(&s, &id, &secret, &[("grant_type", "client_credentials"), ("scope", "read")]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(decode_part(body["access_token"].as_str().unwrap(), 1)["ext"], json!({"hooked": true}));
    assert_eq!(introspect(&s, body["access_token"].as_str().unwrap(), None)["ext"], json!({"hooked": true}));
    let (key, payload) = last(&id).expect("the hook was called");
    assert_eq!(key, "s3cret", "the configured API key header");
    assert_eq!(payload["request"]["grant_types"], json!(["client_credentials"]));
    assert_eq!(payload["request"]["granted_scopes"], json!(["read"]));
    assert_eq!(payload["request"]["payload"], json!({}), "no request parameters (no secrets) are passed on");
    assert_eq!(payload["session"]["client_id"], id.as_str());
    assert!(payload["session"]["id_token"]["expires_at"]["access_token"].is_string());

    // Code and refresh grants: ID token claims and access-token ext from the hook.
    let rp = Rp::register(&s, json!({"client_id": common::unique("ok-rp")}));
    let t = tokens_via_flow(&rp, "yuri", "openid offline_access");
    assert_eq!(decode_part(t["id_token"].as_str().unwrap(), 1)["hooked_id"], "yes");
    assert_eq!(introspect(&s, t["access_token"].as_str().unwrap(), None)["ext"], json!({"hooked": true}));
    let (_, payload) = last(&rp.id).unwrap();
    assert_eq!(payload["session"]["extra"], json!({"tier": "gold"}), "the consent's claims, before the hook");
    assert_eq!(payload["session"]["id_token"]["id_token_claims"]["ext"]["email"], "yuri@example.com");
    let (status, r) = refresh(&rp, t["refresh_token"].as_str().unwrap(), &[]);
    assert_eq!(status, 200, "{r}");
    let (_, refreshed) = last(&rp.id).unwrap();
    assert_eq!(refreshed["request"]["grant_types"], json!(["refresh_token"]));
    // What the authorization request asked for, at the exchange and at every refresh (fosite
    // tells Hydra's hook the original request's scopes): here more than was granted, and a
    // refresh that narrows with its own `scope` changes nothing of it.
    let browser = s.browser();
    let login = to_login(&browser, &rp.auth_url(&[("scope", "openid offline_access profile")]));
    let consent = to_consent(&browser, &accept_login(&s, &login, &json!({"subject": "zoe"})));
    let granted = json!({"grant_scope": ["openid", "offline_access"]});
    let to = location(&to_client(&browser, &accept_consent(&s, &consent, &granted)));
    let (status, t2, _) = rp.exchange(&param(&to, "code").unwrap(), VERIFIER);
    assert_eq!(status, 200, "{t2}");
    let asked = json!(["openid", "offline_access", "profile"]);
    assert_eq!(last(&rp.id).unwrap().1["request"]["requested_scopes"], asked);
    assert_eq!(last(&rp.id).unwrap().1["request"]["granted_scopes"], json!(["openid", "offline_access"]));
    let (status, r) = refresh(&rp, t2["refresh_token"].as_str().unwrap(), &[("scope", "openid")]);
    assert_eq!(status, 200, "{r}");
    assert_eq!(last(&rp.id).unwrap().1["request"]["requested_scopes"], asked);

    // 204 keeps the claims.
    let (keep, keep_secret) =
        machine_client(&s, json!({"client_id": common::unique("keep"), "access_token_strategy": "jwt"}));
    let (status, body, _) = token_request(&s, &keep, &keep_secret, &[("grant_type", "client_credentials")]);
    assert_eq!(status, 200);
    assert_eq!(decode_part(body["access_token"].as_str().unwrap(), 1)["ext"], json!({}), "{body}");

    // 403, 500 and a timeout: nothing is issued.
    for (prefix, status, error) in
        [("deny", 403, "access_denied"), ("fail", 500, "server_error"), ("slow", 500, "server_error")]
    {
        let (id, secret) = machine_client(&s, json!({"client_id": common::unique(prefix)}));
        let started = Instant::now();
        let (st, body, _) = token_request(&s, &id, &secret, &[("grant_type", "client_credentials")]);
        assert_eq!((st, body["error"].as_str()), (status, Some(error)), "{prefix}: {body}");
        assert!(body.get("access_token").is_none());
        assert!(started.elapsed() < Duration::from_secs(4), "{prefix}: the timeout applies");
        let rows = s.d1(&format!("SELECT COUNT(*) AS n FROM tokens WHERE client_id = '{id}'"));
        assert_eq!(rows[0]["n"], 0, "{prefix}: nothing stored");
    }
    // A failing hook at the code exchange leaves the code unredeemed.
    let denied = Rp::register(&s, json!({"client_id": common::unique("deny-rp")}));
    let r = common::oauth::run_flow(&denied, &s.browser(), &denied.auth_url(&[]), "zed");
    let code = common::oauth::param(&common::oauth::location(&r), "code").unwrap();
    let (status, body, _) = denied.exchange(&code, common::oauth::VERIFIER);
    assert_eq!((status, body["error"].as_str()), (403, Some("access_denied")), "{body}");
    let rows = s.d1(&format!(
        "SELECT COUNT(*) AS n FROM authorization_codes WHERE client_id = '{}' AND used_at IS NULL",
        denied.id
    ));
    assert_eq!(rows[0]["n"], 1, "the code was not redeemed");
}
