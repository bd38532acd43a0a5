//! A new user's first day with a bot: what `status` and `history` tell
//! after an incident, with no config at hand, and while `max_per_hour`
//! holds alerts back.

use crate::harness::Env;

#[test]
fn status_and_history_without_a_config_say_on_stderr_which_config_and_state_they_read() {
    let env = Env::new();
    for command in ["status", "history"] {
        let run = env.run(&[command]);
        assert!(
            run.stderr.contains("healthcheck: no config found (")
                && run.stderr.contains("showing the state in ")
                && run.stderr.contains("of the embedded default config"),
            "{command}: {}",
            run.stderr
        );
    }
}

/// A file check whose file a restart puts back: one incident, fixed by a
/// restart within one run.
fn fixed_by_a_restart(env: &Env) {
    let flag = env.path("bot.alive");
    env.config(&format!(
        "[[service]]\nname = \"bot\"\ncommand = {{ restart = [\"touch\", \"{flag}\"] }}\n\n\
         [[check]]\nname = \"bot-alive\"\ntype = \"file\"\npath = \"{flag}\"\nrestart = \"bot\"\n",
        flag = flag.display()
    ));
    let run = env.run(&[]);
    assert!(flag.exists(), "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn status_does_not_hide_an_outage_that_a_restart_fixed_and_history_lists_the_incident() {
    let env = Env::new();
    fixed_by_a_restart(&env);
    let status = env.run(&["status"]);
    let line = status
        .stdout
        .lines()
        .find(|l| l.contains("bot-alive"))
        .unwrap_or_else(|| panic!("{}", status.stdout));
    assert!(line.starts_with("[OK]"), "{line}");
    assert!(line.contains("(recovered at "), "{line}");
    assert!(line.contains(" after a restart; CRITICAL from "), "{line}");
    let history = env.run(&["history"]);
    let incidents = history
        .stdout
        .split("incidents:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no incidents in:\n{}", history.stdout));
    let first = incidents.lines().next().unwrap();
    assert!(first.starts_with("  bot-alive CRITICAL from "), "{first}");
    assert!(first.contains("; restart bot at "), "{first}");
    assert!(first.ends_with("(ok, helped)"), "{first}");
}

#[test]
fn status_and_history_show_the_alerts_max_per_hour_holds_back() {
    let env = Env::new();
    let told = env.path("told");
    env.config(&format!(
        "[alerting]\nmax_per_hour = 1\n\n\
         [[alert]]\nname = \"phone\"\ntype = \"command\"\ncommand = [\"sh\", \"-c\", \"cat >> {told}\"]\n\n\
         [[check]]\nname = \"a\"\ntype = \"file\"\npath = \"/nonexistent/a\"\nseverity = \"warning\"\n\n\
         [[check]]\nname = \"b\"\ntype = \"file\"\npath = \"/nonexistent/b\"\nseverity = \"warning\"\n",
        told = told.display()
    ));
    env.run(&["--only", "a"]);
    env.run(&["--only", "b"]);
    let sent = std::fs::read_to_string(&told).unwrap();
    assert!(
        sent.contains("[WARNING] a") && !sent.contains("[WARNING] b"),
        "{sent}"
    );
    let status = env.run(&["status"]);
    assert!(
        status
            .stdout
            .contains("alerts phone: 1 alert held back by max_per_hour since "),
        "{}",
        status.stdout
    );
    let history = env.run(&["history"]);
    assert!(
        history
            .stdout
            .contains("alerts held back:\n  phone: 1 alert held back by max_per_hour since "),
        "{}",
        history.stdout
    );
}
