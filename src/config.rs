//! Server configuration, read once per isolate from the Worker's vars and secrets.
//!
//! Names follow Hydra's own environment-variable form of its config keys (`URLS_SELF_ISSUER`,
//! `TTL_ACCESS_TOKEN`, `SECRETS_SYSTEM`, ...), and defaults are Hydra's (reference §4.5), except
//! where this server is deliberately stricter (PKCE for public clients). The README
//! lists every setting.

use crate::duration;
use crate::http::cookies::{CookiePolicy, SameSite};
use crate::http::url::Url;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenStrategy {
    Opaque,
    Jwt,
}

impl TokenStrategy {
    pub fn parse(s: &str) -> Option<TokenStrategy> {
        match s {
            "opaque" => Some(TokenStrategy::Opaque),
            "jwt" => Some(TokenStrategy::Jwt),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeStrategy {
    /// `foo.*` grants `foo.bar` (Hydra's default).
    Wildcard,
    Exact,
}

/// Where the login, consent, logout and error user interfaces live.
#[derive(Clone, Debug)]
pub struct UiUrls {
    pub login: String,
    pub consent: String,
    pub logout: String,
    pub error: String,
    pub post_logout_redirect: String,
    /// `URLS_DEVICE_VERIFICATION`: the page where users type a device's user code.
    pub device_verification: String,
    /// `URLS_DEVICE_SUCCESS`: where users land after authorizing a device.
    pub device_success: String,
}

/// `OAUTH2_DEVICE_AUTHORIZATION_*`: the device authorization grant (RFC 8628).
#[derive(Clone, Debug)]
pub struct DeviceSettings {
    /// Seconds a client must wait between polls (`interval`).
    pub polling_interval: i64,
    /// User codes: length and alphabet (Hydra's entropy presets).
    pub user_code_length: usize,
    pub user_code_alphabet: &'static str,
}

/// `OAUTH2_TOKEN_HOOK_*`: the webhook called before tokens are issued.
#[derive(Clone, Debug)]
pub struct TokenHook {
    pub url: String,
    /// An API key sent with every call: (name, value, in a header or a cookie).
    pub auth: Option<(String, String, HookAuthIn)>,
    pub timeout_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookAuthIn {
    Header,
    Cookie,
}

/// `OAUTH2_GRANT_JWT_*`: rules for jwt-bearer assertions (RFC 7523).
#[derive(Clone, Debug)]
pub struct JwtGrant {
    pub jti_optional: bool,
    pub iat_optional: bool,
    /// Longest `exp - iat` accepted, seconds.
    pub max_ttl: i64,
}

/// What a registrant may choose at `/oauth2/register` (the admin API is not bound by it).
#[derive(Clone, Debug)]
pub struct RegistrationPolicy {
    /// Longest access- and ID-token lifespan a registrant may set, in seconds.
    pub max_lifespan: i64,
    /// Longest refresh-token lifespan a registrant may set, in seconds.
    pub max_refresh_lifespan: i64,
    /// Scope tokens a registered client may hold (exactly; no wildcards).
    pub allowed_scope: Vec<String>,
    /// Audiences a registered client may hold.
    pub allowed_audience: Vec<String>,
}

/// `CONSENT_URL` (Hydra v0.10's own variable) and `CONSENT_URL_CLIENTS`: the v0.10-style consent
/// app, and which clients' authorizations go there instead of the login and consent apps.
#[derive(Clone, Debug)]
pub struct ConsentV010 {
    pub url: String,
    /// `None`: every client (`*`, the default).
    pub clients: Option<Vec<String>>,
}

impl ConsentV010 {
    pub fn covers(&self, client_id: &str) -> bool {
        self.clients.as_ref().is_none_or(|ids| ids.iter().any(|c| c == client_id))
    }
}

/// Lifespans in seconds.
#[derive(Clone, Debug)]
pub struct Ttls {
    pub access_token: i64,
    /// `-1` means refresh tokens never expire.
    pub refresh_token: i64,
    pub id_token: i64,
    pub auth_code: i64,
    pub login_consent_request: i64,
    pub authentication_session: i64,
    /// Lifetime of device codes and user codes.
    pub device_user_code: i64,
}

/// Which requests write a log line (`LOG_LEVEL`, Hydra's `log.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestLogLevel {
    /// `trace`, `debug`, `info` (the default): every request but the quiet routes.
    All,
    /// `warn`: server errors (5xx) and refusals (401, 403, 429) only.
    Warn,
    /// `error`, `fatal`, `panic`: server errors only.
    Error,
}

#[derive(Clone)]
pub struct Config {
    /// `URLS_SELF_ISSUER`, used verbatim as `iss`.
    pub issuer: String,
    /// `URLS_SELF_PUBLIC` without a trailing slash; defaults to the issuer.
    pub public_url: String,
    pub urls: UiUrls,
    pub ttl: Ttls,
    pub access_token_strategy: TokenStrategy,
    pub scope_strategy: ScopeStrategy,
    pub pkce_enforced: bool,
    pub pkce_enforced_for_public_clients: bool,
    pub dcr_enabled: bool,
    /// Scope given to clients registered without one.
    pub default_client_scope: String,
    pub registration: RegistrationPolicy,
    /// `SERVE_PUBLIC_CORS_*`.
    pub cors: crate::cors::Settings,
    pub cookies: CookiePolicy,
    pub expose_internal_errors: bool,
    /// `SECRETS_SYSTEM`: the first secret signs and encrypts, all of them verify and decrypt.
    pub system_secrets: Vec<String>,
    /// `ADMIN_API_TOKEN`; `None` closes the admin API.
    pub admin_token: Option<String>,
    /// The admin token is set but shorter than [`MIN_ADMIN_TOKEN_LEN`]: the admin API is closed.
    pub admin_token_too_short: bool,
    /// The issuer is plain-http on a loopback host: local development. Only then may test
    /// routes run and loopback URLs be registered for the server to fetch.
    pub local_development: bool,
    /// Seconds a client read from D1 may stay in the KV cache.
    pub client_cache_ttl: u64,
    /// Routes that exist only for the end-to-end tests (`HYDRA_EDGE_TEST_ROUTES`).
    pub test_routes: bool,
    /// Refresh-token rotation grace period (seconds, 0: strict rotation) and reuse count.
    pub refresh_grace_period: i64,
    pub refresh_grace_reuse_count: i64,
    pub token_hook: Option<TokenHook>,
    pub jwt_grant: JwtGrant,
    /// client_credentials without `scope` is granted every scope of the client.
    pub client_credentials_default_scope: bool,
    pub device: DeviceSettings,
    /// `SERVE_REQUEST_LOG_DISABLE_FOR_HEALTH` (Hydra's `serve.*.request_log.disable_for_health`):
    /// successful `/health/*` requests write no log line.
    pub request_log_disable_for_health: bool,
    /// `SERVE_REQUEST_LOG_DISABLE_FOR_DISCOVERY`: neither do successful requests of the
    /// well-known documents (`/.well-known/openid-configuration`, `/.well-known/jwks.json`).
    pub request_log_disable_for_discovery: bool,
    /// `LOG_LEVEL` (Hydra's `log.level`): which requests write a line ([`RequestLogLevel`]).
    pub request_log_level: RequestLogLevel,
    /// The v0.10 consent flow, when `CONSENT_URL` is set.
    pub consent_v0_10: Option<ConsentV010>,
    /// `WEBFINGER_OIDC_DISCOVERY_SUPPORTED_SCOPE` / `_SUPPORTED_CLAIMS` (Hydra's
    /// `webfinger.oidc_discovery.supported_*`): advertised in discovery after the built-in ones.
    pub discovery_scopes: Vec<String>,
    pub discovery_claims: Vec<String>,
    /// Shapes the JWT access token ([`AccessTokenClaims`]).
    pub access_token_claims: AccessTokenClaims,
    /// `OIDC_SUBJECT_IDENTIFIERS_*`: which `subject_type`s clients may have ([`SubjectTypes`]).
    pub subject_types: SubjectTypes,
}

/// Hydra's `oidc.subject_identifiers`: `public` (the subject as the login app named it) and
/// `pairwise` (OpenID Connect Core §8.1: a different `sub` for each sector, so that clients
/// cannot correlate users).
#[derive(Clone, PartialEq)]
pub struct SubjectTypes {
    pub public: bool,
    /// `OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT`, when `pairwise` is supported.
    pub pairwise_salt: Option<String>,
}

/// The shortest pairwise salt (Hydra refuses to start with a shorter one).
pub const MIN_PAIRWISE_SALT_LEN: usize = 8;

/// Hydra's `oauth2.allowed_top_level_claims`, `oauth2.mirror_top_level_claims` and
/// `oauth2.exclude_not_before_claim`: what a JWT access token carries beside its fixed claims.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessTokenClaims {
    /// Claims of the session's `access_token` data also set at the top level, except the
    /// reserved ones ([`RESERVED_ACCESS_TOKEN_CLAIMS`]), which are dropped from this list.
    pub allowed_top_level: Vec<String>,
    /// The session's `access_token` data under `ext` (default true).
    pub mirror_under_ext: bool,
    /// No `nbf` claim (default false).
    pub exclude_not_before: bool,
}

/// Claims a session's data never sets at the top level of a JWT access token.
pub const RESERVED_ACCESS_TOKEN_CLAIMS: [&str; 10] =
    ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scp", "ext"];

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are never printed.
        f.debug_struct("Config")
            .field("issuer", &self.issuer)
            .field("public_url", &self.public_url)
            .field("urls", &self.urls)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Every problem found in the configuration, each naming its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<String>);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid configuration: {}", self.0.join("; "))
    }
}

