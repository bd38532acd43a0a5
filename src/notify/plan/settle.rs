//! `settle` and `merge`: what the channels' answers mean for the outbox
//! (accepted, retried, handed to the fallback), and one report per channel.

use std::collections::BTreeMap;

use super::turns::due;
use super::{AlertReport, Answer, Queued, Rules, Turn, Wait, for_channel, within_hour};
use crate::http::Failure;
use crate::schedule::hhmm;
use crate::spec::alert::Alerting;
use crate::state::State;

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
        let summaries = mine
            .iter()
            .take(from_outbox)
            .filter(|&&i| state.outbox[i].digest.is_summary())
            .count();
        for &i in mine.iter().take(from_outbox) {
            super::summary::delivered(state, i);
        }
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
                let alerts = accepted - summaries;
                if alerts > 1 {
                    report.detail = Some(format!(
                        "{alerts} digests, the earlier ones waiting from earlier runs"
                    ));
                }
                if summaries > 0 {
                    let detail = report.detail.get_or_insert_default();
                    if !detail.is_empty() {
                        detail.push_str("; ");
                    }
                    detail.push_str("the daily summary");
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
                        super::summary::delivered(state, i);
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
            let waited = crate::model::timer::passed(alert.fallback_after, p.digest.at, now);
            if p.channel != alert.name
                || p.digest.on_behalf_of.is_some()
                || !waited
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
            let line = format!(
                "{} handed to fallback {to}",
                crate::model::count(*n, "digest", "digests")
            );
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
