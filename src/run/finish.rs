//! The last stages: the run's report from its rows, actions, alerts and
//! notes; the files it leaves (reports/, the Prometheus textfile); the
//! dead man's switch; stdout.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::ledger::Ledger;
use super::{Clock, Row};
use crate::cli::Format;
use crate::model::{ActionReport, Event, Exit, Status};
use crate::notify::{self, plan::AlertReport};
use crate::options::{Invalid, Options, RunOptions};
use crate::ping::Ping;
use crate::report::{self, CheckReport, Report, text};
use crate::secret::redact;
use crate::spec::{CheckSpec, Config};
use crate::state::State;

/// Everything a run did, for its report.
pub struct Done<'r, 'c> {
    pub rows: &'r [Row<'c>],
    /// The checks outside their `when` schedule.
    pub outside: &'r [&'c CheckSpec],
    pub actions: Vec<ActionReport>,
    pub alerts: Vec<AlertReport>,
    pub events: Vec<Event>,
}

/// The report: silenced checks keep their real status but count as OK;
/// healthcheck's own failure makes the run UNKNOWN.
pub fn report(config: &Config, done: Done, ledger: Ledger, clock: &Clock) -> Report {
    let worst = Status::worst(
        done.rows
            .iter()
            .filter(|r| r.silenced.is_none())
            .map(|r| r.judged.status)
            .chain(ledger.notes.iter().map(|n| n.status)),
    );
    let status = if ledger.own_failure {
        Status::Unknown
    } else {
        worst
    };
    let mut checks: Vec<CheckReport> =
        done.rows
            .iter()
            .map(|r| {
                let mut c = CheckReport::new(
                    &r.spec.name,
                    r.spec.kind,
                    r.spec.hint.as_deref(),
                    &r.judged,
                    r.verdict,
                    r.duration.as_secs_f64() * 1000.0,
                );
                c.silenced = r.silenced.is_some();
                c.silenced_until = r.silenced;
                c.next_step = r.next_step.clone();
                c
            })
            .chain(done.outside.iter().map(|c| {
                CheckReport::skipped(&c.name, c.kind, c.when.as_deref().unwrap_or_default())
            }))
            .collect();
    // In the config's order, each name's place looked up once, not per comparison.
    let order: HashMap<&str, usize> = config
        .checks
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    checks.sort_by_key(|c| order.get(c.name.as_str()).copied());
    Report {
        schema: 1,
        host: config.settings.hostname.clone(),
        started_at: clock.now,
        duration_ms: clock.started.elapsed().as_millis() as u64,
        status,
        exit_code: status.exit_code(),
        checks,
        actions: done.actions,
        alerts: done.alerts,
        events: done.events,
        notes: ledger.notes,
    }
}

/// The files a run leaves: its report in reports/ (when it records) and
/// the Prometheus textfile (unless it is a diagnosis).
pub fn write_files(
    config: &Config,
    opts: &RunOptions,
    records: bool,
    report: &Report,
    next: &State,
) {
    let settings = &config.settings;
    if records && let Err(e) = report::save(&settings.state_dir, report, settings.reports) {
        eprintln!(
            "healthcheck: cannot write report in {}: {e}",
            settings.state_dir.join("reports").display()
        );
    }
    // An `--only` run would drop the other checks' series: full runs write it.
    if !opts.read_only
        && opts.only.is_empty()
        && let Some(path) = &settings.prometheus_file
        && let Err(e) = report::prometheus::write(path, report, next, settings.expected_interval)
    {
        eprintln!("healthcheck: cannot write {}: {e}", path.display());
    }
}

