//! A real browser (Debian's chromium driven by npm `playwright-core`, tests/browser/flows.mjs)
//! walks the example login & consent app against the Worker: code flow with login and consent,
//! the remembered second run, the grants page, logout with front-channel iframes and a
//! back-channel POST to a tiny relying party this test starts, and a device sign-in while a
//! poller waits. Screenshots of every page land in `target/browser/`.
//!
//! The browser must start: if it cannot, this test fails and says how to install it (it never
//! skips).

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::receiver::Receiver;
use common::tokens::decode_part;
use common::{root, Server, ADMIN_TOKEN};

/// The example app (`examples/login-consent/server.mjs`) in its own process group, stopped on drop.
struct ExampleApp {
    child: Child,
    log: std::path::PathBuf,
}

impl ExampleApp {
    fn start(port: u16, s: &Server, rp: &Receiver) -> ExampleApp {
        let log = s.state_dir.join("example-app.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("node")
            .arg(root().join("examples/login-consent/server.mjs"))
            .env("PORT", port.to_string())
            .env("HYDRA_ADMIN_URL", &s.base)
            .env("HYDRA_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("EXAMPLE_FRONTCHANNEL_LOGOUT_URI", rp.url("/frontchannel"))
            .env("EXAMPLE_BACKCHANNEL_LOGOUT_URI", rp.url("/backchannel"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("start the example app");
        let app = ExampleApp { child, log };
        // Ready once the demo client exists (the start page answers 200, not 503).
        let client = reqwest::blocking::Client::new();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(r) = client.get(format!("http://127.0.0.1:{port}/")).send() {
                if r.status() == 200 {
                    return app;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the example app did not become ready:\n{}", std::fs::read_to_string(&app.log).unwrap_or_default());
    }
}

impl Drop for ExampleApp {
    fn drop(&mut self) {
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

#[test]
fn the_example_app_in_a_real_browser() {
    let rp = Receiver::start();
    let port = common::free_port();
    let app_url = format!("http://127.0.0.1:{port}");
    let urls: Vec<(&str, String)> = vec![
        ("URLS_LOGIN", format!("{app_url}/login")),
        ("URLS_CONSENT", format!("{app_url}/consent")),
        ("URLS_LOGOUT", format!("{app_url}/logout")),
        ("URLS_POST_LOGOUT_REDIRECT", format!("{app_url}/logged-out")),
        ("URLS_DEVICE_VERIFICATION", format!("{app_url}/device")),
        ("URLS_DEVICE_SUCCESS", format!("{app_url}/device/done")),
    ];
    let vars: Vec<(&str, &str)> = urls.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let s = Server::start(&vars);
    let _app = ExampleApp::start(port, &s, &rp);
    let shots = root().join("target/browser");
    let _ = std::fs::remove_dir_all(&shots);

    let out = Command::new("node")
        .arg(root().join("tests/browser/flows.mjs"))
        .current_dir(root())
        .env("BASE", &s.base)
        .env("APP_URL", &app_url)
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RP_URL", &rp.base)
        .env("SHOTS", &shots)
        .output()
        .expect("run node tests/browser/flows.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser walk failed (exit {:?}):\n{stdout}\n{stderr}\nexample app log:\n{}",
        out.status.code(),
        std::fs::read_to_string(&_app.log).unwrap_or_default()
    );
    let result: serde_json::Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_else(|| panic!("no RESULT line:\n{stdout}"));
    let sid = result["sid"].as_str().unwrap();

    // The relying party got the front-channel iframe and, after the response, the logout token.
    let frames = rp.to("/frontchannel");
    assert!(frames.iter().any(|f| f.method == "GET" && f.path.contains(&format!("sid={sid}"))), "{frames:?}");
    let posts = rp.wait_for("/backchannel", 1, Duration::from_secs(15));
    assert_eq!(posts.len(), 1, "{posts:?}");
    let token: String = form_urlencoded::parse(posts[0].body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .expect("a logout_token");
    assert_eq!(decode_part(&token, 0)["typ"], "logout+jwt");
    assert_eq!(decode_part(&token, 1)["sid"], sid);
    let count = std::fs::read_dir(&shots).map(|d| d.count()).unwrap_or(0);
    assert!(count >= 15, "screenshots in target/browser: {count}");
    println!("browser walk: {result}");
}
