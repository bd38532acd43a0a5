//! What a run found, in one structure, rendered three ways: text for
//! people, JSON (schema 1) for programs and the `reports/`
//! folder, and the Nagios plugin line. Everything rendered passes through
//! secret redaction on its way out.

pub mod nagios;
pub mod prometheus;
pub mod text;

use std::path::Path;

use serde::Serialize;

use crate::decide::{Judged, Verdict};
use crate::model::Status;
use crate::model::{ActionReport, Note};
use crate::model::{Reading, Thresholds, Unit};
use crate::secret::redact;

#[derive(Serialize, Debug, Clone)]
pub struct Report {
    pub schema: u32,
    pub host: String,
    pub started_at: jiff::Timestamp,
    pub duration_ms: u64,
    pub status: Status,
    pub exit_code: u8,
    pub checks: Vec<CheckReport>,
    /// Restarts and recovery commands, done or decided against.
    pub actions: Vec<ActionReport>,
    /// What each alert channel was told and whether it took it.
    pub alerts: Vec<crate::notify::plan::AlertReport>,
    /// What this run had to tell: problems, reminders, recoveries, actions.
    pub events: Vec<crate::model::Event>,
    /// healthcheck's own trouble: state file, missed runs.
    pub notes: Vec<Note>,
}

#[derive(Serialize, Debug, Clone)]
pub struct CheckReport {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// OK for a skipped check; `shown` says "skipped" in the JSON.
    #[serde(skip)]
    pub status: Status,
    /// The JSON `status`: ok, warning, critical, unknown or skipped.
    #[serde(rename = "status")]
    pub shown: &'static str,
    pub message: String,
    pub hint: Option<String>,
    pub duration_ms: f64,
    pub confirmed: bool,
    pub consecutive: u32,
    pub readings: Vec<ReadingReport>,
    /// Muted by `healthcheck silence`: reported, but counts as OK.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub silenced: bool,
    /// Until when (for the text and Nagios outputs; `history` has it too).
    #[serde(skip)]
    pub silenced_until: Option<jiff::Timestamp>,
    /// `--dry-run`: which step of its `escalate` ladder comes next, and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_step: Option<crate::model::NextStep>,
}

#[derive(Serialize, Debug, Clone)]
pub struct ReadingReport {
    pub name: String,
    pub value: f64,
    pub unit: Unit,
    #[serde(flatten)]
    pub thresholds: Thresholds,
    /// A plugin's own perfdata: `warn`/`crit` ranges, `min`/`max`.
    #[serde(flatten)]
    pub limits: PluginLimits,
}

/// The plugin's perfdata fields of a `command` reading, in base units.
#[derive(Serialize, Debug, Clone, Default)]
pub struct PluginLimits {
    /// The UOM the Nagios output prints (`c` for a plugin's counter).
    #[serde(skip)]
    pub uom: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl ReadingReport {
    pub fn new(reading: &Reading, thresholds: Option<Thresholds>) -> ReadingReport {
        let limits = reading
            .limits
            .as_deref()
            .map_or_else(PluginLimits::default, |l| PluginLimits {
                uom: Some(l.uom),
                warn: l.warn.clone(),
                crit: l.crit.clone(),
                min: l.min,
                max: l.max,
            });
        ReadingReport {
            name: reading.name.clone(),
            value: reading.value,
            unit: reading.unit,
            thresholds: thresholds.unwrap_or_default(),
            limits,
        }
    }
}

/// Each name once: a repeated one becomes `name#2`, `name#3`, ... (the
/// first free one), so that Nagios labels and Prometheus series of one
/// check never repeat (node_exporter drops repeated series silently).
pub fn unique(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let names: Vec<String> = names.into_iter().collect();
    let mut taken: std::collections::HashSet<String> = names.iter().cloned().collect();
    let mut seen = std::collections::HashSet::new();
    names
        .into_iter()
        .map(|name| {
            if seen.insert(name.clone()) {
                return name;
            }
            let free = (2u64..)
                .map(|n| format!("{name}#{n}"))
                .find(|c| !taken.contains(c))
                .expect("some suffix is free");
            taken.insert(free.clone());
            seen.insert(free.clone());
            free
        })
        .collect()
}

impl CheckReport {
    pub fn new(
        name: &str,
        kind: &str,
        hint: Option<&str>,
        judged: &Judged,
        verdict: Verdict,
        duration_ms: f64,
    ) -> CheckReport {
        CheckReport {
            name: name.to_string(),
            kind: kind.to_string(),
            status: judged.status,
            shown: judged.status.name(),
            message: redact(&one_line(&judged.message)),
            hint: hint.map(str::to_string),
            duration_ms: (duration_ms * 1000.0).round() / 1000.0,
            confirmed: verdict.confirmed,
            consecutive: verdict.consecutive,
            silenced: false,
            silenced_until: None,
            next_step: None,
            readings: unique_readings(
                judged
                    .readings
                    .iter()
                    .map(|(r, t)| ReadingReport::new(r, *t))
                    .collect(),
            ),
        }
    }

