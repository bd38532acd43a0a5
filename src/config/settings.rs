//! The `[settings]`, `[ping]`, `[schedule.*]` and `[alerting]` tables.

use super::alert;
use super::discovery::{default_state_dir, system_hostname};
use super::raw::{self, RawSettings};
use crate::schedule::{RawSchedule, Schedule};
use crate::secret::Secret;
use crate::spec::Settings;
use crate::spec::alert::{Alerting, DEFAULT_CHANNEL_TIMEOUT};
use crate::spec::ping::{DEFAULT_BODY_LIMIT, PingSpec};
use crate::vocab::{
    Builder, Errors, MAX_DEADLINE, Spans, deserialize_table, expand_tilde, parse_duration,
    show_duration,
};
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;
use toml::de::DeValue;

/// `settings.timeout` and `settings.deadline` when the file gives none.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const DEFAULT_DEADLINE: Duration = Duration::from_secs(50);

pub(super) fn compile_settings(
    errors: &mut Errors,
    raw: RawSettings,
    spans: &[(String, Range<usize>)],
) -> Settings {
    let span_of = |key: &str| {
        spans
            .iter()
            .find(|(k, _)| k == key)
            .map_or(0..0, |(_, s)| s.clone())
    };
    let mut duration = |key: &str, text: Option<String>, default: Duration| match text {
        None => default,
        Some(t) => match parse_duration(&t) {
            Ok(d) => d,
            Err(e) => {
                errors.push(span_of(key), format!("settings.{key}"), e);
                default
            }
        },
    };
    let mut deadline = duration("deadline", raw.deadline, DEFAULT_DEADLINE);
    let given_timeout = raw
        .timeout
        .map(|t| duration("timeout", Some(t), DEFAULT_TIMEOUT));
    let expected_interval = raw
        .expected_interval
        .map(|t| duration("expected_interval", Some(t), Duration::ZERO));
    if deadline.is_zero() || deadline > MAX_DEADLINE {
        errors.push(
            span_of("deadline"),
            "settings.deadline",
            "must be longer than 0s and at most 1 day (\"24h\")",
        );
        deadline = DEFAULT_DEADLINE;
    }
    // Unless given, the default timeout fits any deadline.
    let timeout = given_timeout.unwrap_or(DEFAULT_TIMEOUT.min(deadline));
    if given_timeout.is_some()
        && let Some(why) = timeout_problem(timeout, deadline)
    {
        errors.push(span_of("timeout"), "settings.timeout", why);
    }
    Settings {
        state_dir: raw
            .state_dir
            .map(|s| expand_tilde(&s))
            .unwrap_or_else(default_state_dir),
        timeout,
        deadline,
        hostname: raw.hostname.unwrap_or_else(system_hostname),
        reports: raw.reports.unwrap_or(100),
        expected_interval: expected_interval.filter(|d| !d.is_zero()),
        prometheus_file: raw.prometheus_file.as_deref().map(expand_tilde),
        systemctl: argv_prefix(errors, &span_of, "systemctl", raw.systemctl, &["systemctl"]),
        docker: argv_prefix(errors, &span_of, "docker", raw.docker, &["docker"]),
        compose: argv_prefix(
            errors,
            &span_of,
            "compose",
            raw.compose,
            &["docker", "compose"],
        ),
        sc: argv_prefix(errors, &span_of, "sc", raw.sc, &["sc.exe"]),
        journalctl: argv_prefix(
            errors,
            &span_of,
            "journalctl",
            raw.journalctl,
            &["journalctl"],
        ),
    }
}

/// Why a check timeout cannot be used under this deadline, if it cannot.
pub(super) fn timeout_problem(timeout: Duration, deadline: Duration) -> Option<String> {
    if timeout.is_zero() {
        Some("must be longer than 0s".to_string())
    } else if timeout > deadline {
        Some(format!(
            "must be at most settings.deadline ({}): a check cannot outlast its run",
            show_duration(deadline)
        ))
    } else {
        None
    }
}

pub(super) fn argv_prefix(
    errors: &mut Errors,
    span_of: &dyn Fn(&str) -> Range<usize>,
    key: &str,
    given: Option<Vec<String>>,
    default: &[&str],
) -> Vec<String> {
    match given {
        Some(v) if v.is_empty() => {
            errors.push(
                span_of(key),
                format!("settings.{key}"),
                "must name a program",
            );
            Vec::new()
        }
        Some(v) => v,
        None => default.iter().map(|s| s.to_string()).collect(),
    }
}

/// `[ping] url = "..."`: an http(s) URL (a secret).
pub(super) fn compile_ping(errors: &mut Errors, value: Spanned<DeValue>) -> Option<PingSpec> {
    let spans = Spans::of("ping", &value);
    let raw = deserialize_table::<raw::RawPing>(errors, "ping", value)?;
    let mut b = spans.builder(errors, None);
    let url = b.required("url", &raw.url)?.expose().to_string();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        b.error("url", "must start with https:// (or http://)");
        return None;
    }
    let timeout = match raw.timeout.as_deref() {
        None => DEFAULT_CHANNEL_TIMEOUT,
        Some(text) => b.duration("timeout", text)?,
    };
    let body_limit = match raw.body_limit.as_deref() {
        None => DEFAULT_BODY_LIMIT,
        Some(text) => b.size("body_limit", text)? as usize,
    };
    Some(PingSpec {
        url: Secret::new(url),
        timeout,
        body_limit,
    })
}

/// Compile every `[schedule.NAME]`.
pub(super) fn compile_schedules(
    errors: &mut Errors,
    tables: Vec<(String, Spanned<DeValue>)>,
) -> Vec<Schedule> {
    let mut schedules = Vec::new();
    for (name, value) in tables {
        let prefix = format!("schedule.{name}");
        let spans = Spans::of(prefix.clone(), &value);
        let Some(raw) = deserialize_table::<RawSchedule>(errors, &prefix, value) else {
            errors.broken.push(format!("schedule:{name}"));
            continue;
        };
        match Schedule::compile(&name, raw) {
            Ok(s) => schedules.push(s),
            Err(problems) => {
                errors.broken.push(format!("schedule:{name}"));
                let mut b = spans.builder(errors, None);
                for (key, message) in problems {
                    b.error(key, message);
                }
            }
        }
    }
    schedules
}

/// `when` and `quiet` must name a `[schedule.NAME]`.
pub(super) fn check_schedule_name(b: &mut Builder, key: &str, name: &str, schedules: &[Schedule]) {
    if !schedules.iter().any(|s| s.name == name) && !b.is_broken("schedule", name) {
        let known: Vec<&str> = schedules.iter().map(|s| s.name.as_str()).collect();
        let have = if known.is_empty() {
            "there are none".to_string()
        } else {
            format!("schedules: {}", known.join(", "))
        };
        b.error(key, format!("no [schedule.{name}] ({have})"));
    }
}

pub(super) fn compile_alerting_table(
    errors: &mut Errors,
    table: Option<Spanned<DeValue>>,
    schedules: &[Schedule],
) -> Alerting {
    let Some(value) = table else {
        return Alerting::default();
    };
    let spans = Spans::of("alerting", &value);
    let Some(raw) = deserialize_table::<alert::RawAlerting>(errors, "alerting", value) else {
        return Alerting::default();
    };
    let mut b = spans.builder(errors, None);
    if let Some(quiet) = &raw.quiet {
        check_schedule_name(&mut b, "quiet", quiet, schedules);
    }
    alert::compile_alerting(raw, &mut b)
}
