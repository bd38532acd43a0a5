//! The Unix side of `crate::proc`: the child leads its own process group,
//! so that a timeout kills the group (`killpg`, SIGKILL), and so does the
//! child's exit when the job `ends_group` (on Linux, where the exit is
//! seen before the child is reaped); its pipes are
//! read without blocking (`poll`). Stopping a restarted service signals its
//! group too, and a service is started in a session of its own.

use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use super::{Job, OUTPUT_CAP, Output, reap};
use crate::sys;

/// Longest pause between two looks at whether the child has exited.
const MAX_TICK: Duration = Duration::from_millis(25);

/// Run the child to its end or to the timeout, whichever comes first.
pub(super) fn run(job: &Job) -> io::Result<Output> {
    let mut command = job.command();
    command.process_group(0);
    let start = Instant::now();
    let mut child = command.spawn()?;
    match watch(job, &mut child, start) {
        Ok(output) => Ok(output),
        Err(e) => {
            kill_group(&child);
            reap(&mut child);
            Err(e)
        }
    }
}

fn watch(job: &Job, child: &mut Child, start: Instant) -> io::Result<Output> {
    // No timeout is so long that it overflows the clock: `None` never ends.
    let deadline = start.checked_add(job.timeout);
    let mut feed = Feed::new(
        child.stdin.take().map(OwnedFd::from),
        job.stdin.unwrap_or_default(),
    )?;
    let mut out = Sink::new(child.stdout.take().map(OwnedFd::from))?;
    let mut err = Sink::new(child.stderr.take().map(OwnedFd::from))?;
    let mut tick = Duration::from_millis(1);
    loop {
        let ended = match exited(child)? {
            Some(true) if job.ends_group => {
                // Before it is reaped: its pid, the group's id, cannot
                // have been reused.
                kill_group(child);
                true
            }
            Some(ended) => ended,
            None => true,
        };
        if let Some(status) = ended.then(|| child.try_wait()).transpose()?.flatten() {
            // What the child wrote is in the pipes now; take it, but do
            // not wait for the pipes to close (a grandchild may hold them).
            out.read_available();
            err.read_available();
            return Ok(output(
                child.id(),
                Some(status),
                out,
                err,
                false,
                start.elapsed(),
            ));
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            kill_group(child);
            let status = reap(child);
            out.read_available();
            err.read_available();
            return Ok(output(child.id(), status, out, err, true, start.elapsed()));
        }
        let wait = deadline.map_or(tick, |d| tick.min(d - now));
        wait_for_pipes(&feed, &out, &err, wait)?;
        feed.write_available();
        out.read_available();
        err.read_available();
        tick = (tick * 2).min(MAX_TICK);
    }
}

fn output(
    pid: u32,
    status: Option<ExitStatus>,
    out: Sink,
    err: Sink,
    timed_out: bool,
    elapsed: Duration,
) -> Output {
    Output {
        pid,
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        stdout: out.kept,
        stderr: err.kept,
        timed_out,
        elapsed,
    }
}

/// Has the child exited? Asked without reaping it (`WNOWAIT`).
#[cfg(target_os = "linux")]
fn exited(child: &Child) -> io::Result<Option<bool>> {
    sys::process::has_exited(child.id()).map(Some)
}

/// Elsewhere it cannot be asked without reaping it (`None`): the group
/// is killed on timeout only.
#[cfg(not(target_os = "linux"))]
fn exited(_child: &Child) -> io::Result<Option<bool>> {
    Ok(None)
}

