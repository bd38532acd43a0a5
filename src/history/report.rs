//! `healthcheck report`: uptime per check and per day, incidents, restarts
//! and alerts over a period, from the history alone (no check run, no
//! secrets, no lock), as text, JSON for scripts or CSV for a spreadsheet.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::History;
use super::uptime::{Book, Day, date_of};
use crate::cli::ReportFormat;
use crate::config::Needs;
use crate::model::{Exit, Status};
use crate::options::Options;
use crate::state::{Incident, Taken};

/// The report's JSON schema version.
pub const SCHEMA: u32 = 1;

#[derive(Serialize, Debug)]
pub struct Period {
    pub schema: u32,
    pub host: String,
    pub since: jiff::Timestamp,
    pub until: jiff::Timestamp,
    pub checks: Vec<CheckPeriod>,
    pub incidents: Vec<IncidentView>,
    /// Restarts started per service.
    pub restarts: BTreeMap<String, u32>,
    pub alerts: Alerts,
    /// Runs that should have happened and did not.
    pub missed: u32,
}

#[derive(Serialize, Debug)]
pub struct CheckPeriod {
    pub name: String,
    /// Percent with one decimal; `null` without runs.
    pub uptime: Option<f64>,
    pub runs: u32,
    pub up: u32,
    pub missed: u32,
    pub days: Vec<DayView>,
}

#[derive(Serialize, Debug, Clone)]
pub struct DayView {
    pub date: jiff::civil::Date,
    pub runs: u32,
    pub up: u32,
    pub missed: u32,
    pub uptime: Option<f64>,
    /// ok, warning, critical, unknown; `missed` (fine but runs missed);
    /// `none` (no runs).
    pub cell: &'static str,
}