/// Re-post the confirmed problems still firing to the Alertmanager
/// channels (they forget an alert at its `endsAt`), when alerts are sent.
pub fn refresh_alerts(config: &Config, opts: &RunOptions, report: &Report, deadline: Instant) {
    if opts.alerts_held.is_some() {
        return;
    }
    let events = report
        .checks
        .iter()
        .filter(|c| !c.status.is_ok() && c.confirmed && !c.silenced && !c.is_skipped())
        .map(|c| Event {
            kind: crate::model::EventKind::Reminder,
            subject: c.name.clone(),
            status: c.status,
            message: c.message.clone(),
            hint: c.hint.clone(),
        })
        .collect();
    let firing = crate::model::Digest {
        host: report.host.clone(),
        at: report.started_at,
        events,
        held_back: Vec::new(),
        still_failing: Vec::new(),
        suppressed: 0,
        on_behalf_of: None,
        details: None,
    };
    for failure in notify::alertmanager::refresh(config, &firing, deadline) {
        eprintln!("healthcheck: cannot re-post the firing alerts: {failure}");
    }
}

/// The dead man's switch of this run: scheduled runs only, not diagnoses.
/// `/start` goes out beside the checks, never delaying them.
pub struct Switch {
    ping: Option<Ping>,
    started: Option<mpsc::Receiver<Result<(), crate::http::Failure>>>,
}

impl Switch {
    pub fn start(config: &Config, opts: &RunOptions, deadline: Instant) -> Switch {
        let ping = config
            .ping
            .as_ref()
            .filter(|_| !opts.read_only)
            .map(Ping::new);
        let started = ping.clone().map(|p| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(p.start(deadline));
            });
            rx
        });
        Switch { ping, started }
    }

    /// What the final ping must be left of the deadline: the channels'
    /// deliveries end before it.
    pub fn share(&self, deadline: Duration) -> Duration {
        self.ping
            .as_ref()
            .map_or(Duration::ZERO, |p| p.timeout.min(deadline / 10))
    }

    /// The final ping, with the quiet text report as its body.
    pub fn finish(self, report: &Report, run_started: Instant, deadline: Instant) {
        let Some(p) = &self.ping else { return };
        // The start ping had the checks' time; it is not waited for past
        // its own timeout, so the final ping keeps its share.
        let started = self.started.map(|rx| {
            let left = (run_started + p.timeout).saturating_duration_since(Instant::now());
            rx.recv_timeout(left).unwrap_or_else(|_| {
                Err(crate::http::Failure::retry(
                    "the start ping got no answer within its timeout",
                ))
            })
        });
        let summary = text::render(
            report,
            &text::Style {
                colour: false,
                quiet: true,
                verbose: false,
            },
        );
        let finished = p.finish(report.exit_code, &redact(&summary), deadline);
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
}

/// What stdout says of a config that did not load: for Nagios the
/// UNKNOWN line (the first error) and the rest as long output, for JSON
/// an error document; nothing for text (stderr has it all).
pub fn config_invalid(format: Format, invalid: &Invalid) -> String {
    let lines: Vec<String> = invalid
        .errors
        .shown
        .iter()
        .map(|e| redact(&e.to_string()))
        .chain(invalid.errors.more_line())
        .collect();
    match format {
        Format::Text => String::new(),
        Format::Nagios => {
            let first = lines.first().map_or("", String::as_str);
            let mut out = format!(
                "HEALTHCHECK UNKNOWN - config invalid: {}\n",
                report::nagios::one_line(first)
            );
            for line in lines.iter().skip(1) {
                out.push_str(&report::nagios::one_line(line));
                out.push('\n');
            }
            out
        }
        Format::Json => {
            let errors: Vec<serde_json::Value> = invalid
                .errors
                .shown
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "location": e.location,
                        "key": e.key,
                        "message": redact(&e.message),
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "schema": 1,
                "status": Status::Unknown,
                "exit_code": Exit::UNKNOWN.code(),
                "error": format!("config invalid: {}", invalid.path.display()),
                "config_errors": errors,
                "more_config_errors": invalid.errors.more,
            });
            serde_json::to_string_pretty(&doc).expect("JSON always serializes") + "\n"
        }
    }
}

/// The report on stdout in the asked format.
pub fn print(opts: &Options, run: &RunOptions, report: &Report) {
    let out = match opts.format {
        Format::Json => report.to_json() + "\n",
        Format::Nagios => report::nagios::render(report),
        Format::Text => text::render(
            report,
            &text::Style::detect(run.quiet, opts.log.verbosity > 0),
        ),
    };
    crate::out::print(&redact(&out));
}
