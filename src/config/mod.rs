//! Reads `healthcheck.toml` into a checked, compiled `Config`: durations
//! parsed, regexes compiled, thresholds in their readings' units, names
//! resolved. A config with any error yields every error at once, each with
//! `file:line:column` and the key path, and nothing runs.

pub mod alert;
mod interpolate;
pub mod raw;
pub mod secret;
pub mod service;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::check::{self, Probe, Thresholds, Unit};
use crate::notify;
use crate::schedule::{RawSchedule, SCHEDULE_KEYS, Schedule};
use crate::status::Status;
use raw::RawService;
use raw::{COMMON_CHECK_KEYS, RawSettings};
pub use raw::{Limit, RawCheck};
pub use service::{Manager, ServiceSpec};

/// The starter config used when no file is found (SPEC 13).
#[cfg(not(windows))]
pub const EMBEDDED_DEFAULT: &str = include_str!("default.toml");
/// Windows has no load average: its default judges how busy the CPUs are.
#[cfg(windows)]
pub const EMBEDDED_DEFAULT: &str = include_str!("default-windows.toml");

/// `settings.timeout` and `settings.deadline` when the file gives none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_DEADLINE: Duration = Duration::from_secs(50);

const SETTINGS_KEYS: &[&str] = &[
    "state_dir",
    "timeout",
    "deadline",
    "hostname",
    "reports",
    "expected_interval",
    "systemctl",
    "docker",
    "compose",
    "prometheus_file",
];

/// A validated config, ready to run.
pub struct Config {
    /// Where it came from: a path, or "(embedded default)".
    pub origin: String,
    pub settings: Settings,
    pub services: Vec<ServiceSpec>,
    pub checks: Vec<CheckSpec>,
    pub alerting: alert::Alerting,
    pub alerts: Vec<alert::AlertSpec>,
    pub schedules: Vec<Schedule>,
    /// The dead man's switch, if any.
    pub ping: Option<crate::ping::Ping>,
    /// Allowed but worth saying: `validate` and `-v` show them.
    pub warnings: Vec<String>,
}

impl Config {
    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.iter().find(|s| s.name == name)
    }

    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.name == name)
    }
    pub fn check(&self, name: &str) -> Option<&CheckSpec> {
        self.checks.iter().find(|c| c.name == name)
    }
}

pub struct Settings {
    pub state_dir: PathBuf,
    pub timeout: Duration,
    pub deadline: Duration,
    pub hostname: String,
    pub reports: usize,
    pub expected_interval: Option<Duration>,
    /// Where to write the node_exporter textfile, if anywhere.
    pub prometheus_file: Option<PathBuf>,
    /// argv prefixes of the service managers' command lines.
    pub systemctl: Vec<String>,
    pub docker: Vec<String>,
    pub compose: Vec<String>,
}

/// One check, compiled.
pub struct CheckSpec {
    pub name: String,
    pub kind: &'static str,
    pub timeout: Duration,
    /// Consecutive non-OK runs before a problem counts as confirmed.
    pub after: u32,
    pub hint: Option<String>,
    /// `severity = "warning"` caps the status at WARNING.
    pub cap: Option<Status>,
    /// The reading the thresholds judge, and the thresholds.
    pub judged: Option<String>,
    pub thresholds: Thresholds,
    /// The service to restart when this check is confirmed CRITICAL.
    pub restart: Option<String>,
    /// A recovery command run when this check is confirmed CRITICAL.
    pub run: Option<Vec<String>>,
    /// Checks whose trouble holds this check's actions back.
    pub depends_on: Vec<String>,
    /// A schedule: outside it the check is skipped.
    pub when: Option<String>,
    pub probe: Arc<dyn Probe>,
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// Byte offset in the file, for ordering.
    #[doc(hidden)]
    pub offset: usize,
    /// `file:line:column`.
    pub location: String,
    /// `check[2].pattern`, or empty for the whole file.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.location, self.message)
        } else {
            write!(f, "{}: {}: {}", self.location, self.key, self.message)
        }
    }
}

/// Every error of a config file.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", secret::redact(&e.to_string()))?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// SPEC 4.1: `--config`, `$HEALTHCHECK_CONFIG`, `./healthcheck.toml`, then
/// the system's places (`system_configs`). `None`: run the embedded default.
pub fn discover(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("HEALTHCHECK_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let mut candidates = vec![PathBuf::from("healthcheck.toml")];
    candidates.extend(system_configs());
    candidates.into_iter().find(|p| p.is_file())
}

/// Unix: the XDG config dir, then `/etc/healthcheck/`.
#[cfg(unix)]
fn system_configs() -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config")));
    if let Some(dir) = xdg {
        candidates.push(dir.join("healthcheck/healthcheck.toml"));
    }
    candidates.push(PathBuf::from("/etc/healthcheck/healthcheck.toml"));
    candidates
}

