//! The Workers rate-limiting binding on the host: `limit` events per fixed window of `period`
//! seconds, counted per location (Cloudflare counts per location), binding and key. The
//! bindings and their limits are the deployment's own: the `[[ratelimits]]` tables of
//! `wrangler.toml`, read at build time; tests may change or remove one
//! (`World::set_rate_limit`). A binding that is not declared allows everything, as the Worker
//! does without it.

use std::collections::HashMap;

/// `limit` events per `period_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub limit: u32,
    pub period_secs: u32,
}

pub struct RateLimits {
    bindings: HashMap<String, Limit>,
    /// (location, binding, key) → (window index, events counted in it).
    windows: HashMap<(String, String, String), (i64, u32)>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { bindings: declared(include_str!("../../wrangler.toml")), windows: HashMap::new() }
    }
}

impl RateLimits {
    pub fn set(&mut self, binding: &str, limit: Option<Limit>) {
        match limit {
            Some(l) => self.bindings.insert(binding.to_string(), l),
            None => self.bindings.remove(binding),
        };
        self.windows.retain(|(_, b, _), _| b != binding);
    }

    /// Count one event; false when the key is over its limit in the current window.
    pub fn count(&mut self, location: &str, binding: &str, key: &str, now_ms: i64) -> bool {
        let Some(l) = self.bindings.get(binding).copied() else { return true };
        let window = now_ms.div_euclid(l.period_secs.max(1) as i64 * 1000);
        let entry =
            self.windows.entry((location.to_string(), binding.to_string(), key.to_string())).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        entry.1 <= l.limit
    }
}

/// The `[[ratelimits]]` tables of a wrangler.toml: `name` and `simple = { limit, period }`.
fn declared(toml: &str) -> HashMap<String, Limit> {
    let mut out = HashMap::new();
    let mut name: Option<String> = None;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            name = None;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        match (key.trim(), name.as_ref()) {
            ("name", _) => name = Some(value.trim().trim_matches('"').to_string()),
            ("simple", Some(n)) => {
                let number = |field: &str| -> Option<u32> {
                    let rest = &value[value.find(field)? + field.len()..];
                    let digits: String = rest
                        .trim_start()
                        .strip_prefix('=')?
                        .trim_start()
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    digits.parse().ok()
                };
                if let (Some(limit), Some(period_secs)) = (number("limit"), number("period")) {
                    out.insert(n.clone(), Limit { limit, period_secs });
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployments_bindings_are_read() {
        let r = RateLimits::default();
        for l in crate::ratelimit::Limiter::ALL {
            assert!(r.bindings.contains_key(l.binding()), "{} is declared in wrangler.toml", l.binding());
        }
        assert_eq!(r.bindings["RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_CLIENT"], Limit { limit: 20, period_secs: 60 });
    }

    #[test]
    fn fixed_windows_per_location_and_key() {
        let mut r = RateLimits::default();
        r.set("B", Some(Limit { limit: 2, period_secs: 10 }));
        let t = 1_000_000; // the start of a window
        assert!(r.count("a", "B", "k", t) && r.count("a", "B", "k", t + 1));
        assert!(!r.count("a", "B", "k", t + 9_999), "third event in the window");
        assert!(r.count("b", "B", "k", t + 9_999), "another location counts apart");
        assert!(r.count("a", "B", "other", t + 9_999), "another key counts apart");
        assert!(r.count("a", "B", "k", t + 10_000), "a new window");
        assert!(r.count("a", "UNDECLARED", "k", t), "no binding: allowed");
        r.set("B", None);
        assert!(r.count("a", "B", "k", t + 10_001));
    }
}
