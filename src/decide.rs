//! The rules, as pure functions of the config, this run's outcomes, the
//! previous state and the clock: thresholds and severity caps turn a probe's
//! outcome into a status; history turns statuses into confirmed problems
//! and the next state. Nothing here reads the clock, a file or the network,
//! so every rule is unit-tested with a fixed `now`.

use crate::model::{Outcome, Reading, Thresholds, Unit};
use std::time::Duration;

use crate::config::alert::Alerting;
use crate::config::{CheckSpec, Config};
use crate::model::Status;
use crate::model::{Action, Decision, Event, EventKind, Note, Target};
use crate::schedule::hhmm;
use crate::state::{CheckState, Notified, State};

/// A check's outcome after its thresholds and severity cap.
#[derive(Debug, Clone)]
pub struct Judged {
    pub status: Status,
    pub message: String,
    pub readings: Vec<(Reading, Option<Thresholds>)>,
    pub memory: Option<serde_json::Value>,
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

/// How the run was asked to act.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// Every configured check ran (not `--only`): state entries of checks
    /// no longer configured are dropped.
    pub all_ran: bool,
    pub no_restart: bool,
    pub dry_run: bool,
    /// Alerts are decided and reported but not sent: what was announced
    /// stays as it was.
    pub no_alert: bool,
}

/// What the run should do and remember.
#[derive(Debug)]
pub struct Plan {
    pub verdicts: Vec<Verdict>,
    /// Per check that ran: muted by a silence.
    pub silenced: Vec<bool>,
    pub actions: Vec<Action>,
    /// What the checks have to tell (problems, reminders, recoveries, flapping).
    pub events: Vec<Event>,
    pub next_state: State,
    pub notes: Vec<Note>,
}

/// Recovery commands (`run`) share one budget per check: 3 per hour, 2
/// minutes apart.
const RUN_MAX: u32 = 3;
const RUN_WINDOW: Duration = Duration::from_secs(3600);
const RUN_COOLDOWN: Duration = Duration::from_secs(120);
const RUN_BUDGET: Budget = Budget {
    max: RUN_MAX,
    window: RUN_WINDOW,
    cooldown: RUN_COOLDOWN,
    grace: Duration::ZERO,
};

/// The flapping rule looks at this many runs; this many status changes
/// among them make a check flap (SPEC 9).
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
                .is_some_and(|every| now.duration_since(n.at.min(now)).unsigned_abs() >= every);
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
    let consecutive = match (judged.status, before) {
        (Status::Ok, _) => 0,
        (_, Some(b)) => b.consecutive.saturating_add(1),
        (_, None) => 1,
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
            .map(|b| RUN_BUDGET.recent(&b.runs, now))
            .unwrap_or_default(),
        notified: before.and_then(|b| b.notified),
        history,
        flapping: before.is_some_and(|b| b.flapping),
        memory: judged.memory.clone(),
    };
    (state, verdict)
}

