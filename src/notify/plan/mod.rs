//! The delivery rules, as pure functions of the outbox, this run's events,
//! the config and the clock, so that every rule is unit-tested with a fixed
//! clock like `decide`. Nothing here sends, reads the clock or a file.
//!
//! - `enqueue`: this run's events become one digest per channel in the
//!   outbox (during quiet hours the non-critical part waits in its own);
//!   `max_per_hour` holds back a run's news unless it has a first
//!   CRITICAL, a manual-intervention step or a suspension; the next
//!   message tells what was held back.
//! - `expire`: what no channel will take any more (removed channels,
//!   digests older than 24 h, over 200 waiting) leaves with a note.
//! - `turns`: what each channel is given this run: its waiting digests in
//!   order, unless quiet hours or its backoff say "not now". A channel that
//!   fails is tried once per run, then at growing intervals, never in a
//!   burst every minute.
//! - `settle`: what the answers mean. Accepted digests leave the outbox;
//!   a digest refused for good, or failing longer than `fallback_after`,
//!   moves to the channel's fallback exactly once, in order; the primary
//!   later gets one line saying how many alerts its fallback delivered.
//! - `summary`: the daily summary queued as a digest of its own; its
//!   channel is marked as having had it only once it accepted it.
//! - `unsaved`: without a state to remember what was told, at most one
//!   message an hour per channel says so (a marker outside the state keeps
//!   the hour).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

mod settle;
pub mod summary;
mod turns;
mod unsaved;

use super::reaches;
use crate::model::Status;
use crate::model::{Digest, Event, EventKind, Failing, HeldBack};
use crate::spec::alert::{AlertSpec, Alerting};
use crate::state::{Pending, State};

/// How long an undelivered digest is kept.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);
/// The most digests one channel keeps waiting.
pub const MAX_PENDING: usize = 200;
/// A failing channel is tried on every run for this long.
pub const EVERY_RUN_FOR: Duration = Duration::from_secs(5 * 60);
/// How early a timer may fire without its run losing a due try.
pub const TIMER_SLACK: Duration = Duration::from_secs(60);
/// The longest pause between two tries of a failing channel.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// The most held-back events a channel keeps to tell (the rest are counted).
pub const HELD_KEPT: usize = 20;
/// Without a saved state, how often a channel hears about it.
pub const UNSAVED_EVERY: Duration = Duration::from_secs(3600);

/// What the rules need of the config and the moment.
pub struct Rules<'a> {
    pub alerts: &'a [AlertSpec],
    pub alerting: &'a Alerting,
    pub host: &'a str,
    /// `[alerting] quiet` is in force now.
    pub quiet: bool,
}

impl Rules<'_> {
    fn channel(&self, name: &str) -> Option<&AlertSpec> {
        self.alerts.iter().find(|a| a.name == name)
    }
}

/// What happened to one channel this run (`alerts` in the JSON report).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct AlertReport {
    pub channel: String,
    /// `sent`, `failed` (refused for good), `queued` (waits for a later
    /// run) or `suppressed` (not sent by rule: max_per_hour, a diagnosis).
    pub outcome: &'static str,
    /// Events in this run's news for the channel.
    pub events: usize,
    /// Digests still waiting for the channel after this run.
    #[serde(skip_serializing_if = "is_zero")]
    pub waiting: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The events a channel wants: at or above its `min_severity`; tests always.
pub fn for_channel(events: &[Event], alert: &AlertSpec) -> Vec<Event> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::Test || reaches(e.status, alert.min_severity))
        .cloned()
        .collect()
}

/// What each channel would have been told, when nothing is sent
/// (`--no-alert`, `--dry-run`, `--no-restart`).
pub fn not_sent(alerts: &[AlertSpec], events: &[Event], why: &str) -> Vec<AlertReport> {
    alerts
        .iter()
        .map(|a| (a, for_channel(events, a).len()))
        .filter(|(_, n)| *n > 0)
        .map(|(a, n)| AlertReport {
            channel: a.name.clone(),
            outcome: "suppressed",
            events: n,
            waiting: 0,
            detail: Some(format!(
                "would send {}; not sent: {why}",
                crate::model::count(n, "event", "events")
            )),
        })
        .collect()
}

fn within_hour(sent: &mut Vec<jiff::Timestamp>, now: jiff::Timestamp) {
    sent.retain(|t| !crate::model::timer::passed(Duration::from_secs(3600), *t, now));
}

