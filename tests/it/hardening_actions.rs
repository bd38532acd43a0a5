//! Hardening of the binary's edges: durations and counts bounded at
//! validation, a closed stdout, a lock obtained late, a process table that
//! cannot be fully seen, process groups, read-only commands, unit and
//! container names, and wall clocks that jump (libfaketime).

use std::os::fd::FromRawFd;
use std::process::{Command, Stdio};

use crate::harness::Env;

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
                .contains("service[0].window: duration \"8000y\" is too long (at most 10 years"),
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
