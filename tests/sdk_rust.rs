//! Ory's official Rust SDK (`ory-hydra-client` 26.2.0, the generated OpenAPI client for Hydra),
//! unchanged, against the Worker in workerd: the admin API (clients, pagination, JSON Web Keys,
//! metadata), discovery, and a full login + consent + code flow. Like the Go and Python SDKs it
//! deserialises responses into typed models, so a missing required member fails here.
//!
//! The browser's part and the PKCE code exchange (the SDK's `oauth2_token_exchange` has no
//! `code_verifier`) use reqwest, whose async client the SDK itself runs on.

mod common;

use common::cli::TOKEN;
use common::oauth::{challenge_of, param};
use common::{unique, Server};
use ory_hydra_client::apis::configuration::Configuration;
use ory_hydra_client::apis::{jwk_api, metadata_api, o_auth2_api, oidc_api, wellknown_api, Error};
use ory_hydra_client::models;
use serde_json::json;

const VERIFIER: &str = "rust-sdk-pkce-verifier-0123456789abcdefghijklmnopqrstuv";
const REDIRECT: &str = "https://rp.example/cb";

fn config(s: &Server, token: Option<&str>) -> Configuration {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(t) = token {
        // Hydra's OpenAPI document declares no security scheme on admin operations, so the SDK
        // would not send `bearer_access_token` there: the token is a default header instead.
        headers.insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    Configuration {
        base_path: s.base.clone(),
        client: reqwest::Client::builder()
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

async fn version_and_auth(s: &Server, admin: &Configuration) {
    let v = metadata_api::get_version(admin).await.expect("get_version");
    assert!(v.version.as_deref().is_some_and(|v| v.starts_with('v')), "{v:?}");
    let public = config(s, None);
    assert_eq!(metadata_api::is_alive(&public).await.expect("is_alive").status.as_deref(), Some("ok"));
    assert_eq!(metadata_api::is_ready(&public).await.expect("is_ready").status.as_deref(), Some("ok"));
    assert_eq!(status(metadata_api::get_version(&public).await.unwrap_err()), 401);
    let wrong = config(s, Some("wrong-token-wrong-token-wrong-token-0"));
    assert_eq!(status(o_auth2_api::list_o_auth2_clients(&wrong, None, None, None, None).await.unwrap_err()), 401);
}

async fn discovery(s: &Server) {
    let public = config(s, None);
    let jwks = wellknown_api::discover_json_web_keys(&public).await.expect("discover_json_web_keys");
    let keys = jwks.keys.unwrap_or_default();
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| k.d.is_none() && k.p.is_none() && k.k.is_none()), "public keys only");
    // The whole document decodes into the SDK's strict model (every required field present).
    let doc = oidc_api::discover_oidc_configuration(&public).await.expect("discover_oidc_configuration");
    assert_eq!(doc.issuer, s.base);
    assert_eq!(doc.token_endpoint, format!("{}/oauth2/token", s.base));
    assert_eq!(doc.device_authorization_endpoint, format!("{}/oauth2/device/auth", s.base));
    assert_eq!(doc.end_session_endpoint.as_deref(), Some(format!("{}/oauth2/sessions/logout", s.base).as_str()));
    assert_eq!(doc.backchannel_logout_supported, Some(true));
    assert!(doc
        .grant_types_supported
        .unwrap_or_default()
        .iter()
        .any(|g| g == "urn:ietf:params:oauth:grant-type:device_code"));
}

async fn clients(admin: &Configuration) {
    let id = unique("rust-sdk");
    let mut input = models::OAuth2Client::new();
    input.client_id = Some(id.clone());
    input.client_name = Some("Rust client".into());
    input.redirect_uris = Some(vec![REDIRECT.into()]);
    input.grant_types = Some(vec!["authorization_code".into(), "refresh_token".into()]);
    input.scope = Some("openid offline_access".into());
    input.metadata = Some(Some(json!({"tier": "gold"})));
    input.authorization_code_grant_access_token_lifespan = Some("2h".into());
    let c = o_auth2_api::create_o_auth2_client(admin, input.clone()).await.expect("create_o_auth2_client");
    assert!(c.client_secret.as_deref().is_some_and(|s| !s.is_empty()));
    assert_eq!(c.token_endpoint_auth_method.as_deref(), Some("client_secret_basic"));
    assert_eq!(c.authorization_code_grant_access_token_lifespan.as_deref(), Some("2h0m0s"));
    assert_eq!(status(o_auth2_api::create_o_auth2_client(admin, input).await.unwrap_err()), 409);

    let got = o_auth2_api::get_o_auth2_client(admin, &id).await.expect("get_o_auth2_client");
    assert_eq!(got.client_name.as_deref(), Some("Rust client"));
    assert!(got.client_secret.is_none());
    assert_eq!(status(o_auth2_api::get_o_auth2_client(admin, &unique("missing")).await.unwrap_err()), 404);

    let mut replacement = models::OAuth2Client::new();
    replacement.client_name = Some("Rust client v2".into());
    replacement.redirect_uris = Some(vec![REDIRECT.into()]);
    let replaced = o_auth2_api::set_o_auth2_client(admin, &id, replacement).await.expect("set_o_auth2_client");
    assert_eq!(replaced.client_name.as_deref(), Some("Rust client v2"));

    let mut op = models::JsonPatch::new("replace".into(), "/client_name".into());
    op.value = Some(Some(json!("patched by Rust")));
    let patched = o_auth2_api::patch_o_auth2_client(admin, &id, vec![op]).await.expect("patch_o_auth2_client");
    assert_eq!(patched.client_name.as_deref(), Some("patched by Rust"));

    let mut life = models::OAuth2ClientTokenLifespans::new();
    life.authorization_code_grant_id_token_lifespan = Some("90m".into());
    let l = o_auth2_api::set_o_auth2_client_lifespans(admin, &id, Some(life)).await.expect("set lifespans");
    assert_eq!(l.authorization_code_grant_id_token_lifespan.as_deref(), Some("1h30m0s"));

    // Pagination through the SDK's page_token parameter and the Link header the server sends.
    let owner = unique("rust-owner");
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut c = models::OAuth2Client::new();
        c.client_id = Some(format!("{owner}-{i}"));
        c.owner = Some(owner.clone());
        ids.push(o_auth2_api::create_o_auth2_client(admin, c).await.expect("create").client_id.unwrap());
    }
    let page = o_auth2_api::list_o_auth2_clients(admin, Some(2), None, None, Some(&owner)).await.expect("list");
    assert_eq!(page.iter().map(|c| c.client_id.clone().unwrap()).collect::<Vec<_>>(), ids[..2].to_vec());
    let all = o_auth2_api::list_o_auth2_clients(admin, Some(100), None, None, Some(&owner)).await.expect("list");
    assert_eq!(all.len(), 3);

    for x in ids.iter().chain([&id]) {
        o_auth2_api::delete_o_auth2_client(admin, x).await.expect("delete_o_auth2_client");
    }
    assert_eq!(status(o_auth2_api::delete_o_auth2_client(admin, &id).await.unwrap_err()), 404);
}

