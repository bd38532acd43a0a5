//! A newcomer's first hour: flags where the README puts them,
//! help that says what a command does, errors that say what to fix.

use crate::harness::Env;

#[test]
fn global_options_before_the_subcommand_were_refused() {
    let env = Env::new();
    env.write("x.toml", "[[check]]\nname = \"m\"\ntype = \"memory\"\n");
    let validate = env.run(&["-c", "x.toml", "validate"]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
    assert!(
        validate.stdout.contains("x.toml: valid (1 check)"),
        "{}",
        validate.stdout
    );
    let history = env.run(&["-c", "x.toml", "history"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    let json = env.run(&["--format", "json", "-c", "x.toml", "history"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert!(json.json()["checks"].is_array(), "{}", json.stdout);
    let verbose = env.run(&["-v", "-c", "x.toml", "validate"]);
    assert_eq!(verbose.code, 0, "{}", verbose.stderr);
}

#[test]
fn run_flags_before_another_subcommand_are_a_usage_error() {
    let env = Env::new();
    env.write("x.toml", "[[check]]\nname = \"m\"\ntype = \"memory\"\n");
    let run = env.run(&["--no-restart", "-c", "x.toml", "history"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("--no-restart") && run.stderr.contains("history"),
        "{}",
        run.stderr
    );
}

#[test]
fn help_texts_say_what_each_command_and_argument_is() {
    let env = Env::new();
    let silence = env.run(&["silence", "--help"]).stdout;
    assert!(
        silence.contains("The check (its `name` in [[check]])"),
        "{silence}"
    );
    assert!(!silence.contains("(reset)"), "{silence}");
    let reset = env.run(&["reset", "--help"]).stdout;
    assert!(
        reset.contains("The service (its `name` in [[service]])"),
        "{reset}"
    );
    let help = env.run(&["--help"]).stdout;
    assert!(
        help.contains("Mute alerts and restarts for a check (or all) for a while"),
        "{help}"
    );
    assert!(help.contains("no alerts, no state writes"), "{help}");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains("mute alerts and restarts for a check"),
        "the README says what --help says"
    );
    let init = env.run(&["init", "--help"]).stdout;
    for meaningless in ["--config", "--format", "--verbose"] {
        assert!(
            !init.contains(meaningless),
            "init offers {meaningless}:\n{init}"
        );
    }
}

/// The config errors `validate` prints, one per line.
fn errors(env: &Env, toml: &str) -> Vec<String> {
    env.write("x.toml", toml);
    let run = env.run(&["validate", "-c", "x.toml"]);
    assert_eq!(run.code, 3, "valid?\n{}", run.stdout);
    run.stderr
        .lines()
        .filter(|l| l.starts_with("x.toml:") && !l.ends_with(" error") && !l.ends_with(" errors"))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_bad_regex_in_a_service_also_reported_its_name_and_its_manager() {
    let env = Env::new();
    let shown = errors(
        &env,
        "[[service]]\nname = \"bot\"\nprocess = { match = \"python(\", start = [\"true\"] }\n\
         [[check]]\nname = \"m\"\ntype = \"memory\"\nrestart = \"bot\"\n",
    );
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(shown[0].contains("invalid regex"), "{shown:#?}");
}

#[test]
fn an_unset_variable_also_reported_the_url_it_left_behind() {
    let env = Env::new();
    let shown = errors(
        &env,
        "[[check]]\nname = \"m\"\ntype = \"memory\"\n\
         [[alert]]\ntype = \"discord\"\nurl = \"${HC_TEST_UNSET_WEBHOOK}\"\n",
    );
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(shown[0].contains("HC_TEST_UNSET_WEBHOOK"), "{shown:#?}");
}

#[test]
fn a_bad_timezone_also_reported_its_schedule_missing() {
    let env = Env::new();
    let shown = errors(
        &env,
        "[schedule.us-market]\ndays = [\"mon\", \"fri\"]\nhours = \"09:30-16:00\"\ntimezone = \"America/Nowhere\"\n\
         [[check]]\nname = \"m\"\ntype = \"memory\"\nwhen = \"us-market\"\n",
    );
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(shown[0].contains("timezone"), "{shown:#?}");
}

#[test]
fn the_state_commands_refused_to_start_without_the_alert_secrets() {
    let env = Env::new();
    env.config(
        "[[service]]\nname = \"bot\"\ncommand = { restart = [\"true\"] }\n\
         [[check]]\nname = \"m\"\ntype = \"memory\"\n\
         [[alert]]\ntype = \"discord\"\nurl = \"${HC_TEST_UNSET_WEBHOOK}\"\n",
    );
    for args in [
        &["history"][..],
        &["silence", "m", "--for", "1h"],
        &["unsilence", "m"],
        &["reset", "bot"],
    ] {
        let run = env.run(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    }
    let run = env.run(&["--no-restart"]);
    assert_eq!(run.code, 3, "a run needs its secrets: {}", run.stderr);
    assert!(
        run.stderr.contains("HC_TEST_UNSET_WEBHOOK"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_config_error_printed_nothing_on_stdout_for_nagios_and_json() {
    let env = Env::new();
    env.write(
        "x.toml",
        "[[check]]\nname = \"m\"\ntype = \"memory\"\ncrit_abve = 90\n[[check]]\nname = \"n\"\ntype = \"nope\"\n",
    );
    let nagios = env.run(&["-c", "x.toml", "--format", "nagios"]);
    assert_eq!(nagios.code, 3);
    let mut lines = nagios.stdout.lines();
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with("HEALTHCHECK UNKNOWN - config invalid: x.toml:4:1:")
            && first.contains("crit_abve"),
        "{}",
        nagios.stdout
    );
    assert!(
        lines.next().is_some_and(|l| l.contains("nope")),
        "{}",
        nagios.stdout
    );
    let json = env.run(&["-c", "x.toml", "--format", "json"]);
    assert_eq!(json.code, 3);
    let doc = json.json();
    assert_eq!(doc["status"], "unknown");
    assert_eq!(doc["exit_code"], 3);
    assert_eq!(
        doc["config_errors"].as_array().map(Vec::len),
        Some(2),
        "{doc}"
    );
    let text = env.run(&["-c", "x.toml"]);
    assert_eq!(
        (text.code, text.stdout.as_str()),
        (3, ""),
        "text keeps stdout empty"
    );
}

#[test]
fn a_lower_bound_on_a_per_count_was_critical_on_its_first_run() {
    let env = Env::new();
    let log = env.write("trades.log", "");
    env.config(&format!(
        "[[service]]\nname = \"bot\"\ncommand = {{ restart = [\"touch\", \"{}\"] }}\n\
         [[check]]\nname = \"trades-per-hour\"\ntype = \"log\"\npath = \"{}\"\npattern = \"TRADE\"\nper = \"2s\"\ncrit_below = 1\nrestart = \"bot\"\n",
        env.path("restarted").display(),
        log.display()
    ));
    let first = env.run(&[]);
    assert_eq!(first.code, 0, "{}", first.stdout);
    assert!(
        first
            .line("trades-per-hour")
            .contains("warming up: 0 of 2 seconds seen"),
        "{}",
        first.stdout
    );
    assert!(!env.path("restarted").exists(), "restarted at install time");
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let judged = env.run(&["--no-restart"]);
    assert_eq!(
        judged.code, 2,
        "a whole window without a trade: {}",
        judged.stdout
    );
    assert!(
        !judged.line("trades-per-hour").contains("warming up"),
        "{}",
        judged.stdout
    );
}

#[test]
fn a_ratio_of_15_lines_alerted() {
    let env = Env::new();
    let log = env.write("bot.log", "");
    env.config(&format!(
        "[[check]]\nname = \"error-ratio\"\ntype = \"log\"\npath = \"{}\"\npattern = \"ERROR\"\nper = \"1h\"\ntotal = true\nreading = \"ratio\"\ncrit_above = 20\n",
        log.display()
    ));
    assert_eq!(env.run(&[]).code, 0);
    let lines: String = (0..15)
        .map(|i| if i % 4 == 0 { "ERROR x\n" } else { "ok\n" })
        .collect();
    std::fs::write(&log, &lines).unwrap();
    let few = env.run(&[]);
    assert_eq!(few.code, 0, "{}", few.stdout);
    assert!(
        few.line("error-ratio").contains("too few to judge"),
        "{}",
        few.stdout
    );
    let many: String = (0..100)
        .map(|i| if i % 4 == 0 { "ERROR x\n" } else { "ok\n" })
        .collect();
    std::fs::write(&log, format!("{lines}{many}")).unwrap();
    let enough = env.run(&[]);
    assert_eq!(enough.code, 2, "25% of 115 lines: {}", enough.stdout);
}

#[test]
fn a_bare_number_on_an_age_was_taken_for_seconds() {
    let env = Env::new();
    let shown = errors(
        &env,
        "[[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"/x\"\ncrit_above = 15\n",
    );
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(
        shown[0].contains("crit_above") && shown[0].contains("write a duration such as \"15m\""),
        "{shown:#?}"
    );
}

#[test]
fn the_inline_secret_warning_named_no_key_and_no_line() {
    let env = Env::new();
    let path = env.write(
        "x.toml",
        "[[check]]\nname = \"m\"\ntype = \"memory\"\n[[alert]]\ntype = \"discord\"\nurl = \"https://discord.example/api/webhooks/1/abc\"\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = env.run(&["-c", "x.toml", "--no-restart"]);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("inline"))
        .collect();
    assert_eq!(warnings.len(), 1, "once per run: {}", run.stderr);
    assert!(
        warnings[0].contains("x.toml:6:7: alert \"discord\" url"),
        "{}",
        warnings[0]
    );
    assert!(
        !warnings[0].contains("abc"),
        "the secret itself is not shown"
    );
}

#[test]
fn the_regex_errors_caret_lost_its_line_break() {
    let env = Env::new();
    env.write(
        "x.toml",
        "[[check]]\nname = \"l\"\ntype = \"log\"\npath = \"/x\"\npattern = \"python(\"\nlines = 5\n",
    );
    let run = env.run(&["validate", "-c", "x.toml"]);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let pattern = lines
        .iter()
        .position(|l| l.trim() == "python(")
        .expect(&run.stderr);
    let caret = lines[pattern + 1];
    assert_eq!(
        caret.find('^'),
        lines[pattern].find('('),
        "the caret points at the paren:\n{}",
        run.stderr
    );
}

#[test]
fn a_wrong_type_was_said_in_rust() {
    let env = Env::new();
    let shown = errors(
        &env,
        "[[check]]\nname = \"m\"\ntype = \"memory\"\nafter = \"2\"\n",
    );
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(
        shown[0].ends_with("after: expected a whole number, got the text \"2\""),
        "{shown:#?}"
    );
}

#[test]
fn validate_accepted_queries_that_write() {
    let env = Env::new();
    let db = env.path("bot.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE trades (at INTEGER); INSERT INTO trades VALUES (1);")
        .unwrap();
    drop(conn);
    let check = |driver: &str, query: &str| {
        let source = if driver == "sqlite" {
            format!("database = \"{}\"", db.display())
        } else {
            "url = \"postgres://u@127.0.0.1:9/db\"".to_string()
        };
        env.write(
            "x.toml",
            &format!("[[check]]\nname = \"q\"\ntype = \"sql\"\ndriver = \"{driver}\"\n{source}\nquery = \"{query}\"\nexpect = \"value\"\n"),
        );
        env.run(&["validate", "-c", "x.toml"])
    };
    for (driver, query) in [
        ("postgres", "UPDATE tokens SET used = 1"),
        ("postgres", "-- note\\n DELETE FROM tokens"),
        ("sqlite", "INSERT INTO trades VALUES (2)"),
        ("sqlite", "WITH old AS (SELECT 1) DELETE FROM trades"),
    ] {
        let run = check(driver, query);
        assert_eq!(run.code, 3, "{driver}: {query}: {}", run.stdout);
        assert!(run.stderr.contains("only reads"), "{}", run.stderr);
    }
    let reads = check("sqlite", "SELECT count(*) FROM trades");
    assert_eq!(reads.code, 0, "{}", reads.stderr);
    let trades: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM trades", [], |r| r.get(0))
        .unwrap();
    assert_eq!(trades, 1, "validate wrote nothing");
}

#[test]
fn a_silenced_critical_was_counted_as_an_unexplained_critical() {
    let env = Env::new();
    env.config(
        "[[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"/nonexistent/bot.log\"\n\
         [[check]]\nname = \"ok\"\ntype = \"command\"\ncommand = [\"true\"]\n",
    );
    let silence = env.run(&["silence", "bot-log", "--for", "2h"]);
    assert_eq!(silence.code, 0, "{}", silence.stderr);
    let until = silence
        .stdout
        .trim()
        .rsplit(' ')
        .nth(1)
        .unwrap()
        .to_string();
    let text = env.run(&[]);
    assert_eq!(
        text.code, 0,
        "a silenced problem counts as OK: {}",
        text.stdout
    );
    let summary = text.stdout.lines().last().unwrap();
    assert!(
        summary.contains(&format!("1 critical (silenced until {until} UTC)")),
        "{summary}"
    );
    assert!(
        text.line("bot-log").contains("(critical, silenced until"),
        "{}",
        text.stdout
    );
    let quiet = env.run(&["-q"]);
    assert!(
        quiet.stdout.contains("bot-log"),
        "-q hid it: {}",
        quiet.stdout
    );
    let nagios = env.run(&["--format", "nagios"]);
    assert!(
        nagios
            .stdout
            .starts_with("HEALTHCHECK OK - 1 critical (silenced until"),
        "{}",
        nagios.stdout
    );
    assert!(
        nagios
            .stdout
            .lines()
            .any(|l| l.starts_with("CRITICAL: bot-log:") && l.contains("(silenced until")),
        "{}",
        nagios.stdout
    );
}

#[test]
fn errors_named_checks_by_their_index() {
    let env = Env::new();
    let shown = errors(
        &env,
        "[[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"/x\"\n\
         [[check]]\nname = \"trades-per-hour\"\ntype = \"memory\"\ncrit_abve = 90\n",
    );
    assert_eq!(
        shown,
        ["x.toml:8:1: check \"trades-per-hour\": unknown key crit_abve, did you mean crit_above?"]
    );
}

#[test]
fn status_tells_the_last_run_from_the_state_alone() {
    let env = Env::new();
    env.config(
        "[settings]\nexpected_interval = \"1s\"\nstate_dir = \"state\"\n\
         [[service]]\nname = \"bot\"\ncommand = { restart = [\"true\"] }\n\
         [[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"/nonexistent/bot.log\"\nrestart = \"bot\"\n\
         [[check]]\nname = \"ok\"\ntype = \"command\"\ncommand = [\"true\"]\n\
         [[alert]]\ntype = \"discord\"\nurl = \"${HC_TEST_UNSET_WEBHOOK}\"\n",
    );
    let never = env.run(&["status"]);
    assert_eq!(never.code, 3, "nothing known yet: {}", never.stdout);
    assert!(never.stdout.contains("never"), "{}", never.stdout);
    let run = env
        .cmd()
        .env("HC_TEST_UNSET_WEBHOOK", "http://127.0.0.1:9/hook")
        .arg("--no-alert")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let status = env.run(&["status"]);
    assert_eq!(status.code, 2, "the worst last status: {}", status.stdout);
    assert!(
        status.stdout.contains("bot-log")
            && status
                .stdout
                .contains("file not found: /nonexistent/bot.log"),
        "{}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("service bot (command): 1 of 3 restarts"),
        "{}",
        status.stdout
    );
    let json = env.run(&["status", "--format", "json"]).json();
    assert_eq!(json["checks"][0]["name"], "bot-log");
    assert_eq!(json["checks"][0]["status"], "critical");
    assert_eq!(json["checks"][1]["status"], "ok");
    std::thread::sleep(std::time::Duration::from_millis(3200));
    let late = env.run(&["status", "--format", "json"]).json();
    assert_eq!(late["runs_missed"], true, "{late:#}");
}
