//! Restarts through the real binary with real processes: a frozen bot is
//! restarted, a dying bot is restarted `max_restarts` times and then
//! suspended, `after`, guards, upstream holds, `--no-restart`, `--dry-run`,
//! a hung systemctl, and two runs at once.

use std::time::{Duration, Instant};

use crate::harness::{Bot, Env};

fn service(bot: &Bot, extra: &str) -> String {
    format!(
        "[[service]]\nname = \"bot\"\nprocess = {{ match = '{}', start = [\"sh\", \"{}\"] }}\nverify = \"300ms\"\n{extra}\n",
        bot.pattern(),
        bot.script.display()
    )
}

fn process_check(bot: &Bot, extra: &str) -> String {
    format!(
        "[[check]]\nname = \"bot-running\"\ntype = \"process\"\nmatch = '{}'\nrestart = \"bot\"\n{extra}\n",
        bot.pattern()
    )
}

fn actions(json: &serde_json::Value) -> Vec<(String, String)> {
    json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["outcome"].as_str().unwrap().to_string(),
                a["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_frozen_bot_is_restarted_and_writes_again() {
    let env = Env::new();
    let bot = Bot::new(&env, "frozen");
    let old = bot.start();
    std::thread::sleep(Duration::from_millis(500));
    env.config(&format!(
        "{}[[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"{}\"\ncrit_above = \"2s\"\nrestart = \"bot\"\n",
        service(&bot, "grace = \"0s\"\ncooldown = \"0s\""),
        bot.log.display()
    ));
    let first = env.run(&["--format", "json"]).json();
    assert_eq!(first["status"], "ok", "{first:#}");
    assert!(actions(&first).is_empty());

    // SAFETY: a signal to the bot this test started.
    assert_eq!(unsafe { libc::kill(old as i32, libc::SIGSTOP) }, 0);
    std::thread::sleep(Duration::from_millis(2600));
    let run = env.run(&["--format", "json"]);
    let json = run.json();
    let acts = actions(&json);
    assert_eq!(acts.len(), 1, "{json:#}");
    assert_eq!(acts[0].0, "ok", "{json:#}");
    assert!(acts[0].1.contains("bot-log OK, it helped"), "{}", acts[0].1);
    assert_eq!(run.code, 0, "the re-check found it fixed: {}", run.stdout);
    let now = bot.pids();
    assert!(
        !now.contains(&old) && now.len() == 1,
        "old {old}, now {now:?}"
    );
    let size = std::fs::metadata(&bot.log).unwrap().len();
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        std::fs::metadata(&bot.log).unwrap().len() > size,
        "the new bot does not write"
    );
}

#[test]
fn a_bot_that_keeps_dying_is_restarted_max_restarts_times_then_suspended_until_reset() {
    let env = Env::new();
    let bot = Bot::new(&env, "dying");
    env.config(&format!(
        "{}{}",
        service(
            &bot,
            "max_restarts = 2\nwindow = \"1h\"\ngrace = \"0s\"\ncooldown = \"0s\""
        ),
        process_check(&bot, "")
    ));
    let mut outcomes = Vec::new();
    let mut suspension_notes = Vec::new();
    for _ in 0..4 {
        let json = env.run(&["--format", "json"]).json();
        outcomes.push(
            actions(&json)
                .into_iter()
                .map(|(o, _)| o)
                .collect::<Vec<_>>()
                .join(","),
        );
        let notes: Vec<String> = json["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["message"].as_str().unwrap().to_string())
            .collect();
        suspension_notes.push(
            notes
                .iter()
                .filter(|n| n.contains("manual intervention required"))
                .count(),
        );
        bot.kill();
    }
    assert_eq!(outcomes, ["ok", "ok", "suspended", "suspended"]);
    assert_eq!(
        suspension_notes,
        [0, 0, 1, 0],
        "one suspension event, not one per run"
    );
    assert_eq!(bot.starts(), 2);

    let history = env.run(&["history"]);
    assert!(
        history
            .stdout
            .contains("bot (process): 2 of 2 restarts in the last 1h"),
        "{}",
        history.stdout
    );
    assert!(
        history.stdout.contains("SUSPENDED until"),
        "{}",
        history.stdout
    );
    let reset = env.run(&["reset", "bot"]);
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    let json = env.run(&["--format", "json"]).json();
    assert_eq!(actions(&json)[0].0, "ok", "{json:#}");
    assert_eq!(bot.starts(), 3);
}

#[test]
fn after_3_restarts_only_on_the_third_failing_run() {
    let env = Env::new();
    let bot = Bot::new(&env, "after");
    env.config(&format!(
        "{}{}",
        service(&bot, ""),
        process_check(&bot, "after = 3")
    ));
    let mut seen = Vec::new();
    for _ in 0..3 {
        let json = env.run(&["--format", "json"]).json();
        seen.push(actions(&json).len());
    }
    assert_eq!(seen, [0, 0, 1]);
    assert_eq!(bot.starts(), 1);
}

#[test]
fn a_guard_that_exits_1_prevents_the_restart() {
    let env = Env::new();
    let bot = Bot::new(&env, "guarded");
    env.config(&format!(
        "{}{}",
        service(
            &bot,
            "guard = [\"sh\", \"-c\", \"echo open orders; exit 1\"]"
        ),
        process_check(&bot, "")
    ));
    let json = env.run(&["--format", "json"]).json();
    let acts = actions(&json);
    assert_eq!(acts[0].0, "held");
    assert!(
        acts[0].1.contains("refused (exit 1: open orders)"),
        "{}",
        acts[0].1
    );
    assert_eq!(bot.starts(), 0);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("state/state.json")).unwrap())
            .unwrap();
    assert!(
        state["services"]["bot"]["restarts"]
            .as_array()
            .is_none_or(|r| r.is_empty()),
        "a refused restart is not counted: {state:#}"
    );
}

