//! The loader: reads `healthcheck.toml` into a checked, compiled
//! `spec::Config`: durations parsed, regexes compiled, thresholds in their
//! readings' units, names resolved. A config with any error yields every
//! error at once, each with `file:line:column` and the key path, and
//! nothing runs. The one module that names every check type and channel
//! (through their registries); what they read their keys with is `vocab`,
//! what the rest of the program reads is `spec`.

mod alert;
mod checks;
mod discovery;
mod escalate;
mod interpolate;
mod page;
mod permissions;
pub mod raw;
mod service;
mod settings;
mod summary;

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::spec::{CheckSpec, Config};
use crate::vocab::{
    ConfigError, ConfigErrors, Errors, Names, Source, deserialize_table, unknown_key_message,
};
use alert::compile_alerts;
use checks::compile_check;
pub use discovery::{discover, no_config_found, no_config_shown};
use permissions::world_or_group_readable;
use raw::RawSettings;
use service::compile_services;
use settings::{compile_alerting_table, compile_ping, compile_schedules, compile_settings};

/// The starter config used when no file is found.
#[cfg(not(windows))]
pub const EMBEDDED_DEFAULT: &str = include_str!("default.toml");
/// Windows has no load average: its default judges how busy the CPUs are.
#[cfg(windows)]
pub const EMBEDDED_DEFAULT: &str = include_str!("default-windows.toml");

/// What a command needs of its config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Everything, secrets included: a run, `validate`, `test-alert`.
    All,
    /// Names, the state directory and budgets, not the secrets: `history`,
    /// `reset`, `silence`, `unsilence` send nothing, so an unset `${VAR}`
    /// or an unreadable `*_file` does not stop them.
    Names,
}

/// Read and validate a config file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_for(path, Needs::All)
}

/// Read and validate a config file for a command that needs `needs`.
pub fn load_for(path: &Path, needs: Needs) -> Result<Config, ConfigErrors> {
    let label = path.display().to_string();
    let whole_file = |message: String| {
        ConfigErrors::new(vec![ConfigError {
            offset: 0,
            location: label.clone(),
            key: String::new(),
            shown: String::new(),
            message,
        }])
    };
    let (text, meta) = interpolate::read_regular(path)
        .map_err(|e| whole_file(format!("cannot read config: {e}")))?;
    if let Some(why) = crate::files::unsafe_for_root(&meta) {
        return Err(whole_file(format!(
            "refusing to use this config as root: {why}"
        )));
    }
    let (config, warnings) = parse(&label, &text, needs)?;
    for warning in warnings {
        match warning {
            Warning::Inline(at) if world_or_group_readable(&meta) => eprintln!(
                "healthcheck: warning: {at} is a secret written inline, and {label} is readable by other users; \
                 chmod 600 it or move the secret into ${{VAR}} or a *_file"
            ),
            Warning::Inline(_) => {}
            Warning::ReadableFile(key, path) => eprintln!(
                "healthcheck: warning: {key} is read from {}, which is readable by other users; chmod 600 it",
                path.display()
            ),
        }
    }
    Ok(config)
}

/// Validate config text that did not come from a file (tests, `init`).
pub fn load_str(label: &str, text: &str) -> Result<Config, ConfigErrors> {
    parse(label, text, Needs::All).map(|(config, _)| config)
}

/// The embedded default config, loaded like any other.
pub fn embedded() -> Config {
    match parse("(embedded default)", EMBEDDED_DEFAULT, Needs::All) {
        Ok((config, _)) => config,
        Err(e) => panic!("the embedded default config is invalid: {e}"),
    }
}

/// Parse and validate config text. Also returns where the first secret
/// written inline is ("file:line:column: key"), if any.
/// What reading a config file warns about on stderr, beside its errors.
enum Warning {
    /// A secret written in the config itself (where it is, and its key);
    /// said when the file is readable by other users.
    Inline(String),
    /// A secret's `*_file` (its key, its path) readable by other users.
    ReadableFile(String, PathBuf),
}

