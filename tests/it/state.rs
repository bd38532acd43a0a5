//! State across runs through the binary: confirmation, quarantine of a
//! broken file, a newer version left alone, the lock, reports retention,
//! `--dry-run` and `--only`.

use std::time::{Duration, Instant};

use crate::harness::Env;

fn stale_file_config(env: &Env, extra: &str) -> std::path::PathBuf {
    let log = env.write("bot.log", "x\n");
    env.age(&log, Duration::from_secs(3600));
    env.config(&format!(
        "[[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"{}\"\ncrit_above = \"5m\"\n{extra}\n[[check]]\nname = \"mem\"\ntype = \"memory\"\n",
        log.display()
    ));
    env.path("state/state.json")
}

#[test]
fn after_counts_consecutive_runs_in_state() {
    let env = Env::new();
    stale_file_config(&env, "after = 3");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let json = env.run(&["--format", "json"]).json();
        seen.push((
            json["checks"][0]["consecutive"].as_u64().unwrap(),
            json["checks"][0]["confirmed"].as_bool().unwrap(),
        ));
    }
    assert_eq!(seen, [(1, false), (2, false), (3, true)]);
}

#[test]
fn a_corrupt_state_file_is_moved_aside_with_a_warning() {
    let env = Env::new();
    let state = stale_file_config(&env, "");
    assert_eq!(env.run(&[]).code, 2);
    std::fs::write(&state, "{\"version\": 1, \"checks\": {tru").unwrap();
    let run = env.run(&[]);
    assert!(
        run.stdout.contains("[WARN]") && run.stdout.contains("was unusable"),
        "{}",
        run.stdout
    );
    let moved: Vec<_> = std::fs::read_dir(env.path("state"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("state.json.corrupt-")
        })
        .collect();
    assert_eq!(moved.len(), 1);
    assert!(
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&state).unwrap())
            .is_ok()
    );
}

#[test]
fn a_newer_state_version_is_never_overwritten_and_the_run_exits_3() {
    let env = Env::new();
    let state = stale_file_config(&env, "");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    let newer = "{\"version\": 2, \"future\": true}\n";
    std::fs::write(&state, newer).unwrap();
    let run = env.run(&[]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains("bot-log"),
        "checks still run: {}",
        run.stdout
    );
    assert!(run.stdout.contains("version 2"), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(&state).unwrap(), newer);
}

#[test]
fn a_second_run_waits_for_the_lock_until_its_deadline_then_exits_3() {
    let env = Env::new();
    env.config("[settings]\nstate_dir = \"state\"\ndeadline = \"1s\"\n\n[[check]]\nname = \"mem\"\ntype = \"memory\"\n");
    std::fs::create_dir_all(env.path("state")).unwrap();
    let lock = std::fs::File::create(env.path("state/healthcheck.lock")).unwrap();
    lock.lock().unwrap();
    let started = Instant::now();
    let run = env.run(&[]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr
            .contains("another healthcheck run is in progress"),
        "{}",
        run.stderr
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "it gave up before its deadline"
    );
    lock.unlock().unwrap();
    assert_eq!(env.run(&[]).code, 0, "a released lock never blocks");
}

#[test]
fn reports_keep_the_newest_n() {
    let env = Env::new();
    env.config(&format!("[settings]\nstate_dir = \"{}\"\nreports = 2\n\n[[check]]\nname = \"mem\"\ntype = \"memory\"\n", env.path("state").display()));
    for _ in 0..4 {
        env.run(&[]);
    }
    let reports: Vec<_> = std::fs::read_dir(env.path("state/reports"))
        .unwrap()
        .collect();
    assert_eq!(reports.len(), 2);
}

#[test]
fn dry_run_leaves_the_state_file_byte_identical() {
    let env = Env::new();
    let state = stale_file_config(&env, "");
    env.run(&[]);
    let before = std::fs::read(&state).unwrap();
    let reports_before = std::fs::read_dir(env.path("state/reports"))
        .unwrap()
        .count();
    let run = env.run(&["--dry-run"]);
    assert_eq!(run.code, 2);
    assert_eq!(std::fs::read(&state).unwrap(), before);
    assert_eq!(
        std::fs::read_dir(env.path("state/reports"))
            .unwrap()
            .count(),
        reports_before
    );
}

#[test]
fn only_runs_the_named_checks_and_leaves_the_others_state_alone() {
    let env = Env::new();
    let state = stale_file_config(&env, "");
    env.run(&[]);
    let read = || {
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&state).unwrap())
            .unwrap()
    };
    let before = read();
    let run = env.run(&["--only", "mem", "--format", "json"]).json();
    assert_eq!(run["checks"].as_array().unwrap().len(), 1);
    let after = read();
    assert_eq!(after["checks"]["bot-log"], before["checks"]["bot-log"]);
    assert_eq!(env.run(&["--only", "nope"]).code, 3);
}

#[test]
fn as_root_files_others_can_write_are_refused() {
    if !crate::harness::is_root() {
        eprintln!("SKIPPED: the root-only refusal needs root");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.config("[[check]]\nname = \"mem\"\ntype = \"memory\"\n");
    let config = env.path("healthcheck.toml");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = env.run(&[]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("refusing to use this config as root")
            && run.stderr.contains("writable by group or others"),
        "{}",
        run.stderr
    );

    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::create_dir_all(env.path("state")).unwrap();
    std::fs::set_permissions(env.path("state"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = env.run(&[]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains("refusing to use") && run.stdout.contains("state"),
        "{}",
        run.stdout
    );
    assert!(!env.path("state/state.json").exists());
}

#[test]
fn the_prometheus_textfile_carries_statuses_readings_and_restarts() {
    let env = Env::new();
    let prom = env.path("textfile/healthcheck.prom");
    std::fs::create_dir_all(prom.parent().unwrap()).unwrap();
    let log = env.write("bot.log", "x\n");
    env.age(&log, Duration::from_secs(3600));
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\nprometheus_file = \"{}\"\n\n\
         [[service]]\nname = \"bot\"\ncommand = {{ restart = [\"true\"] }}\n\n\
         [[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"{}\"\ncrit_above = \"5m\"\nrestart = \"bot\"\n",
        env.path("state").display(),
        prom.display(),
        log.display()
    ));
    env.run(&[]);
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(
        text.contains("healthcheck_check_status{check=\"bot-log\",type=\"file\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("healthcheck_check_reading{check=\"bot-log\",reading=\"size\",unit=\"B\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("healthcheck_restarts_total{service=\"bot\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE healthcheck_run_duration_seconds gauge"),
        "{text}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(prom.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp file is left behind");
    let before = text.clone();
    env.run(&["--dry-run"]);
    assert_eq!(
        std::fs::read_to_string(&prom).unwrap(),
        before,
        "a dry run writes nothing"
    );
}
