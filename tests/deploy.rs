//! `make deploy` (scripts/deploy.sh) against a fake `wrangler` (tests/deploy/fake-wrangler.mjs)
//! that records every call and keeps a pretend account: everything but the real account calls.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

const D1_PLACEHOLDER: &str = "00000000-0000-0000-0000-000000000000";
const KV_PLACEHOLDER: &str = "00000000000000000000000000000000";

struct Account {
    dir: PathBuf,
}

struct Run {
    code: i32,
    output: String,
}

impl Account {
    /// A fresh account and a copy of the project's wrangler.toml with `issuer`.
    fn new(issuer: &str) -> Account {
        let dir = common::root().join("target/deploy-tests").join(common::unique("acct"));
        std::fs::create_dir_all(dir.join("state")).unwrap();
        let toml = std::fs::read_to_string(common::root().join("wrangler.toml")).unwrap();
        let toml =
            toml.lines()
                .map(|l| {
                    if l.starts_with("URLS_SELF_ISSUER") {
                        format!("URLS_SELF_ISSUER = \"{issuer}\"")
                    } else {
                        l.into()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
        std::fs::write(dir.join("wrangler.toml"), toml + "\n").unwrap();
        Account { dir }
    }

    fn config(&self) -> String {
        std::fs::read_to_string(self.dir.join("wrangler.toml")).unwrap()
    }

    fn edit_config(&self, f: impl Fn(String) -> String) {
        std::fs::write(self.dir.join("wrangler.toml"), f(self.config())).unwrap();
    }

    fn state(&self, name: &str) -> PathBuf {
        self.dir.join("state").join(name)
    }

    fn json(&self, name: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.state(name)).unwrap_or("null".into())).unwrap()
    }

    /// The wrangler commands called, without the `--config` argument.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.state("calls.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let args: Vec<String> = serde_json::from_str(l).unwrap();
                let mut out = Vec::new();
                let mut skip = false;
                for a in args {
                    if skip {
                        skip = false;
                    } else if a == "--config" {
                        skip = true;
                    } else {
                        out.push(a);
                    }
                }
                out.join(" ")
            })
            .collect()
    }

    fn uploads(&self) -> Vec<Value> {
        std::fs::read_to_string(self.state("uploads.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn deploy(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
        let mut child = Command::new("bash")
            .arg(common::root().join("scripts/deploy.sh"))
            .args(args)
            .env("WRANGLER", format!("node {}", common::root().join("tests/deploy/fake-wrangler.mjs").display()))
            .env("FAKE_WRANGLER_STATE", self.dir.join("state"))
            .env("DEPLOY_CONFIG", self.dir.join("wrangler.toml"))
            .env_remove("SECRETS_SYSTEM")
            .env_remove("ADMIN_API_TOKEN")
            .env_remove("DRY_RUN")
            .env_remove("YES")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            output: format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        }
    }
}

const ISSUER: &str = "https://auth.example.com";

