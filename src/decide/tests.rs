//! Every rule with a fixed clock.

use super::*;
use std::time::Duration;

use crate::model::{Decision, EventKind, Outcome, Target};
use crate::spec::alert::Alerting;
use crate::spec::{CheckSpec, Config, ServiceSpec};
use crate::state::CheckState;

fn t(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// A `file` check `bot-log` judged by its age: warning above 2m, critical
/// above 5m; healthcheck expected every 5m. `f` changes the check.
fn config(f: impl FnOnce(&mut CheckSpec)) -> Config {
    let mut check = CheckSpec::for_tests("bot-log", "file", "age");
    check.thresholds.warn_above = Some(120.0);
    check.thresholds.crit_above = Some(300.0);
    f(&mut check);
    let mut c = Config::for_tests().with_check(check);
    c.settings.expected_interval = Some(minutes(5));
    c
}

fn age(seconds: f64) -> Outcome {
    Outcome::ok("modified recently")
        .reading("age", seconds, Unit::Seconds)
        .reading("size", 10.0, Unit::Bytes)
}

#[track_caller]
fn judged(f: impl FnOnce(&mut CheckSpec), outcome: Outcome) -> Judged {
    let c = config(f);
    judge(&c.checks[0], outcome)
}

#[test]
fn a_reading_that_is_not_a_number_passed_every_threshold() {
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let j = judged(
            |c| {
                c.thresholds.crit_below = Some(50.0);
            },
            age(value),
        );
        assert_eq!(j.status, Status::Unknown, "{value}: {}", j.message);
        assert!(j.message.contains("not a number"), "{}", j.message);
    }
}

#[test]
fn thresholds_judge_the_primary_reading_and_say_which_limit() {
    assert_eq!(judged(|_| {}, age(30.0)).status, Status::Ok);
    let j = judged(|_| {}, age(200.0));
    assert_eq!(
        (j.status, j.message.as_str()),
        (Status::Warning, "modified recently (warn above 2m)")
    );
    let j = judged(|_| {}, age(1080.0));
    assert_eq!(
        (j.status, j.message.as_str()),
        (Status::Critical, "modified recently (crit above 5m)")
    );
    // Only the judged reading carries thresholds into the report.
    assert!(j.readings[0].1.is_some() && j.readings[1].1.is_none());
}

#[test]
fn per_row_readings_are_each_judged_and_named_in_the_message() {
    let mut check = CheckSpec::for_tests("tokens", "sql", "until");
    check.thresholds.warn_below = Some(1800.0);
    check.thresholds.crit_below = Some(600.0);
    let c = Config::for_tests().with_check(check);
    let outcome = Outcome::ok("MAIN_DATA: 42m left, TRADER: 5m left, OHLC: 20m left")
        .reading("until[MAIN_DATA]", 2520.0, Unit::Seconds)
        .reading("until[TRADER]", 300.0, Unit::Seconds)
        .reading("until[OHLC]", 1200.0, Unit::Seconds);
    let j = judge(&c.checks[0], outcome);
    assert_eq!(j.status, Status::Critical);
    assert_eq!(
        j.message,
        "MAIN_DATA: 42m left, TRADER: 5m left, OHLC: 20m left (TRADER crit below 10m) (OHLC warn below 30m)"
    );
    assert!(j.readings.iter().all(|(_, t)| t.is_some()));
}

#[test]
fn severity_warning_caps_a_critical() {
    assert_eq!(
        judged(|c| c.cap = Some(Status::Warning), age(1080.0)).status,
        Status::Warning
    );
    assert_eq!(
        judged(|c| c.cap = Some(Status::Warning), Outcome::unknown("x")).status,
        Status::Unknown
    );
}

#[test]
fn a_probe_status_is_never_lowered_by_thresholds() {
    assert_eq!(
        judged(|_| {}, Outcome::critical("file not found: /x")).status,
        Status::Critical
    );
}

