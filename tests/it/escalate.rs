//! Escalation ladders through the real binary, with real processes and the
//! state carried across runs, the clock moved by libfaketime: one step per
//! `after` while the problem lasts, manual intervention told once, a step
//! that helps ends the ladder; `cwd` and `env` of run steps and `command`
//! checks; a failed step told by the end of its stderr; `--dry-run` says
//! which step comes next.

use std::path::Path;

use crate::harness::{Env, Run, libfaketime, missing};

/// A `command` check that is CRITICAL until the file `healthy` exists, with
/// guide 003's ladder: soft recovery, a restart 5m later, a hard recovery
/// 15m after that. Each step appends its name to `steps.log`.
fn ladder(env: &Env) {
    let dir = env.dir.path().display();
    env.config(&format!(
        r#"
[[service]]
name = "trader"
command = {{ restart = ["sh", "-c", "echo restart >> {dir}/steps.log"] }}
grace = "0s"

[[check]]
name = "trader-alive"
type = "command"
command = ["sh", "-c", "test -e {dir}/healthy && echo alive || {{ echo 'no heartbeat'; exit 2; }}"]
cwd = "{dir}"
env = {{ STEP = "soft" }}
run_max = 5
run_cooldown = "5m"
escalate = [
  {{ run = ["sh", "-c", "echo $STEP >> steps.log"] }},
  {{ restart = "trader", after = "5m" }},
  {{ run = ["sh", "-c", "echo $STEP >> steps.log"], after = "15m", env = {{ STEP = "hard" }} }},
]
"#
    ));
}

/// One run with the wall clock at `hhmm` on a fixed day (monotonic time real).
fn at(env: &Env, libfaketime: &Path, hhmm: &str, args: &[&str]) -> Run {
    Run::from(
        env.cmd()
            .args(args)
            .env("TZ", "UTC")
            .env("LD_PRELOAD", libfaketime)
            .env("FAKETIME", format!("@2026-11-22 {hhmm}:00"))
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .output()
            .unwrap(),
    )
}

fn steps_log(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path("steps.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn event_kinds(json: &serde_json::Value) -> Vec<String> {
    json["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_lasting_problem_climbs_the_ladder_and_asks_for_a_person_once() {
    let Some(libfaketime) = libfaketime() else {
        missing("libfaketime", "apt-get install faketime");
        return;
    };
    let env = Env::new();
    ladder(&env);
    let mut seen = Vec::new();
    let mut manual = Vec::new();
    for hhmm in [
        "10:00", "10:01", "10:05", "10:06", "10:19", "10:20", "10:21", "10:22",
    ] {
        let run = at(&env, &libfaketime, hhmm, &["--format", "json"]);
        let json = run.json();
        assert_eq!(json["status"], "critical", "{hhmm}: {json:#}");
        seen.push((hhmm, steps_log(&env).join(" ")));
        if event_kinds(&json).contains(&"manual".to_string()) {
            manual.push(hhmm);
        }
    }
    assert_eq!(
        seen,
        [
            ("10:00", "soft".to_string()),
            ("10:01", "soft".into()),
            ("10:05", "soft restart".into()),
            ("10:06", "soft restart".into()),
            ("10:19", "soft restart".into()),
            ("10:20", "soft restart hard".into()),
            ("10:21", "soft restart hard".into()),
            ("10:22", "soft restart hard".into()),
        ]
    );
    assert_eq!(manual, ["10:21"]);

    // It is fixed: the ladder ends; the next problem starts at step 1.
    std::fs::write(env.path("healthy"), "").unwrap();
    let ok = at(&env, &libfaketime, "10:23", &["--format", "json"]).json();
    assert_eq!(ok["status"], "ok", "{ok:#}");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.path("state/state.json")).unwrap()).unwrap();
    assert!(
        state["checks"]["trader-alive"].get("ladder").is_none(),
        "{state:#}"
    );
    std::fs::remove_file(env.path("healthy")).unwrap();
    at(&env, &libfaketime, "10:40", &["--format", "json"]);
    assert_eq!(steps_log(&env).join(" "), "soft restart hard soft");
}

