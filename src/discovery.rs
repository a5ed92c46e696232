//! `/.well-known/openid-configuration` (and the same document at
//! `/.well-known/oauth-authorization-server`): Hydra's discovery document, advertising only what
//! this server implements.

use std::rc::Rc;

use serde_json::{json, Value};

use crate::config::Config;
use crate::ctx::Ctx;
use crate::error::ApiResult;
use crate::http::etag::{self, Tagged};
use crate::http::{Request, Response, OAUTH_JSON};
use crate::keys::signing::{signing_key, ID_TOKEN_SET};
use crate::memo::Slot;
use crate::platform::Platform;

/// How long an isolate serves the discovery document it built. The document only changes with
/// the configuration (a new deployment, so a new isolate) and with the ID-token signing key's
/// algorithm, which isolates re-read every [`crate::keys::signing::SIGNING_KEY_CACHE_MS`].
pub const DOCUMENT_CACHE_MS: i64 = 10_000;

/// What browsers and relying parties may do with the document (revalidation is a 304).
pub const CACHE_CONTROL: &str = "public, max-age=300";

thread_local! {
    static DOCUMENT: Slot<Rc<Tagged>> = const { Slot::new() };
}

/// Response types `/oauth2/auth` accepts (each still has to be allowed for the client).
pub const RESPONSE_TYPES: &[&str] =
    &["code", "code id_token", "id_token", "token id_token", "token", "token id_token code"];

/// Algorithms accepted for `private_key_jwt` client assertions.
pub const CLIENT_ASSERTION_ALGS: &[&str] =
    &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

/// Grant types `/oauth2/token` serves, plus `implicit` at `/oauth2/auth`.
pub fn grant_types() -> Vec<&'static str> {
    let mut g = vec!["authorization_code", "implicit"];
    g.extend(crate::token::GRANTS.iter().map(|s| s.grant_type).filter(|t| *t != "authorization_code"));
    g
}

/// The ID-token (and userinfo) signing algorithms: the default key's first, and RS256, which
/// every OpenID provider must support (OpenID Connect Core §15.1) and which is signed for the
/// clients that ask for it.
pub fn id_token_algs(default_alg: &str) -> Vec<String> {
    let mut algs = vec![default_alg.to_string()];
    if default_alg != "RS256" {
        algs.push("RS256".into());
    }
    algs
}

/// Built-in values, then the configured ones not among them (Hydra appends without repeats).
fn with_extra(builtin: &[&str], extra: &[String]) -> Vec<String> {
    let mut all: Vec<String> = builtin.iter().map(|s| s.to_string()).collect();
    for e in extra {
        if !all.contains(e) {
            all.push(e.clone());
        }
    }
    all
}