fn run(c: &Config, prev: &State, status: Status, now: &str) -> Plan {
    let j = Judged {
        left_alone: false,
        status,
        message: String::new(),
        readings: vec![],
        memory: None,
    };
    let ran: Vec<&CheckSpec> = c.checks.iter().collect();
    let mode = Mode {
        all_ran: true,
        ..Mode::default()
    };
    decide(c, &ran, &[j], prev, t(now), mode)
}

#[test]
fn after_confirms_on_the_nth_consecutive_failure() {
    let c = config(|c| c.after = 3);
    let mut state = State::default();
    let mut seen = Vec::new();
    for (i, status) in [
        Status::Critical,
        Status::Critical,
        Status::Warning,
        Status::Ok,
        Status::Critical,
    ]
    .into_iter()
    .enumerate()
    {
        let plan = run(&c, &state, status, &format!("2026-11-22T05:0{i}:00Z"));
        seen.push((plan.verdicts[0].consecutive, plan.verdicts[0].confirmed));
        state = plan.next_state;
    }
    assert_eq!(
        seen,
        vec![(1, false), (2, false), (3, true), (0, true), (1, false)]
    );
}

#[test]
fn since_moves_only_when_the_status_changes() {
    let c = config(|_| {});
    let p1 = run(
        &c,
        &State::default(),
        Status::Critical,
        "2026-11-22T05:00:00Z",
    );
    let p2 = run(&c, &p1.next_state, Status::Critical, "2026-11-22T05:01:00Z");
    assert_eq!(
        p2.next_state.checks["bot-log"].since,
        t("2026-11-22T05:00:00Z")
    );
    let p3 = run(&c, &p2.next_state, Status::Ok, "2026-11-22T05:02:00Z");
    assert_eq!(
        p3.next_state.checks["bot-log"].since,
        t("2026-11-22T05:02:00Z")
    );
}

#[test]
fn a_clock_stepped_back_clamps_since_to_now() {
    let c = config(|_| {});
    let p1 = run(
        &c,
        &State::default(),
        Status::Critical,
        "2026-11-22T06:00:00Z",
    );
    let p2 = run(&c, &p1.next_state, Status::Critical, "2026-11-22T05:00:00Z");
    assert_eq!(
        p2.next_state.checks["bot-log"].since,
        t("2026-11-22T05:00:00Z")
    );
    assert!(
        p2.notes.is_empty(),
        "a last run in the future is no missed run: {:?}",
        p2.notes
    );
}

#[test]
fn a_gap_over_three_intervals_is_a_warning_note() {
    let c = config(|_| {});
    let p1 = run(&c, &State::default(), Status::Ok, "2026-11-22T05:00:00Z");
    assert!(
        run(&c, &p1.next_state, Status::Ok, "2026-11-22T05:15:00Z")
            .notes
            .is_empty()
    );
    let late = run(&c, &p1.next_state, Status::Ok, "2026-11-22T05:47:00Z");
    assert_eq!(
        late.notes,
        vec![Note::new(
            Status::Warning,
            "healthcheck did not run for 47m (expected every 5m)"
        )]
    );
}

#[test]
fn checks_removed_from_the_config_leave_the_state() {
    let c = config(|_| {});
    let mut prev = State::default();
    prev.checks.insert(
        "gone".into(),
        CheckState {
            status: Status::Critical,
            since: t("2026-11-22T05:00:00Z"),
            consecutive: 4,
            ..CheckState::default()
        },
    );
    let plan = run(&c, &prev, Status::Ok, "2026-11-22T05:01:00Z");
    assert!(!plan.next_state.checks.contains_key("gone"));
    assert_eq!(plan.next_state.last_run, Some(t("2026-11-22T05:01:00Z")));
}

// The restart rules, with a fixed clock and no I/O.

