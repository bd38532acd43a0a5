//! What the daily summary is made from, kept small in the state: a log of
//! incidents (one check's confirmed problem from its start to its end,
//! the worst status it reached and the actions taken for it), hourly
//! tallies of missed runs, restarts and alerts, and when each channel last
//! received a summary. Everything here is bounded: incidents for 7 days
//! and at most 200 of them, messages and action lists cut, tallies for the
//! last 24 hours only. A quiet run changes nothing here (an hour's tally
//! is made only when there is something to count), so the store can still
//! skip rewriting a state where only `last_run` moved.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::Status;

/// How long an ended incident is kept.
pub const KEEP: Duration = Duration::from_secs(7 * 24 * 3600);
/// The most incidents kept (the oldest go first).
pub const MAX_INCIDENTS: usize = 200;
/// The most actions kept per incident (the first ones).
pub const MAX_ACTIONS: usize = 20;
/// The longest message kept, in characters.
pub const MAX_MESSAGE: usize = 200;
/// How far back the tallies reach.
pub const TALLY_SPAN: Duration = Duration::from_secs(24 * 3600);

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Daily {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<Incident>,
    /// One tally per hour (UTC) that had something to count, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hours: Vec<Tally>,
    /// Per channel: when the summary it last accepted was made.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub summarized: BTreeMap<String, jiff::Timestamp>,
}

/// One check's confirmed problem, from its start to its end.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Incident {
    pub check: String,
    pub start: jiff::Timestamp,
    /// When it was OK again (absent while it lasts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<jiff::Timestamp>,
    pub worst: Status,
    /// What the check said at its worst, cut to `MAX_MESSAGE`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Taken>,
}

/// An action taken during an incident.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Taken {
    pub at: jiff::Timestamp,
    /// "restart bot", "run token-refresh".
    pub what: String,
    /// `ok` or `failed`; `told` for the request for a human at the end
    /// of an escalation ladder.
    pub outcome: String,
    /// Whether the re-check after it found the check OK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helped: Option<bool>,
}

/// What happened in one hour.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Tally {
    /// The hour's start.
    pub hour: jiff::Timestamp,
    /// Runs that should have happened (by `expected_interval`) and did not.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub missed: u32,
    /// Restarts started, per service.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub restarts: BTreeMap<String, u32>,
    /// Alert digests delivered.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sent: u32,
    /// Alert digests that could not go out at once and wait in the outbox.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub queued: u32,
    /// Alert digests given up on.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn age(then: jiff::Timestamp, now: jiff::Timestamp) -> Duration {
    now.duration_since(then.min(now)).unsigned_abs()
}

/// `text` cut to `MAX_MESSAGE` characters.
pub fn short(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_MESSAGE - 1).collect();
    out.push('…');
    out
}

impl Daily {
    pub fn is_empty(&self) -> bool {
        self.incidents.is_empty() && self.hours.is_empty() && self.summarized.is_empty()
    }

    /// The tally of the hour `now` falls in (made when missing).
    pub fn tally(&mut self, now: jiff::Timestamp) -> &mut Tally {
        let secs = now.as_second();
        let hour = jiff::Timestamp::from_second(secs - secs.rem_euclid(3600)).unwrap_or(now);
        if self.hours.last().is_none_or(|t| t.hour != hour) {
            self.hours.push(Tally {
                hour,
                ..Tally::default()
            });
        }
        let last = self.hours.len() - 1;
        &mut self.hours[last]
    }

    /// The tallies of the last 24 hours, summed.
    pub fn day(&self, now: jiff::Timestamp) -> Tally {
        let mut sum = Tally::default();
        for t in self.hours.iter().filter(|t| age(t.hour, now) < TALLY_SPAN) {
            sum.missed += t.missed;
            sum.sent += t.sent;
            sum.queued += t.queued;
            sum.dropped += t.dropped;
            for (service, n) in &t.restarts {
                *sum.restarts.entry(service.clone()).or_default() += n;
            }
        }
        sum
    }

    /// The open incident of `check`, if any.
    pub fn open(&mut self, check: &str) -> Option<&mut Incident> {
        self.incidents
            .iter_mut()
            .rev()
            .find(|i| i.check == check && i.end.is_none())
    }

    /// Forget what is older than its keep: ended incidents after 7 days,
    /// the oldest beyond 200, tallies after 24 hours.
    pub fn prune(&mut self, now: jiff::Timestamp) {
        self.incidents
            .retain(|i| i.end.is_none_or(|end| age(end, now) <= KEEP));
        let over = self.incidents.len().saturating_sub(MAX_INCIDENTS);
        self.incidents.drain(..over);
        self.hours
            .retain(|t| age(t.hour, now) < TALLY_SPAN + Duration::from_secs(3600));
    }
}

impl Incident {
    pub fn took(&mut self, taken: Taken) {
        if self.actions.len() < MAX_ACTIONS {
            self.actions.push(taken);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn incident(check: &str, end: Option<&str>) -> Incident {
        Incident {
            check: check.into(),
            start: at("2026-01-01T00:00:00Z"),
            end: end.map(at),
            worst: Status::Critical,
            message: String::new(),
            actions: Vec::new(),
        }
    }

    #[test]
    fn ended_incidents_go_after_seven_days_and_open_ones_stay() {
        let mut d = Daily::default();
        d.incidents
            .push(incident("old", Some("2026-01-01T01:00:00Z")));
        d.incidents.push(incident("open", None));
        d.incidents
            .push(incident("recent", Some("2026-01-07T00:00:00Z")));
        d.prune(at("2026-01-08T02:00:00Z"));
        let names: Vec<&str> = d.incidents.iter().map(|i| i.check.as_str()).collect();
        assert_eq!(names, ["open", "recent"]);
    }

    #[test]
    fn the_log_keeps_at_most_200_incidents_the_newest() {
        let mut d = Daily::default();
        for i in 0..250 {
            d.incidents
                .push(incident(&format!("c{i}"), Some("2026-01-01T01:00:00Z")));
        }
        d.prune(at("2026-01-01T02:00:00Z"));
        assert_eq!(d.incidents.len(), MAX_INCIDENTS);
        assert_eq!(d.incidents[0].check, "c50");
    }

    #[test]
    fn messages_are_cut_and_actions_capped() {
        assert_eq!(short(&"x".repeat(500)).chars().count(), MAX_MESSAGE);
        let mut i = incident("c", None);
        for _ in 0..30 {
            i.took(Taken {
                at: at("2026-01-01T00:00:00Z"),
                what: "restart bot".into(),
                outcome: "ok".into(),
                helped: Some(false),
            });
        }
        assert_eq!(i.actions.len(), MAX_ACTIONS);
    }

    #[test]
    fn tallies_are_hourly_and_the_day_sums_the_last_24_hours() {
        let mut d = Daily::default();
        d.tally(at("2026-01-01T00:10:00Z")).missed += 1;
        d.tally(at("2026-01-01T00:50:00Z")).missed += 1;
        d.tally(at("2026-01-01T05:00:00Z")).sent += 2;
        *d.tally(at("2026-01-02T03:00:00Z"))
            .restarts
            .entry("bot".into())
            .or_default() += 1;
        assert_eq!(d.hours.len(), 3);
        let day = d.day(at("2026-01-02T04:00:00Z"));
        assert_eq!((day.missed, day.sent), (0, 2));
        assert_eq!(day.restarts["bot"], 1);
        d.prune(at("2026-01-02T04:00:00Z"));
        assert_eq!(d.hours.len(), 2);
    }
}
