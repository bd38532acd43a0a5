//! Delivery with memory: each channel's digests wait in the state's outbox
//! until the channel accepts them, oldest first, for up to 24 hours; at
//! most `max_per_hour` digests go to a channel, and what is held back is
//! counted into the next one. A digest leaves the outbox only after its
//! channel accepted it (or refused it for good, e.g. a deleted webhook).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Digest, Event, EventKind, reaches};
use crate::config::Config;
use crate::config::alert::AlertSpec;
use crate::state::{Pending, State};
use crate::status::Status;

/// How long an undelivered digest is kept.
const KEEP: Duration = Duration::from_secs(24 * 3600);
/// The most digests one channel keeps waiting.
const MAX_PENDING: usize = 200;

/// What happened to one channel this run (`alerts` in the JSON report).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct AlertReport {
    pub channel: String,
    /// `sent`, `failed` (and queued for the next run), `queued`, `suppressed`.
    pub outcome: &'static str,
    /// Events in this run's digest for the channel.
    pub events: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The events a channel wants: at or above its `min_severity`; tests always.
pub fn for_channel(events: &[Event], alert: &AlertSpec) -> Vec<Event> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::Test || reaches(e.status, alert.min_severity))
        .cloned()
        .collect()
}

/// What each channel would have been told, when nothing is sent.
pub fn not_sent(alerts: &[AlertSpec], events: &[Event], why: &str) -> Vec<AlertReport> {
    alerts
        .iter()
        .map(|a| (a, for_channel(events, a).len()))
        .filter(|(_, n)| *n > 0)
        .map(|(a, n)| AlertReport {
            channel: a.name.clone(),
            outcome: "suppressed",
            events: n,
            detail: Some(why.to_string()),
        })
        .collect()
}

/// Queue this run's digests and deliver every channel's outbox, before
/// `deadline`; during `[alerting] quiet`, non-critical events wait. `state` gets the new outbox and delivery counts. Returns a
/// report per channel that had something to do, and notes on dropped digests.
pub fn deliver(
    config: &Config,
    events: &[Event],
    now: jiff::Timestamp,
    state: &mut State,
    deadline: Instant,
) -> (Vec<AlertReport>, Vec<String>) {
    let (alerts, alerting, host) = (
        &config.alerts,
        &config.alerting,
        config.settings.hostname.as_str(),
    );
    let quiet = alerting
        .quiet
        .as_deref()
        .and_then(|q| config.schedule(q))
        .is_some_and(|s| s.contains(now));
    let mut reports = Vec::new();
    let mut notes = Vec::new();
    state
        .outbox
        .retain(|p| alerts.iter().any(|a| a.name == p.channel));
    let too_old = |p: &Pending| now.duration_since(p.digest.at.min(now)).unsigned_abs() > KEEP;
    for p in state.outbox.iter().filter(|p| too_old(p)) {
        notes.push(format!(
            "an alert digest for {} from {} was never delivered and is dropped after 24h",
            p.channel, p.digest.at
        ));
    }
    state.outbox.retain(|p| !too_old(p));

    for alert in alerts {
        let wanted = for_channel(events, alert);
        let counts = state.deliveries.entry(alert.name.clone()).or_default();
        counts.sent.retain(|t| {
            now.duration_since((*t).min(now)).unsigned_abs() < Duration::from_secs(3600)
        });
        let mut report = AlertReport {
            channel: alert.name.clone(),
            outcome: "sent",
            events: wanted.len(),
            detail: None,
        };
        if !wanted.is_empty() {
            if counts.sent.len() as u32 >= alerting.max_per_hour {
                counts.suppressed += wanted.len() as u32;
                report.outcome = "suppressed";
                report.detail = Some(format!(
                    "max_per_hour ({}) reached; they are counted in the next digest",
                    alerting.max_per_hour
                ));
                reports.push(report);
                continue;
            }
            // During the quiet schedule only critical news goes out now.
            let (now_events, later): (Vec<Event>, Vec<Event>) = wanted.into_iter().partition(|e| {
                !quiet || (e.status == Status::Critical && e.kind != EventKind::Recovery)
            });
            for (events, held) in [(now_events, false), (later, true)] {
                if events.is_empty() {
                    continue;
                }
                let digest = Digest {
                    host: host.to_string(),
                    at: now,
                    events,
                    suppressed: counts.suppressed,
                };
                counts.suppressed = 0;
                state.outbox.push(Pending {
                    channel: alert.name.clone(),
                    digest,
                    quiet: held,
                });
            }
        }
        let mine: Vec<usize> = (0..state.outbox.len())
            .filter(|i| {
                state.outbox[*i].channel == alert.name && !(quiet && state.outbox[*i].quiet)
            })
            .collect();
        if mine.is_empty() {
            if quiet && state.outbox.iter().any(|p| p.channel == alert.name) {
                report.outcome = "queued";
                report.detail = Some("held until the quiet schedule ends".into());
                reports.push(report);
            }
            continue;
        }
        let mut delivered = Vec::new();
        let mut failure = None;
        for i in &mine {
            let digest = &state.outbox[*i].digest;
            match alert.channel.deliver(digest, deadline) {
                Ok(()) => delivered.push(*i),
                Err(f) => {
                    let fallback = alert
                        .fallback
                        .as_ref()
                        .and_then(|name| alerts.iter().find(|a| &a.name == name));
                    let via =
                        fallback.map(|fb| (fb.name.clone(), fb.channel.deliver(digest, deadline)));
                    if !f.retry {
                        // Refused for good (a deleted webhook): waiting will not help.
                        delivered.push(*i);
                    }
                    failure = Some((f, via));
                    break;
                }
            }
        }
        let counts = state.deliveries.entry(alert.name.clone()).or_default();
        counts.sent.extend(delivered.iter().map(|_| now));
        let still = mine.len() - delivered.len();
        if let Some((f, via)) = failure {
            let mut detail = f.message.clone();
            if still > 0 {
                detail.push_str(&format!("; {still} digest(s) wait for the next run"));
            }
            if let Some((name, result)) = via {
                match result {
                    Ok(()) => detail.push_str(&format!("; sent through fallback {name}")),
                    Err(e) => {
                        detail.push_str(&format!("; fallback {name} failed too: {}", e.message))
                    }
                }
            }
            report.outcome = if still > 0 { "queued" } else { "failed" };
            report.detail = Some(detail);
        } else if delivered.len() > 1 {
            report.detail = Some(format!(
                "{} digests, the earlier ones from the outbox",
                delivered.len()
            ));
        }
        let mut index = 0;
        state.outbox.retain(|_| {
            let keep = !delivered.contains(&index);
            index += 1;
            keep
        });
        let pending = state
            .outbox
            .iter()
            .filter(|p| p.channel == alert.name)
            .count();
        if pending > MAX_PENDING {
            let drop = pending - MAX_PENDING;
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
        reports.push(report);
    }
    (reports, notes)
}
