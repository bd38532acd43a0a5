//! The act stage: carry out the decided actions, each recorded in state
//! before it runs, and re-check the checks it was for, so the report and
//! the alert say whether it helped.

use std::time::Instant;

use super::ledger::Ledger;
use super::{Clock, Row};
use crate::act;
use crate::config::escalate::{Command, StepAction};
use crate::config::{CheckSpec, Config};
use crate::decide;
use crate::model::{Action, ActionOutcome, ActionReport, Decision, Target};
use crate::runner;
use crate::secret::redact;
use crate::state::State;

/// What the act stage works with.
pub struct Acting<'a, 'c> {
    config: &'c Config,
    ctx: act::Ctx<'c>,
    ledger: &'a mut Ledger,
    /// The state this run started from (the re-check's history).
    before: &'a State,
    now: jiff::Timestamp,
}

impl<'a, 'c> Acting<'a, 'c> {
    pub fn new(
        config: &'c Config,
        clock: &Clock,
        ledger: &'a mut Ledger,
        before: &'a State,
    ) -> Acting<'a, 'c> {
        Acting {
            config,
            ctx: act::Ctx {
                settings: &config.settings,
                deadline: clock.checks,
            },
            ledger,
            before,
            now: clock.now,
        }
    }

    /// Every action in order; a done action's checks are re-checked.
    pub fn all(
        &mut self,
        actions: &[Action],
        rows: &mut [Row],
        next: &mut State,
    ) -> Vec<ActionReport> {
        actions
            .iter()
            .map(|action| {
                let mut report = self.one(action, next);
                if report.outcome == ActionOutcome::Ok {
                    let (verdicts, helped) = recheck(
                        &rechecked(action, rows),
                        rows,
                        self.before,
                        next,
                        self.now,
                        self.ctx.deadline,
                    );
                    report.detail =
                        format!("{}; re-checked: {}", report.detail, verdicts.join(", "));
                    report.helped = Some(helped);
                }
                report
            })
            .collect()
    }

    /// Carry out one decided action. It is written to state before it
    /// runs, so a run killed mid-restart still counts it.
    fn one(&mut self, action: &Action, next: &mut State) -> ActionReport {
        let report = |outcome: ActionOutcome, detail: String| {
            ActionReport::new(&action.target, outcome, redact(&detail))
        };
        match action.decision {
            Decision::DryRun => return report(ActionOutcome::DryRun, action.reason.clone()),
            Decision::Held => return report(ActionOutcome::Held, action.reason.clone()),
            Decision::Suspended => return report(ActionOutcome::Suspended, action.reason.clone()),
            Decision::Go => {}
        }
        if !self.ledger.records() {
            return report(
                ActionOutcome::Held,
                format!(
                    "{}; held: the state cannot be saved, so it could not be recorded",
                    action.reason
                ),
            );
        }
        let service = match &action.target {
            Target::Restart(name) => self.config.service(name),
            Target::Recover(_) => None,
        };
        if let Some(guard) = service.and_then(|s| s.guard.as_ref())
            && let Err(why) = act::guard(guard, &self.ctx)
        {
            return report(
                ActionOutcome::Held,
                format!("{}; held: {why}", action.reason),
            );
        }
        next.record(&action.target, self.now);
        next.climb(&action.ladder, self.now);
        if let Err(e) = self.ledger.save(next) {
            self.ledger
                .fail(format!("cannot record the action in state: {e}"));
            return report(
                ActionOutcome::Held,
                format!("{}; held: it could not be recorded in state", action.reason),
            );
        }
        // The service is up when the checks that asked for the restart pass.
        let triggers: Vec<&CheckSpec> = action
            .triggers
            .iter()
            .filter_map(|name| self.config.check(name))
            .collect();
        let memories: Vec<_> = triggers
            .iter()
            .map(|c| next.checks.get(&c.name).and_then(|s| s.memory.clone()))
            .collect();
        let up = |by: Instant| {
            let looked = runner::run(&triggers, memories.clone(), jiff::Timestamp::now(), by);
            triggers
                .iter()
                .zip(looked)
                .all(|(spec, f)| decide::judge(spec, f.outcome).status.is_ok())
        };
        let result = match (&action.target, service) {
            (Target::Restart(_), Some(spec)) => act::restart(spec, &self.ctx, &up),
            (Target::Recover(check), _) => match recovery(self.config, action, check) {
                Some(command) => act::recover(&command, &self.ctx),
                None => Err(format!("check {check} has no recovery command")),
            },
            (Target::Restart(name), None) => Err(format!("no service named {name}")),
        };
        match result {
            Ok(done) => report(ActionOutcome::Ok, format!("{}: {done}", action.reason)),
            Err(why) => report(ActionOutcome::Failed, format!("{}: {why}", action.reason)),
        }
    }
}

/// The command a recovery action runs: its ladder step's, else the check's `run`.
fn recovery(config: &Config, action: &Action, check: &str) -> Option<Command> {
    let spec = config.check(check)?;
    let step = action
        .ladder
        .iter()
        .find(|(c, _)| c == check)
        .and_then(|(_, step)| spec.recovery.steps.get(*step as usize));
    match step.map(|s| &s.action) {
        Some(StepAction::Run(command)) => Some(command.clone()),
        Some(StepAction::Restart(_)) => None,
        None => spec.run.as_deref().map(|argv| spec.recovery.command(argv)),
    }
}

/// The checks to run again after `action`: those that asked for it and,
/// after a restart, every other check of that service (a sibling would
/// otherwise still report the process that was replaced).
fn rechecked(action: &Action, rows: &[Row]) -> Vec<String> {
    let mut names = action.triggers.clone();
    if let Target::Restart(service) = &action.target {
        for row in rows {
            if row.spec.restart.as_deref() == Some(service.as_str())
                && !names.contains(&row.spec.name)
            {
                names.push(row.spec.name.clone());
            }
        }
    }
    names
}

/// Run the checks that triggered an action once more; says per check
/// whether the action helped ("bot-log OK, it helped"), and whether it
/// helped them all.
fn recheck(
    triggers: &[String],
    rows: &mut [Row],
    before: &State,
    next: &mut State,
    now: jiff::Timestamp,
    deadline: Instant,
) -> (Vec<String>, bool) {
    let indexes: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| triggers.contains(&r.spec.name))
        .map(|(i, _)| i)
        .collect();
    let specs: Vec<&CheckSpec> = indexes.iter().map(|i| rows[*i].spec).collect();
    let memories = indexes
        .iter()
        .map(|i| rows[*i].judged.memory.clone())
        .collect();
    let again = runner::run(&specs, memories, now, deadline);
    let mut verdicts = Vec::new();
    let mut all_helped = true;
    for (i, finished) in indexes.into_iter().zip(again) {
        let row = &mut rows[i];
        let mut judged = decide::judge(row.spec, finished.outcome);
        let helped = judged.status.is_ok();
        all_helped &= helped;
        judged.message = format!("{} (re-checked after the action)", judged.message);
        verdicts.push(if helped {
            format!("{} OK, it helped", row.spec.name)
        } else {
            format!(
                "{} still {}, it did not help",
                row.spec.name,
                judged.status.word()
            )
        });
        let name = &row.spec.name;
        let (state, verdict) = decide::rejudge(
            row.spec,
            before.checks.get(name),
            next.checks.get(name),
            &judged,
            now,
        );
        next.checks.insert(name.clone(), state);
        row.judged = judged;
        row.verdict = verdict;
    }
    (verdicts, all_helped)
}
