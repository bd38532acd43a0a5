//! Restarting a plain process (a bot started as `python main.py`, no
//! systemd, no docker): stop every match gracefully, wait up to 5 s, kill the rest with
//! what they started (`crate::proc::stop`: signals to the process group on
//! Unix, the process tree on Windows), start it again detached (its own
//! session, or on Windows its own process group without a console; stdin
//! null, output appended to its log) in its `cwd`, and watch it until it is
//! up: the checks that asked for the restart pass for the service's
//! `settle` while it lives (the run goes on at once), or it stays alive
//! until `verify` (the re-check then tells whether it helped). One that
//! exits on the way is told with how long it ran and its log's last lines.
//!
//! What it must not do: start a copy while one may still run. A process
//! table it cannot fully see, or a match it may not stop, ends the restart
//! as failed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;

use super::{Ctx, Timing, Up, command::tail, show_duration};
use crate::proc::table::matching_pids;
use crate::proc::user::User;

/// How often a started process is looked at.
const POLL: Duration = Duration::from_millis(50);
/// The most of its log read back to tell why it exited.
const LOG_TAIL_BYTES: u64 = 4096;

/// A `process` manager and its service's times.
pub struct Process<'a> {
    pub pattern: &'a Regex,
    pub start: &'a [String],
    pub cwd: Option<&'a Path>,
    pub log: Option<&'a Path>,
    /// How long it gets to come up, and how long it must then stay up.
    pub timing: Timing,
    /// Whose matches are stopped, and who the new copy runs as.
    pub user: Option<&'a User>,
    /// How long the old one gets to exit before it is killed.
    pub stop_timeout: Duration,
}

pub fn restart(p: &Process, ctx: &Ctx, up: Up) -> Result<String, String> {
    let Process {
        pattern,
        start,
        cwd,
        log,
        user,
        timing,
        stop_timeout,
    } = *p;
    let Timing { verify, settle } = timing;
    let old =
        matching_pids(pattern, user.map(|u| u.uid)).map_err(|e| format!("not restarting: {e}"))?;
    let killed = crate::proc::stop(&old, ctx.until(stop_timeout))?;
    let mut child = spawn_detached(start, cwd, log, user)?;
    let pid = child.id();
    let started = Instant::now();
    let until = ctx.until(verify);
    let mut up_since: Option<Instant> = None;
    let state = loop {
        if let Ok(Some(status)) = child.try_wait() {
            let said = log
                .map(|l| last_lines(&resolve(l, cwd)))
                .unwrap_or_default();
            let said = if said.is_empty() {
                String::new()
            } else {
                format!("; its log: {said}")
            };
            return Err(format!(
                "started {} (pid {pid}) but it exited after {} ({status}){said}",
                start[0],
                show_duration(started.elapsed())
            ));
        }
        let now = Instant::now();
        if now >= until {
            break format!("alive after {}s", verify.as_secs());
        }
        if let Some(since) = up_since
            && now.saturating_duration_since(since) >= settle
        {
            break format!("up after {:.1}s", started.elapsed().as_secs_f64());
        }
        if up(until) {
            up_since.get_or_insert(now);
        } else {
            up_since = None;
        }
        std::thread::sleep(POLL.min(until.saturating_duration_since(Instant::now())));
    };
    let stopped = match (old.len(), killed) {
        (0, _) => "nothing was running".to_string(),
        (n, 0) => format!("stopped {n} process(es)"),
        (n, k) => format!("stopped {n} process(es), {k} killed"),
    };
    Ok(format!(
        "{stopped}; started {} as pid {pid}, {state}",
        start[0]
    ))
}

/// Start `argv` in its own session, so that it outlives this run and is
/// never mistaken for one of healthcheck's own children. Its command line
/// is `argv` exactly as configured (a `match` written for
/// `./venv/bin/python main.py` finds it again): on Unix a relative program
/// is found from `cwd`, where the child starts.
fn spawn_detached(
    argv: &[String],
    cwd: Option<&Path>,
    log: Option<&Path>,
    user: Option<&User>,
) -> Result<std::process::Child, String> {
    let program: PathBuf = match cwd {
        Some(dir)
            if cfg!(windows)
                && argv[0].contains(std::path::is_separator)
                && Path::new(&argv[0]).is_relative() =>
        {
            dir.join(&argv[0])
        }
        _ => PathBuf::from(&argv[0]),
    };
    let mut cmd = Command::new(&program);
    cmd.args(&argv[1..]).stdin(Stdio::null());
    if let Some(user) = user {
        run_as(&mut cmd, user)?;
    }
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    match log {
        Some(path) => {
            let path = resolve(path, cwd);
            let file = open_log(&path)?;
            let err = file.try_clone().map_err(|e| e.to_string())?;
            cmd.stdout(file).stderr(err);
        }
        None => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    crate::proc::spawn_detached(&mut cmd)
        .map_err(|e| format!("cannot start {}: {e}", program.display()))
}

/// A log path as the started process sees it: relative to its `cwd`.
fn resolve(path: &Path, cwd: Option<&Path>) -> PathBuf {
    match cwd {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_path_buf(),
    }
}

/// The last lines of a log, as one line; empty when it cannot be read.
fn last_lines(path: &Path) -> String {
    use std::io::{Read, Seek, SeekFrom};
    // Only the log `open_log` accepted as a regular file for this start.
    let read = || -> std::io::Result<Vec<u8>> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)))?;
        let mut end = Vec::new();
        file.take(LOG_TAIL_BYTES).read_to_end(&mut end)?;
        Ok(end)
    };
    read().map(|end| tail(&end)).unwrap_or_default()
}

/// The service's log, opened for appending only if it is a regular file
/// (created when missing): opened non-blocking, a FIFO nobody reads cannot
/// hang the run (it is refused at once, or fails with "no such device"
/// when it has no reader), and a device is never written.
fn open_log(path: &Path) -> Result<File, String> {
    let mut options = File::options();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let refused = |why: &str| format!("cannot open log {}: {why}", path.display());
    if let Ok(meta) = std::fs::metadata(path)
        && let Some(what) = crate::files::not_regular_file(&meta)
    {
        return Err(refused(&format!("it is {what}, not a regular file")));
    }
    let file = options.open(path).map_err(|e| refused(&e.to_string()))?;
    let meta = file.metadata().map_err(|e| refused(&e.to_string()))?;
    if let Some(what) = crate::files::not_regular_file(&meta) {
        return Err(refused(&format!("it is {what}, not a regular file")));
    }
    // The service writes to it as to any file: blocking again.
    #[cfg(unix)]
    crate::sys::fs::set_nonblocking(&file, false).map_err(|e| refused(&e.to_string()))?;
    Ok(file)
}

/// Start the copy as `user`: root switches to it (its uid and primary
/// group, no supplementary groups); anyone else can only start it as
/// themselves, so another user is refused rather than started under the
/// wrong name, where the `user` check would never find it.
#[cfg(unix)]
fn run_as(cmd: &mut Command, user: &User) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let me = crate::sys::process::euid();
    if me == user.uid {
        return Ok(());
    }
    if me != 0 {
        return Err(format!(
            "cannot start it as user {user}: healthcheck runs as uid {me}, not root"
        ));
    }
    cmd.uid(user.uid).gid(user.gid);
    Ok(())
}

/// Windows has no `user` (the config refuses it).
#[cfg(not(unix))]
fn run_as(_cmd: &mut Command, _user: &User) -> Result<(), String> {
    Ok(())
}
