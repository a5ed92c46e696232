//! Everything else: discovery, JWKS, health, the fallback pages (reflected XSS), unknown routes
//! and methods, the test-only routes without the admin token.

use reqwest::Method;

use super::{Case, Expect, Fixture};
use Expect::*;

pub fn cases(_fx: &Fixture) -> Vec<Case> {
    vec![
        Case::post("POST to discovery", "/.well-known/openid-configuration").json("{}").expect(Admin(405)),
        Case::new("DELETE the JWKS", Method::DELETE, "/.well-known/jwks.json").expect(Admin(405)),
        Case::get("admin-prefixed well-known", "/admin/.well-known/jwks.json").admin().expect(Admin(404)),
        Case::get("unknown route", "/oauth2/steal").expect(Admin(404)),
        Case::get("encoded traversal", "/oauth2/..%2F..%2Fadmin%2Fclients").expect(Admin(404)),
        Case::get("double slashes", "//admin//clients").expect(Admin(404)),
        Case::new("TRACE", Method::TRACE, "/health/alive").expect(Admin(405)),
        Case::new("OPTIONS without CORS", Method::OPTIONS, "/oauth2/token")
            .header("access-control-request-method", "POST")
            .expect(OAuth(405, "invalid_request")),
        Case::get("XSS through the error page", "/oauth2/fallbacks/error?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
            .expect(HtmlWithout("<script>alert(1)")),
        Case::get(
            "XSS through the error hint",
            "/oauth2/fallbacks/error?error=x&error_hint=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        )
        .expect(HtmlWithout("<img src=x")),
        Case::get("unknown fallback page", "/oauth2/fallbacks/steal").expect(Admin(404)),
        Case::post("test SQL route without the admin token", "/admin/_test/sql")
            .json("{\"statements\": [\"DELETE FROM clients\"]}")
            .expect(Admin(401)),
        Case::post("test SQL route with a wrong token", "/admin/_test/sql")
            .bearer("wrong-admin-token-0123456789abcdefgh")
            .json("{\"statements\": [\"DELETE FROM clients\"]}")
            .expect(Admin(401)),
        Case::get("admin version with a token in the query", "/admin/version?access_token=guess").expect(Admin(401)),
        Case::get("health with a huge header", "/health/ready")
            .header("x-junk", &"j".repeat(8 * 1024))
            .expect(Status(200)),
    ]
}
