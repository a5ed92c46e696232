//! The `hydra-edge` CLI end to end against the Worker: OAuth 2.0 clients (create, get, list,
//! update, delete, import of Hydra's JSON exports), JSON Web Keys, output formats, and the
//! errors an operator meets (unreachable endpoint, bad token, server failures), with their exit
//! codes.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::cli::{run, run_raw, run_stdin, server, TOKEN};
use common::unique;
use serde_json::json;

#[test]
fn create_get_update_list_and_delete_clients_with_hydras_flags() {
    let s = server();
    let id = unique("cli");
    let out = run(
        s,
        &[
            "create",
            "oauth2-client",
            "--id",
            &id,
            "--name",
            "CLI app",
            "--grant-type",
            "authorization_code,refresh_token",
            "--response-type",
            "code",
            "--scope",
            "openid,offline_access",
            "--scope",
            "profile",
            "--redirect-uri",
            "http://127.0.0.1:5555/callback",
            "--audience",
            "https://api.example",
            "--token-endpoint-auth-method",
            "client_secret_post",
            "--owner",
            "ops",
            "--metadata",
            r#"{"tier":"gold"}"#,
            "--skip-consent",
            "--format",
            "json",
        ],
    )
    .ok();
    let c = out.json();
    assert_eq!(c["client_id"], id.as_str());
    assert_eq!(c["client_name"], "CLI app");
    assert_eq!(c["grant_types"], json!(["authorization_code", "refresh_token"]));
    assert_eq!(c["scope"], "openid offline_access profile");
    assert_eq!(c["redirect_uris"], json!(["http://127.0.0.1:5555/callback"]));
    assert_eq!(c["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(c["metadata"], json!({"tier": "gold"}));
    assert_eq!(c["skip_consent"], true);
    assert!(c["client_secret"].as_str().is_some_and(|s| s.len() >= 6), "the generated secret is shown: {c}");

    // The default table: one client as FIELD value lines, the secret not shown by GET.
    let table = run(s, &["get", "oauth2-client", &id]).ok().stdout;
    assert!(table.lines().any(|l| l.starts_with("CLIENT ID") && l.ends_with(&id)), "{table}");
    assert!(table.contains("authorization_code, refresh_token"), "{table}");
    assert!(table.lines().any(|l| l.trim() == "CLIENT SECRET"), "no secret on GET: {table}");
    assert_eq!(run(s, &["get", "client", &id, "-q"]).ok().stdout, format!("{id}\n"));
    let name = run(s, &["get", "client", &id, "--format", "jsonpointer=/client_name"]).ok().stdout;
    assert_eq!(name.trim(), "\"CLI app\"");

    // Update replaces the client (Hydra's semantics); a given secret is shown once.
    let out = run(
        s,
        &[
            "update",
            "oauth2-client",
            &id,
            "--name",
            "renamed",
            "--redirect-uri",
            "http://127.0.0.1:6666/cb",
            "--secret",
            "a-new-secret-from-the-cli",
            "--format",
            "json",
        ],
    )
    .ok();
    let u = out.json();
    assert_eq!(u["client_name"], "renamed");
    assert_eq!(u["client_secret"], "a-new-secret-from-the-cli");
    assert_eq!(u["owner"], "", "fields not given are reset");
    assert_eq!(u["grant_types"], json!(["authorization_code"]), "Hydra's default grant type");

    // Several ids: a table, or a JSON array.
    let other = unique("cli");
    run(s, &["create", "client", "--id", &other, "-q"]).ok();
    let both = run(s, &["get", "clients", &id, &other, "--format", "json"]).ok().json();
    assert_eq!(both.as_array().map(Vec::len), Some(2), "{both}");
    let table = run(s, &["get", "clients", &id, &other]).ok().stdout;
    assert!(table.starts_with("CLIENT ID"), "{table}");
    assert_eq!(table.lines().count(), 3, "header and two rows: {table}");

    // List with pagination: Hydra's {items, next_page_token, is_last_page}.
    let page = run(s, &["list", "oauth2-clients", "--page-size", "1", "--format", "json"]).ok().json();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["is_last_page"], false, "{page}");
    let token = page["next_page_token"].as_str().unwrap().to_string();
    assert!(!token.is_empty());
    let next = run(s, &["list", "clients", "--page-size", "1", "--page-token", &token, "--format", "json"]).ok().json();
    assert_eq!(next["items"].as_array().map(Vec::len), Some(1), "{next}");
    assert_ne!(next["items"][0]["client_id"], page["items"][0]["client_id"]);
    let table = run(s, &["list", "clients", "--page-size", "1"]).ok().stdout;
    assert!(table.contains("NEXT PAGE TOKEN") && table.contains("IS LAST PAGE"), "{table}");

    // Delete several; a missing one fails with exit 1 and a clear message.
    let out = run(s, &["delete", "oauth2-client", &id, &other, "--format", "json"]).ok();
    assert_eq!(out.json(), json!([id, other]));
    let gone = run(s, &["get", "client", &id]);
    assert_eq!(gone.code, 1, "{gone:#?}");
    assert!(gone.stderr.contains("404") && gone.stderr.contains("Unable to locate the resource"), "{gone:#?}");
    let partly = run(s, &["delete", "client", &id]);
    assert_eq!(partly.code, 1, "{partly:#?}");
}

#[test]
fn import_reads_hydras_json_exports_from_files_and_stdin() {
    let s = server();
    let dir = s.state_dir.join(unique("import"));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b, c, d, e) = (unique("imp"), unique("imp"), unique("imp"), unique("imp"), unique("imp"));
    // An array (`hydra get oauth2-client … --format json`), with secrets kept as given.
    let many = json!([
        {"client_id": a, "client_secret": "imported-secret-a-0123456789", "grant_types": ["authorization_code"], "redirect_uris": ["https://a.example/cb"], "scope": "openid"},
        {"client_id": b, "client_secret": "imported-secret-b-0123456789", "grant_types": ["client_credentials"], "response_types": ["token"]},
    ]);
    // A list page (`hydra list oauth2-clients --format json`).
    let page =
        json!({"items": [{"client_id": c, "client_name": "from a list"}], "next_page_token": "", "is_last_page": true});
    std::fs::write(dir.join("many.json"), many.to_string()).unwrap();
    std::fs::write(dir.join("page.json"), page.to_string()).unwrap();
    let files = [dir.join("many.json"), dir.join("page.json")];
    let files: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();

    let out = run(s, &["import", "oauth2-client", files[0], files[1], "--format", "json"]).ok();
    let imported = out.json();
    let ids: Vec<&str> = imported.as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![a.as_str(), b.as_str(), c.as_str()]);
    assert_eq!(imported[0]["client_secret"], "imported-secret-a-0123456789", "given secrets are shown");

    // A full export of an existing client (with created_at, updated_at, …) re-imports under a new id.
    let mut exported = run(s, &["get", "client", &a, "--format", "json"]).ok().json();
    exported["client_id"] = json!(d);
    let out = run_stdin(s, &["import", "clients", "--format", "json"], &exported.to_string()).ok();
    assert_eq!(out.json()["client_id"], d.as_str());
    assert_eq!(run(s, &["get", "client", &d, "--format", "json"]).ok().json()["scope"], "openid");

    // One bad client among good ones: the others are imported, the failure named, exit 1.
    let mixed = json!([{"client_id": e}, {"client_id": a}]);
    let out = run_stdin(s, &["import", "clients", "-q"], &mixed.to_string());
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(out.stdout.trim(), e);
    assert!(out.stderr.contains(&format!("client {a}")) && out.stderr.contains("409"), "{out:#?}");

    // A file that is not JSON is refused before anything is created.
    std::fs::write(dir.join("broken.json"), "[{").unwrap();
    let f = unique("imp");
    std::fs::write(dir.join("good.json"), json!([{"client_id": f}]).to_string()).unwrap();
    let out = run(
        s,
        &["import", "clients", dir.join("good.json").to_str().unwrap(), dir.join("broken.json").to_str().unwrap()],
    );
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("broken.json") && out.stderr.contains("not valid JSON"), "{out:#?}");
    assert_eq!(run(s, &["get", "client", &f]).code, 1, "nothing was imported");

    // The token secret was never written to the output.
    assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));
    run(s, &["delete", "clients", &a, &b, &c, &d, &e]).ok();
}

