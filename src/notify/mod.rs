//! Alerts: what happened this run, as one digest per channel, delivered
//! so that nothing is lost and nothing is sent twice on purpose. `decide`
//! chooses the events; this module turns them into a digest per channel,
//! delivers it (with the outbox of earlier undelivered digests first, in
//! order) and reports what each channel said. A digest counts as sent
//! only after the channel accepted it.
//!
//! Adding a channel: a file here with a `KIND: ChannelKind` (its type name,
//! its keys, a `build` that validates the raw `[[alert]]` and returns a
//! `Channel`), listed in `CHANNELS`. Keep the payload a pure function of the
//! digest, and the `deliver` thin.

pub mod email;
pub mod message;

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::Builder;
use crate::config::alert::RawAlert;
use crate::status::Status;

/// Every channel type, by its `type = "..."` name.
pub const CHANNELS: &[&ChannelKind] = &[&email::KIND];

pub fn channel_kind(name: &str) -> Option<&'static ChannelKind> {
    CHANNELS.iter().copied().find(|k| k.name == name)
}

pub struct ChannelKind {
    pub name: &'static str,
    /// Keys beyond `name`, `type`, `min_severity`, `fallback`.
    pub keys: &'static [&'static str],
    pub build: fn(&RawAlert, &mut Builder) -> Option<Box<dyn Channel>>,
}

/// Delivers a digest somewhere.
pub trait Channel: Send + Sync {
    /// Deliver before `deadline`. `Ok` means the receiver accepted it.
    fn deliver(&self, digest: &Digest, deadline: Instant) -> Result<(), Failure>;
}

/// Why a delivery failed, already free of secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: String,
    /// Worth trying again on a later run (a 5xx or a timeout is; a
    /// deleted webhook, a 404, is not).
    pub retry: bool,
}

impl Failure {
    pub fn retry(message: impl Into<String>) -> Failure {
        Failure {
            message: crate::config::secret::redact(&message.into()),
            retry: true,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Failure {
        Failure {
            message: crate::config::secret::redact(&message.into()),
            retry: false,
        }
    }
}

/// What kind of thing an event tells.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A confirmed problem: new, or its severity changed.
    Problem,
    /// The problem still lasts (`renotify`).
    Reminder,
    /// An announced problem cleared.
    Recovery,
    /// The check changes status too often; its alerts are folded.
    Flapping,
    /// A restart or recovery command, and whether it helped.
    Action,
    /// A restart or recovery command failed.
    ActionFailed,
    /// An action was held (upstream down, guard) or the budget is used up.
    Held,
    /// healthcheck's own trouble: state file, missed runs, undeliverable channel.
    Trouble,
    /// `healthcheck test-alert`.
    Test,
}

/// One thing to tell.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    /// The check, service or "healthcheck".
    pub subject: String,
    /// The severity it is filed under; for a recovery, the problem's.
    pub status: Status,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Everything one channel is told by one run.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Digest {
    pub host: String,
    pub at: jiff::Timestamp,
    pub events: Vec<Event>,
    /// Events left out by `max_per_hour`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub suppressed: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Digest {
    /// The worst status among the events (a recovery counts as OK).
    pub fn status(&self) -> Status {
        Status::worst(self.events.iter().map(|e| {
            if e.kind == EventKind::Recovery {
                Status::Ok
            } else {
                e.status
            }
        }))
    }

    /// "[CRITICAL] vps-1: 2 problems", "[OK] vps-1: 1 recovered".
    pub fn title(&self) -> String {
        message::title(self)
    }
}

/// Does `status` reach `min`? UNKNOWN counts as a warning.
pub fn reaches(status: Status, min: Status) -> bool {
    let rank = |s: Status| match s {
        Status::Ok => 0,
        Status::Warning | Status::Unknown => 1,
        Status::Critical => 2,
    };
    rank(status) >= rank(min)
}
