//! Standard relying-party libraries against the Worker in workerd, each driving discovery, the
//! code flow with PKCE, ID-token validation, userinfo, refresh, revocation, introspection,
//! client_credentials, the device grant, RP-initiated logout and the OAuth errors through its
//! own API: tests/rp/openid-client.mjs (openid-client 6.x, npm) and tests/rp/authlib_client.py
//! (Authlib, PyPI, in the venv scripts/bootstrap.sh makes). Each test runs its script against a
//! fresh server and fails with the script's output and the end of the Worker's log. The Rust
//! `openidconnect` crate has its own tests (tests/flow.rs and others).

mod common;

use std::process::{Command, Output};

/// The end of a long text (the Worker's log), for failure messages.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

#[test]
fn openid_client_relying_party() {
    let s = common::Server::start(&[]);
    let out = Command::new("node")
        .arg("tests/rp/openid-client.mjs")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HYDRA_EDGE_URL", &s.base)
        .env("HYDRA_EDGE_ADMIN_TOKEN", common::ADMIN_TOKEN)
        .output()
        .expect("run node tests/rp/openid-client.mjs");
    report(&s, out);
}

#[test]
fn authlib_relying_party() {
    let python = common::root().join("target/venv/bin/python");
    assert!(python.exists(), "{} is missing: run `make bootstrap` (it installs Authlib)", python.display());
    let s = common::Server::start(&[]);
    let out = Command::new(python)
        .arg("tests/rp/authlib_client.py")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HYDRA_EDGE_URL", &s.base)
        .env("HYDRA_EDGE_ADMIN_TOKEN", common::ADMIN_TOKEN)
        .output()
        .expect("run tests/rp/authlib_client.py");
    report(&s, out);
}

/// Fail with the script's output and the end of the Worker's log, or show what ran.
fn report(s: &common::Server, out: Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the relying-party script failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- worker log (end) ---\n{}",
        out.status,
        tail(&s.log(), 4000)
    );
    // Shown with --nocapture: which sections and library operations ran, with which statuses.
    eprintln!("{stdout}");
}
