//! A newcomer's first hour (issue 13): flags where the README puts them,
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
