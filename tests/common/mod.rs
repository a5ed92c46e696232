//! End-to-end harness: builds the Worker once, runs it under `wrangler dev` (workerd with local
//! D1 and KV) on a free port with its own fresh state directory, and always stops the process
//! group it started: on drop, and at process exit for the shared server (also when tests fail).
#![allow(dead_code)]

pub mod cli;
pub mod jose;
pub mod oauth;
pub mod receiver;
pub mod scripts;
pub mod stub;
pub mod tokens;

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// At least 32 characters: the Worker refuses shorter admin tokens.
pub const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789abcdefghij";
pub const SYSTEM_SECRET: &str = "e2e-system-secret-0123456789";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `make build` once per test process (a no-op when the build is current).
pub fn ensure_built() {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let out = Command::new("make")
            .args(["--no-print-directory", "-s", "build"])
            .current_dir(root())
            .output()
            .expect("run make build");
        assert!(
            out.status.success(),
            "make build failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// Process groups started by this test process, stopped at exit.
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

extern "C" fn stop_all_groups() {
    if let Ok(groups) = GROUPS.lock() {
        for pgid in groups.iter() {
            unsafe {
                libc::kill(-pgid, libc::SIGTERM);
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        for pgid in groups.iter() {
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

fn register_group(pgid: i32) {
    static AT_EXIT: Once = Once::new();
    AT_EXIT.call_once(|| unsafe {
        libc::atexit(stop_all_groups);
    });
    GROUPS.lock().unwrap().push(pgid);
}

fn unregister_group(pgid: i32) {
    GROUPS.lock().unwrap().retain(|g| *g != pgid);
}

/// A port nothing listens on, never the same one twice in this process, and below the kernel's
/// ephemeral range. Ports the system hands out itself (other servers' port-0 sockets, the local
/// end of every outgoing connection) come from that range, so a port picked there can be taken
/// between this check and the server's own bind: CI saw workerd fail with "Address already in
/// use" on an inspector port picked that way. Below the range, only a program that asks for that
/// exact port can take it.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    const LOWEST: u32 = 10_000;
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let below = ephemeral_low().saturating_sub(1);
    if below <= LOWEST + 1_000 {
        // No room below the range on this machine: fall back to a port the system picks.
        loop {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            if !given.contains(&port) {
                given.push(port);
                return port;
            }
        }
    }
    let span = below - LOWEST;
    // Each test process starts at its own place in the range, so the binaries' servers (which
    // may outlive their binary by a second) rarely meet; the bind check below settles it.
    let first = std::process::id().wrapping_mul(7_919) % span;
    for i in 0..span {
        let port = (LOWEST + (first + i) % span) as u16;
        if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
    panic!("no free port between {LOWEST} and {below}");
}

/// The first port of the kernel's ephemeral range (Linux's default when it cannot be read).
fn ephemeral_low() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(32_768)
}

/// wrangler with `wrangler.local.toml` (written by `make build`): the project's settings without
/// the build watcher, whose reload right after the start can leave a server that never comes up
/// (scripts/local-config.mjs).
fn wrangler(args: &[&str]) -> Command {
    let mut c = Command::new("node");
    c.arg(root().join("node_modules/wrangler/bin/wrangler.js"))
        .args(args)
        .args(["--config", "wrangler.local.toml"])
        .current_dir(root())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CI", "1");
    c
}

pub struct Server {
    pub base: String,
    pub port: u16,
    pub state_dir: PathBuf,
    child: Child,
    pgid: i32,
}

impl Server {
    /// A server with its own fresh state. `vars` are extra Worker vars (`NAME`, `value`).
    pub fn start(vars: &[(&str, &str)]) -> Server {
        ensure_built();
        // A port can still be lost to another program between the pick and workerd's bind; that
        // start is retried on fresh ports. Any other failure is the test's.
        for _ in 0..2 {
            match Server::try_start(vars) {
                Ok(server) => return server,
                Err(log) if log.contains("Address already in use") => {
                    eprintln!("wrangler dev lost its port to another program; starting again:\n{log}")
                }
                Err(log) => panic!("{log}"),
            }
        }
        Server::try_start(vars).unwrap_or_else(|log| panic!("{log}"))
    }

    fn try_start(vars: &[(&str, &str)]) -> Result<Server, String> {
        let port = free_port();
        let state_dir = root().join("target/e2e-state").join(format!("{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state_dir);
        std::fs::create_dir_all(&state_dir).unwrap();
        let state = state_dir.to_str().unwrap().to_string();

        let out = wrangler(&["d1", "migrations", "apply", "DB", "--local", "--persist-to", &state])
            .output()
            .expect("apply migrations");
        assert!(out.status.success(), "migrations failed: {}", String::from_utf8_lossy(&out.stderr));

        let base = format!("http://127.0.0.1:{port}");
        let mut all_vars: Vec<(String, String)> = vec![
            ("URLS_SELF_ISSUER".into(), base.clone()),
            ("ADMIN_API_TOKEN".into(), ADMIN_TOKEN.into()),
            ("SECRETS_SYSTEM".into(), SYSTEM_SECRET.into()),
            ("HYDRA_EDGE_TEST_ROUTES".into(), "true".into()),
        ];
        for (k, v) in vars {
            all_vars.retain(|(name, _)| name != k);
            all_vars.push((k.to_string(), v.to_string()));
        }
        let mut args: Vec<String> = vec![
            root().join("node_modules/wrangler/bin/wrangler.js").to_str().unwrap().to_string(),
            "dev".into(),
            "--config".into(),
            "wrangler.local.toml".into(),
            "--ip".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            // Each instance needs its own inspector port, or concurrent instances collide on 9229.
            "--inspector-port".into(),
            free_port().to_string(),
            "--persist-to".into(),
            state.clone(),
            // Exposes /__scheduled, to run the cleanup job on demand.
            "--test-scheduled".into(),
        ];
        for (k, v) in &all_vars {
            args.push("--var".into());
            args.push(format!("{k}:{v}"));
        }
        let log = std::fs::File::create(state_dir.join("wrangler.log")).unwrap();
        // A small shell supervisor leads the process group: it stops the group (wrangler and
        // workerd) when this test process is gone, even if it was killed without exit handlers.
        let script = format!(
            "node \"$@\" & child=$!; while kill -0 {} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done; kill -TERM 0",
            std::process::id()
        );
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .arg("sh")
            .args(&args)
            .current_dir(root())
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CI", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0);
        let child = cmd.spawn().expect("start wrangler dev");
        let pgid = child.id() as i32;
        register_group(pgid);
        let mut server = Server { base, port, state_dir, child, pgid };
        server.wait_alive(Duration::from_secs(90))?;
        Ok(server)
    }

    /// Waits for `/health/alive` answered by this server: wrangler logs "Ready on <base>" only
    /// once its own workerd holds the port, so a server another process started on the same
    /// port is never taken for it. On failure, the reason and the server's log (the server is
    /// stopped when the caller drops it).
    fn wait_alive(&mut self, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
        let ready_line = format!("Ready on {}", self.base);
        while start.elapsed() < limit {
            if let Ok(r) = client.get(self.url("/health/alive")).send() {
                if r.status().is_success() && self.log().contains(&ready_line) {
                    return Ok(());
                }
            }
            // The supervisor shell exits once wrangler has: no point waiting out the limit.
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(format!("wrangler dev on {} exited before it was alive:\n{}", self.base, self.log()));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!("wrangler dev did not become alive on {} within {limit:?}:\n{}", self.base, self.log()))
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(self.state_dir.join("wrangler.log")) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// An HTTP client that does not follow redirects (tests inspect them). Each client comes
    /// from its own address (`CF-Connecting-IP`, which `wrangler dev` passes through), as
    /// distinct users do, so per-address rate limits of one test do not reach the next.
    pub fn client(&self) -> reqwest::blocking::Client {
        self.client_from(&unique_ip())
    }

    /// A client whose requests come from `ip`.
    pub fn client_from(&self, ip: &str) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(from_ip(ip))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// A browser: keeps cookies, does not follow redirects, has its own address.
    pub fn browser(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(from_ip(&unique_ip()))
            .cookie_store(true)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// A browser whose cookie jar the test can read and plant cookies in.
    pub fn browser_with_jar(&self, jar: std::sync::Arc<reqwest::cookie::Jar>) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(from_ip(&unique_ip()))
            .cookie_provider(jar)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.client().request(method, self.url(path)).bearer_auth(ADMIN_TOKEN)
    }

    pub fn admin_get(&self, path: &str) -> (u16, Value) {
        json_of(self.admin(reqwest::Method::GET, path).send().unwrap())
    }

    pub fn admin_json(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        json_of(self.admin(method, path).json(body).send().unwrap())
    }

    /// Run SQL (statements separated by "; ") through the Worker's own D1 binding (the
    /// test-only admin route); answers the rows of the last statement.
    pub fn d1(&self, sql: &str) -> Vec<Value> {
        let statements: Vec<&str> = sql.split("; ").map(str::trim).filter(|s| !s.is_empty()).collect();
        let r = self
            .admin(reqwest::Method::POST, "/admin/_test/sql")
            .json(&serde_json::json!({ "statements": statements }))
            .send()
            .expect("test SQL route");
        let (status, body) = json_of(r);
        assert_eq!(status, 200, "SQL failed: {body}");
        body.as_array().cloned().unwrap_or_default()
    }
}

impl Server {
    /// The application's D1 tables (every migration's, none of D1's own).
    pub fn d1_tables(&self) -> Vec<String> {
        self.d1("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '\\_cf%' ESCAPE '\\' AND name != 'd1_migrations' ORDER BY name")
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// Every row of every application table, table by table: to show that a request changed
    /// nothing. The metrics' counters are left out: every request adds to them, after its
    /// response.
    pub fn d1_snapshot(&self) -> Vec<(String, Value)> {
        let tables: Vec<String> = self.d1_tables().into_iter().filter(|t| t != "metrics").collect();
        let statements: Vec<String> = tables.iter().map(|t| format!("SELECT * FROM \"{t}\" ORDER BY rowid")).collect();
        let r = self
            .admin(reqwest::Method::POST, "/admin/_test/sql")
            .json(&serde_json::json!({ "statements": statements, "all": true }))
            .send()
            .expect("test SQL route");
        let (status, body) = json_of(r);
        assert_eq!(status, 200, "snapshot failed: {body}");
        tables.into_iter().zip(body.as_array().cloned().unwrap_or_default()).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        unsafe {
            libc::kill(-self.pgid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        unsafe {
            libc::kill(-self.pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
        unregister_group(self.pgid);
    }
}

/// The server shared by every test of one test binary (stopped at exit).
pub fn shared() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start(&[]))
}

/// Status and JSON body (Null when the body is empty or not JSON).
pub fn json_of(r: reqwest::blocking::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub fn assert_admin_error(body: &Value, status: u16) {
    assert_eq!(body["code"], status, "{body}");
    assert_eq!(body["status_code"], status, "{body}");
    assert!(body["message"].as_str().map(|m| !m.is_empty()).unwrap_or(false), "{body}");
    assert!(body["error"].is_string(), "{body}");
}

/// A fresh client address from 198.18.0.0/15 (the benchmarking range), one per call.
pub fn unique_ip() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst) + (std::process::id() % 512) * 256;
    format!("198.{}.{}.{}", 18 + (n >> 16) % 2, (n >> 8) % 256, n % 256)
}

fn from_ip(ip: &str) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("cf-connecting-ip", ip.parse().unwrap());
    h
}

pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}