#[test]
fn a_first_deploy_creates_the_resources_writes_their_ids_sets_the_secrets_and_deploys() {
    let acct = Account::new(ISSUER);
    let run = acct.deploy(&["--yes"], &[], "");
    assert_eq!(run.code, 0, "{}", run.output);
    let calls = acct.calls();
    assert_eq!(
        calls[..calls.len() - 1].to_vec(),
        vec![
            "whoami",
            "d1 list --json",
            "d1 create hydra-edge",
            "d1 list --json",
            "kv namespace list",
            "kv namespace create hydra-edge-kv",
            "kv namespace list",
            "d1 migrations apply DB --remote",
            "secret list --format json",
        ]
    );
    assert!(acct.calls().last().unwrap().starts_with("deploy --secrets-file "), "{:?}", acct.calls());

    // The ids of what was created are in the config now.
    let db = acct.json("d1.json")[0]["uuid"].as_str().unwrap().to_string();
    let kv = acct.json("kv.json")[0]["id"].as_str().unwrap().to_string();
    let config = acct.config();
    assert!(config.contains(&format!("database_id = \"{db}\"")), "{config}");
    assert!(config.contains(&format!("id = \"{kv}\"")), "{config}");
    assert!(!config.contains(D1_PLACEHOLDER) && !config.contains(KV_PLACEHOLDER));

    // Both secrets were generated, uploaded with the deployment, shown once, and the file that
    // carried them is gone; no secret ever appeared on a wrangler command line.
    let uploads = acct.uploads();
    assert_eq!(uploads.len(), 1);
    for name in ["SECRETS_SYSTEM", "ADMIN_API_TOKEN"] {
        let value = uploads[0][name].as_str().unwrap();
        assert!(value.len() >= 32, "{name} is long enough");
        assert_eq!(run.output.matches(value).count(), 1, "{name} is shown once:\n{}", run.output);
        assert!(acct.calls().iter().all(|c| !c.contains(value)));
    }
    assert_ne!(uploads[0]["SECRETS_SYSTEM"], uploads[0]["ADMIN_API_TOKEN"]);
    let file = acct.calls().last().unwrap().trim_start_matches("deploy --secrets-file ").to_string();
    assert!(!std::path::Path::new(&file).exists(), "the secrets file is removed");
}

#[test]
fn a_second_deploy_changes_nothing_but_the_code() {
    let acct = Account::new(ISSUER);
    assert_eq!(acct.deploy(&["--yes"], &[], "").code, 0);
    let config = acct.config();
    let before = acct.calls().len();
    let run = acct.deploy(&[], &[], "");
    assert_eq!(run.code, 0, "{}", run.output);
    assert_eq!(
        acct.calls()[before..].to_vec(),
        vec![
            "whoami",
            "d1 list --json",
            "kv namespace list",
            "d1 migrations apply DB --remote",
            "secret list --format json",
            "deploy"
        ]
    );
    assert_eq!(acct.config(), config);
    assert_eq!(acct.uploads().len(), 1, "existing secrets are never replaced");
}

