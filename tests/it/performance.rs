//! What the benchmark (benches/run) showed and the code now promises, as
//! behaviour rather than timings: a steady-state run fsyncs at most once and
//! writes little, a check that keeps failing is fsynced only until its
//! problem is confirmed, a run whose only news is its own time rewrites nothing, a
//! restart is still made durable before it runs, and a process restart
//! returns once the service is up instead of sitting out `verify`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{self, Bot, Env, Run};

/// One run of the binary under `strace -f -y`, tracing `calls`; `None` (the
/// test returns) when strace is missing outside CI. A child is let go when
/// it execs (`--detach-on=execve`), so a restarted bot does not keep strace
/// (and the test) waiting.
fn traced(env: &Env, calls: &str) -> Option<(Run, String)> {
    if Command::new("strace").arg("-V").output().is_err() {
        harness::missing("strace", "counting the fsyncs and writes of a run");
        return None;
    }
    let log = env.path("strace.txt");
    let out = Command::new("strace")
        .args(["-f", "-y", "-qq", "--detach-on=execve", "-e"])
        .arg(format!("trace={calls}"))
        .arg("-o")
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_healthcheck"))
        .current_dir(env.dir.path())
        .env("HOME", env.dir.path())
        .env_remove("HEALTHCHECK_CONFIG")
        .env_remove("STATE_DIRECTORY")
        .output()
        .unwrap();
    let trace = std::fs::read_to_string(&log).unwrap();
    Some((Run::from(out), trace))
}

fn fsyncs(trace: &str) -> Vec<&str> {
    trace
        .lines()
        .filter(|l| {
            ["fsync(", "fdatasync(", "sync_file_range("]
                .iter()
                .any(|c| l.contains(c))
        })
        .collect()
}

/// Bytes written to files under `dir` (strace -y shows each fd's path).
fn bytes_written(trace: &str, dir: &Path) -> u64 {
    let dir = format!("<{}", dir.display());
    trace
        .lines()
        .filter(|l| l.contains("write(") && l.contains(&dir))
        .filter_map(|l| l.rsplit("= ").next()?.trim().parse::<u64>().ok())
        .sum()
}

/// Checks that remember something new every run (CPU counters, disk
/// samples, log offsets, process CPU), as a real config's do.
fn busy_config(env: &Env) {
    let log = env.write("app.log", "started\n");
    env.write("heartbeat", "");
    env.config(&format!(
        r#"[[check]]
name = "heartbeat"
type = "file"
path = "{}"
crit_above = "10m"

[[check]]
name = "errors"
type = "log"
path = "{}"
pattern = "ERROR"
per = "1h"
crit_above = 200

[[check]]
name = "disk"
type = "disk"

[[check]]
name = "memory"
type = "memory"

[[check]]
name = "cpu"
type = "cpu"
"#,
        env.path("heartbeat").display(),
        log.display()
    ));
}

#[test]
fn a_run_whose_only_news_is_what_the_checks_measure_again_is_not_fsynced_and_a_new_status_is() {
    let env = Env::new();
    busy_config(&env);
    // Until each check's history holds its last ten statuses, every run
    // adds to it.
    for _ in 0..10 {
        assert_eq!(env.run(&[]).code, 0);
    }
    let before = std::fs::read_to_string(env.path("state/state.json")).unwrap();
    let Some((run, trace)) = traced(&env, "fsync,fdatasync,sync_file_range") else {
        return;
    };
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(fsyncs(&trace), Vec::<&str>::new());
    let after = std::fs::read_to_string(env.path("state/state.json")).unwrap();
    assert_ne!(before, after, "the new samples are saved, without fsync");
    // The last fsynced content keeps a name of its own.
    let synced = std::fs::read_to_string(env.path("state/state.json.synced")).unwrap();
    let synced: serde_json::Value = serde_json::from_str(&synced).unwrap();
    assert_eq!(synced["checks"]["heartbeat"]["status"], "ok");

    std::fs::remove_file(env.path("heartbeat")).unwrap();
    let Some((run, trace)) = traced(&env, "fsync,fdatasync,sync_file_range") else {
        return;
    };
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let synced = fsyncs(&trace);
    assert_eq!(synced.len(), 1, "{}", synced.join("\n"));
    assert!(synced[0].contains("state.json"), "{}", synced[0]);
    let copy = std::fs::read_to_string(env.path("state/state.json.synced")).unwrap();
    assert_eq!(
        copy,
        std::fs::read_to_string(env.path("state/state.json")).unwrap(),
        "the fsynced save is the copy"
    );
}