const MIN_SYSTEM_SECRET_LEN: usize = 16;
/// Shorter admin tokens close the admin API (a guessable token on a public hostname).
pub const MIN_ADMIN_TOKEN_LEN: usize = 32;
/// ... of at least this many different characters.
pub const MIN_ADMIN_TOKEN_DISTINCT: usize = 8;

impl Config {
    /// Build the configuration from a variable lookup (Worker vars and secrets, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut errors = Vec::new();

        let issuer = match get("URLS_SELF_ISSUER") {
            Some(v) => {
                if let Err(e) = check_base_url(&v) {
                    errors.push(format!("URLS_SELF_ISSUER {e}"));
                }
                v
            }
            None => {
                errors.push("URLS_SELF_ISSUER is required (the issuer URL, e.g. https://auth.example.com)".into());
                String::new()
            }
        };
        let public_url = match get("URLS_SELF_PUBLIC") {
            Some(v) => {
                if let Err(e) = check_base_url(&v) {
                    errors.push(format!("URLS_SELF_PUBLIC {e}"));
                }
                v
            }
            None => issuer.clone(),
        }
        .trim_end_matches('/')
        .to_string();

        let mut url = |name: &str, fallback: &str| -> String {
            match get(name) {
                Some(v) => {
                    if Url::parse(&v).is_err() {
                        errors.push(format!("{name} must be an absolute URL, got {v:?}"));
                    }
                    v
                }
                None => format!("{public_url}/oauth2/fallbacks/{fallback}"),
            }
        };
        let urls = UiUrls {
            login: url("URLS_LOGIN", "login"),
            consent: url("URLS_CONSENT", "consent"),
            logout: url("URLS_LOGOUT", "logout"),
            error: url("URLS_ERROR", "error"),
            post_logout_redirect: url("URLS_POST_LOGOUT_REDIRECT", "logout/callback"),
            device_verification: url("URLS_DEVICE_VERIFICATION", "device"),
            device_success: url("URLS_DEVICE_SUCCESS", "device/done"),
        };

