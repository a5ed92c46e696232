//! Client authentication at the token endpoint: `client_secret_basic`, `client_secret_post`,
//! `private_key_jwt` and `none` (public clients), each allowed only for clients registered
//! with it, and never more than one per request (RFC 6749 §2.3).
//!
//! Guessing is made slow and blind: failures are rate limited per client id and per address
//! ([`crate::ratelimit`], checked before any hashing, signature check or `jwks_uri` fetch), and
//! an unknown client gets the same answer as a wrong secret after the same PBKDF2 work.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use crate::crypto::secret_hash;
use crate::crypto::{hex, jws, sha256};
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::http::Request;
use crate::platform::Platform;
use crate::store;
use crate::store::clients::StoredClient;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Client assertions may not live longer than this (their `jti` is remembered until `exp`).
const MAX_ASSERTION_LIFETIME: i64 = 24 * 3600;
/// Clock skew accepted on `iat` and `nbf`.
const LEEWAY: i64 = 60;
/// A fetched `jwks_uri` document is reused this long per isolate.
const JWKS_URI_CACHE_MS: i64 = 300_000;
/// A failed `jwks_uri` fetch is remembered this long, so junk assertions naming the client do
/// not make the server fetch again and again.
const JWKS_URI_FAILURE_CACHE_MS: i64 = 30_000;
/// Fetched documents remembered per isolate before the cache starts over.
const JWKS_URI_CACHE_LIMIT: usize = 256;

/// Unknown client and wrong secret: one answer.
const BAD_CREDENTIALS: &str =
    "Client authentication failed: the client does not exist or the credentials do not match.";

/// When a `jwks_uri` was fetched, and its key set or why it could not be used.
type Fetched = (i64, Result<Value, String>);

thread_local! {
    static FETCHED_JWKS: RefCell<HashMap<String, Fetched>> = RefCell::new(HashMap::new());
}

fn invalid_client(hint: impl Into<String>) -> ApiError {
    ApiError::invalid_client().with_hint(hint)
}

fn method_mismatch(registered: &str, used: &str) -> ApiError {
    invalid_client(format!(
        "The OAuth 2.0 Client supports client authentication method '{registered}', but method '{used}' was requested. You must configure the OAuth 2.0 client's 'token_endpoint_auth_method' value to accept '{used}'."
    ))
}

/// `Authorization: Basic` credentials: base64 of `urlencode(id):urlencode(secret)`.
fn basic_credentials(req: &Request) -> ApiResult<Option<(String, String)>> {
    let Some(value) = req.header("authorization") else {
        return Ok(None);
    };
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let bad = || {
        ApiError::invalid_request()
            .with_hint("The client credentials in the HTTP authorization header could not be decoded.")
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| crate::http::form::decode(s.as_bytes()).map_err(|_| bad());
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

async fn load<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> ApiResult<Option<StoredClient>> {
    if crate::clients::validate::check_client_id(id).is_err() {
        return Ok(None);
    }
    Ok(store::clients::get_cached(ctx.p, ctx.cfg.client_cache_ttl, id).await?)
}

/// The client a secret was presented for. An unknown one fails like a wrong secret, with the
/// same PBKDF2 work, answer and rate-limit charge (`wrong_secret`), so client ids cannot be
/// probed.
async fn load_for_secret<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
    presented: &str,
    known_only: bool,
    wrong_secret: &Cell<bool>,
) -> ApiResult<StoredClient> {
    match load(ctx, id).await? {
        Some(client) => Ok(client),
        None => {
            if !known_only {
                secret_hash::verify_nothing(ctx.p, presented).await?;
            }
            Err(wrong_credentials(wrong_secret))
        }
    }
}

/// The answer to a wrong secret (or a secret for an unknown id), noted in `wrong_secret` for
/// the per-client rate limit.
fn wrong_credentials(wrong_secret: &Cell<bool>) -> ApiError {
    wrong_secret.set(true);
    invalid_client(BAD_CREDENTIALS)
}

async fn load_or_unknown<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> ApiResult<StoredClient> {
    load(ctx, id).await?.ok_or_else(|| invalid_client(BAD_CREDENTIALS))
}

/// `wrong_secret` is set when the client has a secret and `presented` is not it.
async fn check_secret<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &StoredClient,
    presented: &str,
    known_only: bool,
    wrong_secret: &Cell<bool>,
) -> ApiResult<()> {
    let Some(hash) = client.secret_hash.as_deref() else {
        return Err(invalid_client("The OAuth 2.0 Client has no secret."));
    };
    let id = &client.client.client_id;
    let ok = if known_only {
        secret_hash::verified_before(id, hash, presented)
    } else {
        let ok = secret_hash::verify(ctx.p, id, hash, presented).await?.ok();
        if !ok {
            // An unknown client costs a KV and a D1 miss before its (dummy) PBKDF2; a known one
            // comes from the cache. Do the same lookups here so a wrong secret is not faster.
            store::clients::lookup_like_a_miss(ctx.p).await;
        }
        ok
    };
    if !ok {
        return Err(wrong_credentials(wrong_secret));
    }
    Ok(())
}