#[test]
fn a_check_failing_for_hours_is_not_fsynced_every_run() {
    let env = Env::new();
    env.config(&format!(
        "[[check]]\nname = \"heartbeat\"\ntype = \"file\"\npath = \"{}\"\nafter = 2\n",
        env.path("heartbeat").display()
    ));
    let counted = |env: &Env| {
        let text = std::fs::read_to_string(env.path("state/state.json")).unwrap();
        let state: serde_json::Value = serde_json::from_str(&text).unwrap();
        state["checks"]["heartbeat"]["consecutive"]
            .as_u64()
            .unwrap()
    };
    // The first failing run and the one that confirms the problem are news.
    for expected in 1..=2 {
        let Some((run, trace)) = traced(&env, "fsync,fdatasync,sync_file_range") else {
            return;
        };
        assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
        assert_eq!(fsyncs(&trace).len(), 1, "run {expected}: {trace}");
        assert_eq!(counted(&env), expected);
    }
    // Until its history holds the last ten statuses, each run adds to it.
    for _ in 3..=10 {
        assert_eq!(env.run(&[]).code, 2);
    }
    // Every later run is counted and saved, without fsync.
    for expected in 11..=13 {
        let Some((run, trace)) = traced(&env, "fsync,fdatasync,sync_file_range") else {
            return;
        };
        assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
        assert_eq!(fsyncs(&trace), Vec::<&str>::new(), "run {expected}");
        assert_eq!(counted(&env), expected);
    }
    // A power cut spoils the unsynced file: the run goes on from the last
    // fsynced count, which still confirms the problem.
    std::fs::write(env.path("state/state.json"), b"").unwrap();
    let run = env.run(&[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("state.json.synced"), "{}", run.stdout);
    assert!(!run.stdout.contains("unconfirmed"), "{}", run.stdout);
    assert_eq!(counted(&env), 11);
}

#[test]
fn a_steady_state_run_fsyncs_at_most_once() {
    let env = Env::new();
    busy_config(&env);
    for _ in 0..2 {
        assert_eq!(env.run(&[]).code, 0);
    }
    let before = std::fs::read_to_string(env.path("state/state.json")).unwrap();
    let Some((run, trace)) = traced(
        &env,
        "write,pwrite64,writev,fsync,fdatasync,sync_file_range",
    ) else {
        return;
    };
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let synced = fsyncs(&trace);
    assert!(
        synced.len() <= 1,
        "{} fsyncs:\n{}",
        synced.len(),
        synced.join("\n")
    );
    let written = bytes_written(&trace, env.dir.path());
    assert!(written <= 16 * 1024, "{written} bytes written");
    // What changed (the checks' memories) was still saved.
    let after = std::fs::read_to_string(env.path("state/state.json")).unwrap();
    assert_ne!(before, after);
    let state: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert!(state["checks"]["cpu"]["memory"].is_object(), "{after}");
    // The report was written too, just not fsynced.
    assert_eq!(
        std::fs::read_dir(env.path("state/reports"))
            .unwrap()
            .count(),
        3
    );
}

#[test]
fn a_run_whose_only_news_is_its_time_does_not_rewrite_the_state() {
    let env = Env::new();
    // A check whose message never changes: its state does not either.
    let config = |interval: &str| {
        format!(
            "[settings]\nstate_dir = \"{}\"\nreports = 0\n{interval}\n\n[[check]]\nname = \"steady\"\ntype = \"command\"\ncommand = [\"echo\", \"fine\"]\n",
            env.path("state").display(),
        )
    };
    env.config(&config("expected_interval = \"1h\""));
    // Ten runs fill the status history (flapping looks at the last 10).
    for _ in 0..10 {
        assert_eq!(env.run(&[]).code, 0);
    }
    let state = env.path("state/state.json");
    let first = std::fs::read_to_string(&state).unwrap();
    let run = env.run(&[]);
    assert_eq!(run.code, 0);
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        first,
        "rewritten for its last_run alone; the run said:\n{}{}",
        run.stdout,
        run.stderr
    );
    let last_run =
        |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap()["last_run"].clone();

    // Without expected_interval, `status` and the gap check have no bound:
    // every run writes its time.
    env.config(&config(""));
    assert_eq!(env.run(&[]).code, 0);
    let unbounded = std::fs::read_to_string(&state).unwrap();
    assert_ne!(last_run(&unbounded), last_run(&first));

    // With expected_interval, last_run is never left older than one interval.
    env.config(&config("expected_interval = \"1s\""));
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(env.run(&[]).code, 0);
    let after = std::fs::read_to_string(&state).unwrap();
    assert_ne!(last_run(&after), last_run(&unbounded));
}

#[test]
fn a_restart_is_fsynced_with_its_directory_before_it_runs() {
    let env = Env::new();
    let bot = Bot::new(&env, "bot");
    env.config(&format!(
        "[[service]]\nname = \"bot\"\nprocess = {{ match = '{}', start = [\"sh\", \"{}\"] }}\nverify = \"300ms\"\n\n\
         [[check]]\nname = \"bot\"\ntype = \"process\"\nmatch = '{}'\nrestart = \"bot\"\n",
        bot.pattern(),
        bot.script.display(),
        bot.pattern()
    ));
    let Some((run, trace)) = traced(&env, "fsync,execve") else {
        return;
    };
    assert!(
        run.stdout.contains("started sh"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let lines: Vec<&str> = trace.lines().collect();
    let spawned = lines
        .iter()
        .position(|l| l.contains("execve(") && l.contains(&*bot.script.display().to_string()))
        .unwrap_or_else(|| panic!("the bot was not started:\n{trace}"));
    let state_dir = format!("<{}>", env.path("state").display());
    let dir_synced = lines[..spawned]
        .iter()
        .any(|l| l.contains("fsync(") && l.contains(&state_dir));
    assert!(
        dir_synced,
        "no fsync of the state directory before the restart:\n{trace}"
    );
}

#[test]
fn a_process_restart_returns_as_soon_as_the_bot_is_up() {
    let env = Env::new();
    let bot = Bot::new(&env, "bot");
    env.config(&format!(
        "[[service]]\nname = \"bot\"\nprocess = {{ match = '{}', start = [\"sh\", \"{}\"] }}\nverify = \"30s\"\n\n\
         [[check]]\nname = \"bot\"\ntype = \"process\"\nmatch = '{}'\nrestart = \"bot\"\n\n\
         [[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"{}\"\ncrit_above = \"1m\"\nrestart = \"bot\"\n",
        bot.pattern(),
        bot.script.display(),
        bot.pattern(),
        bot.log.display()
    ));
    let started = Instant::now();
    let run = env.run(&[]);
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("re-checked: bot OK, it helped, bot-log OK, it helped"),
        "{}",
        run.stdout
    );
    // Bounded generously: the old verification sat out all of `verify` (30 s).
    assert!(took < Duration::from_secs(10), "the run took {took:?}");
    assert_eq!(bot.starts(), 1);
}