/// The discovery document for an ID-token signing algorithm.
pub fn document(cfg: &Config, id_token_alg: &str) -> Value {
    let algs = id_token_algs(id_token_alg);
    let mut userinfo_algs = vec!["none".to_string()];
    userinfo_algs.extend(algs.iter().cloned());
    let mut doc = json!({
        "issuer": cfg.issuer,
        "authorization_endpoint": cfg.public("/oauth2/auth"),
        "device_authorization_endpoint": cfg.public("/oauth2/device/auth"),
        "token_endpoint": cfg.public("/oauth2/token"),
        "userinfo_endpoint": cfg.public("/userinfo"),
        "revocation_endpoint": cfg.under_issuer("/oauth2/revoke"),
        "end_session_endpoint": cfg.under_issuer("/oauth2/sessions/logout"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt", "none"],
        "jwks_uri": cfg.under_issuer("/.well-known/jwks.json"),
        "subject_types_supported": crate::subject::supported(cfg, &Default::default()),
        "response_types_supported": RESPONSE_TYPES,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": grant_types(),
        "scopes_supported": with_extra(&["offline_access", "offline", "openid"], &cfg.discovery_scopes),
        "claims_supported": with_extra(&["sub"], &cfg.discovery_claims),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": userinfo_algs,
        "id_token_signed_response_alg": [id_token_alg],
        "userinfo_signed_response_alg": [id_token_alg],
        "code_challenge_methods_supported": ["S256"],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "claims_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
    });
    if cfg.dcr_enabled {
        doc["registration_endpoint"] = json!(cfg.public("/oauth2/register"));
    }
    doc
}

/// `GET /.well-known/openid-configuration`: from this isolate's memory when built less than
/// [`DOCUMENT_CACHE_MS`] ago (no storage call, no await), with `ETag` and `Cache-Control`.
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> ApiResult<Response> {
    let now = ctx.p.now_ms();
    let (doc, until_ms) = match DOCUMENT.with(|d| d.get_until(now, DOCUMENT_CACHE_MS)) {
        Some(found) => found,
        None => {
            let key = signing_key(ctx, ID_TOKEN_SET).await?;
            let body = serde_json::to_vec(&document(ctx.cfg, &key.alg)).unwrap_or_default();
            let doc = Rc::new(Tagged::new(body));
            DOCUMENT.with(|d| d.put(now, doc.clone()));
            (doc, now + DOCUMENT_CACHE_MS)
        }
    };
    ctx.log.replayable_until(until_ms);
    Ok(etag::respond(req, &doc.body, &doc.etag, OAUTH_JSON, CACHE_CONTROL))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{lookup, test_config};

    #[test]
    fn urls_follow_the_issuer() {
        let doc = document(&test_config(), "ES256");
        assert_eq!(doc["issuer"], "http://127.0.0.1:8787");
        assert_eq!(doc["authorization_endpoint"], "http://127.0.0.1:8787/oauth2/auth");
        assert_eq!(doc["token_endpoint"], "http://127.0.0.1:8787/oauth2/token");
        assert_eq!(doc["jwks_uri"], "http://127.0.0.1:8787/.well-known/jwks.json");
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["ES256", "RS256"]));
        assert_eq!(doc["userinfo_signing_alg_values_supported"], json!(["none", "ES256", "RS256"]));
        assert_eq!(doc["userinfo_endpoint"], "http://127.0.0.1:8787/userinfo");
        assert_eq!(doc["revocation_endpoint"], "http://127.0.0.1:8787/oauth2/revoke");
        assert_eq!(
            doc["grant_types_supported"],
            json!([
                "authorization_code",
                "implicit",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        assert_eq!(doc["device_authorization_endpoint"], "http://127.0.0.1:8787/oauth2/device/auth");
        assert_eq!(doc["end_session_endpoint"], "http://127.0.0.1:8787/oauth2/sessions/logout");
        assert_eq!(doc["backchannel_logout_supported"], true);
        assert_eq!(doc["frontchannel_logout_session_supported"], true);
        assert!(doc.get("introspection_endpoint").is_none(), "introspection is an admin route, as in Hydra");
        assert_eq!(id_token_algs("RS256"), vec!["RS256"]);
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert!(doc.get("registration_endpoint").is_none());
        assert_eq!(doc["scopes_supported"], json!(["offline_access", "offline", "openid"]));
        assert_eq!(doc["claims_supported"], json!(["sub"]));
    }

    /// WEBFINGER_OIDC_DISCOVERY_SUPPORTED_*: appended, without repeats.
    #[test]
    fn configured_scopes_and_claims_are_advertised() {
        let cfg = Config::from_lookup(lookup(&[
            ("URLS_SELF_ISSUER", "http://127.0.0.1:8787"),
            ("SECRETS_SYSTEM", "a-very-long-system-secret"),
            ("WEBFINGER_OIDC_DISCOVERY_SUPPORTED_SCOPE", "profile email,openid"),
            ("WEBFINGER_OIDC_DISCOVERY_SUPPORTED_CLAIMS", "email name"),
        ]))
        .unwrap();
        let doc = document(&cfg, "ES256");
        assert_eq!(doc["scopes_supported"], json!(["offline_access", "offline", "openid", "profile", "email"]));
        assert_eq!(doc["claims_supported"], json!(["sub", "email", "name"]));
    }

    #[test]
    fn the_document_is_served_from_memory_for_its_bound_with_an_etag() {
        use crate::http::Method;
        use crate::keys::signing::test_keys;
        use crate::testing::{block_on, TestPlatform};
        let cfg = test_config();
        let p = TestPlatform::with_sql(test_keys::sql(vec![test_keys::stored(cfg.primary_secret(), "k1")]));
        let log = crate::log::RequestLog::new();
        let ctx = Ctx { cfg: &cfg, p: &p, log: &log };
        let get = Request::new(Method::Get, "/.well-known/openid-configuration");
        let first = block_on(handle(&ctx, &get)).unwrap();
        assert_eq!(first.status, 200);
        assert_eq!(first.header("cache-control"), Some(CACHE_CONTROL));
        let etag = first.header("etag").unwrap().to_string();
        let reads = p.count("sql");
        assert!(reads > 0, "the first build reads the signing key");
        let built_at = p.now_ms();
        assert_eq!(log.replayable_until_ms(), Some(built_at + DOCUMENT_CACHE_MS), "replayable until the copy's end");
        p.advance_ms(4_000);
        block_on(handle(&ctx, &get)).unwrap();
        assert_eq!(log.replayable_until_ms(), Some(built_at + DOCUMENT_CACHE_MS), "the same end, not a new one");

        p.advance_ms(DOCUMENT_CACHE_MS - 4_001);
        let mut conditional = get.clone();
        conditional.headers.push(("if-none-match".into(), etag.clone()));
        let not_modified = block_on(handle(&ctx, &conditional)).unwrap();
        assert_eq!((not_modified.status, not_modified.body.len()), (304, 0));
        assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
        assert_eq!(p.count("sql"), reads, "within the bound: from memory");

        // Rebuilt after the bound (the signing key itself is still in memory, see its own bound).
        p.advance_ms(1);
        let rebuilt = block_on(handle(&ctx, &get)).unwrap();
        assert_eq!((rebuilt.status, rebuilt.header("etag")), (200, Some(etag.as_str())), "same content, same tag");
        p.advance_ms(crate::keys::signing::SIGNING_KEY_CACHE_MS);
        block_on(handle(&ctx, &get)).unwrap();
        assert!(p.count("sql") > reads, "after both bounds: the key is read again");
    }

    #[test]
    fn registration_endpoint_only_when_enabled() {
        let cfg = Config::from_lookup(lookup(&[
            ("URLS_SELF_ISSUER", "https://auth.example.com"),
            ("URLS_SELF_PUBLIC", "https://public.example.com/"),
            ("SECRETS_SYSTEM", "0123456789abcdef0123"),
            ("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED", "true"),
        ]))
        .unwrap();
        let doc = document(&cfg, "ES256");
        assert_eq!(doc["registration_endpoint"], "https://public.example.com/oauth2/register");
        assert_eq!(doc["token_endpoint"], "https://public.example.com/oauth2/token");
        assert_eq!(doc["jwks_uri"], "https://auth.example.com/.well-known/jwks.json");
    }
}