/// Windows: `%ProgramData%\healthcheck\healthcheck.toml`.
#[cfg(windows)]
fn system_configs() -> Vec<PathBuf> {
    vec![program_data().join("healthcheck.toml")]
}

/// `%ProgramData%\healthcheck` (`C:\ProgramData` when the variable is unset):
/// the config and the state of a machine-wide install.
#[cfg(windows)]
pub fn program_data() -> PathBuf {
    std::env::var_os("ProgramData")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from)
        .join("healthcheck")
}

fn home() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|h| !h.is_empty());
    #[cfg(windows)]
    let found = var("HOME").or_else(|| var("USERPROFILE"));
    #[cfg(not(windows))]
    let found = var("HOME");
    found.map(PathBuf::from)
}

/// `~` and `~/x` become the home directory.
pub fn expand_tilde(path: &str) -> PathBuf {
    if path == "~" {
        return home().unwrap_or_else(|| PathBuf::from(path));
    }
    if let Some(rest) = path.strip_prefix("~/")
        && let Some(h) = home()
    {
        return h.join(rest);
    }
    PathBuf::from(path)
}

/// Read and validate a config file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let label = path.display().to_string();
    let whole_file = |message: String| {
        ConfigErrors(vec![ConfigError {
            offset: 0,
            location: label.clone(),
            key: String::new(),
            message,
        }])
    };
    let (text, meta) = interpolate::read_regular(path)
        .map_err(|e| whole_file(format!("cannot read config: {e}")))?;
    if let Some(why) = unsafe_for_root(&meta) {
        return Err(whole_file(format!(
            "refusing to use this config as root: {why}"
        )));
    }
    let (config, inline_secrets) = parse(&label, &text)?;
    if inline_secrets && world_or_group_readable(&meta) {
        eprintln!(
            "healthcheck: warning: {label} holds a secret inline and is readable by other users; \
             chmod 600 it or move the secret into ${{VAR}} or a *_file"
        );
    }
    Ok(config)
}

/// Validate config text that did not come from a file (tests, `init`).
pub fn load_str(label: &str, text: &str) -> Result<Config, ConfigErrors> {
    parse(label, text).map(|(config, _)| config)
}

/// The embedded default config (SPEC 13).
pub fn embedded() -> Config {
    match parse("(embedded default)", EMBEDDED_DEFAULT) {
        Ok((config, _)) => config,
        Err(e) => panic!("the embedded default config is invalid: {e}"),
    }
}

/// When running as root, a file that another user could write lets that
/// user make root run commands: say why it is unsafe, if it is.
#[cfg(unix)]
pub fn unsafe_for_root(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    if meta.uid() != 0 {
        return Some(format!("it is owned by uid {}, not root", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Some(format!(
            "it is writable by group or others (mode {:o}); chmod go-w it",
            meta.mode() & 0o7777
        ));
    }
    None
}

#[cfg(not(unix))]
pub fn unsafe_for_root(_meta: &std::fs::Metadata) -> Option<String> {
    None
}

#[cfg(unix)]
fn world_or_group_readable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o044 != 0
}

#[cfg(not(unix))]
fn world_or_group_readable(_meta: &std::fs::Metadata) -> bool {
    false
}

/// Maps byte offsets of the source to `line:column`.
struct Source<'a> {
    label: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn location(&self, offset: usize) -> String {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        format!("{}:{line}:{column}", self.label)
    }
}

/// Collects errors with their locations.
struct Errors<'a> {
    src: Source<'a>,
    list: Vec<ConfigError>,
    /// Things that are allowed but worth saying (`validate` and `-v` show them).
    warnings: Vec<String>,
}

