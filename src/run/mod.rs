//! The `run` command: the one pipeline of a healthcheck run, each stage a
//! function of what the one before made:
//! config -> lock and load state -> checks -> judge and decide (pure) ->
//! outbox -> act (recorded before it runs, then re-checked) -> deliver ->
//! save state -> report and its files -> exit code. Only this module
//! sequences side effects; the rules live in `decide` and `notify::plan`.

mod act;
mod backstop;
mod daily;
mod finish;
mod keep;
mod ledger;
mod tell;

use std::time::{Duration, Instant};

use crate::config::Needs;

use crate::decide::{self, Judged, Plan, Verdict};
use crate::model::Exit;
use crate::options::{Options, RunOptions};
use crate::runner::{self, Finished};
use crate::spec::{CheckSpec, Config};
use crate::state::State;
use backstop::Backstop;
use ledger::Ledger;

/// How long past the deadline the backstop lets a stuck run live.
const BACKSTOP_GRACE: Duration = Duration::from_secs(10);
/// How long reading the config may take before its deadline is known: the
/// default deadline and the grace.
const LOAD_BACKSTOP: Duration = Duration::from_secs(60);

/// This run's view of one check: its spec and what was found.
pub struct Row<'c> {
    spec: &'c CheckSpec,
    judged: Judged,
    verdict: Verdict,
    /// Muted by `healthcheck silence` until then.
    silenced: Option<jiff::Timestamp>,
    duration: Duration,
    /// `--dry-run`: the next step of its `escalate` ladder.
    next_step: Option<crate::model::NextStep>,
}

/// The run's times: its start (monotonic and wall clock), when it must
/// end, and when its checks must (a tenth of the deadline, at most 5s,
/// is kept for actions, alerts and the report).
pub struct Clock {
    started: Instant,
    now: jiff::Timestamp,
    deadline: Instant,
    checks: Instant,
}

impl Clock {
    fn new(started: Instant, now: jiff::Timestamp, deadline: Duration) -> Clock {
        let reserve = (deadline / 10).min(Duration::from_secs(5));
        Clock {
            started,
            now,
            deadline: started + deadline,
            checks: started + deadline - reserve,
        }
    }
}

pub fn run(opts: &Options, args: &RunOptions) -> Exit {
    let (started, now) = (Instant::now(), jiff::Timestamp::now());
    let Some((config, _backstop)) = begin(opts) else {
        return Exit::UNKNOWN;
    };
    let clock = Clock::new(started, now, config.settings.deadline);
    let (selected, outside) = match select(&config, &args.only, now) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("healthcheck: {message}");
            return Exit::UNKNOWN;
        }
    };
    let (mut ledger, before) = match Ledger::open(&config, args, &clock, &opts.log) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let switch = finish::Switch::start(&config, args, clock.deadline);
    let (mut rows, mut plan) = look(&config, &selected, &before, &clock, args);
    ledger.notes.extend(plan.notes.iter().cloned());
    let mut next = std::mem::take(&mut plan.next_state);

    let mut telling = tell::Telling::news(&config, args, &plan.events, &ledger, &mut next, now);
    ledger.save_outbox(&next);
    let actions = act::Acting::new(&config, &clock, &mut ledger, &before).all(
        &plan.actions,
        &mut rows,
        &mut next,
    );
    let alerts_deadline = (clock.deadline)
        .checked_sub(switch.share(config.settings.deadline))
        .unwrap_or(clock.deadline);
    let alerts = telling.deliver(
        &plan.actions,
        &actions,
        &mut ledger,
        &mut next,
        alerts_deadline,
    );
    ledger.save_or_fail(&next);

    let records = ledger.records();
    let done = finish::Done {
        rows: &rows,
        outside: &outside,
        actions,
        alerts,
        events: telling.events,
    };
    let report = finish::report(&config, done, ledger, &clock);
    finish::write_files(&config, args, records, &report, &next);
    keep::history_and_page(&config, args, records, &before, &next, &report);
    finish::refresh_alerts(&config, args, &report, alerts_deadline);
    switch.finish(&report, started, clock.deadline);
    finish::print(opts, args, &report);
    Exit::of(report.status)
}

