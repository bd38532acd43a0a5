//! The daily summary's rules, pure like the rest of `decide`: what goes
//! into the incident log and the tallies as a run goes by, when the day's
//! summary is due for a channel, and what it says. The first run at or
//! after `[summary] at` (local time of its zone) each day makes one; a
//! channel has it when it accepted a summary made today, or one still
//! waits for it in the outbox, so a machine that was off for days sends
//! one summary, not a backlog, and a failed delivery is retried by the
//! outbox rather than made again.

use std::time::Duration;

use super::{Run, Verdict};
use crate::model::{Action, ActionOutcome, ActionReport, Event, EventKind, Status, Unit};
use crate::spec::Config;
use crate::spec::summary::SummarySpec;
use crate::state::{Daily, Incident, State, Taken, incidents::short};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Log this run's checks: a confirmed problem opens its check's incident
/// (or makes it worse), an OK ends it, and a check no longer configured
/// has no open incident; count the runs missed since the previous one by
/// `expected_interval`.
pub(super) fn log(run: &Run, verdicts: &[Verdict], next: &mut State) {
    let (config, now) = (run.config, run.now);
    let mut daily = std::mem::take(&mut next.daily);
    daily.prune(now);
    if run.mode.all_ran {
        daily
            .incidents
            .retain(|i| i.end.is_some() || config.check(&i.check).is_some());
    }
    for slot in missed(config.settings.expected_interval, run.prev.last_run, now) {
        let tally = daily.tally(slot);
        tally.missed = tally.missed.saturating_add(1);
    }
    for ((spec, j), verdict) in run.ran.iter().zip(run.judged).zip(verdicts) {
        if j.status.is_ok() {
            if let Some(open) = daily.open(&spec.name) {
                open.end = Some(now);
            }
            continue;
        }
        if !verdict.confirmed {
            continue;
        }
        match daily.open(&spec.name) {
            Some(open) => {
                if j.status.max(open.worst) != open.worst || open.message.is_empty() {
                    open.message = short(&j.message);
                }
                open.worst = open.worst.max(j.status);
            }
            None => {
                // From when the status began, but not before the check's
                // last incident ended (an action thought to have helped).
                let since = next.checks.get(&spec.name).map_or(now, |c| c.since);
                let ended = daily
                    .incidents
                    .iter()
                    .filter(|i| i.check == spec.name)
                    .filter_map(|i| i.end)
                    .max();
                let start = ended.map_or(since, |e| since.max(e)).min(now);
                daily.incidents.push(Incident {
                    check: spec.name.clone(),
                    start,
                    end: None,
                    worst: j.status,
                    message: short(&j.message),
                    actions: Vec::new(),
                });
            }
        }
    }
    next.daily = daily;
}

