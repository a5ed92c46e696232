//! Client metadata validation (Hydra's `client/validator.go` rules, plus stricter redirect-URI
//! checks at registration). Every failure is `invalid_client_metadata` or
//! `invalid_redirect_uri` with a hint naming the field.

use serde_json::{json, Value};

use super::model::Client;
use crate::authorize::scope::is_scope_token;
use crate::config::{is_loopback_host, Config};
use crate::discovery::CLIENT_ASSERTION_ALGS;
use crate::error::{ApiError, ApiResult};
use crate::http::url::Url;
use crate::subject;

pub const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "private_key_jwt", "none"];
pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "implicit",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:device_code",
];
const RESPONSE_TYPE_PARTS: &[&str] = &["code", "token", "id_token", "none"];
const USERINFO_ALGS: &[&str] = &["none", "RS256", "ES256"];
const REQUEST_OBJECT_ALGS: &[&str] =
    &["none", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];
pub const MIN_SECRET_LEN: usize = 6;
const MAX_CLIENT_ID_LEN: usize = 255;
const MAX_URIS: usize = 100;
const MAX_URI_LEN: usize = 2048;

fn meta(hint: impl Into<String>) -> ApiError {
    ApiError::invalid_client_metadata().with_hint(hint)
}

/// Where a client comes from: the admin API or dynamic registration (RFC 7591).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Admin,
    Registration,
}

/// A client id this server can route and store: 1 to 255 visible ASCII characters without `/`.
pub fn check_client_id(id: &str) -> ApiResult<()> {
    if id.is_empty() || id.len() > MAX_CLIENT_ID_LEN {
        return Err(meta(format!("Field client_id must be 1 to {MAX_CLIENT_ID_LEN} characters long.")));
    }
    if !id.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
        return Err(meta("Field client_id may only contain visible ASCII characters other than '/'."));
    }
    Ok(())
}

