//! `[alerting]` and `[[alert]]` (SPEC 9): when to tell, and where. Each
//! channel type validates its own keys (see `notify::CHANNELS`); this file
//! holds what all channels share.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::Builder;
use super::secret::Secret;
use crate::notify::{self, Channel};
use crate::status::Status;

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
    pub url: Option<Secret>,
    pub headers: Option<BTreeMap<String, Secret>>,
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
pub const COMMON_ALERT_KEYS: &[&str] = &["name", "type", "min_severity", "fallback"];

pub const ALERTING_KEYS: &[&str] = &["renotify", "resolved", "max_per_hour", "quiet"];

/// When to tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerting {
    /// Remind while a problem lasts; `None`: never.
    pub renotify: Option<Duration>,
    /// Tell when an announced problem clears.
    pub resolved: bool,
    /// Per channel; beyond it, one "N alerts suppressed" line.
    pub max_per_hour: u32,
    /// A schedule during which non-critical alerts wait.
    pub quiet: Option<String>,
}

impl Default for Alerting {
    fn default() -> Alerting {
        Alerting {
            renotify: Some(Duration::from_secs(4 * 3600)),
            resolved: true,
            max_per_hour: 20,
            quiet: None,
        }
    }
}

/// One channel, ready to deliver.
#[derive(Clone)]
pub struct AlertSpec {
    pub name: String,
    pub kind: &'static str,
    /// Events below this are not sent here.
    pub min_severity: Status,
    /// Another channel's name: sent there when this one fails.
    pub fallback: Option<String>,
    pub channel: Arc<dyn Channel>,
}

pub(super) fn compile_alerting(raw: RawAlerting, b: &mut Builder) -> Alerting {
    let default = Alerting::default();
    let renotify = match raw.renotify.as_deref() {
        None => default.renotify,
        Some("never") => None,
        Some(text) => b.duration("renotify", text).or(default.renotify),
    };
    Alerting {
        renotify,
        resolved: raw.resolved.unwrap_or(default.resolved),
        max_per_hour: raw.max_per_hour.unwrap_or(default.max_per_hour),
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
    let channel = (kind.build)(raw, b)?;
    Some(AlertSpec {
        name: raw.name.clone().unwrap_or_else(|| kind.name.to_string()),
        kind: kind.name,
        min_severity,
        fallback: raw.fallback.clone(),
        channel: Arc::from(channel),
    })
}
