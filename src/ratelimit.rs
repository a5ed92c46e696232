//! Rate limits of the public edge, counted by Cloudflare's Workers rate-limiting binding
//! (`[[ratelimits]]` in `wrangler.toml`: one binding per limiter, its `limit` per `period` is the
//! setting; counts are per Cloudflare location and approximate).
//!
//! | limiter | counts | key |
//! | --- | --- | --- |
//! | [`Limiter::ClientAuthFailuresPerClient`] | failed client authentications | client id |
//! | [`Limiter::ClientAuthFailuresPerIp`] | failed client authentications | client address |
//! | [`Limiter::RegistrationPerIp`] | dynamic registrations (`POST /oauth2/register`) | client address |
//! | [`Limiter::AdminFailuresPerIp`] | wrong admin tokens | client address |
//! | [`Limiter::DeviceUserCode`] | device verifications started ([`user_code_attempt`]; each may try 5 user codes, counted in D1) | client address |
//!
//! The binding only counts; it cannot be asked whether a key is over its limit without counting
//! one more. Failures are therefore counted when they happen, and a key the binding refused is
//! remembered in the isolate ([`blocked`]) for one rate-limit period, so the next attempt is
//! refused with 429 before any expensive work (PBKDF2, signature checks, a `jwks_uri` fetch).
//! A client id over its limit still accepts a secret its isolate verified before, and the right
//! admin token always passes (`clients::auth::authenticate`, `app::admin_authorized`): anyone can
//! fail in another's name.
//! The client address is `CF-Connecting-IP`, which Cloudflare sets; `X-Forwarded-*` are the
//! client's to write and never read. Without the binding (plain miniflare) nothing is limited.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult, RATE_LIMIT_RETRY_AFTER_SECS};
use crate::http::Request;
use crate::platform::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limiter {
    ClientAuthFailuresPerClient,
    ClientAuthFailuresPerIp,
    RegistrationPerIp,
    AdminFailuresPerIp,
    DeviceUserCode,
}

impl Limiter {
    pub const ALL: [Limiter; 5] = [
        Limiter::ClientAuthFailuresPerClient,
        Limiter::ClientAuthFailuresPerIp,
        Limiter::RegistrationPerIp,
        Limiter::AdminFailuresPerIp,
        Limiter::DeviceUserCode,
    ];

    /// The `[[ratelimits]]` binding name in `wrangler.toml`.
    pub fn binding(self) -> &'static str {
        match self {
            Limiter::ClientAuthFailuresPerClient => "RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_CLIENT",
            Limiter::ClientAuthFailuresPerIp => "RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_IP",
            Limiter::RegistrationPerIp => "RATE_LIMIT_REGISTRATION_PER_IP",
            Limiter::AdminFailuresPerIp => "RATE_LIMIT_ADMIN_FAILURES_PER_IP",
            Limiter::DeviceUserCode => "RATE_LIMIT_DEVICE_USER_CODE",
        }
    }

    /// What was too many, for the error hint.
    fn what(self) -> &'static str {
        match self {
            Limiter::ClientAuthFailuresPerClient | Limiter::ClientAuthFailuresPerIp => "failed client authentications",
            Limiter::RegistrationPerIp => "client registrations from this address",
            Limiter::AdminFailuresPerIp => "failed admin API authentications from this address",
            Limiter::DeviceUserCode => "user code attempts",
        }
    }
}

/// The rate-limit key of the client's address (`CF-Connecting-IP` only): an IPv4 address as
/// it is, an IPv6 address by its /64 prefix, since one host commonly holds a whole /64 and could
/// otherwise rotate through 2^64 keys. (An IPv4-mapped IPv6 address counts as its IPv4 address.)
pub fn client_ip(req: &Request) -> Option<String> {
    let raw = req.header("cf-connecting-ip").map(str::trim).filter(|ip| !ip.is_empty() && ip.len() <= 64)?;
    Some(match raw.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => raw.to_string(),
    })
}

/// How long a refused key stays refused in this isolate without asking the binding again.
const BLOCK_MS: i64 = RATE_LIMIT_RETRY_AFTER_SECS as i64 * 1000;
/// Remembered refused keys per isolate before the oldest are dropped.
const BLOCK_LIMIT: usize = 10_000;

thread_local! {
    static BLOCKED: RefCell<HashMap<String, i64>> = RefCell::new(HashMap::new());
}

fn box_key(limiter: Limiter, key: &str) -> String {
    format!("{}\u{0}{key}", limiter.binding())
}

/// Is `key` refused by `limiter` in this isolate right now? Costs nothing: no binding call.
pub fn blocked<P: Platform>(p: &P, limiter: Limiter, key: &str) -> bool {
    let now = p.now_ms();
    BLOCKED.with(|b| b.borrow().get(&box_key(limiter, key)).map(|until| *until > now).unwrap_or(false))
}