/// Service `bot` (3 restarts an hour, 2m apart, `s` changes it), check
/// `bot-log` restarting it (`c` changes it), and check `internet`.
fn service_config(s: impl FnOnce(&mut ServiceSpec), c: impl FnOnce(&mut CheckSpec)) -> Config {
    let mut service = ServiceSpec::for_tests("bot");
    service.max_restarts = 3;
    service.window = minutes(60);
    service.cooldown = minutes(2);
    s(&mut service);
    let mut bot_log = CheckSpec::for_tests("bot-log", "file", "age");
    bot_log.restart = Some("bot".into());
    c(&mut bot_log);
    Config::for_tests()
        .with_service(service)
        .with_check(bot_log)
        .with_check(CheckSpec::for_tests("internet", "tcp", "time"))
}

fn judged_as(status: Status) -> Judged {
    Judged {
        left_alone: false,
        status,
        message: String::new(),
        readings: vec![],
        memory: None,
    }
}

/// Decide one run where bot-log has `bot` and internet has `net`.
fn step(c: &Config, prev: &State, bot: Status, net: Status, now: &str, mode: Mode) -> Plan {
    let ran: Vec<&CheckSpec> = c.checks.iter().collect();
    decide(
        c,
        &ran,
        &[judged_as(bot), judged_as(net)],
        prev,
        t(now),
        Mode {
            all_ran: true,
            ..mode
        },
    )
}

fn restarted_at(state: &State, times: &[&str]) -> State {
    let mut s = state.clone();
    s.services.entry("bot".into()).or_default().restarts = times.iter().map(|x| t(x)).collect();
    s
}

fn only_action(plan: &Plan) -> (Decision, &str) {
    assert_eq!(plan.actions.len(), 1, "{:?}", plan.actions);
    (plan.actions[0].decision, plan.actions[0].reason.as_str())
}

const GO: Mode = Mode {
    all_ran: true,
    no_restart: false,
    dry_run: false,
    no_alert: false,
};

#[test]
fn unknown_runs_are_not_counted_as_critical_in_after_or_in_a_restarts_reason() {
    let c = service_config(|_| {}, |check| check.after = 3);
    let mut state = State::default();
    let mut minute = 0;
    let mut run = |state: &mut State, bot: Status| {
        let plan = step(
            &c,
            state,
            bot,
            Status::Ok,
            &format!("2026-11-22T05:{minute:02}:00Z"),
            GO,
        );
        minute += 1;
        *state = plan.next_state.clone();
        plan
    };
    for _ in 0..5 {
        assert!(run(&mut state, Status::Unknown).actions.is_empty());
    }
    let plan = run(&mut state, Status::Critical);
    assert!(plan.actions.is_empty(), "one CRITICAL run is not three");
    assert!(plan.events.is_empty(), "nor a confirmed problem");
    run(&mut state, Status::Critical);
    let plan = run(&mut state, Status::Critical);
    assert_eq!(
        only_action(&plan),
        (
            Decision::Go,
            "restart bot (1 of 3 in the last 1h): bot-log CRITICAL for 3 runs"
        )
    );
}

#[test]
fn a_confirmed_critical_restarts_with_the_budget_in_the_reason() {
    let c = service_config(|_| {}, |_| {});
    let plan = step(
        &c,
        &State::default(),
        Status::Critical,
        Status::Ok,
        "2026-11-22T05:00:00Z",
        GO,
    );
    assert_eq!(
        only_action(&plan),
        (
            Decision::Go,
            "restart bot (1 of 3 in the last 1h): bot-log CRITICAL for 1 run"
        )
    );
    assert_eq!(plan.actions[0].triggers, ["bot-log"]);
    // A warning, an OK or an unconfirmed problem asks for nothing.
    assert!(
        step(
            &c,
            &State::default(),
            Status::Warning,
            Status::Ok,
            "2026-11-22T05:00:00Z",
            GO
        )
        .actions
        .is_empty()
    );
    let c3 = service_config(|_| {}, |c| c.after = 3);
    assert!(
        step(
            &c3,
            &State::default(),
            Status::Critical,
            Status::Ok,
            "2026-11-22T05:00:00Z",
            GO
        )
        .actions
        .is_empty()
    );
}

