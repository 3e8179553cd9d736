//! Human units: bytes, rates, durations and counts.

/// How a value is displayed; presets name it per query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Binary bytes: B, KiB, MiB, GiB, TiB.
    Bytes,
    /// Per second.
    PerSec,
    /// Seconds, shown as µs/ms/s/m.
    Seconds,
    /// Milliseconds, shown like seconds.
    Millis,
    /// A ratio 0..1 shown as a percentage.
    Ratio,
    /// A plain count, 48.2k style.
    #[default]
    Count,
}

/// `s` in exactly `w` columns: padded, or cut in the middle with `…` so
/// both ends stay (pods of one Deployment differ only in their suffix:
/// `checkout-api-7d9f8b6c5-x2k4q` → `checkout-a…b6c5-x2k4q`). One column
/// per char: the text is sanitised before it gets here.
pub fn fit_middle(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        return format!("{s:<w$}");
    }
    if w <= 1 {
        return "…".repeat(w);
    }
    // the suffix gets the larger half: it is what tells pods apart
    let tail = w / 2;
    let head = w - 1 - tail;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    out
}

pub fn format_value(v: f64, unit: Unit) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    match unit {
        Unit::Bytes => format_bytes(v),
        Unit::PerSec => format!("{}/s", format_count(v)),
        Unit::Seconds => format_duration(v),
        Unit::Millis => format_duration(v / 1000.0),
        Unit::Ratio => format_ratio(v),
        Unit::Count => format_count(v),
    }
}

pub fn format_bytes(v: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let neg = v < 0.0;
    let mut x = v.abs();
    let mut i = 0;
    // from 1000 of a unit on, the next one: "0.99 GiB", never "1016 MiB"
    // (four digits would not line up with the rest)
    while x >= 1000.0 && i < UNITS.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    let s = if i == 0 || x >= 100.0 {
        format!("{x:.0} {}", UNITS[i])
    } else if x >= 10.0 {
        format!("{x:.1} {}", UNITS[i])
    } else {
        format!("{x:.2} {}", UNITS[i])
    };
    if neg {
        format!("-{s}")
    } else {
        s
    }
}

pub fn format_count(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let ax = x.abs();
    if suffix.is_empty() && (x.fract() == 0.0) {
        format!("{x:.0}")
    } else if ax >= 100.0 {
        format!("{x:.0}{suffix}")
    } else if ax >= 10.0 {
        format!("{x:.1}{suffix}")
    } else {
        format!("{x:.2}{suffix}")
    }
}

pub fn format_duration(secs: f64) -> String {
    let a = secs.abs();
    if a == 0.0 {
        "0s".into()
    } else if a < 1e-3 {
        format!("{:.0}µs", secs * 1e6)
    } else if a < 1.0 {
        format!("{:.0}ms", secs * 1e3)
    } else if a < 60.0 {
        format!("{secs:.2}s")
    } else if a < 3600.0 {
        format!("{:.1}m", secs / 60.0)
    } else {
        format!("{:.1}h", secs / 3600.0)
    }
}

pub fn format_ratio(v: f64) -> String {
    let p = v * 100.0;
    if p.abs() >= 10.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// "45s", "4m", "2h", "3d": how long ago, for staleness and event ages.
pub fn format_age(secs: i64) -> String {
    let s = secs.max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86400)
    }
}

/// Parses "90s", "5m", "1h", "2d", "1w", "1h30m", "500ms" into seconds.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = 0.0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            unit.push(chars.next().unwrap());
        }
        let n: f64 = num
            .parse()
            .map_err(|_| format!("`{s}` is not a duration (expected e.g. 30s, 5m, 1h)"))?;
        let mult = match unit.as_str() {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "w" => 604800.0,
            _ => {
                return Err(format!(
                    "`{s}`: unknown unit `{unit}` (use ms, s, m, h, d, w)"
                ))
            }
        };
        total += n * mult;
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(format!("`{s}` needs a unit (e.g. 30s, 5m, 1h)"));
    }
    Ok(total)
}

