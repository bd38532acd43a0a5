//! Hardening of the binary's edges: durations and counts bounded at
//! validation, a closed stdout, a lock obtained late, a process table that
//! cannot be fully seen, process groups, read-only commands, unit and
//! container names, and wall clocks that jump (libfaketime).

use std::os::fd::FromRawFd;
use std::process::{Command, Stdio};

use crate::harness::{Env, libfaketime};

/// The write end of a pipe whose read end is already closed: every write
/// to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe() writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: we own both descriptors; the read end is closed at once.
    unsafe { libc::close(fds[0]) };
    // SAFETY: fds[1] is a valid descriptor we own; Stdio takes it over.
    unsafe { Stdio::from_raw_fd(fds[1]) }
}

/// Run the binary with stdout on a closed pipe; (exit code, stderr).
fn run_into_closed_pipe(mut cmd: Command) -> (Option<i32>, String) {
    let out = cmd
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const RESTARTED_EVERY_RUN: &str = "[[service]]\nname = \"bot\"\ncommand = { restart = [\"true\"] }\nmax_restarts = 1\ncooldown = \"0s\"\ngrace = \"0s\"\nWINDOW\n\n\
     [[check]]\nname = \"gone\"\ntype = \"file\"\npath = \"/nonexistent/healthcheck-test\"\nrestart = \"bot\"\n";

#[test]
fn a_window_of_8000_years_is_a_config_error_not_a_panic() {
    let env = Env::new();
    env.config(&RESTARTED_EVERY_RUN.replace("WINDOW", "window = \"8000y\""));
    // Twice: the second run would suspend the service, one window from now.
    for _ in 0..2 {
        let run = env.run(&["--no-alert"]);
        assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(
            run.stderr
                .contains("window: duration \"8000y\" is too long (at most 10 years"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn the_longest_window_allowed_suspends_without_overflow() {
    let env = Env::new();
    env.config(&RESTARTED_EVERY_RUN.replace("WINDOW", "window = \"10y\""));
    let first = env.run(&["--no-alert"]);
    assert_eq!(first.code, 2, "{}{}", first.stdout, first.stderr);
    let second = env.run(&["--no-alert", "--format", "json"]);
    assert!(!second.stderr.contains("panicked"), "{}", second.stderr);
    let json = second.json();
    assert_eq!(json["actions"][0]["outcome"], "suspended", "{json:#}");
    let history = env.run(&["history", "--format", "json"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    assert!(
        history.json()["services"][0]["suspended_until"].is_string(),
        "{}",
        history.stdout
    );
}

#[test]
fn silence_for_8000_years_is_refused_not_a_panic() {
    let env = Env::new();
    env.config("[[check]]\nname = \"m\"\ntype = \"memory\"\n");
    let run = env.run(&["silence", "--all", "--for", "8000y"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--for: duration \"8000y\" is too long"),
        "{}",
        run.stderr
    );
}

#[test]
fn history_json_into_a_closed_pipe_ends_quietly() {
    let env = Env::new();
    env.config(&RESTARTED_EVERY_RUN.replace("WINDOW", ""));
    assert_eq!(env.run(&["--no-alert"]).code, 2);
    let mut cmd = env.cmd();
    cmd.args(["history", "--format", "json"]);
    let (code, stderr) = run_into_closed_pipe(cmd);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn completions_into_a_closed_pipe_end_quietly() {
    let env = Env::new();
    for shell in ["bash", "zsh"] {
        let mut cmd = env.cmd();
        cmd.args(["completions", shell]);
        let (code, stderr) = run_into_closed_pipe(cmd);
        assert!(!stderr.contains("panicked"), "{shell}: {stderr}");
        assert_eq!(code, Some(0), "{shell}: {stderr}");
    }
}

#[test]
fn a_run_into_a_closed_pipe_keeps_its_nagios_exit_code() {
    let env = Env::new();
    env.config(
        "[[check]]\nname = \"gone\"\ntype = \"file\"\npath = \"/nonexistent/healthcheck-test\"\n",
    );
    for format in ["text", "json", "nagios"] {
        let mut cmd = env.cmd();
        cmd.args(["--no-alert", "--format", format]);
        let (code, stderr) = run_into_closed_pipe(cmd);
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert_eq!(code, Some(2), "{format}: {stderr}");
    }
    let mut cmd = env.cmd();
    cmd.arg("validate");
    let (code, stderr) = run_into_closed_pipe(cmd);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, Some(0), "{stderr}");
}

/// Wait (at most 10 s) until `path` holds at least `lines` lines.
fn wait_for_lines(path: &std::path::Path, lines: usize) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while line_count(path) < lines {
        assert!(
            std::time::Instant::now() < until,
            "{} never got {lines} line(s)",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn line_count(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn a_run_that_gets_the_lock_late_runs_no_checks_and_exits_3() {
    // The first run holds the lock for 4.5 s of a slow check; the second,
    // started just after, gets the lock with about 1.5 s of its 6 s left.
    let env = Env::new();
    let runs = env.path("runs.txt");
    let restarts = env.path("restarts.txt");
    let stale = env.write("stale.log", "x\n");
    env.age(&stale, std::time::Duration::from_secs(600));
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"6s\"\n\n\
         [[service]]\nname = \"bot\"\ncommand = {{ restart = [\"sh\", \"-c\", \"echo restart >> {}\"] }}\n\n\
         [[check]]\nname = \"slow\"\ntype = \"command\"\ncommand = [\"sh\", \"-c\", \"echo run >> {}; sleep 4.5\"]\ntimeout = \"5s\"\n\n\
         [[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"{}\"\ncrit_above = \"1m\"\nrestart = \"bot\"\n",
        env.path("state").display(),
        restarts.display(),
        runs.display(),
        stale.display()
    ));
    let first = env
        .cmd()
        .arg("--no-alert")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_lines(&runs, 1);
    let second = env.run(&["--no-alert"]);
    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(second.code, 3, "{}{}", second.stdout, second.stderr);
    assert_eq!(line_count(&runs), 1, "the late run ran the checks");
    assert!(!second.stdout.contains("timed out"), "{}", second.stdout);
    assert_eq!(
        second.stderr.matches("got the lock").count(),
        1,
        "{}",
        second.stderr
    );
    assert!(line_count(&restarts) <= 1, "more than one restart");
}

/// Give the env dir to `nobody` (65534), so that a run as that user can
/// read its config and write its state.
fn give_to_nobody(dir: &std::path::Path) {
    let status = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The binary as uid 65534, in a mount namespace whose /proc is a fresh
/// procfs mounted with `hidepid=<mode>`: processes of other users (the
/// test's own, run as root) are invisible (`invisible`) or unreadable
/// (`noaccess`) to it, as on a hardened host; `hidepid=off` hides nothing.
fn as_nobody_with_hidepid(env: &Env, mode: &str, args: &[&str]) -> crate::harness::Run {
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount -t proc -o hidepid={mode} proc /proc && exec setpriv --reuid=65534 --regid=65534 --clear-groups \"$@\""
        ))
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_healthcheck"))
        .args(args)
        .current_dir(env.dir.path())
        .env("HOME", env.dir.path())
        .env_remove("HEALTHCHECK_CONFIG")
        .env_remove("STATE_DIRECTORY")
        .output()
        .unwrap();
    crate::harness::Run::from(out)
}

/// Can this machine mount a procfs with hidepid in a mount namespace and
/// drop to uid 65534? (root, unshare and setpriv.)
fn hidepid_works() -> bool {
    crate::harness::is_root()
        && Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg("mount -t proc -o hidepid=invisible proc /proc && setpriv --reuid=65534 --regid=65534 --clear-groups true")
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Skip (or fail under CI) when `hidepid_works` is false; `why` says what
/// the test needs it for.
fn no_hidepid(why: &str) -> bool {
    !hidepid_works() && crate::harness::missing("root with unshare and setpriv", why)
}

/// A bot run by root, a service that restarts it, a process check that
/// looks for it and a file check that asks for the restart; the env dir
/// belongs to uid 65534, who runs healthcheck.
fn root_bot_watched_by_nobody(env: &Env) -> crate::harness::Bot {
    let bot = crate::harness::Bot::new(env, "bot");
    bot.start();
    env.config(&format!(
        "[[service]]\nname = \"bot\"\nprocess = {{ match = '{pattern}', start = [\"sh\", \"{script}\"] }}\nverify = \"300ms\"\ncooldown = \"0s\"\ngrace = \"0s\"\n\n\
         [[check]]\nname = \"bot-running\"\ntype = \"process\"\nmatch = '{pattern}'\n\n\
         [[check]]\nname = \"bot-output\"\ntype = \"file\"\npath = \"{missing}\"\nrestart = \"bot\"\n",
        pattern = bot.pattern(),
        script = bot.script.display(),
        missing = env.path("never-written").display(),
    ));
    give_to_nobody(env.dir.path());
    wait_for_lines(&bot.starts, 1);
    bot
}

#[test]
fn a_process_hidden_by_hidepid_is_unknown_and_never_started_twice() {
    if no_hidepid("the test mounts a procfs with hidepid and runs as uid 65534") {
        return;
    }
    for mode in ["invisible", "noaccess"] {
        let env = Env::new();
        let bot = root_bot_watched_by_nobody(&env);
        let run = as_nobody_with_hidepid(&env, mode, &["--no-alert", "--format", "json"]);
        let json = run.json();
        let check = &json["checks"][0];
        assert_eq!(
            check["status"], "unknown",
            "{mode}: {json:#}\n{}",
            run.stderr
        );
        assert!(
            check["message"]
                .as_str()
                .unwrap()
                .contains("cannot rule out"),
            "{mode}: {json:#}"
        );
        assert_eq!(json["actions"][0]["outcome"], "failed", "{mode}: {json:#}");
        assert_eq!(
            bot.pids().len(),
            1,
            "{mode}: a second copy was started: {json:#}"
        );
    }
}

#[test]
fn a_match_that_may_not_be_signalled_is_never_started_twice() {
    if no_hidepid("the test runs healthcheck as uid 65534 against a bot run by root") {
        return;
    }
    let env = Env::new();
    let bot = root_bot_watched_by_nobody(&env);
    let run = as_nobody_with_hidepid(&env, "off", &["--no-alert", "--format", "json"]);
    let json = run.json();
    assert_eq!(
        json["checks"][0]["status"], "ok",
        "{json:#}\n{}",
        run.stderr
    );
    let action = &json["actions"][0];
    assert_eq!(action["outcome"], "failed", "{json:#}");
    assert!(
        action["detail"]
            .as_str()
            .unwrap()
            .contains("not starting a second copy"),
        "{json:#}"
    );
    assert_eq!(bot.pids().len(), 1, "a second copy was started: {json:#}");
}

#[test]
fn history_is_read_only_it_never_waits_for_the_lock_nor_moves_a_corrupt_state() {
    let env = Env::new();
    env.config("[settings]\nstate_dir = \"state\"\ndeadline = \"2s\"\n\n[[check]]\nname = \"m\"\ntype = \"memory\"\n");
    let state = env.write("state/state.json", "{ not json");
    let lock = std::fs::File::create(env.path("state/healthcheck.lock")).unwrap();
    lock.lock().unwrap();
    let run = env.run(&["history"]);
    lock.unlock().unwrap();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "{ not json");
    let names: Vec<String> = std::fs::read_dir(env.path("state"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("corrupt")),
        "history moved the state aside: {names:?}"
    );
}

/// The pids whose full command line is exactly `line`.
fn pids_of(line: &str) -> Vec<i32> {
    let out = Command::new("pgrep").args(["-fx", line]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Kills, when dropped, every process whose command line is exactly one
/// of these (processes the test had started).
struct KillOnDrop(Vec<String>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for line in &self.0 {
            for pid in pids_of(line) {
                // SAFETY: a plain signal to a process this test started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

#[test]
fn a_restart_stops_the_whole_process_group_it_started() {
    // The bot is a shell that starts a helper `sleep` and waits; the
    // service matches the shell only. Restarting it twice must leave one
    // helper, the new copy's, not the old copy's orphan.
    let env = Env::new();
    let helper = format!("sleep 3600.{}", std::process::id());
    let script = env.write(
        "bot.sh",
        &format!("{helper} &\nwhile :; do sleep 0.2; done\n"),
    );
    let shell = format!("sh {}", script.display());
    let _cleanup = KillOnDrop(vec![shell.clone(), helper.clone()]);
    env.config(&format!(
        "[[service]]\nname = \"bot\"\nprocess = {{ match = '^{}$', start = [\"sh\", \"{}\"] }}\nverify = \"300ms\"\ncooldown = \"0s\"\ngrace = \"0s\"\nmax_restarts = 5\n\n\
         [[check]]\nname = \"bot-output\"\ntype = \"file\"\npath = \"{}\"\nrestart = \"bot\"\n",
        regex::escape(&shell),
        script.display(),
        env.path("never-written").display()
    ));
    for _ in 0..2 {
        let run = env.run(&["--no-alert", "--format", "json"]);
        assert_eq!(run.json()["actions"][0]["outcome"], "ok", "{}", run.stdout);
    }
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while pids_of(&helper).len() > 1 && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(pids_of(&shell).len(), 1, "copies of the bot");
    assert_eq!(
        pids_of(&helper).len(),
        1,
        "the old copy's helper outlived it"
    );
}

/// `python3 systemctl3.py` from the venv `scripts/test` makes.
fn systemctl() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let venv = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/venv/bin"));
    let script = std::env::var_os("HEALTHCHECK_TEST_SYSTEMCTL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| venv.join("systemctl3.py"));
    let python = std::env::var_os("HEALTHCHECK_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| venv.join("python3"));
    (script.exists() && python.exists()).then_some((python, script))
}

#[test]
fn a_systemd_restart_is_verified_against_the_new_instance() {
    let Some((python, script)) = systemctl() else {
        crate::harness::missing(
            "docker-systemctl-replacement",
            "run scripts/test, which installs it into target/venv",
        );
        return;
    };
    let env = Env::new();
    let bot = crate::harness::Bot::new(&env, "unit");
    let root = env.path("root");
    env.write(
        "root/etc/systemd/system/bot.service",
        &format!(
            "[Unit]\nDescription=test bot\n[Service]\nExecStart=/bin/sh {}\n[Install]\nWantedBy=multi-user.target\n",
            bot.script.display()
        ),
    );
    let prefix = [
        python.display().to_string(),
        script.display().to_string(),
        format!("--root={}", root.display()),
    ];
    let started = Command::new(&prefix[0])
        .args(&prefix[1..])
        .args(["start", "bot.service"])
        .status()
        .unwrap();
    assert!(started.success());
    wait_for_lines(&bot.starts, 1);
    let old_pid = bot.pids()[0];
    // The unit is active all along: only its identity tells the restart happened.
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\nsystemctl = {:?}\n\n[[service]]\nname = \"bot\"\nsystemd = \"bot.service\"\ngrace = \"0s\"\ncooldown = \"0s\"\nverify = \"10s\"\n\n\
         [[check]]\nname = \"bot-output\"\ntype = \"file\"\npath = \"{}\"\nrestart = \"bot\"\n",
        env.path("state").display(),
        prefix,
        env.path("never-written").display()
    ));
    let run = env.run(&["--no-alert", "--format", "json"]);
    let json = run.json();
    let action = &json["actions"][0];
    assert_eq!(action["outcome"], "ok", "{json:#}\n{}", run.stderr);
    let detail = action["detail"].as_str().unwrap();
    let new_pid = bot.pids()[0];
    assert_ne!(old_pid, new_pid);
    assert!(
        detail.contains(&format!("it is active (MainPID {old_pid} -> ")),
        "{detail}"
    );
    let _ = Command::new(&prefix[0])
        .args(&prefix[1..])
        .args(["stop", "bot.service"])
        .status();
}

#[test]
fn unit_and_container_names_that_are_not_names_run_nothing_and_exit_3() {
    let env = Env::new();
    let calls = env.path("calls");
    let recorder = format!(
        "[\"sh\", \"-c\", \"echo \\\"$@\\\" >> {}\", \"sh\"]",
        calls.display()
    );
    for (manager, check) in [
        (
            "systemd = \"-H host\"",
            "type = \"systemd\"\nunit = \"bot.service\"",
        ),
        (
            "systemd = \"a;reboot\"",
            "type = \"systemd\"\nunit = \"bot.service\"",
        ),
        (
            "docker = \"eth collector\"",
            "type = \"docker\"\ncontainer = \"eth-collector\"",
        ),
        (
            "systemd = \"bot.service\"",
            "type = \"docker\"\ncontainer = \"eth collector\"",
        ),
    ] {
        env.config(&format!(
            "[settings]\nstate_dir = \"{}\"\nsystemctl = {recorder}\ndocker = {recorder}\n\n\
             [[service]]\nname = \"bot\"\n{manager}\n\n\
             [[check]]\nname = \"bot\"\n{check}\nrestart = \"bot\"\n\n\
             [[check]]\nname = \"touch\"\ntype = \"command\"\ncommand = [\"sh\", \"-c\", \"echo check >> {}\"]\n",
            env.path("state").display(),
            calls.display()
        ));
        let run = env.run(&["--no-alert"]);
        assert_eq!(
            run.code, 3,
            "{manager} / {check}: {}{}",
            run.stdout, run.stderr
        );
        assert!(run.stderr.contains("invalid"), "{}", run.stderr);
        assert!(
            !calls.exists(),
            "{manager} / {check}: something ran: {:?}",
            std::fs::read_to_string(&calls)
        );
    }
}

/// One run with the wall clock starting at `at` ("2026-12-01 10:00:00");
/// the monotonic clock stays real, so timeouts still work.
fn run_at(env: &Env, lib: &std::path::Path, at: &str, args: &[&str]) -> crate::harness::Run {
    let out = env
        .cmd()
        .env("LD_PRELOAD", lib)
        .env("FAKETIME", format!("@{at}"))
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .args(args)
        .output()
        .unwrap();
    crate::harness::Run::from(out)
}

/// A bot that a process check watches and a process manager restarts.
fn dying_bot_config(env: &Env, bot: &crate::harness::Bot, max_restarts: u32) {
    env.config(&format!(
        "[[service]]\nname = \"bot\"\nprocess = {{ match = '{pattern}', start = [\"sh\", \"{script}\"] }}\nverify = \"300ms\"\n\
         max_restarts = {max_restarts}\nwindow = \"1h\"\ncooldown = \"0s\"\ngrace = \"0s\"\n\n\
         [[check]]\nname = \"bot-running\"\ntype = \"process\"\nmatch = '{pattern}'\nrestart = \"bot\"\n",
        pattern = bot.pattern(),
        script = bot.script.display(),
    ));
}

/// (action outcomes, suspension notes) of one JSON run.
fn outcomes_and_suspensions(run: &crate::harness::Run) -> (Vec<String>, usize) {
    let json = run.json();
    let outcomes = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap().to_string())
        .collect();
    let suspensions = json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| {
            n["message"]
                .as_str()
                .unwrap()
                .contains("manual intervention required")
        })
        .count();
    (outcomes, suspensions)
}

#[test]
fn the_wall_clock_healthcheck_uses_follows_libfaketime() {
    let Some(lib) = libfaketime() else {
        crate::harness::missing(
            "libfaketime",
            "apt-get install faketime (scripts/test does it)",
        );
        return;
    };
    let env = Env::new();
    env.config("[[check]]\nname = \"m\"\ntype = \"memory\"\n");
    let run = run_at(&env, &lib, "2026-12-01 10:00:00", &["--format", "json"]);
    let started = run.json()["started_at"].as_str().unwrap().to_string();
    assert!(started.starts_with("2026-12-01T10:00:0"), "{started}");
}

#[test]
fn a_service_that_dies_every_minute_for_an_hour_gets_max_restarts_and_one_suspension() {
    let Some(lib) = libfaketime() else {
        crate::harness::missing(
            "libfaketime",
            "apt-get install faketime (scripts/test does it)",
        );
        return;
    };
    let env = Env::new();
    let bot = crate::harness::Bot::new(&env, "dying");
    dying_bot_config(&env, &bot, 3);
    let mut restarts = 0;
    let mut suspensions = 0;
    for minute in 0..60 {
        let at = format!("2026-12-01 10:{minute:02}:00");
        let run = run_at(&env, &lib, &at, &["--no-alert", "--format", "json"]);
        let (outcomes, suspended) = outcomes_and_suspensions(&run);
        restarts += outcomes.iter().filter(|o| *o == "ok").count();
        suspensions += suspended;
        assert!(!run.stderr.contains("panicked"), "{at}: {}", run.stderr);
        bot.kill();
    }
    assert_eq!(restarts, 3, "restarts in the hour");
    assert_eq!(bot.starts(), 3, "starts in the hour");
    assert_eq!(suspensions, 1, "suspension events in the hour");
    // The hour is over: the oldest restart left the window.
    let run = run_at(
        &env,
        &lib,
        "2026-12-01 11:00:30",
        &["--no-alert", "--format", "json"],
    );
    assert_eq!(outcomes_and_suspensions(&run).0, ["ok"], "{}", run.stdout);
}

#[test]
fn a_clock_stepped_back_then_forward_makes_no_restart_burst_and_no_negative_durations() {
    let Some(lib) = libfaketime() else {
        crate::harness::missing(
            "libfaketime",
            "apt-get install faketime (scripts/test does it)",
        );
        return;
    };
    let env = Env::new();
    let bot = crate::harness::Bot::new(&env, "stepped");
    dying_bot_config(&env, &bot, 2);
    let negative = regex::Regex::new(r"-\d+(\.\d+)?\s?(ms|s|m|h|d)\b|for -|in -").unwrap();
    let mut seen = Vec::new();
    for at in [
        "2026-12-01 10:00:00",
        "2026-12-01 10:01:00",
        "2026-12-01 10:02:00",
        // Back one hour: the restarts at 10:00 and 10:01 lie in the future.
        "2026-12-01 09:03:00",
        "2026-12-01 09:04:00",
        // Forward three hours.
        "2026-12-01 12:05:00",
        "2026-12-01 12:06:00",
        "2026-12-01 12:07:00",
    ] {
        let run = run_at(&env, &lib, at, &["--no-alert", "--format", "json"]);
        let (outcomes, _) = outcomes_and_suspensions(&run);
        seen.push(outcomes.join(","));
        let text = run_at(&env, &lib, at, &["--no-restart"]);
        let history = run_at(&env, &lib, at, &["history"]);
        for out in [&run.stdout, &text.stdout, &history.stdout] {
            assert!(!negative.is_match(out), "{at}: a negative duration:\n{out}");
        }
        bot.kill();
    }
    assert_eq!(
        seen,
        [
            "ok",
            "ok",
            "suspended",
            // Stepped back: the window still holds both restarts.
            "suspended",
            "suspended",
            // Three hours on, the window is over: two restarts again, no more.
            "ok",
            "ok",
            "suspended",
        ]
    );
    assert_eq!(bot.starts(), 4);
}

#[test]
fn a_visible_match_under_hidepid_is_ok_and_says_the_count_may_be_low() {
    if no_hidepid("the test mounts a procfs with hidepid and runs as uid 65534") {
        return;
    }
    let env = Env::new();
    let line = format!("sleep 3599.{}", std::process::id());
    let _cleanup = KillOnDrop(vec![line.clone()]);
    let mut own = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(line.split(' '))
        .spawn()
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pids_of(&line).is_empty() {
        assert!(std::time::Instant::now() < until, "{line} did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    env.config(&format!(
        "[[check]]\nname = \"mine\"\ntype = \"process\"\nmatch = '^{}$'\n",
        regex::escape(&line)
    ));
    give_to_nobody(env.dir.path());
    let run = as_nobody_with_hidepid(&env, "noaccess", &["--format", "json"]);
    let _ = own.kill();
    let _ = own.wait();
    let json = run.json();
    let check = &json["checks"][0];
    assert_eq!(check["status"], "ok", "{json:#}\n{}", run.stderr);
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("the count may be low"),
        "{json:#}"
    );
}

#[test]
fn an_empty_proc_is_unknown_not_a_dead_process() {
    // A tmpfs over /proc in a mount namespace: nothing to see at all.
    let probe = Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs tmpfs /proc && true"])
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        crate::harness::missing("unshare -rm", "the test mounts a tmpfs over /proc");
        return;
    }
    let env = Env::new();
    env.config("[[check]]\nname = \"bot\"\ntype = \"process\"\nmatch = 'python.*main.py'\n");
    let out = Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            "mount -t tmpfs tmpfs /proc && exec \"$@\"",
            "sh",
        ])
        .arg(env!("CARGO_BIN_EXE_healthcheck"))
        .args(["--no-alert", "--format", "json"])
        .current_dir(env.dir.path())
        .env("HOME", env.dir.path())
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(json["checks"][0]["status"], "unknown", "{json:#}");
    assert!(
        json["checks"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not this system's process table"),
        "{json:#}"
    );
}

#[test]
fn a_pidfile_process_hidden_by_hidepid_is_unknown_not_dead() {
    if no_hidepid("the test mounts a procfs with hidepid and runs as uid 65534") {
        return;
    }
    let env = Env::new();
    let bot = crate::harness::Bot::new(&env, "bot");
    let pid = bot.start();
    env.write("bot.pid", &format!("{pid}\n"));
    env.config(&format!(
        "[[check]]\nname = \"bot\"\ntype = \"process\"\npidfile = \"{}\"\n",
        env.path("bot.pid").display()
    ));
    give_to_nobody(env.dir.path());
    let run = as_nobody_with_hidepid(&env, "invisible", &["--format", "json"]);
    let json = run.json();
    assert_eq!(
        json["checks"][0]["status"], "unknown",
        "{json:#}\n{}",
        run.stderr
    );
    assert!(
        json["checks"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be read"),
        "{json:#}"
    );
}
