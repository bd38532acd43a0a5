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
    /// What `max_per_hour` held back since the channel's last message,
    /// oldest first, told with this digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_back: Vec<HeldBack>,
    /// Announced problems still failing that this digest's events do not
    /// tell: the title is the worst current status, not only the news'.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub still_failing: Vec<Failing>,
    /// Events left out by `max_per_hour` beyond those in `held_back`.
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

/// An event `max_per_hour` held back, and when.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct HeldBack {
    pub at: jiff::Timestamp,
    pub event: Event,
}

/// A check whose announced problem lasts.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Failing {
    pub check: String,
    pub status: Status,
}

impl Event {
    /// News that goes out even when its channel reached `max_per_hour`:
    /// a first CRITICAL, a step that asks for manual intervention, and
    /// healthcheck's own critical trouble (an auto-restart suspended).
    pub fn passes_the_cap(&self) -> bool {
        match self.kind {
            EventKind::Problem | EventKind::Trouble => self.status == Status::Critical,
            EventKind::Manual => true,
            _ => false,
        }
    }
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

    /// The worst current status: the events' (a recovery counts as OK)
    /// and the problems still failing.
    pub fn status(&self) -> Status {
        let events = self.events.iter().map(|e| {
            if e.kind == EventKind::Recovery {
                Status::Ok
            } else {
                e.status
            }
        });
        Status::worst(events.chain(self.still_failing.iter().map(|f| f.status)))
    }
}
