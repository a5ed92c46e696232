//! The authentication session cookie and the CSRF cookies bound to each leg of a flow.
//!
//! * `ory_hydra_session`: the login session id, sealed so it cannot be forged or read; the
//!   session itself lives in D1 (so logout and revocation apply everywhere at once).
//! * `ory_hydra_login_csrf_<suffix>` / `ory_hydra_consent_csrf_<suffix>`: a random value also
//!   sealed into the challenge; the browser that returns with the verifier must present it, so
//!   a verifier stolen or planted in another browser is useless (Hydra #753).
//!
//! All are HttpOnly, `Secure` unless the issuer is plain-http loopback, SameSite per
//! `SERVE_COOKIES_SAME_SITE_MODE` (Hydra's default `None`; `Lax` on plain http). Where the issuer
//! is https their names carry the `__Host-` prefix, which browsers only accept from a secure
//! origin, for `Path=/` and without `Domain`: a sibling subdomain cannot plant or overwrite
//! them (a planted session cookie is the start of a session fixation).

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::crypto::seal::{self, Purpose};
use crate::crypto::{hex, sha256};
use crate::ctx::Ctx;
use crate::http::cookies;
use crate::http::Request;
use crate::platform::Platform;

/// Hydra's name of the session cookie (before the `__Host-` prefix).
pub const SESSION_COOKIE: &str = "ory_hydra_session";

/// A cookie's name on this deployment: `__Host-{base}` on https, `base` on plain http.
pub fn cookie_name(cfg: &Config, base: &str) -> String {
    if cfg.cookies.secure {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

pub fn session_cookie_name(cfg: &Config) -> String {
    cookie_name(cfg, SESSION_COOKIE)
}

/// Per-client suffix so concurrent flows of different clients do not overwrite each other.
fn suffix(client_id: &str) -> String {
    hex(&sha256(client_id.as_bytes())[..4])
}

pub fn login_csrf_name(cfg: &Config, client_id: &str) -> String {
    cookie_name(cfg, &format!("ory_hydra_login_csrf_{}", suffix(client_id)))
}

pub fn consent_csrf_name(cfg: &Config, client_id: &str) -> String {
    cookie_name(cfg, &format!("ory_hydra_consent_csrf_{}", suffix(client_id)))
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
pub struct SessionCookie {
    pub sid: String,
    /// The D1 bookmark (Sessions API) of the write that created or extended the session, so that
    /// a replica that answers the next authorization request has it (read-your-writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bm: Option<String>,
}

/// The session cookie, if it is one of ours and not expired.
pub fn session<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Option<SessionCookie> {
    let raw = cookies::get(req, &session_cookie_name(ctx.cfg))?;
    seal::open::<SessionCookie>(&ctx.cfg.system_secrets, Purpose::SessionCookie, ctx.p.now(), &raw).ok()
}

/// The login session id from the session cookie, if it is one of ours and not expired.
pub fn session_id<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Option<String> {
    session(ctx, req).map(|c| c.sid)
}

/// A session cookie for `sid` living `max_age` seconds, carrying the bookmark of this request's
/// writes (the session's own).
pub fn set_session<P: Platform>(ctx: &Ctx<'_, P>, sid: &str, max_age: i64) -> String {
    let value = seal::seal(
        ctx.cfg.primary_secret(),
        Purpose::SessionCookie,
        ctx.p.now() + max_age,
        &SessionCookie { sid: sid.to_string(), bm: ctx.p.bookmark() },
    );
    cookies::set(&session_cookie_name(ctx.cfg), &value, Some(max_age), ctx.cfg.cookies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{lookup, test_config};

    #[test]
    fn the_session_cookie_carries_the_bookmark_of_the_sessions_write() {
        use crate::testing::TestPlatform;
        let cfg = test_config();
        let p = TestPlatform::new();
        *p.bookmark.borrow_mut() = Some("00000001-0000000a".into());
        let log = crate::log::RequestLog::new();
        let ctx = Ctx { cfg: &cfg, p: &p, log: &log };
        let set = set_session(&ctx, "sid-1", 3600);
        let value = set.split(';').next().unwrap().split_once('=').unwrap().1;
        let mut req = Request::new(crate::http::Method::Get, "/oauth2/auth");
        req.headers.push(("cookie".into(), format!("{}={value}", session_cookie_name(&cfg))));
        let c = session(&ctx, &req).unwrap();
        assert_eq!((c.sid.as_str(), c.bm.as_deref()), ("sid-1", Some("00000001-0000000a")));
        assert_eq!(session_id(&ctx, &req).as_deref(), Some("sid-1"));
    }

    #[test]
    fn host_prefix_only_on_https() {
        let plain = test_config();
        assert_eq!(session_cookie_name(&plain), "ory_hydra_session");
        assert!(login_csrf_name(&plain, "c").starts_with("ory_hydra_login_csrf_"));
        let https = Config::from_lookup(lookup(&[
            ("URLS_SELF_ISSUER", "https://auth.example.com"),
            ("SECRETS_SYSTEM", "0123456789abcdef0123"),
        ]))
        .unwrap();
        assert_eq!(session_cookie_name(&https), "__Host-ory_hydra_session");
        assert!(consent_csrf_name(&https, "c").starts_with("__Host-ory_hydra_consent_csrf_"));
        let set = cookies::set(&session_cookie_name(&https), "v", Some(60), https.cookies);
        assert!(set.contains("; Secure") && set.contains("Path=/") && !set.contains("Domain"), "{set}");
    }
}
