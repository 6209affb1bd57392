//! Durations and sizes as people write them on a command line: `90`,
//! `90s`, `5m`, `1.5h`, `30d`; `4096`, `64K`, `4M`, `1G` (powers of
//! 1024). schedd's options and schedctl's `-t` and `advance` read them.
/// A duration in seconds, as a person reads it (`3600` is `1h`).
pub fn human_duration(secs: u64) -> String {
    match secs {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Seconds from `90`, `30s`, `5m`, `2h`, `1d` or fractions such as `1.5h`
/// (rounded up to whole seconds).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || format!("bad duration {text:?}: use seconds or a number with s, m, h or d");
    let (num, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c),
        Some(_) => (t, 's'),
        None => return Err(bad()),
    };
    let mult = match unit {
        's' => 1.0,
        'm' => 60.0,
        'h' => 3600.0,
        'd' => 86400.0,
        _ => return Err(bad()),
    };
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = (n * mult).ceil();
    if !secs.is_finite() || secs > 1e15 {
        return Err(format!("duration {text:?} is too long"));
    }
    Ok(secs as u64)
}

/// Bytes from `4096`, `64K`, `4M` or `1G`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || format!("bad size {text:?}: use bytes or a number with K, M or G");
    let (num, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        Some(c) if c.is_ascii_digit() => (t, 1),
        _ => return Err(bad()),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("30s"), Ok(30));
        assert_eq!(parse_duration("5m"), Ok(300));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("1d"), Ok(86400));
        assert_eq!(parse_duration("1.5m"), Ok(90));
        assert_eq!(parse_duration("0.1"), Ok(1));
        assert_eq!(parse_duration("0"), Ok(0));
        for bad in ["", "s", "-5", "5x", "1e3", "abc", "5 m", "inf", "1..2"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn durations_print_as_people_write_them() {
        assert_eq!(human_duration(30 * 86_400), "30d");
        assert_eq!(human_duration(7_200), "2h");
        assert_eq!(human_duration(90), "90s");
        assert_eq!(human_duration(120), "2m");
    }

    #[test]
    fn sizes_are_powers_of_1024() {
        assert_eq!(parse_size("4M"), Ok(4 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("1T").is_err());
    }
}
