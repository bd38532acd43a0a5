//! The `run` command: the one pipeline of a healthcheck run.
//! config -> lock and load state -> run checks -> judge and decide (pure)
//! -> act (restarts recorded in state before they run, then re-check)
//! -> save state -> report -> exit code. Only this file sequences the side
//! effects; the rules live in `decide`.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::Log;
use crate::act;
use crate::cli::{Cli, Format, RunArgs};
use crate::config::{self, CheckSpec, Config};
use crate::decide::{self, Action, Decision, Judged, Mode, Note, Target, Verdict};
use crate::notify;
use crate::report::{self, ActionOutcome, ActionReport, CheckReport, Report, text};
use crate::runner;
use crate::state::{OpenError, State, Store};
use crate::status::Status;

/// How long past the deadline the backstop lets a stuck run live.
const BACKSTOP_GRACE: Duration = Duration::from_secs(10);
/// How long reading the config may take before its deadline is known: the
/// default deadline and the grace.
const LOAD_BACKSTOP: Duration = Duration::from_secs(60);

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
    // Reading the config (or a *_file) can hang on a stalled mount: the
    // backstop runs before the config's deadline is known.
    let backstop = Backstop::start(
        LOAD_BACKSTOP,
        format!(
            "the config was not read within {}s",
            LOAD_BACKSTOP.as_secs()
        ),
    );
    let config = match load_config(cli, log) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let settings = &config.settings;
    let deadline = started + settings.deadline;
    backstop.set(
        settings.deadline.saturating_add(BACKSTOP_GRACE),
        format!(
            "still running {}s past the deadline",
            BACKSTOP_GRACE.as_secs()
        ),
    );

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
    let ping_start = ping.clone().map(|p| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(p.start(deadline));
        });
        rx
    });
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

    // Outbox first: this run's news is queued in the same save that
    // records it as announced, before any restart runs or any channel is
    // tried, so a run killed at any moment leaves it undecided or queued.
    let mut events = plan.events.clone();
    events.extend(trouble(&notes));
    let told_notes = notes.len();
    let mut queued = std::collections::BTreeMap::new();
    let rules = notify::deliver::rules(&config, now);
    // Without a state that is saved, what was told cannot be remembered.
    let mut unsaved: Option<String> = (!read_only && !can_record).then(|| {
        notes
            .iter()
            .find(|n| n.status == Status::Unknown)
            .map_or("the state is not saved".to_string(), |n| n.message.clone())
    });
    if send_alerts && can_record {
        add_queued(
            &mut queued,
            notify::plan::enqueue(&mut next_state, &rules, &events, now),
        );
    }
    if can_record
        && let Some(store) = &store
        && let Err(e) = store.save(&next_state)
    {
        let message = format!("cannot save state in {}: {e}", store.dir().display());
        notes.push(Note::new(Status::Unknown, message.clone()));
        own_failure = true;
        unsaved = Some(message);
    }
    let can_record = can_record && unsaved.is_none();

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
        if report.outcome == ActionOutcome::Ok {
            let (verdicts, helped) = recheck(
                &action.triggers,
                &mut rows,
                &loaded.state,
                &mut next_state,
                now,
                checks_deadline,
            );
            report.detail = format!("{}; re-checked: {}", report.detail, verdicts.join(", "));
            report.helped = Some(helped);
        }
        actions.push(report);
    }

    let news = events.len();
    events.extend(notify::action_events(&plan.actions, &actions, &plan.events));
    events.extend(trouble(&notes[told_notes..]));
    // Each channel's share of the deadline ends before the final ping's.
    let ping_share = config
        .ping
        .as_ref()
        .filter(|_| !read_only)
        .map_or(Duration::ZERO, |p| p.timeout.min(settings.deadline / 10));
    let alerts_deadline = deadline.checked_sub(ping_share).unwrap_or(deadline);
    let alerts = if !send_alerts {
        let why = if args.no_alert {
            "--no-alert"
        } else if args.dry_run {
            "--dry-run"
        } else {
            "--no-restart is a diagnosis"
        };
        notify::plan::not_sent(&config.alerts, &events, why)
    } else if let Some(why) = &unsaved {
        notify::deliver::unsaved(&config, &events, why, now, alerts_deadline)
    } else {
        add_queued(
            &mut queued,
            notify::plan::enqueue(&mut next_state, &rules, &events[news..], now),
        );
        let (reports, dropped) =
            notify::deliver::outbox(&config, &queued, &mut next_state, now, alerts_deadline);
        notes.extend(dropped.into_iter().map(|m| Note::new(Status::Warning, m)));
        notify::deliver::forget_unsaved(&config);
        reports
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
    if send_alerts {
        for failure in notify::alertmanager::refresh(&config, &report, alerts_deadline) {
            eprintln!("healthcheck: cannot re-post the firing alerts: {failure}");
        }
    }
    // An `--only` run would drop the other checks' series: full runs write it.
    if !read_only
        && args.only.is_empty()
        && let Some(path) = &settings.prometheus_file
        && let Err(e) =
            report::prometheus::write(path, &report, &next_state, settings.expected_interval)
    {
        eprintln!("healthcheck: cannot write {}: {e}", path.display());
    }
    if let Some(p) = &ping {
        // The start ping had the checks' time; it is not waited for past
        // its own timeout, so the final ping keeps its share.
        let started = ping_start.map(|rx| {
            let left = (started + p.timeout).saturating_duration_since(Instant::now());
            rx.recv_timeout(left).unwrap_or_else(|_| {
                Err(notify::Failure::retry(
                    "the start ping got no answer within its timeout",
                ))
            })
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
    let report =
        |outcome: ActionOutcome, detail: String| ActionReport::new(&action.target, outcome, detail);
    match action.decision {
        Decision::DryRun => return report(ActionOutcome::DryRun, action.reason.clone()),
        Decision::Held => return report(ActionOutcome::Held, action.reason.clone()),
        Decision::Suspended => return report(ActionOutcome::Suspended, action.reason.clone()),
        Decision::Go => {}
    }
    let Some(store) = store else {
        return report(
            ActionOutcome::Held,
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
        return report(
            ActionOutcome::Held,
            format!("{}; held: {why}", action.reason),
        );
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
            ActionOutcome::Held,
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
        Ok(done) => report(ActionOutcome::Ok, format!("{}: {done}", action.reason)),
        Err(why) => report(ActionOutcome::Failed, format!("{}: {why}", action.reason)),
    }
}

/// Run the checks that triggered an action once more; says per check
/// whether the action helped ("bot-log OK, it helped"), and whether it
/// helped them all.
fn recheck(
    triggers: &[String],
    rows: &mut [Row],
    before: &State,
    next_state: &mut State,
    now: jiff::Timestamp,
    deadline: Instant,
) -> (Vec<String>, bool) {
    let mut verdicts = Vec::new();
    let mut all_helped = true;
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
        all_helped &= helped;
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
    (verdicts, all_helped)
}

/// healthcheck's own trouble, as events for the alert channels.
fn trouble(notes: &[Note]) -> Vec<notify::Event> {
    notes
        .iter()
        .filter(|n| !n.status.is_ok())
        .map(|n| notify::Event {
            kind: notify::EventKind::Trouble,
            subject: "healthcheck".into(),
            status: n.status,
            message: n.message.clone(),
            hint: None,
        })
        .collect()
}

/// Add what a second `enqueue` queued to the first one's counts.
fn add_queued(
    into: &mut std::collections::BTreeMap<String, notify::plan::Queued>,
    more: std::collections::BTreeMap<String, notify::plan::Queued>,
) {
    for (channel, q) in more {
        let entry = into.entry(channel).or_default();
        entry.events += q.events;
        entry.suppressed |= q.suppressed;
    }
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

/// However stuck the run is (a config on a stalled mount, a hung write, a
/// wedged lock), the process ends with UNKNOWN when the backstop's time
/// comes; `set` moves that time.
struct Backstop(Arc<(Mutex<Due>, Condvar)>);

/// When the backstop ends the process (never: `None`), and what it says then.
type Due = (Option<Instant>, String);

impl Backstop {
    fn start(after: Duration, why: String) -> Backstop {
        let backstop = Backstop(Arc::new((
            Mutex::new((None, String::new())),
            Condvar::new(),
        )));
        backstop.set(after, why);
        let shared = backstop.0.clone();
        let _ = std::thread::Builder::new()
            .name("backstop".into())
            .spawn(move || {
                let (slot, moved) = &*shared;
                let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let Some(due) = guard.0 else { return };
                    let left = due.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        eprintln!("healthcheck: {}; giving up", guard.1);
                        // SAFETY: _exit ends the process at once; no Rust state is touched after it.
                        unsafe { libc::_exit(3) }
                    }
                    guard = moved
                        .wait_timeout(guard, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            });
        backstop
    }

    /// End the process `after` from now (never, if that is past the clock's range).
    fn set(&self, after: Duration, why: String) {
        let (slot, moved) = &*self.0;
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = (Instant::now().checked_add(after), why);
        moved.notify_all();
    }
}
