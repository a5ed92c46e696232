//! Ory's official JavaScript SDK (@ory/hydra-client 26.2.0), unchanged, against the Worker in
//! workerd: tests/sdk/hydra-client.mjs calls every implemented admin operation and both
//! discovery endpoints through the SDK and drives a login + consent flow, and this test runs it
//! against a fresh server and fails with its output when it fails.

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
