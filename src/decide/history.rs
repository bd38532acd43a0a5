//! History: statuses become confirmed problems, recoveries, reminders and
//! flapping notices, and what each check's state says was announced.

use super::budget::run_budget;

use super::{Judged, Run, Verdict};
use crate::model::{Event, EventKind, Status, Unit};
use crate::spec::CheckSpec;
use crate::spec::alert::Alerting;
use crate::state::{CheckState, Notified};

/// The most of a check's message the state keeps for `healthcheck status`.
const MESSAGE_KEPT: usize = 500;

/// What the checks' history says this run.
pub(super) struct Looked {
    pub verdicts: Vec<Verdict>,
    /// Per check that ran: muted by a silence, until then.
    pub silenced: Vec<Option<jiff::Timestamp>>,
    pub events: Vec<Event>,
}

/// Each check's next state, verdict and news. One root cause, one alert:
/// a failing check whose `depends_on` check fails too is told inside that
/// check's event, not on its own.
pub(super) fn look(run: &Run, next: &mut crate::state::State) -> Looked {
    let (prev, now) = (run.prev, run.now);
    let mut looked = Looked {
        verdicts: Vec::with_capacity(run.ran.len()),
        silenced: Vec::with_capacity(run.ran.len()),
        events: Vec::new(),
    };
    let mut folded: Vec<(String, String)> = Vec::new();
    for (spec, j) in run.ran.iter().zip(run.judged) {
        let before = prev.checks.get(&spec.name);
        let (mut state, verdict) = update_check(spec, before, j, now);
        let until = prev.silenced(&spec.name, now).map(|s| s.until);
        let muted = until.is_some();
        let upstream = (!j.status.is_ok())
            .then(|| failing_upstream(spec, run.ran, run.judged))
            .flatten();
        if let Some(upstream) = upstream {
            folded.push((
                upstream.to_string(),
                format!("{}: not judged, {upstream} is down", spec.name),
            ));
        } else if !muted {
            let told = check_events(spec, j, verdict, &mut state, &run.config.alerting, now);
            if run.mode.no_alert {
                state.notified = before.and_then(|b| b.notified);
                state.flapping = before.is_some_and(|b| b.flapping);
            }
            looked.events.extend(told);
        }
        looked.verdicts.push(verdict);
        looked.silenced.push(until);
        next.checks.insert(spec.name.clone(), state);
    }
    for (upstream, line) in folded {
        if let Some(e) = looked.events.iter_mut().find(|e| {
            e.subject == upstream && matches!(e.kind, EventKind::Problem | EventKind::Reminder)
        }) {
            e.message = format!("{}; also {line}", e.message);
        }
    }
    looked
}

/// The flapping rule looks at this many runs; this many status changes
/// among them make a check flap.
const FLAP_RUNS: usize = 10;
const FLAP_CHANGES: usize = 5;
/// OK runs in a row before a recovery is announced: one OK run between two
/// failures is not news (and keeps a flip-flopping check quiet).
const RECOVERY_RUNS: usize = 2;

/// What one check has to tell this run (a problem, a reminder, a recovery,
/// a flapping notice), updating what its state says was announced.
pub fn check_events(
    spec: &CheckSpec,
    judged: &Judged,
    verdict: Verdict,
    state: &mut CheckState,
    alerting: &Alerting,
    now: jiff::Timestamp,
) -> Vec<Event> {
    let event = |kind, status, message: String| Event {
        kind,
        subject: spec.name.clone(),
        status,
        message,
        hint: spec.hint.clone(),
    };
    let changes = state.history.windows(2).filter(|w| w[0] != w[1]).count();
    if !state.flapping && changes >= FLAP_CHANGES {
        state.flapping = true;
        let worst = Status::worst(state.history.iter().copied());
        // The notice is an announcement: when the check settles, its
        // recovery (or its lasting problem) is told.
        state.notified = Some(Notified {
            status: worst,
            at: now,
        });
        let message = format!(
            "changed status {changes} times in its last {} runs (now {}: {}); its alerts are held until it settles",
            state.history.len(),
            judged.status.word(),
            judged.message
        );
        return vec![event(EventKind::Flapping, worst, message)];
    }
    if state.flapping {
        let settled = state.history.len() >= FLAP_RUNS && changes == 0;
        if !settled {
            return Vec::new();
        }
        state.flapping = false;
        if !judged.status.is_ok() {
            // Settled on a problem: told as a problem, not as a reminder.
            state.notified = None;
        }
    }
    if judged.status.is_ok() {
        let ok_runs = state.history.iter().rev().take_while(|s| s.is_ok()).count();
        if let Some(announced) = state.notified.filter(|_| ok_runs >= RECOVERY_RUNS) {
            state.notified = None;
            if alerting.resolved {
                return vec![event(
                    EventKind::Recovery,
                    announced.status,
                    format!("OK again: {}", judged.message),
                )];
            }
        }
        return Vec::new();
    }
    if !verdict.confirmed {
        return Vec::new();
    }
    match state.notified {
        Some(n) if n.status == judged.status => {
            let due = alerting
                .renotify
                .is_some_and(|every| crate::model::timer::passed(every, n.at, now));
            if !due {
                return Vec::new();
            }
            state.notified = Some(Notified {
                status: n.status,
                at: now,
            });
            let since = Unit::Seconds.show(now.duration_since(state.since.min(now)).as_secs_f64());
            vec![event(
                EventKind::Reminder,
                judged.status,
                format!("{} (for {since})", judged.message),
            )]
        }
        _ => {
            state.notified = Some(Notified {
                status: judged.status,
                at: now,
            });
            vec![event(
                EventKind::Problem,
                judged.status,
                judged.message.clone(),
            )]
        }
    }
}

