//! The authentication session cookie and the CSRF cookies bound to each leg of a flow.
//!
//! * `ory_hydra_session`: the login session id, sealed so it cannot be forged or read; the
//!   session itself lives in D1 (so logout and revocation apply everywhere at once).
//! * `ory_hydra_login_csrf_<suffix>` / `ory_hydra_consent_csrf_<suffix>`: a random value also
//!   sealed into the challenge; the browser that returns with the verifier must present it, so
//!   a verifier stolen or planted in another browser is useless (Hydra #753).
//!
//! All are HttpOnly, `Secure` unless the issuer is plain-http loopback, SameSite per
//! `SERVE_COOKIES_SAME_SITE_MODE` (Hydra's default `None`; `Lax` on plain http).

use serde::{Deserialize, Serialize};

use crate::crypto::seal::{self, Purpose};
use crate::crypto::{hex, sha256};
use crate::ctx::Ctx;
use crate::http::cookies;
use crate::http::Request;
use crate::platform::Platform;

pub const SESSION_COOKIE: &str = "ory_hydra_session";

/// Per-client suffix so concurrent flows of different clients do not overwrite each other.
fn suffix(client_id: &str) -> String {
    hex(&sha256(client_id.as_bytes())[..4])
}

pub fn login_csrf_name(client_id: &str) -> String {
    format!("ory_hydra_login_csrf_{}", suffix(client_id))
}

pub fn consent_csrf_name(client_id: &str) -> String {
    format!("ory_hydra_consent_csrf_{}", suffix(client_id))
}

pub fn set_csrf<P: Platform>(ctx: &Ctx<'_, P>, name: &str, value: &str) -> String {
    cookies::set(name, value, Some(ctx.cfg.ttl.login_consent_request), ctx.cfg.cookies)
}

pub fn clear<P: Platform>(ctx: &Ctx<'_, P>, name: &str) -> String {
    cookies::delete(name, ctx.cfg.cookies)
}

/// Does the request carry the CSRF cookie with this value?
pub fn csrf_matches(req: &Request, name: &str, expected: &str) -> bool {
    cookies::get(req, name).map(|v| crate::crypto::ct_eq(v.as_bytes(), expected.as_bytes())).unwrap_or(false)
}

#[derive(Serialize, Deserialize)]
struct SessionCookie {
    sid: String,
}

/// The login session id from the session cookie, if it is one of ours and not expired.
pub fn session_id<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Option<String> {
    let raw = cookies::get(req, SESSION_COOKIE)?;
    seal::open::<SessionCookie>(&ctx.cfg.system_secrets, Purpose::SessionCookie, ctx.p.now(), &raw).ok().map(|c| c.sid)
}

/// A session cookie for `sid` living `max_age` seconds.
pub fn set_session<P: Platform>(ctx: &Ctx<'_, P>, sid: &str, max_age: i64) -> String {
    let value = seal::seal(
        ctx.cfg.primary_secret(),
        Purpose::SessionCookie,
        ctx.p.now() + max_age,
        &SessionCookie { sid: sid.to_string() },
    );
    cookies::set(SESSION_COOKIE, &value, Some(max_age), ctx.cfg.cookies)
}