#[test]
fn a_cooldown_or_grace_of_whole_timer_intervals_does_not_slip_a_whole_interval() {
    // The restart ran 0.4s into its minute; the run two minutes later
    // started 0.1s into its own.
    let prev = restarted_at(&State::default(), &["2026-11-22T05:00:00.4Z"]);
    for c in [
        service_config(|s| s.cooldown = minutes(2), |_| {}),
        service_config(
            |s| {
                s.cooldown = Duration::ZERO;
                s.grace = minutes(2);
            },
            |_| {},
        ),
    ] {
        let plan = step(
            &c,
            &prev,
            Status::Critical,
            Status::Ok,
            "2026-11-22T05:02:00.1Z",
            GO,
        );
        assert_eq!(only_action(&plan).0, Decision::Go, "{:?}", plan.actions);
    }
}

#[test]
fn a_restart_leaves_the_window_on_the_run_a_window_later() {
    let c = service_config(|_| {}, |_| {});
    let prev = restarted_at(
        &State::default(),
        &[
            "2026-11-22T05:00:00.4Z",
            "2026-11-22T05:10:00.4Z",
            "2026-11-22T05:20:00.4Z",
        ],
    );
    let plan = step(
        &c,
        &prev,
        Status::Critical,
        Status::Ok,
        "2026-11-22T06:00:00.1Z",
        GO,
    );
    assert_eq!(only_action(&plan).0, Decision::Go, "{:?}", plan.actions);
}

#[test]
fn renotify_of_whole_timer_intervals_does_not_slip_a_whole_interval() {
    let mut check = CheckSpec::for_tests("bot-log", "file", "age");
    check.after = 1;
    let mut c = Config::for_tests().with_check(check);
    c.alerting.renotify = Some(minutes(60));
    let ran: Vec<&CheckSpec> = c.checks.iter().collect();
    let first = decide(
        &c,
        &ran,
        &[judged_as(C)],
        &State::default(),
        t("2026-11-22T05:00:00.4Z"),
        GO,
    );
    let later = decide(
        &c,
        &ran,
        &[judged_as(C)],
        &first.next_state,
        t("2026-11-22T06:00:00.1Z"),
        GO,
    );
    let kinds: Vec<EventKind> = later.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Reminder]);
}

#[test]
fn grace_then_cooldown_then_go() {
    let c = service_config(|s| s.grace = minutes(1), |_| {});
    let prev = restarted_at(&State::default(), &["2026-11-22T05:00:00Z"]);
    let at = |now| only_action(&step(&c, &prev, Status::Critical, Status::Ok, now, GO)).0;
    assert_eq!(at("2026-11-22T05:00:30Z"), Decision::Held);
    let plan = step(
        &c,
        &prev,
        Status::Critical,
        Status::Ok,
        "2026-11-22T05:01:30Z",
        GO,
    );
    assert!(
        only_action(&plan)
            .1
            .contains("cooling down, the last one was 1m 30s ago"),
        "{:?}",
        plan.actions
    );
    assert_eq!(at("2026-11-22T05:02:01Z"), Decision::Go);
}

#[test]
fn grace_holds_even_a_new_failure() {
    let c = service_config(|s| s.grace = minutes(5), |_| {});
    let prev = restarted_at(&State::default(), &["2026-11-22T05:00:00Z"]);
    let ok_then = step(
        &c,
        &prev,
        Status::Ok,
        Status::Ok,
        "2026-11-22T05:01:00Z",
        GO,
    )
    .next_state;
    let plan = step(
        &c,
        &ok_then,
        Status::Critical,
        Status::Ok,
        "2026-11-22T05:02:00Z",
        GO,
    );
    assert!(
        only_action(&plan).1.contains("held: in grace"),
        "{:?}",
        plan.actions
    );
}

