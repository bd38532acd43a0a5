//! The `run` command: the one pipeline of a healthcheck run.
//! config -> lock and load state -> run checks -> judge and decide (pure)
//! -> save state -> report -> exit code. Only this file sequences the side
//! effects; the rules live in `decide`.

use std::time::{Duration, Instant};

use crate::Log;
use crate::cli::{Cli, Format, RunArgs};
use crate::config::{self, CheckSpec, Config};
use crate::decide::{self, Judged, Note};
use crate::report::{self, CheckReport, Report, text};
use crate::runner;
use crate::state::{OpenError, Store};
use crate::status::Status;

/// How long past the deadline the backstop lets a stuck run live.
const BACKSTOP_GRACE: Duration = Duration::from_secs(10);

pub fn run(cli: &Cli, args: &RunArgs, log: &Log) -> u8 {
    let started = Instant::now();
    let now = jiff::Timestamp::now();
    let config = match load_config(cli, log) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let settings = &config.settings;
    let deadline = started + settings.deadline;
    start_backstop(settings.deadline + BACKSTOP_GRACE);

    let selected = match select(&config, &args.only) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("healthcheck: {message}");
            return 3;
        }
    };

    let mut notes: Vec<Note> = Vec::new();
    // healthcheck's own trouble that must end the run with 3 (SPEC 8).
    let mut own_failure = false;
    let store = if args.dry_run {
        Some(Store::read_only(&settings.state_dir))
    } else {
        match Store::open(&settings.state_dir, deadline) {
            Ok(s) => Some(s),
            Err(OpenError::Busy) => {
                eprintln!("healthcheck: {}", OpenError::Busy);
                return 3;
            }
            Err(e) => {
                notes.push(Note::new(
                    Status::Unknown,
                    format!("{e}; nothing is saved this run"),
                ));
                own_failure = true;
                None
            }
        }
    };
    log.info(format!(
        "config {}; state in {}",
        config.origin,
        settings.state_dir.display()
    ));
    let loaded = store.as_ref().map(|s| s.load(now)).unwrap_or_default();
    if let Some(message) = &loaded.quarantined {
        notes.push(Note::new(Status::Warning, message.clone()));
    }
    if let Some(v) = loaded.newer_version {
        notes.push(Note::new(
            Status::Unknown,
            format!("state file has version {v}, newer than this healthcheck understands; it is left untouched and nothing is saved"),
        ));
        own_failure = true;
    }

    let reserve = (settings.deadline / 10).min(Duration::from_secs(5));
    let memories = selected
        .iter()
        .map(|c| {
            loaded
                .state
                .checks
                .get(&c.name)
                .and_then(|s| s.memory.clone())
        })
        .collect();
    let finished = runner::run(&selected, memories, now, deadline - reserve);
    let judged: Vec<Judged> = selected
        .iter()
        .zip(&finished)
        .map(|(spec, f)| decide::judge(spec, f.outcome.clone()))
        .collect();
    let plan = decide::decide(
        settings,
        &selected,
        &judged,
        &loaded.state,
        now,
        args.only.is_empty(),
    );
    notes.extend(plan.notes.iter().cloned());

    if let Some(store) = store
        .as_ref()
        .filter(|_| !args.dry_run && loaded.newer_version.is_none())
        && let Err(e) = store.save(&plan.next_state)
    {
        notes.push(Note::new(
            Status::Unknown,
            format!("cannot save state in {}: {e}", store.dir().display()),
        ));
        own_failure = true;
    }

    let worst = Status::worst(
        judged
            .iter()
            .map(|j| j.status)
            .chain(notes.iter().map(|n| n.status)),
    );
    let status = if own_failure { Status::Unknown } else { worst };
    let checks = selected
        .iter()
        .zip(&judged)
        .zip(&finished)
        .zip(&plan.verdicts)
        .map(|(((spec, j), f), v)| {
            CheckReport::new(
                &spec.name,
                spec.kind,
                spec.hint.as_deref(),
                j,
                *v,
                f.duration.as_secs_f64() * 1000.0,
            )
        })
        .collect();
    let report = Report {
        schema: 1,
        host: settings.hostname.clone(),
        started_at: now,
        duration_ms: started.elapsed().as_millis() as u64,
        status,
        exit_code: status.exit_code(),
        checks,
        actions: Vec::new(),
        alerts: Vec::new(),
        notes,
    };
    if !args.dry_run
        && store.is_some()
        && let Err(e) = report::save(&settings.state_dir, &report, settings.reports)
    {
        eprintln!(
            "healthcheck: cannot write report in {}: {e}",
            settings.state_dir.join("reports").display()
        );
    }
    print(cli.format, args, cli.verbose, &report);
    status.exit_code()
}

fn print(format: Format, args: &RunArgs, verbosity: u8, report: &Report) {
    let out = match format {
        Format::Json => report.to_json() + "\n",
        Format::Nagios => report::nagios::render(report),
        Format::Text => text::render(report, &text::Style::detect(args.quiet, verbosity > 0)),
    };
    print!("{}", config::secret::redact(&out));
}

/// The config file, or the embedded default when none is found. On an
/// invalid config, every error goes to stderr and the run ends with 3.
fn load_config(cli: &Cli, log: &Log) -> Result<Config, u8> {
    match config::discover(cli.config.as_deref()) {
        Some(path) => config::load(&path).map_err(|errors| {
            eprintln!("{errors}");
            eprintln!(
                "healthcheck: {} has {} error(s); nothing was run",
                path.display(),
                errors.0.len()
            );
            3
        }),
        None => {
            eprintln!(
                "healthcheck: no config found (./healthcheck.toml, $XDG_CONFIG_HOME/healthcheck/, /etc/healthcheck/); \
                 running the embedded default (disk, memory, load). Create one with: healthcheck init"
            );
            let c = config::embedded();
            log.info("using the embedded default config");
            Ok(c)
        }
    }
}

/// The checks `--only` names, in config order; all when it names none.
fn select<'c>(config: &'c Config, only: &[String]) -> Result<Vec<&'c CheckSpec>, String> {
    if let Some(unknown) = only
        .iter()
        .find(|n| !config.checks.iter().any(|c| &c.name == *n))
    {
        let names: Vec<&str> = config.checks.iter().map(|c| c.name.as_str()).collect();
        return Err(format!(
            "--only {unknown}: no such check (checks: {})",
            names.join(", ")
        ));
    }
    Ok(config
        .checks
        .iter()
        .filter(|c| only.is_empty() || only.contains(&c.name))
        .collect())
}

/// However stuck the run is (a hung write, a wedged lock), the process ends
/// `after` from now with UNKNOWN.
fn start_backstop(after: Duration) {
    let _ = std::thread::Builder::new()
        .name("backstop".into())
        .spawn(move || {
            std::thread::sleep(after);
            eprintln!(
                "healthcheck: still running {}s past the deadline; giving up",
                BACKSTOP_GRACE.as_secs()
            );
            // SAFETY: _exit ends the process at once; no Rust state is touched after it.
            unsafe { libc::_exit(3) }
        });
}