#[test]
fn an_upstream_failure_holds_the_restart() {
    let env = Env::new();
    let bot = Bot::new(&env, "held");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    env.config(&format!(
        "{}{}[[check]]\nname = \"internet\"\ntype = \"tcp\"\naddress = \"{closed}\"\n",
        service(&bot, ""),
        process_check(&bot, "depends_on = [\"internet\"]")
    ));
    let json = env.run(&["--format", "json"]).json();
    let acts = actions(&json);
    assert_eq!(acts[0].0, "held");
    assert!(
        acts[0].1.contains("upstream internet is down"),
        "{}",
        acts[0].1
    );
    assert_eq!(bot.starts(), 0);
}

#[test]
fn no_restart_and_dry_run_never_restart_and_never_write_state() {
    let env = Env::new();
    let bot = Bot::new(&env, "diag");
    env.config(&format!("{}{}", service(&bot, ""), process_check(&bot, "")));
    let no_restart = env.run(&["--no-restart", "--format", "json"]).json();
    assert_eq!(actions(&no_restart)[0].0, "held");
    assert!(actions(&no_restart)[0].1.contains("--no-restart"));
    assert!(
        !env.path("state/state.json").exists(),
        "--no-restart wrote state"
    );
    let dry = env.run(&["--dry-run"]);
    assert!(
        dry.stdout
            .contains("would restart bot (1 of 3 in the last 1h): bot-running CRITICAL for 1 run"),
        "{}",
        dry.stdout
    );
    assert!(
        !env.path("state/state.json").exists(),
        "--dry-run wrote state"
    );
    assert_eq!(bot.starts(), 0);

    // With state present, a dry run leaves it byte-identical.
    env.run(&["--only", "bot-running"]);
    bot.kill();
    let before = std::fs::read(env.path("state/state.json")).unwrap();
    env.run(&["--dry-run"]);
    env.run(&["--no-restart"]);
    assert_eq!(std::fs::read(env.path("state/state.json")).unwrap(), before);
    assert_eq!(bot.starts(), 1);
}

