//! Restarting a plain process (seed 003's `python main.py`, no systemd, no
//! docker): SIGTERM every match, wait up to 5 s, SIGKILL the rest, start it
//! again detached (its own session, stdin null, output appended to its
//! log), and check that it stays alive until `verify`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;

use super::Ctx;
use crate::check::process::matching_pids;

/// How long stopped processes get to exit after SIGTERM.
const TERM_WAIT: Duration = Duration::from_secs(5);

pub fn restart(
    pattern: &Regex,
    start: &[String],
    cwd: Option<&Path>,
    log: Option<&Path>,
    verify: Duration,
    ctx: &Ctx,
) -> Result<String, String> {
    let old = matching_pids(pattern).map_err(|e| format!("cannot list processes: {e}"))?;
    let killed = stop(&old, ctx);
    let mut child = spawn_detached(start, cwd, log)?;
    let pid = child.id();
    let until = ctx.until(verify);
    while Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "started {} (pid {pid}) but it exited at once ({status})",
                start[0]
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let stopped = match (old.len(), killed) {
        (0, _) => "nothing was running".to_string(),
        (n, 0) => format!("stopped {n} process(es)"),
        (n, k) => format!("stopped {n} process(es), {k} with SIGKILL"),
    };
    Ok(format!(
        "{stopped}; started {} as pid {pid}, alive after {}s",
        start[0],
        verify.as_secs()
    ))
}

/// SIGTERM (and SIGCONT, so that a stopped process can act on it, as
/// systemd does), wait, SIGKILL. Returns how many needed SIGKILL.
fn stop(pids: &[u32], ctx: &Ctx) -> usize {
    for pid in pids {
        signal(*pid, libc::SIGTERM);
        signal(*pid, libc::SIGCONT);
    }
    let until = ctx.until(TERM_WAIT);
    let alive = |pids: &[u32]| {
        pids.iter()
            .copied()
            .filter(|p| signal(*p, 0))
            .collect::<Vec<_>>()
    };
    let mut left = alive(pids);
    while !left.is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
        left = alive(&left);
    }
    for pid in &left {
        signal(*pid, libc::SIGKILL);
    }
    left.len()
}

/// Send `sig` (0 only asks whether it exists); true when delivered.
fn signal(pid: u32, sig: i32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, sig) == 0 }
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