/// Validate `c` and fill in Hydra's defaults. The secret is checked by the caller.
pub fn validate(cfg: &Config, c: &mut Client, origin: Origin) -> ApiResult<()> {
    check_client_id(&c.client_id)?;
    // Unset and empty lists, unset and false `skip_logout_consent`, are written alike (`[]`,
    // `false`): hold them alike, so a client reads back as it was stored.
    for list in [&mut c.redirect_uris, &mut c.grant_types, &mut c.response_types, &mut c.contacts] {
        if list.as_ref().is_some_and(Vec::is_empty) {
            *list = None;
        }
    }
    if c.skip_logout_consent == Some(false) {
        c.skip_logout_consent = None;
    }

    if c.token_endpoint_auth_method.is_empty() {
        c.token_endpoint_auth_method = "client_secret_basic".into();
    }
    if !AUTH_METHODS.contains(&c.token_endpoint_auth_method.as_str()) {
        return Err(meta(format!(
            "Field token_endpoint_auth_method must be one of {}, got \"{}\".",
            AUTH_METHODS.join(", "),
            c.token_endpoint_auth_method
        )));
    }
    if !c.token_endpoint_auth_signing_alg.is_empty()
        && !CLIENT_ASSERTION_ALGS.contains(&c.token_endpoint_auth_signing_alg.as_str())
    {
        return Err(meta(format!(
            "Field token_endpoint_auth_signing_alg must be one of {}, got \"{}\".",
            CLIENT_ASSERTION_ALGS.join(", "),
            c.token_endpoint_auth_signing_alg
        )));
    }

    // Keys. A key set is "set" as soon as it has a `keys` member, even an empty or null one (as
    // Hydra decodes it); `{}` is no key set.
    if c.jwks.is_null() {
        c.jwks = json!({});
    }
    let has_jwks = c.jwks.get("keys").and_then(Value::as_array).map(|k| !k.is_empty()).unwrap_or(false);
    if c.jwks.get("keys").is_some() && !c.jwks_uri.is_empty() {
        return Err(meta("Fields jwks and jwks_uri can not both be set, you must choose one."));
    }
    check_jwks(&c.jwks)?;
    if !c.jwks_uri.is_empty() {
        check_fetch_url(cfg, "jwks_uri", &c.jwks_uri)?;
    }
    if c.token_endpoint_auth_method == "private_key_jwt" && !has_jwks && c.jwks_uri.is_empty() {
        return Err(meta("Token endpoint authentication method private_key_jwt requires field jwks or jwks_uri."));
    }

    // URIs shown to end users.
    for (name, value) in [
        ("tos_uri", &c.tos_uri),
        ("policy_uri", &c.policy_uri),
        ("logo_uri", &c.logo_uri),
        ("client_uri", &c.client_uri),
    ] {
        if !value.is_empty() {
            check_web_url(name, value)?;
        }
    }

    // CORS origins, normalised without a trailing slash.
    for origin_value in c.allowed_cors_origins.iter_mut() {
        let trimmed = origin_value.trim_end_matches('/').to_string();
        let u = Url::parse(&trimmed)
            .map_err(|_| meta(format!("Field allowed_cors_origins contains an invalid origin \"{origin_value}\".")))?;
        if !matches!(u.scheme(), "http" | "https")
            || !u.username().is_empty()
            || u.password().is_some()
            || u.path() != "/"
            || u.query().is_some()
            || u.fragment().is_some()
        {
            return Err(meta(format!(
                "Field allowed_cors_origins must hold origins of the form scheme://host[:port], got \"{origin_value}\"."
            )));
        }
        *origin_value = trimmed;
    }

    // Redirect URIs.
    let redirects = c.redirect_uris.clone().unwrap_or_default();
    check_uri_count("redirect_uris", redirects.len())?;
    for uri in &redirects {
        check_redirect_uri(uri)?;
    }
    if let Some(post) = &c.post_logout_redirect_uris {
        check_uri_count("post_logout_redirect_uris", post.len())?;
        for uri in post {
            let u = parse_absolute("post_logout_redirect_uris", uri)?;
            let matches_a_redirect = redirects.iter().filter_map(|r| Url::parse(r).ok()).any(|r| {
                r.scheme() == u.scheme()
                    && r.host_str() == u.host_str()
                    && r.port_or_known_default() == u.port_or_known_default()
            });
            if !matches_a_redirect {
                return Err(meta(format!(
                    "Field post_logout_redirect_uris: \"{uri}\" must have the scheme, host and port of one of the redirect_uris."
                )));
            }
        }
    }
    if let Some(request_uris) = &c.request_uris {
        check_uri_count("request_uris", request_uris.len())?;
        for uri in request_uris {
            check_fetch_url(cfg, "request_uris", uri)?;
        }
    }
    if !c.frontchannel_logout_uri.is_empty() {
        check_web_url("frontchannel_logout_uri", &c.frontchannel_logout_uri)?;
    }
    if !c.backchannel_logout_uri.is_empty() {
        check_fetch_url(cfg, "backchannel_logout_uri", &c.backchannel_logout_uri)?;
    }

    // Grant and response types: each value must be known; combinations are checked at use.
    for g in c.grant_types.iter().flatten() {
        if !GRANT_TYPES.contains(&g.as_str()) {
            return Err(meta(format!(
                "Field grant_types contains unknown grant type \"{g}\"; known: {}.",
                GRANT_TYPES.join(", ")
            )));
        }
    }
    for r in c.response_types.iter().flatten() {
        let parts: Vec<&str> = r.split(' ').collect();
        if r.is_empty() || parts.iter().any(|p| !RESPONSE_TYPE_PARTS.contains(p)) {
            return Err(meta(format!("Field response_types contains unknown response type \"{r}\".")));
        }
    }

    // Subject identifiers (the sector_identifier_uri document is fetched by the caller).
    if c.subject_type.is_empty() {
        // Hydra's default: public when supported, else the one supported.
        c.subject_type = subject::supported(cfg, c)[0].into();
    }
    if !c.sector_identifier_uri.is_empty() {
        check_fetch_url(cfg, "sector_identifier_uri", &c.sector_identifier_uri)?;
    }

    if c.userinfo_signed_response_alg.is_empty() {
        c.userinfo_signed_response_alg = "none".into();
    }
    if !USERINFO_ALGS.contains(&c.userinfo_signed_response_alg.as_str()) {
        return Err(meta(format!("Field userinfo_signed_response_alg must be one of {}.", USERINFO_ALGS.join(", "))));
    }
    // Not a Hydra field (OpenID Connect Dynamic Registration): RS256 ID tokens for this client.
    if !["", "ES256", "RS256"].contains(&c.id_token_signed_response_alg.as_str()) {
        return Err(meta("Field id_token_signed_response_alg must be ES256 or RS256."));
    }
    if !c.request_object_signing_alg.is_empty() && !REQUEST_OBJECT_ALGS.contains(&c.request_object_signing_alg.as_str())
    {
        return Err(meta(format!(
            "Field request_object_signing_alg must be one of {}.",
            REQUEST_OBJECT_ALGS.join(", ")
        )));
    }
    if !matches!(c.access_token_strategy.as_str(), "" | "jwt" | "opaque") {
        return Err(meta(format!(
            "Field access_token_strategy must be \"jwt\" or \"opaque\", got \"{}\".",
            c.access_token_strategy
        )));
    }
    check_subject_type(cfg, c)?;

    if c.scope.trim().is_empty() {
        c.scope = cfg.default_client_scope.clone();
    }
    if let Some(bad) = c.scope.split(' ').filter(|s| !s.is_empty()).find(|s| !is_scope_token(s)) {
        return Err(meta(format!("Field scope contains an invalid scope token \"{bad}\" (RFC 6749 §3.3).")));
    }
    for (name, list) in [("audience", &c.audience), ("contacts", c.contacts.as_ref().unwrap_or(&Vec::new()))] {
        if list.len() > MAX_URIS || list.iter().any(|v| v.len() > MAX_URI_LEN) {
            return Err(meta(format!("Field {name} is too long.")));
        }
    }
    c.lifespans.normalize()?;
    if c.metadata.is_null() {
        c.metadata = json!({});
    }
    c.client_secret_expires_at = 0;

    if origin == Origin::Registration {
        // Fields only the admin API may set (Hydra refuses them at /oauth2/register).
        if c.metadata != json!({}) {
            return Err(meta("Field metadata can only be set through the admin API."));
        }
        if !c.access_token_strategy.is_empty() {
            return Err(meta("Field access_token_strategy can only be set through the admin API."));
        }
        if c.skip_consent || c.skip_logout_consent == Some(true) {
            return Err(ApiError::invalid_request()
                .with_hint("Fields skip_consent and skip_logout_consent can only be set through the admin API."));
        }
        // The device flow hands out ID tokens without a redirect, so nothing would show that the
        // registrant belongs to the sector its redirect URIs (or document) name: it could read
        // another sector's pairwise identifiers. An operator may still create one.
        if c.subject_type == subject::PAIRWISE && c.has_grant(crate::token::device_code::GRANT_TYPE) {
            return Err(meta("Subject type pairwise cannot be registered with the device_code grant: the device flow delivers tokens without a redirect URI, so nothing shows the client belongs to its sector. An operator can create such a client through the admin API."));
        }
        // Likewise a document vouches for a registrant only through redirect URIs it lists.
        if c.subject_type == subject::PAIRWISE
            && !c.sector_identifier_uri.is_empty()
            && c.redirect_uris.as_ref().is_none_or(Vec::is_empty)
        {
            return Err(meta("A registered pairwise client's sector_identifier_uri vouches for it only through redirect_uris it lists: register at least one."));
        }
        check_registration_bounds(cfg, c)?;
    }
    Ok(())
}

