//! Minting tokens: Hydra-format opaque access and refresh tokens, JWT access tokens with
//! Hydra's claims (`typ: at+jwt`, RFC 9068), and ID tokens (ES256 by default, RS256 for clients
//! that ask). Claims are built by pure functions; signing goes through WebCrypto with the newest
//! key of the signing set.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::clients::model::{Client, Lifespans};
use crate::config::{Config, TokenStrategy};
use crate::crypto::jws::{self, half_hash};
use crate::crypto::opaque::{self, TokenKind};
use crate::crypto::uuid_v4;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::keys::signing::{signing_key, signing_key_for_alg, ACCESS_TOKEN_SET, ID_TOKEN_SET};
use crate::platform::Platform;
use crate::store::tokens::TokenRow;

/// Everything a grant carries from consent to the tokens it yields (stored with codes and
/// tokens; the later refresh grant re-issues from it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Grant {
    /// The consent request id: the request id of every token of this grant.
    pub request_id: String,
    pub client_id: String,
    pub subject: String,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    /// When the authorization was requested (`rat`).
    pub requested_at: i64,
    /// When the user authenticated (`auth_time`).
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    /// Login session id (`sid`).
    pub sid: String,
    pub nonce: String,
    /// `acr_values` were requested: an ID token then always carries `acr` (`"0"` if unset).
    pub acr_requested: bool,
    /// The consent's `session.access_token`: `ext` of access tokens.
    pub access_token_ext: Value,
    /// The consent's `session.id_token`: extra ID token claims.
    pub id_token_ext: Value,
    /// The scopes the authorization (or device) request asked for: what the token hook is told
    /// was requested, at the code exchange and at every refresh, as fosite tells Hydra's hook.
    /// `None` in grants stored before it was kept (the granted scopes stand in then).
    pub requested_scopes: Option<Vec<String>>,
    /// The pairwise subject identifier the client sees (ID token and userinfo `sub`,
    /// introspection's `obfuscated_subject`); empty for public clients.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub obfuscated_subject: String,
}

impl Grant {
    /// The `sub` of ID tokens and userinfo: the pairwise identifier, else the subject.
    pub fn oidc_subject(&self) -> &str {
        if self.obfuscated_subject.is_empty() {
            &self.subject
        } else {
            &self.obfuscated_subject
        }
    }

    /// The scopes originally requested (the granted ones for grants stored without them).
    pub fn originally_requested(&self) -> Vec<String> {
        self.requested_scopes.clone().unwrap_or_else(|| self.scopes.clone())
    }

    /// The shard this grant's rows would live in if storage were split (docs/scaling.md); its
    /// codes, opaque tokens and JWT `jti`s carry it.
    pub fn shard(&self) -> u8 {
        opaque::shard_of(&self.subject, &self.client_id)
    }

    pub fn has_scope(&self, s: &str) -> bool {
        self.scopes.iter().any(|x| x == s)
    }

    /// Refresh tokens need `offline` or `offline_access` granted.
    pub fn wants_refresh(&self) -> bool {
        self.has_scope("offline") || self.has_scope("offline_access")
    }
}

/// Which grant a token is issued under, to pick the client's lifespan overrides.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    AuthorizationCode,
    Implicit,
    RefreshToken,
    ClientCredentials,
    JwtBearer,
    DeviceCode,
}

/// The `typ` header of JWT access tokens (RFC 9068 §2.1). Verifiers refuse any other JWT.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

pub struct Lifetimes {
    pub access: i64,
    pub id: i64,
    /// `None`: refresh tokens never expire.
    pub refresh: Option<i64>,
}

