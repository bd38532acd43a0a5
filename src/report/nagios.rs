//! The Nagios plugin output, so Nagios, Icinga, NRPE or Sensu
//! can run healthcheck as a plugin: a status line with perfdata, then one
//! line per non-OK check. Perfdata follows the Monitoring Plugins syntax:
//! `'label'=value[UOM];[warn];[crit];[min];[max]`, limits as Nagios ranges.
//! Nagios cuts the output at the first `|` of a line and reads lines, so no
//! text and no label may hold `|` or a line break: `|` is shown as `¦`
//! (U+00A6), a line break as a space; the JSON output keeps the exact text.

use super::{ReadingReport, Report, unique};

pub fn render(report: &Report) -> String {
    let problems: Vec<_> = report.checks.iter().filter(|c| !c.status.is_ok()).collect();
    let worst = problems.iter().find(|c| c.status == report.status);
    let mut first = format!("HEALTHCHECK {} - {}", report.status.word(), report.counts());
    if let Some(c) = worst {
        first.push_str(&format!(
            ": {}: {}",
            one_line(&c.name),
            one_line(&c.message)
        ));
    } else if let Some(n) = report
        .notes
        .iter()
        .find(|n| n.status == report.status && !n.status.is_ok())
    {
        first.push_str(&format!(": healthcheck: {}", one_line(&n.message)));
    }
    let readings: Vec<(String, &ReadingReport)> = report
        .checks
        .iter()
        .flat_map(|c| {
            c.readings
                .iter()
                // A value that is not a number has no perfdata form (its
                // check says "not a number").
                .filter(|r| r.value.is_finite())
                .map(move |r| (label(&format!("{}_{}", c.name, r.name)), r))
        })
        .collect();
    let labels = unique(readings.iter().map(|(l, _)| l.clone()));
    let perf: Vec<String> = labels
        .iter()
        .zip(&readings)
        .map(|(l, (_, r))| perfdata(l, r))
        .collect();
    if !perf.is_empty() {
        first.push_str(" | ");
        first.push_str(&perf.join(" "));
    }
    let mut out = first;
    out.push('\n');
    for c in problems {
        let muted = if c.silenced {
            format!(" ({})", super::silenced_until(c.silenced_until))
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{}: {}: {}{muted}\n",
            c.status.word(),
            one_line(&c.name),
            one_line(&c.message)
        ));
    }
    for a in &report.actions {
        out.push_str(&format!(
            "ACTION: {}: {}: {}\n",
            one_line(&a.subject()),
            a.outcome.word(),
            one_line(&a.detail)
        ));
    }
    for n in report.notes.iter().filter(|n| !n.status.is_ok()) {
        out.push_str(&format!(
            "{}: healthcheck: {}\n",
            n.status.word(),
            one_line(&n.message)
        ));
    }
    out
}

/// No line breaks and no `|` inside a message: both would break the format.
pub fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ").replace('|', "\u{a6}")
}

