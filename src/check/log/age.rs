//! `log` with `expect = "age"`: how long ago the newest line matching
//! `pattern` was written ("the heartbeat was seen recently"). The newest
//! match is found by reading the file backwards from its end (at most
//! `MAX_TAIL_BYTES`). Its age comes from the timestamp the line starts
//! with (`check::timestamp::leading`: ISO 8601, Python's logging, syslog,
//! or `timestamp_format`; naive times in `naive_timezone`, by default the
//! machine's own zone, which is what a logger writes), so that a run after
//! a gap still tells when the line was written. A line without one is aged
//! from when a run first saw it (kept in the check's memory: the line's
//! offset and a hash of its bytes).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use jiff::tz::TimeZone;
use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

use super::{CHUNK, MAX_TAIL_BYTES, without_cr};
use crate::check::Record;
use crate::check::timestamp::leading;
use crate::model::{Outcome, Unit};
use crate::schedule::hhmm;
use crate::spec::probe::ProbeContext;
use crate::vocab::Builder;

/// How to read the timestamps of the lines.
pub struct Age {
    format: Option<String>,
    tz: TimeZone,
}

/// `expect = "age"`, `timestamp_format` and `naive_timezone`, or `None`
/// (errors reported) when they are wrong or do not fit together.
pub fn build(raw: &super::LogKeys, b: &mut Builder) -> Option<Age> {
    let is_age = match raw.expect.as_deref() {
        None => false,
        Some("age") => true,
        Some(other) => {
            b.error(
                "expect",
                format!("a log check's `expect` can only be \"age\", not \"{other}\""),
            );
            return None;
        }
    };
    if !is_age {
        for (key, given) in [
            ("timestamp_format", raw.timestamp_format.is_some()),
            ("naive_timezone", raw.naive_timezone.is_some()),
        ] {
            if given {
                b.error(key, format!("`{key}` goes with `expect = \"age\"`"));
            }
        }
        return None;
    }
    for (key, given) in [
        ("lines", raw.lines.is_some()),
        ("per", raw.per.is_some()),
        ("journal", raw.journal.is_some()),
        ("max_read", raw.max_read.is_some()),
        ("total", raw.total.is_some()),
        ("min_lines", raw.min_lines.is_some()),
    ] {
        if given {
            b.error(key, format!("`{key}` does not go with `expect = \"age\"`"));
        }
    }
    let tz = match raw.naive_timezone.as_deref() {
        None => TimeZone::system(),
        Some(name) => match TimeZone::get(name) {
            Ok(tz) => tz,
            Err(_) => {
                b.error(
                    "naive_timezone",
                    format!("unknown time zone \"{name}\" (write an IANA name such as \"Europe/Berlin\" or \"UTC\")"),
                );
                return None;
            }
        },
    };
    Some(Age {
        format: raw.timestamp_format.clone(),
        tz,
    })
}

/// The newest matching line without a timestamp, as a run first saw it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Memory {
    offset: u64,
    hash: u64,
    first_seen: jiff::Timestamp,
}

pub fn probe(
    path: &Path,
    file: &mut File,
    pattern: &Regex,
    age: &Age,
    ctx: &ProbeContext,
) -> anyhow::Result<Outcome> {
    let Some((offset, line)) = newest_match(file, pattern)? else {
        return Ok(Outcome::critical(format!(
            "no line matches /{}/ in {}",
            pattern.as_str(),
            path.display()
        )));
    };
    let now = ctx.now;
    let stamped = leading(&line, age.format.as_deref(), &age.tz, now);
    if stamped.is_none()
        && let Some(format) = &age.format
    {
        anyhow::bail!(
            "the newest line matching /{}/ does not start with a time in timestamp_format \"{format}\"",
            pattern.as_str()
        );
    }
    let (written, memory, how) = match stamped {
        Some(t) => (t, None, ""),
        None => {
            let hash = fnv(&line);
            let prev = ctx
                .memory
                .clone()
                .and_then(|m| serde_json::from_value::<Memory>(m).ok())
                .filter(|m| m.offset == offset && m.hash == hash);
            let first_seen = prev.map_or(now, |m| m.first_seen.min(now));
            let memory = Memory {
                offset,
                hash,
                first_seen,
            };
            (
                first_seen,
                Some(memory),
                ", first seen then: it has no timestamp",
            )
        }
    };
    let seconds = now.duration_since(written).as_secs_f64();
    let message = if seconds < 0.0 {
        format!(
            "the last line matching /{}/ is dated {} in the future ({}; is naive_timezone right?)",
            pattern.as_str(),
            Unit::Seconds.show(-seconds),
            hhmm(written)
        )
    } else {
        format!(
            "last line matching /{}/ {} ago ({}{how})",
            pattern.as_str(),
            Unit::Seconds.show(seconds),
            hhmm(written)
        )
    };
    let outcome = Outcome::ok(message).record(&super::AGE, seconds.max(0.0));
    Ok(match memory {
        Some(m) => outcome.remember(serde_json::to_value(m)?),
        None => outcome,
    })
}

