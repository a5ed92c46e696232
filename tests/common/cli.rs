//! Running the `hydra-edge` CLI binary against a Worker under test.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use super::{json_of, Server};

/// The admin token of the CLI tests' server (at least 32 characters, as deployments need).
pub const TOKEN: &str = "cli-e2e-admin-token-0123456789abcdefghijk";

/// One server per test binary, with [`TOKEN`] as its admin token.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start(&[("ADMIN_API_TOKEN", TOKEN)]))
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hydra-edge")
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }

    #[track_caller]
    pub fn ok(self) -> Out {
        assert_eq!(self.code, 0, "the CLI failed:\n{self:#?}");
        self
    }
}

/// Run the CLI with exactly these arguments and environment (nothing inherited that could
/// point it elsewhere), optionally feeding standard input.
pub fn run_raw(args: &[&str], envs: &[(&str, &str)], stdin: Option<&str>) -> Out {
    let mut c = Command::new(bin());
    c.args(args)
        .env_remove("ORY_SDK_URL")
        .env_remove("HYDRA_EDGE_URL")
        .env_remove("HYDRA_EDGE_ADMIN_TOKEN")
        .env_remove("OAUTH2_CLIENT_ID")
        .env_remove("OAUTH2_CLIENT_SECRET")
        .envs(envs.iter().copied())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("run the hydra-edge binary");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run the CLI against `s` with the admin token in the environment.
pub fn run(s: &Server, args: &[&str]) -> Out {
    let mut all = vec!["--endpoint", s.base.as_str()];
    all.extend_from_slice(args);
    run_raw(&all, &[("HYDRA_EDGE_ADMIN_TOKEN", TOKEN)], None)
}

/// Run the CLI against `s` with standard input.
pub fn run_stdin(s: &Server, args: &[&str], stdin: &str) -> Out {
    let mut all = vec!["--endpoint", s.base.as_str()];
    all.extend_from_slice(args);
    run_raw(&all, &[("HYDRA_EDGE_ADMIN_TOKEN", TOKEN)], Some(stdin))
}

/// An admin call made directly (the login/consent app's part of a flow).
pub fn admin(s: &Server, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut r = s.client().request(method, s.url(path)).bearer_auth(TOKEN);
    if let Some(b) = body {
        r = r.json(b);
    }
    json_of(r.send().unwrap())
}