#[test]
fn create_get_and_delete_json_web_key_sets() {
    let s = server();
    let set = unique("cli-set");
    let out = run(s, &["create", "jwk", &set, "--alg", "ES256", "--use", "sig", "--format", "json"]).ok();
    let created = out.json();
    assert_eq!(created["set"], set.as_str());
    let keys = created["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["alg"], "ES256");
    assert!(keys[0]["d"].is_string(), "create shows the private key: {created}");
    let kid = keys[0]["kid"].as_str().unwrap().to_string();

    let table = run(s, &["create", "jwks", &set, "second-key", "--alg", "RS256"]).ok().stdout;
    assert!(table.starts_with("SET ID") && table.contains("second-key") && table.contains("RS256"), "{table}");

    let got = run(s, &["get", "jwks", &set, "--format", "json"]).ok().json();
    assert_eq!(got["keys"].as_array().map(Vec::len), Some(2), "{got}");
    let public = run(s, &["get", "jwk", &set, "--public", "--format", "json"]).ok().json();
    for k in public["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none(), "--public leaves out {private}: {k}");
        }
    }
    let quiet = run(s, &["get", "jwk", &set, "-q"]).ok().stdout;
    assert!(quiet.lines().any(|l| l == kid), "{quiet}");

    assert_eq!(run(s, &["delete", "jwk", &set]).ok().stdout.trim(), format!("ID  {set}"));
    let gone = run(s, &["get", "jwk", &set]);
    assert_eq!(gone.code, 1, "{gone:#?}");
}

