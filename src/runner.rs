//! Runs every selected check once, under its own timeout and the run's
//! deadline. A check that does not answer in time gets its `on_timeout`
//! status (UNKNOWN, CRITICAL for the network checks) and one message
//! naming its target, "GET http://127.0.0.1:8080/ping: no answer within
//! 5s", whether the runner or the probe saw the time run out first; its
//! thread is left behind: the run never waits for a stuck probe. A check
//! cut short by the run's deadline, and a panicking probe, are UNKNOWN:
//! they say nothing about the target.
//! Probes that cannot hang (the kernel's memory and CPU counters) run on
//! the run's own thread once the others have started. The others are
//! taken from one queue by `WORKERS` threads, as many as a small machine
//! has cores: a thread costs a run about 50 µs to start and end
//! (benches/README.md), and local checks take a millisecond or less. When
//! a check has run for `PATIENCE` (a probe that waits on the network or
//! hangs) while others wait, every waiting check gets a thread of its own
//! at once; a long queue of quick checks (512 `file` checks) stays on the
//! two threads.
//! An outcome that brings no memory (a timeout, an error, a missing file)
//! keeps the memory the check was given, so one bad run loses no counters.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::model::{Outcome, Status, Unit};
use crate::secret::redact;
use crate::spec::CheckSpec;
use crate::spec::probe::{Probe, ProbeContext};

