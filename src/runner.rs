//! Runs every selected check once, under its own timeout and the run's
//! deadline. A check that does not answer in time is UNKNOWN "timed out
//! after 10s" and its thread is left behind: the run never waits for a
//! stuck probe, and a panicking probe is UNKNOWN too.
//! Probes that cannot hang (the kernel's memory and CPU counters) run on
//! the run's own thread once the others have started. The others are
//! taken from one queue by `WORKERS` threads, as many as a small machine
//! has cores: a thread costs a run about 50 µs to start and end
//! (benches/README.md), and local checks take a millisecond or less. When
//! checks still wait after `PATIENCE` (a probe that waits on the network
//! or hangs), every waiting check gets a thread of its own at once.
//! An outcome that brings no memory (a timeout, an error, a missing file)
//! keeps the memory the check was given, so one bad run loses no counters.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::check::{Probe, ProbeContext};
use crate::config::CheckSpec;
use crate::model::Outcome;
use crate::secret::redact;

/// The threads that first take checks from the queue.
const WORKERS: usize = 2;
/// How long checks may wait in the queue before each gets a thread.
const PATIENCE: Duration = Duration::from_millis(5);

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
    let (tx, rx) = mpsc::channel::<Done>();
    let mut due = Vec::with_capacity(checks.len());
    let given = memories.clone();
    let mut inline = Vec::new();
    let mut queued = VecDeque::new();
    for (i, (spec, memory)) in checks.iter().zip(memories).enumerate() {
        let check_deadline = (started + spec.timeout).min(deadline);
        due.push(check_deadline);
        let job = Job {
            index: i,
            probe: spec.probe.clone(),
            ctx: ProbeContext {
                now,
                deadline: check_deadline,
                memory,
            },
        };
        if job.probe.cannot_hang() {
            inline.push(job);
        } else {
            queued.push_back(job);
        }
    }
    let queue = Arc::new(Mutex::new(queued));
    for _ in 0..waiting(&queue).min(WORKERS) {
        start_worker(&queue, &tx);
    }
    for job in inline {
        let (outcome, took) = probe_once(&*job.probe, &job.ctx);
        let _ = tx.send((job.index, outcome, took));
    }
    // Kept until the queue grows its threads (at `grow_at`), then only
    // the threads send.
    let mut tx = Some(tx);
    let grow_at = started + PATIENCE;

    let mut results: Vec<Option<Finished>> = (0..checks.len()).map(|_| None).collect();
    let mut pending = checks.len();
    while pending > 0 {
        let next_due = (0..checks.len())
            .filter(|i| results[*i].is_none())
            .map(|i| due[i])
            .min()
            .unwrap_or(deadline);
        let wake = if tx.is_some() {
            grow_at.min(next_due)
        } else {
            next_due
        };
        let received = rx.recv_timeout(wake.saturating_duration_since(Instant::now()));
        let at = Instant::now();
        if grow_at <= at
            && let Some(tx) = tx.take()
        {
            for _ in 0..waiting(&queue) {
                start_worker(&queue, &tx);
            }
        }
        match received {
            Ok((i, outcome, duration)) => {
                if results[i].is_none() {
                    results[i] = Some(Finished { outcome, duration });
                    pending -= 1;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
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

/// A check waiting for a thread.
struct Job {
    index: usize,
    probe: Arc<dyn Probe>,
    ctx: ProbeContext,
}

/// A check's index, outcome and time taken, as its thread reports them.
type Done = (usize, Outcome, Duration);

/// Start a thread that runs checks from `queue` until none is left. When
/// no thread can be started, the next waiting check is UNKNOWN for it.
fn start_worker(queue: &Arc<Mutex<VecDeque<Job>>>, tx: &mpsc::Sender<Done>) {
    let (thread_queue, thread_tx) = (queue.clone(), tx.clone());
    let spawned = std::thread::Builder::new()
        .name("checks".into())
        .spawn(move || {
            while let Some(job) = take(&thread_queue) {
                let (outcome, took) = probe_once(&*job.probe, &job.ctx);
                if thread_tx.send((job.index, outcome, took)).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned
        && let Some(job) = take(queue)
    {
        let _ = tx.send((
            job.index,
            Outcome::unknown(format!("cannot start a thread: {e}")),
            Duration::ZERO,
        ));
    }
}

/// The next waiting check, if any. Probes never panic with the queue
/// locked (`probe_once` catches them), so a poisoned lock is still sound.
fn take(queue: &Mutex<VecDeque<Job>>) -> Option<Job> {
    queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
}

fn waiting(queue: &Mutex<VecDeque<Job>>) -> usize {
    queue.lock().unwrap_or_else(|e| e.into_inner()).len()
}

/// One probe's outcome (a failed or panicking probe is UNKNOWN), its
/// message redacted and cut to size, and the time it took.
fn probe_once(probe: &dyn Probe, ctx: &ProbeContext) -> (Outcome, Duration) {
    let begun = Instant::now();
    let outcome = match catch_unwind(AssertUnwindSafe(|| probe.probe(ctx))) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => Outcome::unknown(format!("{e:#}")),
        Err(panic) => {
            Outcome::unknown(format!("check failed unexpectedly: {}", panic_text(&panic)))
        }
    };
    // Redacted before it is cut: a secret cut in two would escape the
    // redaction of every later sink.
    let outcome = Outcome {
        message: redact(&outcome.message),
        ..outcome
    };
    (outcome.bounded(), begun.elapsed())
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
    fn a_check_queued_behind_hung_checks_still_runs() {
        let hung = "type = \"command\"\ncommand = [\"sleep\", \"30\"]\ntimeout = \"1s\"\n";
        let mut toml = String::new();
        for i in 0..WORKERS + 1 {
            toml.push_str(&format!("[[check]]\nname = \"hung{i}\"\n{hung}\n"));
        }
        toml.push_str("[[check]]\nname = \"gone\"\ntype = \"file\"\npath = \"/nonexistent/file\"\ntimeout = \"1s\"\n");
        let config = crate::config::load_str("t.toml", &toml).unwrap();
        let checks: Vec<&CheckSpec> = config.checks.iter().collect();
        let results = run(
            &checks,
            vec![None; checks.len()],
            jiff::Timestamp::now(),
            Instant::now() + Duration::from_secs(10),
        );
        let (last, hung) = results.split_last().unwrap();
        for r in hung {
            assert!(r.outcome.message.contains("timed out"), "{:?}", r.outcome);
        }
        assert!(
            last.outcome.message.contains("not found"),
            "{:?}",
            last.outcome
        );
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