pub fn lifetimes(cfg: &Config, client: &Client, kind: GrantKind) -> Lifetimes {
    let l = &client.lifespans;
    let (access, id, refresh) = match kind {
        GrantKind::AuthorizationCode => (
            &l.authorization_code_grant_access_token_lifespan,
            &l.authorization_code_grant_id_token_lifespan,
            &l.authorization_code_grant_refresh_token_lifespan,
        ),
        GrantKind::Implicit => (&l.implicit_grant_access_token_lifespan, &l.implicit_grant_id_token_lifespan, &None),
        GrantKind::RefreshToken => (
            &l.refresh_token_grant_access_token_lifespan,
            &l.refresh_token_grant_id_token_lifespan,
            &l.refresh_token_grant_refresh_token_lifespan,
        ),
        GrantKind::ClientCredentials => (&l.client_credentials_grant_access_token_lifespan, &None, &None),
        GrantKind::JwtBearer => (&l.jwt_bearer_grant_access_token_lifespan, &None, &None),
        GrantKind::DeviceCode => (
            &l.device_authorization_grant_access_token_lifespan,
            &l.device_authorization_grant_id_token_lifespan,
            &l.device_authorization_grant_refresh_token_lifespan,
        ),
    };
    Lifetimes {
        access: Lifespans::secs(access).unwrap_or(cfg.ttl.access_token),
        id: Lifespans::secs(id).unwrap_or(cfg.ttl.id_token),
        refresh: Lifespans::secs(refresh).or(if cfg.ttl.refresh_token < 0 {
            None
        } else {
            Some(cfg.ttl.refresh_token)
        }),
    }
}

/// Hydra's JWT access-token claims.
pub fn access_token_claims(cfg: &Config, grant: &Grant, now: i64, exp: i64, jti: &str) -> Value {
    let mut c = json!({
        "iss": cfg.issuer,
        "sub": grant.subject,
        "aud": grant.audience,
        "exp": exp,
        "iat": now,
        "jti": jti,
        "client_id": grant.client_id,
        "scp": grant.scopes,
    });
    let shape = &cfg.access_token_claims;
    if !shape.exclude_not_before {
        c["nbf"] = json!(now);
    }
    let ext = grant.access_token_ext.as_object();
    if let (Some(ext), Some(top)) = (ext, c.as_object_mut()) {
        // The configured list holds no reserved claim, so none of the above is overridden.
        for name in &shape.allowed_top_level {
            if let Some(v) = ext.get(name) {
                top.insert(name.clone(), v.clone());
            }
        }
    }
    // Always an object, `{}` when nothing was added, unless mirroring is off (as in Hydra):
    // resource servers read `ext.<claim>` without a check for `ext` itself.
    if shape.mirror_under_ext {
        c["ext"] = ext.map(|_| grant.access_token_ext.clone()).unwrap_or_else(|| json!({}));
    }
    c
}

/// What introspection and later grants need of a token, stored with its signature.
pub fn token_data(grant: &Grant) -> String {
    serde_json::to_string(grant).expect("serialisable grant")
}

pub struct MintedToken {
    pub token: String,
    pub row: TokenRow,
}

impl MintedToken {
    /// The `jti` of a JWT access token.
    pub fn jti(&self) -> Option<&str> {
        self.row.jti.as_deref()
    }
}

