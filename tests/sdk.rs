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

use common::scripts::{run_script, run_script_with, venv_python};

#[test]
fn official_javascript_sdk_works_unchanged() {
    run_script("node", "tests/sdk/hydra-client.mjs");
}

/// With the CLI tests' admin token (any token of the required length works).
#[test]
fn official_python_sdk_works_unchanged() {
    let token = common::cli::TOKEN;
    run_script_with(venv_python("target/venv"), "tests/sdk/hydra_client.py", &[("ADMIN_API_TOKEN", token)], token);
}

/// Ory's Python SDK of Hydra v1.x (ory-hydra-client 1.11.8 from PyPI, in the venv
/// scripts/bootstrap.sh makes for it): the v1 admin API, with models that refuse a `null` where
/// Hydra v1.11's document has an array or object.
#[test]
fn hydra_v1_python_sdk_works_unchanged() {
    run_script(venv_python("target/venv-v1"), "tests/sdk/hydra_client_v1.py");
}

/// Ory's Python SDK of Hydra v2.x (ory-hydra-client 2.2.0, likewise in a venv of its own): the
/// `/admin` API, with models as strict as v1.x's.
#[test]
fn hydra_v2_python_sdk_works_unchanged() {
    run_script(venv_python("target/venv-v2"), "tests/sdk/hydra_client_v2.py");
}

/// Ory's JavaScript SDK of Hydra v1.0.0-beta.8 (`ory-hydra-sdk`, seeds 004 and 000):
/// challenges and users in the path.
#[test]
fn hydra_v1_beta_javascript_sdk_works_unchanged() {
    run_script("node", "tests/sdk/hydra-sdk-beta.mjs");
}

/// Ory's JavaScript SDK of Hydra v1.8 (`@oryd/hydra-client` 1.8.5): the v1.x admin API.
#[test]
fn hydra_v1_javascript_sdk_works_unchanged() {
    run_script("node", "tests/sdk/hydra-client-v1.mjs");
}
