//! The `run` command: the one pipeline of a healthcheck run.
//! config -> lock and load state -> run checks -> judge and decide (pure)
//! -> act (restarts recorded in state before they run, then re-check)
//! -> save state -> report -> exit code. Only this file sequences the side
//! effects; the rules live in `decide`.

use std::time::{Duration, Instant};

use crate::Log;
use crate::act;
use crate::cli::{Cli, Format, RunArgs};
use crate::config::{self, CheckSpec, Config};
use crate::decide::{self, Action, Decision, Judged, Mode, Note, Target, Verdict};
use crate::notify;
use crate::report::{self, ActionReport, CheckReport, Report, text};
use crate::runner;
use crate::state::{OpenError, State, Store};
use crate::status::Status;

/// How long past the deadline the backstop lets a stuck run live.
const BACKSTOP_GRACE: Duration = Duration::from_secs(10);

/// This run's view of one check: its spec and what was found.
struct Row<'c> {
    spec: &'c CheckSpec,
    judged: Judged,
    verdict: Verdict,
    silenced: bool,
    duration: Duration,
}

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
    // Outside its `when` schedule a check is skipped: not run, state untouched.
    let (selected, outside): (Vec<&CheckSpec>, Vec<&CheckSpec>) =
        selected.into_iter().partition(|c| {
            c.when
                .as_deref()
                .and_then(|w| config.schedule(w))
                .is_none_or(|s| s.contains(now))
        });

    let mut notes: Vec<Note> = Vec::new();
    // healthcheck's own trouble that must end the run with 3 (SPEC 8).
    let mut own_failure = false;
    // --dry-run and --no-restart are diagnoses: they read the state, never write it.
    let read_only = args.dry_run || args.no_restart;
    let store = if read_only {
        Some(Store::read_only(&settings.state_dir))
    } else {
        match Store::open(&settings.state_dir, deadline) {
            // Got the lock with less than half the deadline left: the checks
            // would time out and be announced UNKNOWN. Say so once, run none.
            Ok(_) if deadline.saturating_duration_since(Instant::now()) < settings.deadline / 2 => {
                eprintln!(
                    "healthcheck: got the lock only after {:.1}s (another run held it); too little of the {} deadline is left to run the checks, so this run runs none",
                    started.elapsed().as_secs_f64(),
                    config::show_duration(settings.deadline)
                );
                return 3;
            }
            Ok(s) => Some(s),
            Err(OpenError::Busy) => {
                eprintln!("healthcheck: {}", OpenError::Busy);
                return 3;
            }
            Err(e) => {
                notes.push(Note::new(
                    Status::Unknown,
                    format!("{e}; nothing is saved and nothing restarted this run"),
                ));
                own_failure = true;
                None
            }
        }
    };
    for w in &config.warnings {
        log.info(format!("warning: {w}"));
    }
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
            format!("state file has version {v}, newer than this healthcheck understands; it is left untouched, nothing is saved and nothing restarted"),
        ));
        own_failure = true;
    }
    // Restarts must be recorded before they run: without a writable state, none run.
    let can_record = !read_only && store.is_some() && loaded.newer_version.is_none();

    // The dead man's switch hears of scheduled runs only, not of diagnoses;
    // `/start` goes out beside the checks, never delaying them.
    let ping = config.ping.clone().filter(|_| !read_only);
    let ping_start = ping
        .clone()
        .map(|p| std::thread::spawn(move || p.start(deadline)));
    let reserve = (settings.deadline / 10).min(Duration::from_secs(5));
    let checks_deadline = deadline - reserve;
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
    let finished = runner::run(&selected, memories, now, checks_deadline);
    let judged: Vec<Judged> = selected
        .iter()
        .zip(&finished)
        .map(|(spec, f)| decide::judge(spec, f.outcome.clone()))
        .collect();
    // Alerts need the state to remember what was sent: the read-only
    // diagnoses (--dry-run, --no-restart) decide them but send nothing.
    let send_alerts = !args.no_alert && !read_only;
    let mode = Mode {
        all_ran: args.only.is_empty(),
        no_restart: args.no_restart,
        dry_run: args.dry_run,
        no_alert: !send_alerts,
    };
    let plan = decide::decide(&config, &selected, &judged, &loaded.state, now, mode);
    notes.extend(plan.notes.iter().cloned());
    let mut rows: Vec<Row> = selected
        .iter()
        .zip(judged)
        .zip(&finished)
        .enumerate()
        .map(|(i, ((spec, judged), f))| Row {
            spec,
            judged,
            verdict: plan.verdicts[i],
            silenced: plan.silenced[i],
            duration: f.duration,
        })
        .collect();
    let mut next_state = plan.next_state;

    let ctx = act::Ctx {
        settings,
        deadline: checks_deadline,
    };
    let mut actions = Vec::new();
    for action in &plan.actions {
        let mut report = act_on(
            &config,
            action,
            &ctx,
            store.as_ref().filter(|_| can_record),
            &mut next_state,
            now,
            &mut own_failure,
            &mut notes,
        );
        if report.outcome == "ok" {
            let verdicts = recheck(
                &action.triggers,
                &mut rows,
                &loaded.state,
                &mut next_state,
                now,
                checks_deadline,
            );
            report.detail = format!("{}; re-checked: {}", report.detail, verdicts.join(", "));
        }
        actions.push(report);
    }

    let mut events = plan.events.clone();
    events.extend(notify::action_events(&plan.actions, &actions, &plan.events));
    events.extend(
        notes
            .iter()
            .filter(|n| !n.status.is_ok())
            .map(|n| notify::Event {
                kind: notify::EventKind::Trouble,
                subject: "healthcheck".into(),
                status: n.status,
                message: n.message.clone(),
                hint: None,
            }),
    );
    let alerts = if send_alerts {
        let (reports, dropped) =
            notify::outbox::deliver(&config, &events, now, &mut next_state, deadline);
        notes.extend(dropped.into_iter().map(|m| Note::new(Status::Warning, m)));
        reports
    } else {
        let why = if args.no_alert {
            "--no-alert"
        } else {
            "a read-only diagnosis sends no alerts"
        };
        notify::outbox::not_sent(&config.alerts, &events, why)
    };

    if can_record
        && let Some(store) = &store
        && let Err(e) = store.save(&next_state)
    {
        notes.push(Note::new(
            Status::Unknown,
            format!("cannot save state in {}: {e}", store.dir().display()),
        ));
        own_failure = true;
    }

    // Silenced checks are reported with their real status but count as OK.
    let worst = Status::worst(
        rows.iter()
            .filter(|r| !r.silenced)
            .map(|r| r.judged.status)
            .chain(notes.iter().map(|n| n.status)),
    );
    let status = if own_failure { Status::Unknown } else { worst };
    let mut checks: Vec<CheckReport> =
        rows.iter()
            .map(|r| {
                let mut c = CheckReport::new(
                    &r.spec.name,
                    r.spec.kind,
                    r.spec.hint.as_deref(),
                    &r.judged,
                    r.verdict,
                    r.duration.as_secs_f64() * 1000.0,
                );
                c.silenced = r.silenced;
                c
            })
            .chain(outside.iter().map(|c| {
                CheckReport::skipped(&c.name, c.kind, c.when.as_deref().unwrap_or_default())
            }))
            .collect();
    checks.sort_by_key(|c| config.checks.iter().position(|s| s.name == c.name));
    let report = Report {
        schema: 1,
        host: settings.hostname.clone(),
        started_at: now,
        duration_ms: started.elapsed().as_millis() as u64,
        status,
        exit_code: status.exit_code(),
        checks,
        actions,
        alerts,
        events,
        notes,
    };
    if can_record && let Err(e) = report::save(&settings.state_dir, &report, settings.reports) {
        eprintln!(
            "healthcheck: cannot write report in {}: {e}",
            settings.state_dir.join("reports").display()
        );
    }
    if !read_only
        && let Some(path) = &settings.prometheus_file
        && let Err(e) = report::prometheus::write(path, &report, &next_state)
    {
        eprintln!("healthcheck: cannot write {}: {e}", path.display());
    }
    if let Some(p) = &ping {
        let started = ping_start.map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(notify::Failure::retry("the ping thread failed")))
        });
        let summary = text::render(
            &report,
            &text::Style {
                colour: false,
                quiet: true,
                verbose: false,
            },
        );
        let finished = p.finish(
            status.exit_code(),
            &config::secret::redact(&summary),
            deadline,
        );
        for failure in [started.and_then(Result::err), finished.err()]
            .into_iter()
            .flatten()
        {
            eprintln!(
                "healthcheck: the dead man's switch was not reached: {}",
                failure.message
            );
        }
    }
    print(cli.format, args, cli.verbose, &report);
    status.exit_code()
}