fn parse(label: &str, text: &str, needs: Needs) -> Result<(Config, Vec<Warning>), ConfigErrors> {
    let mut errors = Errors::new(Source::new(label, text), needs == Needs::Names);
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        // The parser's own Display echoes the offending line, which may hold
        // a secret: report only its message and position.
        for e in syntax {
            let span = e.span().unwrap_or(0..0);
            errors.push(span, "", e.message().trim().to_string());
        }
        return Err(ConfigErrors::new(errors.list));
    }
    let mut doc = doc.into_inner();
    errors.names = Names::of(&doc);
    let found = interpolate::expand(&mut doc, &mut errors);
    let mut warnings: Vec<Warning> = found
        .inline
        .map(|(key, offset)| {
            Warning::Inline(format!(
                "{}: {}",
                errors.src.location(offset),
                errors.names.key(&key)
            ))
        })
        .into_iter()
        .collect();
    warnings.extend(
        found
            .readable_files
            .into_iter()
            .map(|(key, path)| Warning::ReadableFile(errors.names.key(&key), path)),
    );

    let mut settings_raw = RawSettings::default();
    let mut settings_spans: Vec<(String, Range<usize>)> = Vec::new();
    let mut check_tables: Vec<Spanned<DeValue>> = Vec::new();
    let mut service_tables: Vec<Spanned<DeValue>> = Vec::new();
    let mut alert_tables: Vec<Spanned<DeValue>> = Vec::new();
    let mut alerting_table: Option<Spanned<DeValue>> = None;
    let mut schedule_tables: Vec<(String, Spanned<DeValue>)> = Vec::new();
    let mut ping = None;
    let mut summary_table = None;
    let mut page_table = None;
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
                if let Some(s) = deserialize_table::<RawSettings>(&mut errors, "settings", value) {
                    settings_raw = s;
                }
            }
            "alerting" => alerting_table = Some(value),
            "ping" => ping = compile_ping(&mut errors, value),
            "summary" => summary_table = Some(value),
            "page" => page_table = Some(value),
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
                        "summary", "page",
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
    let summary = summary_table.and_then(|t| summary::compile_summary(&mut errors, t, &alerts));
    let page = page_table.and_then(|t| page::compile_page(&mut errors, t, &settings.hostname));
    let mut checks: Vec<(CheckSpec, Range<usize>)> = Vec::new();
    // Each name with where it was defined; the place is spelled out only
    // for a duplicate, not for every check of every run.
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    for (i, table) in check_tables.into_iter().enumerate() {
        let prefix = format!("check[{i}]");
        if let Some(name) = table.get_ref().get("name").filter(|n| n.get_ref().is_str()) {
            let text = name.get_ref().as_str().unwrap_or_default().to_string();
            if let Some(first) = first_seen.get(&text) {
                let at = errors.src.location(*first);
                errors.push(
                    name.span(),
                    format!("{prefix}.name"),
                    format!("duplicate check name `{text}` (first defined at {at})"),
                );
            } else {
                first_seen.insert(text, name.span().start);
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
    for (spec, span) in &checks {
        for upstream in &spec.depends_on {
            if upstream == &spec.name {
                errors.push(
                    span.clone(),
                    format!("check `{}`.depends_on", spec.name),
                    "a check cannot depend on itself",
                );
            } else if !first_seen.contains_key(upstream) {
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
        let config = Config {
            origin: label.to_string(),
            settings,
            services,
            checks,
            alerting,
            alerts,
            schedules,
            ping,
            summary,
            page,
            warnings: errors.warnings,
        };
        for a in &config.alerts {
            a.channel.bind(&config);
        }
        Ok((config, warnings))
    } else {
        Err(ConfigErrors::new(errors.list))
    }
}

#[cfg(test)]
mod tests {
    /// The keys of each table are its serde struct's fields: a misspelt
    /// key is matched against them.
    #[test]
    fn every_table_suggests_its_own_key_for_a_misspelt_one() {
        let cases = [
            (
                "[settings]\ntimout = \"5s\"\n",
                "settings",
                "timout",
                "timeout",
            ),
            (
                "[ping]\nurl = \"https://hc.example/p\"\nbody_limt = \"1KiB\"\n",
                "ping",
                "body_limt",
                "body_limit",
            ),
            (
                "[alerting]\nrenotfy = \"1h\"\n",
                "alerting",
                "renotfy",
                "renotify",
            ),
            (
                "[schedule.day]\nhuors = \"08:00-20:00\"\n",
                "schedule",
                "huors",
                "hours",
            ),
            (
                "[page]\ndir = \"/srv/page\"\ntitel = \"x\"\n",
                "page",
                "titel",
                "title",
            ),
            (
                "[[alert]]\ntype = \"command\"\ncommand = [\"true\"]\n[summary]\nat = \"08:00\"\nchanels = []\n",
                "summary",
                "chanels",
                "channels",
            ),
            (
                "[[service]]\nname = \"bot\"\nsystemd = \"bot.service\"\ncooldwn = \"1m\"\n",
                "service",
                "cooldwn",
                "cooldown",
            ),
        ];
        for (text, table, typo, meant) in cases {
            let Err(e) = super::load_str("t.toml", text) else {
                panic!("{table}: {typo} was accepted");
            };
            let shown = e.to_string();
            assert!(
                shown.contains(&format!("unknown key {typo}, did you mean {meant}?")),
                "{table}: {shown}"
            );
        }
    }
}
