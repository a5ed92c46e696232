//! Which URLs the server may fetch (a client's `jwks_uri`, `sector_identifier_uri`,
//! `backchannel_logout_uri`, `request_uris`): checked when a client registers them, so a
//! registrant cannot point the server at its own network (SSRF).
//!
//! Rules: `https`, or `http` only on a loopback host while the issuer itself is loopback (local
//! development). IP literals must be globally routable: private, loopback, link-local, shared
//! (CGNAT), unspecified, multicast, documentation and reserved ranges are refused, including
//! IPv4 addresses embedded in IPv6 (mapped, compatible, NAT64, 6to4). Host names cannot be
//! resolved here; Cloudflare's `fetch` does not reach private networks, and the fetch itself
//! follows no redirect, is time-boxed and reads a capped body (`src/worker/platform.rs`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::url::{Host, Url};
use crate::config::is_loopback_host;

/// Why a URL may not be fetched, as a sentence fragment ("must ...").
pub fn check(url: &Url, loopback_allowed: bool) -> Result<(), &'static str> {
    let loopback_name = url.host_str().map(is_loopback_host).unwrap_or(false);
    match url.scheme() {
        "https" => {}
        "http" if loopback_allowed && loopback_name => {}
        "http" => return Err("must use https"),
        _ => return Err("must be an https URL"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain user information");
    }
    match url.host() {
        None => Err("must name a host"),
        Some(Host::Domain(d)) => {
            if is_loopback_host(&d) && !loopback_allowed {
                Err("must not point to a loopback host")
            } else {
                Ok(())
            }
        }
        Some(Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip), loopback_allowed),
        Some(Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip), loopback_allowed),
    }
}

fn check_ip(ip: IpAddr, loopback_allowed: bool) -> Result<(), &'static str> {
    if ip.is_loopback() || embedded_v4(ip).map(|v4| v4.is_loopback()).unwrap_or(false) {
        return if loopback_allowed { Ok(()) } else { Err("must not point to a loopback address") };
    }
    if is_global(ip) {
        Ok(())
    } else {
        Err("must not point to a private, link-local or otherwise non-public address")
    }
}

/// An IPv4 address carried inside an IPv6 one (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`,
/// NAT64 `64:ff9b::/96`, 6to4 `2002::/16`).
fn embedded_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = ip else { return None };
    let s = v6.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] => Some(tail),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        [0x2002, a, b, ..] => Some(Ipv4Addr::new((a >> 8) as u8, a as u8, (b >> 8) as u8, b as u8)),
        _ => None,
    }
}

/// Is the address publicly routable?
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(IpAddr::V6(v6)) {
            Some(v4) => is_global_v4(v4),
            None => is_global_v6(v6),
        },
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                   // "this network"
        || a == 10                             // private
        || a == 127                            // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)              // link-local (cloud metadata)
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)      // documentation
        || (a == 192 && b == 88 && c == 99)    // 6to4 relay anycast
        || (a == 192 && b == 168)              // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100)   // documentation
        || (a == 203 && b == 0 && c == 113)    // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0)) // discard-only
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(u: &str, loopback: bool) -> bool {
        check(&Url::parse(u).unwrap(), loopback).is_ok()
    }

    #[test]
    fn public_https_only() {
        for good in
            ["https://keys.example/jwks", "https://8.8.8.8/k", "https://[2606:4700::1111]/k", "https://1.1.1.1:8443/"]
        {
            assert!(ok(good, false), "{good}");
        }
        for bad in [
            "http://keys.example/jwks",
            "ftp://keys.example/jwks",
            "https://user:pw@keys.example/jwks",
            "https://10.0.0.1/",
            "https://10.255.255.255/",
            "https://172.16.0.1/",
            "https://172.31.255.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://127.0.0.1/",
            "https://127.1/",
            "https://0x7f000001/",
            "https://2130706433/",
            "https://localhost/",
            "https://a.localhost/",
            "https://224.0.0.1/",
            "https://255.255.255.255/",
            "https://198.18.0.1/",
            "https://[::1]/",
            "https://[::]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[ff02::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[2002:c0a8:0101::1]/",
            "https://[2001:db8::1]/",
        ] {
            assert!(!ok(bad, false), "{bad}");
        }
    }

    #[test]
    fn loopback_only_in_local_development() {
        for u in ["http://127.0.0.1:9000/jwks", "http://localhost:9000/jwks", "http://[::1]/jwks", "https://127.0.0.1/"]
        {
            assert!(ok(u, true), "{u}");
            assert!(!ok(u, false), "{u}");
        }
        assert!(!ok("http://keys.example/jwks", true));
        assert!(!ok("http://10.0.0.1/jwks", true));
        assert!(!ok("http://172.15.0.1/", false), "http is never fine for a public host");
        assert!(ok("https://172.15.0.1/", false));
        assert!(ok("https://172.32.0.1/", false));
    }
}
