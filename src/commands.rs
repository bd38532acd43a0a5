//! The small subcommands: `validate`, `init`, `completions`.

use std::io::Write;

use crate::cli::{Cli, InitArgs};
use crate::config;

/// Starter configs for `init --preset`.
const PRESETS: &[(&str, &str)] = &[
    ("default", include_str!("../presets/default.toml")),
    (
        "python-process",
        include_str!("../presets/python-process.toml"),
    ),
    ("systemd-bot", include_str!("../presets/systemd-bot.toml")),
    (
        "docker-collector",
        include_str!("../presets/docker-collector.toml"),
    ),
    ("sql-pipeline", include_str!("../presets/sql-pipeline.toml")),
];

pub fn preset(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Parse and validate; print every error. Exit 0 when valid, 3 when not.
pub fn validate(cli: &Cli) -> u8 {
    match config::discover(cli.config.as_deref()) {
        None => {
            let c = config::embedded();
            println!(
                "no config file found; the embedded default is valid ({} checks)",
                c.checks.len()
            );
            0
        }
        Some(path) => match config::load(&path) {
            Ok(c) => {
                println!("{}: valid ({} checks)", path.display(), c.checks.len());
                0
            }
            Err(errors) => {
                eprintln!("{errors}");
                eprintln!("{}: {} error(s)", path.display(), errors.0.len());
                3
            }
        },
    }
}

/// Write a starter config, never over an existing file without `--force`.
pub fn init(args: &InitArgs) -> u8 {
    let Some(text) = preset(&args.preset) else {
        let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
        eprintln!(
            "healthcheck: unknown preset `{}` (available: {})",
            args.preset,
            names.join(", ")
        );
        return 3;
    };
    let mut options = std::fs::File::options();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let written = options
        .open(&args.path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    match written {
        Ok(()) => {
            println!(
                "wrote {} (preset {}); check it with: healthcheck validate -c {}",
                args.path.display(),
                args.preset,
                args.path.display()
            );
            0
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "healthcheck: {} already exists; use --force to overwrite it",
                args.path.display()
            );
            3
        }
        Err(e) => {
            eprintln!("healthcheck: cannot write {}: {e}", args.path.display());
            3
        }
    }
}

pub fn completions(shell: clap_complete::Shell) -> u8 {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "healthcheck", &mut std::io::stdout());
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_a_valid_config() {
        for (name, text) in PRESETS {
            if let Err(e) = config::load_str(name, text) {
                panic!("preset {name} is invalid:\n{e}");
            }
        }
    }
}
