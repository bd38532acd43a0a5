//! Uptime from the hourly rollups, pure: a check's share of runs that
//! found its target working (OK or WARNING) among the runs it had and the
//! runs that were missed, over any span and per day (UTC). A missed run is
//! never counted as up; a day without runs has no uptime at all.

use std::collections::BTreeMap;

use serde::Serialize;

use super::store::{Rollup, hour_of};
use crate::model::Status;
use crate::state::incidents::Tally;

const DAY: i64 = 24 * 3600;

/// Runs over a span: how many, how many were up, how many were missed.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Span {
    pub runs: u32,
    pub up: u32,
    pub missed: u32,
}

impl Span {
    /// The uptime in percent; `None` when there was nothing to count.
    pub fn percent(&self) -> Option<f64> {
        let total = self.runs + self.missed;
        (total > 0).then(|| f64::from(self.up) * 100.0 / f64::from(total))
    }

    /// The uptime with one decimal ("91.7"), never "100.0" unless every
    /// run was up; "-" without runs.
    pub fn shown(&self) -> String {
        match self.percent() {
            None => "-".to_string(),
            Some(p) => {
                let text = format!("{p:.1}");
                if text == "100.0" && self.up < self.runs + self.missed {
                    "99.9".to_string()
                } else {
                    text
                }
            }
        }
    }

    fn add(&mut self, other: Span) {
        self.runs += other.runs;
        self.up += other.up;
        self.missed += other.missed;
    }
}

/// One day (UTC) of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    pub date: jiff::civil::Date,
    #[serde(flatten)]
    pub span: Span,
    /// The worst status a run found that day; `None` without runs.
    pub worst: Option<Status>,
}

impl Day {
    /// How its cell is coloured: the worst status, or `missed` for a day
    /// whose runs were all fine but some were missed, or `none`.
    pub fn cell(&self) -> &'static str {
        match self.worst {
            None => "none",
            Some(Status::Ok) if self.span.missed > 0 => "missed",
            Some(Status::Ok) => "ok",
            Some(Status::Warning) => "warning",
            Some(Status::Critical) => "critical",
            Some(Status::Unknown) => "unknown",
        }
    }
}

/// What the history holds over a period, ready to count: each check's
/// hours and the tallies, each sorted by hour, so that a span is found by
/// binary search (a page of 20 checks x 90 days counts 1,800 day cells).
pub struct Book {
    by_check: BTreeMap<String, Vec<Rollup>>,
    tallies: Vec<Tally>,
}

/// The start (seconds) of the UTC day `date`.
fn day_start(date: jiff::civil::Date) -> i64 {
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map_or(0, |z| z.timestamp().as_second())
}

/// The UTC date `at` falls on.
pub fn date_of(at: jiff::Timestamp) -> jiff::civil::Date {
    at.to_zoned(jiff::tz::TimeZone::UTC).date()
}

impl Book {
    pub fn new(rollups: Vec<Rollup>, mut tallies: Vec<Tally>) -> Book {
        let mut by_check: BTreeMap<String, Vec<Rollup>> = BTreeMap::new();
        for r in rollups {
            by_check.entry(r.check.clone()).or_default().push(r);
        }
        for hours in by_check.values_mut() {
            hours.sort_by_key(|r| r.hour);
        }
        tallies.sort_by_key(|t| t.hour);
        Book { by_check, tallies }
    }

    /// `check`'s hours, oldest first.
    pub fn hours(&self, check: &str) -> &[Rollup] {
        self.by_check.get(check).map_or(&[], Vec::as_slice)
    }

    /// `check`'s runs in the hours [from, to) (seconds).
    fn span_secs(&self, check: &str, from: i64, to: i64) -> (Span, Option<Status>) {
        let hours = self.hours(check);
        let mut span = Span::default();
        let mut worst: Option<Status> = None;
        let start = hours.partition_point(|r| r.hour < from);
        for r in hours[start..].iter().take_while(|r| r.hour < to) {
            span.add(Span {
                runs: r.runs,
                up: r.up(),
                missed: 0,
            });
            if let Some(w) = r.worst() {
                worst = Some(worst.map_or(w, |s| s.max(w)));
            }
        }
        // Missed runs count from the first hour the check was recorded.
        if let Some(first) = hours.first().map(|r| r.hour) {
            let from = first.max(from);
            let start = self.tallies.partition_point(|t| t.hour.as_second() < from);
            span.missed = self.tallies[start..]
                .iter()
                .take_while(|t| t.hour.as_second() < to)
                .map(|t| t.missed)
                .sum();
        }
        (span, worst)
    }

