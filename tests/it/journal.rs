//! `journal = ...` on `log` and `file` checks against real journal files:
//! `systemd-journal-remote` turns journal export format into `.journal`
//! files in a directory of the test, and `[settings] journalctl` points the
//! real `journalctl` at it with `--directory=`. Entries are appended
//! between runs by writing another file into the directory; timestamps are
//! near the real clock so that `--since` means what it says.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::harness::{self, Env};

/// One entry to write: unit, priority, message, and how long ago.
type Line<'a> = (&'a str, u8, &'a str, Duration);

/// `systemd-journal-remote`, if installed, and `journalctl`.
fn journal_remote() -> Option<PathBuf> {
    let remote = ["/lib/systemd", "/usr/lib/systemd"]
        .iter()
        .map(|d| Path::new(d).join("systemd-journal-remote"))
        .find(|p| p.exists());
    if remote.is_none() {
        harness::missing(
            "systemd-journal-remote",
            "apt-get install systemd-journal-remote",
        );
        return None;
    }
    if Command::new("journalctl")
        .arg("--version")
        .output()
        .is_err()
    {
        harness::missing("journalctl", "apt-get install systemd");
        return None;
    }
    remote
}

/// Write `entries` as the journal file `name` in `dir`.
fn write_journal(remote: &Path, dir: &Path, name: &str, entries: &[Line]) {
    std::fs::create_dir_all(dir).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let mut export = String::new();
    for (i, (unit, priority, message, ago)) in entries.iter().enumerate() {
        // Same boot: journalctl orders entries of different files by the
        // monotonic clock, so it rises with the real one.
        let at = (now - *ago).as_micros() + i as u128;
        export.push_str(&format!(
            "__REALTIME_TIMESTAMP={at}\n__MONOTONIC_TIMESTAMP={at}\n\
             _BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT={unit}\n\
             PRIORITY={priority}\nMESSAGE={message}\n\n"
        ));
    }
    let source = dir.with_extension(format!("{name}.export"));
    std::fs::write(&source, export).unwrap();
    let out = Command::new(remote)
        .arg(format!("--output={}", dir.join(name).display()))
        .arg(&source)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "systemd-journal-remote: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A config whose journalctl reads only the journal files in `dir`.
fn config(env: &Env, dir: &Path, checks: &str) {
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\njournalctl = [\"journalctl\", \"--directory={}\"]\n\n{checks}",
        env.path("state").display(),
        dir.display()
    ));
}

fn check<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {json:#}"))
}