/// When the runs that should have been between `last` and `now` (by
/// `expected_interval`, within the last 24 hours) were due: none unless
/// the gap is at least two intervals (less a tenth of one).
fn missed(
    interval: Option<Duration>,
    last: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> Vec<jiff::Timestamp> {
    let (Some(every), Some(last)) = (interval, last) else {
        return Vec::new();
    };
    let Ok(step) = jiff::SignedDuration::try_from(every) else {
        return Vec::new();
    };
    // A tenth of an interval of slack: a run may start a little earlier
    // in its second (or minute) than the one before the gap did.
    let n = (age(last, now) + every / 10)
        .as_millis()
        .checked_div(every.as_millis())
        .map_or(0, |n| n.saturating_sub(1));
    let mut due = Vec::new();
    let mut slot = last.min(now);
    for _ in 0..n {
        let Ok(next) = slot.checked_add(step) else {
            break;
        };
        slot = next;
        if age(slot, now) < DAY {
            due.push(slot);
        }
    }
    due
}

/// The actions done this run: each joins the open incidents of the checks
/// that asked for it (one that helped ends them), and restarts are counted.
pub fn actions(daily: &mut Daily, decided: &[Action], done: &[ActionReport], now: jiff::Timestamp) {
    for (action, report) in decided.iter().zip(done) {
        if !matches!(report.outcome, ActionOutcome::Ok | ActionOutcome::Failed) {
            continue;
        }
        if let Some(service) = &report.service {
            let n = daily
                .tally(now)
                .restarts
                .entry(service.clone())
                .or_default();
            *n = n.saturating_add(1);
        }
        for check in &action.triggers {
            if let Some(open) = daily.open(check) {
                open.took(Taken {
                    at: now,
                    what: report.subject(),
                    outcome: report.outcome.word().to_string(),
                    helped: report.helped,
                });
                if report.helped == Some(true) {
                    open.end = Some(now);
                }
            }
        }
    }
}

/// What to call the end of an escalation ladder in an incident.
const MANUAL: &str = "manual intervention required";

/// An escalation ladder that ran out asks for a human: its incident says
/// so, once.
pub(super) fn manual(events: &[Event], next: &mut State, now: jiff::Timestamp) {
    for e in events.iter().filter(|e| e.kind == EventKind::Manual) {
        if let Some(open) = next.daily.open(&e.subject)
            && !open.actions.iter().any(|a| a.what == MANUAL)
        {
            open.took(Taken {
                at: now,
                what: MANUAL.to_string(),
                outcome: "told".to_string(),
                helped: None,
            });
        }
    }
}

/// Count this run's alert digests once the outbox was delivered: those
/// accepted now, those of this run still waiting, and those dropped.
pub fn alerts(state: &mut State, dropped: usize, now: jiff::Timestamp) {
    let sent: usize = state
        .deliveries
        .values()
        .map(|d| d.sent.iter().filter(|t| **t == now).count())
        .sum();
    let queued = state.outbox.iter().filter(|p| p.fresh).count();
    if sent + queued + dropped == 0 {
        return;
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let tally = state.daily.tally(now);
    tally.sent = tally.sent.saturating_add(count(sent));
    tally.queued = tally.queued.saturating_add(count(queued));
    tally.dropped = tally.dropped.saturating_add(count(dropped));
}

/// The channels the day's summary is due for at `now`.
pub fn due(spec: &SummarySpec, state: &State, now: jiff::Timestamp) -> Vec<String> {
    let today = now.to_zoned(spec.tz.clone()).date();
    let Ok(from) = today.to_datetime(spec.at).to_zoned(spec.tz.clone()) else {
        return Vec::new();
    };
    if now < from.timestamp() {
        return Vec::new();
    }
    spec.channels
        .iter()
        .filter(|c| {
            let waiting = state.outbox.iter().any(|p| {
                p.digest.is_summary()
                    && (&p.channel == *c || p.digest.on_behalf_of.as_ref() == Some(*c))
            });
            let had = state
                .daily
                .summarized
                .get(*c)
                .is_some_and(|t| t.to_zoned(spec.tz.clone()).date() >= today);
            !waiting && !had
        })
        .cloned()
        .collect()
}

/// The summary, as one event: sections of lines, a blank line between
/// them, each a heading and its items (the channels cut long sections
/// with "… and N more").
pub fn compose(config: &Config, spec: &SummarySpec, state: &State, now: jiff::Timestamp) -> Event {
    let when = |t: jiff::Timestamp| {
        t.to_zoned(spec.tz.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    };
    let mut sections = Vec::new();
    let mut worst = Status::Ok;
    let mut checks = vec!["Checks:".to_string()];
    for c in &config.checks {
        match state.checks.get(&c.name) {
            Some(s) => {
                let silenced = state.silenced(&c.name, now);
                if silenced.is_none() {
                    worst = worst.max(s.status);
                }
                let mut line = format!("[{}] {} since {}", s.status.word(), c.name, when(s.since));
                if let Some(si) = silenced {
                    line.push_str(&format!(" (silenced until {})", when(si.until)));
                }
                if let Some(m) = s.message.as_deref().filter(|_| !s.status.is_ok()) {
                    line.push_str(&format!(": {}", short(m)));
                }
                checks.push(line);
            }
            None => checks.push(format!("[-] {} has not run yet", c.name)),
        }
    }
    sections.push(checks);
    let recent: Vec<&Incident> = state
        .daily
        .incidents
        .iter()
        .filter(|i| i.end.is_none_or(|end| age(end, now) <= DAY))
        .collect();
    if recent.is_empty() {
        sections.push(vec!["Incidents in the last 24h: none".to_string()]);
    } else {
        let mut lines = vec![format!("Incidents in the last 24h ({}):", recent.len())];
        lines.extend(recent.iter().map(|i| incident_line(i, now, &when)));
        sections.push(lines);
    }
    let day = state.daily.day(now);
    let restarts: Vec<String> = day
        .restarts
        .iter()
        .map(|(service, n)| format!("{service} {n}"))
        .collect();
    let mut totals = vec![format!(
        "Restarts in the last 24h: {}",
        if restarts.is_empty() {
            "none".to_string()
        } else {
            restarts.join(", ")
        }
    )];
    totals.push(format!(
        "Alerts in the last 24h: {} sent, {} queued, {} dropped",
        day.sent, day.queued, day.dropped
    ));
    if config.settings.expected_interval.is_some() {
        totals.push(format!("Runs missed in the last 24h: {}", day.missed));
    }
    sections.push(totals);
    let message = sections
        .iter()
        .map(|s| s.join("\n"))
        .collect::<Vec<_>>()
        .join("\n\n");
    Event {
        kind: EventKind::Summary,
        subject: "daily summary".into(),
        status: worst,
        message,
        hint: None,
    }
}

fn age(then: jiff::Timestamp, now: jiff::Timestamp) -> Duration {
    now.duration_since(then.min(now)).unsigned_abs()
}

fn incident_line(
    i: &Incident,
    now: jiff::Timestamp,
    when: &dyn Fn(jiff::Timestamp) -> String,
) -> String {
    let lasted = |end: jiff::Timestamp| Unit::Seconds.show(age(i.start, end).as_secs_f64());
    let span = match i.end {
        Some(end) => format!("{} to {} ({})", when(i.start), when(end), lasted(end)),
        None => format!("{}, still open ({})", when(i.start), lasted(now)),
    };
    let mut line = format!("{} {} from {span}", i.check, i.worst.word());
    if !i.message.is_empty() {
        line.push_str(&format!(": {}", i.message));
    }
    if !i.actions.is_empty() {
        let taken: Vec<String> = i
            .actions
            .iter()
            .map(|a| {
                let result = match (a.outcome.as_str(), a.helped) {
                    ("told", _) => return a.what.clone(),
                    ("ok", Some(true)) => "helped",
                    ("ok", Some(false)) => "did not help",
                    ("ok", None) => "done",
                    _ => "failed",
                };
                format!("{} ({result})", a.what)
            })
            .collect();
        line.push_str(&format!("; {}", taken.join(", ")));
    }
    line
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