/// SIGKILL to the child's whole process group (its pid: see `process_group(0)`).
fn kill_group(child: &Child) {
    let Ok(pgid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // The child is not reaped yet, so its pid, which is also its group id,
    // cannot have been reused.
    let _ = sys::process::kill_group(pgid, libc::SIGKILL);
}

/// Sleep until a pipe is ready or `wait` has passed.
fn wait_for_pipes(feed: &Feed, out: &Sink, err: &Sink, wait: Duration) -> io::Result<()> {
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(3);
    let mut add = |file: &Option<File>, events| {
        if let Some(f) = file {
            fds.push(libc::pollfd {
                fd: f.as_raw_fd(),
                events,
                revents: 0,
            });
        }
    };
    add(&feed.file, libc::POLLOUT);
    add(&out.file, libc::POLLIN);
    add(&err.file, libc::POLLIN);
    if fds.is_empty() {
        std::thread::sleep(wait);
        return Ok(());
    }
    let millis = libc::c_int::try_from(wait.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
    match sys::process::poll(&mut fds, millis) {
        Err(e) if e.kind() != ErrorKind::Interrupted => Err(e),
        _ => Ok(()),
    }
}

/// The read end of stdout or stderr, and what was kept of it.
struct Sink {
    file: Option<File>,
    kept: Vec<u8>,
}

impl Sink {
    fn new(fd: Option<OwnedFd>) -> io::Result<Sink> {
        if let Some(fd) = &fd {
            sys::fs::set_nonblocking(fd, true)?;
        }
        Ok(Sink {
            file: fd.map(File::from),
            kept: Vec::new(),
        })
    }

    /// Read whatever is in the pipe now, without waiting. At the end of the
    /// pipe (or on an error, which a pipe does not really have) close it.
    fn read_available(&mut self) {
        let Some(file) = &mut self.file else { return };
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match file.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let room = OUTPUT_CAP - self.kept.len();
                    self.kept.extend_from_slice(&chunk[..n.min(room)]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        self.file = None;
    }
}

/// The write end of stdin and the bytes still to write to it.
struct Feed<'a> {
    file: Option<File>,
    rest: &'a [u8],
}

impl<'a> Feed<'a> {
    fn new(fd: Option<OwnedFd>, bytes: &'a [u8]) -> io::Result<Feed<'a>> {
        if let Some(fd) = &fd {
            sys::fs::set_nonblocking(fd, true)?;
        }
        let mut feed = Feed {
            file: fd.map(File::from),
            rest: bytes,
        };
        feed.write_available();
        Ok(feed)
    }

    /// Write what the pipe takes now; close it when all is written, or when
    /// the child closed its end (it need not read everything).
    fn write_available(&mut self) {
        let Some(file) = &mut self.file else { return };
        while !self.rest.is_empty() {
            match file.write(self.rest) {
                Ok(n) => self.rest = &self.rest[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        self.file = None;
    }
}

/// Stop the matched processes of a service: SIGTERM (and SIGCONT, so that
/// a stopped process can act on it, as systemd does), wait until `until`,
/// SIGKILL. A match that leads its own process group (every copy started
/// by `detach` does) is signalled as a group, so that what it started goes
/// with it. Returns how many needed SIGKILL; `Err` when a match may not be
/// signalled (another user's): it would live on.
pub fn stop(pids: &[u32], until: Instant) -> Result<usize, String> {
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
    let group = sys::process::process_group(pid);
    Some(
        if group == Some(pid) && pid != sys::process::own_process_group() {
            -pid
        } else {
            pid
        },
    )
}

/// Send `sig` to a pid, or to a group as a negative pid (0 only asks
/// whether it still exists).
fn signal(target: libc::pid_t, sig: i32) -> io::Result<()> {
    sys::process::kill(target, sig)
}

/// Start `cmd` in a session of its own, so that it outlives this run and is
/// never mistaken for one of healthcheck's own children.
pub fn spawn_detached(cmd: &mut Command) -> io::Result<Child> {
    sys::process::new_session_on_spawn(cmd);
    cmd.spawn()
}

/// `pid` runs, but we may not look at it (another user's process).
pub fn exists_unseen(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    sys::process::kill(pid, 0).is_err_and(|e| e.raw_os_error() == Some(libc::EPERM))
}

/// Whether a process of the table lives in a session other than ours: a
/// copy that a restart started (`spawn_detached`) does, and is not ours to ignore.
pub(super) fn apart(_pid: u32, session: u32) -> bool {
    let ours = u32::try_from(sys::process::own_session()).unwrap_or(0);
    session != ours
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::Job;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn sh(script: &str) -> Vec<String> {
        argv(&["sh", "-c", script])
    }

    /// Gone, or a zombie waiting for init: either way it runs no more.
    fn is_dead(pid: i32) -> bool {
        if crate::sys::process::kill(pid, 0).is_err() {
            return true;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        state.is_none_or(|s| s == "Z" || s == "X")
    }

    /// Processes die asynchronously after SIGKILL: allow them a generous while.
    fn dies_soon(pid: i32) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if is_dead(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn exit_code_and_both_streams() {
        let cmd = sh("echo out; echo err >&2; exit 2");
        let out = Job::new(&cmd, Duration::from_secs(10)).run().unwrap();
        assert_eq!(out.code, Some(2));
        assert_eq!(out.signal, None);
        assert!(!out.timed_out);
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.describe(), "exited 2");
    }

    #[test]
    fn timeout_kills_the_child_and_reaps_it() {
        let cmd = argv(&["sleep", "60"]);
        let out = Job::new(&cmd, Duration::from_millis(300)).run().unwrap();
        assert!(out.timed_out);
        assert!(
            out.elapsed >= Duration::from_millis(300),
            "{:?}",
            out.elapsed
        );
        assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
        assert_eq!(out.signal, Some(libc::SIGKILL));
        assert_eq!(out.code, None);
        // Reaped, so not even a zombie is left.
        assert!(crate::sys::process::kill(out.pid as i32, 0).is_err());
        assert!(out.describe().starts_with("timed out after"));
    }

    #[test]
    fn timeout_kills_the_whole_process_group() {
        let cmd = sh("sleep 60 & echo $!; sleep 60");
        let out = Job::new(&cmd, Duration::from_millis(500)).run().unwrap();
        assert!(out.timed_out);
        let background: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(
            dies_soon(background),
            "background sleep {background} still runs"
        );
        assert!(dies_soon(out.pid as i32));
    }

    #[test]
    fn missing_program_names_the_program() {
        let cmd = argv(&["/nonexistent/check_missing_xyz", "-w", "1"]);
        let e = Job::new(&cmd, Duration::from_secs(1)).run().unwrap_err();
        assert_eq!(e.source.kind(), ErrorKind::NotFound);
        let text = e.to_string();
        assert!(text.contains("/nonexistent/check_missing_xyz"), "{text}");
        assert!(text.contains("No such file"), "{text}");
    }

    #[test]
    fn empty_argv_is_an_error() {
        let e = Job::new(&[], Duration::from_secs(1)).run().unwrap_err();
        assert_eq!(e.source.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn stdin_and_env_reach_the_child() {
        let cmd = sh("cat; echo \"$HC_TEST_VALUE\"");
        let out = Job::new(&cmd, Duration::from_secs(10))
            .stdin(b"digest line\n")
            .env("HC_TEST_VALUE", "critical")
            .run()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "digest line\ncritical\n"
        );
        assert_eq!(out.code, Some(0));
    }

    #[test]
    fn stdin_unread_by_the_child_does_not_hang() {
        let cmd = sh("exit 0");
        let big = vec![b'x'; 4 * 1024 * 1024];
        let out = Job::new(&cmd, Duration::from_secs(10))
            .stdin(&big)
            .run()
            .unwrap();
        assert!(!out.timed_out);
        assert_eq!(out.code, Some(0));
    }

    #[test]
    fn output_is_capped_and_drained() {
        // 3 MiB on stdout: the child must not block on a full pipe, and only
        // the cap is kept.
        let cmd = sh("head -c 3145728 /dev/zero; echo done >&2");
        let out = Job::new(&cmd, Duration::from_secs(10)).run().unwrap();
        assert_eq!(out.code, Some(0));
        assert_eq!(out.stdout.len(), OUTPUT_CAP);
        assert_eq!(out.stderr, b"done\n");
    }

    #[test]
    fn an_escaped_grandchild_holding_the_pipe_does_not_hold_us() {
        // `setsid` leaves our process group and keeps stdout open for 30s.
        let cmd = sh("setsid sleep 30 & echo $!; echo done");
        let out = Job::new(&cmd, Duration::from_secs(20)).run().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let escaped: i32 = text.lines().next().unwrap().parse().unwrap();
        let _ = crate::sys::process::kill(escaped, libc::SIGKILL);
        assert!(!out.timed_out);
        assert_eq!(out.code, Some(0));
        assert!(text.ends_with("done\n"), "{text}");
        assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    }

    #[test]
    fn a_signal_is_reported_as_such() {
        let cmd = sh("kill -TERM $$");
        let out = Job::new(&cmd, Duration::from_secs(10)).run().unwrap();
        assert_eq!(out.code, None);
        assert_eq!(out.signal, Some(libc::SIGTERM));
        assert_eq!(out.describe(), "killed by signal 15");
    }
}
