//! What earlier releases wrote stays readable, and what this one writes
//! stays what they wrote: the JSON report and the state file of a fixed
//! scenario, byte for byte but for times, against the files healthcheck
//! a1689c2 (before the architecture was reshaped) wrote; and the state
//! files of every earlier shape of state v1, loaded without loss.

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
    for (name, got) in [
        ("report-1.json", &first.stdout),
        ("report-2.json", &second.stdout),
        ("state.json", &written),
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
