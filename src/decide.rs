//! The rules, as pure functions of the config, this run's outcomes, the
//! previous state and the clock: thresholds and severity caps turn a probe's
//! outcome into a status; history turns statuses into confirmed problems
//! and the next state. Nothing here reads the clock, a file or the network,
//! so every rule is unit-tested with a fixed `now`.

use serde::Serialize;

use crate::check::{Outcome, Reading, Thresholds, Unit};
use crate::config::{CheckSpec, Settings};
use crate::state::{CheckState, State};
use crate::status::Status;

/// A check's outcome after its thresholds and severity cap.
#[derive(Debug, Clone)]
pub struct Judged {
    pub status: Status,
    pub message: String,
    pub readings: Vec<(Reading, Option<Thresholds>)>,
    pub memory: Option<serde_json::Value>,
}

/// healthcheck's own trouble, reported beside the checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub status: Status,
    pub message: String,
}

impl Note {
    pub fn new(status: Status, message: impl Into<String>) -> Note {
        Note {
            status,
            message: message.into(),
        }
    }
}

/// Apply thresholds to the judged reading and the `severity` cap. The
/// judged reading may come once per row (`until[MAIN_DATA]`,
/// `until[TRADER]`): every reading of its family is judged, and a breach
/// names the row.
pub fn judge(spec: &CheckSpec, outcome: Outcome) -> Judged {
    let mut status = outcome.status;
    let mut message = outcome.message;
    let judged_name = spec.judged.as_deref();
    let mut readings = Vec::with_capacity(outcome.readings.len());
    for reading in outcome.readings {
        let is_judged =
            Some(reading.name.as_str()) == judged_name || Some(reading.family()) == judged_name;
        let limits = (is_judged && !spec.thresholds.is_empty()).then_some(spec.thresholds);
        if let Some(breach) = limits.and_then(|t| t.judge(reading.value)) {
            status = status.max(breach.status);
            let row = match reading.label() {
                Some(label) if Some(reading.name.as_str()) != judged_name => format!("{label} "),
                _ => String::new(),
            };
            message = format!(
                "{message} ({row}{} {})",
                breach.word,
                reading.unit.show(breach.limit)
            );
        }
        readings.push((reading, limits));
    }
    if spec.cap == Some(Status::Warning) && status == Status::Critical {
        status = Status::Warning;
    }
    Judged {
        status,
        message,
        readings,
        memory: outcome.memory,
    }
}

/// Per check: how long its problem has lasted and whether it is confirmed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub consecutive: u32,
    pub confirmed: bool,
}

/// What the run should do and remember.
#[derive(Debug)]
pub struct Plan {
    pub verdicts: Vec<Verdict>,
    pub next_state: State,
    pub notes: Vec<Note>,
}