#[test]
fn a_full_budget_suspends_once_until_the_oldest_leaves_the_window() {
    let c = service_config(|_| {}, |_| {});
    let prev = restarted_at(
        &State::default(),
        &[
            "2026-11-22T05:00:00Z",
            "2026-11-22T05:10:00Z",
            "2026-11-22T05:20:00Z",
        ],
    );
    let plan = step(
        &c,
        &prev,
        Status::Critical,
        Status::Ok,
        "2026-11-22T05:30:00Z",
        GO,
    );
    assert_eq!(
        only_action(&plan),
        (
            Decision::Suspended,
            "restart bot suspended until 06:00 UTC: 3 of 3 used in the last 1h: bot-log CRITICAL for 1 run"
        )
    );
    assert_eq!(plan.notes.len(), 1);
    assert!(
        plan.notes[0]
            .message
            .contains("manual intervention required")
    );
    assert_eq!(plan.notes[0].status, Status::Critical);
    let again = step(
        &c,
        &plan.next_state,
        Status::Critical,
        Status::Ok,
        "2026-11-22T05:31:00Z",
        GO,
    );
    assert_eq!(only_action(&again).0, Decision::Suspended);
    assert!(again.notes.is_empty(), "the suspension is announced once");
    // The oldest restart leaves the window: one restart is allowed again.
    let later = step(
        &c,
        &again.next_state,
        Status::Critical,
        Status::Ok,
        "2026-11-22T06:00:01Z",
        GO,
    );
    assert_eq!(only_action(&later).0, Decision::Go);
    assert!(!later.next_state.services["bot"].suspended);
}

#[test]
fn a_full_budget_and_a_silence_ask_for_nothing() {
    let c = service_config(|_| {}, |_| {});
    let mut prev = restarted_at(
        &State::default(),
        &[
            "2026-11-22T05:00:00Z",
            "2026-11-22T05:10:00Z",
            "2026-11-22T05:20:00Z",
        ],
    );
    prev.silences.insert(
        "bot-log".into(),
        crate::state::Silence {
            until: t("2026-11-22T07:00:00Z"),
            reason: None,
        },
    );
    let plan = step(
        &c,
        &prev,
        Status::Critical,
        Status::Ok,
        "2026-11-22T05:30:00Z",
        GO,
    );
    assert!(plan.actions.is_empty() && plan.notes.is_empty(), "{plan:?}");
    assert_eq!(plan.silenced, [Some(t("2026-11-22T07:00:00Z")), None]);
    // An expired silence is dropped and acts no more.
    let after = step(
        &c,
        &State {
            silences: prev.silences.clone(),
            ..State::default()
        },
        Status::Critical,
        Status::Ok,
        "2026-11-22T07:00:01Z",
        GO,
    );
    assert!(after.next_state.silences.is_empty());
    assert_eq!(only_action(&after).0, Decision::Go);
}

#[test]
fn an_upstream_failure_holds() {
    let c = service_config(|_| {}, |c| c.depends_on = vec!["internet".into()]);
    let plan = step(
        &c,
        &State::default(),
        Status::Critical,
        Status::Critical,
        "2026-11-22T05:00:00Z",
        GO,
    );
    assert_eq!(
        only_action(&plan),
        (
            Decision::Held,
            "restart bot held: upstream internet is down: bot-log CRITICAL for 1 run"
        )
    );
}

