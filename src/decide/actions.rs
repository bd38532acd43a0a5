//! What to do about the checks that ask for action (confirmed CRITICAL,
//! not silenced): a recovery command per check, a restart per service,
//! each within its budget and held while an upstream check is down.

use super::Run;
use super::budget::{Budget, run_budget};
use super::history::Looked;
use super::ladder::{self, Due};
use crate::model::{Action, Decision, Note, Status, Target};
use crate::state::State;

/// The checks that ask for action: confirmed CRITICAL, not silenced.
pub(super) fn acting(run: &Run, looked: &Looked) -> Vec<usize> {
    (0..run.ran.len())
        .filter(|i| {
            run.judged[*i].status == Status::Critical
                && looked.verdicts[*i].confirmed
                && looked.silenced[*i].is_none()
        })
        .collect()
}

/// The actions of this run (the ladder steps `dues` among them), and a
/// note for each budget newly used up.
pub(super) fn decide(
    run: &Run,
    looked: &Looked,
    acting: &[usize],
    dues: &[Due],
    next: &mut State,
) -> (Vec<Action>, Vec<Note>) {
    let (ran, judged, prev, now) = (run.ran, run.judged, run.prev, run.now);
    let verdicts = &looked.verdicts;
    let status_of = |name: &str| {
        ran.iter()
            .position(|c| c.name == name)
            .map(|i| judged[i].status)
    };
    let upstream_down = |i: usize| {
        ran[i]
            .depends_on
            .iter()
            .find(|u| status_of(u).is_some_and(|s| !s.is_ok()))
            .cloned()
    };
    let why = |i: usize| {
        let step = ladder::due_for(dues, i)
            .map(|d| format!(" ({})", ladder::label(run, d)))
            .unwrap_or_default();
        format!(
            "{} CRITICAL for {} run{}{step}",
            ran[i].name,
            verdicts[i].consecutive,
            if verdicts[i].consecutive == 1 {
                ""
            } else {
                "s"
            }
        )
    };

    let mut actions = Vec::new();
    let mut notes = Vec::new();
    for i in acting.iter().copied() {
        let step = ladder::due_for(dues, i).filter(|d| ladder::runs(run, *d));
        if ran[i].run.is_none() && step.is_none() {
            continue;
        }
        let history = prev
            .checks
            .get(&ran[i].name)
            .map(|c| c.runs.as_slice())
            .unwrap_or_default();
        let (decision, reason) = run_budget(&ran[i].recovery.limits).decide(
            history,
            upstream_down(i),
            prev.reset_at,
            now,
            run.mode,
            "run recovery command",
        );
        actions.push(Action {
            target: Target::Recover(ran[i].name.clone()),
            decision,
            reason: format!("{reason}: {}", why(i)),
            triggers: vec![ran[i].name.clone()],
            ladder: step
                .map(|d| vec![(ran[i].name.clone(), d.step)])
                .unwrap_or_default(),
        });
    }
    for service in &run.config.services {
        let steps: Vec<Due> = dues
            .iter()
            .copied()
            .filter(|d| ladder::restarts(run, *d, &service.name))
            .collect();
        let triggers: Vec<usize> = acting
            .iter()
            .copied()
            .filter(|i| {
                ran[*i].restart.as_deref() == Some(service.name.as_str())
                    || steps.iter().any(|d| d.check == *i)
            })
            .collect();
        let history = prev
            .services
            .get(&service.name)
            .cloned()
            .unwrap_or_default();
        let budget = Budget {
            max: service.max_restarts,
            window: service.window,
            cooldown: service.cooldown,
            grace: service.grace,
        };
        let entry = next.services.entry(service.name.clone()).or_default();
        // Only the restarts inside the window matter: the rest go.
        entry.restarts = budget.recent(&history.restarts, now);
        if budget.used(&history.restarts, now) < budget.max {
            entry.suspended = false;
        }
        if triggers.is_empty() {
            // Up again (fixed by hand): a refusal no longer holds.
            entry.refused = None;
            continue;
        }
        let upstream = triggers.iter().find_map(|i| upstream_down(*i));
        let left_alone = (0..ran.len()).find(|i| {
            judged[*i].left_alone && ran[*i].restart.as_deref() == Some(service.name.as_str())
        });
        let (decision, reason) = match (&history.refused, left_alone) {
            (_, Some(i)) => (
                Decision::Held,
                format!(
                    "restart {} held: {} says it was stopped on purpose (when_stopped = \"leave\")",
                    service.name, ran[i].name
                ),
            ),
            (Some(why), None) => (
                Decision::Suspended,
                format!(
                    "restart {} suspended: {why}; then `healthcheck reset {}`",
                    service.name, service.name
                ),
            ),
            (None, None) => budget.decide(
                &history.restarts,
                upstream,
                prev.reset_at,
                now,
                run.mode,
                &format!("restart {}", service.name),
            ),
        };
        if decision == Decision::Suspended && !history.suspended {
            entry.suspended = true;
            notes.push(Note::new(
                Status::Critical,
                format!(
                    "auto-restart of {} suspended: manual intervention required ({reason})",
                    service.name
                ),
            ));
        }
        let reasons: Vec<String> = triggers.iter().map(|i| why(*i)).collect();
        actions.push(Action {
            target: Target::Restart(service.name.clone()),
            decision,
            reason: format!("{reason}: {}", reasons.join(", ")),
            triggers: triggers.iter().map(|i| ran[*i].name.clone()).collect(),
            ladder: steps
                .iter()
                .map(|d| (ran[d.check].name.clone(), d.step))
                .collect(),
        });
    }
    (actions, notes)
}