impl Errors<'_> {
    fn push(&mut self, span: Range<usize>, key: impl Into<String>, message: impl Into<String>) {
        self.list.push(ConfigError {
            offset: span.start,
            location: self.src.location(span.start),
            key: key.into(),
            message: message.into(),
        });
    }

    /// A serde error inside `table`, located by its span, named by the key it falls in.
    fn push_serde(
        &mut self,
        prefix: &str,
        table: &DeTable,
        fallback: Range<usize>,
        e: toml::de::Error,
    ) {
        let span = e.span().unwrap_or(fallback);
        let key = table
            .iter()
            .find(|(k, v)| covers(&k.span(), &span) || covers(&v.span(), &span))
            .map_or_else(
                || prefix.to_string(),
                |(k, _)| format!("{prefix}.{}", k.get_ref()),
            );
        self.push(span, key, e.message().to_string());
    }
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Parse and validate config text. The flag says whether a secret was written inline.
fn parse(label: &str, text: &str) -> Result<(Config, bool), ConfigErrors> {
    let mut errors = Errors {
        src: Source { label, text },
        list: Vec::new(),
        warnings: Vec::new(),
    };
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        // The parser's own Display echoes the offending line, which may hold
        // a secret: report only its message and position.
        for e in syntax {
            let span = e.span().unwrap_or(0..0);
            errors.push(span, "", e.message().trim().to_string());
        }
        return Err(ConfigErrors(errors.list));
    }
    let mut doc = doc.into_inner();
    let inline_secrets = interpolate::expand(&mut doc, &mut errors);

    let mut settings_raw = RawSettings::default();
    let mut settings_spans: Vec<(String, Range<usize>)> = Vec::new();
    let mut check_tables: Vec<Spanned<DeValue>> = Vec::new();
    let mut service_tables: Vec<Spanned<DeValue>> = Vec::new();
    let mut alert_tables: Vec<Spanned<DeValue>> = Vec::new();
    let mut alerting_table: Option<Spanned<DeValue>> = None;
    let mut schedule_tables: Vec<(String, Spanned<DeValue>)> = Vec::new();
    let mut ping = None;
    for (key, value) in doc {
        let name = key.get_ref().to_string();
        match name.as_str() {
            "settings" => {
                if let DeValue::Table(t) = value.get_ref() {
                    settings_spans = t
                        .iter()
                        .map(|(k, v)| (k.get_ref().to_string(), k.span().start..v.span().end))
                        .collect();
                }
                if let Some(s) =
                    deserialize_table::<RawSettings>(&mut errors, "settings", value, SETTINGS_KEYS)
                {
                    settings_raw = s;
                }
            }
            "alerting" => alerting_table = Some(value),
            "ping" => ping = compile_ping(&mut errors, value),
            "schedule" => match value.into_inner() {
                DeValue::Table(t) => {
                    schedule_tables.extend(t.into_iter().map(|(k, v)| (k.get_ref().to_string(), v)))
                }
                _ => errors.push(
                    key.span(),
                    "schedule",
                    "write each schedule as [schedule.NAME]",
                ),
            },
            "check" | "service" | "alert" => match value.into_inner() {
                DeValue::Array(items) if name == "check" => {
                    check_tables.extend(items.iter().cloned())
                }
                DeValue::Array(items) if name == "alert" => {
                    alert_tables.extend(items.iter().cloned())
                }
                DeValue::Array(items) => service_tables.extend(items.iter().cloned()),
                _ => errors.push(
                    key.span(),
                    name.as_str(),
                    format!("must be an array of tables: write each one as [[{name}]]"),
                ),
            },
            n => errors.push(
                key.span(),
                n,
                unknown_key_message(
                    n,
                    &[
                        "settings", "check", "service", "alert", "alerting", "schedule", "ping",
                    ],
                ),
            ),
        }
    }

    let settings = compile_settings(&mut errors, settings_raw, &settings_spans);
    let schedules = compile_schedules(&mut errors, schedule_tables);
    let services = compile_services(&mut errors, service_tables);
    let alerting = compile_alerting_table(&mut errors, alerting_table, &schedules);
    let alerts = compile_alerts(&mut errors, alert_tables);
    let mut checks: Vec<(CheckSpec, Range<usize>)> = Vec::new();
    let mut first_seen: Vec<(String, String)> = Vec::new();
    for (i, table) in check_tables.into_iter().enumerate() {
        let prefix = format!("check[{i}]");
        if let Some(name) = table.get_ref().get("name").filter(|n| n.get_ref().is_str()) {
            let text = name.get_ref().as_str().unwrap_or_default().to_string();
            if let Some((_, at)) = first_seen.iter().find(|(n, _)| *n == text) {
                errors.push(
                    name.span(),
                    format!("{prefix}.name"),
                    format!("duplicate check name `{text}` (first defined at {at})"),
                );
            } else {
                first_seen.push((text, errors.src.location(name.span().start)));
            }
        }
        let table_span = table.span();
        if let Some(spec) = compile_check(
            &mut errors,
            &prefix,
            table,
            &settings,
            &services,
            &schedules,
        ) {
            checks.push((spec, table_span));
        }
    }
    let all_names: Vec<&str> = first_seen.iter().map(|(n, _)| n.as_str()).collect();
    for (spec, span) in &checks {
        for upstream in &spec.depends_on {
            if upstream == &spec.name {
                errors.push(
                    span.clone(),
                    format!("check `{}`.depends_on", spec.name),
                    "a check cannot depend on itself",
                );
            } else if !all_names.contains(&upstream.as_str()) {
                errors.push(
                    span.clone(),
                    format!("check `{}`.depends_on", spec.name),
                    format!("no check named `{upstream}`"),
                );
            }
        }
    }
    let checks: Vec<CheckSpec> = checks.into_iter().map(|(c, _)| c).collect();
    errors.list.sort_by_key(|e| e.offset);
    if errors.list.is_empty() {
        Ok((
            Config {
                origin: label.to_string(),
                settings,
                services,
                checks,
                alerting,
                alerts,
                schedules,
                ping,
                warnings: errors.warnings,
            },
            inline_secrets,
        ))
    } else {
        Err(ConfigErrors(errors.list))
    }
}