/// The client a token request claims to be, read cheaply (nothing verified): for the rate
/// limits, which must be checked before any expensive work.
fn claimed_client(req: &Request, form: &Form) -> Option<String> {
    if let Ok(Some((id, _))) = basic_credentials(req) {
        return Some(id);
    }
    if let Ok(Some(id)) = form.get("client_id") {
        return Some(id.to_string());
    }
    let assertion = form.get("client_assertion").ok().flatten()?;
    let parsed = jws::parse(assertion)?;
    parsed.claims.get("sub").and_then(Value::as_str).map(str::to_string)
}

/// Does this error count as a failed authentication (for the rate limits)?
fn is_failure(e: &ApiError) -> bool {
    e.error == "invalid_client" || e.error == "jti_known"
}

/// Authenticate the client of a token request (or of any endpoint that authenticates clients
/// the same way, such as revocation), within the failure rate limits:
///
/// * every failure counts against the address, and an address over its limit gets 429 before
///   anything is checked;
/// * only a wrong secret counts against the client id (an unknown id's too, so ids cannot be
///   probed), the one thing guessable per client: anything else (a wrong method for a public
///   client, a junk assertion naming a client) would let anyone lock a client out, since client
///   ids are public;
/// * a client id over its limit gets 429 too, except for a secret this isolate already verified
///   for it, so strangers failing in its name do not lock its owner out. No PBKDF2 runs for a
///   refused id, and its failures still count against their address.
pub async fn authenticate<P: Platform>(ctx: &Ctx<'_, P>, req: &Request, form: &Form) -> ApiResult<StoredClient> {
    use crate::ratelimit::{self, Limiter};
    let ip = ratelimit::client_ip(req).map(|ip| format!("ip:{ip}"));
    let ip_key: Vec<(Limiter, &str)> = ip.iter().map(|ip| (Limiter::ClientAuthFailuresPerIp, ip.as_str())).collect();
    ratelimit::check(ctx.p, &ip_key)?;
    let claimed = claimed_client(req, form);
    let client = claimed.as_deref().map(|id| format!("client:{id}"));
    let known_only =
        client.as_deref().is_some_and(|c| ratelimit::blocked(ctx.p, Limiter::ClientAuthFailuresPerClient, c));
    // Nothing verified for this id here: refused without a lookup.
    if known_only && !claimed.as_deref().is_some_and(secret_hash::verified_any) {
        return Err(ratelimit::refused(Limiter::ClientAuthFailuresPerClient));
    }
    let wrong_secret = Cell::new(false);
    match authenticate_unlimited(ctx, req, form, known_only, &wrong_secret).await {
        Err(e) if is_failure(&e) => {
            let mut charged = ip_key.clone();
            if let Some(c) = client.as_deref().filter(|_| wrong_secret.get()) {
                charged.push((Limiter::ClientAuthFailuresPerClient, c));
            }
            let over = ratelimit::fail(ctx.p, &charged).await;
            if known_only {
                return Err(ratelimit::refused(Limiter::ClientAuthFailuresPerClient));
            }
            Err(over.unwrap_or(e))
        }
        other => other,
    }
}

