//! `[alerting]` and `[[alert]]`: when to tell, and where. Each
//! channel type validates its own keys (see `notify::CHANNELS`); this file
//! holds what all channels share.

use serde_aux::serde_introspection::serde_introspect;
use std::ops::Range;
use std::sync::Arc;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use serde::Deserialize;

use crate::model::Status;
use crate::notify;
use crate::spec::alert::{AlertSpec, Alerting, DEFAULT_CHANNEL_TIMEOUT, DEFAULT_FALLBACK_AFTER};
use crate::vocab::{Builder, Errors, Spans, deserialize_table, unknown_key_message};

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAlerting {
    pub renotify: Option<String>,
    pub resolved: Option<bool>,
    pub max_per_hour: Option<u32>,
    pub quiet: Option<String>,
}

/// The keys every `[[alert]]` has, whatever its type; each channel type
/// reads its own from the rest of the table (`notify::ChannelKind::keys`).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct CommonKeys {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub min_severity: Option<String>,
    pub fallback: Option<String>,
    pub fallback_after: Option<String>,
    pub timeout: Option<String>,
}

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
    raw: &CommonKeys,
    own: DeTable,
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
    let channel = (kind.build)(own, b)?;
    Some(AlertSpec {
        name: raw.name.clone().unwrap_or_else(|| raw.kind.clone()),
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
        let spans = Spans::of(prefix.clone(), &value);
        let (common, own) = split_keys(errors, &prefix, value, kind);
        let Some(raw) = deserialize_table::<CommonKeys>(errors, &prefix, common) else {
            continue;
        };
        let Some(kind) = kind else { continue };
        let before = errors.list.len();
        let name = raw.name.clone().unwrap_or_else(|| raw.kind.clone());
        let spec = compile_alert(&raw, own, kind, &mut spans.builder(errors, None));
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

/// An `[[alert]]`'s keys: the common ones, and those of its channel type.
/// Any other key is reported as unknown, with the closest key this alert
/// has when it looks misspelt.
fn split_keys<'a>(
    errors: &mut Errors,
    prefix: &str,
    value: Spanned<DeValue<'a>>,
    kind: Option<&notify::ChannelKind>,
) -> (Spanned<DeValue<'a>>, DeTable<'a>) {
    let span = value.span();
    let common_keys = serde_introspect::<CommonKeys>();
    let own_keys = kind.map_or(&[][..], |k| (k.keys)());
    let mut common = DeTable::new();
    let mut own = DeTable::new();
    if let DeValue::Table(table) = value.into_inner() {
        for (k, v) in table {
            let key: &str = k.get_ref();
            let path = format!("{prefix}.{key}");
            if common_keys.contains(&key) {
                common.insert(k, v);
            } else if own_keys.contains(&key) {
                own.insert(k, v);
            } else {
                let known: Vec<&str> = common_keys.iter().chain(own_keys).copied().collect();
                errors.push(k.span(), path, unknown_key_message(key, &known));
            }
        }
    }
    (Spanned::new(span, DeValue::Table(common)), own)
}

#[cfg(test)]
mod tests {
    use crate::notify::CHANNELS;

    fn errors(alert: &str) -> String {
        match crate::config::load_str("t.toml", &format!("[[alert]]\n{alert}")) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_misspelt_key_is_matched_against_the_common_and_the_channels_keys() {
        let shown = errors("type = \"telegram\"\nbot_token = \"1:a\"\nchat_idd = \"1\"\n");
        assert!(
            shown.contains("unknown key chat_idd, did you mean chat_id?"),
            "{shown}"
        );
        let shown =
            errors("type = \"telegram\"\nbot_token = \"1:a\"\nchat_id = \"1\"\nfalback = \"x\"\n");
        assert!(
            shown.contains("unknown key falback, did you mean fallback?"),
            "{shown}"
        );
    }

    #[test]
    fn a_wrong_type_in_a_channels_own_key_is_reported_at_that_key() {
        let shown = errors(
            "type = \"email\"\nhost = \"localhost\"\nport = \"x\"\nfrom = \"a@b.c\"\nto = [\"a@b.c\"]\n",
        );
        assert!(shown.contains("t.toml:4:8"), "{shown}");
        assert!(shown.contains("port"), "{shown}");
    }

    #[test]
    fn each_channels_secret_keys_are_among_its_own_keys() {
        for channel in CHANNELS {
            let keys = (channel.keys)();
            for secret in channel.secret_keys.iter().chain(channel.secret_tables) {
                assert!(
                    keys.contains(secret),
                    "{}: secret key {secret} is not one of its keys {keys:?}",
                    channel.name
                );
            }
        }
    }
}
