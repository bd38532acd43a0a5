//! The Windows side of `crate::proc`. A child starts suspended, joins a Job
//! object of its own and only then runs, so that everything it starts is
//! in the job from the first instruction and a timeout ends the whole tree
//! (`TerminateJobObject`), like a process group on Unix. Anonymous pipes
//! cannot be polled, so a thread per pipe reads it; once the child has
//! exited we take what the threads have and do not wait for the pipes to
//! close (a grandchild may hold them). The job is not "kill on close": what
//! a child left running when it exited on its own (a recovery command's
//! daemon) lives on, unless the job `ends_group` (a check's command).
//!
//! Restarts: `stop` asks each match to close (`taskkill /T` without `/F`),
//! waits, then terminates what is left of its tree; `spawn_detached` starts
//! a copy in its own process group, without a console, outside our job when
//! the job allows it (so that the end of a scheduled task does not end it).

use std::io::{self, Read, Write};
use std::os::windows::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::ERROR_ACCESS_DENIED;
use windows_sys::Win32::System::Threading::{
    CREATE_BREAKAWAY_FROM_JOB, CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW, CREATE_SUSPENDED,
    DETACHED_PROCESS, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE, PROCESS_TERMINATE,
};

use super::table::Table;
use super::{Job, OUTPUT_CAP, Output, reap};
use crate::sys::windows::{JobObject, Process, resume};

/// Longest pause between two looks at whether the child has exited.
const MAX_TICK: Duration = Duration::from_millis(25);
/// After the child exited, how long the pipe threads get to hand over what
/// is already in the pipes.
const DRAIN_GRACE: Duration = Duration::from_millis(200);
/// How long a terminated process gets to be gone before a new copy starts.
const GONE_WAIT: Duration = Duration::from_secs(5);

/// Processes started by `spawn_detached` in this run: they and what they
/// start are not healthcheck's own children for the `process` check.
static DETACHED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Run the child to its end or to the timeout, whichever comes first.
pub(super) fn run(job: &Job) -> io::Result<Output> {
    let mut command = job.command();
    command.creation_flags(CREATE_SUSPENDED | CREATE_NO_WINDOW);
    let start = Instant::now();
    let mut child = command.spawn()?;
    let tree = Tree::adopt(&child);
    if !resume(&child) {
        let e = io::Error::other("cannot resume the suspended child");
        tree.kill(&mut child);
        reap(&mut child);
        return Err(e);
    }
    let result = watch(job, &mut child, &tree, start);
    if result.is_err() {
        tree.kill(&mut child);
        reap(&mut child);
    }
    result
}

fn watch(job: &Job, child: &mut Child, tree: &Tree, start: Instant) -> io::Result<Output> {
    let deadline = start.checked_add(job.timeout);
    if let Some(mut stdin) = child.stdin.take() {
        let bytes = job.stdin.unwrap_or_default().to_vec();
        // A child that does not read its stdin must not block us: the
        // thread ends when the child closes its end.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    }
    let out = Pipe::read(child.stdout.take());
    let err = Pipe::read(child.stderr.take());
    let mut tick = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            if job.ends_group {
                tree.kill(child);
            }
            let until = Instant::now() + DRAIN_GRACE;
            while !(out.done() && err.done()) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(2));
            }
            return Ok(output(child.id(), Some(status), &out, &err, false, start));
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            tree.kill(child);
            let status = reap(child);
            return Ok(output(child.id(), status, &out, &err, true, start));
        }
        std::thread::sleep(deadline.map_or(tick, |d| tick.min(d - now)));
        tick = (tick * 2).min(MAX_TICK);
    }
}

fn output(
    pid: u32,
    status: Option<ExitStatus>,
    out: &Pipe,
    err: &Pipe,
    timed_out: bool,
    start: Instant,
) -> Output {
    Output {
        pid,
        // A terminated child has the exit code we gave it: not its own.
        code: status.and_then(|s| s.code()).filter(|_| !timed_out),
        signal: None,
        stdout: out.take(),
        stderr: err.take(),
        timed_out,
        elapsed: start.elapsed(),
    }
}

/// The Job object holding a child and everything it starts. Without one
/// (the system refused it), only the child itself can be killed.
struct Tree(Option<JobObject>);

impl Tree {
    fn adopt(child: &Child) -> Tree {
        Tree(JobObject::adopt(child))
    }

    fn kill(&self, child: &mut Child) {
        match &self.0 {
            Some(job) if job.terminate() => {}
            _ => {
                let _ = child.kill();
            }
        }
    }
}

/// A thread reading one of the child's pipes to its end, keeping at most
/// `OUTPUT_CAP` bytes (the rest is read and dropped).
struct Pipe {
    kept: Arc<Mutex<Vec<u8>>>,
    done: Arc<AtomicBool>,
}