/// Decide from the checks that ran (`ran[i]` judged as `judged[i]`), the
/// previous state and the clock. `all_ran` says every configured check ran
/// (not `--only`): then state entries of checks no longer configured go.
pub fn decide(
    settings: &Settings,
    ran: &[&CheckSpec],
    judged: &[Judged],
    prev: &State,
    now: jiff::Timestamp,
    all_ran: bool,
) -> Plan {
    let mut next = prev.clone();
    if all_ran {
        next.checks
            .retain(|name, _| ran.iter().any(|c| &c.name == name));
    }
    let mut notes = Vec::new();
    let last_run = prev.last_run.map(|t| t.min(now));
    if let (Some(interval), Some(last)) = (settings.expected_interval, last_run) {
        let gap = now.duration_since(last).unsigned_abs();
        if gap > interval * 3 {
            notes.push(Note::new(
                Status::Warning,
                format!(
                    "healthcheck did not run for {} (expected every {})",
                    Unit::Seconds.show(gap.as_secs_f64()),
                    Unit::Seconds.show(interval.as_secs_f64())
                ),
            ));
        }
    }
    let mut verdicts = Vec::with_capacity(ran.len());
    for (spec, j) in ran.iter().zip(judged) {
        let before = prev.checks.get(&spec.name);
        let consecutive = match (j.status, before) {
            (Status::Ok, _) => 0,
            (_, Some(b)) => b.consecutive.saturating_add(1),
            (_, None) => 1,
        };
        let since = match before {
            Some(b) if b.status == j.status => b.since.min(now),
            _ => now,
        };
        verdicts.push(Verdict {
            consecutive,
            confirmed: j.status.is_ok() || consecutive >= spec.after,
        });
        next.checks.insert(
            spec.name.clone(),
            CheckState {
                status: j.status,
                since,
                consecutive,
                memory: j.memory.clone(),
            },
        );
    }
    next.last_run = Some(now);
    Plan {
        verdicts,
        next_state: next,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, load_str};

    fn t(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn config(extra: &str) -> Config {
        load_str(
            "t.toml",
            &format!(
                "[settings]\nexpected_interval = \"5m\"\n[[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"/x\"\ncrit_above = \"5m\"\nwarn_above = \"2m\"\n{extra}"
            ),
        )
        .unwrap()
    }

    fn age(seconds: f64) -> Outcome {
        Outcome::ok("modified recently")
            .reading("age", seconds, Unit::Seconds)
            .reading("size", 10.0, Unit::Bytes)
    }

    #[track_caller]
    fn judged(extra: &str, outcome: Outcome) -> Judged {
        let c = config(extra);
        judge(&c.checks[0], outcome)
    }

    #[test]
    fn thresholds_judge_the_primary_reading_and_say_which_limit() {
        assert_eq!(judged("", age(30.0)).status, Status::Ok);
        let j = judged("", age(200.0));
        assert_eq!(
            (j.status, j.message.as_str()),
            (Status::Warning, "modified recently (warn above 2m)")
        );
        let j = judged("", age(1080.0));
        assert_eq!(
            (j.status, j.message.as_str()),
            (Status::Critical, "modified recently (crit above 5m)")
        );
        // Only the judged reading carries thresholds into the report.
        assert!(j.readings[0].1.is_some() && j.readings[1].1.is_none());
    }

    #[test]
    fn per_row_readings_are_each_judged_and_named_in_the_message() {
        let c = load_str(
            "t.toml",
            "[[check]]\nname = \"tokens\"\ntype = \"sql\"\ndriver = \"sqlite\"\ndatabase = \"/x.db\"\nquery = \"SELECT 1\"\nexpect = \"until\"\nlabel_column = 1\nwarn_below = \"30m\"\ncrit_below = \"10m\"\n",
        )
        .unwrap();
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
            judged("severity = \"warning\"", age(1080.0)).status,
            Status::Warning
        );
        assert_eq!(
            judged("severity = \"warning\"", Outcome::unknown("x")).status,
            Status::Unknown
        );
    }

    #[test]
    fn a_probe_status_is_never_lowered_by_thresholds() {
        assert_eq!(
            judged("", Outcome::critical("file not found: /x")).status,
            Status::Critical
        );
    }

    fn run(c: &Config, prev: &State, status: Status, now: &str) -> Plan {
        let j = Judged {
            status,
            message: String::new(),
            readings: vec![],
            memory: None,
        };
        let ran: Vec<&CheckSpec> = c.checks.iter().collect();
        decide(&c.settings, &ran, &[j], prev, t(now), true)
    }

    #[test]
    fn after_confirms_on_the_nth_consecutive_failure() {
        let c = config("after = 3");
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
        let c = config("");
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
        let c = config("");
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
        let c = config("");
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
        let c = config("");
        let mut prev = State::default();
        prev.checks.insert(
            "gone".into(),
            CheckState {
                status: Status::Critical,
                since: t("2026-11-22T05:00:00Z"),
                consecutive: 4,
                memory: None,
            },
        );
        let plan = run(&c, &prev, Status::Ok, "2026-11-22T05:01:00Z");
        assert!(!plan.next_state.checks.contains_key("gone"));
        assert_eq!(plan.next_state.last_run, Some(t("2026-11-22T05:01:00Z")));
    }
}