/// FNV-1a of a line, to tell a new line at the same offset from the old.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The newest line matching `pattern` and the offset it starts at,
/// reading backwards from the end, at most `MAX_TAIL_BYTES`. Only
/// newline-terminated lines count: the last one may still be written.
fn newest_match(file: &mut File, pattern: &Regex) -> std::io::Result<Option<(u64, Vec<u8>)>> {
    let len = file.seek(SeekFrom::End(0))?;
    let mut end = len;
    // The bytes after the last newline: a line still being written.
    let mut pending: Vec<u8> = Vec::new();
    let mut complete = false;
    while end > 0 && len - end < MAX_TAIL_BYTES {
        let size = CHUNK.min(end as usize);
        let start = end - size as u64;
        let mut chunk = vec![0u8; size];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&pending);
        // Lines of this chunk, newest first; the first piece may be the
        // end of a line that starts in an earlier chunk.
        let mut lines = chunk.split(|b| *b == b'\n').collect::<Vec<_>>();
        let head = lines.remove(0).to_vec();
        let mut line_end = start + chunk.len() as u64;
        for (i, line) in lines.iter().enumerate().rev() {
            let at = line_end - line.len() as u64;
            line_end = at.saturating_sub(1);
            if i + 1 == lines.len() && !complete {
                continue;
            }
            if pattern.is_match(without_cr(line)) {
                return Ok(Some((at, line.to_vec())));
            }
        }
        complete |= !lines.is_empty();
        pending = head;
        end = start;
    }
    if end == 0 && complete && pattern.is_match(without_cr(&pending)) {
        return Ok(Some((0, pending)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn newest(content: &[u8], pattern: &str) -> Option<(u64, String)> {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(content).unwrap();
        newest_match(&mut f, &Regex::new(pattern).unwrap())
            .unwrap()
            .map(|(at, l)| (at, String::from_utf8(l).unwrap()))
    }

    #[test]
    fn a_line_without_a_timestamp_is_aged_from_when_a_run_first_saw_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.log");
        std::fs::write(&path, "Bot heartbeat.\n").unwrap();
        let toml = format!(
            "[[check]]\nname = \"beat\"\ntype = \"log\"\npath = '{}'\npattern = 'heartbeat'\nexpect = \"age\"\n",
            path.display()
        );
        let config = crate::config::load_str("t.toml", &toml).unwrap();
        let start: jiff::Timestamp = "2026-12-07T22:00:00Z".parse().unwrap();
        let probe = |now: jiff::Timestamp, memory| {
            let ctx = ProbeContext {
                now,
                deadline: std::time::Instant::now() + std::time::Duration::from_secs(10),
                memory,
                processes: Default::default(),
            };
            config.checks[0].probe.probe(&ctx).unwrap()
        };
        let first = probe(start, None);
        assert_eq!(first.readings[0].value, 0.0);
        let later = probe(
            start + jiff::SignedDuration::from_secs(190),
            first.memory.clone(),
        );
        assert_eq!(later.readings[0].value, 190.0);
        assert_eq!(
            later.message,
            "last line matching /heartbeat/ 3m 10s ago (22:00 UTC, first seen then: it has no timestamp)"
        );
        std::fs::write(&path, "Bot heartbeat.\nBot heartbeat.\n").unwrap();
        let new_line = probe(start + jiff::SignedDuration::from_secs(250), later.memory);
        assert_eq!(new_line.readings[0].value, 0.0, "a new line is new");
    }

    #[test]
    fn the_newest_complete_matching_line_and_where_it_starts() {
        assert_eq!(
            newest(b"beat 1\nother\nbeat 2\nother\n", "beat"),
            Some((13, "beat 2".into()))
        );
        assert_eq!(
            newest(b"beat 1\nbeat 2 still being writ", "beat"),
            Some((0, "beat 1".into()))
        );
        assert_eq!(newest(b"other\n", "beat"), None);
        assert_eq!(newest(b"", "beat"), None);
        let mut big = Vec::new();
        big.extend_from_slice(b"beat first\n");
        for i in 0..200_000 {
            writeln!(big, "filler {i}").unwrap();
        }
        assert_eq!(newest(&big, "beat").map(|(at, _)| at), Some(0));
    }
}
