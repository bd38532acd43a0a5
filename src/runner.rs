//! Runs every selected check once, each on its own thread, under its own
//! timeout and the run's deadline. A check that does not answer in time is
//! UNKNOWN "timed out after 10s" and its thread is left behind: the run
//! never waits for a stuck probe, and a panicking probe is UNKNOWN too.
//! Probes that cannot hang (the kernel's memory and CPU counters) run on
//! the run's own thread once the others have started.
//! An outcome that brings no memory (a timeout, an error, a missing file)
//! keeps the memory the check was given, so one bad run loses no counters.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::check::{Probe, ProbeContext};
use crate::config::CheckSpec;
use crate::model::Outcome;
use crate::secret::redact;

/// A probe's outcome before thresholds, and how long it took.
pub struct Finished {
    pub outcome: Outcome,
    pub duration: Duration,
}

/// Run `checks` (with what each remembered last time) and return one result
/// per check, in the same order, by `deadline` at the latest.
pub fn run(
    checks: &[&CheckSpec],
    memories: Vec<Option<serde_json::Value>>,
    now: jiff::Timestamp,
    deadline: Instant,
) -> Vec<Finished> {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel::<(usize, Outcome, Duration)>();
    let mut due = Vec::with_capacity(checks.len());
    let given = memories.clone();
    let mut inline = Vec::new();
    for (i, (spec, memory)) in checks.iter().zip(memories).enumerate() {
        let check_deadline = (started + spec.timeout).min(deadline);
        due.push(check_deadline);
        let probe = spec.probe.clone();
        let ctx = ProbeContext {
            now,
            deadline: check_deadline,
            memory,
        };
        if probe.cannot_hang() {
            inline.push((i, probe, ctx));
            continue;
        }
        let thread_tx = tx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("check-{}", spec.name))
            .spawn(move || {
                let (outcome, took) = probe_once(&*probe, &ctx);
                let _ = thread_tx.send((i, outcome, took));
            });
        if let Err(e) = spawned {
            let _ = tx.send((
                i,
                Outcome::unknown(format!("cannot start a thread: {e}")),
                Duration::ZERO,
            ));
        }
    }
    for (i, probe, ctx) in inline {
        let (outcome, took) = probe_once(&*probe, &ctx);
        let _ = tx.send((i, outcome, took));
    }
    drop(tx);

    let mut results: Vec<Option<Finished>> = (0..checks.len()).map(|_| None).collect();
    let mut pending = checks.len();
    while pending > 0 {
        let next_due = (0..checks.len())
            .filter(|i| results[*i].is_none())
            .map(|i| due[i])
            .min()
            .unwrap_or(deadline);
        let wait = next_due.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok((i, outcome, duration)) => {
                if results[i].is_none() {
                    results[i] = Some(Finished { outcome, duration });
                    pending -= 1;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let at = Instant::now();
                for i in 0..checks.len() {
                    if results[i].is_none() && due[i] <= at {
                        results[i] = Some(timed_out(checks[i], due[i], deadline, started));
                        pending -= 1;
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    results
        .into_iter()
        .zip(given)
        .enumerate()
        .map(|(i, (r, given))| {
            let mut finished = r.unwrap_or_else(|| timed_out(checks[i], due[i], deadline, started));
            if finished.outcome.memory.is_none() {
                finished.outcome.memory = given;
            }
            finished
        })
        .collect()
}

/// One probe's outcome (a failed or panicking probe is UNKNOWN) and the
/// time it took.
fn probe_once(probe: &dyn Probe, ctx: &ProbeContext) -> (Outcome, Duration) {
    let begun = Instant::now();
    let outcome = match catch_unwind(AssertUnwindSafe(|| probe.probe(ctx))) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => Outcome::unknown(redact(&format!("{e:#}"))),
        Err(panic) => {
            Outcome::unknown(format!("check failed unexpectedly: {}", panic_text(&panic)))
        }
    };
    (outcome, begun.elapsed())
}

fn timed_out(spec: &CheckSpec, due: Instant, deadline: Instant, started: Instant) -> Finished {
    let waited = due.saturating_duration_since(started);
    let message = if due >= deadline && waited < spec.timeout {
        format!("timed out: the run's deadline came after {}", show(waited))
    } else {
        format!("timed out after {}", show(spec.timeout))
    };
    Finished {
        outcome: Outcome::unknown(message),
        duration: waited,
    }
}

fn show(d: Duration) -> String {
    humantime::format_duration(Duration::from_millis(d.as_millis() as u64)).to_string()
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        redact(s)
    } else {
        "panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_without_memory_keeps_the_memory_it_was_given() {
        let config = crate::config::load_str(
            "t.toml",
            "[[check]]\nname = \"hang\"\ntype = \"command\"\ncommand = [\"sleep\", \"5\"]\ntimeout = \"100ms\"\n\n\
             [[check]]\nname = \"gone\"\ntype = \"file\"\npath = \"/nonexistent/file\"\n",
        )
        .unwrap();
        let checks: Vec<&CheckSpec> = config.checks.iter().collect();
        let memory = serde_json::json!({"offset": 42});
        let results = run(
            &checks,
            vec![Some(memory.clone()), Some(memory.clone())],
            jiff::Timestamp::now(),
            Instant::now() + Duration::from_secs(10),
        );
        assert!(results[0].outcome.message.contains("timed out"));
        assert!(results[1].outcome.message.contains("not found"));
        for r in &results {
            assert_eq!(r.outcome.memory.as_ref(), Some(&memory));
        }
    }

    #[test]
    fn memory_and_cpu_spare_a_thread_and_their_results_keep_their_place() {
        let config = crate::config::load_str(
            "t.toml",
            "[[check]]\nname = \"mem\"\ntype = \"memory\"\n\n             [[check]]\nname = \"slow\"\ntype = \"command\"\ncommand = [\"sleep\", \"0.2\"]\n\n             [[check]]\nname = \"load\"\ntype = \"cpu\"\n",
        )
        .unwrap();
        let checks: Vec<&CheckSpec> = config.checks.iter().collect();
        let spawned = |c: &CheckSpec| !c.probe.cannot_hang();
        assert_eq!(
            checks.iter().map(|c| spawned(c)).collect::<Vec<_>>(),
            [false, true, false]
        );
        let results = run(
            &checks,
            vec![None, None, None],
            jiff::Timestamp::now(),
            Instant::now() + Duration::from_secs(10),
        );
        assert!(
            results[0].outcome.message.starts_with("used "),
            "{:?}",
            results[0].outcome
        );
        assert_eq!(
            results[1].outcome.status,
            crate::model::Status::Ok,
            "{:?}",
            results[1].outcome
        );
        assert!(
            results[2].outcome.message.starts_with("busy "),
            "{:?}",
            results[2].outcome
        );
    }
}