        let mut ttl = |name: &str, default: &str, allow_never: bool| -> i64 {
            let raw = get(name).unwrap_or_else(|| default.to_string());
            if allow_never && raw == "-1" {
                return -1;
            }
            match duration::parse(&raw).map(duration::to_secs) {
                Some(s) if s > 0 => s,
                _ => {
                    errors.push(format!("{name} must be a positive duration such as \"1h\" or \"30m\", got {raw:?}"));
                    0
                }
            }
        };
        let ttl = Ttls {
            access_token: ttl("TTL_ACCESS_TOKEN", "1h", false),
            refresh_token: ttl("TTL_REFRESH_TOKEN", "720h", true),
            id_token: ttl("TTL_ID_TOKEN", "1h", false),
            auth_code: ttl("TTL_AUTH_CODE", "10m", false),
            login_consent_request: ttl("TTL_LOGIN_CONSENT_REQUEST", "30m", false),
            authentication_session: ttl("TTL_AUTHENTICATION_SESSION", "720h", false),
            device_user_code: ttl("TTL_DEVICE_USER_CODE", "10m", false),
        };

        let access_token_strategy = match get("STRATEGIES_ACCESS_TOKEN") {
            None => TokenStrategy::Opaque,
            Some(v) => TokenStrategy::parse(&v).unwrap_or_else(|| {
                errors.push(format!("STRATEGIES_ACCESS_TOKEN must be \"opaque\" or \"jwt\", got {v:?}"));
                TokenStrategy::Opaque
            }),
        };
        let request_log_level = match get("LOG_LEVEL").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("trace" | "debug" | "info") => RequestLogLevel::All,
            Some("warn" | "warning") => RequestLogLevel::Warn,
            Some("error" | "fatal" | "panic") => RequestLogLevel::Error,
            Some(v) => {
                errors.push(format!(
                    "LOG_LEVEL must be one of trace, debug, info, warn, warning, error, fatal, panic, got {v:?}"
                ));
                RequestLogLevel::All
            }
        };
        let scope_strategy = match get("STRATEGIES_SCOPE").as_deref() {
            None | Some("wildcard") => ScopeStrategy::Wildcard,
            Some("exact") => ScopeStrategy::Exact,
            Some(v) => {
                errors.push(format!("STRATEGIES_SCOPE must be \"wildcard\" or \"exact\", got {v:?}"));
                ScopeStrategy::Wildcard
            }
        };

        let mut flag = |name: &str, default: bool| -> bool {
            match get(name).as_deref() {
                None => default,
                Some("true") | Some("1") => true,
                Some("false") | Some("0") => false,
                Some(v) => {
                    errors.push(format!("{name} must be \"true\" or \"false\", got {v:?}"));
                    default
                }
            }
        };
        let cors_enabled = flag("SERVE_PUBLIC_CORS_ENABLED", false);
        let cors_credentials = flag("SERVE_PUBLIC_CORS_ALLOW_CREDENTIALS", true);
        let pkce_enforced = flag("OAUTH2_PKCE_ENFORCED", false);
        let pkce_enforced_for_public_clients = flag("OAUTH2_PKCE_ENFORCED_FOR_PUBLIC_CLIENTS", true);
        let dcr_enabled = flag("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED", false);
        let expose_internal_errors = flag("OAUTH2_EXPOSE_INTERNAL_ERRORS", false);
        let test_routes = flag("HYDRA_EDGE_TEST_ROUTES", false);
        let jwt_jti_optional = flag("OAUTH2_GRANT_JWT_JTI_OPTIONAL", false);
        let jwt_iat_optional = flag("OAUTH2_GRANT_JWT_IAT_OPTIONAL", false);
        let client_credentials_default_scope = flag("OAUTH2_CLIENT_CREDENTIALS_DEFAULT_GRANT_ALLOWED_SCOPE", false);
        let mirror_under_ext = flag("OAUTH2_MIRROR_TOP_LEVEL_CLAIMS", true);
        let exclude_not_before = flag("OAUTH2_EXCLUDE_NOT_BEFORE_CLAIM", false);
        // Liveness probes every few seconds from many locations would fill Workers Logs (billed per
        // line) with lines that say nothing, and the line is a large share of a probe's cost.
        // The same for the well-known documents relying parties and resource servers poll: served
        // from memory, they name no client, subject or grant.
        let request_log_disable_for_health = flag("SERVE_REQUEST_LOG_DISABLE_FOR_HEALTH", true);
        let request_log_disable_for_discovery = flag("SERVE_REQUEST_LOG_DISABLE_FOR_DISCOVERY", true);
        let loopback_issuer = Url::parse(&issuer)
            .map(|u| u.scheme() == "http" && is_loopback_host(u.host_str().unwrap_or("")))
            .unwrap_or(false);
        if test_routes && !loopback_issuer {
            // The test routes can run SQL and panic on purpose: never on a real deployment.
            errors
                .push("HYDRA_EDGE_TEST_ROUTES is only allowed with a plain-http loopback issuer (local tests)".into());
        }

        let default_client_scope = get("OIDC_DYNAMIC_CLIENT_REGISTRATION_DEFAULT_SCOPE")
            .unwrap_or_else(|| "offline_access offline openid".to_string());
        let words =
            |v: String| -> Vec<String> { v.split([' ', ',']).filter(|w| !w.is_empty()).map(str::to_string).collect() };
        let subject_types = {
            let mut types = SubjectTypes { public: false, pairwise_salt: None };
            let mut pairwise = false;
            for t in words(get("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES").unwrap_or_else(|| "public".into())) {
                match t.as_str() {
                    "public" => types.public = true,
                    "pairwise" => pairwise = true,
                    _ => errors.push(format!(
                        "OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES may list \"public\" and \"pairwise\", got {t:?}"
                    )),
                }
            }
            // Neither named (only separators): public, as Hydra does.
            types.public |= !pairwise;
            if pairwise {
                match get("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT") {
                    Some(salt) if salt.chars().count() >= MIN_PAIRWISE_SALT_LEN => types.pairwise_salt = Some(salt),
                    _ => errors.push(format!(
                        "OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT must be a secret of at least {MIN_PAIRWISE_SALT_LEN} characters when OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES lists \"pairwise\" (set it with `wrangler secret put OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT`)"
                    )),
                }
            }
            types
        };
        let mut bound = |name: &str, default: &str| -> i64 {
            let raw = get(name).unwrap_or_else(|| default.to_string());
            match duration::parse(&raw).map(duration::to_secs) {
                Some(s) if s > 0 => s,
                _ => {
                    errors.push(format!("{name} must be a positive duration such as \"24h\", got {raw:?}"));
                    0
                }
            }
        };
        let discovery_scopes = words(get("WEBFINGER_OIDC_DISCOVERY_SUPPORTED_SCOPE").unwrap_or_default());
        let discovery_claims = words(get("WEBFINGER_OIDC_DISCOVERY_SUPPORTED_CLAIMS").unwrap_or_default());
        let mut allowed_top_level: Vec<String> = Vec::new();
        for claim in words(get("OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS").unwrap_or_default()) {
            if !RESERVED_ACCESS_TOKEN_CLAIMS.contains(&claim.as_str()) && !allowed_top_level.contains(&claim) {
                allowed_top_level.push(claim);
            }
        }
        let registration = RegistrationPolicy {
            max_lifespan: bound("OIDC_DYNAMIC_CLIENT_REGISTRATION_MAX_LIFESPAN", "24h"),
            max_refresh_lifespan: bound("OIDC_DYNAMIC_CLIENT_REGISTRATION_MAX_REFRESH_LIFESPAN", "720h"),
            allowed_scope: words(
                get("OIDC_DYNAMIC_CLIENT_REGISTRATION_ALLOWED_SCOPE")
                    .unwrap_or_else(|| "openid offline_access offline profile email address phone".to_string()),
            ),
            allowed_audience: words(get("OIDC_DYNAMIC_CLIENT_REGISTRATION_ALLOWED_AUDIENCE").unwrap_or_default()),
        };
        if let Some(outside) = default_client_scope
            .split(' ')
            .filter(|w| !w.is_empty())
            .find(|w| !registration.allowed_scope.iter().any(|a| a == w))
        {
            errors.push(format!(
                "OIDC_DYNAMIC_CLIENT_REGISTRATION_DEFAULT_SCOPE holds \"{outside}\", which OIDC_DYNAMIC_CLIENT_REGISTRATION_ALLOWED_SCOPE does not allow"
            ));
        }

        let secure_issuer = issuer.starts_with("https://");
        let mut same_site = match get("SERVE_COOKIES_SAME_SITE_MODE") {
            None => SameSite::None,
            Some(v) => SameSite::parse(&v).unwrap_or_else(|| {
                errors.push(format!("SERVE_COOKIES_SAME_SITE_MODE must be Strict, Lax or None, got {v:?}"));
                SameSite::None
            }),
        };
        // Browsers drop `SameSite=None` cookies that are not `Secure`, and `Secure` cookies need
        // https: on a plain-http (loopback) issuer fall back to Lax, as Hydra does.
        if !secure_issuer && same_site == SameSite::None {
            same_site = SameSite::Lax;
        }

        let system_secrets: Vec<String> = get("SECRETS_SYSTEM")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        if system_secrets.is_empty() {
            errors.push("SECRETS_SYSTEM is required (a secret of at least 16 characters; set it with `wrangler secret put SECRETS_SYSTEM`)".into());
        } else if system_secrets.iter().any(|s| s.len() < MIN_SYSTEM_SECRET_LEN) {
            errors
                .push(format!("SECRETS_SYSTEM: every secret must be at least {MIN_SYSTEM_SECRET_LEN} characters long"));
        }

        let list = |name: &str, default: &[&str]| -> Vec<String> {
            match get(name) {
                Some(v) => v.split(',').map(str::trim).filter(|w| !w.is_empty()).map(str::to_string).collect(),
                None => default.iter().map(|s| s.to_string()).collect(),
            }
        };
        let cors_origins = list("SERVE_PUBLIC_CORS_ALLOWED_ORIGINS", &[]);
        for o in &cors_origins {
            if o != "*" && o.matches('*').count() > 1 {
                errors.push(format!("SERVE_PUBLIC_CORS_ALLOWED_ORIGINS: \"{o}\" may hold at most one wildcard"));
            }
        }
        let cors = crate::cors::Settings {
            enabled: cors_enabled,
            allowed_origins: cors_origins,
            allowed_methods: list("SERVE_PUBLIC_CORS_ALLOWED_METHODS", crate::cors::DEFAULT_METHODS)
                .into_iter()
                .map(|m| m.to_ascii_uppercase())
                .collect(),
            allowed_headers: list("SERVE_PUBLIC_CORS_ALLOWED_HEADERS", crate::cors::DEFAULT_HEADERS),
            exposed_headers: list("SERVE_PUBLIC_CORS_EXPOSED_HEADERS", crate::cors::DEFAULT_EXPOSED),
            allow_credentials: cors_credentials,
            max_age: match get("SERVE_PUBLIC_CORS_MAX_AGE") {
                None => 0,
                Some(v) => v.parse().unwrap_or_else(|_| {
                    errors.push(format!("SERVE_PUBLIC_CORS_MAX_AGE must be a number of seconds, got {v:?}"));
                    0
                }),
            },
        };

        let admin_token = get("ADMIN_API_TOKEN");
        // Too short, or too few different characters ("aaaa…"): guessable, so the admin API stays
        // closed. The right token passes even from a rate-limited address (app::admin_authorized),
        // which is only safe for a token nobody can guess.
        let admin_token_too_short = admin_token
            .as_ref()
            .map(|t| {
                let mut distinct: Vec<char> = Vec::new();
                for c in t.chars() {
                    if !distinct.contains(&c) {
                        distinct.push(c);
                    }
                }
                t.chars().count() < MIN_ADMIN_TOKEN_LEN || distinct.len() < MIN_ADMIN_TOKEN_DISTINCT
            })
            .unwrap_or(false);

        let client_cache_ttl = match get("CLIENT_CACHE_TTL") {
            None => 300,
            Some(v) => match duration::parse(&v).map(duration::to_secs) {
                Some(s) if s >= 60 => s as u64,
                _ => {
                    errors
                        .push(format!("CLIENT_CACHE_TTL must be a duration of at least 60s (KV's minimum), got {v:?}"));
                    300
                }
            },
        };

        let refresh_grace_reuse_count = match get("OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_REUSE_COUNT") {
            None => 0,
            Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).unwrap_or_else(|| {
                errors.push(format!(
                    "OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_REUSE_COUNT must be a whole number >= 0, got {v:?}"
                ));
                0
            }),
        };
        // Hydra's bounds: at most 5 minutes, or 180 days when a reuse count limits it.
        let max_grace = if refresh_grace_reuse_count > 0 { 180 * 24 * 3600 } else { 300 };
        let refresh_grace_period = match get("OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD") {
            None => 0,
            Some(v) if v == "0" => 0,
            Some(v) => match duration::parse(&v).map(duration::to_secs) {
                Some(s) if s >= 0 => s.min(max_grace),
                _ => {
                    errors.push(format!(
                        "OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD must be a duration such as \"30s\", got {v:?}"
                    ));
                    0
                }
            },
        };

        let token_hook = match get("OAUTH2_TOKEN_HOOK_URL") {
            None => None,
            Some(u) => {
                match Url::parse(&u) {
                    Ok(parsed) if parsed.scheme() == "https" || parsed.scheme() == "http" => {}
                    _ => errors.push(format!("OAUTH2_TOKEN_HOOK_URL must be an absolute http(s) URL, got {u:?}")),
                }
                let auth = match (get("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_NAME"), get("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE"))
                {
                    (Some(name), Some(value)) => {
                        let place = match get("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_IN").as_deref() {
                            None | Some("header") => HookAuthIn::Header,
                            Some("cookie") => HookAuthIn::Cookie,
                            Some(v) => {
                                errors.push(format!(
                                    "OAUTH2_TOKEN_HOOK_AUTH_CONFIG_IN must be \"header\" or \"cookie\", got {v:?}"
                                ));
                                HookAuthIn::Header
                            }
                        };
                        Some((name, value, place))
                    }
                    (None, None) => None,
                    _ => {
                        errors.push(
                            "OAUTH2_TOKEN_HOOK_AUTH_CONFIG_NAME and OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE go together"
                                .into(),
                        );
                        None
                    }
                };
                let timeout_ms = match get("OAUTH2_TOKEN_HOOK_TIMEOUT") {
                    None => 10_000,
                    Some(v) => match duration::parse(&v) {
                        Some(ns) if ns >= 1_000_000 => (ns / 1_000_000) as u64,
                        _ => {
                            errors.push(format!(
                                "OAUTH2_TOKEN_HOOK_TIMEOUT must be a duration such as \"5s\", got {v:?}"
                            ));
                            10_000
                        }
                    },
                };
                Some(TokenHook { url: u, auth, timeout_ms })
            }
        };

        let jwt_max_ttl = match get("OAUTH2_GRANT_JWT_MAX_TTL") {
            None => 720 * 3600,
            Some(v) => match duration::parse(&v).map(duration::to_secs) {
                Some(s) if s > 0 => s,
                _ => {
                    errors.push(format!("OAUTH2_GRANT_JWT_MAX_TTL must be a positive duration, got {v:?}"));
                    0
                }
            },
        };
        let jwt_grant =
            JwtGrant { jti_optional: jwt_jti_optional, iat_optional: jwt_iat_optional, max_ttl: jwt_max_ttl };

        let polling_interval = match get("OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL") {
            None => 5,
            Some(v) => match duration::parse(&v).map(duration::to_secs) {
                Some(s) if (1..=300).contains(&s) => s,
                _ => {
                    errors.push(format!(
                        "OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL must be a duration from 1s to 5m, got {v:?}"
                    ));
                    5
                }
            },
        };
        let preset = get("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_ENTROPY_PRESET").unwrap_or_else(|| "high".into());
        let (user_code_length, user_code_alphabet) = match crate::device::user_code::preset(&preset) {
            Some(p) => p,
            None => {
                errors.push(format!(
                    "OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_ENTROPY_PRESET must be \"high\", \"medium\" or \"low\", got {preset:?}"
                ));
                crate::device::user_code::preset("high").expect("preset")
            }
        };
        let device = DeviceSettings { polling_interval, user_code_length, user_code_alphabet };

        let consent_v0_10 = match get("CONSENT_URL") {
            None => None,
            Some(u) => {
                if !Url::parse(&u).is_ok_and(|p| p.scheme() == "https" || p.scheme() == "http") {
                    errors.push(format!("CONSENT_URL must be an absolute http(s) URL, got {u:?}"));
                }
                let clients = match get("CONSENT_URL_CLIENTS").as_deref() {
                    None | Some("*") => None,
                    Some(v) => {
                        Some(v.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect())
                    }
                };
                Some(ConsentV010 { url: u, clients })
            }
        };
        if consent_v0_10.is_none() && get("CONSENT_URL_CLIENTS").is_some() {
            errors.push("CONSENT_URL_CLIENTS needs CONSENT_URL (the v0.10 consent app)".into());
        }

        if !errors.is_empty() {
            return Err(ConfigError(errors));
        }
        Ok(Config {
            issuer,
            public_url,
            urls,
            ttl,
            access_token_strategy,
            scope_strategy,
            pkce_enforced,
            pkce_enforced_for_public_clients,
            dcr_enabled,
            default_client_scope,
            registration,
            cors,
            cookies: CookiePolicy { secure: secure_issuer, same_site },
            expose_internal_errors,
            system_secrets,
            admin_token: admin_token.filter(|_| !admin_token_too_short),
            admin_token_too_short,
            local_development: loopback_issuer,
            client_cache_ttl,
            test_routes,
            refresh_grace_period,
            refresh_grace_reuse_count,
            token_hook,
            jwt_grant,
            client_credentials_default_scope,
            device,
            request_log_disable_for_health,
            request_log_disable_for_discovery,
            request_log_level,
            consent_v0_10,
            discovery_scopes,
            discovery_claims,
            access_token_claims: AccessTokenClaims { allowed_top_level, mirror_under_ext, exclude_not_before },
            subject_types,
        })
    }

    /// An absolute URL on the public side, such as `/oauth2/token`.
    pub fn public(&self, path: &str) -> String {
        format!("{}{}", self.public_url, path)
    }

    /// An absolute URL under the issuer (Hydra joins these to the issuer, not the public URL).
    pub fn under_issuer(&self, path: &str) -> String {
        format!("{}{}", self.issuer.trim_end_matches('/'), path)
    }

    /// The key opaque tokens are signed with, and the ones that still verify.
    pub fn primary_secret(&self) -> &str {
        &self.system_secrets[0]
    }
}