#[test]
fn a_step_that_helps_ends_the_ladder() {
    let Some(libfaketime) = libfaketime() else {
        missing("libfaketime", "apt-get install faketime");
        return;
    };
    let env = Env::new();
    let dir = env.dir.path().display();
    env.config(&format!(
        r#"
[[check]]
name = "token"
type = "command"
command = ["sh", "-c", "test -e {dir}/token && echo fresh || {{ echo expired; exit 2; }}"]
escalate = [
  {{ run = ["touch", "{dir}/token"] }},
  {{ run = ["sh", "-c", "echo never >> {dir}/steps.log"], after = "1m" }},
]
"#
    ));
    let json = at(&env, &libfaketime, "10:00", &["--format", "json"]).json();
    let action = &json["actions"][0];
    assert_eq!(
        (action["outcome"].as_str(), action["helped"].as_bool()),
        (Some("ok"), Some(true)),
        "{json:#}"
    );
    std::fs::remove_file(env.path("token")).unwrap();
    // A new problem: step 1 again, never step 2.
    let json = at(&env, &libfaketime, "10:05", &["--format", "json"]).json();
    assert!(
        json["actions"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("escalate step 1 of 2"),
        "{json:#}"
    );
    assert!(steps_log(&env).is_empty());
}

#[test]
fn dry_run_says_which_step_comes_next_and_when() {
    let Some(libfaketime) = libfaketime() else {
        missing("libfaketime", "apt-get install faketime");
        return;
    };
    let env = Env::new();
    ladder(&env);
    at(&env, &libfaketime, "10:00", &[]);
    let state = std::fs::read(env.path("state/state.json")).unwrap();
    let text = at(&env, &libfaketime, "10:02", &["--dry-run"]);
    assert!(
        text.stdout
            .contains("next: step 2 of 3 restart trader after 5m, at 10:05 UTC"),
        "{}",
        text.stdout
    );
    let json = at(
        &env,
        &libfaketime,
        "10:02",
        &["--dry-run", "--format", "json"],
    )
    .json();
    let next = &json["checks"][0]["next_step"];
    assert_eq!(
        (next["step"].as_u64(), next["action"].as_str()),
        (Some(2), Some("restart trader")),
        "{json:#}"
    );
    assert!(
        next["at"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-22T10:05:00"),
        "{next}"
    );
    // A dry run changes nothing: no step ran, the state is as it was.
    assert_eq!(steps_log(&env), ["soft"]);
    assert_eq!(std::fs::read(env.path("state/state.json")).unwrap(), state);
}

#[test]
fn run_steps_and_command_checks_run_in_their_cwd_with_their_env() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("app")).unwrap();
    let app = env.path("app");
    env.config(&format!(
        r#"
[[check]]
name = "where"
type = "command"
command = ["sh", "-c", "echo \"in $(pwd) as $ROLE\"; exit 2"]
cwd = "{}"
env = {{ ROLE = "trader" }}
escalate = [ {{ run = ["sh", "-c", "echo \"$(pwd) $ROLE $EXTRA\" > ran-here"], env = {{ EXTRA = "step" }} }} ]
"#,
        app.display()
    ));
    let run = env.run(&["--format", "json"]);
    let json = run.json();
    let real = std::fs::canonicalize(&app).unwrap();
    let message = json["checks"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("in {} as trader", real.display())),
        "{json:#}"
    );
    assert_eq!(
        std::fs::read_to_string(app.join("ran-here"))
            .unwrap()
            .trim(),
        format!("{} trader step", real.display())
    );
    assert!(!env.path("ran-here").exists());
}

#[test]
fn a_failed_recovery_command_shows_the_end_of_its_traceback() {
    if std::process::Command::new("python3")
        .arg("-V")
        .output()
        .is_err()
    {
        missing("python3", "apt-get install python3");
        return;
    }
    let env = Env::new();
    env.config(
        r#"
[[check]]
name = "token"
type = "command"
command = ["sh", "-c", "echo expired; exit 2"]
run = ["python3", "-c", "import sys\nprint('refreshing the token', file=sys.stderr)\ndef refresh():\n    raise ValueError('token endpoint said 401')\nrefresh()\n"]
"#,
    );
    let json = env.run(&["--format", "json"]).json();
    let action = &json["actions"][0];
    let detail = action["detail"].as_str().unwrap();
    assert_eq!(action["outcome"], "failed", "{json:#}");
    assert!(
        detail.ends_with("ValueError: token endpoint said 401"),
        "{detail}"
    );
    assert!(detail.contains("exit 1"), "{detail}");
}

#[test]
fn a_step_refused_by_its_budget_waits_and_is_told_once() {
    let Some(libfaketime) = libfaketime() else {
        missing("libfaketime", "apt-get install faketime");
        return;
    };
    let env = Env::new();
    let dir = env.dir.path().display();
    env.config(&format!(
        r#"
[[check]]
name = "feed"
type = "command"
command = ["sh", "-c", "echo stale; exit 2"]
run_max = 1
escalate = [
  {{ run = ["sh", "-c", "echo first >> {dir}/steps.log"] }},
  {{ run = ["sh", "-c", "echo second >> {dir}/steps.log"], after = "1m" }},
]
"#
    ));
    let mut held = Vec::new();
    for hhmm in ["10:00", "10:01", "10:02"] {
        let json = at(&env, &libfaketime, hhmm, &["--format", "json"]).json();
        held.push(
            json["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "held")
                .map(|e| e["message"].as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
        );
        if hhmm != "10:00" {
            assert_eq!(json["actions"][0]["outcome"], "suspended", "{json:#}");
        }
    }
    assert_eq!(steps_log(&env), ["first"]);
    assert!(held[0].is_empty() && held[2].is_empty(), "{held:?}");
    assert_eq!(held[1].len(), 1, "{held:?}");
    assert!(
        held[1][0].contains("escalate step 2 of 2 (run) refused by its budget"),
        "{held:?}"
    );
    // The window frees an hour after the first step: step 2, not a skip.
    at(&env, &libfaketime, "11:01", &["--format", "json"]);
    assert_eq!(steps_log(&env), ["first", "second"]);
}
