//! The daily summary through the real binary, days simulated with
//! libfaketime: nothing before `at`, one summary on the first run at or
//! after it, none on the later runs that day, yesterday's incident in the
//! next day's summary, one summary after days off, and a summary refused
//! by a receiver that is down goes out once, later, from the outbox.

use std::path::{Path, PathBuf};

use crate::alerts::{Receiver, code_check, set};
use crate::harness::{Env, libfaketime, missing};

/// A `bot` check (exit code from a file), a Discord receiver on loopback
/// and `[summary] at = "08:00"` in Berlin (07:00 UTC in winter).
fn setup(env: &Env, receiver: &Receiver) {
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\nexpected_interval = \"5m\"\n\n\
         [[alert]]\ntype = \"discord\"\nurl = \"{}/api/webhooks/1/dc-secret\"\n\n\
         [summary]\nat = \"08:00\"\ntimezone = \"Europe/Berlin\"\n\n{}",
        env.path("state").display(),
        receiver.url,
        code_check(env)
    ));
}

/// One run with the wall clock at `at` (UTC).
fn run_at(env: &Env, lib: &Path, at: &str) -> crate::harness::Run {
    let out = env
        .cmd()
        .env("TZ", "UTC")
        .env("LD_PRELOAD", lib)
        .env("FAKETIME", format!("@{at}"))
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("XDG_RUNTIME_DIR", env.path("state"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    crate::harness::Run::from(out)
}

/// The descriptions of the summaries the receiver accepted, in order.
fn summaries(receiver: &Receiver) -> Vec<String> {
    receiver
        .log
        .accepted()
        .iter()
        .filter_map(|(_, body)| {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            let embed = &v["embeds"][0];
            embed["title"]
                .as_str()?
                .ends_with("daily summary")
                .then(|| {
                    embed["description"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
        })
        .collect()
}

/// The number a summary gives for the runs missed.
fn missed(summary: &str) -> u32 {
    let line = summary
        .lines()
        .find_map(|l| l.strip_prefix("Runs missed in the last 24h: "))
        .unwrap_or_else(|| panic!("no missed runs line in {summary}"));
    line.parse().unwrap()
}

fn faketime() -> Option<PathBuf> {
    let lib = libfaketime();
    if lib.is_none() {
        missing(
            "libfaketime",
            "apt-get install faketime (scripts/test does it)",
        );
    }
    lib
}

#[test]
fn runs_before_at_send_no_summary_the_first_after_sends_one_and_the_next_none() {
    let Some(lib) = faketime() else { return };
    let env = Env::new();
    let discord = Receiver::start();
    setup(&env, &discord);
    for at in ["2026-12-01 06:50:00", "2026-12-01 06:55:00"] {
        run_at(&env, &lib, at);
    }
    assert!(
        discord.log.accepted().is_empty(),
        "nothing before 08:00 Berlin"
    );
    let run = run_at(&env, &lib, "2026-12-01 07:00:00");
    let got = summaries(&discord);
    assert_eq!(got.len(), 1, "{}", run.stdout);
    let alerts = &run.json()["alerts"][0];
    assert_eq!(alerts["outcome"], "sent");
    assert_eq!(alerts["detail"], "the daily summary");
    assert!(
        got[0].starts_with("Checks:\n[OK] bot since 2026-12-01 07:50"),
        "{}",
        got[0]
    );
    assert!(
        got[0].contains("Incidents in the last 24h: none"),
        "{}",
        got[0]
    );
    for at in [
        "2026-12-01 07:05:00",
        "2026-12-01 12:00:00",
        "2026-12-02 06:55:00",
    ] {
        run_at(&env, &lib, at);
    }
    assert_eq!(summaries(&discord).len(), 1, "one summary a day");
}

#[test]
fn an_incident_appears_in_the_next_days_summary_and_three_days_off_send_one() {
    let Some(lib) = faketime() else { return };
    let env = Env::new();
    let discord = Receiver::start();
    setup(&env, &discord);
    run_at(&env, &lib, "2026-12-01 07:00:00");
    set(&env, 2);
    run_at(&env, &lib, "2026-12-01 09:00:00");
    run_at(&env, &lib, "2026-12-01 09:05:00");
    set(&env, 0);
    run_at(&env, &lib, "2026-12-01 09:10:00");
    run_at(&env, &lib, "2026-12-02 07:00:00");
    let got = summaries(&discord);
    assert_eq!(got.len(), 2);
    assert!(
        got[1].contains(
            "Incidents in the last 24h (1):\nbot CRITICAL from 2026-12-01 10:00 to 2026-12-01 10:10 (10m): bot status"
        ),
        "{}",
        got[1]
    );
    // No run from 08:00 to 10:00 and from 10:10 to 08:00 (Berlin): the
    // day's part of those gaps, about 12 + 261 runs, is missed.
    assert!((265..=288).contains(&missed(&got[1])), "{}", got[1]);
    assert_eq!(
        discord.log.accepted().len(),
        4,
        "{:?}",
        discord.log.accepted()
    );
    // The machine is off for three days; the first run after 08:00 sends one.
    run_at(&env, &lib, "2026-12-05 06:30:00");
    assert_eq!(summaries(&discord).len(), 2, "not before 08:00");
    run_at(&env, &lib, "2026-12-05 07:30:00");
    run_at(&env, &lib, "2026-12-05 07:35:00");
    let got = summaries(&discord);
    assert_eq!(got.len(), 3, "one summary for the days off, not a backlog");
    assert!(
        got[2].contains("Incidents in the last 24h: none"),
        "{}",
        got[2]
    );
    // Days off at an expected 5 minutes: about the last 24 hours' runs are
    // missed, never more than a day holds.
    assert!((265..=288).contains(&missed(&got[2])), "{}", got[2]);
}

#[test]
fn a_summary_refused_by_a_receiver_that_is_down_goes_out_once_from_the_outbox() {
    let Some(lib) = faketime() else { return };
    let env = Env::new();
    let discord = Receiver::start();
    setup(&env, &discord);
    discord.set_down(Some(503));
    run_at(&env, &lib, "2026-12-01 07:00:00");
    assert!(discord.hits() > 0, "it was tried");
    assert!(summaries(&discord).is_empty());
    discord.set_down(None);
    run_at(&env, &lib, "2026-12-01 07:02:00");
    run_at(&env, &lib, "2026-12-01 07:04:00");
    let got = summaries(&discord);
    assert_eq!(got.len(), 1, "delivered once, from the outbox");
    assert!(
        got[0].starts_with("Checks:\n[OK] bot since 2026-12-01 08:00"),
        "{}",
        got[0]
    );
}
