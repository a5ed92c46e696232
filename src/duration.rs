//! Go `time.Duration` strings, the format of Hydra's lifespans (`"1h0m0s"`) and TTL settings.
//!
//! Durations are kept as nanoseconds (as Go does) so that what a client writes reads back the
//! way Hydra would print it.

const NS: i64 = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
const M: i64 = 60 * S;
const H: i64 = 60 * M;

/// Parse a duration matching Hydra's pattern `^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$`.
pub fn parse(input: &str) -> Option<i64> {
    if input.is_empty() {
        return None;
    }
    let mut rest = input;
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if int_len == 0 {
            return None;
        }
        let int_part: i128 = rest[..int_len].parse().ok()?;
        rest = &rest[int_len..];
        let mut frac: (i128, i128) = (0, 1);
        if let Some(after_dot) = rest.strip_prefix('.') {
            let frac_len = after_dot.find(|c: char| !c.is_ascii_digit()).unwrap_or(after_dot.len());
            if frac_len == 0 {
                return None;
            }
            for d in after_dot[..frac_len].bytes().take(18) {
                frac.0 = frac.0 * 10 + (d - b'0') as i128;
                frac.1 *= 10;
            }
            rest = &after_dot[frac_len..];
        }
        let (unit, unit_len) = [("ns", NS), ("us", US), ("µs", US), ("ms", MS), ("h", H), ("m", M), ("s", S)]
            .iter()
            .find(|(u, _)| rest.starts_with(u))
            .map(|(u, n)| (*n, u.len()))?;
        rest = &rest[unit_len..];
        total += int_part * unit as i128 + frac.0 * unit as i128 / frac.1;
        if total > i64::MAX as i128 {
            return None;
        }
    }
    Some(total as i64)
}

/// Format like Go's `Duration.String()`: `"1h0m0s"`, `"1.5s"`, `"250ms"`, `"0s"`.
pub fn format(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if u < S as u64 {
        let (unit, div) = if u < US as u64 {
            ("ns", 1u64)
        } else if u < MS as u64 {
            ("µs", US as u64)
        } else {
            ("ms", MS as u64)
        };
        out.push_str(&fraction(u, div));
        out.push_str(unit);
        return out;
    }
    let hours = u / H as u64;
    let minutes = (u % H as u64) / M as u64;
    let secs = u % M as u64;
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&fraction(secs, S as u64));
    out.push('s');
    out
}

fn fraction(value: u64, div: u64) -> String {
    let whole = value / div;
    let rem = value % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

pub fn from_secs(secs: i64) -> i64 {
    secs.saturating_mul(S)
}

pub fn to_secs(ns: i64) -> i64 {
    ns / S
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(format(from_secs(3600)), "1h0m0s");
        assert_eq!(format(from_secs(600)), "10m0s");
        assert_eq!(format(from_secs(90)), "1m30s");
        assert_eq!(format(1_500_000_000), "1.5s");
        assert_eq!(format(250 * MS), "250ms");
        assert_eq!(format(1500), "1.5µs");
        assert_eq!(format(0), "0s");
        assert_eq!(format(from_secs(720 * 3600)), "720h0m0s");
    }

    #[test]
    fn parses_hydra_pattern() {
        assert_eq!(parse("1h"), Some(H));
        assert_eq!(parse("1h0m0s"), Some(H));
        assert_eq!(parse("1.5h"), Some(H + 30 * M));
        assert_eq!(parse("10m"), Some(10 * M));
        assert_eq!(parse("500ms"), Some(500 * MS));
        assert_eq!(parse("3µs"), Some(3 * US));
        assert_eq!(parse("720h"), Some(720 * H));
        for bad in ["", "1", "h", "1x", "-1h", "1.h", " 1h", "1h ", "99999999999999999999h"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips() {
        for s in ["1h0m0s", "1m30s", "1.5s", "250ms", "2h45m0.5s"] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
    }
}
