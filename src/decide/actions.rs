//! What to do about the checks that ask for action (confirmed CRITICAL,
//! not silenced): a recovery command per check, a restart per service,
//! each within its budget and held while an upstream check is down.

use super::Run;
use super::budget::{Budget, RUN_BUDGET};
use super::history::Looked;
use crate::model::{Action, Decision, Note, Status, Target};
use crate::state::State;

/// The actions of this run, and a note for each budget newly used up.
pub(super) fn decide(run: &Run, looked: &Looked, next: &mut State) -> (Vec<Action>, Vec<Note>) {
    let (ran, judged, prev, now) = (run.ran, run.judged, run.prev, run.now);
    let verdicts = &looked.verdicts;
    let status_of = |name: &str| {
        ran.iter()
            .position(|c| c.name == name)
            .map(|i| judged[i].status)
    };
    let acting: Vec<usize> = (0..ran.len())
        .filter(|i| {
            judged[*i].status == Status::Critical
                && verdicts[*i].confirmed
                && looked.silenced[*i].is_none()
        })
        .collect();
    let upstream_down = |i: usize| {
        ran[i]
            .depends_on
            .iter()
            .find(|u| status_of(u).is_some_and(|s| !s.is_ok()))
            .cloned()
    };
    let why = |i: usize| {
        format!(
            "{} CRITICAL for {} run{}",
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
    for i in acting.iter().copied().filter(|i| ran[*i].run.is_some()) {
        let history = prev
            .checks
            .get(&ran[i].name)
            .map(|c| c.runs.as_slice())
            .unwrap_or_default();
        let (decision, reason) = RUN_BUDGET.decide(
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
        });
    }
    for service in &run.config.services {
        let triggers: Vec<usize> = acting
            .iter()
            .copied()
            .filter(|i| ran[*i].restart.as_deref() == Some(service.name.as_str()))
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
            continue;
        }
        let upstream = triggers.iter().find_map(|i| upstream_down(*i));
        let (decision, reason) = budget.decide(
            &history.restarts,
            upstream,
            prev.reset_at,
            now,
            run.mode,
            &format!("restart {}", service.name),
        );
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
        });
    }
    (actions, notes)
}