/// An access token in the client's (or the server's) strategy.
pub async fn access_token<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    grant: &Grant,
    lifetime: i64,
) -> ApiResult<MintedToken> {
    let now = ctx.p.now();
    let exp = now + lifetime;
    let strategy = TokenStrategy::parse(&client.access_token_strategy).unwrap_or(ctx.cfg.access_token_strategy);
    let (token, signature, jti) = match strategy {
        TokenStrategy::Opaque => {
            let t = opaque::generate_in(ctx.cfg.primary_secret(), TokenKind::AccessToken, grant.shard());
            (t.token, t.signature, None)
        }
        TokenStrategy::Jwt if !grant.obfuscated_subject.is_empty() => {
            // A grant made under pairwise identifiers, refreshed after the strategy became JWT
            // (the client or the server's default changed): a JWT would show the client the
            // real subject, so none is issued.
            return Err(ApiError::server_error().with_hint(format!(
                "OAuth 2.0 Client '{}' has pairwise subject identifiers, which need opaque access tokens: set its access_token_strategy to \"opaque\".",
                grant.client_id
            )));
        }
        TokenStrategy::Jwt => {
            let key = signing_key(ctx, ACCESS_TOKEN_SET).await?;
            let jti = crate::crypto::uuid_v4_in(grant.shard());
            let jwt =
                jws::sign(ctx.p, &key, ACCESS_TOKEN_TYP, &access_token_claims(ctx.cfg, grant, now, exp, &jti)).await?;
            // A token this server would not read back (introspection, revocation) is not issued;
            // only session data from the consent app or the token hook can make it this long.
            if jwt.len() > jws::MAX_JWS_LEN {
                return Err(ApiError::server_error().with_hint(format!(
                    "The JWT access token would be {} bytes, over the {} this server reads: keep the session's access_token data smaller.",
                    jwt.len(),
                    jws::MAX_JWS_LEN
                )));
            }
            let signature = jwt.rsplit('.').next().unwrap_or_default().to_string();
            (jwt, signature, Some(jti))
        }
    };
    let mut row = row(signature, "access_token", grant, now, Some(exp));
    row.jti = jti;
    Ok(MintedToken { row, token })
}

/// Whether access tokens of this client are JWTs (the client's strategy, else the server's).
pub fn issues_jwt(cfg: &Config, client: &Client) -> bool {
    TokenStrategy::parse(&client.access_token_strategy).unwrap_or(cfg.access_token_strategy) == TokenStrategy::Jwt
}

/// A refresh token; `access` is the access token issued with it.
pub fn refresh_token(
    cfg: &Config,
    grant: &Grant,
    now: i64,
    lifetime: Option<i64>,
    access: &MintedToken,
) -> MintedToken {
    let t = opaque::generate_in(cfg.primary_secret(), TokenKind::RefreshToken, grant.shard());
    let mut row = row(t.signature, "refresh_token", grant, now, lifetime.map(|l| now + l));
    row.access_signature = Some(access.row.signature.clone());
    MintedToken { row, token: t.token }
}

fn row(signature: String, kind: &'static str, grant: &Grant, now: i64, expires_at: Option<i64>) -> TokenRow {
    TokenRow {
        signature,
        kind,
        request_id: grant.request_id.clone(),
        client_id: grant.client_id.clone(),
        subject: grant.subject.clone(),
        data: token_data(grant),
        issued_at: now,
        expires_at,
        jti: None,
        access_signature: None,
    }
}

/// Claims an ID token may not take from the consent's `session.id_token`.
const RESERVED_ID_TOKEN_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "jti",
    "rat",
    "auth_time",
    "nonce",
    "at_hash",
    "c_hash",
    "acr",
    "amr",
    "sid",
    "azp",
    "nbf",
];

/// OpenID Connect ID token claims (Hydra's set); `alg` picks the hash for `at_hash`/`c_hash`.
#[allow(clippy::too_many_arguments)]
pub fn id_token_claims(
    issuer: &str,
    grant: &Grant,
    now: i64,
    exp: i64,
    jti: &str,
    alg: &str,
    access_token: Option<&str>,
    code: Option<&str>,
) -> Value {
    let mut c = Map::new();
    if let Some(extra) = grant.id_token_ext.as_object() {
        for (k, v) in extra {
            if !RESERVED_ID_TOKEN_CLAIMS.contains(&k.as_str()) {
                c.insert(k.clone(), v.clone());
            }
        }
    }
    c.insert("iss".into(), json!(issuer));
    c.insert("sub".into(), json!(grant.oidc_subject()));
    c.insert("aud".into(), json!([grant.client_id]));
    c.insert("exp".into(), json!(exp));
    c.insert("iat".into(), json!(now));
    c.insert("jti".into(), json!(jti));
    c.insert("rat".into(), json!(grant.requested_at));
    c.insert("auth_time".into(), json!(if grant.auth_time > 0 { grant.auth_time } else { now }));
    if !grant.nonce.is_empty() {
        c.insert("nonce".into(), json!(grant.nonce));
    }
    if let Some(at) = access_token {
        c.insert("at_hash".into(), json!(half_hash(alg, at)));
    }
    if let Some(code) = code {
        c.insert("c_hash".into(), json!(half_hash(alg, code)));
    }
    if !grant.acr.is_empty() {
        c.insert("acr".into(), json!(grant.acr));
    } else if grant.acr_requested {
        c.insert("acr".into(), json!("0"));
    }
    if !grant.amr.is_empty() {
        c.insert("amr".into(), json!(grant.amr));
    }
    if !grant.sid.is_empty() {
        c.insert("sid".into(), json!(grant.sid));
    }
    Value::Object(c)
}