/// Deserialize a plain table, after reporting the keys it does not know.
fn deserialize_table<'a, T: Deserialize<'a>>(
    errors: &mut Errors,
    prefix: &str,
    value: Spanned<DeValue<'a>>,
    known: &[&str],
) -> Option<T> {
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        errors.push(span, prefix, format!("[{prefix}] must be a table"));
        return None;
    };
    let mut kept = DeTable::new();
    for (k, v) in table {
        let key: &str = k.get_ref();
        if !known.contains(&key) {
            errors.push(
                k.span(),
                format!("{prefix}.{key}"),
                unknown_key_message(key, known),
            );
        } else {
            kept.insert(k, v);
        }
    }
    let copy = kept.clone();
    match T::deserialize(ValueDeserializer::from(Spanned::new(
        span.clone(),
        DeValue::Table(kept),
    ))) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push_serde(prefix, &copy, span, e);
            None
        }
    }
}

fn compile_settings(
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
    }
}

/// Why a check timeout cannot be used under this deadline, if it cannot.
fn timeout_problem(timeout: Duration, deadline: Duration) -> Option<String> {
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

fn argv_prefix(
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
fn compile_ping(errors: &mut Errors, value: Spanned<DeValue>) -> Option<crate::ping::Ping> {
    let span = value.span();
    let key_spans = match value.get_ref() {
        DeValue::Table(t) => table_key_spans(t),
        _ => Vec::new(),
    };
    let raw = deserialize_table::<raw::RawPing>(errors, "ping", value, &["url", "timeout"])?;
    let mut b = Builder {
        errors,
        prefix: "ping",
        key_spans: &key_spans,
        table_span: span,
        settings: None,
    };
    let url = b.required("url", &raw.url)?.expose().to_string();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        b.error("url", "must start with https:// (or http://)");
        return None;
    }
    let timeout = match raw.timeout.as_deref() {
        None => alert::DEFAULT_CHANNEL_TIMEOUT,
        Some(text) => b.duration("timeout", text)?,
    };
    Some(crate::ping::Ping::new(url, timeout))
}

/// Compile every `[schedule.NAME]`.
fn compile_schedules(
    errors: &mut Errors,
    tables: Vec<(String, Spanned<DeValue>)>,
) -> Vec<Schedule> {
    let mut schedules = Vec::new();
    for (name, value) in tables {
        let prefix = format!("schedule.{name}");
        let span = value.span();
        let key_spans = match value.get_ref() {
            DeValue::Table(t) => table_key_spans(t),
            _ => Vec::new(),
        };
        let Some(raw) = deserialize_table::<RawSchedule>(errors, &prefix, value, SCHEDULE_KEYS)
        else {
            continue;
        };
        match Schedule::compile(&name, raw) {
            Ok(s) => schedules.push(s),
            Err(problems) => {
                let mut b = Builder {
                    errors,
                    prefix: &prefix,
                    key_spans: &key_spans,
                    table_span: span,
                    settings: None,
                };
                for (key, message) in problems {
                    b.error(key, message);
                }
            }
        }
    }
    schedules
}

/// `when` and `quiet` must name a `[schedule.NAME]`.
fn check_schedule_name(b: &mut Builder, key: &str, name: &str, schedules: &[Schedule]) {
    if !schedules.iter().any(|s| s.name == name) {
        let known: Vec<&str> = schedules.iter().map(|s| s.name.as_str()).collect();
        let have = if known.is_empty() {
            "there are none".to_string()
        } else {
            format!("schedules: {}", known.join(", "))
        };
        b.error(key, format!("no [schedule.{name}] ({have})"));
    }
}

fn compile_alerting_table(
    errors: &mut Errors,
    table: Option<Spanned<DeValue>>,
    schedules: &[Schedule],
) -> alert::Alerting {
    let Some(value) = table else {
        return alert::Alerting::default();
    };
    let span = value.span();
    let key_spans = match value.get_ref() {
        DeValue::Table(t) => table_key_spans(t),
        _ => Vec::new(),
    };
    let Some(raw) =
        deserialize_table::<alert::RawAlerting>(errors, "alerting", value, alert::ALERTING_KEYS)
    else {
        return alert::Alerting::default();
    };
    let mut b = Builder {
        errors,
        prefix: "alerting",
        key_spans: &key_spans,
        table_span: span,
        settings: None,
    };
    if let Some(quiet) = &raw.quiet {
        check_schedule_name(&mut b, "quiet", quiet, schedules);
    }
    alert::compile_alerting(raw, &mut b)
}

/// Compile every `[[alert]]`: the channel type's own keys, unique names,
/// fallbacks that name another channel.
fn compile_alerts(errors: &mut Errors, tables: Vec<Spanned<DeValue>>) -> Vec<alert::AlertSpec> {
    let mut alerts: Vec<alert::AlertSpec> = Vec::new();
    let mut fallbacks: Vec<(String, Range<usize>, String)> = Vec::new();
    for (i, value) in tables.into_iter().enumerate() {
        let prefix = format!("alert[{i}]");
        let span = value.span();
        let DeValue::Table(table) = value.get_ref() else {
            errors.push(span, prefix, "each [[alert]] must be a table");
            continue;
        };
        let type_name = table
            .get("type")
            .and_then(|v| v.get_ref().as_str())
            .map(str::to_string);
        let kind = type_name.as_deref().and_then(notify::channel_kind);
        match (&type_name, kind) {
            (None, _) => errors.push(span.start..span.start, prefix.clone(), "missing key `type`"),
            (Some(t), None) => {
                let all: Vec<&str> = notify::CHANNELS.iter().map(|k| k.name).collect();
                let at = table.get("type").map_or(span.clone(), |v| v.span());
                errors.push(
                    at,
                    format!("{prefix}.type"),
                    format!("unknown alert type `{t}` (one of: {})", all.join(", ")),
                );
            }
            _ => {}
        }
        let known: Vec<&str> = alert::COMMON_ALERT_KEYS
            .iter()
            .chain(kind.map_or(&[][..], |k| k.keys))
            .copied()
            .collect();
        let key_spans = table_key_spans(table);
        let Some(raw) = deserialize_table::<alert::RawAlert>(errors, &prefix, value, &known) else {
            continue;
        };
        let Some(kind) = kind else { continue };
        let before = errors.list.len();
        let mut b = Builder {
            errors,
            prefix: &prefix,
            key_spans: &key_spans,
            table_span: span.clone(),
            settings: None,
        };
        let spec = alert::compile_alert(&raw, kind, &mut b);
        if let Some(spec) = spec.filter(|_| errors.list.len() == before) {
            if alerts.iter().any(|a| a.name == spec.name) {
                let at = key_spans
                    .iter()
                    .find(|(k, _)| k == "name")
                    .map_or(span.clone(), |(_, s)| s.clone());
                errors.push(
                    at,
                    format!("{prefix}.name"),
                    format!(
                        "duplicate alert name `{}` (give each channel its own `name`)",
                        spec.name
                    ),
                );
                continue;
            }
            if let Some(f) = &spec.fallback {
                let at = key_spans
                    .iter()
                    .find(|(k, _)| k == "fallback")
                    .map_or(span.clone(), |(_, s)| s.clone());
                fallbacks.push((format!("{prefix}.fallback"), at, f.clone()));
            }
            alerts.push(spec);
        }
    }
    for (key, at, name) in fallbacks {
        if !alerts.iter().any(|a| a.name == name) {
            let known: Vec<&str> = alerts.iter().map(|a| a.name.as_str()).collect();
            errors.push(
                at,
                key,
                format!("no [[alert]] named `{name}` (alerts: {})", known.join(", ")),
            );
        }
    }
    alerts
}

/// Compile every `[[service]]`; duplicate names are errors.
fn compile_services(errors: &mut Errors, tables: Vec<Spanned<DeValue>>) -> Vec<ServiceSpec> {
    let mut services: Vec<ServiceSpec> = Vec::new();
    for (i, value) in tables.into_iter().enumerate() {
        let prefix = format!("service[{i}]");
        let span = value.span();
        let key_spans = match value.get_ref() {
            DeValue::Table(t) => table_key_spans(t),
            _ => Vec::new(),
        };
        let Some(raw) =
            deserialize_table::<RawService>(errors, &prefix, value, service::SERVICE_KEYS)
        else {
            continue;
        };
        let before = errors.list.len();
        let mut b = Builder {
            errors,
            prefix: &prefix,
            key_spans: &key_spans,
            table_span: span,
            settings: None,
        };
        if services.iter().any(|s| s.name == raw.name) {
            b.error("name", format!("duplicate service name `{}`", raw.name));
        }
        let spec = service::compile(raw, &mut b);
        if errors.list.len() == before
            && let Some(spec) = spec
        {
            services.push(spec);
        }
    }
    services
}

fn table_key_spans(table: &DeTable) -> Vec<(String, Range<usize>)> {
    table
        .iter()
        .map(|(k, v)| (k.get_ref().to_string(), k.span().start..v.span().end))
        .collect()
}

/// SPEC 4.4: `$STATE_DIRECTORY`, else `/var/lib/healthcheck` for root, else the XDG state dir.
fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("STATE_DIRECTORY").filter(|d| !d.is_empty()) {
        // systemd may pass several, colon-separated: the first is ours.
        let first = d
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        return PathBuf::from(first);
    }
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/lib/healthcheck");
    }
    #[cfg(windows)]
    return program_data();
    #[cfg(not(windows))]
    std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".local/state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("healthcheck")
}

