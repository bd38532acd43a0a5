//! The status page: each run with `[page] dir` rewrites, from the history
//! and the state, `index.html` (one self-contained file), `status.json`
//! (the same data, for scripts), `badges/<check>.svg` and `feed.xml` (an
//! Atom feed of status changes). No server, no daemon: any static web
//! server can serve the folder, or a browser can open the file. Each file
//! is replaced atomically (readers see the old page or the new) and never
//! fsynced (the next run writes it again). Building the page is pure
//! (`Page::build`); only `write` touches the disk.

mod badge;
mod feed;
mod html;
mod link;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use serde::Serialize;

use crate::history::report::{Alerts, DayView, IncidentView};
use crate::history::uptime::{Book, date_of};
use crate::history::{Change, History, Rollup};
use crate::model::{Status, Unit};
use crate::report::Report;
use crate::secret::redact;
use crate::spec::Config;
use crate::spec::page::PageSpec;
use crate::state::{Incident, State, write_unsynced};

/// status.json's schema version.
pub const SCHEMA: u32 = 1;
/// Daily cells on the page.
pub const DAYS: usize = 90;
/// Status changes in the feed.
const FEED_ENTRIES: usize = 50;
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

#[derive(Serialize, Debug)]
pub struct Page {
    pub schema: u32,
    pub title: String,
    pub host: String,
    pub written_at: jiff::Timestamp,
    /// The page is stale (its banner says STALE) when it is older than
    /// this many seconds: 3 x `expected_interval`; `null` without one.
    pub stale_after_s: Option<u64>,
    pub url: Option<String>,
    /// The worst status of the checks that are not silenced.
    pub status: Status,
    /// "All OK", "2 problems", "Maintenance".
    pub banner: String,
    pub checks: Vec<CheckView>,
    /// The last 30 days, newest first.
    pub incidents: Vec<IncidentView>,
    /// Restarts per service over the last 30 days.
    pub restarts: BTreeMap<String, u32>,
    /// Alert digests over the last 30 days.
    pub alerts: Alerts,
}

#[derive(Serialize, Debug)]
pub struct CheckView {
    pub name: String,
    /// Its badge is `badges/<file>.svg`.
    pub file: String,
    pub status: Status,
    /// OK, WARNING, CRITICAL, UNKNOWN, SKIPPED.
    pub word: String,
    pub since: Option<jiff::Timestamp>,
    pub message: String,
    pub silenced: bool,
    /// Percent with one decimal over the last 24 h, 7, 30 and 90 days.
    pub uptime: Uptime,
    /// The last 90 days (UTC), oldest first.
    pub days: Vec<DayView>,
    /// The primary reading's name and unit, if it has one.
    pub reading: Option<ReadingView>,
    /// The last 24 hours, oldest first: the reading's min, max and last.
    pub chart: Vec<Point>,
}

#[derive(Serialize, Debug, Default)]
pub struct Uptime {
    #[serde(rename = "24h")]
    pub h24: Option<f64>,
    #[serde(rename = "7d")]
    pub d7: Option<f64>,
    #[serde(rename = "30d")]
    pub d30: Option<f64>,
    #[serde(rename = "90d")]
    pub d90: Option<f64>,
}

#[derive(Serialize, Debug)]
pub struct ReadingView {
    pub name: String,
    pub unit: &'static str,
    #[serde(skip)]
    pub kind: Unit,
}

#[derive(Serialize, Debug, Clone)]
pub struct Point {
    pub hour: jiff::Timestamp,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub last: Option<f64>,
}

/// What the page is made of, as read from the history.
pub struct Inputs<'a> {
    pub book: Book,
    pub incidents: Vec<Incident>,
    pub changes: Vec<Change>,
    pub units: BTreeMap<String, (String, Unit)>,
    pub next: &'a State,
    pub report: &'a Report,
}