    /// `check`'s runs from `since` until `until`, by whole hours.
    pub fn span(&self, check: &str, since: jiff::Timestamp, until: jiff::Timestamp) -> Span {
        self.span_secs(check, hour_of(since), until.as_second() + 1)
            .0
    }

    /// `check`'s last `n` days up to and including `last`, oldest first.
    pub fn days(&self, check: &str, last: jiff::civil::Date, n: usize) -> Vec<Day> {
        (0..n)
            .rev()
            .map(|back| {
                let date = last
                    .checked_sub(jiff::Span::new().days(back as i64))
                    .unwrap_or(last);
                let from = day_start(date);
                let (span, worst) = self.span_secs(check, from, from + DAY);
                Day { date, span, worst }
            })
            .collect()
    }

    /// The restarts per service and the alerts (sent, queued, dropped) of
    /// the tallies from `since` on.
    pub fn totals(&self, since: jiff::Timestamp) -> Tally {
        let mut sum = Tally::default();
        for t in self.tallies.iter().filter(|t| t.hour >= since_hour(since)) {
            sum.missed += t.missed;
            sum.sent += t.sent;
            sum.queued += t.queued;
            sum.dropped += t.dropped;
            for (service, n) in &t.restarts {
                *sum.restarts.entry(service.clone()).or_default() += n;
            }
        }
        sum
    }
}

fn since_hour(since: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_second(hour_of(since)).unwrap_or(since)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn hour(check: &str, when: &str, ok: u32, critical: u32) -> Rollup {
        Rollup {
            hour: at(when).as_second(),
            check: check.into(),
            runs: ok + critical,
            ok,
            critical,
            ..Rollup::default()
        }
    }

    #[test]
    fn a_check_down_two_hours_of_twenty_four_is_91_7_percent_that_day() {
        let rollups = (0..24)
            .map(|h| {
                let when = format!("2026-03-01T{h:02}:00:00Z");
                if (10..12).contains(&h) {
                    hour("bot", &when, 0, 4)
                } else {
                    hour("bot", &when, 4, 0)
                }
            })
            .collect();
        let book = Book::new(rollups, Vec::new());
        let days = book.days("bot", jiff::civil::date(2026, 3, 1), 2);
        assert_eq!(days[0].cell(), "none");
        assert_eq!(days[0].span.shown(), "-");
        assert_eq!(days[1].span.shown(), "91.7");
        assert_eq!(days[1].cell(), "critical");
        let all = book.span(
            "bot",
            at("2026-03-01T00:00:00Z"),
            at("2026-03-01T23:59:59Z"),
        );
        assert_eq!(all.shown(), "91.7");
    }

    #[test]
    fn missed_runs_are_never_up_and_grey_a_good_day() {
        let book = Book::new(
            vec![
                hour("bot", "2026-03-01T00:00:00Z", 3, 0),
                hour("bot", "2026-03-01T01:00:00Z", 4, 0),
            ],
            vec![
                Tally {
                    hour: at("2026-03-01T01:00:00Z"),
                    missed: 1,
                    ..Tally::default()
                },
                // Before the check existed: not its missed run.
                Tally {
                    hour: at("2026-02-28T20:00:00Z"),
                    missed: 5,
                    ..Tally::default()
                },
            ],
        );
        let day = &book.days("bot", jiff::civil::date(2026, 3, 1), 1)[0];
        assert_eq!(
            day.span,
            Span {
                runs: 7,
                up: 7,
                missed: 1
            }
        );
        assert_eq!(day.cell(), "missed");
        assert_eq!(day.span.shown(), "87.5");
    }

    #[test]
    fn almost_always_up_never_shows_100() {
        let s = Span {
            runs: 10_000,
            up: 9_999,
            missed: 0,
        };
        assert_eq!(s.shown(), "99.9");
        let all = Span {
            runs: 5,
            up: 5,
            missed: 0,
        };
        assert_eq!(all.shown(), "100.0");
    }
}