/// Decide from the checks that ran (`ran[i]` judged as `judged[i]`), the
/// previous state and the clock.
pub fn decide(
    config: &Config,
    ran: &[&CheckSpec],
    judged: &[Judged],
    prev: &State,
    now: jiff::Timestamp,
    mode: Mode,
) -> Plan {
    let mut next = prev.clone();
    if mode.all_ran {
        next.checks.retain(|name, _| config.check(name).is_some());
        next.services
            .retain(|name, _| config.service(name).is_some());
    }
    next.silences.retain(|_, s| s.until > now);
    let mut notes = Vec::new();
    let last_run = prev.last_run.map(|t| t.min(now));
    if let (Some(interval), Some(last)) = (config.settings.expected_interval, last_run) {
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
    let mut silenced = Vec::with_capacity(ran.len());
    let mut events = Vec::new();
    // One root cause, one alert: a failing check whose `depends_on` check
    // fails too is told inside that check's event, not on its own.
    let mut folded: Vec<(String, String)> = Vec::new();
    for (spec, j) in ran.iter().zip(judged) {
        let before = prev.checks.get(&spec.name);
        let (mut state, verdict) = update_check(spec, before, j, now);
        let muted = prev.silenced(&spec.name, now).is_some();
        let upstream = (!j.status.is_ok())
            .then(|| failing_upstream(spec, ran, judged))
            .flatten();
        if let Some(upstream) = upstream {
            folded.push((
                upstream.to_string(),
                format!("{}: not judged, {upstream} is down", spec.name),
            ));
        } else if !muted {
            let told = check_events(spec, j, verdict, &mut state, &config.alerting, now);
            if mode.no_alert {
                state.notified = before.and_then(|b| b.notified);
                state.flapping = before.is_some_and(|b| b.flapping);
            }
            events.extend(told);
        }
        verdicts.push(verdict);
        silenced.push(muted);
        next.checks.insert(spec.name.clone(), state);
    }
    for (upstream, line) in folded {
        if let Some(e) = events.iter_mut().find(|e| {
            e.subject == upstream && matches!(e.kind, EventKind::Problem | EventKind::Reminder)
        }) {
            e.message = format!("{}; also {line}", e.message);
        }
    }
    next.last_run = Some(now);

    // The checks that ask for action: confirmed CRITICAL and not silenced.
    let status_of = |name: &str| {
        ran.iter()
            .position(|c| c.name == name)
            .map(|i| judged[i].status)
    };
    let acting: Vec<usize> = (0..ran.len())
        .filter(|i| {
            judged[*i].status == Status::Critical && verdicts[*i].confirmed && !silenced[*i]
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
            mode,
            "run recovery command",
        );
        actions.push(Action {
            target: Target::Recover(ran[i].name.clone()),
            decision,
            reason: format!("{reason}: {}", why(i)),
            triggers: vec![ran[i].name.clone()],
        });
    }
    for service in &config.services {
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
            mode,
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
    Plan {
        verdicts,
        silenced,
        actions,
        events,
        next_state: next,
        notes,
    }
}

/// The first check `spec` depends on that ran and is not OK, if any.
fn failing_upstream<'c>(
    spec: &CheckSpec,
    ran: &[&'c CheckSpec],
    judged: &[Judged],
) -> Option<&'c str> {
    spec.depends_on.iter().find_map(|u| {
        let i = ran.iter().position(|c| &c.name == u)?;
        (!judged[i].status.is_ok()).then_some(ran[i].name.as_str())
    })
}

/// How often an action may happen: `max` per sliding `window`, `cooldown`
/// apart, and not within `grace` of the last one.
struct Budget {
    max: u32,
    window: Duration,
    cooldown: Duration,
    grace: Duration,
}

impl Budget {
    /// The times inside the window; times in the future (a clock stepped
    /// back) count as now, never stretching the window.
    fn recent(&self, history: &[jiff::Timestamp], now: jiff::Timestamp) -> Vec<jiff::Timestamp> {
        history
            .iter()
            .map(|t| (*t).min(now))
            .filter(|t| now.duration_since(*t).unsigned_abs() < self.window)
            .collect()
    }

    fn used(&self, history: &[jiff::Timestamp], now: jiff::Timestamp) -> u32 {
        self.recent(history, now).len() as u32
    }

    fn decide(
        &self,
        history: &[jiff::Timestamp],
        upstream_down: Option<String>,
        reset_at: Option<jiff::Timestamp>,
        now: jiff::Timestamp,
        mode: Mode,
        what: &str,
    ) -> (Decision, String) {
        let recent = self.recent(history, now);
        let window = Unit::Seconds.show(self.window.as_secs_f64());
        let ago = |t: jiff::Timestamp| Unit::Seconds.show(now.duration_since(t).as_secs_f64());
        if recent.len() as u32 >= self.max {
            let oldest = recent.iter().min().copied().unwrap_or(now);
            let until = oldest + self.window;
            return (
                Decision::Suspended,
                format!(
                    "{what} suspended until {}: {} of {} used in the last {window}",
                    hhmm(until),
                    recent.len(),
                    self.max
                ),
            );
        }
        if mode.no_restart {
            return (Decision::Held, format!("{what} held: --no-restart"));
        }
        if let Some(upstream) = upstream_down {
            return (
                Decision::Held,
                format!("{what} held: upstream {upstream} is down"),
            );
        }
        if let Some(reset) = reset_at.map(|t| t.min(now))
            && now.duration_since(reset).unsigned_abs() < self.window
        {
            return (
                Decision::Held,
                format!(
                    "{what} held until {}: the state file was reset at {}",
                    hhmm(reset + self.window),
                    hhmm(reset)
                ),
            );
        }
        if let Some(last) = recent.iter().max().copied() {
            let since = now.duration_since(last).unsigned_abs();
            if since < self.grace {
                return (
                    Decision::Held,
                    format!("{what} held: in grace, the last one was {} ago", ago(last)),
                );
            }
            if since < self.cooldown {
                return (
                    Decision::Held,
                    format!(
                        "{what} held: cooling down, the last one was {} ago",
                        ago(last)
                    ),
                );
            }
        }
        let count = format!("{} of {} in the last {window}", recent.len() + 1, self.max);
        if mode.dry_run {
            (Decision::DryRun, format!("would {what} ({count})"))
        } else {
            (Decision::Go, format!("{what} ({count})"))
        }
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
        let mode = Mode {
            all_ran: true,
            ..Mode::default()
        };
        decide(c, &ran, &[j], prev, t(now), mode)
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
                ..CheckState::default()
            },
        );
        let plan = run(&c, &prev, Status::Ok, "2026-11-22T05:01:00Z");
        assert!(!plan.next_state.checks.contains_key("gone"));
        assert_eq!(plan.next_state.last_run, Some(t("2026-11-22T05:01:00Z")));
    }

    // The restart rules, with a fixed clock and no I/O.

    fn service_config(service_extra: &str, check_extra: &str) -> Config {
        load_str(
            "t.toml",
            &format!(
                "[[service]]\nname = \"bot\"\ncommand = {{ restart = [\"true\"] }}\nmax_restarts = 3\nwindow = \"1h\"\ncooldown = \"2m\"\n{service_extra}\n\
                 [[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"/x\"\nrestart = \"bot\"\n{check_extra}\n\
                 [[check]]\nname = \"internet\"\ntype = \"tcp\"\naddress = \"127.0.0.1:9\"\n"
            ),
        )
        .unwrap()
    }

    fn judged_as(status: Status) -> Judged {
        Judged {
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
    fn a_confirmed_critical_restarts_with_the_budget_in_the_reason() {
        let c = service_config("", "");
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
        let c3 = service_config("", "after = 3");
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
    fn grace_then_cooldown_then_go() {
        let c = service_config("grace = \"1m\"", "");
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
        let c = service_config("grace = \"5m\"", "");
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
        let c = service_config("", "");
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
        let c = service_config("", "");
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
        assert_eq!(plan.silenced, [true, false]);
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
        let c = service_config("", "depends_on = [\"internet\"]");
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
        let c = service_config("", "depends_on = [\"internet\"]");
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
        let c = service_config("", "");
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
        let c = service_config("", "");
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
        let c = service_config("", "");
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
        let c = load_str(
            "t.toml",
            "[[service]]\nname = \"bot\"\ncommand = { restart = [\"true\"] }\n\
             [[check]]\nname = \"a\"\ntype = \"memory\"\nrestart = \"bot\"\n\
             [[check]]\nname = \"b\"\ntype = \"memory\"\nrestart = \"bot\"\n",
        )
        .unwrap();
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

    #[test]
    fn recovery_commands_have_their_own_budget() {
        let c = load_str(
            "t.toml",
            "[[check]]\nname = \"token\"\ntype = \"memory\"\nrun = [\"refresh-token\"]\n",
        )
        .unwrap();
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
        let c = load_str(
            "t.toml",
            "[[check]]\nname = \"token\"\ntype = \"memory\"\nrun = [\"refresh-token\"]\n",
        )
        .unwrap();
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
        extra_alerting: &str,
        statuses: &[Status],
        every: i64,
    ) -> Vec<Vec<(EventKind, Status)>> {
        told_with(extra_alerting, "", statuses, every)
    }

    fn told_with(
        extra_alerting: &str,
        extra_check: &str,
        statuses: &[Status],
        every: i64,
    ) -> Vec<Vec<(EventKind, Status)>> {
        let c = load_str(
            "t.toml",
            &format!("[alerting]\n{extra_alerting}\n[[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"/x\"\n{extra_check}\n"),
        )
        .unwrap();
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
        let runs = told("renotify = \"2h\"", &statuses, 1800);
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
            "renotify = \"never\"\nresolved = false",
            &[C, C, C, C, C, O, O, O],
            3600,
        );
        assert_eq!(flat(&runs), vec![(0, EventKind::Problem, C)]);
    }

    #[test]
    fn a_changed_severity_is_a_new_problem() {
        let runs = told("", &[W, W, C, C, W], 60);
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
        let runs = told("", &flipping, 60);
        let all = flat(&runs);
        assert!(all.len() <= 3, "{all:?}");
        assert_eq!(
            all,
            vec![(1, EventKind::Problem, C), (5, EventKind::Flapping, C)]
        );
        let starting_critical = [C, O, C, O, C, O, C, O, C, O];
        assert!(flat(&told("", &starting_critical, 60)).len() <= 3);
    }

    #[test]
    fn a_flapping_check_that_settles_tells_its_recovery() {
        let mut statuses = vec![O, C, O, C, O, C];
        statuses.extend([O; 10]);
        let all = flat(&told("", &statuses, 60));
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
        let all = flat(&told_with("", "after = 2", &statuses, 60));
        assert_eq!(
            all,
            vec![(5, EventKind::Flapping, C), (14, EventKind::Recovery, C)]
        );
        // Settling on a problem is told as a problem.
        let mut statuses = vec![C, O, C, O, C, O];
        statuses.extend([W; 10]);
        let all = flat(&told_with("", "after = 2", &statuses, 60));
        assert_eq!(
            all,
            vec![(5, EventKind::Flapping, C), (15, EventKind::Problem, W)]
        );
    }

    #[test]
    fn a_single_ok_run_is_no_recovery() {
        let all = flat(&told("", &[C, O, C, C, O, O], 60));
        assert_eq!(
            all,
            vec![(0, EventKind::Problem, C), (5, EventKind::Recovery, C)]
        );
    }
}