/// `subject_type` is one this server supports for `c` ([`subject::supported`]); a pairwise
/// client also needs a sector (Hydra checks that only when a flow needs it; a client that could
/// never log anyone in is refused here instead).
pub fn check_subject_type(cfg: &Config, c: &Client) -> ApiResult<()> {
    if c.subject_type == subject::PAIRWISE {
        // Saying why pairwise is unavailable (not configured, JWT access tokens) helps more
        // than the list of what is supported.
        subject::pairwise_available(cfg, c).map_err(meta)?;
        return subject::sector(c).map(|_| ()).map_err(meta);
    }
    let supported = subject::supported(cfg, c);
    if !supported.contains(&c.subject_type.as_str()) {
        return Err(meta(format!(
            "Subject type \"{}\" is not supported by this server; supported: {}.",
            c.subject_type,
            supported.join(", ")
        )));
    }
    Ok(())
}

/// What a registrant may choose (`OIDC_DYNAMIC_CLIENT_REGISTRATION_*`): scope tokens and
/// audiences from the configured sets, exactly (a registered `*` or `foo.*` would grant
/// everything below it), and bounded lifespans.
fn check_registration_bounds(cfg: &Config, c: &Client) -> ApiResult<()> {
    let policy = &cfg.registration;
    if let Some(bad) = c.scopes().into_iter().find(|s| !policy.allowed_scope.iter().any(|a| a == s)) {
        return Err(meta(format!(
            "Field scope holds \"{bad}\", which dynamically registered clients may not request; allowed: {}.",
            policy.allowed_scope.join(" ")
        )));
    }
    if let Some(bad) = c.audience.iter().find(|a| !policy.allowed_audience.contains(a)) {
        return Err(meta(if policy.allowed_audience.is_empty() {
            format!("Field audience holds \"{bad}\", but dynamically registered clients may not set an audience.")
        } else {
            format!(
                "Field audience holds \"{bad}\", which dynamically registered clients may not request; allowed: {}.",
                policy.allowed_audience.join(" ")
            )
        }));
    }
    c.lifespans.check_bounds(policy.max_lifespan, policy.max_refresh_lifespan)
}

