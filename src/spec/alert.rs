//! `[alerting]` and `[[alert]]`, compiled: when to tell, and where.

use std::sync::Arc;
use std::time::Duration;

use crate::model::Status;
use crate::spec::channel::Channel;

/// How long one channel may take in a run, unless its `timeout` says otherwise.
pub const DEFAULT_CHANNEL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a digest may fail on a channel before its `fallback` gets it.
pub const DEFAULT_FALLBACK_AFTER: Duration = Duration::from_secs(5 * 60);

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
    /// Another channel's name: it gets each digest this one could not
    /// deliver (refused for good, or still failing after `fallback_after`).
    pub fallback: Option<String>,
    pub fallback_after: Duration,
    /// The most this channel may take in one run (all tries together).
    pub timeout: Duration,
    pub channel: Arc<dyn Channel>,
}
