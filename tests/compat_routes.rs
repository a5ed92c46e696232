//! The route table's generations side by side, against the Worker in workerd: older forms of an
//! operation reach the same handler and answer the same thing, and where two generations use
//! the same method and path for different things, each meaning is decided by what the request
//! shows (docs/compatibility.md, "Where generations collide").

mod common;

use common::oauth::{accept_login, location, param, run_flow, to_consent, to_login, Rp};
use common::{json_of, unique, Server, ADMIN_TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

fn server() -> &'static Server {
    common::shared()
}

fn admin(s: &Server, method: Method, path: &str) -> reqwest::blocking::RequestBuilder {
    s.client().request(method, s.url(path)).bearer_auth(ADMIN_TOKEN)
}

#[test]
fn path_and_query_challenges_reach_the_same_handler() {
    let s = server();
    let rp = Rp::register(s, json!({}));
    let browser = s.browser();
    let login = to_login(&browser, &rp.auth_url(&[]));
    let (s1, by_query) = s.admin_get(&format!("/oauth2/auth/requests/login?login_challenge={login}"));
    let (s2, by_path) = s.admin_get(&format!("/oauth2/auth/requests/login/{login}"));
    let (s3, prefixed) = s.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!((s1, s2, s3), (200, 200, 200));
    assert_eq!(by_query, by_path);
    assert_eq!(by_query, prefixed);
    // Accepted in the v1.0-beta form, continued in the v2 form.
    let (status, done) = json_of(
        admin(s, Method::PUT, &format!("/oauth2/auth/requests/login/{login}/accept"))
            .json(&json!({"subject": "gen-user", "remember": true}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{done}");
    let consent = to_consent(&browser, done["redirect_to"].as_str().unwrap());
    let (_, v2) = s.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={consent}"));
    let (_, beta) = s.admin_get(&format!("/oauth2/auth/requests/consent/{consent}"));
    assert_eq!(v2, beta);
    // The same request cannot be decided twice, whichever form asks.
    let (status, _) = json_of(
        admin(s, Method::PUT, &format!("/oauth2/auth/requests/login/accept?login_challenge={login}"))
            .json(&json!({"subject": "gen-user"}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 409);
}

#[test]
fn accept_is_a_v1_literal_and_a_v1_beta_challenge() {
    let s = server();
    // PUT …/login/accept: v1's accept (the challenge is in the query); here a forged one.
    let (status, _) = json_of(
        admin(s, Method::PUT, "/oauth2/auth/requests/login/accept?login_challenge=forged")
            .json(&json!({"subject": "a"}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 404);
    // GET …/login/accept: v1.0-beta's login request of the challenge "accept" (never one).
    let (status, body) = s.admin_get("/oauth2/auth/requests/login/accept");
    assert_eq!(status, 404, "{body}");
    // Under /admin there is no v1.0-beta form: the literal's 405.
    let r = admin(s, Method::GET, "/admin/oauth2/auth/requests/login/accept").send().unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["allow"].to_str().unwrap()), (405, "PUT"));
}

#[test]
fn revoke_is_the_v1_beta_logout_for_get_and_a_user_for_delete() {
    let s = server();
    // GET: public, the browser goes through the logout flow.
    let r = s.client().get(s.url("/oauth2/auth/sessions/login/revoke")).send().unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), s.url("/oauth2/sessions/logout"));
    // DELETE: the admin route revoking the login sessions of the user named "revoke".
    let r = s.client().delete(s.url("/oauth2/auth/sessions/login/revoke")).send().unwrap();
    assert_eq!(r.status(), 401);
    let rp = Rp::register(s, json!({}));
    let browser = s.browser();
    assert_eq!(run_flow(&rp, &browser, &rp.auth_url(&[]), "revoke").status(), 303);
    let login = to_login(&browser, &rp.auth_url(&[]));
    let (_, lr) = s.admin_get(&format!("/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(lr["skip"], true, "remembered");
    assert_eq!(admin(s, Method::DELETE, "/oauth2/auth/sessions/login/revoke").send().unwrap().status(), 204);
    let login = to_login(&browser, &rp.auth_url(&[]));
    let (_, lr) = s.admin_get(&format!("/oauth2/auth/requests/login?login_challenge={login}"));
    assert_eq!(lr["skip"], false, "the session of user 'revoke' is gone");
}

#[test]
fn client_bodies_say_their_generation() {
    let s = server();
    // v0.10's words.
    let old = unique("gen-v010");
    let (status, c) = json_of(
        admin(s, Method::POST, "/clients")
            .json(&json!({"id": old, "public": true, "redirect_uris": ["https://rp.example/cb"]}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{c}");
    assert_eq!((c["client_id"].as_str(), c["token_endpoint_auth_method"].as_str()), (Some(old.as_str()), Some("none")));
    // v1's words on the same path: the same client model, `id` and `public` mirrored for v0.10 readers.
    let new = unique("gen-v1");
    let (status, c) = json_of(admin(s, Method::POST, "/clients").json(&json!({"client_id": new})).send().unwrap());
    assert_eq!(status, 201);
    assert_eq!((c["id"].as_str(), c["public"].as_bool()), (Some(new.as_str()), Some(false)));
    // v2's /admin/clients answers v26's model exactly: no v0.10 members.
    let (_, c) = s.admin_get(&format!("/admin/clients/{new}"));
    assert!(c.get("id").is_none() && c.get("public").is_none(), "{c}");
    // Disagreeing words: 400, nothing created.
    let third = unique("gen-both");
    let (status, _) = json_of(
        admin(s, Method::POST, "/clients").json(&json!({"id": third, "client_id": "something-else"})).send().unwrap(),
    );
    assert_eq!(status, 400);
    assert_eq!(s.admin_get(&format!("/clients/{third}")).0, 404);
    assert_eq!(s.admin_get("/clients/something-else").0, 404);
}

#[test]
fn list_parameters_say_their_generation() {
    let s = server();
    let owner = unique("gen-owner");
    for _ in 0..3 {
        let (status, _) = s.admin_json(Method::POST, "/admin/clients", &json!({"owner": owner}));
        assert_eq!(status, 201);
    }
    // v1: limit/offset, X-Total-Count, Link with offsets (also the default without /admin).
    for path in [format!("/clients?owner={owner}&limit=2"), format!("/admin/clients?owner={owner}&limit=2&offset=0")] {
        let r = admin(s, Method::GET, &path).send().unwrap();
        assert_eq!(r.headers()["x-total-count"], "3", "{path}");
        let link = r.headers()["link"].to_str().unwrap().to_string();
        assert!(link.contains("offset=2>; rel=\"next\"") && link.contains("rel=\"last\""), "{link}");
        let (_, page) = json_of(r);
        assert_eq!(page.as_array().unwrap().len(), 2);
    }
    let r = admin(s, Method::GET, &format!("/clients?owner={owner}")).send().unwrap();
    assert_eq!(r.headers()["x-total-count"], "3", "v1 pagination without the prefix by default");
    // v2: page_size/page_token (also the default under /admin), no X-Total-Count.
    for path in [format!("/admin/clients?owner={owner}&page_size=2"), format!("/clients?owner={owner}&page_size=2")] {
        let r = admin(s, Method::GET, &path).send().unwrap();
        assert!(r.headers().get("x-total-count").is_none(), "{path}");
        let link = r.headers()["link"].to_str().unwrap().to_string();
        let next = link.split(',').find(|l| l.contains("rel=\"next\"")).expect("next");
        let token = param(next.trim().trim_start_matches('<').split('>').next().unwrap(), "page_token").unwrap();
        let (status, rest) =
            json_of(admin(s, Method::GET, &format!("/admin/clients?owner={owner}&page_token={token}")).send().unwrap());
        assert_eq!((status, rest.as_array().unwrap().len()), (200, 1));
    }
    // Both at once: a 400.
    let (status, _) =
        json_of(admin(s, Method::GET, &format!("/clients?owner={owner}&limit=1&page_size=1")).send().unwrap());
    assert_eq!(status, 400);
}

#[test]
fn sessions_by_path_and_by_query_agree() {
    let s = server();
    let rp = Rp::register(s, json!({}));
    let subject = unique("gen-subject");
    assert_eq!(run_flow(&rp, &s.browser(), &rp.auth_url(&[]), &subject).status(), 303);
    let (_, by_query) = s.admin_get(&format!("/oauth2/auth/sessions/consent?subject={subject}"));
    let (_, by_path) = s.admin_get(&format!("/oauth2/auth/sessions/consent/{subject}"));
    let (_, v2) = s.admin_get(&format!("/admin/oauth2/auth/sessions/consent?subject={subject}"));
    assert_eq!(by_query.as_array().unwrap().len(), 1);
    assert_eq!(by_query, by_path);
    assert_eq!(by_query, v2);
    // v1.0-beta's DELETE …/consent/{user}/{client}.
    let r = admin(s, Method::DELETE, &format!("/oauth2/auth/sessions/consent/{subject}/{}", rp.id)).send().unwrap();
    assert_eq!(r.status(), 204);
    let (_, after) = s.admin_get(&format!("/oauth2/auth/sessions/consent/{subject}"));
    assert_eq!(after, json!([]));
}

#[test]
fn without_a_v0_10_consent_app_consent_is_an_ordinary_parameter() {
    let s = server();
    let rp = Rp::register(s, json!({}));
    // No CONSENT_URL on this server: `consent=` is an unknown parameter, ignored as before.
    let login = to_login(&s.browser(), &rp.auth_url(&[("consent", "whatever")]));
    let to = accept_login(s, &login, &json!({"subject": "gen-plain"}));
    assert!(to.contains("login_verifier="));
    let (status, body): (u16, Value) = s.admin_get("/oauth2/consent/requests/forged");
    assert_eq!(status, 404, "{body}");
}