/// Queue `events` as this run's digest for each channel that wants some,
/// joining the digest this run queued already (so a run's news is one
/// digest per channel, however many times it queues). Returns, per
/// channel, how many events it was given and whether `max_per_hour` held
/// them back.
pub fn enqueue(
    state: &mut State,
    rules: &Rules,
    events: &[Event],
    now: jiff::Timestamp,
) -> BTreeMap<String, Queued> {
    let mut queued = BTreeMap::new();
    for alert in rules.alerts {
        // What waits in the state and goes to a receiver is redacted once,
        // here: a secret in a check's message never reaches either.
        let wanted: Vec<Event> = for_channel(events, alert)
            .into_iter()
            .map(redacted)
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let counts = state.deliveries.entry(alert.name.clone()).or_default();
        within_hour(&mut counts.sent, now);
        let joins = state
            .outbox
            .iter()
            .any(|p| p.fresh && p.channel == alert.name);
        let entry: &mut Queued = queued.entry(alert.name.clone()).or_default();
        entry.events += wanted.len();
        let capped = counts.sent.len() as u32 >= rules.alerting.max_per_hour;
        if !joins && capped && !wanted.iter().any(Event::passes_the_cap) {
            for event in wanted {
                if counts.held.len() < HELD_KEPT {
                    counts.held.push(HeldBack { at: now, event });
                } else {
                    counts.suppressed = counts.suppressed.saturating_add(1);
                }
            }
            entry.suppressed = true;
            continue;
        }
        // During the quiet schedule only critical news goes out now.
        let (now_events, later): (Vec<Event>, Vec<Event>) = wanted.into_iter().partition(|e| {
            !rules.quiet || (e.status == Status::Critical && e.kind != EventKind::Recovery)
        });
        for (events, held) in [(now_events, false), (later, true)] {
            if events.is_empty() {
                continue;
            }
            if let Some(p) = state
                .outbox
                .iter_mut()
                .find(|p| p.fresh && p.channel == alert.name && p.quiet == held)
            {
                p.digest.events.extend(events);
                continue;
            }
            let told: Vec<&str> = events.iter().map(|e| e.subject.as_str()).collect();
            let still_failing = still_failing(&state.checks, &told);
            let digest = Digest {
                host: rules.host.to_string(),
                at: now,
                events,
                held_back: std::mem::take(&mut counts.held),
                still_failing,
                suppressed: std::mem::take(&mut counts.suppressed),
                on_behalf_of: None,
                details: None,
            };
            state.outbox.push(Pending {
                channel: alert.name.clone(),
                digest,
                quiet: held,
                fresh: true,
            });
        }
    }
    queued
}

/// The announced problems that last, but for the checks `told`.
fn still_failing(
    checks: &BTreeMap<String, crate::state::CheckState>,
    told: &[&str],
) -> Vec<Failing> {
    checks
        .iter()
        .filter(|(name, c)| {
            c.notified.is_some() && !c.status.is_ok() && !told.contains(&name.as_str())
        })
        .map(|(name, c)| Failing {
            check: name.clone(),
            status: c.status,
        })
        .collect()
}

fn redacted(e: Event) -> Event {
    use crate::secret::redact;
    Event {
        subject: redact(&e.subject),
        message: redact(&e.message),
        hint: e.hint.as_deref().map(redact),
        ..e
    }
}

/// What `enqueue` did for one channel.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Queued {
    pub events: usize,
    /// `max_per_hour` held them back (they are counted into the next digest).
    pub suppressed: bool,
}

/// Drop what no channel will take: digests of channels no longer
/// configured, digests older than 24 h, and the oldest beyond 200 waiting
/// per channel. Returns a note for each drop of a configured channel.
pub fn expire(state: &mut State, rules: &Rules, now: jiff::Timestamp) -> Vec<String> {
    let mut notes = Vec::new();
    state.outbox.retain(|p| rules.channel(&p.channel).is_some());
    state
        .deliveries
        .retain(|name, _| rules.channel(name).is_some());
    let too_old = |p: &Pending| now.duration_since(p.digest.at.min(now)).unsigned_abs() > KEEP;
    for p in state.outbox.iter().filter(|p| too_old(p)) {
        notes.push(format!(
            "an alert digest for {} from {} was never delivered and is dropped after 24h",
            p.channel, p.digest.at
        ));
    }
    state.outbox.retain(|p| !too_old(p));
    for alert in rules.alerts {
        let waiting = state
            .outbox
            .iter()
            .filter(|p| p.channel == alert.name)
            .count();
        if waiting <= MAX_PENDING {
            continue;
        }
        let drop = waiting - MAX_PENDING;
        notes.push(format!(
            "{} for {} dropped: over {MAX_PENDING} waiting",
            crate::model::count(drop, "undelivered digest", "undelivered digests"),
            alert.name
        ));
        let mut seen = 0;
        state.outbox.retain(|p| {
            if p.channel != alert.name {
                return true;
            }
            seen += 1;
            seen > drop
        });
    }
    notes
}

pub use settle::{Settled, merge, settle};
pub use turns::{Answer, Turn, Wait, next_try, turns};
pub use unsaved::unsaved;

#[cfg(test)]
mod tests;
