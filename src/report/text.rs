//! The text people read: one line per check, then healthcheck's own notes,
//! then a summary line. Colour only on a terminal and never with NO_COLOR.

use std::fmt::Write;

use super::Report;
use crate::model::ActionOutcome;
use crate::model::Status;

pub struct Style {
    pub colour: bool,
    /// Only problems (and the summary).
    pub quiet: bool,
    /// Show readings with their limits and per-check durations.
    pub verbose: bool,
}

impl Style {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    pub fn detect(quiet: bool, verbose: bool) -> Style {
        use std::io::IsTerminal;
        let colour = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Style {
            colour,
            quiet,
            verbose,
        }
    }
}

fn tag(status: Status) -> &'static str {
    match status {
        Status::Ok => "[OK]",
        Status::Warning => "[WARN]",
        Status::Critical => "[CRIT]",
        Status::Unknown => "[UNKNOWN]",
    }
}

fn paint(style: &Style, status: Status, text: &str) -> String {
    if !style.colour {
        return text.to_string();
    }
    let code = match status {
        Status::Ok => "32",
        Status::Warning => "33",
        Status::Critical => "31",
        Status::Unknown => "35",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

pub fn render(report: &Report, style: &Style) -> String {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(11);
    let mut out = String::new();
    for c in &report.checks {
        if style.quiet && c.status.is_ok() {
            continue;
        }
        let tag = if c.silenced {
            "[SILENCED]"
        } else if c.is_skipped() {
            "[SKIP]"
        } else {
            tag(c.status)
        };
        let label = paint(style, c.status, &format!("{tag:<9}"));
        let _ = write!(out, "{label} {:<width$}  {}", c.name, c.message);
        if c.silenced {
            let _ = write!(
                out,
                " ({}, {})",
                c.status.name(),
                super::silenced_until(c.silenced_until)
            );
        }
        if !c.status.is_ok() && !c.confirmed {
            let _ = write!(out, " [unconfirmed, {} in a row]", c.consecutive);
        }
        if style.verbose {
            let readings: Vec<String> = c
                .readings
                .iter()
                .map(|r| format!("{}={}", r.name, r.unit.show(r.value)))
                .collect();
            let _ = write!(out, "  ({}; {} ms)", readings.join(", "), c.duration_ms);
        }
        out.push('\n');
        if let Some(hint) = c.hint.as_deref().filter(|_| !c.status.is_ok()) {
            let _ = writeln!(out, "{:<9} {:<width$}  hint: {hint}", "", "");
        }
        if let Some(step) = &c.next_step {
            let line = step.line(crate::schedule::hhmm, report.started_at);
            let _ = writeln!(out, "{:<9} {:<width$}  {line}", "", "");
        }
    }
    for a in &report.actions {
        let status = match a.outcome {
            ActionOutcome::Ok | ActionOutcome::DryRun => Status::Ok,
            ActionOutcome::Held => Status::Warning,
            ActionOutcome::Failed | ActionOutcome::Suspended => Status::Critical,
        };
        let label = paint(style, status, &format!("{:<9}", "[ACTION]"));
        let _ = writeln!(
            out,
            "{label} {:<width$}  {}: {}",
            a.subject(),
            a.outcome.word(),
            a.detail
        );
    }
    for a in &report.alerts {
        let status = match a.outcome {
            "sent" | "suppressed" => Status::Ok,
            "queued" => Status::Warning,
            _ => Status::Critical,
        };
        if style.quiet && status.is_ok() {
            continue;
        }
        let label = paint(style, status, &format!("{:<9}", "[ALERT]"));
        let mut line = format!(
            "{}: {}",
            a.outcome,
            crate::model::count(a.events, "event", "events")
        );
        if let Some(detail) = &a.detail {
            line.push_str(&format!("; {detail}"));
        }
        if a.waiting > 0 {
            line.push_str(&format!(
                "; {} waiting",
                crate::model::count(a.waiting, "digest", "digests")
            ));
        }
        let _ = writeln!(out, "{label} {:<width$}  {line}", a.channel);
    }
    for n in &report.notes {
        let label = paint(style, n.status, &format!("{:<9}", tag(n.status)));
        let _ = writeln!(out, "{label} {:<width$}  {}", "healthcheck", n.message);
    }
    let summary = format!(
        "{}: {} in {} ms",
        report.status.word(),
        report.counts(),
        report.duration_ms
    );
    let _ = writeln!(out, "{}", paint(style, report.status, &summary));
    out
}