/// The config, read under a backstop: reading it (or a `*_file`) can hang
/// on a stalled mount before its deadline is known. Once it is, the
/// backstop moves to the deadline and its grace.
fn begin(opts: &Options) -> Option<(Config, Backstop)> {
    let backstop = Backstop::start(
        LOAD_BACKSTOP,
        format!(
            "the config was not read within {}s",
            LOAD_BACKSTOP.as_secs()
        ),
    );
    let config = load_config(opts).ok()?;
    backstop.set(
        config.settings.deadline.saturating_add(BACKSTOP_GRACE),
        format!(
            "still running {}s past the deadline",
            BACKSTOP_GRACE.as_secs()
        ),
    );
    Some((config, backstop))
}

/// Run the checks, judge them and decide (pure) what to do.
fn look<'c>(
    config: &Config,
    selected: &[&'c CheckSpec],
    before: &State,
    clock: &Clock,
    args: &RunOptions,
) -> (Vec<Row<'c>>, Plan) {
    let finished = runner::run(
        selected,
        memories(selected, before),
        clock.now,
        clock.checks,
    );
    let judged: Vec<Judged> = selected
        .iter()
        .zip(&finished)
        .map(|(spec, f)| decide::judge(spec, f.outcome.clone()))
        .collect();
    let plan = decide::decide(config, selected, &judged, before, clock.now, args.mode);
    (rows(selected, judged, &finished, &plan), plan)
}

/// The config file, or the embedded default when none is found. On an
/// invalid config, every error goes to stderr and the run ends with 3.
fn load_config(opts: &Options) -> Result<Config, Exit> {
    match opts.load_config(Needs::All) {
        Ok(loaded) => {
            if loaded.path.is_none() {
                eprintln!("{}", crate::config::no_config_found(&loaded.config));
                opts.log.info("using the embedded default config");
            }
            Ok(loaded.config)
        }
        Err(invalid) => {
            // A plugin's caller reads stdout: say it there too.
            crate::out::print(&finish::config_invalid(opts.format, &invalid));
            Err(invalid.print(Some(format!(
                "healthcheck: {} has {}; nothing was run",
                invalid.path.display(),
                crate::model::count(invalid.errors.count(), "error", "errors")
            ))))
        }
    }
}

/// The checks `--only` names (all when it names none), in config order,
/// split into those to run and those outside their `when` schedule (not
/// run, state untouched).
fn select<'c>(
    config: &'c Config,
    only: &[String],
    now: jiff::Timestamp,
) -> Result<Selected<'c>, String> {
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
        .partition(|c| {
            c.when
                .as_deref()
                .and_then(|w| config.schedule(w))
                .is_none_or(|s| s.contains(now))
        }))
}

/// The checks to run, and those outside their schedule.
type Selected<'c> = (Vec<&'c CheckSpec>, Vec<&'c CheckSpec>);

/// What each check remembered from its previous run.
fn memories(selected: &[&CheckSpec], state: &State) -> Vec<Option<serde_json::Value>> {
    selected
        .iter()
        .map(|c| state.checks.get(&c.name).and_then(|s| s.memory.clone()))
        .collect()
}

fn rows<'c>(
    selected: &[&'c CheckSpec],
    judged: Vec<Judged>,
    finished: &[Finished],
    plan: &Plan,
) -> Vec<Row<'c>> {
    selected
        .iter()
        .zip(judged)
        .zip(finished)
        .enumerate()
        .map(|(i, ((spec, judged), f))| Row {
            spec,
            judged,
            verdict: plan.verdicts[i],
            silenced: plan.silenced[i],
            duration: f.duration,
            next_step: plan.next_steps[i].clone(),
        })
        .collect()
}