#[test]
fn existing_resources_are_found_by_name_and_answers_or_the_environment_give_secrets() {
    let acct = Account::new(ISSUER);
    std::fs::write(
        acct.state("d1.json"),
        r#"[{"uuid": "11111111-2222-3333-4444-555555555555", "name": "hydra-edge"}]"#,
    )
    .unwrap();
    std::fs::write(acct.state("kv.json"), r#"[{"id": "abcdefabcdefabcdefabcdefabcdef12", "title": "hydra-edge-kv"}]"#)
        .unwrap();
    let admin = "an-admin-token-from-the-environment-0123456789";
    // SECRETS_SYSTEM: refuse generation, then type a value; ADMIN_API_TOKEN from the environment.
    let typed = "a-system-secret-typed-by-the-operator-0123";
    let run = acct.deploy(&[], &[("ADMIN_API_TOKEN", admin)], &format!("n\n{typed}\n"));
    assert_eq!(run.code, 0, "{}", run.output);
    assert!(!acct.calls().iter().any(|c| c.contains("create")), "{:?}", acct.calls());
    let config = acct.config();
    assert!(config.contains("database_id = \"11111111-2222-3333-4444-555555555555\""), "{config}");
    assert!(config.contains("id = \"abcdefabcdefabcdefabcdefabcdef12\""), "{config}");
    let uploads = acct.uploads();
    assert_eq!(uploads[0]["ADMIN_API_TOKEN"], admin);
    assert_eq!(uploads[0]["SECRETS_SYSTEM"], typed);
    assert!(!run.output.contains(admin) && !run.output.contains(typed), "given secrets are not echoed");
}

#[test]
fn missing_secrets_without_a_terminal_or_yes_stop_before_anything_is_deployed() {
    let acct = Account::new(ISSUER);
    let run = acct.deploy(&[], &[], "");
    assert_ne!(run.code, 0);
    assert!(run.output.contains("SECRETS_SYSTEM is not set") && run.output.contains("--yes"), "{}", run.output);
    assert!(!acct.calls().iter().any(|c| c.starts_with("deploy")), "{:?}", acct.calls());
    let short = acct.deploy(&["--yes"], &[("ADMIN_API_TOKEN", "too-short")], "");
    assert_ne!(short.code, 0);
    assert!(short.output.contains("ADMIN_API_TOKEN from the environment is shorter than 32"), "{}", short.output);
    let typed_short = acct.deploy(&[], &[], "n\nshort\n");
    assert_ne!(typed_short.code, 0);
    assert!(typed_short.output.contains("at least 32"), "{}", typed_short.output);
    assert!(!acct.calls().iter().any(|c| c.starts_with("deploy")));
}

#[test]
fn loopback_plain_http_and_test_route_configurations_are_refused_before_any_account_call() {
    for issuer in [
        "http://127.0.0.1:8787",
        "https://localhost",
        "https://app.localhost",
        "https://[::1]:8443",
        "https://127.1.2.3",
        "http://auth.example.com",
        "not a url",
    ] {
        let acct = Account::new(issuer);
        let run = acct.deploy(&["--yes"], &[], "");
        assert_ne!(run.code, 0, "{issuer} must be refused");
        assert!(run.output.contains("URLS_SELF_ISSUER"), "{issuer}: {}", run.output);
        assert!(acct.calls().is_empty(), "{issuer}: no account call: {:?}", acct.calls());
    }
    let acct = Account::new(ISSUER);
    acct.edit_config(|c| c.replace("[vars]\n", "[vars]\nHYDRA_EDGE_TEST_ROUTES = \"true\"\n"));
    let run = acct.deploy(&["--yes"], &[], "");
    assert_ne!(run.code, 0);
    assert!(run.output.contains("HYDRA_EDGE_TEST_ROUTES"), "{}", run.output);
    assert!(acct.calls().is_empty());
}

#[test]
fn a_dry_run_prints_every_step_and_changes_nothing() {
    let acct = Account::new(ISSUER);
    let config = acct.config();
    for run in [acct.deploy(&["--dry-run"], &[], ""), acct.deploy(&[], &[("DRY_RUN", "1")], "")] {
        assert_eq!(run.code, 0, "{}", run.output);
        for step in [
            "would run: wrangler d1 create hydra-edge",
            "would write the D1 database id",
            "would run: wrangler kv namespace create hydra-edge-kv",
            "would run: wrangler d1 migrations apply DB --remote",
            "would ask for SECRETS_SYSTEM",
            "would ask for ADMIN_API_TOKEN",
            "would run: wrangler deploy",
            "nothing was changed",
        ] {
            assert!(run.output.contains(step), "missing '{step}':\n{}", run.output);
        }
    }
    // Only reads reached the account.
    let calls = acct.calls();
    assert!(
        calls
            .iter()
            .all(|c| ["whoami", "d1 list --json", "kv namespace list", "secret list --format json"]
                .contains(&c.as_str())),
        "{calls:?}"
    );
    assert_eq!(acct.config(), config);
    assert_eq!(acct.json("d1.json"), Value::Null);
}

#[test]
fn a_logged_out_wrangler_or_a_foreign_database_id_stops_the_deploy() {
    let acct = Account::new(ISSUER);
    std::fs::write(acct.state("logged-out"), "").unwrap();
    let run = acct.deploy(&["--yes"], &[], "");
    assert_ne!(run.code, 0);
    assert!(run.output.contains("wrangler login"), "{}", run.output);
    assert_eq!(acct.calls(), vec!["whoami"]);

    let acct = Account::new(ISSUER);
    acct.edit_config(|c| c.replace(D1_PLACEHOLDER, "99999999-9999-9999-9999-999999999999"));
    let run = acct.deploy(&["--yes"], &[], "");
    assert_ne!(run.code, 0);
    assert!(
        run.output.contains("99999999-9999-9999-9999-999999999999") && run.output.contains("does not have"),
        "{}",
        run.output
    );
    assert!(!acct.calls().iter().any(|c| c.starts_with("deploy") || c.contains("create")));
}