fn system_hostname() -> String {
    sysinfo::System::host_name().unwrap_or_else(|_| "localhost".into())
}

/// The longest duration any key may have: 10 years (humantime's years of
/// 365.25 days, so "10y" itself is allowed). Every time computed from a
/// config stays far inside what `Instant` and `jiff::Timestamp` can hold,
/// so no arithmetic on a configured duration can overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 31_557_600);
/// The longest `settings.deadline`: a run that may take more than a day
/// is not a health check, and the next run would queue behind it.
pub const MAX_DEADLINE: Duration = Duration::from_secs(24 * 3600);
/// The most bytes a size key (`max_read`) may name.
pub const MAX_BYTES: f64 = 1024.0 * 1024.0 * 1024.0 * 1024.0;

/// Humantime durations: "90s", "5m", "2h 30m", "7d"; at most `MAX_DURATION`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("invalid duration \"{text}\": {e} (write e.g. \"90s\", \"5m\", \"2h 30m\")")
    })?;
    if d > MAX_DURATION {
        return Err(format!(
            "duration \"{text}\" is too long (at most 10 years, \"10y\")"
        ));
    }
    Ok(d)
}

/// "50s", "1h 30m": a duration as the config would write it.
pub fn show_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

fn unknown_key_message(key: &str, known: &[&str]) -> String {
    let close = known
        .iter()
        .copied()
        .filter(|k| similar(k, key))
        .min_by_key(|k| edit_distance(k, key));
    match close {
        Some(k) => format!("unknown key `{key}` (did you mean `{k}`?)"),
        None => format!("unknown key `{key}`"),
    }
}