#[test]
fn one_root_cause_gave_two_alerts() {
    let c = service_config(|_| {}, |c| c.depends_on = vec!["internet".into()]);
    let plan = step(
        &c,
        &State::default(),
        Status::Critical,
        Status::Critical,
        "2026-11-22T05:00:00Z",
        GO,
    );
    let told: Vec<(&str, EventKind)> = plan
        .events
        .iter()
        .map(|e| (e.subject.as_str(), e.kind))
        .collect();
    assert_eq!(told, [("internet", EventKind::Problem)]);
    assert!(
        plan.events[0]
            .message
            .ends_with("; also bot-log: not judged, internet is down"),
        "{:?}",
        plan.events[0]
    );
    // Nothing was announced for bot-log, so its recovery is no news;
    // once internet is back, a lasting bot-log problem is its own.
    assert!(plan.next_state.checks["bot-log"].notified.is_none());
    let alone = step(
        &c,
        &plan.next_state,
        Status::Critical,
        Status::Ok,
        "2026-11-22T05:05:00Z",
        GO,
    );
    assert_eq!(alone.events[0].subject, "bot-log");
    assert_eq!(alone.events[0].kind, EventKind::Problem);
}

#[test]
fn no_restart_holds_and_dry_run_says_what_it_would_do() {
    let c = service_config(|_| {}, |_| {});
    let no = step(
        &c,
        &State::default(),
        Status::Critical,
        Status::Ok,
        "2026-11-22T05:00:00Z",
        Mode {
            no_restart: true,
            ..GO
        },
    );
    assert_eq!(
        only_action(&no),
        (
            Decision::Held,
            "restart bot held: --no-restart: bot-log CRITICAL for 1 run"
        )
    );
    let dry = step(
        &c,
        &State::default(),
        Status::Critical,
        Status::Ok,
        "2026-11-22T05:00:00Z",
        Mode {
            dry_run: true,
            ..GO
        },
    );
    assert_eq!(
        only_action(&dry),
        (
            Decision::DryRun,
            "would restart bot (1 of 3 in the last 1h): bot-log CRITICAL for 1 run"
        )
    );
}

#[test]
fn a_clock_stepped_back_never_stretches_the_window() {
    let c = service_config(|_| {}, |_| {});
    // Restarts "in the future" count as now: the budget is full, not empty,
    // and the suspension ends one window from now at the latest.
    let prev = restarted_at(
        &State::default(),
        &[
            "2026-11-22T09:00:00Z",
            "2026-11-22T09:01:00Z",
            "2026-11-22T09:02:00Z",
        ],
    );
    let plan = step(
        &c,
        &prev,
        Status::Critical,
        Status::Ok,
        "2026-11-22T05:00:00Z",
        GO,
    );
    assert_eq!(
        only_action(&plan).1,
        "restart bot suspended until 06:00 UTC: 3 of 3 used in the last 1h: bot-log CRITICAL for 1 run"
    );
}

#[test]
fn restarts_are_held_for_a_window_after_the_state_was_reset() {
    let c = service_config(|_| {}, |_| {});
    let prev = State {
        reset_at: Some(t("2026-11-22T05:00:00Z")),
        ..State::default()
    };
    let plan = step(
        &c,
        &prev,
        Status::Critical,
        Status::Ok,
        "2026-11-22T05:30:00Z",
        GO,
    );
    assert_eq!(
        only_action(&plan),
        (
            Decision::Held,
            "restart bot held until 06:00 UTC: the state file was reset at 05:00 UTC: bot-log CRITICAL for 1 run"
        )
    );
    assert_eq!(
        only_action(&step(
            &c,
            &prev,
            Status::Critical,
            Status::Ok,
            "2026-11-22T06:00:01Z",
            GO
        ))
        .0,
        Decision::Go
    );
}

#[test]
fn several_checks_naming_one_service_give_one_restart() {
    let restarting = |name| {
        let mut c = CheckSpec::for_tests(name, "memory", "used_percent");
        c.restart = Some("bot".into());
        c
    };
    let c = Config::for_tests()
        .with_service(ServiceSpec::for_tests("bot"))
        .with_check(restarting("a"))
        .with_check(restarting("b"));
    let ran: Vec<&CheckSpec> = c.checks.iter().collect();
    let plan = decide(
        &c,
        &ran,
        &[judged_as(Status::Critical), judged_as(Status::Critical)],
        &State::default(),
        t("2026-11-22T05:00:00Z"),
        GO,
    );
    assert_eq!(plan.actions.len(), 1);
    assert_eq!(plan.actions[0].triggers, ["a", "b"]);
}