/// A check run once more after an action: the re-check replaces this
/// run's status, not its place in the history nor what was announced
/// (`current`, the state this run's first look decided).
pub fn rejudge(
    spec: &CheckSpec,
    before: Option<&CheckState>,
    current: Option<&CheckState>,
    judged: &Judged,
    now: jiff::Timestamp,
) -> (CheckState, Verdict) {
    let (mut state, verdict) = update_check(spec, before, judged, now);
    if let Some(current) = current {
        state.runs = current.runs.clone();
        state.notified = current.notified;
        state.flapping = current.flapping;
        state.history = current.history.clone();
        state.ladder = current.ladder.filter(|_| !judged.status.is_ok());
        if let Some(last) = state.history.last_mut() {
            *last = judged.status;
        }
    }
    (state, verdict)
}

/// Update one check's history with this run's status.
pub fn update_check(
    spec: &CheckSpec,
    before: Option<&CheckState>,
    judged: &Judged,
    now: jiff::Timestamp,
) -> (CheckState, Verdict) {
    // An UNKNOWN run (the check could not tell) and a WARNING or CRITICAL
    // one (it could) are different problems: a streak of one is never
    // counted towards the other's `after`, nor in a restart's reason.
    let unknown = |s: Status| s == Status::Unknown;
    let consecutive = match (judged.status, before) {
        (Status::Ok, _) => 0,
        (now, Some(b)) if !b.status.is_ok() && unknown(now) == unknown(b.status) => {
            b.consecutive.saturating_add(1)
        }
        _ => 1,
    };
    let since = match before {
        Some(b) if b.status == judged.status => b.since.min(now),
        _ => now,
    };
    let verdict = Verdict {
        consecutive,
        confirmed: judged.status.is_ok() || consecutive >= spec.after,
    };
    let mut history = before.map(|b| b.history.clone()).unwrap_or_default();
    history.push(judged.status);
    let excess = history.len().saturating_sub(FLAP_RUNS);
    history.drain(..excess);
    let state = CheckState {
        status: judged.status,
        since,
        consecutive,
        // Only the recovery commands inside their budget's window matter.
        runs: before
            .map(|b| run_budget(&spec.recovery.limits).recent(&b.runs, now))
            .unwrap_or_default(),
        notified: before.and_then(|b| b.notified),
        history,
        flapping: before.is_some_and(|b| b.flapping),
        memory: judged.memory.clone(),
        message: Some(judged.message.chars().take(MESSAGE_KEPT).collect()),
        // A problem's ladder ends when the check is OK again.
        ladder: before
            .and_then(|b| b.ladder)
            .filter(|_| !judged.status.is_ok()),
    };
    (state, verdict)
}

/// The first check `spec` depends on that ran and is not OK, if any.
pub(super) fn failing_upstream<'c>(
    spec: &CheckSpec,
    ran: &[&'c CheckSpec],
    judged: &[Judged],
) -> Option<&'c str> {
    spec.depends_on.iter().find_map(|u| {
        let i = ran.iter().position(|c| &c.name == u)?;
        (!judged[i].status.is_ok()).then_some(ran[i].name.as_str())
    })
}
