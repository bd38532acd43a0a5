//! Escalation ladders (`escalate`): step 1 when a problem is confirmed,
//! each later step once the problem has lasted the step's `after` since the
//! step before (a step that helped made the check OK, which ends the
//! ladder), and one "manual intervention required" event after the last.
//! A step refused by its budget is told once and stays next: the ladder
//! never skips ahead.

use super::Run;
use crate::model::{Action, Decision, Event, EventKind, NextStep, Status, Target};
use crate::spec::escalate::StepAction;
use crate::state::{Ladder, State};

/// A ladder step due this run: check `check` (index into the run's
/// checks), its step `step` (0-based).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Due {
    pub check: usize,
    pub step: u32,
}

/// When the next step of a ladder at `ladder` is due by the clock (for
/// `--dry-run`'s "next step at"): at once for the first, else `after` past
/// the step before (never, on an overflow).
fn due_at(run: &Run, i: usize, ladder: Option<&Ladder>) -> Option<jiff::Timestamp> {
    let step = ladder.map_or(0, |l| l.done);
    let next = run.ran[i].recovery.steps.get(step as usize)?;
    match ladder.and_then(|l| l.at) {
        Some(at) if step > 0 => {
            let after = jiff::SignedDuration::try_from(next.after).ok()?;
            at.min(run.now).checked_add(after).ok()
        }
        _ => Some(run.now),
    }
}

/// Is the next step of a ladder at `ladder` due: at once for the first,
/// else once `after` has passed since the step before (as the rules count
/// time: `timer::passed`)?
fn is_due(run: &Run, i: usize, ladder: Option<&Ladder>) -> Option<bool> {
    let step = ladder.map_or(0, |l| l.done);
    let next = run.ran[i].recovery.steps.get(step as usize)?;
    match ladder.and_then(|l| l.at) {
        Some(at) if step > 0 => Some(crate::model::timer::passed(next.after, at, run.now)),
        _ => Some(true),
    }
}

fn ladder_of<'s>(state: &'s State, run: &Run, i: usize) -> Option<&'s Ladder> {
    state
        .checks
        .get(&run.ran[i].name)
        .and_then(|c| c.ladder.as_ref())
}

/// The steps due this run among the checks that ask for action.
pub(super) fn due(run: &Run, acting: &[usize]) -> Vec<Due> {
    acting
        .iter()
        .copied()
        .filter_map(|i| {
            let ladder = ladder_of(run.prev, run, i);
            is_due(run, i, ladder)?.then(|| Due {
                check: i,
                step: ladder.map_or(0, |l| l.done),
            })
        })
        .collect()
}

/// The step due for check `i`, if any.
pub(super) fn due_for(dues: &[Due], i: usize) -> Option<Due> {
    dues.iter().find(|d| d.check == i).copied()
}

/// "escalate step 2 of 3".
pub(super) fn label(run: &Run, due: Due) -> String {
    format!(
        "escalate step {} of {}",
        due.step.saturating_add(1),
        run.ran[due.check].recovery.steps.len()
    )
}

/// Is the due step a run step?
pub(super) fn runs(run: &Run, due: Due) -> bool {
    matches!(step_action(run, due), Some(StepAction::Run(_)))
}

/// Is the due step a restart of `service`?
pub(super) fn restarts(run: &Run, due: Due, service: &str) -> bool {
    matches!(step_action(run, due), Some(StepAction::Restart(s)) if s == service)
}

fn step_action<'c>(run: &Run<'_, 'c>, due: Due) -> Option<&'c StepAction> {
    let spec: &'c crate::spec::CheckSpec = run.ran[due.check];
    spec.recovery
        .steps
        .get(due.step as usize)
        .map(|s| &s.action)
}

/// What the ladders have to tell this run (a step refused by its budget,
/// once per step; manual intervention, once per problem), their marks in
/// `next`, and under `--dry-run` each acting check's next step.
pub(super) fn tell(
    run: &Run,
    acting: &[usize],
    dues: &[Due],
    actions: &[Action],
    next: &mut State,
) -> (Vec<Event>, Vec<Option<NextStep>>) {
    let mut events = Vec::new();
    let mut shown = vec![None; run.ran.len()];
    for i in acting.iter().copied() {
        let spec = run.ran[i];
        let steps = &spec.recovery.steps;
        if steps.is_empty() {
            continue;
        }
        let total = steps.len() as u32;
        let event = |kind, message: String| Event {
            kind,
            subject: spec.name.clone(),
            status: Status::Critical,
            message,
            hint: spec.hint.clone(),
        };
        let before = ladder_of(run.prev, run, i).copied();
        let mut ladder = before.unwrap_or_default();
        if ladder.done >= total {
            if !ladder.manual {
                let all: Vec<String> = steps.iter().map(|s| s.action.describe()).collect();
                events.push(event(
                    EventKind::Manual,
                    format!(
                        "manual intervention required: all {total} escalation steps ran ({}) and it is still CRITICAL",
                        all.join("; then ")
                    ),
                ));
                // `--no-alert`: told in the report, still owed to the channels.
                ladder.manual = !run.mode.no_alert;
            }
        } else if let Some(due) = due_for(dues, i) {
            let refused = actions
                .iter()
                .find(|a| a.ladder.contains(&(spec.name.clone(), due.step)))
                .filter(|a| a.decision == Decision::Suspended);
            if let Some(action) = refused
                && ladder.refused != Some(due.step)
            {
                let what = match &action.target {
                    Target::Restart(s) => format!("restart {s}"),
                    Target::Recover(_) => "run".to_string(),
                };
                events.push(event(
                    EventKind::Held,
                    format!(
                        "{} ({what}) refused by its budget, the ladder waits at this step: {}",
                        label(run, due),
                        action.reason
                    ),
                ));
                if !run.mode.no_alert {
                    ladder.refused = Some(due.step);
                }
            }
        }
        if run.mode.dry_run {
            shown[i] = Some(next_step(run, i, before.as_ref()));
        }
        if (before.is_some() || ladder != Ladder::default())
            && let Some(c) = next.checks.get_mut(&spec.name)
        {
            c.ladder = Some(ladder);
        }
    }
    (events, shown)
}

/// Which step of check `i` comes next, and when.
fn next_step(run: &Run, i: usize, ladder: Option<&Ladder>) -> NextStep {
    let steps = &run.ran[i].recovery.steps;
    let done = ladder.map_or(0, |l| l.done);
    let step = steps.get(done as usize);
    NextStep {
        step: done.saturating_add(1),
        steps: steps.len() as u32,
        action: step.map(|s| s.action.describe()).unwrap_or_default(),
        after_s: step.map_or(0, |s| s.after.as_secs()),
        at: due_at(run, i, ladder).unwrap_or(run.now),
    }
}