/// Check `token` with the recovery command `refresh-token`.
fn token_config() -> Config {
    let mut token = CheckSpec::for_tests("token", "memory", "used_percent");
    token.run = Some(vec!["refresh-token".into()]);
    Config::for_tests().with_check(token)
}

#[test]
fn recovery_commands_have_their_own_budget() {
    let c = token_config();
    let ran: Vec<&CheckSpec> = c.checks.iter().collect();
    let mut prev = State::default();
    let first = decide(
        &c,
        &ran,
        &[judged_as(Status::Critical)],
        &prev,
        t("2026-11-22T05:00:00Z"),
        GO,
    );
    assert_eq!(first.actions[0].target, Target::Recover("token".into()));
    assert_eq!(first.actions[0].decision, Decision::Go);
    prev = first.next_state;
    prev.checks.get_mut("token").unwrap().runs = vec![
        t("2026-11-22T05:00:00Z"),
        t("2026-11-22T05:03:00Z"),
        t("2026-11-22T05:06:00Z"),
    ];
    let plan = decide(
        &c,
        &ran,
        &[judged_as(Status::Critical)],
        &prev,
        t("2026-11-22T05:10:00Z"),
        GO,
    );
    assert_eq!(plan.actions[0].decision, Decision::Suspended);
}

#[test]
fn recovery_command_times_are_pruned_to_their_window() {
    let c = token_config();
    let ran: Vec<&CheckSpec> = c.checks.iter().collect();
    let mut prev = decide(
        &c,
        &ran,
        &[judged_as(Status::Ok)],
        &State::default(),
        t("2026-11-22T05:00:00Z"),
        GO,
    )
    .next_state;
    prev.checks.get_mut("token").unwrap().runs = vec![
        t("2026-11-20T05:00:00Z"),
        t("2026-11-22T04:30:00Z"),
        t("2026-11-22T05:10:00Z"),
    ];
    let plan = decide(
        &c,
        &ran,
        &[judged_as(Status::Ok)],
        &prev,
        t("2026-11-22T05:00:00Z"),
        GO,
    );
    // Two days old: gone. A future time (clock stepped back): now.
    assert_eq!(
        plan.next_state.checks["token"].runs,
        [t("2026-11-22T04:30:00Z"), t("2026-11-22T05:00:00Z")]
    );
}

// Alert events, with a fixed clock: one problem message, reminders,
// one recovery, and a flip-flopping check kept quiet.

/// Run the single `bot-log` check through `statuses`, one run a minute
/// (or `every`), and collect the events of each run.
fn told(
    alerting: impl FnOnce(&mut Alerting),
    statuses: &[Status],
    every: i64,
) -> Vec<Vec<(EventKind, Status)>> {
    told_with(alerting, 1, statuses, every)
}

/// The same for a check confirmed `after` runs.
fn told_with(
    alerting: impl FnOnce(&mut Alerting),
    after: u32,
    statuses: &[Status],
    every: i64,
) -> Vec<Vec<(EventKind, Status)>> {
    let mut check = CheckSpec::for_tests("bot-log", "file", "age");
    check.after = after;
    let mut c = Config::for_tests().with_check(check);
    alerting(&mut c.alerting);
    let ran: Vec<&CheckSpec> = c.checks.iter().collect();
    let mut state = State::default();
    let start = t("2026-11-22T05:00:00Z");
    let mut out = Vec::new();
    for (i, status) in statuses.iter().enumerate() {
        let now = start + jiff::SignedDuration::from_secs(i as i64 * every);
        let plan = decide(&c, &ran, &[judged_as(*status)], &state, now, GO);
        out.push(plan.events.iter().map(|e| (e.kind, e.status)).collect());
        state = plan.next_state;
    }
    out
}

