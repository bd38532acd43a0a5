//! `healthcheck status`: what Monit users type first (`monit summary`).
//! From the state alone, no check run: each check's last status, since
//! when and its last message; each service's restarts in its window and
//! any suspension; the silences; the last run and whether runs are being
//! missed. Its exit code is the worst last status, so it doubles as a
//! cheap plugin. It takes no lock and needs no secrets.

use serde::Serialize;

use crate::cli::Format;
use crate::manage::{self, HeldBack, ServiceHistory};
use crate::model::{Exit, Status, Unit};
use crate::options::Options;
use crate::out;
use crate::schedule::hhmm;
use crate::state::Store;

#[derive(Serialize)]
struct Summary {
    status: Status,
    exit_code: u8,
    last_run: Option<jiff::Timestamp>,
    /// No run for three expected intervals (`settings.expected_interval`).
    runs_missed: bool,
    checks: Vec<CheckSummary>,
    services: Vec<ServiceHistory>,
    held_back: Vec<HeldBack>,
}

#[derive(Serialize)]
struct CheckSummary {
    name: String,
    status: Status,
    since: jiff::Timestamp,
    consecutive: u32,
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    silenced_until: Option<jiff::Timestamp>,
    /// The check is OK, and its last incident ended within the last day.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_incident: Option<crate::state::Incident>,
}

pub fn status(opts: &Options) -> Exit {
    let config = match manage::config_to_show(opts) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let loaded = Store::read_only(&config.settings.state_dir).load(jiff::Timestamp::now());
    if let Some(v) = loaded.newer_version {
        eprintln!(
            "healthcheck: the state file has version {v}, newer than this healthcheck understands"
        );
        return Exit::UNKNOWN;
    }
    let state = loaded.state;
    let now = jiff::Timestamp::now();
    // In config order; checks no longer configured are left out.
    let checks: Vec<CheckSummary> = config
        .checks
        .iter()
        .filter_map(|spec| {
            let c = state.checks.get(&spec.name)?;
            Some(CheckSummary {
                name: spec.name.clone(),
                status: c.status,
                since: c.since,
                consecutive: c.consecutive,
                message: c.message.clone(),
                silenced_until: state.silenced(&spec.name, now).map(|s| s.until),
                last_incident: recent_incident(&state, &spec.name, now)
                    .filter(|_| c.status.is_ok()),
            })
        })
        .collect();
    let runs_missed = match (state.last_run, config.settings.expected_interval) {
        (Some(last), Some(every)) => now.duration_since(last.min(now)).unsigned_abs() > every * 3,
        _ => false,
    };
    let worst = Status::worst(
        checks
            .iter()
            .filter(|c| c.silenced_until.is_none())
            .map(|c| c.status)
            .chain(runs_missed.then_some(Status::Warning)),
    );
    // Never run: nothing is known.
    let status = if state.last_run.is_none() {
        Status::Unknown
    } else {
        worst
    };
    let summary = Summary {
        status,
        exit_code: status.exit_code(),
        last_run: state.last_run,
        runs_missed,
        checks,
        services: manage::services(&config, &state, now),
        held_back: manage::held_back(&state),
    };
    if opts.format == Format::Json {
        out::line(&serde_json::to_string_pretty(&summary).expect("a summary serializes"));
    } else {
        out::print(&render(&summary, config.settings.expected_interval, now));
    }
    Exit::of(summary.status)
}

/// How far back an OK check's last incident is shown beside it.
const RECENT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// `check`'s last incident, if it ended within `RECENT`: an outage that a
/// restart fixed between two runs is not hidden by "OK since".
fn recent_incident(
    state: &crate::state::State,
    check: &str,
    now: jiff::Timestamp,
) -> Option<crate::state::Incident> {
    let last = state
        .daily
        .incidents
        .iter()
        .rev()
        .find(|i| i.check == check)?;
    let end = last.end?;
    (now.duration_since(end.min(now)).unsigned_abs() < RECENT).then(|| last.clone())
}

/// "recovered at 20:05 UTC after a restart; CRITICAL from 20:01 UTC".
fn recovered(i: &crate::state::Incident) -> String {
    let after = if i.actions.iter().any(|a| a.what.starts_with("restart")) {
        " after a restart"
    } else if i.actions.is_empty() {
        ""
    } else {
        " after a recovery command"
    };
    format!(
        "recovered at {}{after}; {} from {}",
        i.end.map_or_else(String::new, hhmm),
        i.worst.word(),
        hhmm(i.start)
    )
}

fn render(s: &Summary, every: Option<std::time::Duration>, now: jiff::Timestamp) -> String {
    let ago = |t: jiff::Timestamp| Unit::Seconds.show(now.duration_since(t.min(now)).as_secs_f64());
    let mut out = match s.last_run {
        None => "last run: never (no state yet)\n".to_string(),
        Some(t) => {
            let expected = every.map_or(String::new(), |e| {
                format!("; expected every {}", Unit::Seconds.show(e.as_secs_f64()))
            });
            let missed = if s.runs_missed {
                "; RUNS ARE BEING MISSED"
            } else {
                ""
            };
            format!("last run: {} ({} ago{expected}){missed}\n", hhmm(t), ago(t))
        }
    };
    let width = s
        .checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for c in &s.checks {
        let tag = format!("[{}]", c.status.word());
        out.push_str(&format!(
            "{tag:<10} {:<width$}  since {} ({}): {}",
            c.name,
            hhmm(c.since),
            ago(c.since),
            c.message.as_deref().unwrap_or("")
        ));
        if let Some(until) = c.silenced_until {
            out.push_str(&format!(" (silenced until {})", hhmm(until)));
        }
        if let Some(i) = &c.last_incident {
            out.push_str(&format!(" ({})", recovered(i)));
        }
        out.push('\n');
    }
    for svc in &s.services {
        out.push_str(&format!("service {}\n", svc.line()));
    }
    for held in &s.held_back {
        out.push_str(&format!("alerts {}\n", held.line()));
    }
    out.push_str(&format!("status: {}\n", s.status.word()));
    out
}
