//! Test scripts in other languages (tests/sdk/, tests/rp/): each runs against a fresh server, with
//! the server's URL and an admin token in its environment (`HYDRA_EDGE_URL`,
//! `HYDRA_EDGE_ADMIN_TOKEN`), and a failure shows the script's output and the end of the Worker's
//! log.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Output};

use super::{root, Server, ADMIN_TOKEN};

/// Run `script` with `program` (`node`, or a venv's Python: [`venv_python`]) against a fresh
/// server with the default admin token.
pub fn run_script(program: impl AsRef<OsStr>, script: &str) {
    run_script_with(program, script, &[], ADMIN_TOKEN);
}

/// The same against a server started with `vars`, telling the script `token`.
pub fn run_script_with(program: impl AsRef<OsStr>, script: &str, vars: &[(&str, &str)], token: &str) {
    let s = Server::start(vars);
    let out = Command::new(program)
        .arg(script)
        .current_dir(root())
        .env("HYDRA_EDGE_URL", &s.base)
        .env("HYDRA_EDGE_ADMIN_TOKEN", token)
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    report(&s, script, out);
}

/// The Python of a venv scripts/bootstrap.sh makes (`target/venv`, `target/venv-v1`, ...).
pub fn venv_python(venv: &str) -> PathBuf {
    let python = root().join(venv).join("bin/python");
    assert!(python.exists(), "{} is missing: run `make bootstrap` (it installs the test packages)", python.display());
    python
}

/// Fail with the script's output and the end of the Worker's log, or show what ran.
fn report(s: &Server, script: &str, out: Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = s.log();
    let mut start = log.len().saturating_sub(4000);
    while !log.is_char_boundary(start) {
        start += 1;
    }
    assert!(
        out.status.success(),
        "{script} failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- worker log (end) ---\n{}",
        out.status,
        &log[start..]
    );
    // Shown with --nocapture: which sections and operations ran, with which statuses.
    eprintln!("{stdout}");
}