fn flat(runs: &[Vec<(EventKind, Status)>]) -> Vec<(usize, EventKind, Status)> {
    runs.iter()
        .enumerate()
        .flat_map(|(i, r)| r.iter().map(move |(k, s)| (i, *k, *s)))
        .collect()
}

use Status::{Critical as C, Ok as O, Warning as W};

#[test]
fn a_lasting_problem_is_told_once_reminded_per_renotify_and_recovered_once() {
    // Ten runs CRITICAL, one every 30 minutes, renotify 2h; then OK twice.
    let mut statuses = vec![C; 10];
    statuses.extend([O, O, O]);
    let runs = told(|a| a.renotify = Some(minutes(120)), &statuses, 1800);
    assert_eq!(
        flat(&runs),
        vec![
            (0, EventKind::Problem, C),
            (4, EventKind::Reminder, C),
            (8, EventKind::Reminder, C),
            (11, EventKind::Recovery, C),
        ]
    );
}

#[test]
fn renotify_never_and_resolved_false_are_honoured() {
    let runs = told(
        |a| {
            a.renotify = None;
            a.resolved = false;
        },
        &[C, C, C, C, C, O, O, O],
        3600,
    );
    assert_eq!(flat(&runs), vec![(0, EventKind::Problem, C)]);
}

#[test]
fn a_changed_severity_is_a_new_problem() {
    let runs = told(|_| {}, &[W, W, C, C, W], 60);
    assert_eq!(
        flat(&runs),
        vec![
            (0, EventKind::Problem, W),
            (2, EventKind::Problem, C),
            (4, EventKind::Problem, W)
        ]
    );
}

#[test]
fn a_check_flipping_every_run_for_10_runs_gives_at_most_3_messages() {
    let flipping = [O, C, O, C, O, C, O, C, O, C];
    let runs = told(|_| {}, &flipping, 60);
    let all = flat(&runs);
    assert!(all.len() <= 3, "{all:?}");
    assert_eq!(
        all,
        vec![(1, EventKind::Problem, C), (5, EventKind::Flapping, C)]
    );
    let starting_critical = [C, O, C, O, C, O, C, O, C, O];
    assert!(flat(&told(|_| {}, &starting_critical, 60)).len() <= 3);
}

#[test]
fn a_flapping_check_that_settles_tells_its_recovery() {
    let mut statuses = vec![O, C, O, C, O, C];
    statuses.extend([O; 10]);
    let all = flat(&told(|_| {}, &statuses, 60));
    assert_eq!(
        all,
        vec![
            (1, EventKind::Problem, C),
            (5, EventKind::Flapping, C),
            (15, EventKind::Recovery, C)
        ]
    );
}

#[test]
fn a_flapping_notice_is_followed_by_its_settling_even_without_a_confirmed_problem() {
    // With after = 2 a check flipping every run is never confirmed:
    // the flapping notice is its one problem message, and its settling
    // (OK for 10 runs) its one recovery.
    let mut statuses = vec![C, O, C, O, C, O];
    statuses.extend([O; 10]);
    let all = flat(&told_with(|_| {}, 2, &statuses, 60));
    assert_eq!(
        all,
        vec![(5, EventKind::Flapping, C), (14, EventKind::Recovery, C)]
    );
    // Settling on a problem is told as a problem.
    let mut statuses = vec![C, O, C, O, C, O];
    statuses.extend([W; 10]);
    let all = flat(&told_with(|_| {}, 2, &statuses, 60));
    assert_eq!(
        all,
        vec![(5, EventKind::Flapping, C), (15, EventKind::Problem, W)]
    );
}

#[test]
fn a_single_ok_run_is_no_recovery() {
    let all = flat(&told(|_| {}, &[C, O, C, C, O, O], 60));
    assert_eq!(
        all,
        vec![(0, EventKind::Problem, C), (5, EventKind::Recovery, C)]
    );
}