impl Pipe {
    fn read(pipe: Option<impl Read + Send + 'static>) -> Pipe {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(pipe.is_none()));
        if let Some(mut pipe) = pipe {
            let (kept, done) = (kept.clone(), done.clone());
            std::thread::spawn(move || {
                let mut chunk = [0u8; 64 * 1024];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => {
                            let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                            let room = OUTPUT_CAP - kept.len();
                            kept.extend_from_slice(&chunk[..n.min(room)]);
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    }
                }
                done.store(true, Ordering::SeqCst);
            });
        }
        Pipe { kept, done }
    }

    fn done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.kept.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Whether `pid` still runs. One we may not open runs (as far as we know).
fn alive(pid: u32) -> bool {
    match Process::open(pid, PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_SYNCHRONIZE) {
        Ok(p) => p.runs_after(Duration::ZERO),
        Err(e) => e.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32),
    }
}

/// Stop the matched processes of a service: ask each to close with its
/// tree (`taskkill /T`, no `/F`), wait until `until` for the ones that
/// could be asked, then terminate what is left of each tree. Returns how
/// many matches had to be terminated; `Err` when one may not be (another
/// user's): it would live on.
pub fn stop(pids: &[u32], until: Instant) -> Result<usize, String> {
    let trees = trees(pids);
    let mut asked = Vec::new();
    for pid in pids {
        let argv = [
            "taskkill".to_string(),
            "/PID".to_string(),
            pid.to_string(),
            "/T".to_string(),
        ];
        let closed = Job::new(&argv, Duration::from_secs(5))
            .run()
            .is_ok_and(|o| o.code == Some(0));
        if closed {
            asked.push(*pid);
        }
    }
    while asked.iter().any(|p| alive(*p)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut forced = 0;
    for (pid, tree) in pids.iter().zip(&trees) {
        if alive(*pid) {
            forced += 1;
        }
        for member in tree {
            terminate(*member)?;
        }
    }
    Ok(forced)
}

/// Each pid with its descendants (leaves last), from one look at the table.
fn trees(pids: &[u32]) -> Vec<Vec<u32>> {
    let Ok(table) = Table::read() else {
        return pids.iter().map(|p| vec![*p]).collect();
    };
    let all: Vec<u32> = table
        .listing()
        .map(|l| l.lines.into_iter().map(|(pid, _)| pid).collect())
        .unwrap_or_default();
    let parent_of: Vec<(u32, u32)> = all
        .iter()
        .filter_map(|pid| table.stat(*pid).map(|s| (*pid, s.parent)))
        .collect();
    pids.iter()
        .map(|root| {
            let mut tree = vec![*root];
            let mut i = 0;
            while i < tree.len() {
                let parent = tree[i];
                for (pid, p) in &parent_of {
                    if *p == parent && *pid != parent && !tree.contains(pid) {
                        tree.push(*pid);
                    }
                }
                i += 1;
            }
            tree
        })
        .collect()
}

/// Terminate `pid` if it runs, and wait a while for it to be gone.
fn terminate(pid: u32) -> Result<(), String> {
    let p = match Process::open(pid, PROCESS_TERMINATE | PROCESS_SYNCHRONIZE) {
        Ok(p) => p,
        Err(e) if e.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32) => {
            return Err(format!(
                "cannot stop pid {pid} ({e}): not starting a second copy"
            ));
        }
        // Gone already.
        Err(_) => return Ok(()),
    };
    if !p.runs_after(Duration::ZERO) {
        return Ok(());
    }
    if !p.terminate() && p.runs_after(Duration::ZERO) {
        return Err(format!(
            "cannot stop pid {pid} ({}): not starting a second copy",
            io::Error::last_os_error()
        ));
    }
    if p.runs_after(GONE_WAIT) {
        return Err(format!(
            "pid {pid} still runs after being terminated: not starting a second copy"
        ));
    }
    Ok(())
}

/// Start `cmd` in a process group of its own, without a console, and out
/// of our Job object when it allows that (a scheduled task's job may not):
/// it outlives this run and is never mistaken for one of our children.
pub fn spawn_detached(cmd: &mut Command) -> io::Result<Child> {
    let flags = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW;
    let child = match cmd
        .creation_flags(flags | CREATE_BREAKAWAY_FROM_JOB)
        .spawn()
    {
        Err(e) if e.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32) => {
            cmd.creation_flags(flags).spawn()?
        }
        other => other?,
    };
    DETACHED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(child.id());
    Ok(child)
}

/// `pid` runs, but we may not look at it (another user's process).
pub fn exists_unseen(pid: u32) -> bool {
    Process::open(pid, PROCESS_QUERY_LIMITED_INFORMATION)
        .is_err_and(|e| e.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32))
}

/// Whether a process of the table was started apart from us (a restarted
/// service), so that it and what it starts are not ours to ignore.
pub(super) fn apart(pid: u32, _session: u32) -> bool {
    DETACHED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&pid)
}
