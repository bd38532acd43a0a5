//! Restarting a plain process (seed 003's `python main.py`, no systemd, no
//! docker): SIGTERM every match, wait up to 5 s, SIGKILL the rest, start it
//! again detached (its own session, stdin null, output appended to its
//! log), and watch it until it is up: the checks that asked for the restart
//! pass for `SETTLE` while it lives (the run goes on at once), or it stays
//! alive until `verify` (the re-check then tells whether it helped).
//!
//! A match that leads its own process group (every copy started here does:
//! it gets a session of its own) is signalled as a group, so that what it
//! started (a wrapper's python, a shell's sleep) goes with it. What it must
//! not do: start a copy while one may still run. A process table it cannot
//! fully see, or a match it may not signal, ends the restart as failed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;

use super::{Ctx, Up};
use crate::check::process::matching_pids;

/// How long stopped processes get to exit after SIGTERM.
const TERM_WAIT: Duration = Duration::from_secs(5);
/// How often a started process is looked at.
const POLL: Duration = Duration::from_millis(50);
/// How long it must be up, and alive, before the restart is done: a bot
/// that dies on an import error a moment after starting is not up.
const SETTLE: Duration = Duration::from_millis(200);

pub fn restart(
    pattern: &Regex,
    start: &[String],
    cwd: Option<&Path>,
    log: Option<&Path>,
    verify: Duration,
    ctx: &Ctx,
    up: Up,
) -> Result<String, String> {
    let old = matching_pids(pattern).map_err(|e| format!("not restarting: {e}"))?;
    let killed = stop(&old, ctx)?;
    let mut child = spawn_detached(start, cwd, log)?;
    let pid = child.id();
    let started = Instant::now();
    let until = ctx.until(verify);
    let mut up_since: Option<Instant> = None;
    let state = loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "started {} (pid {pid}) but it exited at once ({status})",
                start[0]
            ));
        }
        let now = Instant::now();
        if now >= until {
            break format!("alive after {}s", verify.as_secs());
        }
        if let Some(since) = up_since
            && now.saturating_duration_since(since) >= SETTLE
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
        (n, k) => format!("stopped {n} process(es), {k} with SIGKILL"),
    };
    Ok(format!(
        "{stopped}; started {} as pid {pid}, {state}",
        start[0]
    ))
}

/// SIGTERM (and SIGCONT, so that a stopped process can act on it, as
/// systemd does), wait, SIGKILL. Returns how many needed SIGKILL; `Err`
/// when a match may not be signalled (another user's): it would live on.
fn stop(pids: &[u32], ctx: &Ctx) -> Result<usize, String> {
    let targets: Vec<libc::pid_t> = pids.iter().filter_map(|p| target(*p)).collect();
    for t in &targets {
        match signal(*t, libc::SIGTERM) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                return Err(format!(
                    "cannot stop pid {} ({e}): not starting a second copy",
                    t.abs()
                ));
            }
            _ => {
                let _ = signal(*t, libc::SIGCONT);
            }
        }
    }
    let until = ctx.until(TERM_WAIT);
    let alive = |targets: &[libc::pid_t]| {
        targets
            .iter()
            .copied()
            .filter(|t| signal(*t, 0).is_ok())
            .collect::<Vec<_>>()
    };
    let mut left = alive(&targets);
    while !left.is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
        left = alive(&left);
    }
    for t in &left {
        let _ = signal(*t, libc::SIGKILL);
    }
    Ok(left.len())
}

/// What to signal for a matched pid: its whole group (as a negative pid)
/// when it leads one that is not ours, else the process alone.
fn target(pid: u32) -> Option<libc::pid_t> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: getpgid and getpgrp only read process group ids.
    let (group, ours) = unsafe { (libc::getpgid(pid), libc::getpgrp()) };
    Some(if group == pid && group != ours {
        -pid
    } else {
        pid
    })
}

/// Send `sig` to a pid, or to a group as a negative pid (0 only asks
/// whether it still exists).
fn signal(target: libc::pid_t, sig: i32) -> std::io::Result<()> {
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(target, sig) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Start `argv` in its own session, so that it outlives this run and is
/// never mistaken for one of healthcheck's own children.
fn spawn_detached(
    argv: &[String],
    cwd: Option<&Path>,
    log: Option<&Path>,
) -> Result<std::process::Child, String> {
    let program: PathBuf = match cwd {
        Some(dir) if argv[0].contains('/') && Path::new(&argv[0]).is_relative() => {
            dir.join(&argv[0])
        }
        _ => PathBuf::from(&argv[0]),
    };
    let mut cmd = Command::new(&program);
    cmd.args(&argv[1..]).stdin(Stdio::null());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    match log {
        Some(path) => {
            let path = match cwd {
                Some(dir) if path.is_relative() => dir.join(path),
                _ => path.to_path_buf(),
            };
            let file = File::options()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("cannot open log {}: {e}", path.display()))?;
            let err = file.try_clone().map_err(|e| e.to_string())?;
            cmd.stdout(file).stderr(err);
        }
        None => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))
}