/// A supplied secret: at least 6 characters, and only for clients that authenticate with one.
pub fn check_secret(c: &Client, secret: &str) -> ApiResult<()> {
    if c.is_public() {
        return Err(meta("A public client (token_endpoint_auth_method \"none\") cannot have a client_secret."));
    }
    if secret.chars().count() < MIN_SECRET_LEN {
        return Err(meta(format!(
            "Field client_secret must contain a secret that is at least {MIN_SECRET_LEN} characters long."
        )));
    }
    if secret.len() > 512 {
        return Err(meta("Field client_secret must not be longer than 512 bytes."));
    }
    Ok(())
}

fn check_uri_count(name: &str, n: usize) -> ApiResult<()> {
    if n > MAX_URIS {
        return Err(meta(format!("Field {name} holds more than {MAX_URIS} entries.")));
    }
    Ok(())
}

fn parse_absolute(name: &str, value: &str) -> ApiResult<Url> {
    if value.len() > MAX_URI_LEN {
        return Err(meta(format!("Field {name} holds a URI longer than {MAX_URI_LEN} characters.")));
    }
    Url::parse(value).map_err(|e| meta(format!("Field {name} holds \"{value}\", which is not an absolute URI ({e}).")))
}

fn check_web_url(name: &str, value: &str) -> ApiResult<()> {
    let u = parse_absolute(name, value)?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(meta(format!("Field {name} must be an http or https URL, got \"{value}\".")));
    }
    Ok(())
}

/// URLs this server fetches: public https (loopback only in local development), see
/// [`crate::http::outbound`].
fn check_fetch_url(cfg: &Config, name: &str, value: &str) -> ApiResult<()> {
    let u = parse_absolute(name, value)?;
    crate::http::outbound::check(&u, cfg.local_development)
        .map_err(|why| meta(format!("Field {name} {why}, got \"{value}\" (this server fetches it).")))
}

/// Redirect URIs are later compared byte for byte, so what is registered must be unambiguous:
/// absolute, ASCII without spaces, no fragment; `https`, `http` only on loopback hosts, or a
/// custom scheme for native apps (RFC 8252).
pub fn check_redirect_uri(uri: &str) -> ApiResult<()> {
    let bad = |why: &str| ApiError::invalid_redirect_uri().with_hint(format!("Redirect URI \"{uri}\" {why}."));
    if uri.len() > MAX_URI_LEN {
        return Err(bad("is too long"));
    }
    if !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("must consist of visible ASCII characters only"));
    }
    if uri.contains('#') {
        return Err(bad("must not contain a fragment"));
    }
    let u = Url::parse(uri).map_err(|_| bad("is not an absolute URI"))?;
    // A browser reads `https:evil.example/cb`, `https:///evil.example/cb` and
    // `https:\\evil.example` as URLs of that host while the string shows none, and
    // `https://app.example@evil.example` or `%2E` in a host show another: web redirect URIs are
    // written plainly, their host in the clear.
    if matches!(u.scheme(), "https" | "http") {
        match crate::http::url::written_authority(uri) {
            Some(a) if !a.is_empty() && !a.contains(['@', '%']) && !uri.contains('\\') => {}
            _ => {
                return Err(bad(
                    "must be written scheme://host/path, without userinfo, escapes in the host or backslashes",
                ))
            }
        }
    }
    match u.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(u.host_str().unwrap_or("")) => Ok(()),
        "http" => Err(bad("uses http, which is only allowed for loopback hosts; use https")),
        "javascript" | "data" | "file" | "vbscript" => Err(bad("uses a forbidden scheme")),
        _ => Ok(()),
    }
}

