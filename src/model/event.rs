//! What a run has to tell: events, and the digest one channel is given.
//! Its serde form is part of the state file's outbox and of the JSON report.

use serde::{Deserialize, Serialize};

use super::Status;

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
    /// Every step of a check's `escalate` ladder ran and it still fails.
    Manual,
    /// healthcheck's own trouble: state file, missed runs, undeliverable channel.
    Trouble,
    /// `healthcheck test-alert`.
    Test,
    /// The daily summary (`[summary]`): its message is the whole report,
    /// sections of lines separated by a blank line.
    Summary,
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
    /// Delivered here as the fallback of this channel, which could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// Where the status page is served (`[page] url`): the message ends
    /// with "details: URL". Set as it is sent, never kept in the outbox.
    #[serde(skip)]
    pub details: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Digest {
    /// Is this the daily summary (its one event)?
    pub fn is_summary(&self) -> bool {
        self.events
            .first()
            .is_some_and(|e| e.kind == EventKind::Summary)
    }

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
}
