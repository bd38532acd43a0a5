//! `[alerting]` and `[[alert]]`: when to tell, and where. Each
//! channel type validates its own keys (see `notify::CHANNELS`); this file
//! holds what all channels share.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use toml::Spanned;
use toml::de::DeValue;

use serde::Deserialize;

use crate::model::Status;
use crate::notify;
use crate::secret::Secret;
use crate::spec::alert::{AlertSpec, Alerting, DEFAULT_CHANNEL_TIMEOUT, DEFAULT_FALLBACK_AFTER};
use crate::vocab::{Builder, Errors, Spans, deserialize_table};

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAlerting {
    pub renotify: Option<String>,
    pub resolved: Option<bool>,
    pub max_per_hour: Option<u32>,
    pub quiet: Option<String>,
}

/// Every key any channel accepts; which apply to which type is checked
/// before this is filled (`notify::ChannelKind::keys`).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAlert {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub min_severity: Option<String>,
    pub fallback: Option<String>,
    pub fallback_after: Option<String>,
    pub timeout: Option<String>,
    pub url: Option<Secret>,
    pub headers: Option<BTreeMap<String, Secret>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub bot_token: Option<Secret>,
    pub chat_id: Option<String>,
    pub api_url: Option<String>,
    pub token: Option<Secret>,
    pub command: Option<Vec<String>>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
}

/// Keys every `[[alert]]` accepts.
pub const COMMON_ALERT_KEYS: &[&str] = &[
    "name",
    "type",
    "min_severity",
    "fallback",
    "fallback_after",
    "timeout",
];

pub const ALERTING_KEYS: &[&str] = &["renotify", "resolved", "max_per_hour", "quiet"];

pub(super) fn compile_alerting(raw: RawAlerting, b: &mut Builder) -> Alerting {
    let default = Alerting::default();
    let renotify = match raw.renotify.as_deref() {
        None => default.renotify,
        Some("never") => None,
        Some(text) => b.duration("renotify", text).or(default.renotify),
    };
    let max_per_hour = raw.max_per_hour.unwrap_or(default.max_per_hour);
    if max_per_hour == 0 {
        b.error(
            "max_per_hour",
            "must be at least 1 (to send nothing, leave out the [[alert]] channels or use min_severity)",
        );
    }
    Alerting {
        renotify,
        resolved: raw.resolved.unwrap_or(default.resolved),
        max_per_hour: max_per_hour.max(1),
        quiet: raw.quiet,
    }
}

pub(super) fn compile_alert(
    raw: &RawAlert,
    kind: &'static notify::ChannelKind,
    b: &mut Builder,
) -> Option<AlertSpec> {
    let min_severity = match raw.min_severity.as_deref() {
        None | Some("warning") => Status::Warning,
        Some("critical") => Status::Critical,
        Some("ok") => Status::Ok,
        Some(other) => {
            b.error(
                "min_severity",
                format!("must be \"warning\", \"critical\" or \"ok\", not \"{other}\""),
            );
            Status::Warning
        }
    };
    let timeout = match raw.timeout.as_deref() {
        None => Some(DEFAULT_CHANNEL_TIMEOUT),
        Some(text) => b.duration("timeout", text).filter(|t| {
            let ok = !t.is_zero();
            if !ok {
                b.error("timeout", "must be more than 0s");
            }
            ok
        }),
    };
    let fallback_after = match raw.fallback_after.as_deref() {
        None => Some(DEFAULT_FALLBACK_AFTER),
        Some(_) if raw.fallback.is_none() => {
            b.error("fallback_after", "goes with `fallback`, which is not set");
            None
        }
        Some(text) => b.duration("fallback_after", text),
    };
    let channel = (kind.build)(raw, b)?;
    Some(AlertSpec {
        name: raw.name.clone().unwrap_or_else(|| kind.name.to_string()),
        kind: kind.name,
        min_severity,
        fallback: raw.fallback.clone(),
        fallback_after: fallback_after?,
        timeout: timeout?,
        channel: Arc::from(channel),
    })
}

/// Compile every `[[alert]]`: the channel type's own keys, unique names,
/// fallbacks that name another channel.
pub(super) fn compile_alerts(errors: &mut Errors, tables: Vec<Spanned<DeValue>>) -> Vec<AlertSpec> {
    let mut alerts: Vec<AlertSpec> = Vec::new();
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
        let known: Vec<&str> = COMMON_ALERT_KEYS
            .iter()
            .chain(kind.map_or(&[][..], |k| k.keys))
            .copied()
            .collect();
        let spans = Spans::of(prefix.clone(), &value);
        let Some(raw) = deserialize_table::<RawAlert>(errors, &prefix, value, &known) else {
            continue;
        };
        let Some(kind) = kind else { continue };
        let before = errors.list.len();
        let name = raw.name.clone().unwrap_or_else(|| kind.name.to_string());
        let spec = compile_alert(&raw, kind, &mut spans.builder(errors, None));
        let spec = spec.filter(|_| errors.list.len() == before);
        if spec.is_none() {
            errors.broken.push(format!("alert:{name}"));
        }
        if let Some(spec) = spec {
            if alerts.iter().any(|a| a.name == spec.name) {
                errors.push(
                    spans.at("name"),
                    format!("{prefix}.name"),
                    format!(
                        "duplicate alert name `{}` (give each channel its own `name`)",
                        spec.name
                    ),
                );
                continue;
            }
            if let Some(f) = &spec.fallback {
                fallbacks.push((
                    format!("{prefix}.fallback"),
                    spans.at("fallback"),
                    f.clone(),
                ));
            }
            alerts.push(spec);
        }
    }
    for (key, at, name) in fallbacks {
        if !alerts.iter().any(|a| a.name == name) && !errors.is_broken("alert", &name) {
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