/// Carry out one decided action. A restart is written to state before it
/// runs, so a run killed mid-restart still counts it.
#[allow(clippy::too_many_arguments)]
fn act_on(
    config: &Config,
    action: &Action,
    ctx: &act::Ctx,
    store: Option<&Store>,
    next_state: &mut State,
    now: jiff::Timestamp,
    own_failure: &mut bool,
    notes: &mut Vec<Note>,
) -> ActionReport {
    let report = |outcome: &str, detail: String| ActionReport::new(&action.target, outcome, detail);
    match action.decision {
        Decision::DryRun => return report("dry-run", action.reason.clone()),
        Decision::Held => return report("held", action.reason.clone()),
        Decision::Suspended => return report("suspended", action.reason.clone()),
        Decision::Go => {}
    }
    let Some(store) = store else {
        return report(
            "held",
            format!(
                "{}; held: the state cannot be saved, so it could not be recorded",
                action.reason
            ),
        );
    };
    let service = match &action.target {
        Target::Restart(name) => config.service(name),
        Target::Recover(_) => None,
    };
    if let Some(guard) = service.and_then(|s| s.guard.as_ref())
        && let Err(why) = act::guard(guard, ctx)
    {
        return report("held", format!("{}; held: {why}", action.reason));
    }
    match &action.target {
        Target::Restart(name) => {
            let service = next_state.services.entry(name.clone()).or_default();
            service.restarts.push(now);
            service.total += 1;
        }
        Target::Recover(check) => {
            if let Some(c) = next_state.checks.get_mut(check) {
                c.runs.push(now);
            }
        }
    }
    if let Err(e) = store.save(next_state) {
        *own_failure = true;
        notes.push(Note::new(
            Status::Unknown,
            format!("cannot record the action in state: {e}"),
        ));
        return report(
            "held",
            format!("{}; held: it could not be recorded in state", action.reason),
        );
    }
    let result = match (&action.target, service) {
        (Target::Restart(_), Some(spec)) => act::restart(spec, ctx),
        (Target::Recover(check), _) => match config.check(check).and_then(|c| c.run.as_ref()) {
            Some(argv) => act::recover(argv, ctx),
            None => Err(format!("check {check} has no recovery command")),
        },
        (Target::Restart(name), None) => Err(format!("no service named {name}")),
    };
    match result {
        Ok(done) => report("ok", format!("{}: {done}", action.reason)),
        Err(why) => report("failed", format!("{}: {why}", action.reason)),
    }
}