#[test]
fn a_bad_or_missing_token_exits_4_and_is_never_echoed() {
    let s = server();
    let wrong = "cli-e2e-wrong-token-abcdefghijklmnopqrstuvwxyz";
    for how in ["flag", "env"] {
        let out = match how {
            "flag" => run_raw(&["--endpoint", &s.base, "--token", wrong, "list", "clients"], &[], None),
            _ => run_raw(&["--endpoint", &s.base, "list", "clients"], &[("HYDRA_EDGE_ADMIN_TOKEN", wrong)], None),
        };
        assert_eq!(out.code, 4, "{how}: {out:#?}");
        assert!(out.stderr.contains("401") && out.stderr.contains("token was refused"), "{how}: {out:#?}");
        assert!(!out.stderr.contains(wrong) && !out.stdout.contains(wrong), "{how}: the token is echoed");
    }
    let out = run_raw(&["--endpoint", &s.base, "list", "clients"], &[], None);
    assert_eq!(out.code, 4, "{out:#?}");
    assert!(out.stderr.contains("no admin token was given"), "{out:#?}");

    // Help never shows the token from the environment either.
    let help = run_raw(&["list", "clients", "--help"], &[("HYDRA_EDGE_ADMIN_TOKEN", wrong)], None);
    assert_eq!(help.code, 0);
    assert!(!help.stdout.contains(wrong) && help.stdout.contains("--token"), "{help:#?}");
    // The right token through the flag works.
    run_raw(&["--endpoint", &s.base, "--token", TOKEN, "list", "clients", "-q"], &[], None).ok();
}

#[test]
fn unreachable_endpoints_exit_3_and_usage_errors_exit_2() {
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run_raw(&["--endpoint", &url, "--token", TOKEN, "list", "clients"], &[], None);
    assert_eq!(out.code, 3, "{out:#?}");
    assert!(out.stderr.contains("cannot reach") && out.stderr.contains(&url), "{out:#?}");
    assert!(!out.stderr.contains(TOKEN));
    let out = run_raw(&["--endpoint", "http://does-not-exist.invalid", "get", "client", "x"], &[], None);
    assert_eq!(out.code, 3, "{out:#?}");

    let out = run_raw(&["list", "clients"], &[], None);
    assert_eq!(out.code, 2, "no endpoint: {out:#?}");
    assert!(out.stderr.contains("--endpoint"), "{out:#?}");
    // The endpoint may come from Hydra's variable.
    let out = run_raw(&["list", "clients"], &[("ORY_SDK_URL", &url)], None);
    assert_eq!(out.code, 3, "{out:#?}");
    assert_eq!(run_raw(&["get", "client"], &[], None).code, 2, "missing id");
    assert_eq!(run_raw(&["frobnicate"], &[], None).code, 2);
    assert_eq!(run_raw(&["--endpoint", "not a url", "list", "clients"], &[], None).code, 2);
    let out = run_raw(&["--endpoint", &url, "list", "clients", "--format", "yaml"], &[], None);
    assert_eq!(out.code, 2, "{out:#?}");
    let out = run_raw(&["--endpoint", &url, "create", "client", "--metadata", "{"], &[], None);
    assert_eq!(out.code, 2, "{out:#?}");
}

/// A stand-in server answering every request with one fixed response (what a broken deployment
/// or a wrong URL answers), to check how the CLI reports it.
fn answering(status: u16, content_type: &str, body: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    url
}

#[test]
fn server_failures_exit_5_and_foreign_answers_are_named() {
    let body =
        json!({"error": "server_error", "error_description": "The database is unavailable.", "status_code": 500});
    let url = answering(500, "application/json", &body.to_string());
    let out = run_raw(&["--endpoint", &url, "--token", TOKEN, "get", "client", "x"], &[], None);
    assert_eq!(out.code, 5, "{out:#?}");
    assert!(out.stderr.contains("HTTP 500") && out.stderr.contains("The database is unavailable."), "{out:#?}");

    let url = answering(404, "text/html", "<html>nginx</html>");
    let out = run_raw(&["--endpoint", &url, "--token", TOKEN, "list", "clients"], &[], None);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("not an API response"), "{out:#?}");

    let url = answering(200, "application/json", "{not json");
    let out = run_raw(&["--endpoint", &url, "--token", TOKEN, "get", "client", "x"], &[], None);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("invalid JSON"), "{out:#?}");
}
