//! Ory's official SDKs, unchanged, against the Worker in workerd: tests/sdk/hydra-client.mjs
//! (JavaScript, @ory/hydra-client 26.2.0) and tests/sdk/hydra_client.py (Python,
//! ory-hydra-client from PyPI, in the venv scripts/bootstrap.sh makes) call the admin API and
//! discovery through the SDK and drive a login + consent flow; these tests run each script
//! against a fresh server and fail with its output when it fails. Older generations' SDKs run the
//! same way: tests/sdk/hydra-sdk-beta.mjs (`ory-hydra-sdk` 1.0.0-beta.8),
//! tests/sdk/hydra-client-v1.mjs (`@oryd/hydra-client` 1.8.5), tests/sdk/hydra_client_v1.py and
//! tests/sdk/hydra_client_v2.py (`ory-hydra-client` 1.11.8 and 2.2.0 from PyPI). The Rust SDKs' tests are
//! tests/sdk_rust.rs (26.2.0) and tests/sdk_rust_v1.rs (1.10.6).

mod common;

use std::process::Command;

/// The end of a long text (the Worker's log), for failure messages.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

#[test]
fn official_javascript_sdk_works_unchanged() {
    let s = common::Server::start(&[]);
    let out = Command::new("node")
        .arg("tests/sdk/hydra-client.mjs")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HYDRA_EDGE_URL", &s.base)
        .env("HYDRA_EDGE_ADMIN_TOKEN", common::ADMIN_TOKEN)
        .output()
        .expect("run node tests/sdk/hydra-client.mjs");
    report(&s, out);
}

#[test]
fn official_python_sdk_works_unchanged() {
    let python = common::root().join("target/venv/bin/python");
    assert!(python.exists(), "{} is missing: run `make bootstrap` (it installs Ory's Python SDK)", python.display());
    let s = common::Server::start(&[("ADMIN_API_TOKEN", common::cli::TOKEN)]);
    let out = Command::new(python)
        .arg("tests/sdk/hydra_client.py")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HYDRA_EDGE_URL", &s.base)
        .env("HYDRA_EDGE_ADMIN_TOKEN", common::cli::TOKEN)
        .output()
        .expect("run tests/sdk/hydra_client.py");
    report(&s, out);
}

/// Ory's Python SDK of Hydra v1.x (ory-hydra-client 1.11.8 from PyPI, in the venv
/// scripts/bootstrap.sh makes for it): the v1 admin API, with models that refuse a `null` where
/// Hydra v1.11's document has an array or object.
#[test]
fn hydra_v1_python_sdk_works_unchanged() {
    run_python("target/venv-v1", "tests/sdk/hydra_client_v1.py");
}

/// Ory's Python SDK of Hydra v2.x (ory-hydra-client 2.2.0, likewise in a venv of its own): the
/// `/admin` API, with models as strict as v1.x's.
#[test]
fn hydra_v2_python_sdk_works_unchanged() {
    run_python("target/venv-v2", "tests/sdk/hydra_client_v2.py");
}

/// Run a Python script with the interpreter of `venv` against a fresh server.
fn run_python(venv: &str, script: &str) {
    let python = common::root().join(venv).join("bin/python");
    assert!(python.exists(), "{} is missing: run `make bootstrap` (it installs the Python SDKs)", python.display());
    let s = common::Server::start(&[]);
    let out = Command::new(python)
        .arg(script)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HYDRA_EDGE_URL", &s.base)
        .env("HYDRA_EDGE_ADMIN_TOKEN", common::ADMIN_TOKEN)
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    report(&s, out);
}

/// Ory's JavaScript SDK of Hydra v1.0.0-beta.8 (`ory-hydra-sdk`, seeds 004 and 000):
/// challenges and users in the path.
#[test]
fn hydra_v1_beta_javascript_sdk_works_unchanged() {
    run_node("tests/sdk/hydra-sdk-beta.mjs");
}

/// Ory's JavaScript SDK of Hydra v1.8 (`@oryd/hydra-client` 1.8.5): the v1.x admin API.
#[test]
fn hydra_v1_javascript_sdk_works_unchanged() {
    run_node("tests/sdk/hydra-client-v1.mjs");
}

/// Run a node script against a fresh server.
fn run_node(script: &str) {
    let s = common::Server::start(&[]);
    let out = Command::new("node")
        .arg(script)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HYDRA_EDGE_URL", &s.base)
        .env("HYDRA_EDGE_ADMIN_TOKEN", common::ADMIN_TOKEN)
        .output()
        .unwrap_or_else(|e| panic!("run node {script}: {e}"));
    report(&s, out);
}

/// Fail with the script's output and the end of the Worker's log, or show what ran.
fn report(s: &common::Server, out: std::process::Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the SDK script failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- worker log (end) ---\n{}",
        out.status,
        tail(&s.log(), 4000)
    );
    // Shown with --nocapture: which SDK operations ran, with which statuses.
    eprintln!("{stdout}");
}
