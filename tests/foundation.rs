//! End-to-end tests of the foundation: health, version, discovery, JWKS and its race-free key
//! bootstrap, routing errors, admin authentication, body limits, panics, configuration errors.

mod common;

use std::sync::{Arc, Barrier};

use common::{assert_admin_error, json_of, shared, Server, ADMIN_TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

#[test]
fn health_and_version() {
    let s = shared();
    let (status, body) = json_of(s.client().get(s.url("/health/alive")).send().unwrap());
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, body) = json_of(s.client().get(s.url("/health/ready")).send().unwrap());
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    for path in ["/admin/health/alive", "/admin/health/ready"] {
        assert_eq!(s.admin_get(path), (200, json!({"status": "ok"})), "{path}");
    }
    for path in ["/admin/version", "/version"] {
        let (status, body) = s.admin_get(path);
        assert_eq!(status, 200);
        assert_eq!(body["version"], format!("v{}", env!("CARGO_PKG_VERSION")));
    }
    let r = s.client().head(s.url("/health/alive")).send().unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn discovery_documents_follow_the_port() {
    let s = shared();
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let r = s.client().get(s.url(path)).send().unwrap();
        assert_eq!(r.status(), 200);
        let (_, doc) = json_of(r);
        assert_eq!(doc["issuer"], s.base, "{path}");
        assert_eq!(doc["authorization_endpoint"], s.url("/oauth2/auth"));
        assert_eq!(doc["token_endpoint"], s.url("/oauth2/token"));
        assert_eq!(doc["jwks_uri"], s.url("/.well-known/jwks.json"));
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["ES256", "RS256"]));
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert!(doc["response_types_supported"].as_array().unwrap().contains(&json!("code")));
        assert_eq!(doc["subject_types_supported"], json!(["public"]));
        assert!(doc.get("registration_endpoint").is_none(), "registration is off by default");
    }
}

#[test]
fn jwks_publishes_public_es256_keys_only() {
    let s = shared();
    let (status, doc) = json_of(s.client().get(s.url("/.well-known/jwks.json")).send().unwrap());
    assert_eq!(status, 200);
    let keys = doc["keys"].as_array().unwrap();
    assert!(keys.len() >= 3, "{doc}");
    for k in keys {
        for member in ["kid", "alg", "use", "kty"] {
            assert!(k[member].is_string(), "{member} missing in {k}");
        }
        assert_eq!(k["use"], "sig");
        match k["alg"].as_str().unwrap() {
            "ES256" => {
                assert_eq!((k["kty"].as_str(), k["crv"].as_str()), (Some("EC"), Some("P-256")));
                assert!(k["x"].is_string() && k["y"].is_string());
            }
            // The ID-token set's RS256 key (OpenID Connect Core §15.1).
            "RS256" => assert!(k["kty"] == "RSA" && k["n"].is_string() && k["e"].is_string(), "{k}"),
            other => panic!("unexpected algorithm {other}"),
        }
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(k.get(private).is_none(), "private member {private} published");
        }
    }
    // The admin API shows the same keys with their private part.
    let (status, set) = s.admin_get("/admin/keys/hydra.openid.id-token");
    assert_eq!(status, 200);
    let private = &set["keys"][0];
    assert!(private["d"].is_string());
    assert!(keys.iter().any(|k| k["kid"] == private["kid"]));
}

#[test]
fn first_use_creates_exactly_one_key_per_set_under_concurrency() {
    let s = Server::start(&[]);
    let n = 16;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let b = barrier.clone();
            let url =
                if i % 2 == 0 { s.url("/.well-known/jwks.json") } else { s.url("/.well-known/openid-configuration") };
            let client = s.client();
            std::thread::spawn(move || {
                b.wait();
                let r = client.get(url).send().unwrap();
                (r.status().as_u16(), r.text().unwrap())
            })
        })
        .collect();
    let results: Vec<(u16, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
    }
    let rows = s.d1("SELECT set_id, COUNT(*) AS n FROM jwk GROUP BY set_id ORDER BY set_id");
    assert_eq!(
        rows,
        vec![json!({"set_id": "hydra.jwt.access-token", "n": 1}), json!({"set_id": "hydra.openid.id-token", "n": 2})],
        "{}",
        s.log()
    );
    // Every JWKS answer names the same three keys (ES256 for each set, RS256 for ID tokens).
    let kid_sets: Vec<Vec<String>> = results
        .iter()
        .filter_map(|(_, body)| serde_json::from_str::<Value>(body).ok())
        .filter(|v| v.get("keys").is_some())
        .map(|v| {
            let mut kids: Vec<String> =
                v["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect();
            kids.sort();
            kids
        })
        .collect();
    assert!(!kid_sets.is_empty());
    assert!(kid_sets.iter().all(|k| k == &kid_sets[0] && k.len() == 3), "{kid_sets:?}");
}

