//! `log` with `journal = ...`: the same two modes as for a file, on the
//! MESSAGE of journal entries (what `journalctl -u etl-* | grep 429`
//! would count). `lines = N` looks at the last N entries; `per = "1h"` counts the
//! entries written since the previous run, which left the journal cursor of
//! its last entry in the check's memory. The first run starts now; a cursor
//! the journal no longer has (vacuumed, or a new machine-id) restarts from
//! the window's start, and says so. Counts are kept in buckets of a
//! sixtieth of the window by each entry's own time, so a restart from the
//! window's start places old entries where they belong.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

use super::{Rate, RateCount, rate_outcome};
use crate::check::Record;
use crate::check::journal::{Entry, From, Journal, Read};
use crate::model::{Outcome, Status, count};
use crate::spec::probe::ProbeContext;

/// The most entries read in one run, in either mode.
pub const MAX_ENTRIES: usize = 100_000;

/// The position after the previous run, and the counts of the window.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Memory {
    /// The units and priority the cursor belongs to.
    journal: String,
    /// The last entry read; none while the units have written nothing.
    cursor: Option<String>,
    /// When the previous run read.
    at: Timestamp,
    /// When counting started.
    since: Timestamp,
    /// (end of bucket, matches, entries), oldest first.
    window: Vec<(Timestamp, u64, u64)>,
}

/// `lines = N`: matches among the last N entries.
pub fn tail(
    journal: &Journal,
    pattern: &Regex,
    n: usize,
    ctx: &ProbeContext,
) -> anyhow::Result<Outcome> {
    let mut matches = 0;
    let read = journal.read(From::Tail(n), n, ctx.deadline, |e| {
        if e.matches(pattern) {
            matches += 1;
        }
    })?;
    let mut message = format!(
        "{matches} of the last {} /{}/ (journal of {})",
        count(read.entries, "entry matches", "entries match"),
        pattern.as_str(),
        journal.describe()
    );
    let mut outcome = Outcome::ok("").record(&super::MATCHES, matches as f64);
    if read.timed_out {
        outcome.status = Status::Warning;
        message.push_str("; stopped at the timeout before the last entries");
    }
    outcome.message = message;
    Ok(outcome)
}

/// Matches and entries by bucket.
struct Tally<'a> {
    pattern: &'a Regex,
    bucket: SignedDuration,
    now: Timestamp,
    counts: BTreeMap<Timestamp, (u64, u64)>,
}

impl Tally<'_> {
    fn add(&mut self, entry: &Entry) {
        let end = bucket_end(entry.at, self.bucket).min(self.now);
        let slot = self.counts.entry(end).or_default();
        slot.0 += u64::from(entry.matches(self.pattern));
        slot.1 += 1;
    }
}

/// The end of the bucket `at` falls in (buckets of `size` from the epoch).
fn bucket_end(at: Timestamp, size: SignedDuration) -> Timestamp {
    let size = size.as_micros().max(1) as i64;
    let micros = at.as_microsecond();
    let end = micros
        .div_euclid(size)
        .saturating_add(1)
        .saturating_mul(size);
    Timestamp::from_microsecond(end).unwrap_or(at)
}

/// `per = "1h"`: matching entries written within the trailing window.
pub fn rate(
    journal: &Journal,
    pattern: &Regex,
    mode: &Rate,
    ctx: &ProbeContext,
) -> anyhow::Result<Outcome> {
    let now = ctx.now;
    let per = SignedDuration::try_from(mode.per).unwrap_or(SignedDuration::MAX);
    let window_start = now.checked_sub(per).unwrap_or(Timestamp::MIN);
    let bucket = SignedDuration::try_from(mode.per / 60)
        .unwrap_or(SignedDuration::MAX)
        .max(SignedDuration::from_secs(1));
    let identity = journal.identity();
    let prev = ctx
        .memory
        .clone()
        .and_then(|m| serde_json::from_value::<Memory>(m).ok())
        .filter(|m| m.journal == identity);
    let mut tally = Tally {
        pattern,
        bucket,
        now,
        counts: BTreeMap::new(),
    };
    let (read, restart, since, window, cursor) = match prev {
        None => {
            // Only the position of the newest entry: nothing is counted.
            let cursor = journal.read(From::Tail(1), 1, ctx.deadline, |_| {})?.last;
            let read = Read::default();
            (
                read,
                Some("first run: counting from now"),
                now,
                Vec::new(),
                cursor,
            )
        }
        Some(m) => {
            let from = match &m.cursor {
                Some(c) => From::Cursor(c.clone()),
                None => From::Since(m.at),
            };
            let read = journal.read(from, MAX_ENTRIES, ctx.deadline, |e| tally.add(e))?;
            if read.gone {
                tally.counts.clear();
                let from = From::Since(window_start);
                let read = journal.read(from, MAX_ENTRIES, ctx.deadline, |e| tally.add(e))?;
                let cursor = read.last.clone();
                let why = "the journal no longer has the previous run's position: counted from the window's start";
                (
                    read,
                    Some(why),
                    m.since.min(window_start),
                    Vec::new(),
                    cursor,
                )
            } else {
                let cursor = read.last.clone().or(m.cursor);
                (read, None, m.since, m.window, cursor)
            }
        }
    };
    let mut counts: BTreeMap<Timestamp, (u64, u64)> = BTreeMap::new();
    for (t, m, n) in window.into_iter().map(|(t, m, n)| (t.min(now), m, n)) {
        let slot = counts.entry(t).or_default();
        slot.0 += m;
        slot.1 += n;
    }
    for (t, (m, n)) in tally.counts {
        let slot = counts.entry(t).or_default();
        slot.0 += m;
        slot.1 += n;
    }
    let window: Vec<(Timestamp, u64, u64)> = counts
        .into_iter()
        .filter(|(t, _)| *t > window_start)
        .map(|(t, (m, n))| (t, m, n))
        .collect();
    let seen = now.duration_since(since).unsigned_abs();
    let counted = RateCount {
        matches: window.iter().map(|(_, m, _)| m).sum(),
        lines: window.iter().map(|(_, _, n)| n).sum(),
        restart: restart.map(String::from),
        warming_up: (seen < mode.per).then_some(seen),
        noun: ("entry", "entries"),
    };
    let mut outcome = rate_outcome(pattern, mode, counted);
    outcome.message = format!("{} (journal of {})", outcome.message, journal.describe());
    if read.full {
        outcome.status = Status::Warning;
        outcome.message.push_str(&format!(
            "; read the cap of {MAX_ENTRIES} entries this run, the rest is for the next"
        ));
    } else if read.timed_out {
        outcome.status = Status::Warning;
        outcome.message.push_str(&format!(
            "; stopped at the timeout after {}, the rest is for the next run",
            count(read.entries, "entry", "entries")
        ));
    }
    let memory = Memory {
        journal: identity,
        cursor,
        at: now,
        since,
        window,
    };
    Ok(outcome.remember(serde_json::to_value(&memory)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn entries_fall_in_buckets_that_end_after_them() {
        let minute = SignedDuration::from_secs(60);
        assert_eq!(
            bucket_end(t("2026-12-02T03:04:05Z"), minute),
            t("2026-12-02T03:05:00Z")
        );
        assert_eq!(
            bucket_end(t("2026-12-02T03:04:00Z"), minute),
            t("2026-12-02T03:05:00Z")
        );
        assert_eq!(
            bucket_end(t("1969-12-31T23:59:30Z"), minute),
            t("1970-01-01T00:00:00Z")
        );
    }
}
