//! The Worker parses URLs with workerd's own parser (src/http/url.rs, through glue.mjs), the host
//! with the `url` crate. Redirect-URI matching depends on both reading a URL the same way, so
//! workerd must agree with the `url` crate on every vector of tests/vectors/urls.json (hostile
//! redirect URIs included), as the host's unit tests check the crate against the same file.

mod common;

#[test]
fn workerd_parses_urls_as_the_url_crate_does() {
    let out = std::process::Command::new("node")
        .arg("tests/miniflare/url_parity.mjs")
        .current_dir(common::root())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
}
