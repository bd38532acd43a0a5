//! The act stage: carry out the decided actions, each recorded in state
//! before it runs, and re-check the checks it was for, so the report and
//! the alert say whether it helped.

use std::time::{Duration, Instant};

use super::ledger::Ledger;
use super::{Clock, Row};
use crate::act;
use crate::decide;
use crate::model::{Action, ActionOutcome, ActionReport, Decision, Target};
use crate::runner;
use crate::secret::redact;
use crate::spec::escalate::{Command, StepAction};
use crate::spec::{CheckSpec, Config, ServiceSpec};
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
                    let service = match &action.target {
                        Target::Restart(name) => self.config.service(name),
                        Target::Recover(_) => None,
                    };
                    // A check that is slow to pass again (an API that needs
                    // seconds to come up) gets the service's `verify`.
                    let patience = service.map_or(Instant::now(), |s| {
                        self.ctx.until(s.verify.saturating_sub(s.settle))
                    });
                    let (verdicts, helped) = recheck(
                        &rechecked(action, service, rows),
                        rows,
                        self.before,
                        next,
                        self.now,
                        (patience, self.ctx.deadline),
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
                Some(command) => act::recover(&command, &self.ctx).map_err(Into::into),
                None => Err(format!("check {check} has no recovery command").into()),
            },
            (Target::Restart(name), None) => Err(format!("no service named {name}").into()),
        };
        match result {
            Ok(done) => report(ActionOutcome::Ok, format!("{}: {done}", action.reason)),
            Err(failure) => {
                if failure.refused
                    && let Target::Restart(name) = &action.target
                {
                    // Later runs hold their restarts until the refusal is
                    // cleared, instead of asking again to be refused again.
                    next.services.entry(name.clone()).or_default().refused =
                        Some(redact(&failure.why));
                    if let Err(e) = self.ledger.save(next) {
                        self.ledger
                            .fail(format!("cannot record the refusal in state: {e}"));
                    }
                }
                report(
                    ActionOutcome::Failed,
                    format!("{}: {}", action.reason, failure.why),
                )
            }
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
/// after a restart, every other check of that service and every check that
/// looks at what it restarted (its unit, container or process): a sibling
/// would otherwise still report the instance that was replaced.
fn rechecked(action: &Action, service: Option<&ServiceSpec>, rows: &[Row]) -> Vec<String> {
    let mut names = action.triggers.clone();
    if let Some(service) = service {
        let restarted = service.manager.watched();
        for row in rows {
            let same_service = row.spec.restart.as_deref() == Some(service.name.as_str());
            let same_target = restarted.is_some() && row.spec.probe.watches() == restarted;
            if (same_service || same_target) && !names.contains(&row.spec.name) {
                names.push(row.spec.name.clone());
            }
        }
    }
    names
}

/// How often a re-check that does not pass yet is run again.
const RECHECK_POLL: Duration = Duration::from_millis(500);

/// Run the checks an action was for once more; says per check whether the
/// action helped ("bot-log OK, it helped"; "bot-api OK" for one that was
/// OK before), and whether it helped them all. A check that does not pass
/// is run again until it does or `patience` runs out (never past the
/// deadline).
fn recheck(
    triggers: &[String],
    rows: &mut [Row],
    before: &State,
    next: &mut State,
    now: jiff::Timestamp,
    (patience, deadline): (Instant, Instant),
) -> (Vec<String>, bool) {
    let indexes: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| triggers.contains(&r.spec.name))
        .map(|(i, _)| i)
        .collect();
    let mut results: Vec<Option<decide::Judged>> = vec![None; indexes.len()];
    loop {
        let waiting: Vec<usize> = (0..indexes.len())
            .filter(|k| !results[*k].as_ref().is_some_and(|j| j.status.is_ok()))
            .collect();
        let specs: Vec<&CheckSpec> = waiting.iter().map(|k| rows[indexes[*k]].spec).collect();
        let memories = waiting
            .iter()
            .map(|k| rows[indexes[*k]].judged.memory.clone())
            .collect();
        let again = runner::run(&specs, memories, now, deadline);
        for (k, finished) in waiting.iter().zip(again) {
            results[*k] = Some(decide::judge(rows[indexes[*k]].spec, finished.outcome));
        }
        let all_ok = results.iter().flatten().all(|j| j.status.is_ok());
        if all_ok || Instant::now() + RECHECK_POLL >= patience.min(deadline) {
            break;
        }
        std::thread::sleep(RECHECK_POLL);
    }
    let mut verdicts = Vec::new();
    let mut all_helped = true;
    for (i, judged) in indexes.into_iter().zip(results) {
        let row = &mut rows[i];
        let mut judged = judged.expect("every re-checked check ran at least once");
        let was_ok = row.judged.status.is_ok();
        let helped = judged.status.is_ok();
        all_helped &= helped;
        judged.message = format!("{} (re-checked after the action)", judged.message);
        verdicts.push(if helped && was_ok {
            format!("{} OK", row.spec.name)
        } else if helped {
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