/// A client's `jwks`: `{}` or `{"keys": [...]}` of well-formed public keys.
fn check_jwks(jwks: &Value) -> ApiResult<()> {
    let Some(obj) = jwks.as_object() else {
        return Err(meta("Field jwks must be a JSON Web Key Set object."));
    };
    if obj.is_empty() {
        return Ok(());
    }
    let keys =
        obj.get("keys").and_then(Value::as_array).ok_or_else(|| meta("Field jwks must have a \"keys\" array."))?;
    if keys.len() > 32 {
        return Err(meta("Field jwks holds more than 32 keys."));
    }
    for (i, k) in keys.iter().enumerate() {
        crate::keys::check_format(k)
            .map_err(|e| meta(format!("Field jwks.keys[{i}] is not a valid JSON Web Key: {e}.")))?;
        if crate::keys::has_private_part(k) {
            return Err(meta(format!(
                "Field jwks.keys[{i}] contains private key material; register public keys only."
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::test_config;

    fn valid() -> Client {
        Client {
            client_id: "c".into(),
            redirect_uris: Some(vec!["https://app.example/cb".into()]),
            ..Default::default()
        }
    }

    fn config_with(types: &str, strategy: &str) -> Config {
        crate::host::config(&[
            ("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", types),
            ("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", "a-salt-for-tests"),
            ("STRATEGIES_ACCESS_TOKEN", strategy),
        ])
        .unwrap()
    }

    #[test]
    fn subject_types_follow_the_configuration() {
        let both = config_with("public pairwise", "opaque");
        let mut c = valid();
        validate(&both, &mut c, Origin::Admin).unwrap();
        assert_eq!(c.subject_type, "public", "public stays the default while enabled");
        let mut c = valid();
        c.subject_type = "pairwise".into();
        validate(&both, &mut c, Origin::Registration).unwrap();

        let only_pairwise = config_with("pairwise", "opaque");
        let mut c = valid();
        validate(&only_pairwise, &mut c, Origin::Admin).unwrap();
        assert_eq!(c.subject_type, "pairwise", "Hydra's default when public is off");
        let mut c = valid();
        c.subject_type = "public".into();
        let e = validate(&only_pairwise, &mut c, Origin::Admin).unwrap_err();
        assert!(e.hint.contains("supported: pairwise"), "{}", e.hint);

        type Mutation = Box<dyn Fn(&mut Client)>;
        let refused: Vec<(Config, Mutation, &str)> = vec![
            (test_config(), Box::new(|_| {}), "not enabled"),
            (config_with("public,pairwise", "jwt"), Box::new(|_| {}), "opaque"),
            (both.clone(), Box::new(|c| c.access_token_strategy = "jwt".into()), "opaque"),
            (
                both.clone(),
                Box::new(|c| {
                    c.redirect_uris = Some(vec!["https://a.example/cb".into(), "https://b.example/cb".into()])
                }),
                "sector_identifier_uri",
            ),
            (both.clone(), Box::new(|c| c.redirect_uris = None), "without redirect_uris"),
            (
                both.clone(),
                Box::new(|c| c.redirect_uris = Some(vec!["http://127.0.0.1:8000/cb".into()])),
                "not https on a public host",
            ),
            (both.clone(), Box::new(|c| c.subject_type = "random".into()), "supported: public, pairwise"),
        ];
        for (cfg, mutate, expect) in refused {
            let mut c = valid();
            c.subject_type = "pairwise".into();
            mutate(&mut c);
            let e = validate(&cfg, &mut c, Origin::Admin).unwrap_err();
            assert_eq!(e.error, "invalid_client_metadata");
            assert!(e.hint.contains(expect), "expected {expect:?} in {:?}", e.hint);
        }
        // Under a JWT default, a client with opaque tokens may still be pairwise.
        let mut c = valid();
        c.subject_type = "pairwise".into();
        c.access_token_strategy = "opaque".into();
        validate(&config_with("public,pairwise", "jwt"), &mut c, Origin::Admin).unwrap();
        // A registrant cannot make a pairwise device client; an operator can.
        let mut device = valid();
        device.subject_type = "pairwise".into();
        device.grant_types = Some(vec!["urn:ietf:params:oauth:grant-type:device_code".into()]);
        let e = validate(&both, &mut device.clone(), Origin::Registration).unwrap_err();
        assert!(e.hint.contains("device_code"), "{}", e.hint);
        validate(&both, &mut device.clone(), Origin::Admin).unwrap();
        // With a document and no redirect URIs: an operator's device client, not a registrant's.
        device.redirect_uris = None;
        device.sector_identifier_uri = "https://sector.example/uris.json".into();
        validate(&both, &mut device.clone(), Origin::Admin).unwrap();
        device.grant_types = None;
        let e = validate(&both, &mut device, Origin::Registration).unwrap_err();
        assert!(e.hint.contains("at least one"), "{}", e.hint);
        // Several hosts with a sector_identifier_uri are fine (its document is checked later).
        let mut c = valid();
        c.subject_type = "pairwise".into();
        c.sector_identifier_uri = "https://sector.example/uris.json".into();
        c.redirect_uris = Some(vec!["https://a.example/cb".into(), "https://b.example/cb".into()]);
        validate(&both, &mut c, Origin::Admin).unwrap();
    }

    #[test]
    fn fills_defaults() {
        let mut c = valid();
        validate(&test_config(), &mut c, Origin::Admin).unwrap();
        assert_eq!(c.token_endpoint_auth_method, "client_secret_basic");
        assert_eq!(c.subject_type, "public");
        assert_eq!(c.userinfo_signed_response_alg, "none");
        assert_eq!(c.scope, "offline_access offline openid");
        assert_eq!(c.jwks, json!({}));
        assert_eq!(c.metadata, json!({}));
    }

    #[test]
    fn redirect_uri_rules() {
        for ok in [
            "https://a.example/cb",
            "http://127.0.0.1:3000/cb",
            "http://localhost/cb",
            "http://[::1]/cb",
            "com.example.app:/oauth",
            "myapp://callback?x=1",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://a.example/cb#frag",
            "http://a.example/cb",
            "/relative",
            "https://a.example/ü",
            "https://a.example/a b",
            "javascript:alert(1)",
            "",
            // Hosts a browser finds where the string shows none.
            "https:evil.example/cb",
            "https:/evil.example/cb",
            "http:127.0.0.1/cb",
            "https:\\\\evil.example/cb",
            "https://a.example\\cb",
            "https:///evil.example/cb",
            "http:///127.0.0.1/cb",
            "https://app.example@evil.example/cb",
            "https://evil%2Eexample/cb",
        ] {
            let e = check_redirect_uri(bad).unwrap_err();
            assert_eq!(e.error, "invalid_redirect_uri", "{bad}");
        }
    }

    #[test]
    fn rejects_bad_metadata() {
        let cfg = test_config();
        type Mutation = Box<dyn Fn(&mut Client)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|c| c.token_endpoint_auth_method = "client_secret_jwt".into()), "token_endpoint_auth_method"),
            (Box::new(|c| c.token_endpoint_auth_signing_alg = "HS256".into()), "token_endpoint_auth_signing_alg"),
            (
                Box::new(|c| {
                    c.jwks_uri = "https://k.example/jwks".into();
                    c.jwks = json!({"keys": [crate::keys::public_part(&crate::keys::test_es256("k", "sig")).unwrap()]});
                }),
                "can not both be set",
            ),
            (
                Box::new(|c| {
                    c.jwks_uri = "https://k.example/jwks".into();
                    c.jwks = json!({"keys": []});
                }),
                "can not both be set",
            ),
            (Box::new(|c| c.jwks_uri = "https://10.0.0.1/jwks".into()), "jwks_uri"),
            (Box::new(|c| c.backchannel_logout_uri = "http://rp.example/logout".into()), "backchannel_logout_uri"),
            (Box::new(|c| c.sector_identifier_uri = "https://169.254.169.254/".into()), "sector_identifier_uri"),
            (Box::new(|c| c.request_uris = Some(vec!["https://[fd00::1]/r".into()])), "request_uris"),
            (Box::new(|c| c.jwks = json!({"keys": [crate::keys::test_es256("k", "sig")]})), "private key"),
            (Box::new(|c| c.jwks = json!({"keys": [{"kty": "EC"}]})), "jwks.keys[0]"),
            (Box::new(|c| c.token_endpoint_auth_method = "private_key_jwt".into()), "requires field jwks"),
            (Box::new(|c| c.policy_uri = "ftp://x".into()), "policy_uri"),
            (Box::new(|c| c.allowed_cors_origins = vec!["https://a.example/path".into()]), "allowed_cors_origins"),
            (
                Box::new(|c| c.post_logout_redirect_uris = Some(vec!["https://other.example/".into()])),
                "post_logout_redirect_uris",
            ),
            (Box::new(|c| c.grant_types = Some(vec!["password".into()])), "grant_types"),
            (Box::new(|c| c.response_types = Some(vec!["code foo".into()])), "response_types"),
            (Box::new(|c| c.subject_type = "pairwise".into()), "pairwise"),
            (Box::new(|c| c.access_token_strategy = "magic".into()), "access_token_strategy"),
            (Box::new(|c| c.scope = "a \"b\"".into()), "scope"),
            (Box::new(|c| c.client_id = "a/b".into()), "client_id"),
            (Box::new(|c| c.client_id = "x".repeat(300)), "client_id"),
            (Box::new(|c| c.jwks_uri = "http://keys.example/jwks".into()), "jwks_uri"),
        ];
        for (mutate, expect) in cases {
            let mut c = valid();
            mutate(&mut c);
            let e = validate(&cfg, &mut c, Origin::Admin).unwrap_err();
            assert_eq!(e.status, 400);
            assert!(e.hint.contains(expect), "expected {expect:?} in {:?}", e.hint);
        }
    }

    #[test]
    fn registration_refuses_admin_only_fields() {
        let cfg = test_config();
        let mut c = valid();
        c.metadata = json!({"a": 1});
        assert!(validate(&cfg, &mut c, Origin::Registration).is_err());
        let mut c = valid();
        c.skip_consent = true;
        assert_eq!(validate(&cfg, &mut c, Origin::Registration).unwrap_err().error, "invalid_request");
        let mut c = valid();
        c.skip_consent = true;
        assert!(validate(&cfg, &mut c, Origin::Admin).is_ok());
        // Hydra refuses only a true skip_logout_consent; false is what SDK models round-trip.
        let mut c = valid();
        c.skip_logout_consent = Some(true);
        assert_eq!(validate(&cfg, &mut c, Origin::Registration).unwrap_err().error, "invalid_request");
        let mut c = valid();
        c.skip_logout_consent = Some(false);
        assert!(validate(&cfg, &mut c, Origin::Registration).is_ok());
    }

    #[test]
    fn registration_is_bounded() {
        let cfg = test_config();
        let ok = |f: &dyn Fn(&mut Client)| {
            let mut c = valid();
            f(&mut c);
            validate(&cfg, &mut c, Origin::Registration)
        };
        assert!(ok(&|c| c.scope = "openid offline_access".into()).is_ok());
        assert!(ok(&|c| c.lifespans.authorization_code_grant_access_token_lifespan = Some("24h".into())).is_ok());
        assert!(ok(&|c| c.lifespans.refresh_token_grant_refresh_token_lifespan = Some("720h".into())).is_ok());
        for (bad, field) in [
            (&(|c: &mut Client| c.scope = "openid *".into()) as &dyn Fn(&mut Client), "scope"),
            (&|c: &mut Client| c.scope = "photos.*".into(), "scope"),
            (&|c: &mut Client| c.audience = vec!["https://api.example".into()], "audience"),
            (
                &|c: &mut Client| c.lifespans.implicit_grant_access_token_lifespan = Some("24h1s".into()),
                "implicit_grant",
            ),
            (
                &|c: &mut Client| c.lifespans.refresh_token_grant_refresh_token_lifespan = Some("721h".into()),
                "refresh_token_grant",
            ),
        ] {
            let e = ok(bad).unwrap_err();
            assert_eq!(e.error, "invalid_client_metadata");
            assert!(e.hint.contains(field), "{field}: {}", e.hint);
        }
        let mut c = valid();
        c.scope = "openid *".into();
        c.lifespans.implicit_grant_access_token_lifespan = Some("8760h".into());
        assert!(validate(&cfg, &mut c, Origin::Admin).is_ok(), "the admin API is not bound");
    }

    #[test]
    fn secrets() {
        let mut c = valid();
        c.token_endpoint_auth_method = "client_secret_post".into();
        assert!(check_secret(&c, "12345").is_err());
        assert!(check_secret(&c, "123456").is_ok());
        c.token_endpoint_auth_method = "none".into();
        assert!(check_secret(&c, "123456").is_err());
    }
}
