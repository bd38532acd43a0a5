//! Events and digests for the unit tests of every layer, built one way:
//! a digest from `vps-1` at a fixed time.

use super::{Digest, Event, EventKind, Status};

impl Event {
    pub fn sample(kind: EventKind, subject: &str, status: Status, message: &str) -> Event {
        Event {
            kind,
            subject: subject.into(),
            status,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hinted(mut self, hint: &str) -> Event {
        self.hint = Some(hint.into());
        self
    }
}

impl Digest {
    /// `events` from host `vps-1`, told at 2026-11-22 05:00 UTC.
    pub fn sample(events: Vec<Event>) -> Digest {
        Digest {
            host: "vps-1".into(),
            at: "2026-11-22T05:00:00Z".parse().expect("a valid time"),
            events,
            held_back: Vec::new(),
            still_failing: Vec::new(),
            suppressed: 0,
            on_behalf_of: None,
            details: None,
        }
    }
}