    /// A check outside its `when` schedule: not run, counts as OK.
    pub fn skipped(name: &str, kind: &str, schedule: &str) -> CheckReport {
        CheckReport {
            name: name.to_string(),
            kind: kind.to_string(),
            status: Status::Ok,
            shown: "skipped",
            message: format!("outside its schedule {schedule}"),
            hint: None,
            duration_ms: 0.0,
            confirmed: true,
            consecutive: 0,
            silenced: false,
            silenced_until: None,
            next_step: None,
            readings: Vec::new(),
        }
    }

    pub fn is_skipped(&self) -> bool {
        self.shown == "skipped"
    }
}

impl Report {
    /// Counts per status, worst first, for summaries: "1 critical, 1
    /// warning, 8 ok"; a silenced problem says so: "1 critical (silenced
    /// until 14:00 UTC)".
    pub fn counts(&self) -> String {
        let order = [
            Status::Critical,
            Status::Warning,
            Status::Unknown,
            Status::Ok,
        ];
        let mut parts: Vec<String> = Vec::new();
        for s in order {
            let matching = |c: &&CheckReport| c.status == s && !c.is_skipped();
            let total = self.checks.iter().filter(matching).count();
            let muted: Vec<&CheckReport> = self
                .checks
                .iter()
                .filter(matching)
                .filter(|c| c.silenced)
                .collect();
            if s.is_ok() || muted.is_empty() {
                if total > 0 {
                    parts.push(format!("{total} {}", s.name()));
                }
                continue;
            }
            let loud = total - muted.len();
            if loud > 0 {
                parts.push(format!("{loud} {}", s.name()));
            }
            let until = muted.iter().filter_map(|c| c.silenced_until).max();
            parts.push(format!(
                "{} {} ({})",
                muted.len(),
                s.name(),
                silenced_until(until)
            ));
        }
        let skipped = self.checks.iter().filter(|c| c.is_skipped()).count();
        let parts: Vec<String> = parts
            .into_iter()
            .chain((skipped > 0).then(|| format!("{skipped} skipped")))
            .collect();
        if parts.is_empty() {
            "no checks".to_string()
        } else {
            parts.join(", ")
        }
    }

    pub fn to_json(&self) -> String {
        redact(&serde_json::to_string_pretty(self).expect("a report always serializes"))
    }
}

/// The readings of one check, each name once (see `unique`).
fn unique_readings(mut readings: Vec<ReadingReport>) -> Vec<ReadingReport> {
    let names = unique(readings.iter().map(|r| r.name.clone()));
    for (r, name) in readings.iter_mut().zip(names) {
        r.name = name;
    }
    readings
}

/// "silenced until 14:00 UTC".
pub fn silenced_until(until: Option<jiff::Timestamp>) -> String {
    match until {
        Some(t) => format!("silenced until {}", crate::schedule::hhmm(t)),
        None => "silenced".to_string(),
    }
}

/// A message on one line: a command's multi-line stderr joined with "; ".
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Keep the report as `reports/<time>.json`, and only the newest `keep`.
pub fn save(state_dir: &Path, report: &Report, keep: usize) -> std::io::Result<()> {
    if keep == 0 {
        return Ok(());
    }
    let dir = state_dir.join("reports");
    crate::state::create_private_dir(&dir)?;
    let name = format!("{}.json", report.started_at.strftime("%Y%m%dT%H%M%S%.6fZ"));
    // A report is rewritten by every run and guards nothing: no fsync.
    crate::state::write_unsynced(&dir, &name, report.to_json().as_bytes())?;
    // Names are UTC times of one width, so their byte order is their age.
    let mut all: Vec<std::ffi::OsString> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| n.as_encoded_bytes().ends_with(b".json"))
        .collect();
    let excess = all.len().saturating_sub(keep);
    if excess > 0 {
        all.sort_unstable();
        for old in &all[..excess] {
            std::fs::remove_file(dir.join(old))?;
        }
    }
    Ok(())
}
