//! The value syntaxes a config shares: durations ("15m"), sizes ("64MiB"),
//! paths starting with `~`, and their bounds.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// The longest duration any key may have: 10 years (humantime's years of
/// 365.25 days, so "10y" itself is allowed). Every time computed from a
/// config stays far inside what `Instant` and `jiff::Timestamp` can hold,
/// so no arithmetic on a configured duration can overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 31_557_600);
/// The longest `settings.deadline`: a run that may take more than a day
/// is not a health check, and the next run would queue behind it.
pub const MAX_DEADLINE: Duration = Duration::from_secs(24 * 3600);
/// The most bytes a size key (`max_read`) may name.
pub const MAX_BYTES: f64 = 1024.0 * 1024.0 * 1024.0 * 1024.0;

/// The keys that take a duration, wherever they are: a bare number
/// written there is told to carry its unit.
pub const DURATION_KEYS: &[&str] = &[
    "timeout",
    "deadline",
    "expected_interval",
    "window",
    "cooldown",
    "grace",
    "verify",
    "settle",
    "renotify",
    "fallback_after",
    "every",
    "per",
    "min_span",
    "run_window",
    "run_cooldown",
];

/// Humantime durations: "90s", "5m", "2h 30m", "7d"; at most `MAX_DURATION`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("invalid duration \"{text}\": {e} (write e.g. \"90s\", \"5m\", \"2h 30m\")")
    })?;
    if d > MAX_DURATION {
        return Err(format!(
            "duration \"{text}\" is too long (at most 10 years, \"10y\")"
        ));
    }
    Ok(d)
}

/// "50s", "1h 30m": a duration as the config would write it.
pub fn show_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// "512MB", "1.5GiB", "100k", "2048": bytes. Decimal (kB, MB) and binary (KiB, MiB) units.
pub fn parse_size(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid size \"{text}\" (write e.g. \"512MB\" or \"1GiB\")"))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024f64.powi(4),
        _ => {
            return Err(format!(
                "invalid size unit in \"{text}\" (use B, kB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    Ok(n * factor)
}

/// `$HOME`; on Windows, else `%USERPROFILE%`.
pub fn home() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|h| !h.is_empty());
    #[cfg(windows)]
    let found = var("HOME").or_else(|| var("USERPROFILE"));
    #[cfg(not(windows))]
    let found = var("HOME");
    found.map(PathBuf::from)
}

/// `~` and `~/x` (on Windows also `~\x`) become the home directory.
pub fn expand_tilde(path: &str) -> PathBuf {
    if path == "~" {
        return home().unwrap_or_else(|| PathBuf::from(path));
    }
    if let Some(rest) = path
        .strip_prefix('~')
        .and_then(|r| r.strip_prefix(std::path::is_separator))
        && let Some(h) = home()
    {
        return h.join(rest);
    }
    PathBuf::from(path)
}

/// A threshold as written: a number, or a string with a unit ("5m", "1GiB", "85%").
#[derive(Clone, Debug, PartialEq)]
pub enum Limit {
    Number(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Limit, D::Error> {
        struct LimitVisitor;
        impl Visitor<'_> for LimitVisitor {
            type Value = Limit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a string such as \"5m\" or \"1GiB\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Limit, E> {
                Ok(Limit::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Limit, E> {
                Ok(Limit::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Limit, E> {
                Ok(Limit::Number(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Limit, E> {
                Ok(Limit::Text(v.to_string()))
            }
        }
        d.deserialize_any(LimitVisitor)
    }
}

/// One string or a list of them (`journal = "bot.service"` or
/// `journal = ["schwab-*.service"]`), as a list.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OneOrMany, D::Error> {
        struct OneOrManyVisitor;
        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }
        }
        d.deserialize_any(OneOrManyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_humantime_and_bounded() {
        assert_eq!(parse_duration("2h 30m"), Ok(Duration::from_secs(9000)));
        assert_eq!(parse_duration(" 90s "), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10y"), Ok(MAX_DURATION));
        let too_long = parse_duration("11y").unwrap_err();
        assert!(too_long.contains("at most 10 years"), "{too_long}");
        let bad = parse_duration("15 minutes please").unwrap_err();
        assert!(bad.contains("write e.g."), "{bad}");
    }

    #[test]
    fn a_duration_shows_as_a_config_would_write_it() {
        assert_eq!(show_duration(Duration::from_secs(5400)), "1h 30m");
        assert_eq!(
            parse_duration(&show_duration(Duration::from_secs(50))),
            Ok(Duration::from_secs(50))
        );
    }

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_size("2048"), Ok(2048.0));
        assert_eq!(parse_size("512MB"), Ok(512e6));
        assert_eq!(parse_size("1.5GiB"), Ok(1.5 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse_size("100k"), Ok(1e5));
        assert_eq!(parse_size("1TiB"), Ok(MAX_BYTES));
        assert!(parse_size("12 parsecs").unwrap_err().contains("size unit"));
        assert!(parse_size("MB").unwrap_err().contains("invalid size"));
    }

    #[test]
    fn only_a_leading_tilde_is_the_home() {
        assert_eq!(
            expand_tilde("/var/log/bot.log"),
            PathBuf::from("/var/log/bot.log")
        );
        assert_eq!(expand_tilde("logs/~/x"), PathBuf::from("logs/~/x"));
        assert_eq!(expand_tilde("~other/x"), PathBuf::from("~other/x"));
        if let Some(home) = home() {
            assert_eq!(expand_tilde("~/bot.log"), home.join("bot.log"));
            assert_eq!(expand_tilde("~"), home);
        }
    }
}