#[test]
fn a_hanging_systemctl_is_killed_and_the_run_ends_before_its_deadline() {
    let env = Env::new();
    // A systemctl that never answers, with a grandchild holding its output open.
    let stub = env.write(
        "systemctl-stub",
        "#!/bin/sh\n(sleep 100; echo late) &\nsleep 100\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let stale = env.write("stale.log", "x\n");
    env.age(&stale, Duration::from_secs(600));
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"5s\"\nsystemctl = [\"{}\"]\n\n[[service]]\nname = \"bot\"\nsystemd = \"bot.service\"\n\n\
         [[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"{}\"\ncrit_above = \"1m\"\nrestart = \"bot\"\n",
        env.path("state").display(),
        stub.display(),
        stale.display()
    ));
    let started = Instant::now();
    let run = env.run(&["--format", "json"]);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the run took {took:?}, past its 5s deadline"
    );
    let acts = actions(&run.json());
    assert_eq!(acts[0].0, "failed", "{acts:?}");
    assert!(acts[0].1.contains("timed out"), "{}", acts[0].1);
    let leftovers = std::process::Command::new("pgrep")
        .args(["-f", &stub.display().to_string()])
        .output()
        .unwrap();
    assert!(
        leftovers.stdout.is_empty(),
        "the stub's process group survived"
    );
}

#[test]
fn two_runs_started_at_once_restart_at_most_once() {
    let env = Env::new();
    let restarts = env.path("restarts.txt");
    let stale = env.write("stale.log", "x\n");
    env.age(&stale, Duration::from_secs(600));
    env.config(&format!(
        "[[service]]\nname = \"bot\"\ncommand = {{ restart = [\"sh\", \"-c\", \"echo restart >> {}; sleep 0.5\"] }}\n\n\
         [[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"{}\"\ncrit_above = \"1m\"\nrestart = \"bot\"\n",
        restarts.display(),
        stale.display()
    ));
    let quiet = || {
        let mut c = env.cmd();
        c.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    let a = quiet().spawn().unwrap();
    let b = quiet().spawn().unwrap();
    for mut child in [a, b] {
        child.wait().unwrap();
    }
    let count = std::fs::read_to_string(&restarts)
        .map(|s| s.lines().count())
        .unwrap_or(0);
    assert_eq!(count, 1);
}

#[test]
fn a_silenced_check_is_reported_but_not_acted_on_until_unsilenced() {
    let env = Env::new();
    let bot = Bot::new(&env, "muted");
    env.config(&format!("{}{}", service(&bot, ""), process_check(&bot, "")));
    let silence = env.run(&[
        "silence",
        "bot-running",
        "--for",
        "1h",
        "--reason",
        "deploy",
    ]);
    assert_eq!(silence.code, 0, "{}", silence.stderr);
    let run = env.run(&[]);
    assert!(
        run.line("bot-running").starts_with("[SILENCED]"),
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 0, "a silenced check counts as OK");
    assert_eq!(bot.starts(), 0);
    let json = env.run(&["--format", "json"]).json();
    assert_eq!(json["checks"][0]["silenced"], true);
    assert_eq!(
        json["checks"][0]["status"], "critical",
        "the real status is kept"
    );

    let history = env.run(&["history", "--format", "json"]).json();
    assert_eq!(history["silences"][0]["check"], "bot-running");
    assert_eq!(history["silences"][0]["reason"], "deploy");
    assert_eq!(history["checks"][0]["status"], "critical");
    assert_eq!(env.run(&["silence", "nope", "--for", "1h"]).code, 3);

    assert_eq!(env.run(&["unsilence", "bot-running"]).code, 0);
    env.run(&[]);
    assert_eq!(bot.starts(), 1);
}

#[test]
fn nagios_output_lists_the_actions() {
    let env = Env::new();
    let bot = Bot::new(&env, "nagios");
    env.config(&format!("{}{}", service(&bot, ""), process_check(&bot, "")));
    let run = env.run(&["--format", "nagios"]);
    let action = run
        .stdout
        .lines()
        .find(|l| l.starts_with("ACTION: restart bot: ok: "))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(action.contains("bot-running OK, it helped"), "{action}");
}

#[test]
fn a_sibling_check_of_the_restarted_service_still_said_it_was_stopped() {
    let env = Env::new();
    let bot = Bot::new(&env, "siblings");
    env.config(&format!(
        "{}{}[[check]]\nname = \"bot-slow\"\ntype = \"process\"\nmatch = '{}'\nrestart = \"bot\"\nafter = 5\n",
        service(&bot, "grace = \"0s\"\ncooldown = \"0s\""),
        process_check(&bot, ""),
        bot.pattern()
    ));
    let run = env.run(&["--format", "json"]);
    let json = run.json();
    let acts = actions(&json);
    assert_eq!(acts.len(), 1, "{json:#}");
    assert!(
        acts[0].1.contains("bot-running OK") && acts[0].1.contains("bot-slow OK"),
        "every check naming the service is re-checked: {}",
        acts[0].1
    );
    let slow = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "bot-slow")
        .unwrap();
    assert_eq!(slow["status"], "ok", "{slow:#}");
    assert_eq!(run.code, 0, "{}", run.stdout);
}

