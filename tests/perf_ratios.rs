//! The performance regression check (bench/run.mjs `--check`): the built Worker under
//! miniflare, three short rounds of a few routes, judged only by ratios between routes of the
//! same round (never absolute numbers) against floors well below what a loaded 2-core machine
//! measures, plus the wasm module's size budget. The floors and the budget are in `CHECK` in
//! bench/run.mjs; the full benchmark is `make bench` (docs/benchmarks.md).

mod common;

#[test]
fn ratios_and_module_size_stay_within_their_floors() {
    common::ensure_built();
    let out = std::process::Command::new("node")
        .args(["bench/run.mjs", "--check"])
        .current_dir(common::root())
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let report: String = text.lines().filter(|l| !l.starts_with("{\"msg\"")).collect::<Vec<_>>().join("\n");
    assert!(out.status.success(), "{report}");
    eprintln!("{}", report.lines().skip_while(|l| !l.starts_with("Regression check")).collect::<Vec<_>>().join("\n"));
}