/// The threads that first take checks from the queue.
const WORKERS: usize = 2;
/// How long a check may run while others wait before each gets a thread.
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
    let processes = Arc::new(crate::proc::table::Scan::default());
    let (tx, rx) = mpsc::channel::<Done>();
    let mut due = Vec::with_capacity(checks.len());
    let given = memories.clone();
    let mut inline = Vec::new();
    let mut jobs = VecDeque::new();
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
                processes: processes.clone(),
            },
        };
        if job.probe.cannot_hang() {
            inline.push(job);
        } else {
            jobs.push_back(job);
        }
    }
    let queue = Arc::new(Mutex::new(Queue {
        jobs,
        taken: vec![None; checks.len()],
    }));
    for _ in 0..waiting(&queue).min(WORKERS) {
        start_worker(&queue, &tx);
    }
    for job in inline {
        let (outcome, took) = probe_once(&*job.probe, &job.ctx);
        let _ = tx.send((job.index, outcome, took));
    }
    // Kept while the queue may grow its threads (looked at `look_at`),
    // then only the threads send.
    let mut tx = Some(tx);
    let mut look_at = started + PATIENCE;

    let mut results: Vec<Option<Finished>> = (0..checks.len()).map(|_| None).collect();
    let mut pending = checks.len();
    // The checks by when they are due, walked past those that answered:
    // the next deadline without a look at every check for each answer.
    let mut by_due: Vec<usize> = (0..checks.len()).collect();
    by_due.sort_by_key(|i| due[*i]);
    let mut first_open = 0;
    while pending > 0 {
        while by_due
            .get(first_open)
            .is_some_and(|i| results[*i].is_some())
        {
            first_open += 1;
        }
        let next_due = by_due.get(first_open).map_or(deadline, |i| due[*i]);
        let wake = if tx.is_some() {
            look_at.min(next_due)
        } else {
            next_due
        };
        let received = rx.recv_timeout(wake.saturating_duration_since(Instant::now()));
        let at = Instant::now();
        if look_at <= at && tx.is_some() {
            // The longest-running check that has not answered yet.
            let running = {
                let q = lock(&queue);
                (!q.jobs.is_empty()).then(|| {
                    (0..checks.len())
                        .filter(|i| results[*i].is_none())
                        .filter_map(|i| q.taken[i])
                        .min()
                })
            };
            match running {
                None => tx = None,
                Some(Some(since)) if since + PATIENCE <= at => {
                    if let Some(tx) = tx.take() {
                        for _ in 0..waiting(&queue) {
                            start_worker(&queue, &tx);
                        }
                    }
                }
                Some(since) => look_at = since.unwrap_or(at) + PATIENCE,
            }
        }
        match received {
            Ok((i, outcome, duration)) => {
                if results[i].is_none() {
                    results[i] = Some(if outcome.timed_out {
                        timed_out(checks[i], due[i], started, Some(outcome))
                    } else {
                        Finished { outcome, duration }
                    });
                    pending -= 1;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                for i in 0..checks.len() {
                    if results[i].is_none() && due[i] <= at {
                        results[i] = Some(timed_out(checks[i], due[i], started, None));
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
            let mut finished = r.unwrap_or_else(|| timed_out(checks[i], due[i], started, None));
            if finished.outcome.memory.is_none() {
                finished.outcome.memory = given;
            }
            finished
        })
        .collect()
}

/// The checks waiting for a thread, and when each check was taken.
struct Queue {
    jobs: VecDeque<Job>,
    taken: Vec<Option<Instant>>,
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
fn start_worker(queue: &Arc<Mutex<Queue>>, tx: &mpsc::Sender<Done>) {
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

/// The queue, locked. Probes never panic with it locked (`probe_once`
/// catches them), so a poisoned lock is still sound.
fn lock(queue: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(|e| e.into_inner())
}

/// The next waiting check, if any, noted as taken now.
fn take(queue: &Mutex<Queue>) -> Option<Job> {
    let mut q = lock(queue);
    let job = q.jobs.pop_front()?;
    q.taken[job.index] = Some(Instant::now());
    Some(job)
}

fn waiting(queue: &Mutex<Queue>) -> usize {
    lock(queue).jobs.len()
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

/// A check whose time ran out at `due`, seen by the runner (`said` is
/// `None`) or by the probe. Its own timeout gives its `on_timeout` status;
/// the run's deadline, coming first, leaves it UNKNOWN.
fn timed_out(spec: &CheckSpec, due: Instant, started: Instant, said: Option<Outcome>) -> Finished {
    let waited = due.saturating_duration_since(started);
    let target = spec
        .probe
        .target()
        .map(|t| format!("{}: ", redact(&t)))
        .unwrap_or_default();
    let outcome = if waited < spec.timeout {
        Outcome::unknown(format!(
            "{target}timed out: the run's deadline came after {}",
            show(waited)
        ))
    } else {
        no_answer(spec, spec.timeout)
    };
    Finished {
        outcome: Outcome {
            memory: said.and_then(|o| o.memory),
            ..outcome
        },
        duration: waited,
    }
}

/// `spec`'s target gave no answer `within` its time: its `on_timeout`
/// status, "GET http://host/ping: no answer within 5s" when CRITICAL (the
/// target was asked and did not answer), "/usr/lib/check_x: timed out
/// after 5s" when UNKNOWN.
pub fn no_answer(spec: &CheckSpec, within: Duration) -> Outcome {
    let within = Unit::Seconds.show(within.as_secs_f64());
    let what = if spec.on_timeout == Status::Critical {
        format!("no answer within {within}")
    } else {
        format!("timed out after {within}")
    };
    let message = match spec.probe.target() {
        Some(target) => format!("{}: {what}", redact(&target)),
        None => what,
    };
    Outcome::new(spec.on_timeout, message)
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

    /// Every check of `toml` run once, with no memory, 10 s before the deadline.
    fn run_toml(toml: &str) -> Vec<Outcome> {
        let config = crate::config::load_str("t.toml", toml).unwrap();
        let checks: Vec<&CheckSpec> = config.checks.iter().collect();
        run(
            &checks,
            vec![None; checks.len()],
            jiff::Timestamp::now(),
            Instant::now() + Duration::from_secs(10),
        )
        .into_iter()
        .map(|f| f.outcome)
        .collect()
    }

    /// A port that takes connections into its backlog and never answers:
    /// a hung API.
    fn hung_api() -> (std::net::TcpListener, String) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api/v1/ping", listener.local_addr().unwrap());
        (listener, url)
    }

    #[test]
    fn a_hung_api_is_critical_on_every_run_whoever_sees_the_timeout_first() {
        let (_listener, url) = hung_api();
        let toml = format!(
            "[[check]]\nname = \"api\"\ntype = \"http\"\nurl = \"{url}\"\ntimeout = \"300ms\"\n"
        );
        for _ in 0..8 {
            let results = run_toml(&toml);
            let outcome = &results[0];
            assert_eq!(
                outcome.status,
                crate::model::Status::Critical,
                "{outcome:?}"
            );
            assert_eq!(outcome.message, format!("GET {url}: no answer within 0.3s"));
        }
    }

    #[test]
    fn timed_out_names_what_timed_out_for_every_check_that_waits_on_something() {
        let (_listener, url) = hung_api();
        let toml = format!(
            "[[check]]\nname = \"stats\"\ntype = \"json\"\nurl = \"{url}\"\npointer = \"/x\"\ntimeout = \"300ms\"\n"
        );
        for _ in 0..4 {
            let results = run_toml(&toml);
            let outcome = &results[0];
            assert_eq!(
                (outcome.status, outcome.message.as_str()),
                (
                    crate::model::Status::Unknown,
                    format!("GET {url}: timed out after 0.3s").as_str()
                )
            );
        }
    }

    #[test]
    fn on_timeout_unknown_makes_a_hung_api_unknown_and_a_command_stays_unknown() {
        let (_listener, url) = hung_api();
        let results = run_toml(&format!(
            "[[check]]\nname = \"api\"\ntype = \"http\"\nurl = \"{url}\"\ntimeout = \"300ms\"\non_timeout = \"unknown\"\n\n\
                 [[check]]\nname = \"plugin\"\ntype = \"command\"\ncommand = [\"sleep\", \"5\"]\ntimeout = \"300ms\"\n"
        ));
        let said: Vec<(crate::model::Status, &str)> = results
            .iter()
            .map(|r| (r.status, r.message.as_str()))
            .collect();
        let api = format!("GET {url}: timed out after 0.3s");
        assert_eq!(
            said,
            [
                (crate::model::Status::Unknown, api.as_str()),
                (crate::model::Status::Unknown, "sleep: timed out after 0.3s")
            ]
        );
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
