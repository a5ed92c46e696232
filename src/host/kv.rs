//! Workers KV in memory: values with expiry, seen at once in the location that wrote them and
//! only after the propagation delay in the others (Cloudflare's documented behaviour: "up to 60
//! seconds or more" elsewhere). The model is the worst case: another location always serves
//! its older copy until the delay has passed.

use std::collections::HashMap;

struct Write {
    at_ms: i64,
    location: String,
    /// `None`: a delete.
    value: Option<String>,
    expires_ms: Option<i64>,
}

#[derive(Default)]
pub struct Kv {
    keys: HashMap<String, Vec<Write>>,
}

impl Kv {
    pub fn get(&self, key: &str, location: &str, now_ms: i64, delay_ms: i64) -> Option<String> {
        let writes = self.keys.get(key)?;
        let w = writes.iter().rev().find(|w| w.location == location || w.at_ms + delay_ms <= now_ms)?;
        match (&w.value, w.expires_ms) {
            (Some(v), Some(exp)) if exp > now_ms => Some(v.clone()),
            (Some(v), None) => Some(v.clone()),
            _ => None,
        }
    }

    pub fn put(&mut self, key: &str, value: Option<String>, expires_ms: Option<i64>, location: &str, now_ms: i64) {
        let writes = self.keys.entry(key.to_string()).or_default();
        writes.push(Write { at_ms: now_ms, location: location.to_string(), value, expires_ms });
        // Writes older than one that every location sees can never be read again. Keep a bounded
        // history either way (a busy key in a long test).
        if writes.len() > 64 {
            writes.drain(..writes.len() - 64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_locations_see_writes_after_the_delay() {
        let mut kv = Kv::default();
        kv.put("k", Some("v1".into()), Some(1_000_000), "a", 0);
        assert_eq!(kv.get("k", "a", 0, 60_000).as_deref(), Some("v1"));
        assert_eq!(kv.get("k", "b", 59_999, 60_000), None);
        assert_eq!(kv.get("k", "b", 60_000, 60_000).as_deref(), Some("v1"));
        kv.put("k", None, None, "a", 100_000);
        assert_eq!(kv.get("k", "a", 100_000, 60_000), None);
        assert_eq!(kv.get("k", "b", 100_000, 60_000).as_deref(), Some("v1"), "stale copy");
        assert_eq!(kv.get("k", "b", 160_000, 60_000), None);
    }

    #[test]
    fn values_expire() {
        let mut kv = Kv::default();
        kv.put("k", Some("v".into()), Some(5_000), "a", 0);
        assert_eq!(kv.get("k", "a", 4_999, 0).as_deref(), Some("v"));
        assert_eq!(kv.get("k", "a", 5_000, 0), None);
    }
}
