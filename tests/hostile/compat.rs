//! Older generations' forms (v1.x, v1.0-beta, v0.10) and where they meet the current one: a
//! challenge in the path and in the query at once, fields of another generation, `id` and
//! `client_id` that disagree, both paginations at once, v0.10 consent requests that were forged,
//! mixed up or answered with v1's words, flush and metrics without the token. Every one is a
//! clear 4xx and changes nothing.

use reqwest::Method;

use super::{enc, Case, Expect, Fixture};
use Expect::*;

pub fn cases(fx: &Fixture) -> Vec<Case> {
    let lc = &fx.login_challenge;
    let cc = &fx.consent_challenge;
    let v = &fx.v010_request;
    let rp = enc(&fx.rp.id);
    let patch = |name: &str, target: String| Case::new(name, Method::PATCH, target).admin();
    let del = |name: &str, target: &str| Case::new(name, Method::DELETE, target).admin();
    let accept = format!("/oauth2/consent/requests/{v}/accept");
    let v010_auth = fx.v010.auth_url(&[]).strip_prefix(&fx.s.base).unwrap().to_string();
    vec![
        // v1.0-beta: challenges in the path.
        Case::get(
            "beta: a challenge in the path and the query",
            format!("/oauth2/auth/requests/login/{lc}?login_challenge={lc}"),
        )
        .admin()
        .expect(Admin(400)),
        Case::put(
            "beta: accept with another challenge in the query",
            format!("/oauth2/auth/requests/login/{lc}/accept?login_challenge=other"),
        )
        .admin()
        .json(r#"{"subject": "a"}"#)
        .expect(Admin(400)),
        Case::put(
            "beta: accept with the challenge alias in the query",
            format!("/oauth2/auth/requests/consent/{cc}/accept?challenge={cc}"),
        )
        .admin()
        .json(r#"{"grant_scope": ["openid"]}"#)
        .expect(Admin(400)),
        Case::put("beta: login accept with a v26 field", format!("/oauth2/auth/requests/login/{lc}/accept"))
            .admin()
            .json(r#"{"subject": "a", "amr": ["pwd"]}"#)
            .expect(Admin(400)),
        Case::put("beta: consent accept with a v0.10 field", format!("/oauth2/auth/requests/consent/{cc}/accept"))
            .admin()
            .json(r#"{"grantScopes": ["openid"]}"#)
            .expect(Admin(400)),
        Case::put("beta: reject with v0.10's reason", format!("/oauth2/auth/requests/login/{lc}/reject"))
            .admin()
            .json(r#"{"reason": "no"}"#)
            .expect(Admin(400)),
        Case::put("beta: accept a forged challenge", "/oauth2/auth/requests/login/forged/accept")
            .admin()
            .json(r#"{"subject": "a"}"#)
            .expect(Admin(404)),
        Case::put("beta: accept a consent challenge as login", format!("/oauth2/auth/requests/login/{cc}/accept"))
            .admin()
            .json(r#"{"subject": "a"}"#)
            .expect(Admin(404)),
        Case::put(
            "beta: accept a used login challenge",
            format!("/oauth2/auth/requests/login/{}/accept", fx.used_login_challenge),
        )
        .admin()
        .json(r#"{"subject": "a"}"#)
        .expect(Admin(409)),
        Case::get("beta: a path form under /admin", format!("/admin/oauth2/auth/requests/login/{lc}"))
            .admin()
            .expect(Admin(404)),
        Case::get("beta: a path form without the admin token", format!("/oauth2/auth/requests/login/{lc}"))
            .expect(Admin(401)),
        Case::put("beta: a challenge named accept", "/oauth2/auth/requests/login/accept/accept")
            .admin()
            .json(r#"{"subject": "a"}"#)
            .expect(Admin(404)),
        // v1.0-beta: users and clients in the path.
        del(
            "beta: a user in the path and a subject in the query",
            "/oauth2/auth/sessions/consent/hostile-user?subject=someone-else",
        )
        .expect(Admin(400)),
        del(
            "beta: a user and client in the path and all in the query",
            &format!("/oauth2/auth/sessions/consent/hostile-user/{rp}?all=true"),
        )
        .expect(Admin(400)),
        del("beta: a login user in the path and a sid in the query", "/oauth2/auth/sessions/login/hostile-user?sid=x")
            .expect(Admin(400)),
        Case::new(
            "beta: sessions by path without the admin token",
            Method::DELETE,
            "/oauth2/auth/sessions/login/hostile-user",
        )
        .expect(Admin(401)),
        Case::post("beta: POST on the logout path", "/oauth2/auth/sessions/login/revoke").expect(Admin(405)),
        Case::get("beta: the logout path goes through the logout flow", "/oauth2/auth/sessions/login/revoke")
            .expect(Status(302)),
        // v0.10 client bodies.
        Case::post("v0.10: id and client_id disagree", "/clients")
            .admin()
            .json(r#"{"id": "a-1", "client_id": "b-1"}"#)
            .expect(Admin(400)),
        Case::post("v0.10: id of the wrong type", "/clients").admin().json(r#"{"id": 5}"#).expect(Admin(400)),
        Case::post("v0.10: public of the wrong type", "/clients")
            .admin()
            .json(r#"{"public": "yes"}"#)
            .expect(Admin(400)),
        Case::post("v0.10: public with a secret method", "/clients")
            .admin()
            .json(r#"{"id": "pub-1", "public": true, "token_endpoint_auth_method": "client_secret_basic"}"#)
            .expect(Admin(400)),
        Case::post("v0.10: not public but method none", "/clients")
            .admin()
            .json(r#"{"public": false, "token_endpoint_auth_method": "none"}"#)
            .expect(Admin(400)),
        Case::put("v0.10: update with disagreeing ids", format!("/clients/{rp}"))
            .admin()
            .json(&format!(r#"{{"id": "{}", "client_id": "someone-else"}}"#, fx.rp.id))
            .expect(Admin(400)),
        Case::post("v0.10: a client body that is not an object", "/clients")
            .admin()
            .json(r#"[{"id": "a"}]"#)
            .expect(Admin(400)),
        // Pagination of two generations at once.
        Case::get("both paginations on clients", "/clients?limit=1&page_token=x").admin().expect(Admin(400)),
        Case::get("both paginations on /admin/clients", "/admin/clients?offset=1&page_size=2")
            .admin()
            .expect(Admin(400)),
        Case::get(
            "both paginations on consent sessions",
            "/oauth2/auth/sessions/consent?subject=a&offset=1&page_size=2",
        )
        .admin()
        .expect(Admin(400)),
        Case::get("a non-numeric limit", "/clients?limit=ten").admin().expect(Admin(400)),
        Case::get("a negative offset", "/clients?offset=-1").admin().expect(Admin(400)),
        Case::get("a fractional offset", "/oauth2/auth/sessions/consent/hostile-user?offset=1.5")
            .admin()
            .expect(Admin(400)),
        Case::get("a huge limit is clamped", "/clients?limit=99999999999").admin().expect(Status(200)),
        // v0.10 consent requests.
        Case::get("v0.10: a forged consent request", "/oauth2/consent/requests/forged").admin().expect(Admin(404)),
        Case::get("v0.10: a login challenge as consent request", format!("/oauth2/consent/requests/{lc}"))
            .admin()
            .expect(Admin(404)),
        Case::get("v0.10: a v2 consent challenge as consent request", format!("/oauth2/consent/requests/{cc}"))
            .admin()
            .expect(Admin(404)),
        Case::get("v0.10: a consent request without the admin token", format!("/oauth2/consent/requests/{v}"))
            .expect(Admin(401)),
        Case::get("v0.10: a consent request under /admin", format!("/admin/oauth2/consent/requests/{v}"))
            .admin()
            .expect(Admin(404)),
        patch("v0.10: accept with v1's words", accept.clone())
            .json(r#"{"subject": "a", "grant_scope": ["openid"]}"#)
            .expect(Admin(400)),
        patch("v0.10: accept without a subject", accept.clone())
            .json(r#"{"grantScopes": ["openid"]}"#)
            .expect(AdminError(400, "invalid_request")),
        patch("v0.10: accept a scope the client may not have", accept.clone())
            .json(r#"{"subject": "a", "grantScopes": ["admin"]}"#)
            .expect(AdminError(400, "invalid_request")),
        patch("v0.10: accessTokenExtra not an object", accept.clone())
            .json(r#"{"subject": "a", "accessTokenExtra": [1]}"#)
            .expect(Admin(400)),
        patch("v0.10: accept with malformed JSON", accept.clone()).json("{").expect(Admin(400)),
        patch("v0.10: accept with an empty body", accept.clone()).json("").expect(Admin(400)),
        patch("v0.10: accept a forged request", "/oauth2/consent/requests/forged/accept".into())
            .json(r#"{"subject": "a"}"#)
            .expect(Admin(404)),
        patch("v0.10: reject with a reason of the wrong type", format!("/oauth2/consent/requests/{v}/reject"))
            .json(r#"{"reason": 5}"#)
            .expect(Admin(400)),
        patch("v0.10: reject with v1's words", format!("/oauth2/consent/requests/{v}/reject"))
            .json(r#"{"error_description": "no"}"#)
            .expect(Admin(400)),
        Case::put("v0.10: PUT instead of PATCH", accept.clone()).admin().json(r#"{"subject": "a"}"#).expect(Admin(405)),
        Case::get("v0.10: return with a forged consent id", format!("{}&consent=forged", fx.auth(&[])))
            .expect(ErrorPage("access_denied")),
        Case::get(
            "v0.10: return with a consent id and a login verifier",
            format!("{}&consent={v}&login_verifier=x", fx.auth(&[])),
        )
        .expect(ErrorPage("invalid_request")),
        Case::get("v0.10: return without the CSRF cookie", format!("{}&consent={v}", v010_auth))
            .expect(Client("request_forbidden")),
        Case::get("v0.10: a duplicated consent id", format!("{}&consent={v}&consent={v}", fx.auth(&[])))
            .expect(ErrorPage("invalid_request")),
        // Flush and metrics.
        Case::post("flush with a date that is not RFC 3339", "/oauth2/flush")
            .admin()
            .json(r#"{"notAfter": "yesterday"}"#)
            .expect(Admin(400)),
        Case::post("flush with v1's snake case", "/oauth2/flush")
            .admin()
            .json(r#"{"not_after": "2020-01-01T00:00:00Z"}"#)
            .expect(Admin(400)),
        Case::post("flush with a body that is not JSON", "/oauth2/flush").admin().json("notAfter=1").expect(Admin(400)),
        Case::post("flush without the admin token", "/oauth2/flush").json("{}").expect(Admin(401)),
        Case::get("metrics without the admin token", "/metrics/prometheus").expect(Admin(401)),
        Case::post("POST on metrics", "/metrics/prometheus").admin().expect(Admin(405)),
        Case::get("version without the admin token", "/version").expect(Admin(401)),
    ]
}
