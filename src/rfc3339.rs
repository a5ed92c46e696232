//! RFC 3339 timestamps (UTC, whole seconds) as Hydra writes them, and parsing with any offset:
//! the proleptic Gregorian calendar in a few lines instead of a date-time crate in the Worker.

/// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (years 0 to 9999).
pub fn format(secs: i64) -> String {
    let secs = secs.clamp(-62_167_219_200, 253_402_300_799);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// Seconds since the epoch of an RFC 3339 date-time (`T`, `t` or a space between date and time;
/// fractions of a second dropped; `Z` or a `±HH:MM` offset).
pub fn parse(s: &str) -> Result<i64, String> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Result<i64, String> {
        let part = s.get(from..from + len).ok_or("is too short")?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            Ok(part.parse().unwrap_or(0))
        } else {
            Err(format!("has {part:?} where digits belong"))
        }
    };
    let at = |i: usize, allowed: &[u8]| b.get(i).map(|c| allowed.contains(c)).unwrap_or(false);
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt ") && at(13, b":") && at(16, b":")) {
        return Err("is not of the form YYYY-MM-DDTHH:MM:SS plus an offset".into());
    }
    let (y, mo, d, h, mi, sec) = (num(0, 4)?, num(5, 2)?, num(8, 2)?, num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let mut i = 19;
    if at(i, b".") {
        i += 1;
        let start = i;
        while at(i, b"0123456789") {
            i += 1;
        }
        if i == start {
            return Err("has a '.' without fraction digits".into());
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && at(i + 3, b":") => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return Err("has an offset out of range".into());
            }
            (oh * 3600 + om * 60) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return Err("has no valid offset (Z or ±HH:MM) at its end".into()),
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] || h > 23 || mi > 59 || sec > 60 {
        return Err("names a date or time that does not exist".into());
    }
    // A leap second counts as the next second.
    Ok(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_as_rfc_3339() {
        assert_eq!(format(0), "1970-01-01T00:00:00Z");
        assert_eq!(format(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format(2_208_988_800), "2040-01-01T00:00:00Z");
        assert_eq!(format(-1), "1969-12-31T23:59:59Z");
        for secs in [0, 1, 86_399, 951_782_400, 1_700_000_000, 4_102_444_800, -86_401] {
            assert_eq!(parse(&format(secs)), Ok(secs), "{secs}");
        }
        assert_eq!(parse("2040-01-01T00:00:00Z"), Ok(2_208_988_800));
        assert_eq!(parse("2040-01-01t01:00:00.123+01:00"), Ok(2_208_988_800));
        assert_eq!(parse("2039-12-31 19:00:00-05:00"), Ok(2_208_988_800));
        assert_eq!(parse("1990-12-31T23:59:60Z"), parse("1991-01-01T00:00:00Z"));
        for bad in [
            "",
            "next year",
            "2040-01-01",
            "2040-01-01T00:00:00",
            "2040-13-01T00:00:00Z",
            "2041-02-29T00:00:00Z",
            "2040-01-01T24:00:00Z",
            "2040-01-01T00:00:00.Z",
            "2040-01-01T00:00:00+0100",
            "2040-01-01T00:00:00Zjunk",
            "2040-01-01T00:00:00+25:00",
            "२०४०-01-01T00:00:00Z",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
