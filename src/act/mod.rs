//! The side effects of a plan: running a guard, restarting a service,
//! running a recovery command. Every child runs from an argv (never a
//! shell) in its own process group under a timeout (`crate::proc`), so a
//! hung `systemctl` cannot hold the run past its deadline.
//!
//! Adding a manager: a file here with `restart(&spec, &Ctx) -> Result<String, String>`,
//! a `Manager` variant in `spec::service` (and its keys in `config::service`), and one arm in `restart` below.

mod command;
mod docker;
mod process;
mod systemd;
mod windows_service;

use std::time::{Duration, Instant};

use crate::proc;
use crate::spec::escalate::Command;
use crate::spec::{Manager, ServiceSpec, Settings};

/// What an action may use: the settings (argv prefixes) and the time left.
pub struct Ctx<'a> {
    pub settings: &'a Settings,
    pub deadline: Instant,
}

/// Whether the service is up as its checks see it, each look bounded by the
/// given instant: the checks that asked for the restart all pass.
pub type Up<'a> = &'a dyn Fn(Instant) -> bool;

/// The longest one child may take (a `docker restart` waits up to 10s itself).
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often verification polls.
pub(super) const POLL: Duration = Duration::from_millis(250);

impl Ctx<'_> {
    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// `wait` from now, but never past the deadline (and never an overflow).
    pub fn until(&self, wait: Duration) -> Instant {
        Instant::now()
            .checked_add(wait)
            .map_or(self.deadline, |t| t.min(self.deadline))
    }

    /// Run one child to completion (or its timeout); `Err` says why it failed.
    fn run(&self, argv: &[String]) -> Result<proc::Output, String> {
        self.run_job(argv, |job| job)
    }

    /// `run`, the job set up further by `with` (a directory, variables).
    fn run_job<'j>(
        &self,
        argv: &'j [String],
        with: impl FnOnce(proc::Job<'j>) -> proc::Job<'j>,
    ) -> Result<proc::Output, String> {
        let timeout = self.remaining().min(STEP_TIMEOUT);
        if timeout.is_zero() {
            return Err(format!(
                "no time left before the deadline to run {}",
                argv[0]
            ));
        }
        let out = with(proc::Job::new(argv, timeout))
            .run()
            .map_err(|e| e.to_string())?;
        if out.timed_out {
            return Err(format!(
                "{} timed out after {}s and was killed",
                show_argv(argv),
                timeout.as_secs()
            ));
        }
        Ok(out)
    }

    /// Run a child that must exit 0.
    fn run_ok(&self, argv: &[String]) -> Result<proc::Output, String> {
        let out = self.run(argv)?;
        if out.code == Some(0) {
            Ok(out)
        } else {
            Err(format!(
                "{} failed: {}",
                show_argv(argv),
                describe_exit(&out)
            ))
        }
    }

    /// Poll `probe` until it says done (`Ok(true)`), fails, or `verify` runs out.
    fn wait_until(
        &self,
        verify: Duration,
        mut probe: impl FnMut() -> Result<bool, String>,
    ) -> Result<(), String> {
        let until = self.until(verify);
        loop {
            if probe()? {
                return Ok(());
            }
            if until.saturating_duration_since(Instant::now()) < POLL {
                return Err(format!("not up after {}s", verify.as_secs()));
            }
            std::thread::sleep(POLL);
        }
    }
}

/// "exit 1: Unit not found" / "killed by signal 9".
fn describe_exit(out: &proc::Output) -> String {
    let first_line = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let said = [first_line(&out.stderr), first_line(&out.stdout)]
        .into_iter()
        .find(|s| !s.is_empty());
    let how = match out.code {
        Some(c) => format!("exit {c}"),
        None => "killed by a signal".to_string(),
    };
    match said {
        Some(s) => format!("{how}: {s}"),
        None => how,
    }
}

fn show_argv(argv: &[String]) -> String {
    argv.join(" ")
}

/// Prefix + arguments.
fn argv(prefix: &[String], args: &[&str]) -> Vec<String> {
    prefix
        .iter()
        .cloned()
        .chain(args.iter().map(|s| s.to_string()))
        .collect()
}

/// Run a guard: exit 0 allows the action.
pub fn guard(argv: &[String], ctx: &Ctx) -> Result<(), String> {
    let out = ctx.run(argv)?;
    if out.code == Some(0) {
        Ok(())
    } else {
        Err(format!(
            "guard {} refused ({})",
            show_argv(argv),
            describe_exit(&out)
        ))
    }
}

/// Why a restart failed.
#[derive(Debug, PartialEq)]
pub struct Failure {
    pub why: String,
    /// The manager refuses to start the service again (systemd's start
    /// limit): trying again in later runs would only be refused again.
    pub refused: bool,
}

impl Failure {
    fn refused(why: String) -> Failure {
        Failure { why, refused: true }
    }
}

impl From<String> for Failure {
    fn from(why: String) -> Failure {
        Failure {
            why,
            refused: false,
        }
    }
}

/// Restart a service and verify it came up and stayed up for its
/// `settle`. `Ok` carries what was done.
pub fn restart(service: &ServiceSpec, ctx: &Ctx, up: Up) -> Result<String, Failure> {
    let timing = Timing {
        verify: service.verify,
        settle: service.settle,
    };
    Ok(match &service.manager {
        Manager::Systemd { unit } => return systemd::restart(unit, service, ctx),
        Manager::Docker { container } => docker::restart(container, timing, ctx)?,
        Manager::Compose {
            file,
            service: name,
        } => docker::restart_compose(file, name, timing, ctx)?,
        Manager::Process {
            pattern,
            start,
            cwd,
            log,
            user,
        } => process::restart(
            &process::Process {
                pattern,
                start,
                cwd: cwd.as_deref(),
                log: log.as_deref(),
                timing,
                user: user.as_ref(),
                stop_timeout: service.stop_timeout,
            },
            ctx,
            up,
        )?,
        Manager::Command { restart } => command::run(restart, ctx)?,
        Manager::WindowsService { service: name } => {
            windows_service::restart(name, service.stop_timeout, timing, ctx)?
        }
    })
}

/// How long a restarted service gets to come up, and how long it must then
/// stay up.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub verify: Duration,
    pub settle: Duration,
}

/// "0.4s", "7.2s", "2m 5s": how long something ran.
fn show_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.1}s")
    } else {
        crate::model::Unit::Seconds.show(secs)
    }
}

/// Run a check's recovery command (a `run`, or a `run` step of its
/// ladder) in its directory with its variables; exit 0 is success.
pub fn recover(command: &Command, ctx: &Ctx) -> Result<String, String> {
    command::recover(command, ctx)
}
