//! Ory's Rust SDK of Hydra v1.10 (`ory-hydra-client` 1.10.6, whose method table is seed 003),
//! unchanged, against the Worker in workerd: the v1.x admin API without the `/admin` prefix
//! (clients with `limit`/`offset`, JSON Web Keys, login, consent and logout requests with the
//! challenge in the query, consent and login sessions, introspection, token deletion, flush),
//! metadata (version, health, Prometheus metrics) and the public API (discovery, JWKS, token,
//! userinfo, revocation), with a complete login + consent flow to tokens. Its models are typed,
//! so a member missing or of the wrong type fails here.
//!
//! The SDK runs on reqwest 0.11; the browser's part uses the project's reqwest.

mod common;

use common::cli::TOKEN;
use common::oauth::param;
use common::{unique, Server};
use ory_hydra_client_v1::apis::configuration::Configuration;
use ory_hydra_client_v1::apis::{admin_api, metadata_api, public_api, Error};
use ory_hydra_client_v1::models;
use serde_json::json;

const REDIRECT: &str = "https://rp.example/cb";

/// The SDK's configuration. v1's OpenAPI document declares no security on admin operations, so
/// the admin token goes in as a default header of the SDK's own reqwest 0.11 client.
fn config(s: &Server, token: Option<&str>) -> Configuration {
    let mut headers = reqwest011::header::HeaderMap::new();
    if let Some(t) = token {
        headers.insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    Configuration {
        base_path: s.base.clone(),
        client: reqwest011::Client::builder()
            .default_headers(headers)
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap(),
        ..Configuration::default()
    }
}

/// The HTTP status of an SDK error (panics on transport or decoding errors).
fn status<T: std::fmt::Debug>(e: Error<T>) -> u16 {
    match e {
        Error::ResponseError(r) => r.status.as_u16(),
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

async fn metadata(s: &Server, admin: &Configuration) {
    let v = admin_api::get_version(admin).await.expect("get_version");
    assert!(v.version.as_deref().is_some_and(|v| v.starts_with('v')), "{v:?}");
    assert_eq!(admin_api::is_instance_alive(admin).await.expect("is_instance_alive").status.as_deref(), Some("ok"));
    let public = config(s, None);
    // Health is public, as on Hydra's public port; version and metrics are admin routes.
    assert_eq!(admin_api::is_instance_alive(&public).await.expect("alive").status.as_deref(), Some("ok"));
    assert_eq!(public_api::is_instance_ready(&public).await.expect("ready").status.as_deref(), Some("ok"));
    assert_eq!(status(admin_api::get_version(&public).await.unwrap_err()), 401);
    assert_eq!(status(metadata_api::prometheus(&public).await.unwrap_err()), 401);
    metadata_api::prometheus(admin).await.expect("prometheus");
    let wrong = config(s, Some("wrong-token-wrong-token-wrong-token-0"));
    assert_eq!(status(admin_api::list_o_auth2_clients(&wrong, None, None, None, None).await.unwrap_err()), 401);

    let d = public_api::discover_open_id_configuration(&public).await.expect("discovery decodes as v1's WellKnown");
    assert_eq!(d.issuer, s.base);
    assert_eq!(d.token_endpoint, s.url("/oauth2/token"));
    let jwks = public_api::well_known(&public).await.expect("well_known");
    assert!(!jwks.keys.unwrap_or_default().is_empty());
}

async fn clients(s: &Server, admin: &Configuration) {
    let owner = unique("v1-owner");
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut c = models::OAuth2Client::new();
        c.client_id = Some(unique("v1-client"));
        c.client_name = Some(format!("v1 client {i}"));
        c.owner = Some(owner.clone());
        c.redirect_uris = Some(vec![REDIRECT.into()]);
        c.scope = Some("openid offline_access".into());
        c.metadata = Some(json!({"n": i}));
        let created = admin_api::create_o_auth2_client(admin, c).await.expect("create_o_auth2_client");
        assert!(created.client_secret.as_deref().is_some_and(|s| !s.is_empty()));
        ids.push(created.client_id.unwrap());
    }
    let got = admin_api::get_o_auth2_client(admin, &ids[0]).await.expect("get_o_auth2_client");
    assert_eq!(got.client_name.as_deref(), Some("v1 client 0"));
    assert!(got.client_secret.is_none());
    assert_eq!(status(admin_api::get_o_auth2_client(admin, &unique("missing")).await.unwrap_err()), 404);

    // The SDK lists with limit/offset; the server answers v1's page and headers.
    let page = admin_api::list_o_auth2_clients(admin, Some(500), Some(0), None, Some(&owner))
        .await
        .expect("list_o_auth2_clients");
    let listed: Vec<_> = page.iter().filter_map(|c| c.client_id.clone()).collect();
    assert_eq!(listed, ids, "the owner's clients, in the order they were made");
    let second =
        admin_api::list_o_auth2_clients(admin, Some(1), Some(1), None, Some(&owner)).await.expect("second page");
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].client_id, page[0].client_id);
    let r = reqwest::Client::new()
        .get(s.url(&format!("/clients?owner={owner}&limit=2&offset=0")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-total-count"], "3");
    let link = r.headers()["link"].to_str().unwrap().to_string();
    assert!(link.contains("limit=2&offset=2>; rel=\"next\""), "{link}");
    assert!(link.contains("rel=\"last\""), "{link}");

    let mut replacement = models::OAuth2Client::new();
    replacement.client_name = Some("replaced".into());
    replacement.redirect_uris = Some(vec![REDIRECT.into()]);
    let updated = admin_api::update_o_auth2_client(admin, &ids[1], replacement).await.expect("update_o_auth2_client");
    assert_eq!(updated.client_name.as_deref(), Some("replaced"));
    let mut op = models::PatchDocument::new("replace".into(), "/client_name".into());
    op.value = Some(json!("patched"));
    let patched = admin_api::patch_o_auth2_client(admin, &ids[1], vec![op]).await.expect("patch_o_auth2_client");
    assert_eq!(patched.client_name.as_deref(), Some("patched"));
    for id in &ids {
        admin_api::delete_o_auth2_client(admin, id).await.expect("delete_o_auth2_client");
    }
    assert_eq!(status(admin_api::get_o_auth2_client(admin, &ids[0]).await.unwrap_err()), 404);
}

async fn keys(admin: &Configuration) {
    let set = unique("v1-set");
    let req = models::JsonWebKeySetGeneratorRequest::new("ES256".into(), "k1".into(), "sig".into());
    let created = admin_api::create_json_web_key_set(admin, &set, Some(req)).await.expect("create_json_web_key_set");
    let keys = created.keys.unwrap();
    assert_eq!((keys[0].kid.as_str(), keys[0].alg.as_str(), keys[0]._use.as_str()), ("k1", "ES256", "sig"));
    let one = admin_api::get_json_web_key(admin, "k1", &set).await.expect("get_json_web_key");
    assert_eq!(one.keys.unwrap()[0].kid, "k1");
    let whole = admin_api::get_json_web_key_set(admin, &set).await.expect("get_json_web_key_set");
    let mut key = whole.keys.clone().unwrap()[0].clone();
    key.kid = "k2".into();
    let put = admin_api::update_json_web_key(admin, "k2", &set, Some(key)).await.expect("update_json_web_key");
    assert_eq!(put.kid, "k2");
    let replaced = admin_api::update_json_web_key_set(admin, &set, Some(whole)).await.expect("update_json_web_key_set");
    assert_eq!(replaced.keys.unwrap().len(), 1);
    admin_api::delete_json_web_key(admin, "k1", &set).await.expect("delete_json_web_key");
    admin_api::delete_json_web_key_set(admin, &set).await.expect("delete_json_web_key_set");
    assert_eq!(status(admin_api::get_json_web_key_set(admin, &set).await.unwrap_err()), 404);
}

/// A browser that keeps cookies and does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

fn auth_url(s: &Server, client_id: &str, state: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid offline_access")
        .append_pair("state", state)
        .append_pair("nonce", "v1-sdk-nonce-0123456789");
    s.url(&format!("/oauth2/auth?{}", q.finish()))
}

async fn flow_and_sessions(s: &Server, admin: &Configuration) {
    let mut input = models::OAuth2Client::new();
    input.client_id = Some(unique("v1-rp"));
    input.redirect_uris = Some(vec![REDIRECT.into()]);
    input.grant_types = Some(vec!["authorization_code".into(), "refresh_token".into()]);
    input.scope = Some("openid offline_access".into());
    let client = admin_api::create_o_auth2_client(admin, input).await.expect("create client");
    let id = client.client_id.clone().unwrap();
    let secret = client.client_secret.clone().unwrap();
    let subject = unique("v1-user");

    let b = browser();
    let r = b.get(auth_url(s, &id, "v1-sdk-state-0123456789")).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let challenge = param(&location(&r), "login_challenge").unwrap();
    let login = admin_api::get_login_request(admin, &challenge).await.expect("get_login_request");
    assert_eq!(login.client.client_id.as_deref(), Some(id.as_str()));
    assert!(!login.skip);
    assert_eq!(login.requested_scope, vec!["openid", "offline_access"]);
    let mut accept = models::AcceptLoginRequest::new(subject.clone());
    accept.remember = Some(true);
    accept.remember_for = Some(3600);
    let to = admin_api::accept_login_request(admin, &challenge, Some(accept)).await.expect("accept_login_request");
    let r = b.get(&to.redirect_to).send().await.unwrap();
    let consent_challenge = param(&location(&r), "consent_challenge").unwrap();
    let consent = admin_api::get_consent_request(admin, &consent_challenge).await.expect("get_consent_request");
    assert_eq!(consent.subject.as_deref(), Some(subject.as_str()));
    let mut grant = models::AcceptConsentRequest::new();
    grant.grant_scope = consent.requested_scope.clone();
    grant.remember = Some(true);
    let mut session = models::ConsentRequestSession::new();
    session.access_token = Some(json!({"tier": "gold"}));
    session.id_token = Some(json!({"email": "v1@example.com"}));
    grant.session = Some(Box::new(session));
    let to = admin_api::accept_consent_request(admin, &consent_challenge, Some(grant))
        .await
        .expect("accept_consent_request");
    let r = b.get(&to.redirect_to).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let code = param(&location(&r), "code").unwrap();

    // The token endpoint through the SDK (client_secret_basic).
    let mut public = config(s, None);
    public.basic_auth = Some((id.clone(), Some(secret.clone())));
    let tokens = public_api::oauth2_token(&public, "authorization_code", Some(&code), None, Some(REDIRECT), None)
        .await
        .expect("oauth2_token");
    let at = tokens.access_token.clone().unwrap();
    let rt = tokens.refresh_token.clone().unwrap();
    let i = admin_api::introspect_o_auth2_token(admin, &at, Some("openid")).await.expect("introspect_o_auth2_token");
    assert!(i.active);
    assert_eq!(i.sub.as_deref(), Some(subject.as_str()));
    assert_eq!(i.ext, Some(json!({"tier": "gold"})));
    let mut bearer = config(s, None);
    bearer.oauth_access_token = Some(at.clone());
    let info = public_api::userinfo(&bearer).await.expect("userinfo");
    assert_eq!((info.sub.as_deref(), info.email.as_deref()), (Some(subject.as_str()), Some("v1@example.com")));
    let refreshed = public_api::oauth2_token(&public, "refresh_token", None, Some(&rt), None, None)
        .await
        .expect("refresh through the SDK");
    public_api::revoke_o_auth2_token(&public, refreshed.refresh_token.as_deref().unwrap())
        .await
        .expect("revoke_o_auth2_token");

    // Consent sessions: list with v1's pagination, revoke for one client.
    let listed =
        admin_api::list_subject_consent_sessions(admin, &subject).await.expect("list_subject_consent_sessions");
    assert_eq!(listed.len(), 1);
    let first = &listed[0];
    assert_eq!(first.grant_scope.as_deref(), Some(&["openid".to_string(), "offline_access".to_string()][..]));
    assert_eq!(
        first.consent_request.as_ref().unwrap().client.as_ref().unwrap().client_id.as_deref(),
        Some(id.as_str())
    );
    assert!(first.handled_at.is_some());

    // Rejections reach the client.
    let r = b.get(auth_url(s, &id, "v1-sdk-state-second-012")).send().await.unwrap();
    let second = param(&location(&r), "login_challenge").unwrap();
    let skipped = admin_api::get_login_request(admin, &second).await.expect("remembered login");
    assert!(skipped.skip, "the remembered session skips the login");
    let to = admin_api::accept_login_request(admin, &second, Some(models::AcceptLoginRequest::new(subject.clone())))
        .await
        .expect("accept again");
    let r = b.get(&to.redirect_to).send().await.unwrap();
    let loc = location(&r);
    let consent_challenge = param(&loc, "consent_challenge").unwrap_or_else(|| panic!("{loc}"));
    let mut reject = models::RejectRequest::new();
    reject.error = Some("access_denied".into());
    reject.error_description = Some("not today".into());
    let to = admin_api::reject_consent_request(admin, &consent_challenge, Some(reject))
        .await
        .expect("reject_consent_request");
    let r = b.get(&to.redirect_to).send().await.unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("access_denied"));
    let other = browser();
    let r = other.get(auth_url(s, &id, "v1-sdk-state-third-0123")).send().await.unwrap();
    let third = param(&location(&r), "login_challenge").unwrap();
    let to = admin_api::reject_login_request(admin, &third, Some(models::RejectRequest::new()))
        .await
        .expect("reject_login_request");
    let r = other.get(&to.redirect_to).send().await.unwrap();
    assert!(param(&location(&r), "error").is_some(), "{}", location(&r));

    // Logout: the browser asks, the logout app reads, rejects one request and accepts another.
    let r = b.get(s.url("/oauth2/sessions/logout")).send().await.unwrap();
    let logout = param(&location(&r), "logout_challenge").unwrap();
    let lr = admin_api::get_logout_request(admin, &logout).await.expect("get_logout_request");
    assert_eq!(lr.subject.as_deref(), Some(subject.as_str()));
    assert_eq!(lr.rp_initiated, Some(false));
    admin_api::reject_logout_request(admin, &logout, Some(models::RejectRequest::new()))
        .await
        .expect("reject_logout_request");
    let r = b.get(s.url("/oauth2/sessions/logout")).send().await.unwrap();
    let logout = param(&location(&r), "logout_challenge").unwrap();
    let to = admin_api::accept_logout_request(admin, &logout).await.expect("accept_logout_request");
    let r = b.get(&to.redirect_to).send().await.unwrap();
    assert_eq!(r.status(), 302);

    admin_api::revoke_consent_sessions(admin, &subject, Some(&id), None).await.expect("revoke_consent_sessions");
    assert!(admin_api::list_subject_consent_sessions(admin, &subject).await.unwrap().is_empty());
    assert!(!admin_api::introspect_o_auth2_token(admin, &at, None).await.unwrap().active);
    admin_api::revoke_authentication_session(admin, &subject).await.expect("revoke_authentication_session");
    admin_api::delete_o_auth2_token(admin, &id).await.expect("delete_o_auth2_token");
    let mut flush = models::FlushInactiveOAuth2TokensRequest::new();
    flush.not_after = Some("2030-01-01T00:00:00Z".into());
    admin_api::flush_inactive_o_auth2_tokens(admin, Some(flush)).await.expect("flush_inactive_o_auth2_tokens");
    admin_api::flush_inactive_o_auth2_tokens(admin, None).await.expect("flush without a body");
    // Forged challenges are 404, as in Hydra.
    assert_eq!(status(admin_api::get_consent_request(admin, "forged").await.unwrap_err()), 404);
    admin_api::delete_o_auth2_client(admin, &id).await.expect("delete client");
}

#[test]
fn hydra_v1_rust_sdk_works_unchanged() {
    let s = Server::start(&[("ADMIN_API_TOKEN", TOKEN)]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let admin = config(&s, Some(TOKEN));
        metadata(&s, &admin).await;
        clients(&s, &admin).await;
        keys(&admin).await;
        flow_and_sessions(&s, &admin).await;
        // Every call above counted: the metrics name the routes the SDK used.
        let text = reqwest::Client::new()
            .get(s.url("/metrics/prometheus"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains("hydra_edge_http_requests_total{route=\"LoginAccept\",status=\"200\"}"), "{text}");
        assert!(text.contains("hydra_edge_tokens_issued_total{grant_type=\"authorization_code\"} 1"), "{text}");
    });
}
