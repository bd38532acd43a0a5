//! The delivery rules, as pure functions of the outbox, this run's events,
//! the config and the clock, so that every rule is unit-tested with a fixed
//! clock like `decide`. Nothing here sends, reads the clock or a file.
//!
//! - `enqueue`: this run's events become one digest per channel in the
//!   outbox (during quiet hours the non-critical part waits in its own);
//!   `max_per_hour` counts what it holds back into the next digest.
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
//! - `unsaved`: without a state to remember what was told, at most one
//!   message an hour per channel says so (a marker outside the state keeps
//!   the hour).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::{Failure, reaches};
use crate::config::alert::{AlertSpec, Alerting};
use crate::model::Status;
use crate::model::{Digest, Event, EventKind};
use crate::schedule::hhmm;
use crate::state::{Deliveries, Pending, State};

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
            detail: Some(format!("would send {n} event(s); not sent: {why}")),
        })
        .collect()
}

fn within_hour(sent: &mut Vec<jiff::Timestamp>, now: jiff::Timestamp) {
    sent.retain(|t| now.duration_since((*t).min(now)).unsigned_abs() < Duration::from_secs(3600));
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
        if !joins && counts.sent.len() as u32 >= rules.alerting.max_per_hour {
            counts.suppressed = counts.suppressed.saturating_add(wanted.len() as u32);
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
            let digest = Digest {
                host: rules.host.to_string(),
                at: now,
                events,
                suppressed: std::mem::take(&mut counts.suppressed),
                on_behalf_of: None,
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
            "{drop} undelivered digest(s) for {} dropped: over {MAX_PENDING} waiting",
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
fn due(state: &State, channel: &str, quiet: bool) -> Vec<usize> {
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
            super::http::MAX_ATTEMPTS
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
                "{} alert(s) were delivered by {to} while {channel} was failing{since}",
                counts.handed_over
            ),
            hint: None,
        }],
        suppressed: 0,
        on_behalf_of: None,
    }
}

