//! Restarting a Windows service through `sc.exe` (`settings.sc`): `query`,
//! `stop` unless it is already stopped, poll `query` until STOPPED (within
//! the service's `stop_timeout`), `start`, then poll `query` until RUNNING
//! or `verify` runs out, then watch that it stays RUNNING for `settle`. `sc` answers a stop of a stopped service and a
//! start of a running one with an error code of its own; both are what we
//! wanted, not failures. A service that is STOPPED again after a start
//! failed to start (with its exit code).

use std::time::{Duration, Instant};

use super::{Ctx, POLL, Timing, argv, describe_exit, show_argv, show_duration};
use crate::check::windows_service::{NO_SUCH_SERVICE, Query, parse_query};

/// `sc`'s exit code for a stop of a stopped service (ERROR_SERVICE_NOT_ACTIVE).
const NOT_ACTIVE: i32 = 1062;
/// `sc`'s exit code for a start of a running service (ERROR_SERVICE_ALREADY_RUNNING).
const ALREADY_RUNNING: i32 = 1056;

pub fn restart(
    service: &str,
    stop_timeout: Duration,
    timing: Timing,
    ctx: &Ctx,
) -> Result<String, String> {
    let before = query(service, ctx)?;
    let was = state(&before);
    let stopped_first = !before.is("STOPPED");
    if stopped_first {
        sc(service, "stop", NOT_ACTIVE, ctx)?;
        let mut last = Ok(before);
        let stopped = ctx.wait_until(stop_timeout, || {
            last = query(service, ctx);
            last.as_ref()
                .map(|q| q.is("STOPPED"))
                .map_err(String::clone)
        });
        match (stopped, last) {
            (Ok(()), _) => {}
            (Err(e), Err(_)) => return Err(e),
            (Err(_), Ok(q)) => {
                return Err(format!(
                    "{service} did not stop within {}s (it is {})",
                    stop_timeout.as_secs(),
                    state(&q)
                ));
            }
        }
    }
    sc(service, "start", ALREADY_RUNNING, ctx)?;
    let mut last = Poll::NotYet;
    let waited = ctx.wait_until(timing.verify, || {
        last = after_start(service, &query(service, ctx)?);
        match &last {
            Poll::Up => Ok(true),
            Poll::Failed(why) => Err(why.clone()),
            Poll::NotYet => Ok(false),
        }
    });
    if waited.is_ok() {
        stays_running(service, timing, ctx)?;
    }
    match waited {
        Ok(()) if stopped_first => Ok(format!(
            "stopped {service} (it was {was}) and started it; it is RUNNING"
        )),
        Ok(()) => Ok(format!("started {service} (it was STOPPED); it is RUNNING")),
        Err(e) if last == Poll::NotYet => Err(format!("{service}: {e}")),
        Err(e) => Err(e),
    }
}

/// `sc query`, read; a service that is not installed is an error here.
fn query(service: &str, ctx: &Ctx) -> Result<Query, String> {
    let argv = argv(&ctx.settings.sc, &["query", service]);
    let out = ctx.run(&argv)?;
    match parse_query(out.code, &String::from_utf8_lossy(&out.stdout)) {
        Some(Query::Missing) => Err(format!("{service}: no such service")),
        Some(q) => Ok(q),
        None => Err(format!(
            "{} failed: {}",
            show_argv(&argv),
            describe_exit(&out)
        )),
    }
}

/// `sc stop|start NAME`: exit 0, or `fine` (the state asked for is already there).
fn sc(service: &str, verb: &str, fine: i32, ctx: &Ctx) -> Result<(), String> {
    let argv = argv(&ctx.settings.sc, &[verb, service]);
    let out = ctx.run(&argv)?;
    match out.code {
        Some(0) => Ok(()),
        Some(c) if c == fine => Ok(()),
        Some(NO_SUCH_SERVICE) => Err(format!("{service}: no such service")),
        _ => Err(format!(
            "{} failed: {}",
            show_argv(&argv),
            describe_exit(&out)
        )),
    }
}

/// A service that stops again within `settle` of RUNNING did not start.
fn stays_running(service: &str, timing: Timing, ctx: &Ctx) -> Result<(), String> {
    let at = Instant::now();
    let until = ctx.until(timing.settle);
    loop {
        let q = query(service, ctx)?;
        if !q.is("RUNNING") {
            return Err(format!(
                "{service} came up and died within {} (it is {})",
                show_duration(at.elapsed()),
                state(&q)
            ));
        }
        if until.saturating_duration_since(Instant::now()) < POLL {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}

fn state(q: &Query) -> String {
    match q {
        Query::Missing => "not installed".to_string(),
        Query::State { name, .. } => name.clone(),
    }
}

/// What one `sc query` after the start tells.
#[derive(Debug, PartialEq)]
enum Poll {
    Up,
    Failed(String),
    NotYet,
}

fn after_start(service: &str, q: &Query) -> Poll {
    match q {
        Query::State { name, .. } if name == "RUNNING" => Poll::Up,
        Query::State {
            name, exit_code, ..
        } if name == "STOPPED" => Poll::Failed(format!(
            "{service} failed to start: it is STOPPED{}",
            exit_code
                .map(|c| format!(" (exit code {c})"))
                .unwrap_or_default()
        )),
        Query::Missing => Poll::Failed(format!("{service}: no such service")),
        Query::State { .. } => Poll::NotYet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::windows_service::tests::{RUNNING, STOPPED};

    #[test]
    fn a_start_is_verified_by_the_state_sc_reports() {
        let q = |text| parse_query(Some(0), text).unwrap();
        assert_eq!(after_start("eventlog", &q(RUNNING)), Poll::Up);
        assert_eq!(
            after_start("Spooler", &q(STOPPED)),
            Poll::Failed("Spooler failed to start: it is STOPPED (exit code 1077)".into())
        );
        let pending = RUNNING.replace("4  RUNNING", "2  START_PENDING");
        assert_eq!(after_start("eventlog", &q(&pending)), Poll::NotYet);
    }
}