fn block<P: Platform>(p: &P, limiter: Limiter, key: &str) {
    let now = p.now_ms();
    BLOCKED.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() >= BLOCK_LIMIT {
            b.retain(|_, until| *until > now);
            if b.len() >= BLOCK_LIMIT {
                b.clear();
            }
        }
        b.insert(box_key(limiter, key), now + BLOCK_MS);
    });
}

/// The 429 of a limiter.
pub fn refused(limiter: Limiter) -> ApiError {
    ApiError::rate_limited(limiter.what())
}

/// Count one event for `key`; false when the binding says the key is over its limit (the key
/// is then [`blocked`] for a period). A limiter that does not answer allows the event: an
/// outage of the counter must not lock everyone out.
pub async fn count<P: Platform>(p: &P, limiter: Limiter, key: &str) -> bool {
    let allowed = p.rate_limit(limiter.binding(), key).await.unwrap_or(true);
    if !allowed {
        block(p, limiter, key);
    }
    allowed
}

/// Refuse with 429 when any of `keys` is [`blocked`].
pub fn check<P: Platform>(p: &P, checks: &[(Limiter, &str)]) -> ApiResult<()> {
    match checks.iter().find(|(l, k)| blocked(p, *l, k)) {
        Some((l, _)) => Err(refused(*l)),
        None => Ok(()),
    }
}

/// Count a failure against each of `keys`; the 429 to answer instead when one is over.
pub async fn fail<P: Platform>(p: &P, keys: &[(Limiter, &str)]) -> Option<ApiError> {
    let mut over = None;
    for (limiter, key) in keys {
        if !count(p, *limiter, key).await && over.is_none() {
            over = Some(refused(*limiter));
        }
    }
    over
}

/// Count one attempt against `limiter` for `key` (before the work it guards): 429 when over.
pub async fn attempt<P: Platform>(p: &P, limiter: Limiter, key: &str) -> ApiResult<()> {
    check(p, &[(limiter, key)])?;
    if count(p, limiter, key).await {
        Ok(())
    } else {
        Err(refused(limiter))
    }
}

/// For the device flow: count one user-code attempt from this request's address (and, when
/// given, against a further key). `GET /oauth2/device/verify` counts every verification it
/// starts, since each may then try a bounded number of user codes (`device::verify`, which
/// sends a refusal to the error page).
pub async fn user_code_attempt<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
    device_code_key: Option<&str>,
) -> ApiResult<()> {
    if let Some(ip) = client_ip(req) {
        attempt(ctx.p, Limiter::DeviceUserCode, &format!("ip:{ip}")).await?;
    }
    if let Some(key) = device_code_key {
        attempt(ctx.p, Limiter::DeviceUserCode, &format!("device:{key}")).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{block_on, TestPlatform};

    /// A key the binding refused is refused in this isolate for BLOCK_MS without asking again.
    #[test]
    fn a_refused_key_stays_refused_for_its_bound_only() {
        let p = TestPlatform::new();
        let l = Limiter::AdminFailuresPerIp;
        p.rate_limit_allows.set(false);
        assert!(!block_on(count(&p, l, "ip:203.0.113.7")));
        p.rate_limit_allows.set(true);
        assert!(blocked(&p, l, "ip:203.0.113.7"));
        assert!(!blocked(&p, l, "ip:203.0.113.8"), "only that key");
        assert_eq!(check(&p, &[(l, "ip:203.0.113.7")]).unwrap_err().status, 429);
        p.advance_ms(BLOCK_MS - 1);
        assert!(blocked(&p, l, "ip:203.0.113.7"));
        p.advance_ms(1);
        assert!(!blocked(&p, l, "ip:203.0.113.7"));
        assert_eq!(p.count("rate_limit"), 1, "checking a refused key never calls the binding");
    }

    #[test]
    fn address_comes_from_cf_connecting_ip_only() {
        let mut r = Request::new(crate::http::Method::Post, "/oauth2/token");
        r.headers.push(("x-forwarded-for".into(), "1.2.3.4".into()));
        r.headers.push(("x-real-ip".into(), "1.2.3.5".into()));
        assert_eq!(client_ip(&r), None);
        r.headers.push(("cf-connecting-ip".into(), " 203.0.113.7 ".into()));
        assert_eq!(client_ip(&r).as_deref(), Some("203.0.113.7"));
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix() {
        let ip = |v: &str| {
            let mut r = Request::new(crate::http::Method::Post, "/oauth2/token");
            r.headers.push(("cf-connecting-ip".into(), v.into()));
            client_ip(&r)
        };
        assert_eq!(ip("2001:db8:1:2:aaaa::1").as_deref(), Some("2001:db8:1:2::/64"));
        assert_eq!(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), ip("2001:0DB8:0001:0002::7"));
        assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
        assert_eq!(ip("::ffff:203.0.113.9").as_deref(), Some("203.0.113.9"));
        assert_eq!(ip("not-an-address").as_deref(), Some("not-an-address"));
    }

    #[test]
    fn bindings_are_distinct() {
        let mut names: Vec<&str> = Limiter::ALL.iter().map(|l| l.binding()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Limiter::ALL.len());
    }
}