/// The issuer and public URL: absolute http(s), no query or fragment, and https unless the
/// host is a loopback address (local development).
fn check_base_url(v: &str) -> Result<(), String> {
    let u = Url::parse(v).map_err(|e| format!("must be an absolute URL ({e}), got {v:?}"))?;
    if u.query().is_some() || u.fragment().is_some() {
        return Err(format!("must not have a query or fragment, got {v:?}"));
    }
    match u.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(u.host_str().unwrap_or("")) => Ok(()),
        _ => Err(format!("must use https (http is allowed only for localhost), got {v:?}")),
    }
}

pub fn is_loopback_host(host: &str) -> bool {
    // `localhost.` is the same name, fully qualified.
    let host = host.strip_suffix('.').unwrap_or(host);
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host == "::1"
        || host.parse::<std::net::Ipv4Addr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::collections::HashMap;

    pub fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    pub fn test_config() -> Config {
        Config::from_lookup(lookup(&[
            ("URLS_SELF_ISSUER", "http://127.0.0.1:8787"),
            ("SECRETS_SYSTEM", "a-very-long-system-secret"),
            ("ADMIN_API_TOKEN", "admin-token-of-at-least-32-characters"),
        ]))
        .unwrap()
    }

    #[test]
    fn defaults_follow_hydra() {
        let c = test_config();
        assert_eq!(c.ttl.access_token, 3600);
        assert_eq!(c.ttl.refresh_token, 720 * 3600);
        assert_eq!(c.ttl.auth_code, 600);
        assert_eq!(c.ttl.login_consent_request, 1800);
        assert_eq!(c.urls.login, "http://127.0.0.1:8787/oauth2/fallbacks/login");
        assert_eq!(c.urls.error, "http://127.0.0.1:8787/oauth2/fallbacks/error");
        assert_eq!(c.access_token_strategy, TokenStrategy::Opaque);
        assert!(!c.pkce_enforced);
        assert!(c.pkce_enforced_for_public_clients);
        assert!(!c.dcr_enabled);
        assert!(!c.cookies.secure);
        assert_eq!(c.cookies.same_site, SameSite::Lax);
    }

    #[test]
    fn the_v0_10_consent_app_is_off_unless_set() {
        assert!(test_config().consent_v0_10.is_none());
        let base = [
            ("URLS_SELF_ISSUER", "http://127.0.0.1:8787"),
            ("SECRETS_SYSTEM", "a-very-long-system-secret"),
            ("CONSENT_URL", "https://consent.example/v0"),
        ];
        let every = Config::from_lookup(lookup(&base)).unwrap().consent_v0_10.unwrap();
        assert!(every.covers("any-client"));
        let mut some = base.to_vec();
        some.push(("CONSENT_URL_CLIENTS", "a, b"));
        let some = Config::from_lookup(lookup(&some)).unwrap().consent_v0_10.unwrap();
        assert!(some.covers("a") && some.covers("b") && !some.covers("c"));
        let err = Config::from_lookup(lookup(&[
            ("URLS_SELF_ISSUER", "http://127.0.0.1:8787"),
            ("SECRETS_SYSTEM", "a-very-long-system-secret"),
            ("CONSENT_URL", "consent-app"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("CONSENT_URL must be an absolute http(s) URL"), "{err}");
        let err = Config::from_lookup(lookup(&[
            ("URLS_SELF_ISSUER", "http://127.0.0.1:8787"),
            ("SECRETS_SYSTEM", "a-very-long-system-secret"),
            ("CONSENT_URL_CLIENTS", "a"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("CONSENT_URL_CLIENTS needs CONSENT_URL"), "{err}");
    }

    #[test]
    fn reports_every_problem_with_its_name() {
        let err = Config::from_lookup(lookup(&[
            ("URLS_SELF_ISSUER", "http://auth.example.com"),
            ("TTL_ACCESS_TOKEN", "forever"),
            ("STRATEGIES_ACCESS_TOKEN", "magic"),
        ]))
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("URLS_SELF_ISSUER must use https"), "{text}");
        assert!(text.contains("TTL_ACCESS_TOKEN"), "{text}");
        assert!(text.contains("STRATEGIES_ACCESS_TOKEN"), "{text}");
        assert!(text.contains("SECRETS_SYSTEM is required"), "{text}");
    }

    #[test]
    fn https_issuer_gets_secure_cookies() {
        let c = Config::from_lookup(lookup(&[
            ("URLS_SELF_ISSUER", "https://auth.example.com/"),
            ("SECRETS_SYSTEM", "0123456789abcdef,old-secret-0123456789"),
            ("TTL_REFRESH_TOKEN", "-1"),
        ]))
        .unwrap();
        assert!(c.cookies.secure);
        assert_eq!(c.cookies.same_site, SameSite::None);
        assert_eq!(c.public("/oauth2/token"), "https://auth.example.com/oauth2/token");
        assert_eq!(c.issuer, "https://auth.example.com/");
        assert_eq!(c.under_issuer("/oauth2/revoke"), "https://auth.example.com/oauth2/revoke");
        assert_eq!(c.system_secrets.len(), 2);
        assert_eq!(c.ttl.refresh_token, -1);
        assert!(c.admin_token.is_none());
    }

    #[test]
    fn short_secret_is_rejected() {
        let err =
            Config::from_lookup(lookup(&[("URLS_SELF_ISSUER", "http://localhost:8787"), ("SECRETS_SYSTEM", "short")]))
                .unwrap_err();
        assert!(err.to_string().contains("at least 16"));
    }

    #[test]
    fn test_routes_only_on_loopback() {
        let with = |issuer: &str| {
            Config::from_lookup(lookup(&[
                ("URLS_SELF_ISSUER", issuer),
                ("SECRETS_SYSTEM", "0123456789abcdef0123"),
                ("HYDRA_EDGE_TEST_ROUTES", "true"),
            ]))
        };
        assert!(with("http://127.0.0.1:8787").unwrap().test_routes);
        assert!(with("https://auth.example.com").unwrap_err().to_string().contains("HYDRA_EDGE_TEST_ROUTES"));
    }

    #[test]
    fn short_admin_tokens_close_the_admin_api() {
        let with = |token: &str| {
            Config::from_lookup(lookup(&[
                ("URLS_SELF_ISSUER", "http://127.0.0.1:8787"),
                ("SECRETS_SYSTEM", "0123456789abcdef0123"),
                ("ADMIN_API_TOKEN", token),
            ]))
            .unwrap()
        };
        let short = with("local-admin-token");
        assert!(short.admin_token.is_none() && short.admin_token_too_short);
        let long = with("0123456789abcdef0123456789abcdef");
        assert_eq!(long.admin_token.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        assert!(!long.admin_token_too_short);
        // Long but of few characters: as guessable as a short one.
        for weak in [
            "a".repeat(40),
            "abababababababababababababababab".to_string(),
            "abcdefgabcdefgabcdefgabcdefgabcdefg".into(),
        ] {
            assert!(with(&weak).admin_token_too_short, "{weak}");
        }
    }

    #[test]
    fn registration_bounds_and_cors_settings() {
        let c = test_config();
        assert_eq!(c.registration.max_lifespan, 24 * 3600);
        assert_eq!(c.registration.max_refresh_lifespan, 720 * 3600);
        assert!(c.registration.allowed_scope.iter().any(|s| s == "openid"));
        assert!(c.registration.allowed_audience.is_empty());
        assert!(!c.cors.enabled);
        assert!(c.local_development);
        let c = Config::from_lookup(lookup(&[
            ("URLS_SELF_ISSUER", "https://auth.example.com"),
            ("SECRETS_SYSTEM", "0123456789abcdef0123"),
            ("SERVE_PUBLIC_CORS_ENABLED", "true"),
            ("SERVE_PUBLIC_CORS_ALLOWED_ORIGINS", "https://a.example, https://*.b.example"),
            ("SERVE_PUBLIC_CORS_MAX_AGE", "600"),
            ("OIDC_DYNAMIC_CLIENT_REGISTRATION_ALLOWED_AUDIENCE", "https://api.example"),
        ]))
        .unwrap();
        assert!(c.cors.enabled && c.cors.allow_credentials);
        assert_eq!(c.cors.allowed_origins, vec!["https://a.example", "https://*.b.example"]);
        assert_eq!(c.cors.max_age, 600);
        assert_eq!(c.registration.allowed_audience, vec!["https://api.example"]);
        assert!(!c.local_development);
        let err = Config::from_lookup(lookup(&[
            ("URLS_SELF_ISSUER", "https://auth.example.com"),
            ("SECRETS_SYSTEM", "0123456789abcdef0123"),
            ("OIDC_DYNAMIC_CLIENT_REGISTRATION_ALLOWED_SCOPE", "openid"),
            ("OIDC_DYNAMIC_CLIENT_REGISTRATION_MAX_LIFESPAN", "forever"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("DEFAULT_SCOPE") && err.contains("MAX_LIFESPAN"), "{err}");
    }

    #[test]
    fn debug_hides_secrets() {
        let c = test_config();
        assert!(!format!("{c:?}").contains("a-very-long-system-secret"));
    }

    #[test]
    fn subject_identifiers_follow_hydra() {
        let with = crate::host::config;
        let types = |c: &Config| (c.subject_types.public, c.subject_types.pairwise_salt.is_some());
        assert_eq!(types(&test_config()), (true, false));
        let both = with(&[
            ("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "public, pairwise"),
            ("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", "12345678"),
        ])
        .unwrap();
        assert_eq!(types(&both), (true, true));
        assert_eq!(both.subject_types.pairwise_salt.as_deref(), Some("12345678"));
        let only = with(&[
            ("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "pairwise"),
            ("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", "12345678"),
        ])
        .unwrap();
        assert_eq!(types(&only), (false, true));
        for (pairs, expect) in [
            (vec![("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "pairwise")], "PAIRWISE_SALT"),
            (
                vec![
                    ("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "pairwise"),
                    ("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", "1234567"),
                ],
                "at least 8",
            ),
            (vec![("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "public,private")], "\"private\""),
        ] {
            let err = with(&pairs).unwrap_err().to_string();
            assert!(err.contains(expect), "expected {expect:?} in {err}");
        }
        // A salt alone changes nothing, and is never printed.
        let salted = with(&[("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", "a-secret-salt")]).unwrap();
        assert_eq!(types(&salted), (true, false));
        assert!(!format!("{both:?}").contains("12345678"));
    }
}
