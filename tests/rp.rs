//! Standard relying-party libraries against the Worker in workerd, each driving discovery, the
//! code flow with PKCE, ID-token validation, userinfo, refresh, revocation, introspection,
//! client_credentials, the device grant, RP-initiated logout and the OAuth errors through its
//! own API: tests/rp/openid-client.mjs (openid-client 6.x, npm) and tests/rp/authlib_client.py
//! (Authlib, PyPI, in the venv scripts/bootstrap.sh makes). Each test runs its script against a
//! fresh server and fails with the script's output and the end of the Worker's log. The Rust
//! `openidconnect` crate has its own tests (tests/flow.rs and others).

mod common;

use common::scripts::{run_script, venv_python};

#[test]
fn openid_client_relying_party() {
    run_script("node", "tests/rp/openid-client.mjs");
}

#[test]
fn authlib_relying_party() {
    run_script(venv_python("target/venv"), "tests/rp/authlib_client.py");
}