/// Kills the processes whose pids it was given, when the test ends.
struct Reaper(Vec<u32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in &self.0 {
            // SAFETY: kill has no memory preconditions; the pids are the test's.
            unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
        }
    }
}

#[test]
fn a_restarted_process_came_back_with_another_command_line() {
    let env = Env::new();
    let app = env.path("app");
    std::fs::create_dir_all(app.join("bin")).unwrap();
    std::fs::copy("/bin/sleep", app.join("bin/worker")).unwrap();
    env.config(&format!(
        "[[service]]\nname = \"worker\"\nprocess = {{ match = '^\\./bin/worker 300$', start = [\"./bin/worker\", \"300\"], cwd = \"{}\" }}\n\
         verify = \"5s\"\nstop_timeout = \"1s\"\n\
         [[check]]\nname = \"worker-running\"\ntype = \"process\"\nmatch = '^\\./bin/worker 300$'\nrestart = \"worker\"\n",
        app.display()
    ));
    let run = env.run(&["--format", "json"]);
    let json = run.json();
    let detail = json["actions"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pids: Vec<u32> = detail
        .split("as pid ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|pid| pid.parse().ok())
        .into_iter()
        .collect();
    let _reaper = Reaper(pids.clone());
    assert_eq!(pids.len(), 1, "{json:#}");
    assert!(
        detail.contains("worker-running OK, it helped"),
        "the match written for the configured command line finds the restarted one: {detail}"
    );
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", pids[0])).unwrap();
    assert_eq!(
        cmdline, b"./bin/worker\x00300\x00",
        "argv exactly as configured"
    );
}

#[test]
fn checks_that_were_ok_before_a_restart_were_reported_as_helped() {
    let env = Env::new();
    let bot = Bot::new(&env, "helped");
    env.write("config-of-the-bot.json", "{}");
    env.config(&format!(
        "{}{}[[check]]\nname = \"bot-config\"\ntype = \"file\"\npath = \"{}\"\nrestart = \"bot\"\n",
        service(&bot, "grace = \"0s\"\ncooldown = \"0s\""),
        process_check(&bot, ""),
        env.path("config-of-the-bot.json").display()
    ));
    let json = env.run(&["--format", "json"]).json();
    let acts = actions(&json);
    assert_eq!(acts[0].0, "ok", "{json:#}");
    assert!(acts[0].1.contains("bot-running OK, it helped"), "{json:#}");
    assert!(acts[0].1.contains("bot-config OK"), "{json:#}");
    assert!(
        !acts[0].1.contains("bot-config OK, it helped"),
        "bot-config was never down: {}",
        acts[0].1
    );
}

#[test]
fn a_bot_that_ran_for_seconds_was_said_to_have_exited_at_once() {
    let env = Env::new();
    let script = env.write(
        "dies-later.sh",
        "echo loading the strategy\nsleep 1.5\necho 'ValueError: unknown pair BTC/XYZ'\nexit 2\n",
    );
    let pattern = regex::escape(&script.display().to_string());
    env.config(&format!(
        "[[service]]\nname = \"bot\"\nprocess = {{ match = '{pattern}', start = [\"sh\", \"{}\"], log = \"{}\" }}\n\
         verify = \"6s\"\ngrace = \"0s\"\ncooldown = \"0s\"\n\n\
         [[check]]\nname = \"bot-running\"\ntype = \"process\"\nmatch = '{pattern}'\nrestart = \"bot\"\n",
        script.display(),
        env.path("bot.log").display()
    ));
    let json = env.run(&["--format", "json"]).json();
    let acts = actions(&json);
    assert_eq!(acts[0].0, "failed", "{json:#}");
    let detail = &acts[0].1;
    assert!(!detail.contains("at once"), "{detail}");
    assert!(
        detail.contains("exited after 1."),
        "how long it ran: {detail}"
    );
    assert!(
        detail.contains("ValueError: unknown pair BTC/XYZ"),
        "its log's last lines: {detail}"
    );
}