/// Run the checks that triggered an action once more; says per check
/// whether the action helped ("bot-log OK, it helped").
fn recheck(
    triggers: &[String],
    rows: &mut [Row],
    before: &State,
    next_state: &mut State,
    now: jiff::Timestamp,
    deadline: Instant,
) -> Vec<String> {
    let mut verdicts = Vec::new();
    let indexes: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| triggers.contains(&r.spec.name))
        .map(|(i, _)| i)
        .collect();
    let specs: Vec<&CheckSpec> = indexes.iter().map(|i| rows[*i].spec).collect();
    let memories = indexes
        .iter()
        .map(|i| rows[*i].judged.memory.clone())
        .collect();
    let again = runner::run(&specs, memories, now, deadline);
    for (i, finished) in indexes.into_iter().zip(again) {
        let row = &mut rows[i];
        let mut judged = decide::judge(row.spec, finished.outcome);
        let helped = judged.status.is_ok();
        judged.message = format!("{} (re-checked after the action)", judged.message);
        verdicts.push(if helped {
            format!("{} OK, it helped", row.spec.name)
        } else {
            format!(
                "{} still {}, it did not help",
                row.spec.name,
                judged.status.word()
            )
        });
        let (mut state, verdict) =
            decide::update_check(row.spec, before.checks.get(&row.spec.name), &judged, now);
        if let Some(current) = next_state.checks.get(&row.spec.name) {
            // The first look of this run already counted in the history and
            // in what was announced; the re-check replaces its status only.
            state.runs = current.runs.clone();
            state.notified = current.notified;
            state.flapping = current.flapping;
            state.history = current.history.clone();
            if let Some(last) = state.history.last_mut() {
                *last = judged.status;
            }
        }
        next_state.checks.insert(row.spec.name.clone(), state);
        row.judged = judged;
        row.verdict = verdict;
    }
    verdicts
}

fn print(format: Format, args: &RunArgs, verbosity: u8, report: &Report) {
    let out = match format {
        Format::Json => report.to_json() + "\n",
        Format::Nagios => report::nagios::render(report),
        Format::Text => text::render(report, &text::Style::detect(args.quiet, verbosity > 0)),
    };
    crate::out::print(&config::secret::redact(&out));
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
            log.info("using the embedded default config");
            Ok(config::embedded())
        }
    }
}

/// The checks `--only` names, in config order; all when it names none.
fn select<'c>(config: &'c Config, only: &[String]) -> Result<Vec<&'c CheckSpec>, String> {
    if let Some(unknown) = only.iter().find(|n| config.check(n).is_none()) {
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