/// Parses a size: "32MiB", "512KiB", "1GiB", "10MB", "4096" (bytes).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (expected e.g. 32MiB, 512KiB)"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kib" | "k" => 1024.0,
        "mib" | "m" => 1024.0 * 1024.0,
        "gib" | "g" => 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        u => {
            return Err(format!(
                "`{s}`: unknown size unit `{u}` (use KiB, MiB, GiB)"
            ))
        }
    };
    Ok((n * mult).round() as u64)
}

/// The shortest Prometheus duration string for whole seconds: 3600 → "1h".
pub fn prom_duration(secs: u64) -> String {
    let secs = secs.max(1);
    for (unit, n) in [("d", 86400), ("h", 3600), ("m", 60)] {
        if secs.is_multiple_of(n) {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_never_take_four_digits() {
        assert_eq!(format_bytes(1016.0 * 1024.0 * 1024.0), "0.99 GiB");
        assert_eq!(format_bytes(999.0 * 1024.0 * 1024.0), "999 MiB");
        assert_eq!(format_bytes(1000.0), "0.98 KiB");
        assert_eq!(format_bytes(999.0), "999 B");
        assert_eq!(format_bytes(2.0 * 1024.0 * 1024.0 * 1024.0), "2.00 GiB");
    }

    #[test]
    fn names_are_cut_in_the_middle_keeping_the_suffix() {
        let a = fit_middle("checkout-api-7d9f8b6c5-x2k4q", 12);
        let b = fit_middle("checkout-api-7d9f8b6c5-p9m3z", 12);
        assert_eq!(a, "check…-x2k4q");
        assert_ne!(a, b);
        assert_eq!(a.chars().count(), 12);
        assert_eq!(fit_middle("app-1", 8), "app-1   ");
        assert_eq!(fit_middle("abcdef", 1), "…");
        assert_eq!(fit_middle("abcdef", 0), "");
    }

    #[test]
    fn bytes() {
        assert_eq!(format_bytes(0.0), "0 B");
        assert_eq!(format_bytes(1023.0), "1.00 KiB");
        assert_eq!(format_bytes(1536.0), "1.50 KiB");
        assert_eq!(format_bytes(1.71 * 1024.0 * 1024.0 * 1024.0), "1.71 GiB");
        assert_eq!(format_bytes(512.0 * 1024.0 * 1024.0), "512 MiB");
        assert_eq!(format_bytes(-2048.0), "-2.00 KiB");
    }

    #[test]
    fn counts_and_rates() {
        assert_eq!(format_count(41.0), "41");
        assert_eq!(format_count(48_200.0), "48.2k");
        assert_eq!(format_count(2.1), "2.10");
        assert_eq!(format_value(210.0, Unit::PerSec), "210/s");
        assert_eq!(format_value(f64::NAN, Unit::Bytes), "NaN");
        assert_eq!(format_value(f64::INFINITY, Unit::Seconds), "+Inf");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(0.78), "780ms");
        assert_eq!(format_duration(0.0004), "400µs");
        assert_eq!(format_duration(2.5), "2.50s");
        assert_eq!(format_value(420.0, Unit::Millis), "420ms");
        assert_eq!(format_ratio(0.012), "1.2%");
        assert_eq!(format_age(45), "45s");
        assert_eq!(format_age(240), "4m");
    }

    #[test]
    fn parse_sizes() {
        assert_eq!(parse_bytes("32MiB").unwrap(), 32 << 20);
        assert_eq!(parse_bytes("512 KiB").unwrap(), 512 << 10);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("3 parsecs").is_err());
    }

    #[test]
    fn parse_and_print_durations() {
        assert_eq!(parse_duration("5s").unwrap(), 5.0);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400.0);
        assert_eq!(parse_duration("500ms").unwrap(), 0.5);
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(prom_duration(3600), "1h");
        assert_eq!(prom_duration(90), "90s");
        assert_eq!(prom_duration(300), "5m");
    }
}
