//! The README's Install and Command line sections, run as written: the
//! commands a newcomer copies work, and every flag and preset the usage
//! block promises is one the program has, so the README cannot drift from
//! the program again.

use crate::harness::Env;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The lines of the first code block after `heading`.
fn block(heading: &str) -> Vec<String> {
    let text = readme();
    let after = text
        .split_once(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no {heading} in the README"))
        .1;
    let body = after.split_once("```").expect("a code block").1;
    let body = body.split_once('\n').expect("a fence line").1;
    let body = body.split_once("```").expect("the block ends").0;
    body.lines().map(str::to_string).collect()
}

#[test]
fn the_install_commands_run_as_written() {
    let env = Env::new();
    let commands: Vec<Vec<String>> = block("### From source")
        .iter()
        .map(|l| l.split('#').next().unwrap_or_default().trim().to_string())
        .filter(|l| l.starts_with("healthcheck"))
        .map(|l| l.split_whitespace().skip(1).map(str::to_string).collect())
        .collect();
    assert!(commands.len() >= 3, "{commands:?}");
    for args in commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = env.run(&args);
        // A diagnosis may find problems (1 or 2); it must not fail (3).
        assert!(
            (0..=2).contains(&run.code),
            "healthcheck {}: exit {}\n{}{}",
            args.join(" "),
            run.code,
            run.stdout,
            run.stderr
        );
        if args == ["init"] {
            assert!(env.path("healthcheck.toml").exists());
        }
        if args == ["validate"] {
            assert!(run.stdout.contains("valid"), "{}", run.stdout);
        }
    }
}

#[test]
fn every_flag_of_the_usage_block_is_in_the_commands_help() {
    let env = Env::new();
    let mut subcommand = String::from("run");
    let mut checked = 0;
    for line in block("## Command line") {
        let usage = line
            .trim_start()
            .split("  ")
            .next()
            .unwrap_or_default()
            .to_string();
        if let Some(rest) = line.strip_prefix("healthcheck ") {
            subcommand = rest
                .split_whitespace()
                .next()
                .filter(|w| !w.starts_with('['))
                .unwrap_or("run")
                .to_string();
        }
        let help = env.run(&[subcommand.as_str(), "--help"]);
        assert_eq!(
            help.code, 0,
            "healthcheck {subcommand} --help: {}",
            help.stderr
        );
        for flag in usage
            .split([' ', '[', ']', ',', '|'])
            .filter(|w| w.starts_with('-') && w.len() > 1)
        {
            assert!(
                help.stdout.contains(flag),
                "README: `{line}`; healthcheck {subcommand} --help has no {flag}:\n{}",
                help.stdout
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 12,
        "only {checked} flags found in the usage block"
    );
}

#[test]
fn the_presets_the_readme_names_are_the_presets_init_writes() {
    let env = Env::new();
    let line = block("## Command line")
        .into_iter()
        .find(|l| l.starts_with("healthcheck init"))
        .expect("an init line");
    let names = line
        .split_once("presets: ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .expect("a presets list")
        .0;
    for name in names.split(", ") {
        let path = format!("{name}.toml");
        let run = env.run(&["init", "--preset", name, &path]);
        assert_eq!(run.code, 0, "preset {name}: {}", run.stderr);
        let valid = env.run(&["validate", "-c", &path]);
        assert_eq!(valid.code, 0, "preset {name}: {}", valid.stderr);
    }
}
