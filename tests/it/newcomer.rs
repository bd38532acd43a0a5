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
