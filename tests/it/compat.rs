//! What earlier releases wrote stays readable, and what this one writes
//! stays what they wrote: the JSON report of a fixed scenario byte for
//! byte but for times, and its state file value for value (new keys may
//! join), against the files healthcheck a1689c2 (before the architecture
//! was reshaped) wrote; and the state files of every earlier shape of
//! state v1, loaded without loss.

use std::path::Path;

use crate::harness::{Env, fixtures};

/// Times, durations and the state dir vary from run to run: the rest must not.
fn normalized(text: &str, state_dir: &Path) -> String {
    let rules = [
        (r#""\d{4}-\d\d-\d\dT[0-9:.]+Z""#, r#""T""#),
        (r#""duration_ms": [0-9.]+"#, r#""duration_ms": 0"#),
        (r"\d\d:\d\d UTC", "HH:MM UTC"),
        (r"[0-9.]+m?s ago", "Xs ago"),
        (r"in [0-9.]+m?s\b", "in Xs"),
    ];
    let mut out = text.replace(&state_dir.display().to_string(), "STATE_DIR");
    for (pattern, with) in rules {
        out = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&out, with)
            .into_owned();
    }
    out
}

fn compat(file: &str) -> String {
    std::fs::read_to_string(fixtures().join("compat").join(file)).unwrap()
}

#[test]
fn the_report_and_the_state_are_what_a1689c2_wrote() {
    let env = Env::new();
    let state = env.path("state");
    env.write(
        "healthcheck.toml",
        &compat("healthcheck.toml").replace("STATE_DIR", &state.display().to_string()),
    );
    let first = env.run(&["--format", "json"]);
    let silenced = env.run(&[
        "silence",
        "failing-command",
        "--for",
        "2h",
        "--reason",
        "maintenance",
    ]);
    assert_eq!(silenced.code, 0, "{}", silenced.stderr);
    let second = env.run(&["--format", "json"]);
    let written = std::fs::read_to_string(state.join("state.json")).unwrap();
    // The state has grown since (each check's last message, for
    // `healthcheck status`): every value a1689c2 wrote is still written
    // the same, and nothing else is lost.
    let then: serde_json::Value = serde_json::from_str(&compat("a1689c2/state.json")).unwrap();
    let now: serde_json::Value = serde_json::from_str(&normalized(&written, &state)).unwrap();
    let missing = lost(&then, &now, String::new());
    assert!(missing.is_empty(), "the state lost or changed {missing:?}");
    for (name, got) in [
        ("report-1.json", &first.stdout),
        ("report-2.json", &second.stdout),
    ] {
        let want = compat(&format!("a1689c2/{name}"));
        let got = normalized(got, &state);
        if got != want {
            let first_difference = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{name} differs from what a1689c2 wrote, first at line {}:\n  now:  {}\n  then: {}",
                first_difference + 1,
                got.lines().nth(first_difference).unwrap_or(""),
                want.lines().nth(first_difference).unwrap_or("")
            );
        }
    }
}

/// The state files the earlier shapes of state v1 wrote, as written by
/// those builds (`git log -- src/state.rs`): the first (checks only), with
/// services and silences, with the outbox, with restart totals, and the
/// last before the reshaping.
const EARLIER: &[(&str, usize)] = &[
    ("f77c6fb", 0),
    ("7b4d4f9", 1),
    ("688911c", 1),
    ("e8929ec", 1),
    ("a1689c2", 1),
];

#[test]
fn every_earlier_state_file_loads_without_loss_and_saves_the_same() {
    use healthcheck::model::Status;
    use healthcheck::state::Store;
    for (build, restarts) in EARLIER {
        let written = compat(&format!("{build}/state-as-written.json"));
        let before: serde_json::Value = serde_json::from_str(&written).unwrap();
        let env = Env::new();
        let dir = env.path("state");
        env.write("state/state.json", &written);
        let store = Store::open(&dir, std::time::Instant::now()).unwrap();
        let loaded = store.load(jiff::Timestamp::now());
        assert_eq!(loaded.quarantined, None, "{build}: moved aside");
        assert_eq!(loaded.newer_version, None, "{build}");
        let state = loaded.state;
        assert_eq!(state.checks["bot-log"].status, Status::Critical, "{build}");
        assert_eq!(state.checks["ok-command"].status, Status::Ok, "{build}");
        let kept = state.services.get("bot").map_or(0, |s| s.restarts.len());
        assert_eq!(kept, *restarts, "{build}: restart history");
        assert_eq!(
            state.silences.len(),
            usize::from(before.get("silences").is_some()),
            "{build}: silences"
        );
        assert_eq!(
            state.outbox.len(),
            before
                .get("outbox")
                .map_or(0, |o| o.as_array().unwrap().len()),
            "{build}: outbox"
        );
        // Saved by this build, every value the earlier one wrote is still there.
        store.save(&state).unwrap();
        let after: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap())
                .unwrap();
        let missing = lost(&before, &after, String::new());
        assert!(missing.is_empty(), "{build}: lost {missing:?}");
    }
}

/// The paths of `before` whose value `after` does not have.
fn lost(before: &serde_json::Value, after: &serde_json::Value, at: String) -> Vec<String> {
    match (before, after) {
        (serde_json::Value::Object(b), serde_json::Value::Object(a)) => b
            .iter()
            .flat_map(|(k, v)| match a.get(k) {
                Some(w) => lost(v, w, format!("{at}.{k}")),
                None => vec![format!("{at}.{k}")],
            })
            .collect(),
        (b, a) if b == a => Vec::new(),
        _ => vec![at],
    }
}