impl DayView {
    pub fn of(day: &Day) -> DayView {
        DayView {
            date: day.date,
            runs: day.span.runs,
            up: day.span.up,
            missed: day.span.missed,
            uptime: day.span.shown().parse().ok(),
            cell: day.cell(),
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct IncidentView {
    pub check: String,
    pub start: jiff::Timestamp,
    /// `null` while it lasts.
    pub end: Option<jiff::Timestamp>,
    /// Whole minutes, up to `end` (or until now while it lasts).
    pub minutes: i64,
    pub worst: Status,
    pub message: String,
    pub actions: Vec<Taken>,
}

impl IncidentView {
    pub fn of(i: &Incident, now: jiff::Timestamp) -> IncidentView {
        let end = i.end.unwrap_or(now).max(i.start);
        IncidentView {
            check: i.check.clone(),
            start: i.start,
            end: i.end,
            minutes: end.duration_since(i.start).as_secs() / 60,
            worst: i.worst,
            message: crate::secret::redact(&i.message),
            actions: i.actions.clone(),
        }
    }

    /// "restart bot: ok, helped; run refresh: failed".
    pub fn actions_text(&self) -> String {
        self.actions
            .iter()
            .map(|a| {
                let helped = match a.helped {
                    Some(true) => ", helped",
                    Some(false) => ", did not help",
                    None => "",
                };
                format!("{}: {}{helped}", a.what, a.outcome)
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[derive(Serialize, Debug, Default, Clone, Copy)]
pub struct Alerts {
    pub sent: u32,
    /// Digests that could not go out at once (they waited in the outbox).
    pub queued: u32,
    /// Digests given up on.
    pub dropped: u32,
}

/// "2h 5m", "45m", "3d 2h".
pub fn show_minutes(minutes: i64) -> String {
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// The period from `since` to `until` of `checks`, from what the history holds.
pub fn period(
    book: &Book,
    incidents: &[Incident],
    checks: &[String],
    host: &str,
    since: jiff::Timestamp,
    until: jiff::Timestamp,
) -> Period {
    let (first, last) = (date_of(since), date_of(until));
    let n = usize::try_from(first.until(last).map_or(0, |s| s.get_days()))
        .unwrap_or(0)
        .saturating_add(1);
    let checks = checks
        .iter()
        .map(|name| {
            let span = book.span(name, since, until);
            CheckPeriod {
                name: name.clone(),
                uptime: span.shown().parse().ok(),
                runs: span.runs,
                up: span.up,
                missed: span.missed,
                days: book.days(name, last, n).iter().map(DayView::of).collect(),
            }
        })
        .collect();
    let totals = book.totals(since);
    Period {
        schema: SCHEMA,
        host: host.to_string(),
        since,
        until,
        checks,
        incidents: incidents
            .iter()
            .filter(|i| i.end.is_none_or(|e| e >= since) && i.start <= until)
            .map(|i| IncidentView::of(i, until))
            .collect(),
        restarts: totals.restarts,
        alerts: Alerts {
            sent: totals.sent,
            queued: totals.queued,
            dropped: totals.dropped,
        },
        missed: totals.missed,
    }
}

fn minute(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M").to_string()
}

fn show(uptime: Option<f64>) -> String {
    uptime.map_or("-".to_string(), |u| format!("{u:.1}"))
}

/// The period for a person.
pub fn text(p: &Period) -> String {
    let mut out = format!(
        "healthcheck report for {}: {} to {} UTC\n\nUptime\n",
        p.host,
        minute(p.since),
        minute(p.until)
    );
    let width = p.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in &p.checks {
        let _ = writeln!(
            out,
            "  {:width$}  {:>5}%  ({} runs, {} down, {} missed)",
            c.name,
            show(c.uptime),
            c.runs,
            c.runs - c.up,
            c.missed
        );
    }
    out.push_str("\nPer day (uptime %, UTC)\n  date      ");
    for c in &p.checks {
        let _ = write!(out, "  {:>w$}", c.name, w = c.name.len().max(5));
    }
    out.push('\n');
    let days = p.checks.first().map_or(0, |c| c.days.len());
    for d in 0..days {
        let _ = write!(out, "  {}", p.checks[0].days[d].date);
        for c in &p.checks {
            let _ = write!(
                out,
                "  {:>w$}",
                show(c.days[d].uptime),
                w = c.name.len().max(5)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "\nIncidents ({})", p.incidents.len());
    for i in &p.incidents {
        let end = i.end.map_or("ongoing".to_string(), minute);
        let _ = write!(
            out,
            "  {} -> {} ({})  {}  {}  {}",
            minute(i.start),
            end,
            show_minutes(i.minutes),
            i.check,
            i.worst.word(),
            i.message
        );
        if !i.actions.is_empty() {
            let _ = write!(out, "  [{}]", i.actions_text());
        }
        out.push('\n');
    }
    let restarts: Vec<String> = p.restarts.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let _ = writeln!(
        out,
        "\nRestarts: {}\nAlerts: {} sent, {} waited in the outbox, {} dropped\nRuns missed: {}",
        if restarts.is_empty() {
            "none".to_string()
        } else {
            restarts.join(", ")
        },
        p.alerts.sent,
        p.alerts.queued,
        p.alerts.dropped,
        p.missed
    );
    crate::secret::redact(&out)
}

/// One row per check and day, then one per check for the whole period
/// (`date` = `total`).
pub fn csv(p: &Period) -> String {
    let mut out = String::from("date,check,runs,up,missed,uptime,worst\n");
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    for c in &p.checks {
        for d in &c.days {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{}",
                d.date,
                quote(&c.name),
                d.runs,
                d.up,
                d.missed,
                d.uptime.map_or(String::new(), |u| format!("{u:.1}")),
                d.cell
            );
        }
    }
    for c in &p.checks {
        let _ = writeln!(
            out,
            "total,{},{},{},{},{},",
            quote(&c.name),
            c.runs,
            c.up,
            c.missed,
            c.uptime.map_or(String::new(), |u| format!("{u:.1}"))
        );
    }
    out
}

/// `healthcheck report`.
pub fn command(opts: &Options, since: &str, format: ReportFormat) -> Exit {
    let config = match opts.load_config(Needs::Names) {
        Ok(loaded) => loaded.config,
        Err(invalid) => return invalid.print(None),
    };
    let span: Duration = match crate::vocab::parse_duration(since) {
        Ok(d) if !d.is_zero() => d,
        Ok(_) => {
            eprintln!("healthcheck: --since must be longer than 0s");
            return Exit::UNKNOWN;
        }
        Err(e) => {
            eprintln!("healthcheck: --since: {e}");
            return Exit::UNKNOWN;
        }
    };
    let now = jiff::Timestamp::now();
    let start = jiff::SignedDuration::try_from(span)
        .ok()
        .and_then(|d| now.checked_sub(d).ok())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let dir = &config.settings.state_dir;
    let read = History::read(dir).and_then(|h| {
        let Some(h) = h else { return Ok(None) };
        Ok(Some((
            Book::new(h.rollups(start)?, h.tallies(start)?),
            h.incidents(start)?,
        )))
    });
    let (book, incidents) = match read {
        Ok(Some(found)) => found,
        Ok(None) => (Book::new(Vec::new(), Vec::new()), Vec::new()),
        Err(e) => {
            eprintln!(
                "healthcheck: cannot read the history {}: {e}",
                dir.join(super::FILE).display()
            );
            return Exit::UNKNOWN;
        }
    };
    let names: Vec<String> = config.checks.iter().map(|c| c.name.clone()).collect();
    let p = period(
        &book,
        &incidents,
        &names,
        &config.settings.hostname,
        start,
        now,
    );
    let out = match format {
        ReportFormat::Text => text(&p),
        ReportFormat::Csv => csv(&p),
        ReportFormat::Json => {
            serde_json::to_string_pretty(&p).expect("a period always serializes") + "\n"
        }
    };
    crate::out::print(&crate::secret::redact(&out));
    Exit::OK
}
