//! The node_exporter textfile (SPEC 12.4): each run's statuses, readings
//! and durations as Prometheus metrics, written to a temp file and renamed
//! so the collector never reads half a file.

use std::fmt::Write;
use std::path::Path;

use super::Report;
use crate::state::State;

/// The metrics text for a run (pure).
pub fn render(report: &Report, state: &State) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP healthcheck_check_status Check status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."
    );
    let _ = writeln!(out, "# TYPE healthcheck_check_status gauge");
    for c in &report.checks {
        let _ = writeln!(
            out,
            "healthcheck_check_status{{check=\"{}\",type=\"{}\"}} {}",
            label(&c.name),
            label(&c.kind),
            c.status.exit_code()
        );
    }
    let _ = writeln!(
        out,
        "# HELP healthcheck_check_reading The readings of each check, in their unit."
    );
    let _ = writeln!(out, "# TYPE healthcheck_check_reading gauge");
    for c in &report.checks {
        for r in &c.readings {
            let unit = serde_json::to_value(r.unit)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "healthcheck_check_reading{{check=\"{}\",reading=\"{}\",unit=\"{}\"}} {}",
                label(&c.name),
                label(&r.name),
                label(&unit),
                r.value
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP healthcheck_check_duration_seconds How long each check took."
    );
    let _ = writeln!(out, "# TYPE healthcheck_check_duration_seconds gauge");
    for c in &report.checks {
        let _ = writeln!(
            out,
            "healthcheck_check_duration_seconds{{check=\"{}\"}} {}",
            label(&c.name),
            c.duration_ms / 1000.0
        );
    }
    let _ = writeln!(
        out,
        "# HELP healthcheck_restarts_total Automatic restarts of each service."
    );
    let _ = writeln!(out, "# TYPE healthcheck_restarts_total counter");
    for (name, service) in &state.services {
        let _ = writeln!(
            out,
            "healthcheck_restarts_total{{service=\"{}\"}} {}",
            label(name),
            service.total
        );
    }
    let _ = writeln!(
        out,
        "# HELP healthcheck_run_timestamp_seconds When the run started."
    );
    let _ = writeln!(out, "# TYPE healthcheck_run_timestamp_seconds gauge");
    let _ = writeln!(
        out,
        "healthcheck_run_timestamp_seconds {}",
        report.started_at.as_millisecond() as f64 / 1000.0
    );
    let _ = writeln!(
        out,
        "# HELP healthcheck_run_duration_seconds How long the run took."
    );
    let _ = writeln!(out, "# TYPE healthcheck_run_duration_seconds gauge");
    let _ = writeln!(
        out,
        "healthcheck_run_duration_seconds {}",
        report.duration_ms as f64 / 1000.0
    );
    out
}

/// A label value with `\`, `"` and newlines escaped.
fn label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Write the textfile atomically next to where it goes.
pub fn write(path: &Path, report: &Report, state: &State) -> std::io::Result<()> {
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
        crate::config::secret::redact(&render(report, state)).as_bytes(),
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