/// Apply this round's answers to the outbox and the channels' delivery
/// state, then move to each failing channel's fallback what it refused for
/// good or could not deliver within `fallback_after`. Returns a report per
/// channel that had a turn or waits, the channels that were handed digests
/// (for a second round), and notes on dropped digests.
pub fn settle(
    state: &mut State,
    rules: &Rules,
    turns: &[Turn],
    answers: &[Answer],
    waits: &[(String, Wait)],
    now: jiff::Timestamp,
) -> Settled {
    let mut settled = Settled::default();
    let mut moves: Vec<(usize, String)> = Vec::new();
    for turn in turns {
        let answer = answers.iter().find(|a| a.channel == turn.channel);
        let accepted = answer.map_or(0, |a| a.accepted);
        let failure = answer.and_then(|a| a.failure.clone()).or_else(|| {
            (accepted < turn.digests.len()).then(|| Failure::retry("no answer within its timeout"))
        });
        let notice_told = turn.notice && accepted > 0;
        let from_outbox = accepted - usize::from(notice_told);
        let mine = due(state, &turn.channel, rules.quiet);
        settled.gone.extend(mine.iter().take(from_outbox).copied());
        // A digest refused for good leaves the channel, for its fallback.
        let refused = failure
            .as_ref()
            .filter(|f| !f.retry)
            .filter(|_| !(turn.notice && accepted == 0))
            .and_then(|_| mine.get(from_outbox).copied());
        let refused_to = refused.and_then(|i| hand_over(state, rules, i));
        let mut report = AlertReport {
            channel: turn.channel.clone(),
            outcome: "sent",
            events: 0,
            waiting: 0,
            detail: None,
        };
        let counts = state.deliveries.entry(turn.channel.clone()).or_default();
        within_hour(&mut counts.sent, now);
        counts.sent.extend((0..accepted).map(|_| now));
        if notice_told {
            counts.handed_over = 0;
            counts.handed_to = None;
        }
        match failure {
            None => {
                counts.failing_since = None;
                counts.last_try = None;
                counts.not_before = None;
                if accepted > 1 {
                    report.detail = Some(format!(
                        "{accepted} digests, the earlier ones waiting from earlier runs"
                    ));
                }
            }
            Some(f) => {
                counts.failing_since.get_or_insert(now);
                counts.last_try = Some(now);
                counts.not_before = f.retry_after.and_then(|wait| {
                    now.checked_add(jiff::SignedDuration::try_from(wait).ok()?)
                        .ok()
                });
                let mut detail = f.message.clone();
                report.outcome = if f.retry { "queued" } else { "failed" };
                if !f.retry && turn.notice && accepted == 0 {
                    // The notice itself was refused: nothing is lost by dropping it.
                    counts.handed_over = 0;
                    counts.handed_to = None;
                }
                match (refused, refused_to) {
                    (Some(i), Some(to)) => {
                        settled.gone.push(i);
                        detail.push_str(&format!("; that digest goes to {to} instead"));
                        moves.push((i, to));
                    }
                    (Some(i), None) => {
                        settled.gone.push(i);
                        settled.notes.push(format!(
                            "an alert digest for {} was refused for good and dropped ({}); a fallback would have caught it",
                            turn.channel, f.message
                        ));
                        detail.push_str("; that digest is dropped (no fallback)");
                    }
                    _ => {}
                }
                report.detail = Some(detail);
            }
        }
        settled.reports.push(report);
    }
    for (channel, wait) in waits {
        let detail = match wait {
            Wait::Quiet => "held until the quiet schedule ends".to_string(),
            Wait::Backoff(at) => {
                let since = state
                    .deliveries
                    .get(channel)
                    .and_then(|d| d.failing_since)
                    .map(|t| format!(" since {}", hhmm(t)))
                    .unwrap_or_default();
                format!("failing{since}; next try at {}", hhmm(*at))
            }
        };
        settled.reports.push(AlertReport {
            channel: channel.clone(),
            outcome: "queued",
            events: 0,
            waiting: 0,
            detail: Some(detail),
        });
    }
    // A failing channel's digests that waited `fallback_after` go too.
    for alert in rules.alerts {
        let failing = state
            .deliveries
            .get(&alert.name)
            .is_some_and(|d| d.failing_since.is_some());
        if !failing || alert.fallback.is_none() {
            continue;
        }
        for i in 0..state.outbox.len() {
            let p = &state.outbox[i];
            let waited = now.duration_since(p.digest.at.min(now)).unsigned_abs();
            if p.channel != alert.name
                || p.digest.on_behalf_of.is_some()
                || waited < alert.fallback_after
                || settled.gone.contains(&i)
            {
                continue;
            }
            if let Some(to) = hand_over(state, rules, i) {
                settled.gone.push(i);
                moves.push((i, to));
            }
        }
    }
    // Moved digests join their fallback's outbox in their order.
    let mut moved_to: BTreeMap<String, usize> = BTreeMap::new();
    let mut arrivals = Vec::new();
    moves.sort_by_key(|(i, _)| *i);
    for (i, to) in &moves {
        let mut pending = state.outbox[*i].clone();
        let counts = state.deliveries.entry(pending.channel.clone()).or_default();
        counts.handed_over = counts.handed_over.saturating_add(1);
        counts.handed_to = Some(to.clone());
        *moved_to.entry(pending.channel.clone()).or_default() += 1;
        // The fallback never gets an event twice: what it takes on its
        // own (its `min_severity`) it was given in its own digest.
        if let Some(fallback) = rules.channel(to) {
            pending
                .digest
                .events
                .retain(|e| for_channel(std::slice::from_ref(e), fallback).is_empty());
        }
        if pending.digest.events.is_empty() && pending.digest.suppressed == 0 {
            continue;
        }
        pending.digest.on_behalf_of = Some(pending.channel.clone());
        pending.channel = to.clone();
        pending.fresh = false;
        arrivals.push(pending);
    }
    let mut index = 0;
    state.outbox.retain(|_| {
        let keep = !settled.gone.contains(&index);
        index += 1;
        keep
    });
    for pending in arrivals {
        if !settled.handed.contains(&pending.channel) {
            settled.handed.push(pending.channel.clone());
        }
        state.outbox.push(pending);
    }
    for report in &mut settled.reports {
        report.waiting = state
            .outbox
            .iter()
            .filter(|p| p.channel == report.channel)
            .count();
        if let Some(n) = moved_to.get(&report.channel) {
            let to = rules
                .channel(&report.channel)
                .and_then(|a| a.fallback.clone())
                .unwrap_or_default();
            let line = format!("{n} digest(s) handed to fallback {to}");
            report.detail = Some(match report.detail.take() {
                Some(d) => format!("{d}; {line}"),
                None => line,
            });
        }
    }
    settled
}