/// A file name made from a check's name: only letters, digits, `.`, `-`
/// and `_`, not starting with a dot, at most 64 bytes, and not one of
/// `taken` (a number is added).
pub fn file_name(check: &str, taken: &BTreeSet<String>) -> String {
    let mut base: String = check
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    base = base.trim_start_matches('.').to_string();
    if base.is_empty() {
        base = "check".to_string();
    }
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name.to_ascii_lowercase()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

fn unit_text(unit: Unit) -> &'static str {
    match unit {
        Unit::Seconds => "s",
        Unit::Percent => "%",
        Unit::Bytes => "B",
        Unit::PerHour => "/h",
        Unit::Count | Unit::Number => "",
    }
}

fn ago(now: jiff::Timestamp, secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(now.as_second() - secs).unwrap_or(now)
}

impl Page {
    /// The page of a run, pure.
    pub fn build(config: &Config, spec: &PageSpec, inputs: &Inputs) -> Page {
        let (report, now) = (inputs.report, inputs.report.started_at);
        let today = date_of(now);
        let mut taken = BTreeSet::new();
        let checks: Vec<CheckView> = config
            .checks
            .iter()
            .filter(|c| c.on_page)
            .map(|spec| {
                let name = &spec.name;
                let file = file_name(name, &taken);
                taken.insert(file.to_ascii_lowercase());
                let shown = report.checks.iter().find(|c| &c.name == name);
                let state = inputs.next.checks.get(name);
                let status = shown
                    .filter(|c| !c.is_skipped())
                    .map(|c| c.status)
                    .or(state.map(|s| s.status))
                    .unwrap_or(Status::Unknown);
                let word = match shown {
                    Some(c) if c.is_skipped() => "SKIPPED".to_string(),
                    _ => status.word().to_string(),
                };
                let message = shown
                    .map(|c| c.message.clone())
                    .or(state.and_then(|s| s.message.clone()))
                    .unwrap_or_default();
                let span = |secs: i64| {
                    inputs
                        .book
                        .span(name, ago(now, secs - HOUR), now)
                        .shown()
                        .parse()
                        .ok()
                };
                CheckView {
                    name: name.clone(),
                    file,
                    status,
                    word,
                    since: state.map(|s| s.since),
                    message: redact(&message),
                    silenced: shown.is_some_and(|c| c.silenced),
                    uptime: Uptime {
                        h24: span(DAY),
                        d7: span(7 * DAY),
                        d30: span(30 * DAY),
                        d90: span(90 * DAY),
                    },
                    days: inputs
                        .book
                        .days(name, today, DAYS)
                        .iter()
                        .map(DayView::of)
                        .collect(),
                    reading: inputs.units.get(name).map(|(n, u)| ReadingView {
                        name: n.clone(),
                        unit: unit_text(*u),
                        kind: *u,
                    }),
                    chart: chart(inputs.book.hours(name), now),
                }
            })
            .collect();
        let live: Vec<&CheckView> = checks.iter().filter(|c| c.word != "SKIPPED").collect();
        let problems = live
            .iter()
            .filter(|c| !c.status.is_ok() && !c.silenced)
            .count();
        let status = Status::worst(live.iter().filter(|c| !c.silenced).map(|c| c.status));
        let banner = if problems > 0 {
            crate::model::count(problems, "problem", "problems")
        } else if live.iter().any(|c| c.silenced) {
            "Maintenance".to_string()
        } else {
            "All OK".to_string()
        };
        let month = ago(now, 30 * DAY);
        let totals = inputs.book.totals(month);
        let mut incidents: Vec<IncidentView> = inputs
            .incidents
            .iter()
            .filter(|i| i.end.is_none_or(|e| e >= month))
            .map(|i| IncidentView::of(i, now))
            .collect();
        incidents.reverse();
        Page {
            schema: SCHEMA,
            title: spec.title.clone(),
            host: config.settings.hostname.clone(),
            written_at: now,
            stale_after_s: config.settings.expected_interval.map(|i| 3 * i.as_secs()),
            url: spec.url.clone(),
            status,
            banner,
            checks,
            incidents,
            restarts: totals.restarts,
            alerts: Alerts {
                sent: totals.sent,
                queued: totals.queued,
                dropped: totals.dropped,
            },
        }
    }

