//! Hydra v0.10/v0.11 (seed 001): no SDK package of that generation exists, so these tests send
//! exactly the requests and bodies the seed's method table documents, against the Worker in
//! workerd with `CONSENT_URL` set: clients with `id` and `public`, `limit`/`offset` lists, the
//! consent-request flow from `/oauth2/auth` to tokens (accept and reject), introspection,
//! userinfo (POST), revocation, flush and discovery. The v2 login/consent flow runs beside it on
//! the same server, for the clients `CONSENT_URL_CLIENTS` does not name.

mod common;

use common::oauth::{location, param, REDIRECT};
use common::tokens::decode_part;
use common::{json_of, Server, ADMIN_TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

const CONSENT_APP: &str = "https://consent-v0-10.example/consent";
const APP: &str = "v010-app";
const PUBLIC_APP: &str = "v010-public";
const SECRET: &str = "v010-secret-0123456789";

fn server() -> &'static Server {
    static S: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        Server::start(&[
            ("CONSENT_URL", CONSENT_APP),
            ("CONSENT_URL_CLIENTS", &format!("{APP},{PUBLIC_APP},v010-reject,v010-crud,v010-hint")),
        ])
    })
}

/// An admin request as the v0.10 SDK sends it (the admin token as its OAuth2 access token).
fn admin(s: &Server, method: Method, path: &str) -> reqwest::blocking::RequestBuilder {
    s.client().request(method, s.url(path)).bearer_auth(ADMIN_TOKEN)
}

/// `createOAuth2Client`: v0.10's `OAuth2Client` body.
fn create_client(s: &Server, id: &str, public: bool) -> Value {
    let mut body = json!({
        "id": id,
        "client_name": "v0.10 app",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid offline_access photos",
        "owner": "v010-owner",
        "policy_uri": "https://rp.example/policy",
        "tos_uri": "https://rp.example/tos",
        "client_uri": "https://rp.example",
        "logo_uri": "https://rp.example/logo.png",
        "contacts": ["admin@rp.example"],
        "public": public,
    });
    if !public {
        body["client_secret"] = json!(SECRET);
    }
    let (status, c) = json_of(admin(s, Method::POST, "/clients").json(&body).send().unwrap());
    assert_eq!(status, 201, "{c}");
    c
}

/// `/oauth2/auth` in a browser: the redirect to the v0.10 consent app, and the `consent` id.
fn start(s: &Server, browser: &reqwest::blocking::Client, client_id: &str, extra: &str) -> String {
    let url = s.url(&format!(
        "/oauth2/auth?client_id={client_id}&response_type=code&redirect_uri={}&scope=openid+photos+offline_access&state=v010-state-123&nonce=v010-nonce-123{extra}",
        form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    ));
    let r = browser.get(url).send().unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().unwrap_or_default());
    let to = location(&r);
    assert!(to.starts_with(&format!("{CONSENT_APP}?consent=")), "{to}");
    param(&to, "consent").unwrap()
}