fn similar(a: &str, b: &str) -> bool {
    edit_distance(a, b) <= 2.max(a.len().min(b.len()) / 4)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Validate one `[[check]]` table and build its probe.
fn compile_check(
    errors: &mut Errors,
    prefix: &str,
    value: Spanned<DeValue>,
    settings: &Settings,
    services: &[ServiceSpec],
    schedules: &[Schedule],
) -> Option<CheckSpec> {
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        errors.push(span, prefix, "each [[check]] must be a table");
        return None;
    };
    let kind_name = table
        .get("type")
        .and_then(|v| v.get_ref().as_str().map(str::to_string));
    let kind = match kind_name.as_deref() {
        None => {
            errors.push(span.start..span.start, prefix, "missing key `type`");
            None
        }
        Some(k) => {
            let found = check::kind(k);
            if found.is_none() {
                let at = table.get("type").map_or(span.clone(), |v| v.span());
                let all: Vec<&str> = check::KINDS.iter().map(|k| k.name).collect();
                let message = format!("unknown check type `{k}` (one of: {})", all.join(", "));
                errors.push(at, format!("{prefix}.type"), message);
            }
            found
        }
    };

    // Keys: not for this type, or unknown. Reported here, dropped
    // before serde so that each problem is reported once.
    let mut kept = DeTable::new();
    let all_keys: Vec<&str> = check::KINDS
        .iter()
        .flat_map(|k| k.keys.iter().copied())
        .chain(COMMON_CHECK_KEYS.iter().copied())
        .collect();
    for (k, v) in table {
        let key = k.get_ref().to_string();
        let path = format!("{prefix}.{key}");
        let applies = COMMON_CHECK_KEYS.contains(&key.as_str())
            || kind.is_none_or(|kd| kd.keys.contains(&key.as_str()));
        if !all_keys.contains(&key.as_str()) {
            let allowed: Vec<&str> = COMMON_CHECK_KEYS
                .iter()
                .chain(kind.map_or(&[][..], |kd| kd.keys))
                .copied()
                .collect();
            errors.push(k.span(), path, unknown_key_message(&key, &allowed));
        } else if !applies {
            let kd = kind.map_or("", |kd| kd.name);
            errors.push(
                k.span(),
                path,
                format!("key `{key}` does not apply to checks of type `{kd}`"),
            );
        } else {
            kept.insert(k, v);
        }
    }
    let key_spans = table_key_spans(&kept);
    let copy = kept.clone();
    let raw = match RawCheck::deserialize(ValueDeserializer::from(Spanned::new(
        span.clone(),
        DeValue::Table(kept),
    ))) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push_serde(prefix, &copy, span, e);
            return None;
        }
    };
    let kind = kind?;
    let before = errors.list.len();
    let mut b = Builder {
        errors,
        prefix,
        key_spans: &key_spans,
        table_span: span,
        settings: Some(settings),
    };
    if let Some(service) = &raw.restart
        && !services.iter().any(|s| &s.name == service)
    {
        let known: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
        b.error(
            "restart",
            format!(
                "no [[service]] named `{service}` (services: {})",
                known.join(", ")
            ),
        );
    }
    if let Some(when) = &raw.when {
        check_schedule_name(&mut b, "when", when, schedules);
    }
    if raw.run.as_ref().is_some_and(Vec::is_empty) {
        b.error(
            "run",
            "must name a program: run = [\"/usr/local/bin/refresh-token\"]",
        );
    }

    let timeout = match &raw.timeout {
        Some(t) => match b.duration("timeout", t) {
            Some(d) => {
                if let Some(why) = timeout_problem(d, settings.deadline) {
                    b.error("timeout", why);
                }
                d
            }
            None => settings.timeout,
        },
        None => settings.timeout,
    };
    if raw.name.trim().is_empty() {
        b.error("name", "must not be empty");
    }
    let after = raw.after.unwrap_or(1);
    if after == 0 {
        b.error("after", "must be at least 1");
    }
    let cap = match raw.severity.as_deref() {
        None | Some("critical") => None,
        Some("warning") => Some(Status::Warning),
        Some(other) => {
            b.error(
                "severity",
                format!("must be \"warning\" or \"critical\", not \"{other}\""),
            );
            None
        }
    };
    let (judged, thresholds) = compile_thresholds(&mut b, kind, &raw);
    let probe = (kind.build)(&raw, &mut b);
    if errors.list.len() > before {
        return None;
    }
    Some(CheckSpec {
        name: raw.name,
        kind: kind.name,
        timeout,
        after,
        hint: raw.hint,
        cap,
        judged,
        thresholds,
        restart: raw.restart,
        run: raw.run,
        depends_on: raw.depends_on.unwrap_or_default(),
        when: raw.when,
        probe: Arc::from(probe?),
    })
}