async fn keys(admin: &Configuration) {
    let set = unique("rust-keys");
    let req = models::CreateJsonWebKeySet::new("ES256".into(), "ec-1".into(), "sig".into());
    let created = jwk_api::create_json_web_key_set(admin, &set, req.clone()).await.expect("create set");
    let ec = created.keys.unwrap().remove(0);
    assert_eq!((ec.kid.as_str(), ec.kty.as_str(), ec.alg.as_str(), ec.r#use.as_str()), ("ec-1", "EC", "ES256", "sig"));
    assert!(ec.d.is_some() && ec.x.is_some());
    assert_eq!(status(jwk_api::create_json_web_key_set(admin, &set, req).await.unwrap_err()), 409);
    let got = jwk_api::get_json_web_key(admin, &set, "ec-1").await.expect("get key");
    assert_eq!(got.keys.unwrap()[0].d, ec.d);

    let copy = unique("rust-imported");
    let mut ks = models::JsonWebKeySet::new();
    ks.keys = Some(vec![ec.clone()]);
    jwk_api::set_json_web_key_set(admin, &copy, Some(ks)).await.expect("set set");
    let mut ec2 = ec.clone();
    ec2.kid = "ec-2".into();
    assert_eq!(jwk_api::set_json_web_key(admin, &copy, "ec-2", Some(ec2)).await.expect("set key").kid, "ec-2");
    let both = jwk_api::get_json_web_key_set(admin, &copy).await.expect("get set");
    assert_eq!(both.keys.unwrap().len(), 2);
    jwk_api::delete_json_web_key(admin, &copy, "ec-2").await.expect("delete key");
    for s in [&copy, &set] {
        jwk_api::delete_json_web_key_set(admin, s).await.expect("delete set");
    }
    assert_eq!(status(jwk_api::get_json_web_key_set(admin, &set).await.unwrap_err()), 404);
}

async fn flow(s: &Server, admin: &Configuration) {
    let mut input = models::OAuth2Client::new();
    input.client_id = Some(unique("rust-rp"));
    input.redirect_uris = Some(vec![REDIRECT.into()]);
    input.grant_types = Some(vec!["authorization_code".into(), "refresh_token".into()]);
    input.scope = Some("openid offline_access".into());
    let client = o_auth2_api::create_o_auth2_client(admin, input).await.expect("create client");
    let id = client.client_id.clone().unwrap();

    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_string();
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid offline_access")
        .append_pair("state", "rust-sdk-state-0123456789")
        .append_pair("nonce", "rust-sdk-nonce-0123456789")
        .append_pair("code_challenge", &challenge_of(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    let r = browser.get(s.url(&format!("/oauth2/auth?{}", q.finish()))).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let challenge = param(&location(&r), "login_challenge").unwrap();

    let login = o_auth2_api::get_o_auth2_login_request(admin, &challenge).await.expect("get login request");
    assert_eq!(login.client.client_id.as_deref(), Some(id.as_str()));
    assert!(!login.skip);
    let mut accept = models::AcceptOAuth2LoginRequest::new("rust-user".into());
    accept.remember = Some(true);
    let to = o_auth2_api::accept_o_auth2_login_request(admin, &challenge, Some(accept)).await.expect("accept login");
    let r = browser.get(&to.redirect_to).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let consent_challenge = param(&location(&r), "consent_challenge").unwrap();
    let consent = o_auth2_api::get_o_auth2_consent_request(admin, &consent_challenge).await.expect("get consent");
    assert_eq!(consent.subject.as_deref(), Some("rust-user"));
    let mut grant = models::AcceptOAuth2ConsentRequest::new();
    grant.grant_scope = consent.requested_scope.clone();
    grant.remember = Some(true);
    let to = o_auth2_api::accept_o_auth2_consent_request(admin, &consent_challenge, Some(grant))
        .await
        .expect("accept consent");
    let r = browser.get(&to.redirect_to).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let back = location(&r);
    assert!(back.starts_with(REDIRECT), "{back}");
    let code = param(&back, "code").unwrap();

    let r = browser
        .post(s.url("/oauth2/token"))
        .basic_auth(&id, client.client_secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The SDK's own token model decodes the response.
    let tokens: models::OAuth2TokenExchange =
        r.json().await.expect("the token response decodes as OAuth2TokenExchange");
    assert!(tokens.access_token.as_deref().is_some_and(|t| t.starts_with("ory_at_")));
    assert!(tokens.refresh_token.as_deref().is_some_and(|t| t.starts_with("ory_rt_")));
    assert!(tokens.id_token.is_some());

    // Rejection reaches the client; forged challenges are 404.
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid")
        .append_pair("state", "rust-sdk-state-second-0123")
        .append_pair("code_challenge", &challenge_of(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    let r = browser.get(s.url(&format!("/oauth2/auth?{}", q.finish()))).send().await.unwrap();
    let second = param(&location(&r), "login_challenge").unwrap();
    let mut reject = models::RejectOAuth2Request::new();
    reject.error = Some("access_denied".into());
    let to = o_auth2_api::reject_o_auth2_login_request(admin, &second, Some(reject)).await.expect("reject login");
    let r = browser.get(&to.redirect_to).send().await.unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("access_denied"));
    assert_eq!(status(o_auth2_api::get_o_auth2_consent_request(admin, "forged").await.unwrap_err()), 404);
    o_auth2_api::delete_o_auth2_client(admin, &id).await.expect("delete client");
}

#[test]
fn official_rust_sdk_works_unchanged() {
    let s = Server::start(&[("ADMIN_API_TOKEN", TOKEN)]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let admin = config(&s, Some(TOKEN));
        version_and_auth(&s, &admin).await;
        discovery(&s).await;
        clients(&admin).await;
        keys(&admin).await;
        flow(&s, &admin).await;
    });
}
