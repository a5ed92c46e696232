//! `/admin/oauth2/auth/requests/*`: forged, tampered, cross-purpose and used challenges, and bad
//! decisions from the login or consent app.

use super::{Case, Expect, Fixture};
use Expect::*;

pub fn cases(fx: &Fixture) -> Vec<Case> {
    let login =
        |path: &str, challenge: &str| format!("/admin/oauth2/auth/requests/login{path}?login_challenge={challenge}");
    let consent = |path: &str, challenge: &str| {
        format!("/admin/oauth2/auth/requests/consent{path}?consent_challenge={challenge}")
    };
    let lc = &fx.login_challenge;
    let cc = &fx.consent_challenge;
    vec![
        Case::get("login without a challenge", "/admin/oauth2/auth/requests/login").admin().expect(Admin(400)),
        Case::get("forged login challenge", login("", "forged")).admin().expect(Admin(404)),
        Case::get("tampered login challenge", login("", &tamper(lc))).admin().expect(Admin(404)),
        Case::get("consent challenge as login challenge", login("", cc)).admin().expect(Admin(404)),
        Case::get("login verifier as login challenge", login("", &fx.used_login_verifier)).admin().expect(Admin(404)),
        Case::get("login challenge without the admin token", login("", lc)).expect(Admin(401)),
        Case::get("used login challenge", login("", &fx.used_login_challenge)).admin().expect(Status(410)),
        // Hydra v26: accepting or rejecting again answers a new verifier, which never redeems
        // (tests/flow.rs follows one to `access_denied`).
        Case::put("accept a used login challenge", login("/accept", &fx.used_login_challenge))
            .admin()
            .json("{\"subject\": \"someone-else\"}")
            .expect(Status(200)),
        Case::put("reject a used login challenge", login("/reject", &fx.used_login_challenge))
            .admin()
            .json("{}")
            .expect(Status(200)),
        Case::put("accept without a subject", login("/accept", lc))
            .admin()
            .json("{}")
            .expect(AdminError(400, "invalid_request")),
        Case::put("accept with negative remember_for", login("/accept", lc))
            .admin()
            .json("{\"subject\": \"a\", \"remember_for\": -1}")
            .expect(AdminError(400, "invalid_request")),
        Case::put("accept with a wrong type", login("/accept", lc))
            .admin()
            .json("{\"subject\": 42}")
            .expect(Admin(400)),
        Case::put("accept with malformed JSON", login("/accept", lc)).admin().json("{\"subject\":").expect(Admin(400)),
        Case::put("accept a forged challenge", login("/accept", "forged"))
            .admin()
            .json("{\"subject\": \"a\"}")
            .expect(Admin(404)),
        Case::put("accept with the consent challenge", login("/accept", cc))
            .admin()
            .json("{\"subject\": \"a\"}")
            .expect(Admin(404)),
        Case::put("reject with malformed JSON", login("/reject", lc)).admin().json("[").expect(Admin(400)),
        Case::get("GET on accept", login("/accept", lc)).admin().expect(Admin(405)),
        Case::get("consent without a challenge", "/admin/oauth2/auth/requests/consent").admin().expect(Admin(400)),
        Case::get("forged consent challenge", consent("", "forged")).admin().expect(Admin(404)),
        Case::get("login challenge as consent challenge", consent("", lc)).admin().expect(Admin(404)),
        Case::put("grant a scope the client may not have", consent("/accept", cc))
            .admin()
            .json("{\"grant_scope\": [\"admin\"]}")
            .expect(AdminError(400, "invalid_request")),
        Case::put("grant a junk scope under a wildcard", consent("/accept", cc))
            .admin()
            .json("{\"grant_scope\": [\"photos.\\\"x\"]}")
            .expect(AdminError(400, "invalid_request")),
        Case::put("grant an audience the client may not have", consent("/accept", cc))
            .admin()
            .json("{\"grant_access_token_audience\": [\"https://evil.example\"]}")
            .expect(AdminError(400, "invalid_request")),
        Case::put("session claims not an object", consent("/accept", cc))
            .admin()
            .json("{\"session\": {\"access_token\": [1]}}")
            .expect(AdminError(400, "invalid_request")),
        Case::put("negative remember_for", consent("/accept", cc))
            .admin()
            .json("{\"remember_for\": -5}")
            .expect(AdminError(400, "invalid_request")),
        Case::put("consent accept with malformed JSON", consent("/accept", cc)).admin().json("{").expect(Admin(400)),
        Case::put("consent reject with a forged challenge", consent("/reject", "forged"))
            .admin()
            .json("{}")
            .expect(Admin(404)),
        Case::put("consent accept without the admin token", consent("/accept", cc)).json("{}").expect(Admin(401)),
    ]
}

/// One character in the middle of a sealed value, changed to another base64url character.
/// (Changing the last character could leave it as it was: 1 time in 64 it already was the
/// replacement.)
fn tamper(sealed: &str) -> String {
    let mut chars: Vec<char> = sealed.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}