#[test]
fn unknown_routes_and_wrong_methods() {
    let s = shared();
    for path in ["/nope", "/oauth2/nothing", "/admin/nope"] {
        let r = s.client().get(s.url(path)).bearer_auth(ADMIN_TOKEN).send().unwrap();
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        let (status, body) = json_of(r);
        assert_eq!(status, 404, "{path}");
        assert_admin_error(&body, 404);
        assert_eq!(body["message"], "Unable to locate the resource");
    }
    let r = s.client().delete(s.url("/health/alive")).send().unwrap();
    assert_eq!(r.headers()["allow"], "GET");
    let (status, body) = json_of(r);
    assert_eq!(status, 405);
    assert_admin_error(&body, 405);
    // On an OAuth endpoint the 405 is in OAuth's shape, with a registered error code.
    for path in ["/oauth2/token", "/oauth2/revoke"] {
        let r = s.client().get(s.url(path)).send().unwrap();
        assert_eq!(r.headers()["allow"], "POST", "{path}");
        let (status, body) = json_of(r);
        assert_eq!(
            (status, body["error"].as_str(), body["status_code"].as_u64()),
            (405, Some("invalid_request"), Some(405)),
            "{body}"
        );
        assert!(body["error_description"].as_str().unwrap().contains("POST"), "{body}");
    }
}

#[test]
fn admin_routes_need_the_token() {
    let s = shared();
    for path in ["/admin/version", "/admin/health/alive", "/admin/keys/hydra.openid.id-token", "/clients"] {
        let r = s.client().get(s.url(path)).send().unwrap();
        assert!(r.headers().contains_key("www-authenticate"));
        let (status, body) = json_of(r);
        assert_eq!(status, 401, "{path} without token");
        assert_admin_error(&body, 401);
        let (status, _) = json_of(s.client().get(s.url(path)).bearer_auth("wrong-token").send().unwrap());
        assert_eq!(status, 401, "{path} with a wrong token");
        let (status, _) = json_of(s.client().get(s.url(path)).header("authorization", "Basic YTpi").send().unwrap());
        assert_eq!(status, 401, "{path} with basic auth");
    }
    // Private keys are never reachable without the token.
    let body = s.client().get(s.url("/admin/keys/hydra.openid.id-token")).send().unwrap().text().unwrap();
    assert!(!body.contains("\"d\""));
    // Nor is the map of the admin API: an unknown admin path or a wrong method answers 401 until
    // the caller is authenticated, then 404 or 405.
    for (method, path, known) in [
        (Method::GET, "/admin/no-such-route", 404),
        (Method::DELETE, "/admin/version", 405),
        (Method::PATCH, "/admin/clients", 405),
        (Method::DELETE, "/clients", 405),
    ] {
        let r = s.client().request(method.clone(), s.url(path)).send().unwrap();
        assert!(r.headers().contains_key("www-authenticate"), "{method} {path}");
        assert_eq!(r.status(), 401, "{method} {path} without token");
        let r = s.client().request(method.clone(), s.url(path)).bearer_auth(ADMIN_TOKEN).send().unwrap();
        assert_eq!(r.status(), known, "{method} {path} with the token");
    }
    // Spellings of an admin path that the router folds onto it need the token as much.
    for (method, path) in [
        (Method::HEAD, "/admin/clients"),
        (Method::GET, "/admin/clients/"),
        (Method::GET, "/admin//clients"),
        (Method::GET, "/admin/%63lients"),
        (Method::GET, "/ADMIN/clients"),
        (Method::OPTIONS, "/admin/clients"),
    ] {
        let r = s.client().request(method.clone(), s.url(path)).send().unwrap();
        let status = r.status().as_u16();
        assert!(status == 401 || status == 404, "{method} {path} without token: {status}");
        let body = r.text().unwrap();
        assert!(!body.contains("client_id"), "{method} {path} leaked: {body}");
    }
}

#[test]
fn admin_api_is_closed_without_a_configured_token() {
    let s = Server::start(&[("ADMIN_API_TOKEN", "")]);
    for token in ["", "local-admin-token", ADMIN_TOKEN] {
        let (status, body) = json_of(s.client().get(s.url("/admin/version")).bearer_auth(token).send().unwrap());
        assert_eq!(status, 401, "token {token:?}: {body}");
        assert!(body["reason"].as_str().unwrap().contains("ADMIN_API_TOKEN"), "{body}");
    }
    // The public side keeps working.
    assert_eq!(s.client().get(s.url("/.well-known/jwks.json")).send().unwrap().status(), 200);
}