/// Which reading the thresholds judge, and the limits in that reading's unit.
/// The judged reading is `reading` if given, else the one `expect` names
/// (`sql`, `json`), else the type's first.
fn compile_thresholds(
    b: &mut Builder,
    kind: &check::Kind,
    raw: &RawCheck,
) -> (Option<String>, Thresholds) {
    let limits = [
        ("warn_above", &raw.warn_above),
        ("crit_above", &raw.crit_above),
        ("warn_below", &raw.warn_below),
        ("crit_below", &raw.crit_below),
    ];
    let by_mode = (kind.primary)(raw)
        .filter(|name| kind.readings.iter().any(|(n, _)| n == name))
        .map(str::to_string);
    let primary = raw.reading.as_ref().or(by_mode.as_ref());
    let unit = match (primary, kind.readings.first()) {
        (Some(r), _) if kind.readings.is_empty() => {
            return (Some(r.clone()), convert_limits(b, &limits, None));
        }
        (Some(r), _) => match kind.readings.iter().find(|(n, _)| n == r) {
            Some((_, unit)) => Some(*unit),
            None => {
                let names: Vec<&str> = kind.readings.iter().map(|(n, _)| *n).collect();
                b.error(
                    "reading",
                    format!(
                        "type `{}` has no reading `{r}` (it has: {})",
                        kind.name,
                        names.join(", ")
                    ),
                );
                return (None, Thresholds::default());
            }
        },
        (None, Some((_, unit))) => Some(*unit),
        (None, None) => None,
    };
    let judged = primary
        .cloned()
        .or_else(|| kind.readings.first().map(|(n, _)| n.to_string()));
    let thresholds = convert_limits(b, &limits, unit);
    if judged.is_none() && !thresholds.is_empty() {
        b.error("reading", format!("type `{}` needs `reading = \"...\"` to say which perfdata value the thresholds judge", kind.name));
    }
    (judged, thresholds)
}

fn convert_limits(
    b: &mut Builder,
    limits: &[(&str, &Option<Limit>); 4],
    unit: Option<Unit>,
) -> Thresholds {
    let mut values = [None; 4];
    for (slot, (key, limit)) in values.iter_mut().zip(limits) {
        if let Some(limit) = limit {
            match limit_value(limit, unit) {
                Ok(v) => *slot = Some(v),
                Err(e) => b.error(key, e),
            }
        }
    }
    let t = Thresholds {
        warn_above: values[0],
        crit_above: values[1],
        warn_below: values[2],
        crit_below: values[3],
    };
    if let Some(why) = t.contradiction() {
        let key = limits
            .iter()
            .find(|(_, l)| l.is_some())
            .map_or("warn_above", |(k, _)| *k);
        b.error(key, format!("contradictory thresholds: {why}"));
    }
    t
}

