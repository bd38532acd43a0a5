//! `turns`: what each channel is given this run, and when a failing
//! channel is tried again.

use std::time::Duration;

use super::{EVERY_RUN_FOR, MAX_BACKOFF, Rules, TIMER_SLACK};
use crate::http::Failure;
use crate::model::{Digest, Event, EventKind, Status};
use crate::state::{Deliveries, State};

/// One channel's turn in this run: the digests to send, in order, and how
/// many tries each may take.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub channel: String,
    pub digests: Vec<Digest>,
    pub tries: u32,
    /// The first digest says how many alerts the fallback delivered while
    /// this channel was failing.
    pub notice: bool,
}

/// How a turn went: how many of its digests were accepted (the first ones:
/// a turn stops at its first failure), and that failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub channel: String,
    pub accepted: usize,
    pub failure: Option<Failure>,
}

/// Why a channel with waiting digests gets no turn now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Wait {
    /// Only held (non-critical) digests wait, and quiet hours last.
    Quiet,
    /// It is failing: the next try is due then.
    Backoff(jiff::Timestamp),
}

/// The outbox entries a turn of `channel` covers now, in order.
pub(super) fn due(state: &State, channel: &str, quiet: bool) -> Vec<usize> {
    (0..state.outbox.len())
        .filter(|i| {
            let p = &state.outbox[*i];
            p.channel == channel && !(quiet && p.quiet)
        })
        .collect()
}

/// When a failing channel may be tried again: every run during its first
/// 5 minutes of failure, then after a quarter of the time it has been
/// failing (at most 15 minutes, less a minute of timer jitter), and never
/// before its receiver's `Retry-After`.
pub fn next_try(d: &Deliveries, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
    let since = d.failing_since?.min(now);
    let last = d.last_try.unwrap_or(since).min(now);
    let failing_for = last.duration_since(since).unsigned_abs();
    // A timer's jitter (a run a few seconds early, `RandomizedDelaySec`)
    // must never skip a run: a try due within a minute is due.
    let pause = if failing_for < EVERY_RUN_FOR {
        Duration::ZERO
    } else {
        (failing_for / 4)
            .min(MAX_BACKOFF)
            .saturating_sub(TIMER_SLACK)
    };
    let after_pause = last
        .checked_add(jiff::SignedDuration::try_from(pause).unwrap_or_default())
        .unwrap_or(last);
    Some(match d.not_before {
        Some(nb) => after_pause.max(nb),
        None => after_pause,
    })
}

/// Each channel's turn now, for the channels `among` names (all when
/// `None`): its due digests, the fallback notice first. Channels with
/// waiting digests and no turn are returned with the reason.
pub fn turns(
    state: &State,
    rules: &Rules,
    now: jiff::Timestamp,
    among: Option<&[String]>,
) -> (Vec<Turn>, Vec<(String, Wait)>) {
    let mut turns = Vec::new();
    let mut waits = Vec::new();
    for alert in rules.alerts {
        if among.is_some_and(|names| !names.contains(&alert.name)) {
            continue;
        }
        let counts = state
            .deliveries
            .get(&alert.name)
            .cloned()
            .unwrap_or_default();
        let mine = due(state, &alert.name, rules.quiet);
        let mut digests: Vec<Digest> = Vec::new();
        let notice = counts.handed_over > 0;
        if notice {
            digests.push(handover_notice(&alert.name, &counts, rules.host, now));
        }
        digests.extend(mine.iter().map(|i| state.outbox[*i].digest.clone()));
        if digests.is_empty() {
            if state.outbox.iter().any(|p| p.channel == alert.name) {
                waits.push((alert.name.clone(), Wait::Quiet));
            }
            continue;
        }
        if let Some(at) = next_try(&counts, now).filter(|at| *at > now) {
            waits.push((alert.name.clone(), Wait::Backoff(at)));
            continue;
        }
        let tries = if counts.failing_since.is_some() {
            1
        } else {
            crate::http::MAX_ATTEMPTS
        };
        turns.push(Turn {
            channel: alert.name.clone(),
            digests,
            tries,
            notice,
        });
    }
    (turns, waits)
}

/// "3 alerts were delivered by email while discord was failing".
fn handover_notice(channel: &str, counts: &Deliveries, host: &str, now: jiff::Timestamp) -> Digest {
    let to = counts.handed_to.as_deref().unwrap_or("the fallback");
    let since = counts
        .failing_since
        .map(|t| format!(" (since {})", t.strftime("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    Digest {
        host: host.to_string(),
        at: now,
        events: vec![Event {
            kind: EventKind::Trouble,
            subject: "healthcheck".into(),
            status: Status::Ok,
            message: format!(
                "{} delivered by {to} while {channel} was failing{since}",
                crate::model::count(counts.handed_over as usize, "alert was", "alerts were")
            ),
            hint: None,
        }],
        held_back: Vec::new(),
        still_failing: Vec::new(),
        suppressed: 0,
        on_behalf_of: None,
        details: None,
    }
}