/// The key that signs ID tokens (and userinfo) for `client`: RS256 when the client registered
/// `id_token_signed_response_alg` (resp. `alg`) RS256, else the set's default (ES256).
pub async fn id_token_key<P: Platform>(ctx: &Ctx<'_, P>, alg: &str) -> ApiResult<crate::platform::SigningKey> {
    match alg {
        "" | "none" => Ok(signing_key(ctx, ID_TOKEN_SET).await?),
        alg => signing_key_for_alg(ctx, ID_TOKEN_SET, alg).await,
    }
}

pub async fn id_token<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    grant: &Grant,
    lifetime: i64,
    access_token: Option<&str>,
    code: Option<&str>,
) -> ApiResult<String> {
    let key = id_token_key(ctx, &client.id_token_signed_response_alg).await?;
    let now = ctx.p.now();
    let claims = id_token_claims(&ctx.cfg.issuer, grant, now, now + lifetime, &uuid_v4(), &key.alg, access_token, code);
    Ok(jws::sign(ctx.p, &key, "JWT", &claims).await?)
}

/// The tokens of a user's grant being redeemed (an authorization code or a device code), minted
/// but not stored: their rows go into the caller's single-use redemption batch.
pub struct UserTokens {
    pub access: MintedToken,
    pub refresh: Option<MintedToken>,
    pub id_token: Option<String>,
    pub access_lifetime: i64,
}

impl UserTokens {
    /// The rows to insert with the redemption.
    pub fn rows(&self) -> Vec<TokenRow> {
        std::iter::once(&self.access).chain(&self.refresh).map(|t| t.row.clone()).collect()
    }

    /// The token response.
    pub fn body(&self, scopes: &[String]) -> Value {
        super::body(
            &self.access.token,
            self.access_lifetime,
            scopes,
            self.refresh.as_ref().map(|r| r.token.as_str()),
            self.id_token.as_deref(),
        )
    }
}