    /// status.json: compact, as it is rewritten by every run.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a page always serializes") + "\n"
    }
}

/// The last 24 hours of a check's primary reading, hour by hour, from its
/// hours (oldest first).
fn chart(hours: &[Rollup], now: jiff::Timestamp) -> Vec<Point> {
    let this_hour = crate::history::hour_of(now);
    (0..24)
        .rev()
        .map(|back| {
            let hour = this_hour - back * HOUR;
            let r = hours
                .binary_search_by_key(&hour, |r| r.hour)
                .ok()
                .map(|i| &hours[i]);
            Point {
                hour: jiff::Timestamp::from_second(hour).unwrap_or(now),
                min: r.and_then(|r| r.lo),
                max: r.and_then(|r| r.hi),
                last: r.and_then(|r| r.last),
            }
        })
        .collect()
}

/// Read what the page needs from the history, build it and write its files.
pub fn write(
    config: &Config,
    spec: &PageSpec,
    history: &History,
    next: &State,
    report: &Report,
) -> io::Result<()> {
    let since = ago(report.started_at, DAYS as i64 * DAY);
    let read = || -> rusqlite::Result<Inputs> {
        Ok(Inputs {
            book: Book::new(history.rollups(since)?, history.tallies(since)?),
            incidents: history.incidents(ago(report.started_at, 30 * DAY))?,
            changes: history.changes(FEED_ENTRIES)?,
            units: history
                .readings()?
                .into_iter()
                .map(|r| (r.check, (r.name, r.unit)))
                .collect(),
            next,
            report,
        })
    };
    let inputs = read().map_err(io::Error::other)?;
    let page = Page::build(config, spec, &inputs);
    let dir = &spec.dir;
    std::fs::create_dir_all(dir.join("badges"))?;
    write_badges(&dir.join("badges"), &page)?;
    write_unsynced(dir, "status.json", page.to_json().as_bytes())?;
    write_unsynced(
        dir,
        "feed.xml",
        feed::atom(&page, &inputs.changes).as_bytes(),
    )?;
    write_unsynced(dir, "index.html", html::render(&page).as_bytes())
}

/// One badge per check on the page; badges of checks no longer on it go.
fn write_badges(dir: &Path, page: &Page) -> io::Result<()> {
    let mut written = BTreeSet::new();
    for c in &page.checks {
        let name = format!("{}.svg", c.file);
        write_unsynced(dir, &name, badge::svg(c).as_bytes())?;
        written.insert(name);
    }
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".svg") && !written.contains(&name) {
            let _ = std::fs::remove_file(dir.join(&name));
        }
    }
    Ok(())
}

/// `text` safe inside XML and HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The colour of a status, the same in every file.
pub fn colour(cell: &str) -> &'static str {
    match cell {
        "ok" => "#2e7d32",
        "warning" => "#b26a00",
        "critical" => "#c62828",
        "unknown" => "#6a1b9a",
        _ => "#8a8a8a",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_from_check_names_are_safe_and_unique() {
        let mut taken = BTreeSet::new();
        let mut names = Vec::new();
        for check in [
            "../etc/passwd",
            "a/b",
            "a b",
            "A-B",
            "..",
            "\u{7}bell",
            "ok",
        ] {
            let n = file_name(check, &taken);
            taken.insert(n.to_ascii_lowercase());
            names.push(n);
        }
        assert_eq!(
            names,
            [
                "-etc-passwd",
                "a-b",
                "a-b-2",
                "A-B-3",
                "check",
                "-bell",
                "ok"
            ]
        );
        for n in &names {
            assert!(
                !n.contains('/') && !n.starts_with('.') && !n.contains(".."),
                "{n}"
            );
        }
    }

    #[test]
    fn escape_makes_markup_and_control_characters_inert() {
        assert_eq!(
            escape("<b a=\"x\">&'\u{1b}"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;\u{fffd}"
        );
    }
}
