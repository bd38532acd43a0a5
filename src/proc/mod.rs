//! Runs other programs and looks at running ones. Every child follows the
//! same rules, so they live in one place:
//!
//! - argv, never a shell: nothing in a config value is ever interpreted;
//! - a timeout kills the child *and* everything it started (a process group
//!   on Unix, a Job object on Windows), and the child is reaped;
//! - stdout and stderr captured, each capped at `OUTPUT_CAP` (the rest is
//!   read and dropped, so a chatty child never blocks on a full pipe);
//! - never a wait past the timeout, and once the child has exited only what
//!   is already in its pipes is taken, so a grandchild that keeps a pipe
//!   open cannot hold us.
//!
//! What it must not do: kill anything after the child exited on its own,
//! unless the job asks for it (`ends_group`: a check's command). A
//! recovery command may start a daemon that is meant to live on.
//!
//! The operating system's side is in `unix.rs` and `windows.rs`, behind the
//! same few functions; `table` is the process table the `process` check and
//! restarts read.

pub mod table;
#[cfg(unix)]
mod unix;
pub mod user;
#[cfg(windows)]
mod windows;

#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
use windows as platform;

pub use platform::{exists_unseen, spawn_detached, stop};

use std::fmt;
use std::io::{self, ErrorKind};
use std::time::Duration;

/// The most kept of each of stdout and stderr.
pub const OUTPUT_CAP: usize = 1024 * 1024;

/// One program to run: argv, a timeout, and optionally stdin bytes and
/// extra environment variables. stdin is `/dev/null` unless given.
pub struct Job<'a> {
    argv: &'a [String],
    timeout: Duration,
    stdin: Option<&'a [u8]>,
    env: Vec<(&'a str, &'a str)>,
    cwd: Option<&'a std::path::Path>,
    /// When the child exits, kill what it left running in its group.
    ends_group: bool,
}

/// How a run ended, and what the child wrote.
#[derive(Clone, Debug)]
pub struct Output {
    pub pid: u32,
    /// The exit code, if the child exited (rather than was killed).
    pub code: Option<i32>,
    /// The signal that ended the child, if one did.
    pub signal: Option<i32>,
    /// At most `OUTPUT_CAP` bytes each.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The timeout passed and the process group was killed.
    pub timed_out: bool,
    pub elapsed: Duration,
}

/// The child could not be started (or, rarely, watched).
#[derive(Debug)]
pub struct RunError {
    pub program: String,
    pub source: io::Error,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot run {}: {}", self.program, self.source)
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Output {
    /// How the child ended, for messages: "exited 2", "killed by signal 9",
    /// "timed out after 1.5s".
    pub fn describe(&self) -> String {
        if self.timed_out {
            return format!("timed out after {:.1}s", self.elapsed.as_secs_f64());
        }
        match (self.code, self.signal) {
            (Some(code), _) => format!("exited {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "ended without an exit status".to_string(),
        }
    }
}

impl<'a> Job<'a> {
    pub fn new(argv: &'a [String], timeout: Duration) -> Job<'a> {
        Job {
            argv,
            timeout,
            stdin: None,
            env: Vec::new(),
            cwd: None,
            ends_group: false,
        }
    }

    /// When the child exits, kill what it started and left running (its
    /// process group on Unix, its Job object on Windows), as a timeout
    /// does: a check's helper must not outlive the check. Recovery commands
    /// do not ask for this: the daemon one starts is meant to stay.
    pub fn ends_group(mut self) -> Job<'a> {
        self.ends_group = true;
        self
    }

    /// Run the child in this directory (else in ours).
    pub fn cwd(mut self, dir: Option<&'a std::path::Path>) -> Job<'a> {
        self.cwd = dir;
        self
    }

    /// Feed these bytes to the child's stdin, then close it.
    pub fn stdin(mut self, bytes: &'a [u8]) -> Job<'a> {
        self.stdin = Some(bytes);
        self
    }

    /// Set an environment variable for the child (on top of ours).
    pub fn env(mut self, key: &'a str, value: &'a str) -> Job<'a> {
        self.env.push((key, value));
        self
    }

    /// The child's command: argv, environment, a stdin pipe when there is
    /// input, stdout and stderr piped; each platform adds how it is grouped.
    fn command(&self) -> std::process::Command {
        use std::process::Stdio;
        let mut command = std::process::Command::new(&self.argv[0]);
        command
            .args(&self.argv[1..])
            .envs(self.env.iter().copied())
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = self.cwd {
            command.current_dir(dir);
        }
        command
    }

    /// Run the child to its end or to the timeout, whichever comes first.
    pub fn run(&self) -> Result<Output, RunError> {
        let Some(program) = self.argv.first() else {
            return Err(RunError {
                program: String::new(),
                source: io::Error::new(ErrorKind::InvalidInput, "empty command"),
            });
        };
        platform::run(self).map_err(|source| RunError {
            program: program.clone(),
            source,
        })
    }
}

/// How long to wait for a killed child to be reaped. A process stuck in the
/// kernel (an unreachable NFS mount) may not die at once; we do not wait
/// for it longer than this.
const REAP_GRACE: Duration = Duration::from_millis(500);

/// Reap a killed child, waiting at most `REAP_GRACE`.
fn reap(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    let until = std::time::Instant::now() + REAP_GRACE;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if std::time::Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(2))
            }
            _ => return None,
        }
    }
}