/// What `settle` found.
#[derive(Debug, Default)]
pub struct Settled {
    pub reports: Vec<AlertReport>,
    /// Fallback channels that were handed digests in this round.
    pub handed: Vec<String>,
    pub notes: Vec<String>,
    /// Outbox positions (before settling) that left their channel.
    gone: Vec<usize>,
}

/// The fallback that takes outbox entry `i` from its channel, if any: a
/// configured channel other than itself, and never a digest that is
/// itself a fallback's (no chains, no loops).
fn hand_over(state: &State, rules: &Rules, i: usize) -> Option<String> {
    let p = &state.outbox[i];
    if p.digest.on_behalf_of.is_some() {
        return None;
    }
    let to = rules.channel(&p.channel)?.fallback.clone()?;
    (to != p.channel && rules.channel(&to).is_some()).then_some(to)
}

/// One report per channel from the rounds of a run: the worst outcome,
/// this run's event count, the last count waiting, every detail.
pub fn merge(
    rounds: Vec<AlertReport>,
    queued: &BTreeMap<String, Queued>,
    alerting: &Alerting,
) -> Vec<AlertReport> {
    let rank = |o: &str| match o {
        "failed" => 3,
        "queued" => 2,
        "suppressed" => 1,
        _ => 0,
    };
    let mut merged: Vec<AlertReport> = Vec::new();
    for r in rounds {
        match merged.iter_mut().find(|m| m.channel == r.channel) {
            Some(m) => {
                if rank(r.outcome) > rank(m.outcome) {
                    m.outcome = r.outcome;
                }
                m.waiting = r.waiting;
                m.detail = match (m.detail.take(), r.detail) {
                    (Some(a), Some(b)) => Some(format!("{a}; {b}")),
                    (a, b) => a.or(b),
                };
            }
            None => merged.push(r),
        }
    }
    for (channel, q) in queued {
        if q.suppressed && !merged.iter().any(|m| &m.channel == channel) {
            merged.push(AlertReport {
                channel: channel.clone(),
                outcome: "suppressed",
                events: 0,
                waiting: 0,
                detail: Some(format!(
                    "max_per_hour ({}) reached; they are counted in the next digest",
                    alerting.max_per_hour
                )),
            });
        }
    }
    for m in &mut merged {
        m.events = queued.get(&m.channel).map_or(0, |q| q.events);
    }
    merged
}

/// Without a saved state: the turns that tell each channel that takes
/// warnings (this is healthcheck's own UNKNOWN), at most once an hour (`last_told` comes from the marker outside the state), that the
/// state cannot be saved and what that means, with this run's news.
/// Channels told within the hour get a report instead.
pub fn unsaved(
    rules: &Rules,
    events: &[Event],
    why: &str,
    last_told: &BTreeMap<String, jiff::Timestamp>,
    now: jiff::Timestamp,
) -> (Vec<Turn>, Vec<AlertReport>) {
    let mut turns = Vec::new();
    let mut reports = Vec::new();
    for alert in rules
        .alerts
        .iter()
        .filter(|a| reaches(Status::Unknown, a.min_severity))
    {
        let wanted = for_channel(events, alert);
        if let Some(at) = last_told.get(&alert.name).map(|t| (*t).min(now))
            && now.duration_since(at).unsigned_abs() < UNSAVED_EVERY
        {
            reports.push(AlertReport {
                channel: alert.name.clone(),
                outcome: "suppressed",
                events: wanted.len(),
                waiting: 0,
                detail: Some(format!(
                    "the state cannot be saved, so this channel hears at most once an hour (last at {})",
                    hhmm(at)
                )),
            });
            continue;
        }
        let mut told = vec![Event {
            kind: EventKind::Trouble,
            subject: "healthcheck".into(),
            status: Status::Unknown,
            message: format!(
                "the state cannot be saved ({why}): healthcheck cannot remember what it told you, so until this is fixed each channel gets at most one message an hour (this one), and no restarts run"
            ),
            hint: None,
        }];
        told.extend(
            wanted
                .into_iter()
                .filter(|e| e.kind != EventKind::Trouble)
                .map(redacted),
        );
        turns.push(Turn {
            channel: alert.name.clone(),
            digests: vec![Digest {
                host: rules.host.to_string(),
                at: now,
                events: told,
                suppressed: 0,
                on_behalf_of: None,
            }],
            tries: super::http::MAX_ATTEMPTS,
            notice: false,
        });
    }
    (turns, reports)
}

#[cfg(test)]
mod tests;