#[test]
fn oversized_bodies_are_refused_before_parsing() {
    let s = shared();
    let big = vec![b'a'; (1 << 20) + 1];
    let (status, body) = json_of(s.admin(Method::POST, "/admin/keys/big").body(big.clone()).send().unwrap());
    assert_eq!(status, 413);
    assert_admin_error(&body, 413);
    // Without Content-Length (chunked) the limit still holds.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..17).map(|_| Ok(vec![b'a'; 65536])).collect();
    let stream = reqwest::blocking::Body::new(ChunkReader::new(chunks));
    let (status, _) = json_of(s.admin(Method::POST, "/admin/keys/big").body(stream).send().unwrap());
    assert_eq!(status, 413);
    // Nothing was stored, and the server answers the next request at once.
    assert_eq!(s.admin_get("/admin/keys/big").0, 404);
    // An OAuth endpoint says so with a registered error code.
    let (status, body) = json_of(s.client().post(s.url("/oauth2/token")).body(big).send().unwrap());
    assert_eq!((status, body["error"].as_str()), (413, Some("invalid_request")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("1048576 bytes"), "{body}");
}

/// In workerd without the dev proxy (miniflare serving the deployable bundle), an oversized
/// upload gets its 413 while 30 concurrent requests are answered normally.
#[test]
fn oversized_uploads_do_not_disturb_concurrent_requests_in_workerd() {
    common::ensure_built();
    let bundle = common::root().join("target/e2e-bundle");
    let out = std::process::Command::new("node")
        .arg(common::root().join("node_modules/wrangler/bin/wrangler.js"))
        // A bundle, not a deployment: the deploy guard wants a public issuer all the same.
        .args([
            "deploy",
            "--dry-run",
            "--outdir",
            bundle.to_str().unwrap(),
            "--var",
            "URLS_SELF_ISSUER:https://bundle.invalid",
        ])
        .current_dir(common::root())
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    assert!(out.status.success(), "bundling failed: {}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new("node")
        .arg("tests/miniflare/body_limit.mjs")
        .arg(&bundle)
        .current_dir(common::root())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
}

#[test]
fn malformed_json_gets_a_400_that_names_the_problem() {
    let s = shared();
    let (status, body) = json_of(s.admin(Method::POST, "/admin/keys/bad").body("{\"alg\": ").send().unwrap());
    assert_eq!(status, 400);
    assert_admin_error(&body, 400);
    assert!(body["reason"].as_str().unwrap().contains("not valid JSON"), "{body}");
    let (status, body) = json_of(s.admin(Method::POST, "/admin/keys/bad").body("").send().unwrap());
    assert_eq!(status, 400);
    assert!(body["reason"].as_str().unwrap().contains("empty"), "{body}");
    let (status, body) = s.admin_json(Method::POST, "/admin/keys/bad", &json!({"alg": 256}));
    assert_eq!(status, 400, "{body}");
    assert_eq!(s.admin_get("/admin/keys/bad").0, 404);
}

#[test]
fn a_panic_becomes_a_500_json_and_the_next_request_works() {
    // Its own server: a panic aborts the wasm instance, and every request in flight in that
    // isolate gets the 500 too (the other tests share a server).
    let s = &Server::start(&[]);
    // A discovery document the shell replays from memory (src/worker/replay.mjs) ...
    let replayed = (0..4).any(|_| {
        let r = s.client().get(s.url("/.well-known/openid-configuration")).send().unwrap();
        common::oauth::storage_ops(&r).ends_with("replayed=1")
    });
    assert!(replayed, "discovery is replayed before the panic");
    let r = s.admin(Method::GET, "/admin/_test/panic").send().unwrap();
    assert_eq!(r.status(), 500);
    // ... is dropped with the wasm instance: the next one runs in the new instance.
    let after = s.client().get(s.url("/.well-known/openid-configuration")).send().unwrap();
    assert_eq!(after.status(), 200);
    assert!(!common::oauth::storage_ops(&after).contains("replayed"), "{}", common::oauth::storage_ops(&after));
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let (_, body) = json_of(r);
    assert_eq!(body["error"], "server_error");
    assert_eq!(s.client().get(s.url("/health/ready")).send().unwrap().status(), 200);
    assert_eq!(s.admin_get("/admin/version").0, 200);
}

#[test]
fn invalid_configuration_is_reported_by_name() {
    let s = Server::start(&[("TTL_ACCESS_TOKEN", "forever"), ("STRATEGIES_ACCESS_TOKEN", "magic")]);
    assert_eq!(s.client().get(s.url("/health/alive")).send().unwrap().status(), 200);
    let (status, body) = json_of(s.client().get(s.url("/.well-known/openid-configuration")).send().unwrap());
    assert_eq!(status, 500);
    let text = body.to_string();
    assert!(text.contains("TTL_ACCESS_TOKEN") && text.contains("STRATEGIES_ACCESS_TOKEN"), "{text}");
}

/// A reader over chunks, so reqwest sends the body without Content-Length.
struct ChunkReader {
    chunks: std::vec::IntoIter<Result<Vec<u8>, std::io::Error>>,
    current: Vec<u8>,
}

impl ChunkReader {
    fn new(chunks: Vec<Result<Vec<u8>, std::io::Error>>) -> Self {
        ChunkReader { chunks: chunks.into_iter(), current: Vec::new() }
    }
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.current.is_empty() {
            match self.chunks.next() {
                Some(Ok(c)) => self.current = c,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.drain(..n);
        Ok(n)
    }
}