fn reading(check: &serde_json::Value, name: &str) -> f64 {
    check["readings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .and_then(|r| r["value"].as_f64())
        .unwrap_or_else(|| panic!("no reading {name}: {check:#}"))
}

fn message(check: &serde_json::Value) -> &str {
    check["message"].as_str().unwrap()
}

const MIN: Duration = Duration::from_secs(60);

#[test]
fn lines_mode_counts_matches_among_the_last_entries_of_a_priority_and_of_globbed_units() {
    let Some(remote) = journal_remote() else {
        return;
    };
    let env = Env::new();
    let dir = env.path("journal");
    write_journal(
        &remote,
        &dir,
        "a.journal",
        &[
            ("schwab-stream.service", 3, "ERROR feed 1", 9 * MIN),
            ("schwab-stream.service", 6, "ERROR only info", 8 * MIN),
            ("schwab-stream.service", 3, "reconnected", 7 * MIN),
            (
                "schwab-etl.service",
                4,
                "HTTP 429 Too Many Requests",
                6 * MIN,
            ),
            ("schwab-stream.service", 3, "ERROR feed 2", 5 * MIN),
            ("schwab-stream.service", 4, "ERROR warning level", 4 * MIN),
            ("other.service", 3, "ERROR 429 not schwab", 3 * MIN),
            ("schwab-etl.service", 6, "rate limit reached", 2 * MIN),
        ],
    );
    config(
        &env,
        &dir,
        "[[check]]\nname = \"errors\"\ntype = \"log\"\njournal = \"schwab-stream.service\"\n\
         priority = \"err\"\npattern = \"ERROR\"\nlines = 2\n\n\
         [[check]]\nname = \"any-priority\"\ntype = \"log\"\njournal = \"schwab-stream.service\"\n\
         pattern = \"ERROR\"\nlines = 2\n\n\
         [[check]]\nname = \"rate-limits\"\ntype = \"log\"\njournal = [\"schwab-*.service\"]\n\
         pattern = \"429|rate.limit\"\nlines = 50\n",
    );
    let run = env.run(&["--format", "json"]);
    let json = run.json();
    let errors = check(&json, "errors");
    assert_eq!(reading(errors, "matches"), 1.0, "{errors:#}");
    assert!(
        message(errors).starts_with("1 of the last 2 entries match /ERROR/"),
        "{errors:#}"
    );
    assert!(message(errors).contains("priority err"), "{errors:#}");
    let any = check(&json, "any-priority");
    assert_eq!(reading(any, "matches"), 2.0, "{any:#}");
    let limits = check(&json, "rate-limits");
    assert_eq!(reading(limits, "matches"), 2.0, "{limits:#}");
    assert!(
        message(limits).contains("of the last 7 entries"),
        "the other unit is not read: {limits:#}"
    );
}

#[test]
fn rate_mode_keeps_the_cursor_and_counts_only_new_entries_and_restarts_when_it_is_gone() {
    let Some(remote) = journal_remote() else {
        return;
    };
    let env = Env::new();
    let dir = env.path("journal");
    write_journal(
        &remote,
        &dir,
        "old.journal",
        &[
            (
                "schwab-stream.service",
                3,
                "ERROR before the first run",
                30 * MIN,
            ),
            ("schwab-stream.service", 3, "ERROR also before", 20 * MIN),
        ],
    );
    config(
        &env,
        &dir,
        "[[check]]\nname = \"errors\"\ntype = \"log\"\njournal = [\"schwab-*.service\"]\n\
         pattern = \"ERROR\"\nper = \"1h\"\ntotal = true\nmin_lines = 1\ncrit_above = 5\n",
    );
    let first = env.run(&["--format", "json"]);
    let json = first.json();
    let c = check(&json, "errors");
    assert_eq!(reading(c, "rate"), 0.0, "{c:#}");
    assert_eq!(c["status"], "ok", "{c:#}");
    assert!(message(c).contains("first run: counting from now"), "{c:#}");

    write_journal(
        &remote,
        &dir,
        "new.journal",
        &[
            ("schwab-stream.service", 3, "ERROR after 1", Duration::ZERO),
            ("schwab-stream.service", 6, "all fine", Duration::ZERO),
            ("schwab-etl.service", 3, "ERROR after 2", Duration::ZERO),
            ("other.service", 3, "ERROR not ours", Duration::ZERO),
        ],
    );
    let second = env.run(&["--format", "json"]);
    let json = second.json();
    let c = check(&json, "errors");
    assert_eq!(reading(c, "rate"), 2.0, "only the new entries: {c:#}");
    assert!(message(c).contains("of 3 entries"), "{c:#}");
    assert!(message(c).contains("warming up"), "{c:#}");

    let third = env.run(&["--format", "json"]);
    let json = third.json();
    let c = check(&json, "errors");
    assert_eq!(
        reading(c, "rate"),
        2.0,
        "nothing new, the window keeps them: {c:#}"
    );
    assert!(!message(c).contains("no longer has"), "{c:#}");

    std::fs::remove_dir_all(&dir).unwrap();
    write_journal(
        &remote,
        &dir,
        "vacuumed.journal",
        &[
            (
                "schwab-stream.service",
                3,
                "ERROR outside the window",
                90 * MIN,
            ),
            (
                "schwab-stream.service",
                3,
                "ERROR in the window 1",
                40 * MIN,
            ),
            ("schwab-etl.service", 3, "ERROR in the window 2", 10 * MIN),
            ("schwab-etl.service", 3, "ERROR in the window 3", MIN),
        ],
    );
    let fourth = env.run(&["--format", "json"]);
    let json = fourth.json();
    let c = check(&json, "errors");
    assert_eq!(reading(c, "rate"), 3.0, "{c:#}");
    assert!(
        message(c)
            .contains("no longer has the previous run's position: counted from the window's start"),
        "{c:#}"
    );
    assert!(
        !message(c).contains("warming up"),
        "a whole window was read: {c:#}"
    );

    write_journal(
        &remote,
        &dir,
        "more.journal",
        &[(
            "schwab-etl.service",
            3,
            "ERROR after the restart",
            Duration::ZERO,
        )],
    );
    let fifth = env.run(&["--format", "json"]);
    let json = fifth.json();
    let c = check(&json, "errors");
    assert_eq!(reading(c, "rate"), 4.0, "{c:#}");
    assert!(!message(c).contains("no longer has"), "{c:#}");

    config(
        &env,
        &dir,
        "[[check]]\nname = \"errors\"\ntype = \"log\"\njournal = [\"schwab-*.service\"]\n\
         priority = \"crit\"\npattern = \"ERROR\"\nper = \"1h\"\n",
    );
    let changed = env.run(&["--format", "json"]);
    let json = changed.json();
    let c = check(&json, "errors");
    assert_eq!(
        reading(c, "rate"),
        0.0,
        "another priority counts afresh: {c:#}"
    );
    assert!(message(c).contains("first run: counting from now"), "{c:#}");
}

#[test]
fn a_backlog_is_read_in_pages_and_a_page_cut_at_the_output_cap_is_resumed() {
    let Some(remote) = journal_remote() else {
        return;
    };
    let env = Env::new();
    let dir = env.path("journal");
    write_journal(
        &remote,
        &dir,
        "start.journal",
        &[("bot.service", 6, "started", 5 * MIN)],
    );
    config(
        &env,
        &dir,
        "[[check]]\nname = \"errors\"\ntype = \"log\"\njournal = \"bot.service\"\n\
         pattern = \"ERROR\"\nper = \"1h\"\n\n\
         [[check]]\nname = \"long\"\ntype = \"log\"\njournal = \"bot.service\"\n\
         pattern = \"ERROR$\"\nlines = 100\n",
    );
    env.run(&[]);
    let texts: Vec<String> = (0..4500)
        .map(|i| {
            if i % 3 == 0 {
                format!("ERROR {i}")
            } else {
                format!("ok {i}")
            }
        })
        .collect();
    let backlog: Vec<Line> = texts
        .iter()
        .map(|t| ("bot.service", 6, t.as_str(), Duration::ZERO))
        .collect();
    write_journal(&remote, &dir, "backlog.journal", &backlog);
    // 100 entries of 30 kB: more than the 1 MiB one journalctl call may
    // write, so the last 100 take more than one call.
    let filler = "x".repeat(30_000);
    let texts: Vec<String> = (0..100)
        .map(|i| {
            if i % 10 == 0 {
                format!("{filler} ERROR")
            } else {
                filler.clone()
            }
        })
        .collect();
    let long: Vec<Line> = texts
        .iter()
        .map(|t| ("bot.service", 6, t.as_str(), Duration::ZERO))
        .collect();
    write_journal(&remote, &dir, "long.journal", &long);
    let run = env.run(&["--format", "json"]);
    let json = run.json();
    let errors = check(&json, "errors");
    assert_eq!(reading(errors, "rate"), 1510.0, "{errors:#}");
    assert_eq!(errors["status"], "ok", "{errors:#}");
    let long = check(&json, "long");
    assert_eq!(reading(long, "matches"), 10.0, "{long:#}");
    assert!(
        message(long).starts_with("10 of the last 100 entries"),
        "{long:#}"
    );
}

#[test]
fn file_check_age_of_a_units_newest_entry_and_a_unit_without_entries() {
    let Some(remote) = journal_remote() else {
        return;
    };
    let env = Env::new();
    let dir = env.path("journal");
    write_journal(
        &remote,
        &dir,
        "a.journal",
        &[
            ("market-data-worker.service", 6, "tick", 20 * MIN),
            ("market-data-worker.service", 6, "tick", 16 * MIN),
            ("scanner.service", 6, "scan done", MIN),
        ],
    );
    config(
        &env,
        &dir,
        "[[check]]\nname = \"worker-quiet\"\ntype = \"file\"\njournal = \"market-data-worker.service\"\n\
         crit_above = \"15m\"\n\n\
         [[check]]\nname = \"scanner-quiet\"\ntype = \"file\"\njournal = \"scanner.service\"\n\
         crit_above = \"15m\"\n\n\
         [[check]]\nname = \"silent\"\ntype = \"file\"\njournal = \"never-logged.service\"\n",
    );
    let run = env.run(&["--format", "json"]);
    let json = run.json();
    let worker = check(&json, "worker-quiet");
    assert_eq!(worker["status"], "critical", "{worker:#}");
    let age = reading(worker, "age");
    assert!((16.0 * 60.0..18.0 * 60.0).contains(&age), "{worker:#}");
    assert!(
        message(worker).contains("newest journal entry of market-data-worker.service"),
        "{worker:#}"
    );
    let scanner = check(&json, "scanner-quiet");
    assert_eq!(scanner["status"], "ok", "{scanner:#}");
    let silent = check(&json, "silent");
    assert_eq!(silent["status"], "critical", "{silent:#}");
    assert_eq!(
        message(silent),
        "no journal entries for never-logged.service",
        "{silent:#}"
    );
    assert_eq!(run.code, 2);
}

#[test]
fn a_bad_priority_and_both_path_and_journal_are_config_errors_naming_the_key() {
    let env = Env::new();
    env.config(
        "[[check]]\nname = \"loud\"\ntype = \"log\"\njournal = \"bot.service\"\npriority = \"error\"\n\
         pattern = \"x\"\nlines = 5\n\n\
         [[check]]\nname = \"both\"\ntype = \"log\"\njournal = \"bot.service\"\npath = \"bot.log\"\n\
         pattern = \"x\"\nlines = 5\n\n\
         [[check]]\nname = \"both-file\"\ntype = \"file\"\njournal = \"bot.service\"\npath = \"bot.log\"\n\n\
         [[check]]\nname = \"neither\"\ntype = \"log\"\npattern = \"x\"\nlines = 5\n",
    );
    let run = env.run(&["validate"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    for (check, key, says) in [
        (
            "loud",
            " priority",
            "must be one of emerg, alert, crit, err, warning, notice, info, debug or 0 to 7",
        ),
        (
            "both",
            " journal",
            "give exactly one of `path` (a file) or `journal` (systemd units)",
        ),
        (
            "both-file",
            " journal",
            "give exactly one of `path` (a file) or `journal` (systemd units)",
        ),
        ("neither", "", "missing key path (or journal)"),
    ] {
        assert!(
            run.stderr
                .lines()
                .any(|l| l.contains(&format!("check \"{check}\"{key}: {says}"))),
            "{check}.{key}:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_hung_journalctl_is_killed_at_the_check_timeout() {
    let env = Env::new();
    // `sh -c 'sleep 30' journalctl --output=json ...`: the arguments the
    // check adds are the script's, which never reads them.
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\njournalctl = [\"sh\", \"-c\", \"sleep 30\", \"journalctl\"]\n\n\
         [[check]]\nname = \"errors\"\ntype = \"log\"\njournal = \"bot.service\"\npattern = \"x\"\n\
         lines = 5\ntimeout = \"1s\"\n",
        env.path("state").display()
    ));
    let started = std::time::Instant::now();
    let run = env.run(&["--format", "json"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the check's timeout ends journalctl"
    );
    let json = run.json();
    let c = check(&json, "errors");
    assert_eq!(c["status"], "unknown", "{c:#}");
    assert!(message(c).contains("timed out"), "{c:#}");
}
