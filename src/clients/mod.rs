//! OAuth 2.0 clients.
//!
//! * `model.rs`: Hydra's `OAuth2Client` JSON.
//! * `validate.rs`: metadata rules.
//! * `sector.rs`: the `sector_identifier_uri` document, fetched at create and update.
//! * `admin.rs`: `/admin/clients` (create, list, get, replace, JSON Patch, delete, lifespans).
//! * `json_patch.rs`: RFC 6902 JSON Patch for the PATCH route.
//! * `registration.rs`: dynamic client registration, `/oauth2/register` (RFC 7591/7592).
//! * `auth.rs`: client authentication at the token endpoint.
//! * `cors.rs`: the client a public request acts for, and whether its origins may read it.

pub mod admin;
pub mod auth;
pub mod cors;
pub mod json_patch;
pub mod model;
pub mod registration;
pub mod sector;
pub mod validate;

use crate::crypto::opaque::{self, TokenKind};
use crate::crypto::{random_string, secret_hash};
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::platform::Platform;
use crate::store;
use crate::store::clients::StoredClient;
use model::Client;
use validate::Origin;

/// Hydra's generated secrets: 26 characters from `[a-zA-Z0-9_-.~]` (about 157 bits).
const SECRET_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~";
const GENERATED_SECRET_LEN: usize = 26;

pub fn generate_secret() -> String {
    random_string(GENERATED_SECRET_LEN, SECRET_ALPHABET)
}

/// RFC 3339 in UTC, rounded to the second, as Hydra writes `created_at`/`updated_at`.
pub fn rfc3339(secs: i64) -> String {
    crate::rfc3339::format(secs)
}

/// Create a client from validated-or-not input: fills the id, validates, hashes the secret,
/// issues a registration access token, stores it. Returns the client as the create response
/// shows it (plaintext secret and registration token included).
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, mut c: Client, origin: Origin) -> ApiResult<Client> {
    if c.client_id.is_empty() || origin == Origin::Registration {
        c.client_id = crate::crypto::uuid_v4();
    }
    let supplied_secret = c.client_secret.take().filter(|s| !s.is_empty());
    c.registration_access_token = None;
    c.registration_client_uri = None;
    validate::validate(ctx.cfg, &mut c, origin)?;
    sector::check(ctx, &c).await?;
    let secret = if c.is_public() {
        if supplied_secret.is_some() {
            validate::check_secret(&c, "")?;
        }
        None
    } else {
        match supplied_secret {
            Some(s) => {
                validate::check_secret(&c, &s)?;
                Some(s)
            }
            None => Some(generate_secret()),
        }
    };
    let now = ctx.p.now();
    c.created_at = rfc3339(now);
    c.updated_at = c.created_at.clone();
    let secret_hash = match &secret {
        Some(s) => Some(secret_hash::hash(ctx.p, s).await?),
        None => None,
    };
    let rat = opaque::generate(ctx.cfg.primary_secret(), TokenKind::AccessToken);
    let stored = StoredClient {
        pk: 0,
        client: c.clone(),
        secret_hash,
        registration_token_sig: Some(rat.signature.clone()),
        version: 1,
    };
    if !store::clients::insert(ctx.p, &stored, now).await? {
        return Err(ApiError::conflict(format!("An OAuth 2.0 client with client_id {} exists already.", c.client_id)));
    }
    c.client_secret = secret;
    c.registration_access_token = Some(rat.token);
    c.registration_client_uri = Some(registration_uri(ctx, &c.client_id));
    Ok(c)
}

pub fn registration_uri<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> String {
    ctx.cfg.public(&format!("/oauth2/register/{}", encode_segment(id)))
}

/// Characters left as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encode a path segment (client ids may contain `?`, `%`, `#`...).
pub fn encode_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

/// Load a client for the admin API, or 404.
pub async fn load<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> ApiResult<StoredClient> {
    if validate::check_client_id(id).is_err() {
        return Err(not_found(id));
    }
    store::clients::get(ctx.p, id).await?.ok_or_else(|| not_found(id))
}

pub fn not_found(id: &str) -> ApiError {
    ApiError::not_found().with_description(format!("The OAuth 2.0 client with client_id {id} does not exist."))
}

/// Store a replaced client, turning a lost race into 409 instead of a silent overwrite.
pub async fn save<P: Platform>(ctx: &Ctx<'_, P>, stored: &StoredClient) -> ApiResult<()> {
    if !store::clients::update(ctx.p, stored, ctx.p.now()).await? {
        return Err(ApiError::new(409, "Conflict", "").with_description(
            "The client was changed or deleted by another request while this one was processed; retry.",
        ));
    }
    Ok(())
}
