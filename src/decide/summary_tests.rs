//! The summary's rules with a fixed clock.

use std::time::Duration;

use super::*;
use crate::decide::{Judged, Mode, decide};
use crate::model::{Action, ActionOutcome, ActionReport, Decision, Digest, Target};
use crate::spec::summary::SummarySpec;
use crate::spec::{CheckSpec, Config};
use crate::state::{Pending, State};

fn t(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn spec(tz: &str) -> SummarySpec {
    SummarySpec {
        at: jiff::civil::time(8, 0, 0, 0),
        tz: jiff::tz::TimeZone::get(tz).unwrap(),
        channels: vec!["discord".into()],
    }
}

fn sent_at(s: &str) -> State {
    let mut state = State::default();
    state.daily.summarized.insert("discord".into(), t(s));
    state
}

#[test]
fn before_at_nothing_is_due_and_at_it_one_is() {
    let s = spec("UTC");
    let state = State::default();
    assert!(due(&s, &state, t("2026-06-01T07:59:59Z")).is_empty());
    assert_eq!(due(&s, &state, t("2026-06-01T08:00:00Z")), ["discord"]);
    assert_eq!(due(&s, &state, t("2026-06-01T08:05:00Z")), ["discord"]);
}

#[test]
fn the_next_run_the_same_day_sends_none_and_the_next_day_one() {
    let s = spec("UTC");
    let state = sent_at("2026-06-01T08:05:00Z");
    assert!(due(&s, &state, t("2026-06-01T08:10:00Z")).is_empty());
    assert!(due(&s, &state, t("2026-06-01T23:59:00Z")).is_empty());
    assert!(due(&s, &state, t("2026-06-02T07:55:00Z")).is_empty());
    assert_eq!(due(&s, &state, t("2026-06-02T08:00:00Z")), ["discord"]);
}

#[test]
fn a_summary_waiting_in_the_outbox_is_not_made_again() {
    let s = spec("UTC");
    let mut state = State::default();
    let mut digest = Digest {
        host: "vps-1".into(),
        at: t("2026-06-01T08:00:00Z"),
        events: vec![Event {
            kind: EventKind::Summary,
            subject: "daily summary".into(),
            status: Status::Ok,
            message: "Checks:".into(),
            hint: None,
        }],
        held_back: Vec::new(),
        still_failing: Vec::new(),
        suppressed: 0,
        on_behalf_of: None,
        details: None,
    };
    state.outbox.push(Pending {
        channel: "discord".into(),
        digest: digest.clone(),
        quiet: false,
        fresh: false,
    });
    assert!(due(&s, &state, t("2026-06-01T08:05:00Z")).is_empty());
    // Handed to a fallback, it still waits for the channel it was made for.
    digest.on_behalf_of = Some("discord".into());
    state.outbox[0] = Pending {
        channel: "email".into(),
        digest,
        quiet: false,
        fresh: false,
    };
    assert!(due(&s, &state, t("2026-06-01T08:05:00Z")).is_empty());
}

#[test]
fn after_three_days_off_one_summary_is_due_not_three() {
    let s = spec("UTC");
    let state = sent_at("2026-06-01T08:00:00Z");
    assert!(due(&s, &state, t("2026-06-04T06:00:00Z")).is_empty());
    let now = t("2026-06-04T09:30:00Z");
    assert_eq!(due(&s, &state, now), ["discord"]);
    // Once that one is accepted, nothing more that day.
    let state = sent_at("2026-06-04T09:30:00Z");
    assert!(due(&s, &state, t("2026-06-04T09:35:00Z")).is_empty());
}

#[test]
fn at_follows_the_time_zone_across_a_dst_change() {
    // Europe/Berlin moves to summer time on 2026-03-29: 08:00 is 07:00 UTC
    // the day before and 06:00 UTC that day.
    let s = spec("Europe/Berlin");
    let state = State::default();
    assert!(due(&s, &state, t("2026-03-28T06:30:00Z")).is_empty());
    assert_eq!(due(&s, &state, t("2026-03-28T07:00:00Z")), ["discord"]);
    assert_eq!(due(&s, &state, t("2026-03-29T06:30:00Z")), ["discord"]);
    assert!(due(&s, &state, t("2026-03-29T05:59:00Z")).is_empty());
    // A summary made at 23:30 UTC on the 28th is the 29th in Berlin.
    let state = sent_at("2026-03-28T23:30:00Z");
    assert!(due(&s, &state, t("2026-03-29T06:30:00Z")).is_empty());
}

fn config() -> Config {
    let mut c = Config::for_tests().with_check(CheckSpec::for_tests("bot-log", "file", "age"));
    c.settings.expected_interval = Some(Duration::from_secs(300));
    c
}

fn judged(status: Status, message: &str) -> Judged {
    Judged {
        left_alone: false,
        status,
        message: message.into(),
        readings: Vec::new(),
        memory: None,
    }
}

/// One run of `decide` over the one check, all checks ran.
fn run(c: &Config, prev: &State, status: Status, message: &str, now: &str) -> State {
    let ran: Vec<&CheckSpec> = c.checks.iter().collect();
    let mode = Mode {
        all_ran: true,
        ..Mode::default()
    };
    decide(c, &ran, &[judged(status, message)], prev, t(now), mode).next_state
}

#[test]
fn an_incident_opens_on_a_confirmed_problem_keeps_its_worst_and_ends_when_ok() {
    let mut c = config();
    c.checks[0].after = 2;
    let s0 = run(
        &c,
        &State::default(),
        Status::Ok,
        "fine",
        "2026-06-01T03:00:00Z",
    );
    assert!(s0.daily.incidents.is_empty());
    let s1 = run(&c, &s0, Status::Warning, "old", "2026-06-01T03:05:00Z");
    assert!(s1.daily.incidents.is_empty(), "not confirmed yet");
    let s2 = run(
        &c,
        &s1,
        Status::Critical,
        "very old",
        "2026-06-01T03:10:00Z",
    );
    let s3 = run(
        &c,
        &s2,
        Status::Warning,
        "old again",
        "2026-06-01T03:15:00Z",
    );
    assert_eq!(s3.daily.incidents.len(), 1);
    let i = &s3.daily.incidents[0];
    assert_eq!(
        (i.check.as_str(), i.worst, i.message.as_str(), i.end),
        ("bot-log", Status::Critical, "very old", None)
    );
    let s4 = run(&c, &s3, Status::Ok, "fine", "2026-06-01T03:20:00Z");
    assert_eq!(s4.daily.incidents[0].end, Some(t("2026-06-01T03:20:00Z")));
    let s5 = run(&c, &s4, Status::Critical, "gone", "2026-06-01T03:25:00Z");
    let s6 = run(&c, &s5, Status::Critical, "gone", "2026-06-01T03:30:00Z");
    assert_eq!(
        s6.daily.incidents.len(),
        2,
        "the next problem is a new incident"
    );
    // The check is removed from the config: its open incident goes, the
    // ended one stays for the summaries.
    let mut other = Config::for_tests().with_check(CheckSpec::for_tests("disk", "disk", "used"));
    other.settings.expected_interval = c.settings.expected_interval;
    let s7 = run(&other, &s6, Status::Ok, "fine", "2026-06-01T03:35:00Z");
    assert_eq!(s7.daily.incidents.len(), 1);
    assert_eq!(s7.daily.incidents[0].end, Some(t("2026-06-01T03:20:00Z")));
}

#[test]
fn missed_runs_are_tallied_from_the_gaps() {
    let c = config();
    let s0 = run(
        &c,
        &State::default(),
        Status::Ok,
        "fine",
        "2026-06-01T03:00:00Z",
    );
    let s1 = run(&c, &s0, Status::Ok, "fine", "2026-06-01T03:06:00Z");
    // 20 minutes at an expected 5: three runs did not happen.
    let s2 = run(&c, &s1, Status::Ok, "fine", "2026-06-01T03:26:00Z");
    assert_eq!(s2.daily.day(t("2026-06-01T03:30:00Z")).missed, 3);
}

#[test]
fn a_quiet_run_leaves_the_daily_log_as_it_was() {
    // The store skips rewriting a state where only `last_run` moved: the
    // log must not turn every run into a write.
    let c = config();
    let s0 = run(
        &c,
        &State::default(),
        Status::Critical,
        "stale",
        "2026-06-01T03:00:00Z",
    );
    let s1 = run(&c, &s0, Status::Critical, "stale", "2026-06-01T03:05:00Z");
    assert_eq!(s1.daily, s0.daily);
    let s2 = run(&c, &s1, Status::Ok, "fine", "2026-06-01T03:10:00Z");
    let s3 = run(&c, &s2, Status::Ok, "fine", "2026-06-01T03:15:00Z");
    assert_ne!(s2.daily, s1.daily);
    assert_eq!(s3.daily, s2.daily);
    let mut s4 = s3.clone();
    alerts(&mut s4, 0, t("2026-06-01T03:15:00Z"));
    assert_eq!(s4.daily, s3.daily);
}

#[test]
fn actions_join_the_incident_with_whether_they_helped_and_restarts_are_counted() {
    let c = config();
    let now = t("2026-06-01T03:00:00Z");
    let mut state = run(
        &c,
        &State::default(),
        Status::Critical,
        "stale",
        "2026-06-01T03:00:00Z",
    );
    let decided = vec![
        Action {
            target: Target::Restart("bot".into()),
            decision: Decision::Go,
            reason: String::new(),
            triggers: vec!["bot-log".into()],
            ladder: Vec::new(),
        },
        Action {
            target: Target::Restart("other".into()),
            decision: Decision::Held,
            reason: String::new(),
            triggers: vec!["bot-log".into()],
            ladder: Vec::new(),
        },
    ];
    let mut restarted = ActionReport::new(&decided[0].target, ActionOutcome::Ok, "done".into());
    restarted.helped = Some(false);
    let held = ActionReport::new(&decided[1].target, ActionOutcome::Held, "held".into());
    actions(&mut state.daily, &decided, &[restarted, held], now);
    let i = &state.daily.incidents[0];
    assert_eq!(i.actions.len(), 1);
    assert_eq!(
        (i.actions[0].what.as_str(), i.actions[0].helped),
        ("restart bot", Some(false))
    );
    assert_eq!(i.end, None);
    let day = state.daily.day(now);
    assert_eq!(day.restarts.len(), 1);
    assert_eq!(day.restarts["bot"], 1);
}

#[test]
fn the_summary_tells_statuses_the_last_days_incidents_and_the_tallies() {
    let c = config();
    let s = spec("UTC");
    let s0 = run(
        &c,
        &State::default(),
        Status::Critical,
        "stale 20m",
        "2026-05-30T03:00:00Z",
    );
    let s1 = run(&c, &s0, Status::Ok, "fine", "2026-05-30T03:05:00Z");
    let s2 = run(
        &c,
        &s1,
        Status::Critical,
        "stale 18m",
        "2026-06-01T03:00:00Z",
    );
    let s3 = run(&c, &s2, Status::Ok, "fine", "2026-06-01T03:15:00Z");
    let mut s4 = run(&c, &s3, Status::Ok, "fine", "2026-06-01T08:00:00Z");
    alerts(&mut s4, 1, t("2026-06-01T08:00:00Z"));
    let e = compose(&c, &s, &s4, t("2026-06-01T08:00:00Z"));
    assert_eq!(e.kind, EventKind::Summary);
    assert_eq!(e.status, Status::Ok);
    assert_eq!(
        e.message,
        "Checks:\n[OK] bot-log since 2026-06-01 03:15\n\n\
         Incidents in the last 24h (1):\n\
         bot-log CRITICAL from 2026-06-01 03:00 to 2026-06-01 03:15 (15m): stale 18m\n\n\
         Restarts in the last 24h: none\n\
         Alerts in the last 24h: 0 sent, 0 queued, 1 dropped\n\
         Runs missed in the last 24h: 274"
    );
}

#[test]
fn a_ladder_that_ran_out_leaves_manual_intervention_in_its_incident_once() {
    use crate::spec::escalate::{Command, Step, StepAction};
    let mut c = config();
    c.checks[0].recovery.steps = vec![Step {
        action: StepAction::Run(Command {
            argv: vec!["soft-recover".into()],
            cwd: None,
            env: Vec::new(),
        }),
        after: Duration::ZERO,
    }];
    let mut state = State::default();
    for at in ["03:00", "03:05", "03:10", "03:15"] {
        let now = t(&format!("2026-06-01T{at}:00Z"));
        let ran: Vec<&CheckSpec> = c.checks.iter().collect();
        let mode = Mode {
            all_ran: true,
            ..Mode::default()
        };
        let plan = decide(
            &c,
            &ran,
            &[judged(Status::Critical, "stale")],
            &state,
            now,
            mode,
        );
        state = plan.next_state.clone();
        for a in plan.actions.iter().filter(|a| a.decision == Decision::Go) {
            state.record(&a.target, now);
            state.climb(&a.ladder, now);
        }
    }
    let whats: Vec<&str> = state.daily.incidents[0]
        .actions
        .iter()
        .map(|a| a.what.as_str())
        .collect();
    assert_eq!(whats, ["manual intervention required"]);
    let line = incident_line(&state.daily.incidents[0], t("2026-06-01T03:20:00Z"), &|t| {
        t.strftime("%H:%M").to_string()
    });
    assert!(line.ends_with("; manual intervention required"), "{line}");
}

#[test]
fn an_action_that_helped_ends_the_incident_and_a_relapse_starts_a_new_one_from_there() {
    let c = config();
    let mut state = run(
        &c,
        &State::default(),
        Status::Critical,
        "stale",
        "2026-06-01T03:00:00Z",
    );
    let decided = vec![Action {
        target: Target::Restart("bot".into()),
        decision: Decision::Go,
        reason: String::new(),
        triggers: vec!["bot-log".into()],
        ladder: Vec::new(),
    }];
    let mut restarted = ActionReport::new(&decided[0].target, ActionOutcome::Ok, "done".into());
    restarted.helped = Some(true);
    actions(
        &mut state.daily,
        &decided,
        &[restarted],
        t("2026-06-01T03:00:30Z"),
    );
    assert_eq!(
        state.daily.incidents[0].end,
        Some(t("2026-06-01T03:00:30Z"))
    );
    // The re-check was wrong: still CRITICAL at the next run.
    let state = run(
        &c,
        &state,
        Status::Critical,
        "stale",
        "2026-06-01T03:05:00Z",
    );
    let starts: Vec<jiff::Timestamp> = state.daily.incidents.iter().map(|i| i.start).collect();
    assert_eq!(
        starts,
        [t("2026-06-01T03:00:00Z"), t("2026-06-01T03:00:30Z")]
    );
    let e = compose(&c, &spec("UTC"), &state, t("2026-06-01T08:00:00Z"));
    assert!(e.message.contains("restart bot (helped)"), "{}", e.message);
}

#[test]
fn a_gap_a_few_milliseconds_short_of_its_intervals_undercounted_missed_runs() {
    // Timers start a run anywhere in its second: the run after a gap may
    // start a little earlier in it than the run before the gap did.
    let c = config();
    let s0 = run(
        &c,
        &State::default(),
        Status::Ok,
        "fine",
        "2026-06-01T03:06:00.5Z",
    );
    let s1 = run(&c, &s0, Status::Ok, "fine", "2026-06-01T03:26:00.2Z");
    assert_eq!(s1.daily.day(t("2026-06-01T03:30:00Z")).missed, 3);
}
