//! Reading the `Cookie` header and writing `Set-Cookie` values.

use super::Request;

/// The value of a request cookie.
pub fn get(req: &Request, name: &str) -> Option<String> {
    for header in req.headers.iter().filter(|(k, _)| k == "cookie") {
        for part in header.1.split(';') {
            if let Some((k, v)) = part.trim().split_once('=') {
                if k.trim() == name {
                    return Some(v.trim().trim_matches('"').to_string());
                }
            }
        }
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

impl SameSite {
    pub fn parse(s: &str) -> Option<SameSite> {
        match s.to_ascii_lowercase().as_str() {
            "strict" => Some(SameSite::Strict),
            "lax" => Some(SameSite::Lax),
            "none" => Some(SameSite::None),
            _ => None,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// Attributes shared by every cookie the server sets.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    pub secure: bool,
    pub same_site: SameSite,
}

/// A `Set-Cookie` value. `max_age` None makes a browser-session cookie; `Some(0)` deletes.
pub fn set(name: &str, value: &str, max_age: Option<i64>, policy: CookiePolicy) -> String {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite={}", policy.same_site.as_str());
    if policy.secure {
        s.push_str("; Secure");
    }
    if let Some(age) = max_age {
        s.push_str(&format!("; Max-Age={}", age.max(0)));
    }
    s
}

/// A `Set-Cookie` value that removes the cookie.
pub fn delete(name: &str, policy: CookiePolicy) -> String {
    set(name, "", Some(0), policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    #[test]
    fn reads_cookie_among_others() {
        let mut r = Request::new(Method::Get, "/");
        r.headers.push(("cookie".into(), "a=1; ory_hydra_session=xyz; b=2".into()));
        assert_eq!(get(&r, "ory_hydra_session").as_deref(), Some("xyz"));
        assert_eq!(get(&r, "c"), None);
    }

    #[test]
    fn writes_attributes() {
        let p = CookiePolicy { secure: true, same_site: SameSite::None };
        assert_eq!(set("n", "v", Some(60), p), "n=v; Path=/; HttpOnly; SameSite=None; Secure; Max-Age=60");
        assert!(delete("n", p).contains("Max-Age=0"));
    }
}
