//! Scope and audience matching: which requested values a client's allow-lists cover.

use crate::config::ScopeStrategy;

/// Hydra's wildcard strategy: `foo.*` covers `foo.bar` and `foo.bar.baz`; `*` covers one
/// non-empty segment (or everything below it when it is the last segment); otherwise segments
/// must be equal.
fn wildcard_matches(matcher: &str, needle: &str) -> bool {
    let m: Vec<&str> = matcher.split('.').collect();
    let n: Vec<&str> = needle.split('.').collect();
    if m.len() > n.len() {
        return false;
    }
    for (k, part) in m.iter().enumerate() {
        let last = k == m.len() - 1;
        if last && m.len() != n.len() && *part != "*" {
            return false;
        }
        if *part == "*" && !n[k].is_empty() {
            continue;
        }
        if *part != n[k] {
            return false;
        }
    }
    true
}

/// An RFC 6749 §3.3 scope token: one or more of `%x21 / %x23-5B / %x5D-7E` (visible ASCII
/// without `"` and `\`).
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// Does the allow-list `allowed` cover `scope`? Never for something that is not a scope token,
/// whatever a wildcard would match.
pub fn scope_allowed(strategy: ScopeStrategy, allowed: &[&str], scope: &str) -> bool {
    if !is_scope_token(scope) {
        return false;
    }
    allowed.iter().any(|a| match strategy {
        ScopeStrategy::Exact => *a == scope,
        ScopeStrategy::Wildcard => wildcard_matches(a, scope),
    })
}

/// Does a granted set of scopes cover every requested one (consent skip)?
pub fn covers(strategy: ScopeStrategy, granted: &[String], requested: &[String]) -> bool {
    let g: Vec<&str> = granted.iter().map(String::as_str).collect();
    requested.iter().all(|r| scope_allowed(strategy, &g, r))
}

/// Audience matching: URL audiences match on scheme and host with the same path or a sub-path;
/// anything else must be equal.
pub fn audience_allowed(allowed: &[String], requested: &str) -> bool {
    let needle = crate::http::url::Url::parse(requested).ok();
    allowed.iter().any(|a| {
        if a == requested {
            return true;
        }
        match (needle.as_ref(), crate::http::url::Url::parse(a).ok()) {
            (Some(n), Some(h)) if n.has_host() && h.has_host() => {
                let hp = h.path().trim_end_matches('/');
                let np = n.path().trim_end_matches('/');
                n.scheme() == h.scheme()
                    && n.host_str() == h.host_str()
                    && n.port_or_known_default() == h.port_or_known_default()
                    && (np == hp || np.starts_with(&format!("{hp}/")))
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard() {
        let s = ScopeStrategy::Wildcard;
        assert!(scope_allowed(s, &["openid"], "openid"));
        assert!(!scope_allowed(s, &["openid"], "profile"));
        assert!(scope_allowed(s, &["photos.*"], "photos.read"));
        assert!(scope_allowed(s, &["photos.*"], "photos.read.all"));
        assert!(!scope_allowed(s, &["photos.*"], "photos"));
        assert!(!scope_allowed(s, &["photos.read"], "photos.read.all"));
        assert!(scope_allowed(s, &["photos.read"], "photos.read"));
        assert!(!scope_allowed(ScopeStrategy::Exact, &["photos.*"], "photos.read"));
        for junk in ["photos.a\"b", "photos.a\\b", "photos.é", "photos.a b", "photos.\u{0}", "photos.\u{7f}", ""] {
            assert!(!scope_allowed(s, &["photos.*", "*"], junk), "{junk:?}");
        }
        assert!(covers(s, &["openid".into(), "a.*".into()], &["a.b".into(), "openid".into()]));
        assert!(!covers(s, &["openid".into()], &["openid".into(), "offline".into()]));
    }

    #[test]
    fn audiences() {
        let allowed = vec!["https://api.example.com/v1".to_string(), "plain-audience".to_string()];
        assert!(audience_allowed(&allowed, "https://api.example.com/v1"));
        assert!(audience_allowed(&allowed, "https://api.example.com/v1/users"));
        assert!(!audience_allowed(&allowed, "https://api.example.com/v10"));
        assert!(!audience_allowed(&allowed, "http://api.example.com/v1"));
        assert!(!audience_allowed(&allowed, "https://evil.example/v1"));
        assert!(audience_allowed(&allowed, "plain-audience"));
        assert!(!audience_allowed(&allowed, "plain"));
    }
}
