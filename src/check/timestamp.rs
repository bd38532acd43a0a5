//! Turning the timestamps that bots and databases write into instants:
//! epoch seconds or milliseconds, RFC 3339 text, and naive date-times (SQL
//! `datetime`, Python's `str(datetime.now())`) read in a given time zone.
//! Shared by the `sql` and `json` checks so that both read "when" alike,
//! and by `log`, which reads the timestamp a line starts with.

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

/// The instant a log line starts with, if it starts with one (after an
/// optional `[`): ISO 8601 / RFC 3339 (`2026-12-07T22:10:03.123Z`,
/// `+01:00`), `YYYY-MM-DD HH:MM:SS[,.]fff` as Python's logging writes it,
/// or syslog's `Dec  7 22:10:03` (the year is the one that puts it
/// closest before `now`). `format` (strftime, e.g. `"%d/%b/%Y:%H:%M:%S %z"`)
/// replaces the detection. Times without an offset are read in `tz`.
pub fn leading(
    line: &[u8],
    format: Option<&str>,
    tz: &TimeZone,
    now: Timestamp,
) -> Option<Timestamp> {
    let line = line.strip_prefix(b"[").unwrap_or(line);
    if let Some(format) = format {
        return formatted(line, format, tz, now);
    }
    iso(line, tz).or_else(|| syslog(line, tz, now))
}

fn formatted(line: &[u8], format: &str, tz: &TimeZone, now: Timestamp) -> Option<Timestamp> {
    let (mut tm, _) = jiff::fmt::strtime::BrokenDownTime::parse_prefix(format, line).ok()?;
    if let Ok(ts) = tm.to_timestamp() {
        return Some(ts);
    }
    if tm.year().is_none() {
        return closest_year(tz, now, |year| {
            tm.set_year(Some(year)).ok()?;
            tm.to_datetime().ok()
        });
    }
    from_civil(tm.to_datetime().ok()?, tz).ok()
}

/// `2026-12-07T22:10:03`, `2026-12-07 22:10:03,123`, with an optional
/// fraction and offset.
fn iso(line: &[u8], tz: &TimeZone) -> Option<Timestamp> {
    let digit = |i: usize| line.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| line.get(i) == Some(&c);
    let shape = (0..4).all(digit)
        && at(4, b'-')
        && (5..7).all(digit)
        && at(7, b'-')
        && (8..10).all(digit)
        && (at(10, b'T') || at(10, b' '))
        && (11..13).all(digit)
        && at(13, b':')
        && (14..16).all(digit)
        && at(16, b':')
        && (17..19).all(digit);
    if !shape {
        return None;
    }
    let mut text = format!("{}T{}", ascii(&line[..10]), ascii(&line[11..19]));
    let mut i = 19;
    if line.get(i).is_some_and(|c| *c == b'.' || *c == b',') && digit(i + 1) {
        text.push('.');
        i += 1;
        while digit(i) {
            text.push(line[i] as char);
            i += 1;
        }
    }
    match line.get(i) {
        Some(b'Z') => text.push('Z'),
        Some(sign @ (b'+' | b'-')) if (i + 1..i + 3).all(digit) => {
            let minutes = if at(i + 3, b':') { i + 4 } else { i + 3 };
            if !(minutes..minutes + 2).all(digit) {
                return from_civil(text.parse().ok()?, tz).ok();
            }
            text.push_str(&format!(
                "{}{}:{}",
                *sign as char,
                ascii(&line[i + 1..i + 3]),
                ascii(&line[minutes..minutes + 2])
            ));
        }
        _ => return from_civil(text.parse().ok()?, tz).ok(),
    }
    text.parse().ok()
}

/// `Dec  7 22:10:03` or `Dec 17 22:10:03`.
fn syslog(line: &[u8], tz: &TimeZone, now: Timestamp) -> Option<Timestamp> {
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let month = MONTHS.iter().position(|m| line.starts_with(m))? as i8 + 1;
    let rest = line.get(3..)?;
    let rest = rest.strip_prefix(b" ")?;
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=2).contains(&digits) {
        return None;
    }
    let day: i8 = ascii(&rest[..digits]).parse().ok()?;
    let time = rest.get(digits..)?.strip_prefix(b" ")?.get(..8)?;
    let time: jiff::civil::Time = ascii(time).parse().ok()?;
    closest_year(tz, now, |year| {
        jiff::civil::Date::new(year, month, day)
            .ok()
            .map(|d| d.to_datetime(time))
    })
}

/// A date-time without its year: this year's in `tz`, or last year's when
/// this year's would be more than a day ahead of `now` (a December line
/// read in January).
fn closest_year(
    tz: &TimeZone,
    now: Timestamp,
    mut with_year: impl FnMut(i16) -> Option<DateTime>,
) -> Option<Timestamp> {
    let year = now.to_zoned(tz.clone()).year();
    let this = from_civil(with_year(year)?, tz).ok()?;
    if this.duration_since(now) > SignedDuration::from_hours(24) {
        return from_civil(with_year(year - 1)?, tz).ok();
    }
    Some(this)
}

fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
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
    fn line(text: &str, format: Option<&str>, expected: Option<&str>) {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let now = utc("2027-01-02T12:00:00Z");
        let got = leading(text.as_bytes(), format, &tz, now);
        assert_eq!(got, expected.map(utc), "{text}");
    }

    #[test]
    fn a_log_line_is_placed_by_the_timestamp_it_starts_with() {
        // Python's logging (Freqtrade), local time.
        line(
            "2027-01-02 12:58:03,123 - freqtrade.worker - INFO - Bot heartbeat. PID=1",
            None,
            Some("2027-01-02T11:58:03.123Z"),
        );
        line(
            "[2027-01-02T11:58:03Z] ok",
            None,
            Some("2027-01-02T11:58:03Z"),
        );
        line(
            "2027-01-02T13:58:03.5+0200 ok",
            None,
            Some("2027-01-02T11:58:03.5Z"),
        );
        line(
            "2027-01-02 12:58:03.25 ok",
            None,
            Some("2027-01-02T11:58:03.25Z"),
        );
        // syslog: no year; a December line read in January is last year's.
        line(
            "Jan  2 12:58:03 host bot: ok",
            None,
            Some("2027-01-02T11:58:03Z"),
        );
        line(
            "Dec 31 23:00:00 host bot: ok",
            None,
            Some("2026-12-31T22:00:00Z"),
        );
        line(
            "02/Jan/2027:11:58:03 +0000 GET /",
            Some("%d/%b/%Y:%H:%M:%S %z"),
            Some("2027-01-02T11:58:03Z"),
        );
        line("Bot heartbeat.", None, None);
        line("2027-01-02 nothing", None, None);
        line("12:58:03 ok", Some("%Y-%m-%d"), None);
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