/// `known_only`: the client id is over its failure limit; only a secret this isolate verified
/// before passes, and nothing expensive (PBKDF2, a key fetch, a signature check) runs.
async fn authenticate_unlimited<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
    form: &Form,
    known_only: bool,
    wrong_secret: &Cell<bool>,
) -> ApiResult<StoredClient> {
    let dup = |e: crate::http::form::FormError| ApiError::invalid_request().with_hint(e.to_string());
    let form_id = form.get("client_id").map_err(dup)?.map(str::to_string);
    let form_secret = form.get("client_secret").map_err(dup)?.map(str::to_string);
    let assertion = form.get("client_assertion").map_err(dup)?.map(str::to_string);
    let assertion_type = form.get("client_assertion_type").map_err(dup)?.unwrap_or("").to_string();
    let basic = basic_credentials(req)?;

    let used = [basic.is_some(), form_secret.is_some(), assertion.is_some()].iter().filter(|x| **x).count();
    if used > 1 {
        return Err(ApiError::invalid_request()
            .with_hint("Client authentication must use exactly one method, but the request contains several."));
    }

    let blocked = || invalid_client("This client failed to authenticate too often.");
    if let Some(jwt) = assertion {
        if known_only {
            return Err(blocked());
        }
        if assertion_type != ASSERTION_TYPE {
            return Err(
                ApiError::invalid_request().with_hint(format!("The client_assertion_type must be '{ASSERTION_TYPE}'."))
            );
        }
        let client = private_key_jwt(ctx, &jwt, form_id.as_deref()).await?;
        return Ok(client);
    }
    if let Some((id, secret)) = basic {
        if form_id.as_deref().map(|f| f != id).unwrap_or(false) {
            return Err(ApiError::invalid_request()
                .with_hint("The client_id in the body does not match the HTTP authorization header."));
        }
        let client = load_for_secret(ctx, &id, &secret, known_only, wrong_secret).await?;
        if client.client.token_endpoint_auth_method != "client_secret_basic" {
            return Err(method_mismatch(&client.client.token_endpoint_auth_method, "client_secret_basic"));
        }
        check_secret(ctx, &client, &secret, known_only, wrong_secret).await?;
        return Ok(client);
    }
    let id = form_id
        .ok_or_else(|| invalid_client("Client credentials are missing: no client_id and no authorization header."))?;
    if let Some(secret) = form_secret {
        let client = load_for_secret(ctx, &id, &secret, known_only, wrong_secret).await?;
        if client.client.token_endpoint_auth_method != "client_secret_post" {
            return Err(method_mismatch(&client.client.token_endpoint_auth_method, "client_secret_post"));
        }
        check_secret(ctx, &client, &secret, known_only, wrong_secret).await?;
        return Ok(client);
    }
    if known_only {
        return Err(blocked());
    }
    let client = load_or_unknown(ctx, &id).await?;
    if client.client.token_endpoint_auth_method != "none" {
        return Err(method_mismatch(&client.client.token_endpoint_auth_method, "none"));
    }
    Ok(client)
}

/// The client's registered keys: inline `jwks`, or its `jwks_uri` (cached per isolate).
async fn client_keys<P: Platform>(ctx: &Ctx<'_, P>, client: &StoredClient) -> ApiResult<Vec<Value>> {
    let c = &client.client;
    if let Some(keys) = c.jwks.get("keys").and_then(Value::as_array).filter(|k| !k.is_empty()) {
        return Ok(keys.clone());
    }
    if c.jwks_uri.is_empty() {
        return Err(invalid_client("The OAuth 2.0 Client has no JSON Web Keys registered."));
    }
    let now = ctx.p.now_ms();
    let cached = FETCHED_JWKS.with(|f| {
        f.borrow()
            .get(&c.jwks_uri)
            .filter(|(at, doc)| now - at < if doc.is_ok() { JWKS_URI_CACHE_MS } else { JWKS_URI_FAILURE_CACHE_MS })
            .map(|(_, doc)| doc.clone())
    });
    let doc = match cached {
        Some(d) => d,
        None => {
            let fetched = fetch_jwks(ctx, &c.jwks_uri).await;
            FETCHED_JWKS.with(|f| {
                let mut f = f.borrow_mut();
                if f.len() >= JWKS_URI_CACHE_LIMIT {
                    f.clear();
                }
                f.insert(c.jwks_uri.clone(), (now, fetched.clone()));
            });
            fetched
        }
    };
    let doc = doc.map_err(invalid_client)?;
    Ok(doc.get("keys").and_then(Value::as_array).cloned().unwrap_or_default())
}

