//! Turning the timestamps that bots and databases write into instants:
//! epoch seconds or milliseconds, RFC 3339 text, and naive date-times (SQL
//! `datetime`, Python's `str(datetime.now())`) read in a given time zone.
//! Shared by the `sql` and `json` checks so that both read "when" alike.

use anyhow::{Context, anyhow, bail};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Epoch numbers at or above this magnitude are milliseconds: 1e11 seconds
/// is the year 5138, 1e11 milliseconds is March 1973.
const MILLIS_FROM: f64 = 1e11;
/// And at or above this, microseconds (1e14 ms is the year 5138 again).
const MICROS_FROM: f64 = 1e14;

/// An epoch number: seconds, milliseconds or microseconds, told apart by size.
pub fn from_epoch(n: f64) -> anyhow::Result<Timestamp> {
    if !n.is_finite() {
        bail!("{n} is not a timestamp");
    }
    let seconds = if n.abs() >= MICROS_FROM {
        n / 1e6
    } else if n.abs() >= MILLIS_FROM {
        n / 1e3
    } else {
        n
    };
    let d = SignedDuration::try_from_secs_f64(seconds)
        .map_err(|_| anyhow!("{n} is out of range for a timestamp"))?;
    Timestamp::from_duration(d).map_err(|_| anyhow!("{n} is out of range for a timestamp"))
}

/// A naive date-time, read as wall-clock time in `tz`. A time that occurs
/// twice (the hour after DST ends) is read as the earlier one.
pub fn from_civil(dt: DateTime, tz: &TimeZone) -> anyhow::Result<Timestamp> {
    tz.to_ambiguous_timestamp(dt)
        .compatible()
        .with_context(|| format!("{dt} does not exist in the time zone"))
}

/// Text: an epoch number, RFC 3339 (`2026-11-22T05:00:00Z`, `+02:00`, and
/// PostgreSQL's `2026-11-22 05:00:00+00`), or a naive date-time
/// (`2026-11-22 05:00:00`, `2026-11-22T05:00`, `2026-11-22`) read in `tz`.
pub fn parse(text: &str, tz: &TimeZone) -> anyhow::Result<Timestamp> {
    let t = text.trim();
    if let Ok(n) = t.parse::<f64>() {
        return from_epoch(n);
    }
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    match t.parse::<DateTime>() {
        Ok(dt) => from_civil(dt, tz),
        Err(_) => bail!(
            "\"{}\" is not a timestamp (expected epoch seconds or milliseconds, RFC 3339, or \"YYYY-MM-DD HH:MM:SS\")",
            shorten(t)
        ),
    }
}

/// At most 40 characters of a value, for error messages.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[track_caller]
    fn case(text: &str, tz: &str, expected: &str) {
        let tz = TimeZone::get(tz).unwrap();
        assert_eq!(parse(text, &tz).unwrap(), utc(expected), "{text}");
    }

    #[test]
    fn epochs_in_seconds_millis_and_micros() {
        case("1732251600", "UTC", "2024-11-22T05:00:00Z");
        case("1732251600.5", "UTC", "2024-11-22T05:00:00.5Z");
        case("1732251600000", "UTC", "2024-11-22T05:00:00Z");
        case("1732251600000000", "UTC", "2024-11-22T05:00:00Z");
        assert!(from_epoch(f64::NAN).is_err());
        assert!(from_epoch(1e300).is_err());
    }

    #[test]
    fn rfc3339_and_postgres_text_keep_their_offset() {
        case(
            "2024-11-22T05:00:00Z",
            "America/New_York",
            "2024-11-22T05:00:00Z",
        );
        case("2024-11-22T07:00:00+02:00", "UTC", "2024-11-22T05:00:00Z");
        case(
            "2024-11-22 05:00:00.25+00",
            "Asia/Tokyo",
            "2024-11-22T05:00:00.25Z",
        );
    }

    #[test]
    fn naive_values_are_read_in_the_given_zone() {
        case("2024-11-22 05:00:00", "UTC", "2024-11-22T05:00:00Z");
        case(
            "2024-11-22 00:00:00",
            "America/New_York",
            "2024-11-22T05:00:00Z",
        );
        case(
            "2024-07-01T00:00",
            "America/New_York",
            "2024-07-01T04:00:00Z",
        );
        case("2024-11-22", "UTC", "2024-11-22T00:00:00Z");
        // 01:30 happens twice on 2024-11-03 in New York: the first (EDT) wins.
        case(
            "2024-11-03 01:30:00",
            "America/New_York",
            "2024-11-03T05:30:00Z",
        );
    }

    #[test]
    fn garbage_says_what_was_expected() {
        let e = parse("yesterday-ish", &TimeZone::UTC).unwrap_err();
        assert!(
            e.to_string()
                .contains("\"yesterday-ish\" is not a timestamp")
        );
    }
}
