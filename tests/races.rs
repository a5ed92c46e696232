//! Races across instances, end to end: two workerd processes (miniflare serving the deployable
//! bundle) share one D1 database; 1,000 attempts each at one authorization code, one refresh
//! token (outside any grace period), one login verifier, one consent verifier, one device code
//! and one private_key_jwt `jti`, spread over both, give exactly one success, losers get Hydra's
//! error (or a clean 503 under SQLITE_BUSY), and the chain revocation rules hold afterwards
//! (code replay, refresh-token reuse, device-code replay). Then client and key writes on one
//! instance race with reads on the other (staleness bounds of docs/storage.md). The script:
//! tests/miniflare/races.mjs.

mod common;

#[test]
fn single_use_holds_across_two_instances_and_caches_follow_writes() {
    common::ensure_built();
    let root = common::root();
    // Its own bundle and state directory: other test binaries bundle in parallel.
    let bundle = root.join("target/e2e-bundle-races");
    let state = root.join(format!("target/e2e-state/races-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&bundle); // wasm file names carry a hash
    let out = std::process::Command::new("node")
        .arg(root.join("node_modules/wrangler/bin/wrangler.js"))
        // A bundle, not a deployment: the deploy guard (scripts/deploy-guard.mjs) wants a public
        // issuer; the instances get their own vars (tests/miniflare/lib.mjs).
        .args(["deploy", "--dry-run", "--outdir", bundle.to_str().unwrap()])
        .args(["--var", "URLS_SELF_ISSUER:https://bundle.invalid"])
        .current_dir(&root)
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    assert!(out.status.success(), "bundling failed: {}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new("node")
        .arg("tests/miniflare/races.mjs")
        .arg(&bundle)
        .arg(&state)
        .current_dir(&root)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&state);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // workerd logs every SQLITE_BUSY on stderr; the verdicts are on stdout.
    println!("{stdout}");
    assert!(out.status.success(), "{stdout}\n{}", tail(&String::from_utf8_lossy(&out.stderr), 20));
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
