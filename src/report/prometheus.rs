//! The node_exporter textfile: each run's statuses, readings
//! and durations as Prometheus metrics, written to a temp file and renamed
//! so the collector never reads half a file. Only full runs write it (an
//! `--only` run would drop the other checks' series), and every series is
//! unique (the report makes reading names unique within a check).

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use super::Report;
use crate::state::{ServiceState, State};

/// The metrics text for a run (pure).
pub fn render(report: &Report, state: &State, expected_interval: Option<Duration>) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "healthcheck_check_status",
        "gauge",
        "Check status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    );
    for c in &report.checks {
        let labels = format!("check=\"{}\",type=\"{}\"", label(&c.name), label(&c.kind));
        sample(
            &mut out,
            "healthcheck_check_status",
            &labels,
            f64::from(c.status.exit_code()),
        );
    }
    family(
        &mut out,
        "healthcheck_check_reading",
        "gauge",
        "The readings of each check, in their unit.",
    );
    for c in &report.checks {
        for r in &c.readings {
            let unit = serde_json::to_value(r.unit)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let labels = format!(
                "check=\"{}\",reading=\"{}\",unit=\"{}\"",
                label(&c.name),
                label(&r.name),
                label(&unit)
            );
            sample(&mut out, "healthcheck_check_reading", &labels, r.value);
        }
    }
    family(
        &mut out,
        "healthcheck_check_duration_seconds",
        "gauge",
        "How long each check took.",
    );
    for c in &report.checks {
        sample(
            &mut out,
            "healthcheck_check_duration_seconds",
            &format!("check=\"{}\"", label(&c.name)),
            c.duration_ms / 1000.0,
        );
    }
    let per_service =
        |out: &mut String, metric: (&str, &str, &str), value: fn(&ServiceState) -> f64| {
            let (name, kind, help) = metric;
            family(out, name, kind, help);
            for (service, s) in &state.services {
                sample(
                    out,
                    name,
                    &format!("service=\"{}\"", label(service)),
                    value(s),
                );
            }
        };
    per_service(
        &mut out,
        (
            "healthcheck_restarts_total",
            "counter",
            "Automatic restarts of each service.",
        ),
        |s| s.total as f64,
    );
    per_service(
        &mut out,
        (
            "healthcheck_restart_suspended",
            "gauge",
            "1 while a service's restart budget is used up and its restarts are suspended.",
        ),
        |s| f64::from(u8::from(s.suspended)),
    );
    if let Some(interval) = expected_interval {
        gauge(
            &mut out,
            "healthcheck_expected_interval_seconds",
            "How often the scheduler runs healthcheck (settings.expected_interval).",
            interval.as_secs_f64(),
        );
    }
    gauge(
        &mut out,
        "healthcheck_run_timestamp_seconds",
        "When the run started.",
        report.started_at.as_millisecond() as f64 / 1000.0,
    );
    gauge(
        &mut out,
        "healthcheck_last_run_timestamp_seconds",
        "When the last full run started: a host whose value stops moving stopped checking.",
        report.started_at.as_millisecond() as f64 / 1000.0,
    );
    gauge(
        &mut out,
        "healthcheck_run_duration_seconds",
        "How long the run took.",
        report.duration_ms as f64 / 1000.0,
    );
    out
}

/// A gauge without labels, with its `# HELP` and `# TYPE` lines.
fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

/// The `# HELP` and `# TYPE` lines of a metric.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One sample: `name{labels} value`.
fn sample(out: &mut String, name: &str, labels: &str, value: f64) {
    let _ = writeln!(out, "{name}{{{labels}}} {value}");
}

/// A label value with `\`, `"` and newlines escaped.
fn label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Write the textfile atomically next to where it goes.
pub fn write(
    path: &Path,
    report: &Report,
    state: &State,
    expected_interval: Option<Duration>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path names no file"))?;
    crate::state::write_atomically(
        dir,
        &name.to_string_lossy(),
        crate::secret::redact(&render(report, state, expected_interval)).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