/// Run the token hook on `grant` (it may add claims), then mint the access token, a refresh
/// token when `offline` was granted and the client may refresh, and an ID token when `openid`
/// was granted, with the client's lifespans for `kind`.
pub async fn user_tokens<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    grant: &mut Grant,
    kind: GrantKind,
    grant_type: &str,
    requested_scopes: &[String],
) -> ApiResult<UserTokens> {
    let now = ctx.p.now();
    let lt = lifetimes(ctx.cfg, client, kind);
    let wants_refresh = grant.wants_refresh() && client.has_grant("refresh_token");
    let openid = grant.has_scope("openid");
    let hook_request = super::hook::HookRequest {
        grant_type,
        requested_scopes,
        assertion: None,
        access_expires_at: now + lt.access,
        id_token_expires_at: openid.then_some(now + lt.id),
        refresh_expires_at: if wants_refresh { lt.refresh.map(|l| now + l) } else { None },
    };
    super::hook::run(ctx, grant, &hook_request).await?;
    let access = access_token(ctx, client, grant, lt.access).await?;
    let refresh = wants_refresh.then(|| refresh_token(ctx.cfg, grant, now, lt.refresh, &access));
    let id_token =
        if openid { Some(id_token(ctx, client, grant, lt.id, Some(&access.token), None).await?) } else { None };
    Ok(UserTokens { access, refresh, id_token, access_lifetime: lt.access })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::test_config;

    fn grant() -> Grant {
        Grant {
            request_id: "r".into(),
            client_id: "c".into(),
            subject: "alice".into(),
            scopes: vec!["openid".into(), "offline".into()],
            audience: vec![],
            requested_at: 100,
            auth_time: 90,
            sid: "sid-1".into(),
            nonce: "nonce-123".into(),
            id_token_ext: json!({"email": "a@example.com", "sub": "mallory", "iss": "evil"}),
            access_token_ext: json!({"tier": "gold"}),
            ..Default::default()
        }
    }

    #[test]
    fn id_token_has_hydra_claims_and_reserved_ones_win() {
        let c = id_token_claims("http://127.0.0.1:8787", &grant(), 200, 3800, "j", "ES256", Some("at"), Some("code"));
        assert_eq!(c["iss"], "http://127.0.0.1:8787");
        assert_eq!(c["sub"], "alice");
        assert_eq!(c["aud"], json!(["c"]));
        assert_eq!(c["exp"], 3800);
        assert_eq!(c["iat"], 200);
        assert_eq!(c["rat"], 100);
        assert_eq!(c["auth_time"], 90);
        assert_eq!(c["nonce"], "nonce-123");
        assert_eq!(c["sid"], "sid-1");
        assert_eq!(c["email"], "a@example.com");
        assert_eq!(c["at_hash"], half_hash("ES256", "at"));
        assert_eq!(c["c_hash"], half_hash("ES256", "code"));
        assert!(c.get("acr").is_none());
        let mut g = grant();
        g.acr_requested = true;
        assert_eq!(id_token_claims("http://127.0.0.1:8787", &g, 1, 2, "j", "ES256", None, None)["acr"], "0");
    }

    #[test]
    fn access_token_claims_follow_hydra() {
        let c = access_token_claims(&test_config(), &grant(), 10, 20, "j");
        assert_eq!(c["scp"], json!(["openid", "offline"]));
        assert_eq!(c["aud"], json!([]));
        assert_eq!(c["nbf"], 10);
        assert_eq!(c["client_id"], "c");
        assert_eq!(c["ext"], json!({"tier": "gold"}));
        assert!(c.get("tier").is_none(), "nothing at the top level unless configured");
    }

    #[test]
    fn access_token_claims_follow_the_top_level_settings() {
        let cfg = crate::host::config(&[
            // Reserved names are dropped from the list: a session cannot set `sub` or `exp`.
            ("OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS", "tier, sub exp tenant tier"),
            ("OAUTH2_MIRROR_TOP_LEVEL_CLAIMS", "false"),
            ("OAUTH2_EXCLUDE_NOT_BEFORE_CLAIM", "true"),
        ])
        .unwrap();
        assert_eq!(cfg.access_token_claims.allowed_top_level, vec!["tier", "tenant"]);
        let mut g = grant();
        g.access_token_ext = json!({"tier": "gold", "sub": "mallory", "exp": 1, "other": 1});
        let c = access_token_claims(&cfg, &g, 10, 20, "j");
        assert_eq!(c["tier"], "gold");
        assert_eq!((c["sub"].as_str(), c["exp"].as_i64()), (Some("alice"), Some(20)));
        assert!(c.get("tenant").is_none(), "absent from the session: absent from the token");
        assert!(c.get("other").is_none() && c.get("ext").is_none() && c.get("nbf").is_none(), "{c}");
    }

    #[test]
    fn lifetimes_prefer_client_overrides() {
        let cfg = test_config();
        let mut client = Client::default();
        let l = lifetimes(&cfg, &client, GrantKind::AuthorizationCode);
        assert_eq!((l.access, l.id, l.refresh), (3600, 3600, Some(720 * 3600)));
        client.lifespans.authorization_code_grant_access_token_lifespan = Some("5m0s".into());
        assert_eq!(lifetimes(&cfg, &client, GrantKind::AuthorizationCode).access, 300);
        assert_eq!(lifetimes(&cfg, &client, GrantKind::Implicit).access, 3600);
    }
}
