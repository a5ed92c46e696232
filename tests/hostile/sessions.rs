//! `/admin/oauth2/auth/sessions/*`: wrong parameter combinations, forged page tokens, revoking
//! another subject's sessions (nothing changes), missing admin token, wrong methods.

use reqwest::Method;

use super::{enc, Case, Expect, Fixture};
use Expect::*;

pub fn cases(fx: &Fixture) -> Vec<Case> {
    let consent = |q: &str| format!("/admin/oauth2/auth/sessions/consent?{q}");
    let login = |q: &str| format!("/admin/oauth2/auth/sessions/login?{q}");
    let del = |name: &str, target: String| Case::new(name, Method::DELETE, target).admin();
    let rp = enc(&fx.rp.id);
    vec![
        Case::get("list without a subject", consent("")).admin().expect(AdminError(400, "invalid_request")),
        Case::get("list with an empty subject", consent("subject=")).admin().expect(AdminError(400, "invalid_request")),
        Case::get("list with a forged page token", consent("subject=hostile-user&page_token=forged"))
            .admin()
            .expect(AdminError(400, "invalid_request")),
        Case::get(
            "list with a login challenge as page token",
            consent(&format!("subject=hostile-user&page_token={}", fx.login_challenge)),
        )
        .admin()
        .expect(AdminError(400, "invalid_request")),
        Case::get("list with a non-numeric page size", consent("subject=hostile-user&page_size=ten"))
            .admin()
            .expect(Admin(400)),
        Case::get("list without the admin token", consent("subject=hostile-user")).expect(Admin(401)),
        Case::get("list of an unknown subject", consent("subject=%00nobody")).admin().expect(Status(200)),
        del("revoke without parameters", consent("")).expect(AdminError(400, "invalid_request")),
        del("revoke with a subject only", consent("subject=hostile-user")).expect(AdminError(400, "invalid_request")),
        del("revoke with a client only", consent(&format!("client={rp}"))).expect(AdminError(400, "invalid_request")),
        del("revoke with all=true only", consent("all=true")).expect(AdminError(400, "invalid_request")),
        del("revoke with all=TRUE", consent("subject=hostile-user&all=TRUE"))
            .expect(AdminError(400, "invalid_request")),
        del("revoke with client and all", consent(&format!("subject=hostile-user&client={rp}&all=true")))
            .expect(AdminError(400, "invalid_request")),
        del("revoke with an id and a subject", consent("subject=hostile-user&consent_request_id=abc"))
            .expect(AdminError(400, "invalid_request")),
        del("revoke another subject's sessions", consent(&format!("subject=someone-who-never-consented&client={rp}")))
            .expect(Status(204)),
        del("revoke all of an unknown subject", consent("subject=%27%20OR%201%3D1%20--&all=true")).expect(Status(204)),
        del("revoke an unknown consent request id", consent("consent_request_id=00000000000000000000000000000000"))
            .expect(Status(204)),
        Case::new(
            "revoke consents without the admin token",
            Method::DELETE,
            consent(&format!("subject=hostile-user&client={rp}")),
        )
        .expect(Admin(401)),
        del("revoke login sessions without parameters", login("")).expect(AdminError(400, "invalid_request")),
        del("revoke login sessions with empty values", login("subject=&sid="))
            .expect(AdminError(400, "invalid_request")),
        del("revoke an unknown login session", login("sid=no-such-session")).expect(Status(204)),
        del("revoke the login sessions of an unknown subject", login("subject=no-such-subject")).expect(Status(204)),
        Case::new("revoke login sessions without the admin token", Method::DELETE, login("subject=hostile-user"))
            .expect(Admin(401)),
        Case::get("GET on login sessions", login("subject=hostile-user")).admin().expect(Admin(405)),
        Case::put("PUT on consent sessions", consent("subject=hostile-user")).admin().json("{}").expect(Admin(405)),
    ]
}
