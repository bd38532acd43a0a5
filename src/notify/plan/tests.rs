//! The delivery rules with a fixed clock: what each channel is given, run
//! after run, while receivers fail in the ways they do.

use super::*;
use crate::config::load_str;
use crate::http::Failure;
use crate::spec::Config;

fn t(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn minutes(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_secs(n * 60)
}

/// Two channels: `discord` falls back to `email` after `fallback_after`;
/// email takes only critical news on its own.
fn config(fallback_after: &str) -> Config {
    load_str(
        "t.toml",
        &format!(
            "[[alert]]\nname = \"discord\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/d\"\nfallback = \"email\"\nfallback_after = \"{fallback_after}\"\n\n\
             [[alert]]\nname = \"email\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/e\"\nmin_severity = \"critical\"\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn rules(c: &Config) -> Rules<'_> {
    Rules {
        alerts: &c.alerts,
        alerting: &c.alerting,
        host: "vps-1",
        quiet: false,
    }
}

/// A warning: discord's news, not email's.
fn problem(subject: &str) -> Event {
    Event {
        kind: EventKind::Problem,
        subject: subject.into(),
        status: Status::Warning,
        message: format!("{subject} is down"),
        hint: None,
    }
}

/// Critical: news for both channels.
fn critical(subject: &str) -> Event {
    Event {
        status: Status::Critical,
        ..problem(subject)
    }
}

/// How the receivers answer in one run.
#[derive(Clone, Copy, PartialEq)]
enum Receiver {
    Up,
    Down,
    Gone,
}

fn answer(turn: &Turn, how: Receiver) -> Answer {
    match how {
        Receiver::Up => Answer {
            channel: turn.channel.clone(),
            accepted: turn.digests.len(),
            failure: None,
        },
        Receiver::Down => Answer {
            channel: turn.channel.clone(),
            accepted: 0,
            failure: Some(Failure::retry("500 from the receiver")),
        },
        Receiver::Gone => Answer {
            channel: turn.channel.clone(),
            accepted: 0,
            failure: Some(Failure::refused("404 Not Found")),
        },
    }
}

/// What each channel accepted in a run, in order.
type Accepted = Vec<(String, Digest)>;

/// One run: queue `events` (after the fresh marks of the last run are
/// gone, as in a new process), then two rounds of turns as `deliver` does.
/// Returns what each channel accepted, and each turn's tries.
fn run(
    c: &Config,
    state: &mut State,
    events: &[Event],
    now: jiff::Timestamp,
    how: impl Fn(&str) -> Receiver,
) -> (Accepted, Vec<(String, u32)>) {
    for p in &mut state.outbox {
        p.fresh = false;
    }
    let r = rules(c);
    enqueue(state, &r, events, now);
    expire(state, &r, now);
    let mut accepted = Vec::new();
    let mut tries = Vec::new();
    let mut among: Option<Vec<String>> = None;
    for _round in 0..2 {
        let (turns, waits) = turns(state, &r, now, among.as_deref());
        let answers: Vec<Answer> = turns.iter().map(|t| answer(t, how(&t.channel))).collect();
        for (turn, a) in turns.iter().zip(&answers) {
            tries.push((turn.channel.clone(), turn.tries));
            accepted.extend(
                turn.digests[..a.accepted]
                    .iter()
                    .map(|d| (turn.channel.clone(), d.clone())),
            );
        }
        let settled = settle(state, &r, &turns, &answers, &waits, now);
        if settled.handed.is_empty() {
            break;
        }
        among = Some(settled.handed);
    }
    (accepted, tries)
}

fn subjects(got: &[(String, Digest)], channel: &str) -> Vec<String> {
    got.iter()
        .filter(|(c, _)| c == channel)
        .map(|(_, d)| {
            d.events
                .iter()
                .map(|e| e.subject.clone())
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect()
}

#[test]
fn the_fallback_re_sent_the_oldest_digest_every_run_and_never_carried_newer_ones() {
    // A 6-hour Discord outage on a 1-minute timer, a new CRITICAL every hour.
    let c = config("5m");
    let mut state = State::default();
    let start = t("2026-12-01T00:00:00Z");
    let mut got = Vec::new();
    for minute in 0..(6 * 60) {
        let now = start + minutes(minute);
        let events = if minute % 60 == 0 {
            vec![problem(&format!("check-{}", minute / 60))]
        } else {
            Vec::new()
        };
        let (accepted, _) = run(&c, &mut state, &events, now, |ch| {
            if ch == "discord" {
                Receiver::Down
            } else {
                Receiver::Up
            }
        });
        got.extend(accepted);
    }
    // Each hourly alert reached email exactly once, in order, marked as
    // delivered on discord's behalf.
    let expected: Vec<String> = (0..6).map(|h| format!("check-{h}")).collect();
    assert_eq!(subjects(&got, "email"), expected);
    assert!(
        got.iter()
            .all(|(_, d)| d.on_behalf_of.as_deref() == Some("discord"))
    );
    assert!(subjects(&got, "discord").is_empty());
    // Discord recovers: one line instead of a replay, at its next try
    // (within its 15-minute backoff), then nothing more.
    let mut to_discord = Vec::new();
    for minute in (6 * 60)..(6 * 60 + 30) {
        let (accepted, _) = run(&c, &mut state, &[], start + minutes(minute), |_| {
            Receiver::Up
        });
        to_discord.extend(accepted.into_iter().map(|(ch, d)| (minute, ch, d)));
    }
    assert_eq!(to_discord.len(), 1, "{to_discord:?}");
    let (minute, channel, notice) = &to_discord[0];
    assert!(*minute < 6 * 60 + 15, "at its next try: minute {minute}");
    assert_eq!(channel, "discord");
    assert!(
        notice.events[0]
            .message
            .starts_with("6 alerts were delivered by email while discord was failing"),
        "{notice:?}"
    );
    assert!(state.outbox.is_empty());
}

#[test]
fn a_digest_waits_for_its_channel_until_fallback_after() {
    let c = config("5m");
    let mut state = State::default();
    let start = t("2026-12-01T00:00:00Z");
    let down = |ch: &str| {
        if ch == "discord" {
            Receiver::Down
        } else {
            Receiver::Up
        }
    };
    let (got, _) = run(&c, &mut state, &[problem("bot")], start, down);
    assert!(got.is_empty());
    for minute in 1..5 {
        let (got, _) = run(&c, &mut state, &[], start + minutes(minute), down);
        assert!(got.is_empty(), "minute {minute}: {got:?}");
    }
    let (got, _) = run(&c, &mut state, &[], start + minutes(5), down);
    assert_eq!(subjects(&got, "email"), ["bot"]);
}

#[test]
fn permanent_failures_deleted_digests_too_eagerly() {
    let c = config("5m");
    let start = t("2026-12-01T00:00:00Z");
    // A retryable failure (a 4xx that is not known to be final, a command
    // that could not start) keeps the digest on its channel.
    let mut state = State::default();
    run(&c, &mut state, &[problem("bot")], start, |ch| {
        if ch == "discord" {
            Receiver::Down
        } else {
            Receiver::Up
        }
    });
    assert_eq!(state.outbox.len(), 1);
    assert_eq!(state.outbox[0].channel, "discord");
    // A final answer (a deleted webhook) sends it to the fallback at once.
    let mut state = State::default();
    let (got, _) = run(&c, &mut state, &[problem("bot")], start, |ch| {
        if ch == "discord" {
            Receiver::Gone
        } else {
            Receiver::Up
        }
    });
    assert_eq!(subjects(&got, "email"), ["bot"]);
    assert!(state.outbox.is_empty());
    // Without a fallback it is dropped, and a note says so.
    let solo = load_str(
        "t.toml",
        "[[alert]]\nname = \"discord\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/d\"\n",
    )
    .unwrap();
    let mut state = State::default();
    let r = rules(&solo);
    enqueue(&mut state, &r, &[problem("bot")], start);
    let (turns, waits) = turns(&state, &r, start, None);
    let answers: Vec<Answer> = turns.iter().map(|t| answer(t, Receiver::Gone)).collect();
    let settled = settle(&mut state, &r, &turns, &answers, &waits, start);
    assert!(state.outbox.is_empty());
    assert!(settled.notes[0].contains("refused for good and dropped"));
    assert_eq!(settled.reports[0].outcome, "failed");
}

#[test]
fn a_receiver_answering_500_added_retries_to_every_run() {
    let c = config("5m");
    let mut state = State::default();
    let start = t("2026-12-01T00:00:00Z");
    let mut tried_at = Vec::new();
    for minute in 0..(6 * 60) {
        let now = start + minutes(minute);
        let events = if minute == 0 {
            vec![problem("bot")]
        } else {
            Vec::new()
        };
        // Discord keeps failing; the handover notice keeps it tried.
        let (_, tries) = run(&c, &mut state, &events, now, |ch| {
            if ch == "discord" {
                Receiver::Down
            } else {
                Receiver::Up
            }
        });
        for (channel, n) in tries {
            if channel == "discord" {
                let expected = if minute == 0 {
                    crate::http::MAX_ATTEMPTS
                } else {
                    1
                };
                assert_eq!(n, expected, "minute {minute}");
                tried_at.push(minute);
            }
        }
    }
    // Tried every run at first, then at growing intervals of at most 15 minutes.
    let gaps: Vec<i64> = tried_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(&gaps[..4], [1, 1, 1, 1], "{gaps:?}");
    assert!(gaps.windows(2).all(|w| w[1] >= w[0]), "{gaps:?}");
    assert_eq!(
        gaps.iter().max(),
        Some(&14),
        "15 minutes less a minute of slack: {gaps:?}"
    );
    // A timer that fires a few seconds early loses no try.
    let mut d = state.deliveries["discord"].clone();
    d.failing_since = Some(start);
    d.last_try = Some(start + minutes(6 * 60));
    let due = next_try(&d, start + minutes(6 * 60)).unwrap();
    assert_eq!(
        due,
        start + minutes(6 * 60 + 14),
        "15 minutes less the slack"
    );
    assert!(tried_at.len() < 45, "{} tries in 6 hours", tried_at.len());
}

#[test]
fn a_429_retry_after_longer_than_the_run_is_honoured_by_later_runs() {
    let c = config("1h");
    let mut state = State::default();
    let now = t("2026-12-01T00:00:00Z");
    let r = rules(&c);
    enqueue(&mut state, &r, &[problem("bot")], now);
    let (turns_now, waits) = turns(&state, &r, now, None);
    let mut slow = Failure::retry("429 Too Many Requests (retry after 600s)");
    slow.retry_after = Some(Duration::from_secs(600));
    let answers: Vec<Answer> = turns_now
        .iter()
        .map(|t| Answer {
            channel: t.channel.clone(),
            accepted: 0,
            failure: Some(slow.clone()),
        })
        .collect();
    assert_eq!(turns_now.len(), 1, "only discord has news: {turns_now:?}");
    settle(&mut state, &r, &turns_now, &answers, &waits, now);
    let (later, waits) = turns(&state, &r, now + minutes(5), None);
    assert!(later.iter().all(|t| t.channel != "discord"), "{later:?}");
    assert_eq!(
        waits,
        [("discord".to_string(), Wait::Backoff(now + minutes(10)))]
    );
    let (later, _) = turns(&state, &r, now + minutes(10), None);
    assert!(later.iter().any(|t| t.channel == "discord"));
}

#[test]
fn a_run_queues_one_digest_per_channel_however_often_it_queues() {
    let c = config("5m");
    let mut state = State::default();
    let now = t("2026-12-01T00:00:00Z");
    let r = rules(&c);
    enqueue(&mut state, &r, &[critical("bot")], now);
    enqueue(&mut state, &r, &[critical("restart bot")], now);
    assert_eq!(state.outbox.len(), 2, "one per channel");
    assert_eq!(state.outbox[0].digest.events.len(), 2);
    // The next run's news is a digest of its own.
    for p in &mut state.outbox {
        p.fresh = false;
    }
    enqueue(&mut state, &r, &[critical("disk")], now + minutes(1));
    assert_eq!(state.outbox.len(), 4);
}

#[test]
fn without_a_saved_state_each_channel_hears_at_most_once_an_hour() {
    let c = config("5m");
    let r = rules(&c);
    let start = t("2026-12-01T00:00:00Z");
    let mut told = BTreeMap::new();
    let mut messages = 0;
    for minute in 0..120 {
        let now = start + minutes(minute);
        let (turns, reports) = unsaved(&r, &[critical("bot")], "read-only file system", &told, now);
        for turn in &turns {
            let text = &turn.digests[0].events[0].message;
            assert!(text.contains("read-only file system"), "{text}");
            assert!(text.contains("at most one message an hour"), "{text}");
            assert_eq!(turn.digests[0].events[1].subject, "bot");
            told.insert(turn.channel.clone(), now);
            messages += 1;
        }
        assert_eq!(
            turns.len() + reports.len(),
            1,
            "email takes only critical news"
        );
    }
    assert_eq!(messages, 2, "once an hour, for 2 hours");
}

#[test]
fn max_per_hour_holds_back_and_counts_into_the_next_digest() {
    let c = load_str(
        "t.toml",
        "[alerting]\nmax_per_hour = 1\n\n[[alert]]\nname = \"d\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/d\"\n",
    )
    .unwrap();
    let mut state = State::default();
    let start = t("2026-12-01T00:00:00Z");
    let up = |_: &str| Receiver::Up;
    let (got, _) = run(&c, &mut state, &[problem("a")], start, up);
    assert_eq!(got.len(), 1);
    let (got, _) = run(&c, &mut state, &[problem("b")], start + minutes(10), up);
    assert!(got.is_empty());
    let (got, _) = run(&c, &mut state, &[problem("c")], start + minutes(61), up);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.held_back.len(), 1, "b was held back and told");
    assert_eq!(got[0].1.held_back[0].event.subject, "b");
}

/// A channel of one message an hour that has had its message.
fn capped() -> (Config, State, jiff::Timestamp) {
    let c = load_str(
        "t.toml",
        "[alerting]\nmax_per_hour = 1\n\n[[alert]]\nname = \"d\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/d\"\n",
    )
    .unwrap();
    let mut state = State::default();
    let start = t("2026-12-01T00:00:00Z");
    let (got, _) = run(&c, &mut state, &[problem("a")], start, |_| Receiver::Up);
    assert_eq!(got.len(), 1);
    (c, state, start)
}

#[test]
fn the_cap_no_longer_eats_a_suspension_a_manual_step_or_a_first_critical() {
    let suspended = Event {
        kind: EventKind::Trouble,
        subject: "healthcheck".into(),
        status: Status::Critical,
        message: "auto-restart of bot suspended: manual intervention required".into(),
        hint: None,
    };
    let manual = Event {
        kind: EventKind::Manual,
        ..critical("bot-log")
    };
    for urgent in [suspended, manual, critical("api")] {
        let (c, mut state, start) = capped();
        let recovery = Event {
            kind: EventKind::Recovery,
            ..problem("disk")
        };
        let news = [recovery, urgent.clone()];
        let (got, _) = run(&c, &mut state, &news, start + minutes(5), |_| Receiver::Up);
        assert_eq!(got.len(), 1, "{urgent:?} went through the cap");
        assert_eq!(
            got[0].1.events.len(),
            2,
            "and took this run's other news along"
        );
    }
    let (c, mut state, start) = capped();
    let reminder = Event {
        kind: EventKind::Reminder,
        ..critical("api")
    };
    let (got, _) = run(&c, &mut state, &[reminder], start + minutes(5), |_| {
        Receiver::Up
    });
    assert!(got.is_empty(), "a reminder is held back");
}

#[test]
fn the_message_after_a_suppressed_stretch_tells_what_was_held_back_not_only_how_many() {
    let (c, mut state, start) = capped();
    let up = |_: &str| Receiver::Up;
    let (got, _) = run(&c, &mut state, &[problem("b")], start + minutes(10), up);
    assert!(got.is_empty());
    let recovery = Event {
        kind: EventKind::Recovery,
        message: "OK again: b answers".into(),
        ..problem("b")
    };
    let (got, _) = run(&c, &mut state, &[recovery], start + minutes(20), up);
    assert!(got.is_empty());
    assert_eq!(
        state.deliveries["d"].held.len(),
        2,
        "kept in the state meanwhile"
    );
    let (got, _) = run(&c, &mut state, &[problem("c")], start + minutes(61), up);
    assert_eq!(got.len(), 1);
    let text = crate::notify::message::text(&got[0].1);
    assert!(
        text.contains(
            "Held back by max_per_hour since the last message:\n\
             00:10 UTC [WARNING] b: b is down\n\
             00:20 UTC [RECOVERED] b: OK again: b answers\n"
        ),
        "{text}"
    );
    assert!(!text.contains("suppressed"), "{text}");
    assert!(state.deliveries["d"].held.is_empty());
}

#[test]
fn a_digest_of_a_recovery_is_titled_by_the_problem_still_failing() {
    let c = config("0s");
    let mut state = State::default();
    let now = t("2026-12-01T00:00:00Z");
    for (name, status) in [("api", Status::Critical), ("disk", Status::Ok)] {
        state.checks.insert(
            name.into(),
            crate::state::CheckState {
                status,
                since: now,
                notified: (!status.is_ok()).then_some(crate::state::Notified { status, at: now }),
                ..Default::default()
            },
        );
    }
    let recovery = Event {
        kind: EventKind::Recovery,
        ..problem("disk")
    };
    let (got, _) = run(&c, &mut state, &[recovery], now, |_| Receiver::Up);
    let title = crate::notify::message::title(&got[0].1);
    assert_eq!(title, "[CRITICAL] vps-1: 1 recovered, 1 still failing");
    assert!(crate::notify::message::text(&got[0].1).contains("Still failing: api (CRITICAL)\n"));
}

#[test]
fn a_fallback_never_gets_an_event_twice() {
    let c = config("0s");
    let mut state = State::default();
    let now = t("2026-12-01T00:00:00Z");
    let (got, _) = run(
        &c,
        &mut state,
        &[critical("bot"), problem("disk")],
        now,
        |ch| {
            if ch == "discord" {
                Receiver::Down
            } else {
                Receiver::Up
            }
        },
    );
    // Email had the critical on its own; on discord's behalf only the warning.
    assert_eq!(subjects(&got, "email"), ["bot", "disk"]);
    assert_eq!(got[0].1.on_behalf_of, None);
    assert_eq!(got[1].1.on_behalf_of.as_deref(), Some("discord"));
    assert!(state.outbox.is_empty());
}

fn summary() -> Event {
    Event {
        kind: EventKind::Summary,
        subject: "daily summary".into(),
        status: Status::Ok,
        message: "Checks:\n[OK] bot since 2026-06-01 07:00".into(),
        hint: None,
    }
}

#[test]
fn a_summary_is_had_only_once_its_channel_accepted_it() {
    let c = config("1h");
    let mut state = State::default();
    let made = t("2026-06-01T08:00:00Z");
    summary::queue(&mut state, "vps-1", &["discord".into()], &summary(), made);
    run(&c, &mut state, &[], made, |_| Receiver::Down);
    assert!(state.daily.summarized.is_empty());
    assert_eq!(state.outbox.len(), 1, "it waits in the outbox");
    let (got, _) = run(&c, &mut state, &[problem("bot")], made + minutes(2), |_| {
        Receiver::Up
    });
    // Its own digest, not joined with the news.
    assert_eq!(subjects(&got, "discord"), ["daily summary", "bot"]);
    assert_eq!(state.daily.summarized["discord"], made);
}

#[test]
fn a_summary_taken_by_the_fallback_counts_for_the_channel_it_was_made_for() {
    let c = config("1h");
    let mut state = State::default();
    let made = t("2026-06-01T08:00:00Z");
    summary::queue(&mut state, "vps-1", &["discord".into()], &summary(), made);
    let (got, _) = run(&c, &mut state, &[], made, |ch| {
        if ch == "discord" {
            Receiver::Gone
        } else {
            Receiver::Up
        }
    });
    assert_eq!(subjects(&got, "email"), ["daily summary"]);
    assert_eq!(
        state.daily.summarized.keys().collect::<Vec<_>>(),
        ["discord"]
    );
}

#[test]
fn a_summary_refused_for_good_without_a_fallback_is_not_made_again_that_day() {
    let c = config("1h");
    let mut state = State::default();
    let made = t("2026-06-01T08:00:00Z");
    summary::queue(&mut state, "vps-1", &["email".into()], &summary(), made);
    run(&c, &mut state, &[], made, |_| Receiver::Gone);
    assert!(state.outbox.is_empty());
    assert_eq!(state.daily.summarized["email"], made);
}
