//! The small subcommands: `validate`, `init`, `completions`.

use std::io::Write;

use crate::cli::{Cli, InitArgs};
use crate::config::Needs;
use crate::model::{Exit, count};
use crate::options::{Loaded, Options};
use crate::out;

/// The `default` preset: on Windows without the load average it has not.
#[cfg(not(windows))]
const DEFAULT_PRESET: &str = include_str!("../presets/default.toml");
#[cfg(windows)]
const DEFAULT_PRESET: &str = include_str!("../presets/default-windows.toml");

/// Starter configs for `init --preset`.
const PRESETS: &[(&str, &str)] = &[
    ("default", DEFAULT_PRESET),
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
    (
        "windows-python-bot",
        include_str!("../presets/windows-python-bot.toml"),
    ),
];

pub fn preset(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Parse and validate; print every error. Exit 0 when valid, 3 when not.
pub fn validate(opts: &Options) -> Exit {
    match opts.load_config(Needs::All) {
        Ok(Loaded { config, path: None }) => {
            out::line(&format!(
                "no config file found; the embedded default is valid ({})",
                count(config.checks.len(), "check", "checks")
            ));
            Exit::OK
        }
        Ok(Loaded {
            config,
            path: Some(path),
        }) => {
            let deeper: Vec<String> = config
                .checks
                .iter()
                .filter_map(|c| {
                    c.probe
                        .validate()
                        .map(|why| format!("check \"{}\": {why}", c.name))
                })
                .collect();
            if !deeper.is_empty() {
                for line in &deeper {
                    eprintln!("{}: {line}", path.display());
                }
                eprintln!(
                    "{}: {}",
                    path.display(),
                    count(deeper.len(), "error", "errors")
                );
                return Exit::UNKNOWN;
            }
            for w in &config.warnings {
                out::line(&format!("warning: {w}"));
            }
            out::line(&format!(
                "{}: valid ({})",
                path.display(),
                count(config.checks.len(), "check", "checks")
            ));
            Exit::OK
        }
        Err(invalid) => invalid.print(Some(format!(
            "{}: {}",
            invalid.path.display(),
            count(invalid.errors.count(), "error", "errors")
        ))),
    }
}

/// Write a starter config, never over an existing file without `--force`.
pub fn init(args: &InitArgs) -> Exit {
    let Some(text) = preset(&args.preset) else {
        let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
        eprintln!(
            "healthcheck: unknown preset `{}` (available: {})",
            args.preset,
            names.join(", ")
        );
        return Exit::UNKNOWN;
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
            out::line(&format!(
                "wrote {} (preset {}); check it with: healthcheck validate -c {}",
                args.path.display(),
                args.preset,
                args.path.display()
            ));
            Exit::OK
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "healthcheck: {} already exists; use --force to overwrite it",
                args.path.display()
            );
            Exit::UNKNOWN
        }
        Err(e) => {
            eprintln!("healthcheck: cannot write {}: {e}", args.path.display());
            Exit::UNKNOWN
        }
    }
}

/// Send a test digest through each channel (or the one named) and say,
/// per channel, whether it was delivered or why not. Exit 0 when all were.
pub fn test_alert(opts: &Options, only: Option<&str>) -> Exit {
    let config = match opts.load_config(Needs::All) {
        Ok(loaded) => loaded.config,
        Err(invalid) => return invalid.print(None),
    };
    let chosen: Vec<_> = config
        .alerts
        .iter()
        .filter(|a| only.is_none_or(|n| a.name == n))
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = config.alerts.iter().map(|a| a.name.as_str()).collect();
        match only {
            Some(n) => eprintln!(
                "healthcheck: no [[alert]] named `{n}` (alerts: {})",
                names.join(", ")
            ),
            None => eprintln!("healthcheck: {} has no [[alert]] channels", config.origin),
        }
        return Exit::UNKNOWN;
    }
    let digest = crate::model::Digest {
        host: config.settings.hostname.clone(),
        at: jiff::Timestamp::now(),
        events: vec![crate::model::Event {
            kind: crate::model::EventKind::Test,
            subject: "healthcheck".into(),
            status: crate::model::Status::Ok,
            message: "This is a test message from `healthcheck test-alert`.".into(),
            hint: None,
        }],
        held_back: Vec::new(),
        still_failing: Vec::new(),
        suppressed: 0,
        on_behalf_of: None,
        details: config.page.as_ref().and_then(|p| p.url.clone()),
    };
    let deadline = std::time::Instant::now() + config.settings.deadline;
    let mut failed = 0;
    for alert in chosen {
        match alert.channel.deliver(
            &digest,
            crate::http::Budget::within(alert.timeout, deadline),
        ) {
            Ok(()) => out::line(&format!("{} ({}): delivered", alert.name, alert.kind)),
            Err(f) => {
                failed += 1;
                out::line(&format!(
                    "{} ({}): NOT delivered: {}",
                    alert.name,
                    alert.kind,
                    crate::secret::redact(&f.message)
                ));
            }
        }
    }
    if failed == 0 {
        Exit::OK
    } else {
        Exit::CRITICAL
    }
}

pub fn completions(shell: clap_complete::Shell) -> Exit {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    // Generated into memory: clap_complete panics when its writer fails.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "healthcheck", &mut script);
    out::bytes(&script);
    Exit::OK
}

/// `healthcheck man`: the manual page healthcheck(1) in roff, from the same
/// clap definition as `--help`, so the two never disagree.
pub fn man() -> Exit {
    use clap::CommandFactory;
    let mut page = Vec::new();
    match clap_mangen::Man::new(Cli::command()).render(&mut page) {
        Ok(()) => {
            out::bytes(&page);
            Exit::OK
        }
        Err(e) => {
            eprintln!("error: the manual page: {e}");
            Exit::UNKNOWN
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_a_valid_config() {
        for (name, text) in PRESETS {
            if let Err(e) = crate::config::load_str(name, text) {
                panic!("preset {name} is invalid:\n{e}");
            }
        }
    }
}
