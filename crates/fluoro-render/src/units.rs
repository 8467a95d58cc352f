//! Human-readable units.

/// Bytes in binary units: `512 B`, `1.5 KiB`, `12.0 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Parses a size as users write it: `100`, `100 B`, `64KiB`, `24 MB`, `1.5 GB`. Units are
/// binary whatever their spelling (`KB` = `KiB` = `K` = 1024 bytes), as pytest-memray's
/// markers read them, and case does not matter.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().trim_start_matches('+');
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (like 512, 64KiB or 24 MB)"))?;
    let power = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 1,
        "m" | "mb" | "mib" => 2,
        "g" | "gb" | "gib" => 3,
        "t" | "tb" | "tib" => 4,
        other => {
            return Err(format!(
                "{text:?}: unknown size unit {other:?} (B, KB, MB, GB, TB)"
            ))
        }
    };
    let bytes = value * 1024f64.powi(power);
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(format!("{text:?} is too large"));
    }
    Ok(bytes.round() as u64)
}

/// A duration in the unit that keeps three significant figures or so.
pub fn seconds(s: f64) -> String {
    let a = s.abs();
    if a >= 1.0 {
        format!("{s:.3} s")
    } else if a >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else if a >= 1e-6 {
        format!("{:.3} µs", s * 1e6)
    } else {
        format!("{:.1} ns", s * 1e9)
    }
}

/// `n` and the noun, plural unless `n` is 1: `1 allocation`, `3 allocations`. The plural adds
/// an `s` (every noun fluoro counts takes one).
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A ratio as a percentage with one decimal.
pub fn percent(ratio: f64) -> String {
    format!("{:.1} %", ratio * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.0 KiB");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(bytes(u64::MAX), "16384.0 PiB");
    }

    #[test]
    fn counts_are_plural_unless_one() {
        assert_eq!(count(1, "allocation"), "1 allocation");
        assert_eq!(count(0, "allocation"), "0 allocations");
        assert_eq!(count(2, "thread"), "2 threads");
    }

    #[test]
    fn time_units() {
        assert_eq!(seconds(1.5), "1.500 s");
        assert_eq!(seconds(0.005), "5.000 ms");
        assert_eq!(seconds(0.0000025), "2.500 µs");
        assert_eq!(seconds(2e-9), "2.0 ns");
    }

    proptest::proptest! {
        #[test]
        fn bytes_never_panics(n in proptest::num::u64::ANY) {
            let s = bytes(n);
            proptest::prop_assert!(s.ends_with('B'));
        }
    }
}

#[cfg(test)]
mod size_tests {
    use super::parse_size;

    #[test]
    fn reads_sizes_as_users_write_them() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("100 B"), Ok(100));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("24 MB"), Ok(24 << 20));
        assert_eq!(parse_size("+1.5 gb"), Ok(3 << 29));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MB").is_err());
    }
}