#[test]
fn the_v0_10_consent_flow_ends_in_tokens() {
    let s = server();
    let c = create_client(s, APP, false);
    // v0.10's model, and v1's words for it beside.
    assert_eq!((c["id"].as_str(), c["client_id"].as_str()), (Some(APP), Some(APP)));
    assert_eq!((c["public"].as_bool(), c["client_secret"].as_str()), (Some(false), Some(SECRET)));

    let browser = s.browser();
    let id = start(s, &browser, APP, "");
    // getOAuth2ConsentRequest
    let (status, cr) = json_of(admin(s, Method::GET, &format!("/oauth2/consent/requests/{id}")).send().unwrap());
    assert_eq!(status, 200, "{cr}");
    assert_eq!(cr["id"], id.as_str());
    assert_eq!(cr["clientId"], APP);
    assert_eq!(cr["requestedScopes"], json!(["openid", "photos", "offline_access"]));
    assert!(cr["expiresAt"].as_str().unwrap().ends_with('Z'), "{cr}");
    let redirect_url = cr["redirectUrl"].as_str().unwrap().to_string();
    assert!(redirect_url.starts_with(&s.url("/oauth2/auth?")) && redirect_url.ends_with(&format!("&consent={id}")));
    // Without the admin token: refused, like every admin route.
    let r = s.client().get(s.url(&format!("/oauth2/consent/requests/{id}"))).send().unwrap();
    assert_eq!(r.status(), 401);

    // acceptOAuth2ConsentRequest: 204, no body.
    let r = admin(s, Method::PATCH, &format!("/oauth2/consent/requests/{id}/accept"))
        .json(&json!({
            "subject": "alice",
            "grantScopes": ["openid", "photos", "offline_access"],
            "accessTokenExtra": {"tier": "gold"},
            "idTokenExtra": {"email": "alice@example.com"},
        }))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.text().unwrap().is_empty());
    // Decided once.
    let r = admin(s, Method::PATCH, &format!("/oauth2/consent/requests/{id}/accept"))
        .json(&json!({"subject": "mallory", "grantScopes": ["openid"]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 409);

    // The browser returns to `redirectUrl` and lands at the client with a code.
    let r = browser.get(&redirect_url).send().unwrap();
    assert_eq!(r.status(), 303, "{}", location(&r));
    let to = location(&r);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(param(&to, "state").as_deref(), Some("v010-state-123"));
    let code = param(&to, "code").expect("code");
    // The request is spent: the id answers 410, the URL does not work twice.
    let (status, _) = json_of(admin(s, Method::GET, &format!("/oauth2/consent/requests/{id}")).send().unwrap());
    assert_eq!(status, 410);
    let again = location(&browser.get(&redirect_url).send().unwrap());
    assert_eq!(param(&again, "error").as_deref(), Some("access_denied"), "{again}");

    // oauthToken
    let (status, tokens) = json_of(
        s.client()
            .post(s.url("/oauth2/token"))
            .basic_auth(APP, Some(SECRET))
            .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{tokens}");
    let at = tokens["access_token"].as_str().unwrap();
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let id_token = decode_part(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!((id_token["sub"].as_str(), id_token["email"].as_str()), (Some("alice"), Some("alice@example.com")));
    assert_eq!(id_token["nonce"], "v010-nonce-123");
    assert!(id_token.get("sid").is_none(), "no login session, no sid: {id_token}");

    // introspectOAuth2Token: accessTokenExtra comes back as `ext`.
    let (status, i) = json_of(
        admin(s, Method::POST, "/oauth2/introspect").form(&[("token", at), ("scope", "photos")]).send().unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(
        (i["active"].as_bool(), i["sub"].as_str(), i["client_id"].as_str()),
        (Some(true), Some("alice"), Some(APP))
    );
    assert_eq!(i["ext"], json!({"tier": "gold"}));

    // userinfo (POST, as the seed documents it): the ID token's claims with idTokenExtra.
    let (status, u) = json_of(s.client().post(s.url("/userinfo")).bearer_auth(at).send().unwrap());
    assert_eq!(status, 200, "{u}");
    assert_eq!((u["sub"].as_str(), u["email"].as_str()), (Some("alice"), Some("alice@example.com")));

    // revokeOAuth2Token (basic), then the token is inactive.
    let r =
        s.client().post(s.url("/oauth2/revoke")).basic_auth(APP, Some(SECRET)).form(&[("token", at)]).send().unwrap();
    assert_eq!(r.status(), 200);
    let (_, i) = json_of(admin(s, Method::POST, "/oauth2/introspect").form(&[("token", at)]).send().unwrap());
    assert_eq!(i["active"], false);
}

#[test]
fn a_rejected_consent_request_ends_at_the_client_with_the_reason() {
    let s = server();
    create_client(s, "v010-reject", false);
    let browser = s.browser();
    let id = start(s, &browser, "v010-reject", "");
    let r = admin(s, Method::PATCH, &format!("/oauth2/consent/requests/{id}/reject"))
        .json(&json!({"reason": "The user said no."}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, cr) = json_of(admin(s, Method::GET, &format!("/oauth2/consent/requests/{id}")).send().unwrap());
    let r = browser.get(cr["redirectUrl"].as_str().unwrap()).send().unwrap();
    let to = location(&r);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(param(&to, "error").as_deref(), Some("rejected_consent_request"));
    assert!(param(&to, "error_description").unwrap().contains("The user said no."), "{to}");
    assert_eq!(param(&to, "state").as_deref(), Some("v010-state-123"));
    // Accepting after the rejection changes nothing.
    let r = admin(s, Method::PATCH, &format!("/oauth2/consent/requests/{id}/accept"))
        .json(&json!({"subject": "alice", "grantScopes": ["openid"]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 409);
}

#[test]
fn a_public_client_with_pkce_and_csrf_binding() {
    let s = server();
    let c = create_client(s, PUBLIC_APP, true);
    assert_eq!((c["public"].as_bool(), c["token_endpoint_auth_method"].as_str()), (Some(true), Some("none")));
    assert!(c.get("client_secret").is_none(), "{c}");
    let verifier = "v010-pkce-verifier-0123456789abcdefghijklmnopqrstuvw";
    let challenge = common::oauth::challenge_of(verifier);
    let browser = s.browser();
    let id = start(s, &browser, PUBLIC_APP, &format!("&code_challenge={challenge}&code_challenge_method=S256"));
    let r = admin(s, Method::PATCH, &format!("/oauth2/consent/requests/{id}/accept"))
        .json(&json!({"subject": "bob", "grantScopes": ["openid"]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, cr) = json_of(admin(s, Method::GET, &format!("/oauth2/consent/requests/{id}")).send().unwrap());
    let redirect_url = cr["redirectUrl"].as_str().unwrap();
    // Another browser (no CSRF cookie) cannot finish it.
    let r = s.browser().get(redirect_url).send().unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("request_forbidden"), "{}", location(&r));
    let r = browser.get(redirect_url).send().unwrap();
    let code = param(&location(&r), "code").unwrap_or_else(|| panic!("{}", location(&r)));
    let (status, tokens) = json_of(
        s.client()
            .post(s.url("/oauth2/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", PUBLIC_APP),
                ("code_verifier", verifier),
            ])
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "openid");
}

#[test]
fn clients_as_v0_10_manages_them() {
    let s = server();
    create_client(s, "v010-crud", false);
    // getOAuth2Client: no secret, `id` and `public` beside v1's fields.
    let (status, c) = json_of(admin(s, Method::GET, "/clients/v010-crud").send().unwrap());
    assert_eq!(status, 200);
    assert_eq!((c["id"].as_str(), c["public"].as_bool()), (Some("v010-crud"), Some(false)));
    assert!(c.get("client_secret").is_none());
    // updateOAuth2Client: v0.10 answered 201.
    let r = admin(s, Method::PUT, "/clients/v010-crud")
        .json(&json!({"id": "v010-crud", "client_name": "renamed", "redirect_uris": [REDIRECT], "scope": "openid", "public": false}))
        .send()
        .unwrap();
    let (status, c) = json_of(r);
    assert_eq!(status, 201, "{c}");
    assert_eq!((c["client_name"].as_str(), c["id"].as_str()), (Some("renamed"), Some("v010-crud")));
    // listOAuth2Clients with limit and offset: a page, and the total.
    let r = admin(s, Method::GET, "/clients?limit=1&offset=0").send().unwrap();
    let total: i64 = r.headers()["x-total-count"].to_str().unwrap().parse().unwrap();
    assert!(total >= 1);
    let (status, list) = json_of(r);
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0]["id"].is_string() && list[0]["public"].is_boolean(), "{list}");
    // Conflicting words are a 400, and nothing changes.
    let (status, e) = json_of(
        admin(s, Method::PUT, "/clients/v010-crud")
            .json(&json!({"id": "v010-crud", "client_id": "other"}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400, "{e}");
    let (_, c) = json_of(admin(s, Method::GET, "/clients/v010-crud").send().unwrap());
    assert_eq!(c["client_name"], "renamed");
    // deleteOAuth2Client
    assert_eq!(admin(s, Method::DELETE, "/clients/v010-crud").send().unwrap().status(), 204);
    assert_eq!(admin(s, Method::GET, "/clients/v010-crud").send().unwrap().status(), 404);
}

#[test]
fn flush_discovery_and_keys() {
    let s = server();
    // flushInactiveOAuth2Tokens, with and without notAfter.
    let r = admin(s, Method::POST, "/oauth2/flush").json(&json!({"notAfter": "2020-01-01T00:00:00Z"})).send().unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(admin(s, Method::POST, "/oauth2/flush").send().unwrap().status(), 204);
    let r = s.client().post(s.url("/oauth2/flush")).json(&json!({})).send().unwrap();
    assert_eq!(r.status(), 401, "an admin route");
    // getWellKnown and wellKnown.
    let (status, d) = json_of(s.client().get(s.url("/.well-known/openid-configuration")).send().unwrap());
    assert_eq!((status, d["issuer"].as_str()), (200, Some(s.base.as_str())));
    let (status, jwks) = json_of(s.client().get(s.url("/.well-known/jwks.json")).send().unwrap());
    assert_eq!(status, 200);
    assert!(!jwks["keys"].as_array().unwrap().is_empty());
}

#[test]
fn the_v2_flow_runs_beside_it() {
    let s = server();
    // A client the v0.10 setting does not name goes through login and consent as in v2.
    let rp = common::oauth::Rp::register(s, json!({}));
    let browser = s.browser();
    let r = common::oauth::run_flow(&rp, &browser, &rp.auth_url(&[]), "carol");
    assert_eq!(r.status(), 303);
    let code = param(&location(&r), "code").expect("code");
    let (status, tokens, _) = rp.exchange(&code, common::oauth::VERIFIER);
    assert_eq!(status, 200, "{tokens}");
    // A `consent` id on a v2 flow's verifier URL is refused, not mixed in.
    let login = common::oauth::to_login(&browser, &rp.auth_url(&[("prompt", "login")]));
    let to = common::oauth::accept_login(s, &login, &json!({"subject": "carol"}));
    let r = browser.get(format!("{to}&consent=x")).send().unwrap();
    assert_eq!(r.status(), 302, "the error page");
    assert_eq!(param(&location(&r), "error").as_deref(), Some("invalid_request"), "{}", location(&r));
}

/// What fosite checked of v0.10's consent, the flow still checks: the subject an
/// `id_token_hint` names and `max_age` against the app's `authTime` (`login_required` at the
/// client, the request spent), and a hint that is not our ID token is refused up front.
#[test]
fn an_id_token_hint_and_max_age_bind_the_consent_apps_login() {
    let s = server();
    let client = "v010-hint";
    create_client(s, client, false);
    // Accept as `subject` (with `extra` members), follow the browser back; where it lands.
    let run = |extra: &str, accept: Value| {
        let browser = s.browser();
        let id = start(s, &browser, client, extra);
        let r = admin(s, Method::PATCH, &format!("/oauth2/consent/requests/{id}/accept")).json(&accept).send().unwrap();
        assert_eq!(r.status(), 204);
        let (_, cr) = json_of(admin(s, Method::GET, &format!("/oauth2/consent/requests/{id}")).send().unwrap());
        let back = cr["redirectUrl"].as_str().unwrap().to_string();
        let to = location(&browser.get(&back).send().unwrap());
        assert!(to.starts_with(REDIRECT), "{to}");
        // Spent either way.
        let (status, _) = json_of(admin(s, Method::GET, &format!("/oauth2/consent/requests/{id}")).send().unwrap());
        assert_eq!(status, 410, "{to}");
        to
    };
    let alice = json!({"subject": "alice", "grantScopes": ["openid"]});
    let to = run("", alice.clone());
    let code = param(&to, "code").expect("code");
    let (status, tokens) = json_of(
        s.client()
            .post(s.url("/oauth2/token"))
            .basic_auth(client, Some(SECRET))
            .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{tokens}");
    let hint = tokens["id_token"].as_str().unwrap().to_string();

    let with_hint = format!("&id_token_hint={hint}");
    let to = run(&with_hint, json!({"subject": "bob", "grantScopes": ["openid"]}));
    assert_eq!(param(&to, "error").as_deref(), Some("login_required"), "{to}");
    assert!(param(&to, "code").is_none());
    let to = run(&with_hint, alice.clone());
    assert!(param(&to, "code").is_some(), "{to}");

    let an_hour_ago = common::tokens::now() - 3600;
    let to = run("&max_age=60", json!({"subject": "alice", "grantScopes": ["openid"], "authTime": an_hour_ago}));
    assert_eq!(param(&to, "error").as_deref(), Some("login_required"), "{to}");
    let to = run("&max_age=60", alice);
    assert!(param(&to, "code").is_some(), "authTime defaults to the acceptance: {to}");

    // A hint this server did not sign never reaches the consent app.
    let mut parts: Vec<String> = hint.split('.').map(str::to_string).collect();
    parts[2] = common::tokens::b64url(&[7u8; 64]);
    let forged = parts.join(".");
    let r = s
        .browser()
        .get(s.url(&format!(
            "/oauth2/auth?client_id={client}&response_type=code&redirect_uri={}&scope=openid&state=v010-state-123&nonce=v010-nonce-123&id_token_hint={forged}",
            form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
        )))
        .send()
        .unwrap();
    let to = location(&r);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(param(&to, "error").as_deref(), Some("invalid_request"), "{to}");
}
