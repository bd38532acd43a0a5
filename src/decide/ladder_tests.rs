//! The `escalate` rules with a fixed clock: one step per `after` while the
//! problem lasts, manual intervention once, a helping step ends the
//! ladder, a step refused by its budget waits (told once).

use super::*;
use std::time::Duration;

use crate::model::{Decision, EventKind, Target};
use crate::spec::escalate::{Command, RunLimits, Step, StepAction};
use crate::spec::{CheckSpec, Config, ServiceSpec};

fn t(s: &str) -> jiff::Timestamp {
    format!("2026-11-22T{s}:00Z").parse().unwrap()
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

fn run_step(program: &str, after: u64) -> Step {
    Step {
        action: StepAction::Run(Command {
            argv: vec![program.into()],
            cwd: None,
            env: Vec::new(),
        }),
        after: minutes(after),
    }
}

/// Guide 003: soft recovery, a restart 5m later, a hard one 15m after that.
fn soltrader(f: impl FnOnce(&mut CheckSpec)) -> Config {
    let mut check = CheckSpec::for_tests("soltrader-log", "file", "age");
    check.recovery.steps = vec![
        run_step("soft-recover", 0),
        Step {
            action: StepAction::Restart("soltrader".into()),
            after: minutes(5),
        },
        run_step("hard-recover", 15),
    ];
    check.recovery.limits = RunLimits {
        max: 5,
        window: minutes(60),
        cooldown: minutes(5),
    };
    f(&mut check);
    let mut service = ServiceSpec::for_tests("soltrader");
    service.cooldown = minutes(2);
    Config::for_tests().with_service(service).with_check(check)
}

fn mode(dry_run: bool) -> Mode {
    Mode {
        all_ran: true,
        dry_run,
        ..Mode::default()
    }
}

fn look(c: &Config, prev: &State, status: Status, at: &str, dry_run: bool) -> Plan {
    let ran: Vec<&CheckSpec> = c.checks.iter().collect();
    let judged = Judged {
        left_alone: false,
        status,
        message: "no log activity for 20m".into(),
        readings: vec![],
        memory: None,
    };
    decide(c, &ran, &[judged], prev, t(at), mode(dry_run))
}

/// The state after the run carried out its decided actions, as the act
/// stage records them (the re-check still failing).
fn acted(plan: &Plan, at: &str) -> State {
    let mut next = plan.next_state.clone();
    for a in plan.actions.iter().filter(|a| a.decision == Decision::Go) {
        next.record(&a.target, t(at));
        next.climb(&a.ladder, t(at));
    }
    next
}

/// What each run did: (target, decision) of its actions and its ladder events.
fn went(plan: &Plan) -> (Vec<(Target, Decision)>, Vec<EventKind>) {
    (
        plan.actions
            .iter()
            .map(|a| (a.target.clone(), a.decision))
            .collect(),
        plan.events
            .iter()
            .map(|e| e.kind)
            .filter(|k| matches!(k, EventKind::Manual | EventKind::Held))
            .collect(),
    )
}

fn recover() -> Target {
    Target::Recover("soltrader-log".into())
}

#[test]
fn a_ladder_climbs_one_step_per_after_and_asks_for_a_person_once() {
    let c = soltrader(|_| {});
    let mut state = State::default();
    let mut seen = Vec::new();
    for at in [
        "10:00", "10:01", "10:04", "10:05", "10:06", "10:19", "10:20", "10:21", "10:22", "10:40",
    ] {
        let plan = look(&c, &state, Status::Critical, at, false);
        seen.push(went(&plan));
        state = acted(&plan, at);
    }
    let go = Decision::Go;
    let restart = Target::Restart("soltrader".into());
    assert_eq!(
        seen,
        [
            (vec![(recover(), go)], vec![]),
            (vec![], vec![]),
            (vec![], vec![]),
            (vec![(restart, go)], vec![]),
            (vec![], vec![]),
            (vec![], vec![]),
            (vec![(recover(), go)], vec![]),
            (vec![], vec![EventKind::Manual]),
            (vec![], vec![]),
            (vec![], vec![]),
        ]
    );
    let ladder = state.checks["soltrader-log"].ladder.unwrap();
    assert_eq!((ladder.done, ladder.manual), (3, true));
}

#[test]
fn each_step_runs_its_own_command_and_says_which_step_it_is() {
    let c = soltrader(|_| {});
    let first = look(&c, &State::default(), Status::Critical, "10:00", false);
    assert_eq!(first.actions[0].ladder, [("soltrader-log".into(), 0)]);
    assert!(
        first.actions[0].reason.contains("escalate step 1 of 3"),
        "{}",
        first.actions[0].reason
    );
    let state = acted(&first, "10:00");
    let second = look(&c, &state, Status::Critical, "10:05", false);
    assert_eq!(second.actions[0].ladder, [("soltrader-log".into(), 1)]);
    assert_eq!(second.actions[0].triggers, ["soltrader-log"]);
    assert!(second.actions[0].reason.contains("escalate step 2 of 3"));
}

#[test]
fn a_step_that_helps_ends_the_ladder_and_the_next_problem_starts_at_step_1() {
    let c = soltrader(|_| {});
    let first = look(&c, &State::default(), Status::Critical, "10:00", false);
    let state = acted(&first, "10:00");
    let ok = look(&c, &state, Status::Ok, "10:01", false);
    assert_eq!(ok.next_state.checks["soltrader-log"].ladder, None);
    // The next problem, past the run budget's cooldown: step 1 again.
    let again = look(&c, &ok.next_state, Status::Critical, "10:30", false);
    assert_eq!(again.actions.len(), 1);
    assert_eq!(again.actions[0].ladder, [("soltrader-log".into(), 0)]);
}

#[test]
fn a_warning_between_critical_runs_does_not_restart_the_ladder() {
    let c = soltrader(|_| {});
    let first = look(&c, &State::default(), Status::Critical, "10:00", false);
    let state = acted(&first, "10:00");
    let warn = look(&c, &state, Status::Warning, "10:03", false);
    assert!(warn.actions.is_empty());
    let crit = look(&c, &warn.next_state, Status::Critical, "10:06", false);
    assert_eq!(crit.actions[0].target, Target::Restart("soltrader".into()));
}

#[test]
fn an_unconfirmed_problem_does_not_start_the_ladder() {
    let c = soltrader(|c| c.after = 2);
    let first = look(&c, &State::default(), Status::Critical, "10:00", false);
    assert!(first.actions.is_empty());
    let second = look(&c, &first.next_state, Status::Critical, "10:01", false);
    assert_eq!(second.actions[0].ladder, [("soltrader-log".into(), 0)]);
}

#[test]
fn a_step_refused_by_its_budget_is_told_once_and_the_ladder_waits_at_it() {
    let c = soltrader(|c| c.recovery.limits.max = 1);
    let mut state = State::default();
    state.checks.insert(
        "soltrader-log".into(),
        crate::state::CheckState {
            status: Status::Ok,
            since: t("09:00"),
            runs: vec![t("09:30")],
            ..Default::default()
        },
    );
    let refused = look(&c, &state, Status::Critical, "10:00", false);
    assert_eq!(went(&refused).0, [(recover(), Decision::Suspended)]);
    assert_eq!(went(&refused).1, [EventKind::Held]);
    let told = refused
        .events
        .iter()
        .find(|e| e.kind == EventKind::Held)
        .unwrap();
    assert!(
        told.message.contains("escalate step 1 of 3") && told.message.contains("refused"),
        "{}",
        told.message
    );
    let state = acted(&refused, "10:00");
    let still = look(&c, &state, Status::Critical, "10:10", false);
    assert_eq!(
        went(&still),
        (vec![(recover(), Decision::Suspended)], vec![])
    );
    // The window frees: the same step runs, not the one after it.
    let state = acted(&still, "10:10");
    let freed = look(&c, &state, Status::Critical, "10:31", false);
    assert_eq!(freed.actions[0].decision, Decision::Go);
    assert_eq!(freed.actions[0].ladder, [("soltrader-log".into(), 0)]);
}

#[test]
fn dry_run_says_which_step_comes_next_and_when() {
    let c = soltrader(|_| {});
    let first = look(&c, &State::default(), Status::Critical, "10:00", true);
    assert_eq!(first.actions[0].decision, Decision::DryRun);
    let now = first.next_steps[0].clone().unwrap();
    assert_eq!(
        now.line(crate::schedule::hhmm, t("10:00")),
        "next: step 1 of 3 run soft-recover, now"
    );
    let state = acted(
        &look(&c, &State::default(), Status::Critical, "10:00", false),
        "10:00",
    );
    let plan = look(&c, &state, Status::Critical, "10:02", true);
    let next = plan.next_steps[0].clone().unwrap();
    assert_eq!((next.step, next.at), (2, t("10:05")));
    assert_eq!(
        next.line(crate::schedule::hhmm, t("10:02")),
        "next: step 2 of 3 restart soltrader after 5m, at 10:05 UTC"
    );
    // Outside a dry run the report has no such line.
    let normal = look(&c, &state, Status::Critical, "10:02", false);
    assert_eq!(normal.next_steps, [None]);
}

#[test]
fn a_plain_run_keeps_todays_budget_unless_the_check_sets_its_own() {
    assert_eq!(
        RunLimits::default(),
        RunLimits {
            max: 3,
            window: minutes(60),
            cooldown: minutes(2)
        }
    );
    let mut check = CheckSpec::for_tests("token", "memory", "used_percent");
    check.run = Some(vec!["refresh-token".into()]);
    check.recovery.limits.cooldown = minutes(10);
    let c = Config::for_tests().with_check(check);
    let first = look(&c, &State::default(), Status::Critical, "10:00", false);
    assert_eq!(first.actions[0].decision, Decision::Go);
    assert!(first.actions[0].ladder.is_empty());
    let state = acted(&first, "10:00");
    let held = look(&c, &state, Status::Critical, "10:05", false);
    assert_eq!(held.actions[0].decision, Decision::Held);
    assert!(held.actions[0].reason.contains("cooling down"));
    let go = look(&c, &held.next_state, Status::Critical, "10:10", false);
    assert_eq!(go.actions[0].decision, Decision::Go);
}

#[test]
fn a_run_a_few_seconds_early_in_its_minute_still_takes_the_step() {
    let c = soltrader(|_| {});
    let first = look(&c, &State::default(), Status::Critical, "10:00", false);
    let mut state = acted(&first, "10:00");
    let ladder = state.checks.get_mut("soltrader-log").unwrap();
    ladder.ladder.as_mut().unwrap().at = Some(t("10:00") + jiff::SignedDuration::from_secs(2));
    let second = look(&c, &state, Status::Critical, "10:05", false);
    assert_eq!(
        second.actions[0].target,
        Target::Restart("soltrader".into())
    );
    // Well short of `after` is not due.
    let early = look(&c, &state, Status::Critical, "10:04", false);
    assert!(early.actions.is_empty());
}

#[test]
fn no_alert_reports_manual_intervention_but_leaves_it_owed() {
    let mut c = soltrader(|_| {});
    c.checks[0].recovery.steps.truncate(1);
    let first = look(&c, &State::default(), Status::Critical, "10:00", false);
    let state = acted(&first, "10:00");
    let ran: Vec<&CheckSpec> = c.checks.iter().collect();
    let judged = |_| Judged {
        left_alone: false,
        status: Status::Critical,
        message: String::new(),
        readings: vec![],
        memory: None,
    };
    let quiet = Mode {
        no_alert: true,
        ..mode(false)
    };
    let muted = decide(&c, &ran, &[judged(())], &state, t("10:05"), quiet);
    assert_eq!(went(&muted).1, [EventKind::Manual]);
    let told = look(&c, &muted.next_state, Status::Critical, "10:10", false);
    assert_eq!(went(&told).1, [EventKind::Manual]);
    let after = look(&c, &told.next_state, Status::Critical, "10:15", false);
    assert!(went(&after).1.is_empty());
}
