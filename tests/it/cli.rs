//! The command line contract: exit codes, the embedded default, init,
//! completions, colour.

use std::process::Stdio;

use crate::harness::Env;

#[test]
fn help_and_version_exit_0_usage_errors_exit_3() {
    let env = Env::new();
    assert_eq!(env.run(&["--help"]).code, 0);
    assert_eq!(env.run(&["--version"]).code, 0);
    let bad = env.run(&["--no-such-flag"]);
    assert_eq!(bad.code, 3, "{}", bad.stderr);
    assert!(bad.stderr.contains("--no-such-flag"));
    assert_eq!(env.run(&["--format", "xml"]).code, 3);
    assert_eq!(env.run(&["frobnicate"]).code, 3);
}

#[test]
fn global_options_work_after_the_subcommand() {
    let env = Env::new();
    env.write("other.toml", "[[check]]\nname = \"m\"\ntype = \"memory\"\n");
    let run = env.run(&["validate", "-c", "other.toml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("other.toml: valid (1 check)"),
        "{}",
        run.stdout
    );
}

#[test]
fn without_a_config_the_embedded_default_runs_and_says_how_to_make_one() {
    let env = Env::new();
    let run = env
        .cmd()
        .env("STATE_DIRECTORY", env.path("systemd-state"))
        .arg("--format")
        .arg("json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("no config found") && stderr.contains("healthcheck init"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let names = crate::harness::check_names(&json);
    assert_eq!(names, ["disk", "memory", "load"]);
    assert!(
        env.path("systemd-state/state.json").exists(),
        "state goes to $STATE_DIRECTORY"
    );
}

#[test]
fn the_config_is_found_through_the_environment_and_the_xdg_dir() {
    let env = Env::new();
    env.write(
        "xdg-config/healthcheck/healthcheck.toml",
        "[[check]]\nname = \"from-xdg\"\ntype = \"memory\"\n",
    );
    env.write(
        "elsewhere.toml",
        "[[check]]\nname = \"from-env\"\ntype = \"memory\"\n",
    );
    let run = env.run(&["--dry-run"]);
    assert!(
        run.stdout.contains("from-xdg"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let out = env
        .cmd()
        .env("HEALTHCHECK_CONFIG", env.path("elsewhere.toml"))
        .arg("--dry-run")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("from-env"));
    let missing = env.run(&["-c", "nope.toml"]);
    assert_eq!(missing.code, 3);
    assert!(
        missing.stderr.contains("nope.toml: cannot read config"),
        "{}",
        missing.stderr
    );
}

#[test]
fn init_writes_a_valid_starter_and_never_overwrites_without_force() {
    let env = Env::new();
    let first = env.run(&["init"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(env.run(&["validate"]).code, 0);
    std::fs::write(env.path("healthcheck.toml"), "# mine\n").unwrap();
    let again = env.run(&["init"]);
    assert_eq!(again.code, 3);
    assert!(
        again.stderr.contains("already exists; use --force"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read_to_string(env.path("healthcheck.toml")).unwrap(),
        "# mine\n"
    );
    assert_eq!(
        env.run(&["init", "--force", "--preset", "python-process"])
            .code,
        0
    );
    assert!(
        std::fs::read_to_string(env.path("healthcheck.toml"))
            .unwrap()
            .contains("python.*main.py")
    );
    assert_eq!(env.run(&["init", "--preset", "nonsense", "x.toml"]).code, 3);
}

#[test]
fn completions_are_printed_for_each_shell() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = env.run(&["completions", shell]);
        assert_eq!(run.code, 0);
        assert!(run.stdout.contains("healthcheck"), "{shell}");
    }
}

#[test]
fn the_manual_page_comes_from_the_command_line_and_is_not_in_the_help() {
    let env = Env::new();
    let run = env.run(&["man"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(".TH healthcheck 1"), "{}", run.stdout);
    for part in ["validate", "status", "test\\-alert", "\\-\\-no\\-restart"] {
        assert!(run.stdout.contains(part), "{part}: {}", run.stdout);
    }
    let help = env.run(&["--help"]);
    assert!(
        !help
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("man ")),
        "{}",
        help.stdout
    );
}

#[test]
fn output_to_a_pipe_has_no_colour() {
    let env = Env::new();
    env.config("[[check]]\nname = \"m\"\ntype = \"memory\"\n");
    let run = env.run(&[]);
    assert!(!run.stdout.contains('\x1b'), "{:?}", run.stdout);
}

#[test]
fn an_internal_failure_exits_3_not_101() {
    // A full disk under stdout loses the report: UNKNOWN, said on stderr.
    let env = Env::new();
    env.config("[[check]]\nname = \"m\"\ntype = \"memory\"\n");
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = env.cmd().stdout(Stdio::from(full)).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cannot write to stdout"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn every_example_config_is_valid() {
    let dir = crate::harness::fixtures().join("../../examples");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        count += 1;
        let env = Env::new();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut cmd = env.cmd();
        cmd.args(["validate", "-c", path.to_str().unwrap()]);
        crate::harness::placeholder_env(&mut cmd, &text, &[]);
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}:\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(count >= 2, "no examples found in {}", dir.display());
}