/// A limit in the unit of its reading: durations for seconds, sizes for bytes.
fn limit_value(limit: &Limit, unit: Option<Unit>) -> Result<f64, String> {
    match (limit, unit) {
        (Limit::Number(n), _) => Ok(*n),
        (Limit::Text(t), Some(Unit::Seconds)) => parse_duration(t).map(|d| d.as_secs_f64()),
        (Limit::Text(t), Some(Unit::Bytes)) => parse_size(t),
        (Limit::Text(t), Some(Unit::Percent)) => t
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse()
            .map_err(|_| format!("invalid percent \"{t}\" (write a number such as 85)")),
        (Limit::Text(t), _) => t
            .trim()
            .parse()
            .map_err(|_| format!("invalid number \"{t}\"")),
    }
}

/// "512MB", "1.5GiB", "100k", "2048": bytes. Decimal (kB, MB) and binary (KiB, MiB) units.
pub fn parse_size(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid size \"{text}\" (write e.g. \"512MB\" or \"1GiB\")"))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024f64.powi(4),
        _ => {
            return Err(format!(
                "invalid size unit in \"{text}\" (use B, kB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    Ok(n * factor)
}

/// Handed to each check type's `build`: reports errors at the right key and
/// offers the common conversions.
pub struct Builder<'a, 'src> {
    errors: &'a mut Errors<'src>,
    prefix: &'a str,
    key_spans: &'a [(String, Range<usize>)],
    table_span: Range<usize>,
    settings: Option<&'a Settings>,
}

impl Builder<'_, '_> {
    /// Report a problem with `key` of this check.
    pub fn error(&mut self, key: &str, message: impl Into<String>) {
        let span = self
            .key_spans
            .iter()
            .find(|(k, _)| k == key)
            .map_or(self.table_span.start..self.table_span.start, |(_, s)| {
                s.clone()
            });
        let path = format!("{}.{key}", self.prefix);
        self.errors.push(span, path, message);
    }

    /// Whether a problem with `key` of this table was already reported.
    pub fn has_error(&self, key: &str) -> bool {
        let path = format!("{}.{key}", self.prefix);
        self.errors.list.iter().any(|e| e.key == path)
    }

    /// The run's settings (argv prefixes of systemctl and docker). Present
    /// while building checks, which are compiled after the settings.
    pub fn settings(&self) -> &Settings {
        self.settings.expect("checks are built after the settings")
    }

    /// Something allowed but worth saying about `key` (shown by `validate` and `-v`).
    pub fn warn(&mut self, key: &str, message: impl Into<String>) {
        let span = self
            .key_spans
            .iter()
            .find(|(k, _)| k == key)
            .map_or(self.table_span.start, |(_, s)| s.start);
        let at = self.errors.src.location(span);
        self.errors
            .warnings
            .push(format!("{at}: {}.{key}: {}", self.prefix, message.into()));
    }

    /// The value of a required key, or an error saying it is missing.
    pub fn required<'r, T>(&mut self, key: &str, value: &'r Option<T>) -> Option<&'r T> {
        if value.is_none() {
            self.error(
                key,
                format!("missing key `{key}`, which this type requires"),
            );
        }
        value.as_ref()
    }

    pub fn duration(&mut self, key: &str, text: &str) -> Option<Duration> {
        parse_duration(text).map_err(|e| self.error(key, e)).ok()
    }

    /// A byte count ("64MiB"): at least 1 byte, at most 1 TiB.
    pub fn size(&mut self, key: &str, text: &str) -> Option<u64> {
        match parse_size(text) {
            Err(e) => {
                self.error(key, e);
                None
            }
            Ok(n) if (1.0..=MAX_BYTES).contains(&n) => Some(n as u64),
            Ok(_) => {
                self.error(key, "must be between 1 byte and 1 TiB");
                None
            }
        }
    }

    pub fn regex(&mut self, key: &str, pattern: &str) -> Option<regex::Regex> {
        regex::Regex::new(pattern)
            .map_err(|e| self.error(key, format!("invalid regex: {}", one_line(&e.to_string()))))
            .ok()
    }

    pub fn bytes_regex(&mut self, key: &str, pattern: &str) -> Option<regex::bytes::Regex> {
        regex::bytes::Regex::new(pattern)
            .map_err(|e| self.error(key, format!("invalid regex: {}", one_line(&e.to_string()))))
            .ok()
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