/// Fetch a `jwks_uri` (no redirects, time-boxed, capped: see the platform): the key set, or the
/// hint explaining why it cannot be used.
async fn fetch_jwks<P: Platform>(ctx: &Ctx<'_, P>, uri: &str) -> Result<Value, String> {
    let (status, body) =
        ctx.p.http_get(uri).await.map_err(|_| "The OAuth 2.0 Client's jwks_uri could not be fetched.".to_string())?;
    if status != 200 {
        return Err(format!("The OAuth 2.0 Client's jwks_uri answered HTTP {status}."));
    }
    let doc: Value = crate::ctx::json_from_bytes(&body)
        .map_err(|_| "The OAuth 2.0 Client's jwks_uri is not a JSON Web Key Set.".to_string())?;
    if !doc.get("keys").map(Value::is_array).unwrap_or(false) {
        return Err("The OAuth 2.0 Client's jwks_uri is not a JSON Web Key Set.".to_string());
    }
    Ok(doc)
}

fn aud_contains(aud: Option<&Value>, accepted: &[String]) -> bool {
    match aud {
        Some(Value::String(s)) => accepted.contains(s),
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str().map(|s| accepted.iter().any(|x| x == s)).unwrap_or(false)),
        _ => false,
    }
}

/// `private_key_jwt` (RFC 7523 §2.2): a JWT signed with one of the client's registered keys,
/// with the algorithm the client registered (never `none`, never HMAC), `iss` = `sub` =
/// client id, our token endpoint (or issuer) in `aud`, a bounded lifetime, and a `jti` that is
/// used once (CVE-2020-15222).
async fn private_key_jwt<P: Platform>(ctx: &Ctx<'_, P>, jwt: &str, form_id: Option<&str>) -> ApiResult<StoredClient> {
    let parsed = jws::parse(jwt).ok_or_else(|| invalid_client("The client_assertion is not a signed JWT."))?;
    let claims = &parsed.claims;
    let str_claim = |n: &str| claims.get(n).and_then(Value::as_str).unwrap_or("").to_string();
    let (iss, sub) = (str_claim("iss"), str_claim("sub"));
    if sub.is_empty() || iss != sub {
        return Err(invalid_client("Claims 'iss' and 'sub' of the client_assertion must both be the client_id."));
    }
    if form_id.map(|f| f != sub).unwrap_or(false) {
        return Err(invalid_client("The client_id does not match the subject of the client_assertion."));
    }
    let client = load_or_unknown(ctx, &sub).await?;
    let c = &client.client;
    if c.token_endpoint_auth_method != "private_key_jwt" {
        return Err(method_mismatch(&c.token_endpoint_auth_method, "private_key_jwt"));
    }
    let expected_alg =
        if c.token_endpoint_auth_signing_alg.is_empty() { "RS256" } else { c.token_endpoint_auth_signing_alg.as_str() };
    let alg = parsed.header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg.starts_with("HS") {
        return Err(invalid_client("This server does not support client authentication method 'client_secret_jwt'."));
    }
    if alg != expected_alg {
        return Err(invalid_client(format!(
            "The client_assertion must be signed with the registered algorithm '{expected_alg}', not '{alg}'."
        )));
    }
    let keys = client_keys(ctx, &client).await?;
    let kid = parsed.header.get("kid").and_then(Value::as_str);
    let candidates: Vec<&Value> = keys
        .iter()
        .filter(|k| match kid {
            Some(kid) => k.get("kid").and_then(Value::as_str) == Some(kid),
            None => true,
        })
        .filter(|k| k.get("use").and_then(Value::as_str).map(|u| u == "sig").unwrap_or(true))
        .filter(|k| k.get("alg").and_then(Value::as_str).map(|a| a == alg).unwrap_or(true))
        .take(8)
        .collect();
    if candidates.is_empty() {
        return Err(invalid_client("No registered key of the client matches the client_assertion's kid and alg."));
    }
    let mut verified = false;
    for key in candidates {
        if ctx.p.verify(key, alg, parsed.signing_input.as_bytes(), &parsed.signature).await.unwrap_or(false) {
            verified = true;
            break;
        }
    }
    if !verified {
        return Err(invalid_client("The client_assertion signature is invalid."));
    }
    let now = ctx.p.now();
    let accepted = vec![ctx.cfg.public("/oauth2/token"), ctx.cfg.under_issuer("/oauth2/token"), ctx.cfg.issuer.clone()];
    if !aud_contains(claims.get("aud"), &accepted) {
        return Err(invalid_client("The client_assertion's 'aud' must name this server's token endpoint."));
    }
    let exp = jws::numeric_date(claims, "exp").ok_or_else(|| invalid_client("The client_assertion has no 'exp'."))?;
    if exp <= now {
        return Err(invalid_client("The client_assertion has expired."));
    }
    if exp > now + MAX_ASSERTION_LIFETIME {
        return Err(invalid_client("The client_assertion's 'exp' is too far in the future."));
    }
    for name in ["iat", "nbf"] {
        if let Some(t) = jws::numeric_date(claims, name) {
            if t > now + LEEWAY {
                return Err(invalid_client(format!("The client_assertion's '{name}' is in the future.")));
            }
        }
    }
    let jti = str_claim("jti");
    if jti.is_empty() {
        return Err(invalid_client("The client_assertion has no 'jti'."));
    }
    let key = hex(&sha256(format!("{sub}\u{0}{jti}").as_bytes()));
    if !store::tokens::remember_jti(ctx.p, &key, exp, now).await? {
        return Err(ApiError::jti_known().with_hint("The jti of the client_assertion was already used."));
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::test_config;
    use crate::log::RequestLog;
    use crate::testing::{block_on, TestPlatform};

    fn client_with(jwks_uri: &str) -> StoredClient {
        let client = crate::clients::model::Client {
            client_id: "jwt-client".into(),
            jwks_uri: jwks_uri.into(),
            ..Default::default()
        };
        StoredClient { pk: 1, client, secret_hash: None, registration_token_sig: None, version: 1 }
    }

    /// A fetched `jwks_uri` is reused for JWKS_URI_CACHE_MS; a failed fetch for
    /// JWKS_URI_FAILURE_CACHE_MS.
    #[test]
    fn fetched_client_key_sets_and_failures_are_reused_for_their_bounds() {
        let cfg = test_config();
        let p = TestPlatform::new();
        let (good, bad) = ("https://rp.example/jwks", "https://down.example/jwks");
        p.http.borrow_mut().insert(good.into(), (200, br#"{"keys":[{"kty":"EC"}]}"#.to_vec()));
        p.http.borrow_mut().insert(bad.into(), (503, Vec::new()));
        let log = RequestLog::new();
        let ctx = Ctx { cfg: &cfg, p: &p, log: &log };
        let fetches = |u: &str| p.count(&format!("http_get {u}"));

        assert_eq!(block_on(client_keys(&ctx, &client_with(good))).unwrap().len(), 1);
        p.advance_ms(JWKS_URI_CACHE_MS - 1);
        block_on(client_keys(&ctx, &client_with(good))).unwrap();
        assert_eq!(fetches(good), 1, "within the bound: from memory");
        p.advance_ms(1);
        block_on(client_keys(&ctx, &client_with(good))).unwrap();
        assert_eq!(fetches(good), 2, "after it: fetched again");

        assert!(block_on(client_keys(&ctx, &client_with(bad))).is_err());
        p.advance_ms(JWKS_URI_FAILURE_CACHE_MS - 1);
        assert!(block_on(client_keys(&ctx, &client_with(bad))).is_err());
        assert_eq!(fetches(bad), 1, "a failure is remembered too");
        p.advance_ms(1);
        assert!(block_on(client_keys(&ctx, &client_with(bad))).is_err());
        assert_eq!(fetches(bad), 2);
    }
}