/// A perfdata label: no `=` (the guidelines forbid it), no `|`, no control
/// characters; a quote is escaped when the label is quoted.
fn label(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '=' => '_',
            '|' => '\u{a6}',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// `'label'=value[UOM];warn;crit[;min;max]`: the config's thresholds when
/// it sets any for this reading, else the plugin's own; a plugin's min and max.
fn perfdata(label: &str, r: &ReadingReport) -> String {
    let t = &r.thresholds;
    let l = &r.limits;
    let configured = [t.warn_below, t.warn_above, t.crit_below, t.crit_above]
        .iter()
        .any(Option::is_some);
    let (warn, crit) = if configured || l.uom.is_none() {
        (
            range(t.warn_below, t.warn_above),
            range(t.crit_below, t.crit_above),
        )
    } else {
        (
            l.warn.clone().unwrap_or_default(),
            l.crit.clone().unwrap_or_default(),
        )
    };
    let mut out = format!(
        "'{}'={}{};{warn};{crit}",
        label.replace('\'', "''"),
        number(r.value),
        l.uom.unwrap_or(r.unit.uom()),
    );
    if l.min.is_some() || l.max.is_some() {
        let bound = |b: Option<f64>| b.map(number).unwrap_or_default();
        out.push_str(&format!(";{};{}", bound(l.min), bound(l.max)));
    }
    out
}

/// A Nagios range: alert outside `low:high`; `high` alone means `0:high`,
/// so a lower bound of 0 is written out only when there is no upper one.
fn range(below: Option<f64>, above: Option<f64>) -> String {
    match (below, above) {
        (None, None) => String::new(),
        (None, Some(h)) => number(h),
        (Some(l), None) => format!("{}:", number(l)),
        (Some(l), Some(h)) => format!("{}:{}", number(l), number(h)),
    }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::model::{Thresholds, Unit};
    use crate::report::CheckReport;

    fn reading(name: &str, value: f64, unit: Unit, t: Thresholds) -> ReadingReport {
        ReadingReport {
            name: name.into(),
            value,
            unit,
            thresholds: t,
            limits: Default::default(),
        }
    }

    fn check(
        name: &str,
        status: Status,
        message: &str,
        readings: Vec<ReadingReport>,
    ) -> CheckReport {
        CheckReport {
            name: name.into(),
            kind: "file".into(),
            status,
            shown: status.name(),
            message: message.into(),
            hint: None,
            duration_ms: 0.1,
            confirmed: true,
            consecutive: 0,
            readings,
            silenced: false,
            silenced_until: None,
            next_step: None,
        }
    }

    #[test]
    fn status_line_perfdata_and_problem_lines() {
        let age = Thresholds {
            warn_above: Some(600.0),
            crit_above: Some(900.0),
            ..Default::default()
        };
        let rows = Thresholds {
            crit_below: Some(1.0),
            ..Default::default()
        };
        let report = Report {
            schema: 1,
            host: "vps-1".into(),
            started_at: "2026-11-22T05:00:00Z".parse().unwrap(),
            duration_ms: 4,
            status: Status::Critical,
            exit_code: 2,
            checks: vec![
                check(
                    "watchlist",
                    Status::Critical,
                    "last update 18m ago",
                    vec![reading("age", 1080.0, Unit::Seconds, age)],
                ),
                check(
                    "rows",
                    Status::Ok,
                    "3 rows | fine",
                    vec![reading("rows", 3.0, Unit::Count, rows)],
                ),
                check(
                    "disk",
                    Status::Ok,
                    "ok",
                    vec![reading(
                        "used_percent",
                        42.5,
                        Unit::Percent,
                        Thresholds::default(),
                    )],
                ),
            ],
            actions: vec![],
            alerts: vec![],
            events: vec![],
            notes: vec![],
        };
        assert_eq!(
            render(&report),
            "HEALTHCHECK CRITICAL - 1 critical, 2 ok: watchlist: last update 18m ago | \
             'watchlist_age'=1080s;600;900 'rows_rows'=3;;1: 'disk_used_percent'=42.5%;;\n\
             CRITICAL: watchlist: last update 18m ago\n"
        );
    }

    #[test]
    fn config_thresholds_replace_a_plugins_but_its_min_and_max_stay() {
        let mut r = reading("lag", 42.0, Unit::Count, Thresholds::default());
        r.limits = crate::report::PluginLimits {
            uom: Some("c"),
            warn: Some("30".into()),
            crit: Some("60".into()),
            min: Some(0.0),
            max: None,
        };
        assert_eq!(perfdata("p_lag", &r), "'p_lag'=42c;30;60;0;");
        r.thresholds.crit_above = Some(50.0);
        assert_eq!(perfdata("p_lag", &r), "'p_lag'=42c;;50;0;");
        assert_eq!(label("a=b|c\nd"), "a_b\u{a6}c d");
        assert_eq!(
            crate::report::unique(["x", "x", "x#2", "y"].map(String::from)),
            ["x", "x#3", "x#2", "y"]
        );
    }

    #[test]
    fn ranges_follow_the_plugin_syntax() {
        assert_eq!(range(None, None), "");
        assert_eq!(range(None, Some(90.0)), "90");
        assert_eq!(range(Some(50.0), None), "50:");
        assert_eq!(range(Some(50.0), Some(250.0)), "50:250");
        assert_eq!(number(0.125), "0.125");
        assert_eq!(
            perfdata(
                "it's",
                &reading("x", 1.0, Unit::Count, Thresholds::default())
            ),
            "'it''s'=1;;"
        );
    }
}
