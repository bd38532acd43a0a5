//! `process`: is the bot running? Finds processes by a regex on their full
//! command line (names are cut to 15 characters on Linux, and every Python
//! bot is called `python`) or by a pidfile, and reports how many there are,
//! their memory and their CPU use since the previous run. A stopped (`T`)
//! or zombie process is as dead as a missing one. healthcheck itself and its
//! children (its `command` checks run at the same time) never count.
//!
//! On Linux the process table is read from /proc directly: the command line
//! of every process, then `stat` of the matching ones and of their
//! ancestors only. Measured on a 2-CPU VM with ~80 processes (release
//! build, fresh process as in a real run): /proc 0.6-0.7 ms, sysinfo 0.40
//! refreshing only command lines, memory and CPU without tasks 3-4 ms,
//! `System::new_all()` 6-13 ms. The numbers we need (state, parent, rss,
//! CPU ticks, start time) are all in `/proc/<pid>/stat`, which sysinfo
//! would read anyway. Other systems use sysinfo with only those refreshes.

use std::collections::{BTreeMap, HashMap};
use std::io::ErrorKind;
use std::path::PathBuf;

use anyhow::anyhow;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::{Kind, Probe, ProbeContext};
use crate::config::{Builder, RawCheck, expand_tilde};
use crate::model::Status;
use crate::model::{Outcome, Unit};

pub const KIND: Kind = Kind {
    name: "process",
    keys: &["match", "pidfile"],
    readings: &[
        ("count", Unit::Count),
        ("rss", Unit::Bytes),
        ("cpu", Unit::Percent),
    ],
    primary: super::by_order,
    build,
};

/// Pids named in a message before "and N more".
const PIDS_SHOWN: usize = 10;
/// Ancestors followed when looking for healthcheck above a process.
const MAX_DEPTH: usize = 256;

enum Target {
    Match(Regex),
    Pidfile(PathBuf),
}

struct ProcessCheck {
    target: Target,
    /// No process is CRITICAL, unless the user's own thresholds judge `count`.
    none_is_critical: bool,
}

fn build(raw: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let target = match (&raw.match_, &raw.pidfile) {
        (Some(pattern), None) => Target::Match(b.regex("match", pattern)?),
        (None, Some(path)) => Target::Pidfile(expand_tilde(path)),
        (Some(_), Some(_)) => {
            b.error("pidfile", "give either `match` or `pidfile`, not both");
            return None;
        }
        (None, None) => {
            b.error(
                "match",
                "missing key `match` (a regex on the command line) or `pidfile`",
            );
            return None;
        }
    };
    let judges_count = raw.reading.as_deref().is_none_or(|r| r == "count");
    let has_limits = [
        &raw.warn_above,
        &raw.crit_above,
        &raw.warn_below,
        &raw.crit_below,
    ]
    .iter()
    .any(|l| l.is_some());
    Some(Box::new(ProcessCheck {
        target,
        none_is_critical: !(judges_count && has_limits),
    }))
}

/// What `stat` tells about one process.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stat {
    parent: u32,
    /// The session; a process healthcheck started in a session of its own
    /// (a restarted bot) is not one of its children for counting.
    session: u32,
    /// The state letter as ps shows it: R, S, D, T, t, Z...
    state: char,
    rss: u64,
    /// User + system CPU time, in milliseconds.
    cpu_ms: u64,
    /// When it started, in the system's own unit; tells a reused pid apart.
    start: u64,
}

/// CPU time of the counted processes at one moment, kept for the next run.
#[derive(Serialize, Deserialize, Debug, Default, PartialEq)]
struct CpuSample {
    /// Epoch milliseconds.
    at: i64,
    /// pid -> (start, CPU milliseconds).
    pids: BTreeMap<u32, (u64, u64)>,
}

/// CPU percent (of one core, as top shows it) used between two samples by
/// the processes present in both. `None` when none is in both or no time
/// passed.
fn cpu_percent(before: &CpuSample, after: &CpuSample) -> Option<f64> {
    let elapsed = after.at - before.at;
    if elapsed <= 0 {
        return None;
    }
    let used: Vec<u64> = after
        .pids
        .iter()
        .filter_map(|(pid, (start, cpu))| match before.pids.get(pid) {
            Some((s, earlier)) if s == start => Some(cpu.saturating_sub(*earlier)),
            _ => None,
        })
        .collect();
    if used.is_empty() {
        return None;
    }
    Some(100.0 * used.iter().sum::<u64>() as f64 / elapsed as f64)
}

impl Probe for ProcessCheck {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let table = Table::read()?;
        let mut blind = None;
        let (what, candidates) = match &self.target {
            Target::Match(re) => {
                let (pids, why) = table.matching(re)?;
                blind = why;
                (format!("/{}/", re.as_str()), pids)
            }
            Target::Pidfile(path) => match std::fs::read_to_string(path) {
                Ok(text) => match text
                    .split_whitespace()
                    .next()
                    .and_then(|t| t.parse::<u32>().ok())
                {
                    Some(pid) if table.stat(pid).is_none() && exists_unseen(pid) => {
                        return Err(anyhow!(
                            "pid {pid} from {} runs, but its /proc entry cannot be read: cannot tell whether it is alive",
                            path.display()
                        ));
                    }
                    Some(pid) => (format!("pid {pid} from {}", path.display()), vec![pid]),
                    None => {
                        return Ok(Outcome::critical(format!(
                            "pidfile {} holds no pid",
                            path.display()
                        )));
                    }
                },
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    return Ok(Outcome::critical(format!(
                        "pidfile not found: {}",
                        path.display()
                    )));
                }
                Err(e) => return Err(anyhow!("{}: {e}", path.display())),
            },
        };
        let found = table.not_ours(candidates);
        if found.is_empty() {
            // Not seeing a process is not knowing it is gone.
            if let Some(why) = &blind {
                return Err(anyhow!(
                    "no visible process matches {what}, but {why}: cannot rule out that one runs"
                ));
            }
        }
        let sample = CpuSample {
            at: jiff::Timestamp::now().as_millisecond(),
            pids: found
                .iter()
                .map(|(pid, s)| (*pid, (s.start, s.cpu_ms)))
                .collect(),
        };
        let before = ctx
            .memory
            .clone()
            .and_then(|m| serde_json::from_value::<CpuSample>(m).ok());
        let cpu = before.and_then(|b| cpu_percent(&b, &sample));
        let mut outcome = self.judge(&what, &found, cpu);
        // Found, but the count may be short: say so.
        if let Some(why) = blind {
            outcome.message = format!("{}; the count may be low: {why}", outcome.message);
        }
        Ok(outcome.remember(serde_json::to_value(sample)?))
    }
}

impl ProcessCheck {
    /// The outcome for the processes found; `what` names what was looked
    /// for ("/python.*main.py/", "pid 12 from /run/bot.pid").
    fn judge(&self, what: &str, found: &[(u32, Stat)], cpu: Option<f64>) -> Outcome {
        let count = found.len();
        let rss: u64 = found.iter().map(|(_, s)| s.rss).sum();
        let mut outcome = if count == 0 {
            let message = match self.target {
                Target::Match(_) => format!("no process matches {what}"),
                Target::Pidfile(_) => format!("{what} is not running"),
            };
            Outcome::new(
                if self.none_is_critical {
                    Status::Critical
                } else {
                    Status::Ok
                },
                message,
            )
        } else {
            let pids: Vec<u32> = found.iter().map(|(pid, _)| *pid).collect();
            let mut message = match self.target {
                Target::Match(_) if count == 1 => {
                    format!("1 process matches {what} (pid {})", list(&pids))
                }
                Target::Match(_) => {
                    format!("{count} processes match {what} (pids {})", list(&pids))
                }
                Target::Pidfile(_) => format!("{what} is running"),
            };
            message.push_str(&format!(", rss {}", Unit::Bytes.show(rss as f64)));
            if let Some(cpu) = cpu {
                message.push_str(&format!(", cpu {}", Unit::Percent.show(cpu)));
            }
            match dead_message(found) {
                Some(dead) => Outcome::critical(format!("{dead}; {message}")),
                None => Outcome::ok(message),
            }
        };
        outcome = outcome.reading("count", count as f64, Unit::Count).reading(
            "rss",
            rss as f64,
            Unit::Bytes,
        );
        if let Some(cpu) = cpu {
            outcome = outcome.reading("cpu", cpu, Unit::Percent);
        }
        outcome
    }
}

/// "process 1234 is stopped (T)", "processes 12, 40 are zombies (Z)"; `None`
/// when every process is alive.
fn dead_message(found: &[(u32, Stat)]) -> Option<String> {
    let mut parts = Vec::new();
    for (letters, one, many) in [
        ("Tt", "is stopped", "are stopped"),
        ("Z", "is a zombie", "are zombies"),
    ] {
        let hit: Vec<(u32, char)> = found
            .iter()
            .filter(|(_, s)| letters.contains(s.state))
            .map(|(pid, s)| (*pid, s.state))
            .collect();
        let Some((_, state)) = hit.first() else {
            continue;
        };
        let pids: Vec<u32> = hit.iter().map(|(pid, _)| *pid).collect();
        parts.push(if pids.len() == 1 {
            format!("process {} {one} ({state})", pids[0])
        } else {
            format!("processes {} {many} ({state})", list(&pids))
        });
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// "12, 40, 41", or "1, 2, ... 10 and 5 more".
fn list(pids: &[u32]) -> String {
    let shown: Vec<String> = pids.iter().take(PIDS_SHOWN).map(u32::to_string).collect();
    match pids.len().saturating_sub(PIDS_SHOWN) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// Whether `pid` is healthcheck itself or a descendant of it, following
/// parents up from `parent`. `parents` caches what was looked up.
/// The pids whose full command line matches `pattern`, healthcheck itself
/// and its children excepted (the processes a restart must stop).
/// When some processes cannot be seen, a match among them cannot be ruled
/// out: that is an error, so that a restart never starts a second copy.
pub fn matching_pids(pattern: &regex::Regex) -> anyhow::Result<Vec<u32>> {
    let table = Table::read()?;
    let (candidates, blind) = table.matching(pattern)?;
    if let Some(why) = blind {
        return Err(anyhow!(
            "{why}: cannot rule out that /{}/ already runs",
            pattern.as_str()
        ));
    }
    Ok(table
        .not_ours(candidates)
        .into_iter()
        .map(|(pid, _)| pid)
        .collect())
}

impl Table {
    /// The pids whose command line matches, and why some processes could
    /// not be looked at, if any could not.
    fn matching(&self, pattern: &regex::Regex) -> anyhow::Result<(Vec<u32>, Option<String>)> {
        let listing = self.listing()?;
        let pids = listing
            .lines
            .into_iter()
            .filter(|(_, cmd)| pattern.is_match(cmd))
            .map(|(pid, _)| pid)
            .collect();
        Ok((pids, listing.blind))
    }

    /// The candidates that still run, with their stat, without healthcheck
    /// and its children. A child in a session of its own (a bot that a
    /// restart started) is not healthcheck's and counts.
    fn not_ours(&self, candidates: Vec<u32>) -> Vec<(u32, Stat)> {
        // SAFETY: getsid(0) asks for our own session and cannot fail.
        let our_session = u32::try_from(unsafe { libc::getsid(0) }).unwrap_or(0);
        let mut parents = HashMap::new();
        candidates
            .into_iter()
            .filter_map(|pid| self.stat(pid).map(|s| (pid, s)))
            .filter(|(pid, stat)| {
                stat.session != our_session || !is_ours(self, &mut parents, *pid, stat.parent)
            })
            .collect()
    }
}

fn is_ours(table: &Table, parents: &mut HashMap<u32, u32>, pid: u32, parent: u32) -> bool {
    let me = std::process::id();
    let (mut current, mut next) = (pid, parent);
    for _ in 0..MAX_DEPTH {
        if current == me {
            return true;
        }
        if current <= 1 || next == 0 {
            return false;
        }
        current = next;
        next = match parents.get(&current) {
            Some(p) => *p,
            None => {
                let p = table.stat(current).map_or(0, |s| s.parent);
                parents.insert(current, p);
                p
            }
        };
    }
    false
}

/// The command lines of the process table, and why it may be incomplete.
struct Listing {
    lines: Vec<(u32, String)>,
    /// Why some processes could not be seen or read, when some could not.
    blind: Option<String>,
}

/// `pid` runs, but we may not look at it (another user's process).
fn exists_unseen(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only asks whether the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The process table, read from /proc as it is asked.
#[cfg(target_os = "linux")]
struct Table {
    page_size: u64,
    ticks_per_sec: u64,
}

#[cfg(target_os = "linux")]
impl Table {
    fn read() -> anyhow::Result<Table> {
        // SAFETY: sysconf has no preconditions.
        let (page, ticks) = unsafe {
            (
                libc::sysconf(libc::_SC_PAGESIZE),
                libc::sysconf(libc::_SC_CLK_TCK),
            )
        };
        Ok(Table {
            page_size: u64::try_from(page).unwrap_or(4096),
            ticks_per_sec: u64::try_from(ticks).unwrap_or(100).max(1),
        })
    }

    /// Every process with its command line, arguments joined by spaces. A
    /// process without one (kernel thread, zombie) goes by its name, as
    /// `pgrep -f` does. A process that exits while we look is skipped; one
    /// we may not read (`hidepid`, another user's process under a hardened
    /// kernel) makes the listing blind, and so does a /proc that hides
    /// other users' processes altogether.
    fn listing(&self) -> anyhow::Result<Listing> {
        let dir = std::fs::read_dir("/proc").map_err(|e| anyhow!("cannot list /proc: {e}"))?;
        let mut lines = Vec::new();
        let mut unreadable = Vec::new();
        let mut buf = Vec::with_capacity(4096);
        for entry in dir {
            let Some(pid) = entry
                .ok()
                .and_then(|e| e.file_name().to_str()?.parse::<u32>().ok())
            else {
                continue;
            };
            match command_line(pid, &mut buf) {
                Ok(cmd) => lines.push((pid, cmd)),
                Err(e) if gone(&e) => {}
                Err(_) => unreadable.push(pid),
            }
        }
        // Every real process table lists the process reading it.
        if !lines.iter().any(|(pid, _)| *pid == std::process::id()) {
            return Err(anyhow!(
                "/proc does not list healthcheck itself (pid {}): it is not this system's process table",
                std::process::id()
            ));
        }
        let mut why = Vec::new();
        if let Some(hidden) = hidden_by_mount() {
            why.push(hidden);
        }
        if !unreadable.is_empty() {
            why.push(format!(
                "the command lines of {} process(es) cannot be read (pids {})",
                unreadable.len(),
                list(&unreadable)
            ));
        }
        Ok(Listing {
            lines,
            blind: (!why.is_empty()).then(|| why.join("; ")),
        })
    }

    fn stat(&self, pid: u32) -> Option<Stat> {
        parse_stat(
            &std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?,
            self.page_size,
            self.ticks_per_sec,
        )
    }
}

/// One process's command line, or its name when it has none. `buf` is
/// reused from one process to the next (no size lookup, no allocation).
#[cfg(target_os = "linux")]
fn command_line(pid: u32, buf: &mut Vec<u8>) -> std::io::Result<String> {
    use std::io::Read;
    buf.clear();
    std::fs::File::open(format!("/proc/{pid}/cmdline"))?.read_to_end(buf)?;
    let raw = &buf[..];
    if raw.is_empty() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))?;
        return Ok(comm.trim_end_matches('\n').to_string());
    }
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Ok(args.join(" "))
}

/// The process exited while we looked (its /proc entry went away).
#[cfg(target_os = "linux")]
fn gone(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH)
}

/// Why /proc hides other users' processes from us, if it does: the /proc
/// we see is mounted with `hidepid=invisible` (2) or `ptraceable` (4), and
/// we are neither root nor in its `gid=` group. (`hidepid=noaccess` lists
/// them but refuses their command lines: `listing` sees that itself.)
#[cfg(target_os = "linux")]
fn hidden_by_mount() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    // Nothing is hidden from root: the mount table is not even read.
    if euid == 0 {
        return None;
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    // The last mount on /proc is the one on top, the one we read.
    let options = mountinfo.lines().rev().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        let mut fs = fs.split_whitespace();
        let (kind, options) = (fs.next()?, fs.nth(1)?);
        (mount.split_whitespace().nth(4)? == "/proc" && kind == "proc").then_some(options)
    })?;
    let option = |name: &str| {
        options
            .split(',')
            .find_map(|o| o.strip_prefix(name)?.strip_prefix('='))
    };
    let hidepid = option("hidepid")?;
    if !matches!(hidepid, "2" | "invisible" | "4" | "ptraceable") {
        return None;
    }
    let exempt = option("gid")
        .and_then(|g| g.parse::<libc::gid_t>().ok())
        .is_some_and(in_group);
    (!exempt).then(|| {
        format!("/proc is mounted with hidepid={hidepid}, which hides other users' processes from uid {euid}")
    })
}

/// Is `gid` our effective group or one of our supplementary groups?
#[cfg(target_os = "linux")]
fn in_group(gid: libc::gid_t) -> bool {
    // SAFETY: getegid has no preconditions and cannot fail.
    if unsafe { libc::getegid() } == gid {
        return true;
    }
    let mut groups = vec![0 as libc::gid_t; 256];
    // SAFETY: `groups` has room for the 256 entries getgroups may write.
    let n = unsafe { libc::getgroups(256, groups.as_mut_ptr()) };
    usize::try_from(n).is_ok_and(|n| groups[..n].contains(&gid))
}

/// `/proc/<pid>/stat`: "pid (comm) state ppid ...". The name may hold
/// spaces and parentheses, so fields are counted after the last ')'.
#[cfg(target_os = "linux")]
fn parse_stat(text: &str, page_size: u64, ticks_per_sec: u64) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 3, 4, 14, 15, 22 and 24 of proc(5), counted from `state` = 0.
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    let ticks = num(11)? + num(12)?;
    Some(Stat {
        state: f.first()?.chars().next()?,
        parent: f.get(1)?.parse().ok()?,
        session: f.get(3)?.parse().ok()?,
        cpu_ms: ticks * 1000 / ticks_per_sec,
        start: num(19)?,
        rss: num(21)? * page_size,
    })
}

/// The process table as sysinfo sees it, refreshed once with only what the
/// check needs.
#[cfg(not(target_os = "linux"))]
struct Table {
    sys: sysinfo::System,
}

#[cfg(not(target_os = "linux"))]
impl Table {
    fn read() -> anyhow::Result<Table> {
        use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
        let mut sys = System::new()?;
        let what = ProcessRefreshKind::nothing()
            .without_tasks()
            .with_cmd(UpdateKind::Always)
            .with_memory()
            .with_cpu();
        sys.refresh_processes_specifics(ProcessesToUpdate::All, true, what);
        Ok(Table { sys })
    }

    fn listing(&self) -> anyhow::Result<Listing> {
        let line = |p: &sysinfo::Process| {
            if p.cmd().is_empty() {
                p.name().to_string_lossy().into_owned()
            } else {
                p.cmd()
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        let lines = self
            .sys
            .processes()
            .iter()
            .map(|(pid, p)| (pid.as_u32(), line(p)))
            .collect();
        Ok(Listing { lines, blind: None })
    }

    fn stat(&self, pid: u32) -> Option<Stat> {
        use sysinfo::ProcessStatus;
        let p = self.sys.process(sysinfo::Pid::from_u32(pid))?;
        let state = match p.status() {
            ProcessStatus::Stop => 'T',
            ProcessStatus::Tracing => 't',
            ProcessStatus::Zombie => 'Z',
            ProcessStatus::Run => 'R',
            _ => 'S',
        };
        Some(Stat {
            parent: p.parent().map_or(0, |pp| pp.as_u32()),
            session: p.session_id().map_or(0, |s| s.as_u32()),
            state,
            rss: p.memory(),
            cpu_ms: p.accumulated_cpu_time(),
            start: p.start_time(),
        })
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::*;

    static NEXT: AtomicUsize = AtomicUsize::new(0);

    /// A `sleep` interval unique to this test run, to be found by its command line.
    fn marker() -> String {
        format!(
            "999.{}0{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        )
    }

    /// A process started through a shell that exits at once, so that it is
    /// not our descendant (which the check would rightly ignore). Killed on drop.
    struct Detached(u32);

    impl Detached {
        fn start(script: &str) -> Detached {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("{script} >/dev/null 2>&1 & echo $!"))
                .stdin(Stdio::null())
                .output()
                .unwrap();
            Detached(
                String::from_utf8(out.stdout)
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap(),
            )
        }

        fn signal(&self, signal: i32) {
            // SAFETY: kill has no memory preconditions; the pid is our own test process.
            assert_eq!(unsafe { libc::kill(self.0 as i32, signal) }, 0);
        }
    }

    impl Drop for Detached {
        fn drop(&mut self) {
            // SAFETY: as above.
            unsafe { libc::kill(self.0 as i32, libc::SIGKILL) };
        }
    }

    /// Kills, when dropped, every process whose command line matches (our own
    /// test processes), also when an assertion failed.
    struct KillMatching(Regex);

    impl KillMatching {
        fn pids(&self) -> Vec<u32> {
            let lines = Table::read().unwrap().listing().unwrap().lines;
            lines
                .into_iter()
                .filter(|(_, c)| self.0.is_match(c))
                .map(|(pid, _)| pid)
                .collect()
        }
    }

    impl Drop for KillMatching {
        fn drop(&mut self) {
            for pid in self.pids() {
                // SAFETY: kill has no memory preconditions; these are our own test processes.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
    }

    fn check(extra: &str) -> std::sync::Arc<dyn Probe> {
        let toml = format!("[[check]]\nname = \"p\"\ntype = \"process\"\n{extra}\n");
        crate::config::load_str("t.toml", &toml).unwrap().checks[0]
            .probe
            .clone()
    }

    fn matching(pattern: &str) -> std::sync::Arc<dyn Probe> {
        check(&format!("match = '{pattern}'"))
    }

    fn run(p: &dyn Probe, memory: Option<serde_json::Value>) -> Outcome {
        let ctx = ProbeContext {
            now: jiff::Timestamp::now(),
            deadline: Instant::now() + Duration::from_secs(5),
            memory,
        };
        p.probe(&ctx).unwrap()
    }

    fn value(o: &Outcome, name: &str) -> Option<f64> {
        o.readings.iter().find(|r| r.name == name).map(|r| r.value)
    }

    /// Probe until `done` holds (signals and exits take effect asynchronously).
    fn until(p: &dyn Probe, done: impl Fn(&Outcome) -> bool) -> Outcome {
        let start = Instant::now();
        loop {
            let o = run(p, None);
            if done(&o) || start.elapsed() > Duration::from_secs(5) {
                return o;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_process_is_found_stopped_continued_and_gone() {
        let mark = marker();
        let sleeper = Detached::start(&format!("exec sleep {mark}"));
        let p = matching(&format!("^sleep {}$", regex::escape(&mark)));

        // Right after exec a process may not have its memory mapped yet:
        // wait until it has some.
        let o = until(&*p, |o| {
            o.status == Status::Ok && value(o, "rss").is_some_and(|r| r > 0.0)
        });
        assert_eq!(o.status, Status::Ok, "{o:?}");
        assert_eq!(value(&o, "count"), Some(1.0));
        assert!(value(&o, "rss").unwrap() > 0.0, "{o:?}");
        assert_eq!(
            value(&o, "cpu"),
            None,
            "no CPU percent without a previous run"
        );
        assert!(
            o.message.starts_with("1 process matches /^sleep "),
            "{}",
            o.message
        );
        assert!(
            o.message.contains(&format!("(pid {}), rss ", sleeper.0)),
            "{}",
            o.message
        );

        sleeper.signal(libc::SIGSTOP);
        let o = until(&*p, |o| o.status == Status::Critical);
        assert_eq!(o.status, Status::Critical, "{o:?}");
        assert!(
            o.message
                .starts_with(&format!("process {} is stopped (T); ", sleeper.0)),
            "{}",
            o.message
        );

        sleeper.signal(libc::SIGCONT);
        let o = until(&*p, |o| o.status == Status::Ok);
        assert_eq!(o.status, Status::Ok, "{o:?}");

        sleeper.signal(libc::SIGKILL);
        let o = until(&*p, |o| value(o, "count") == Some(0.0));
        assert_eq!(o.status, Status::Critical, "{o:?}");
        assert_eq!(value(&o, "count"), Some(0.0));
        assert_eq!(
            o.message,
            format!("no process matches /^sleep {}$/", regex::escape(&mark))
        );
    }

    #[test]
    fn a_zombie_is_critical() {
        // A process whose command line is gone goes by its name: give the
        // zombie a unique one through a symlink to the shell.
        let dir = tempfile::tempdir().unwrap();
        let name = format!(
            "hz{}z{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let link = dir.path().join(&name);
        std::os::unix::fs::symlink("/bin/sh", &link).unwrap();
        // The shell starts the child, then becomes a `sleep` that never reaps it.
        let _parent = Detached::start(&format!(
            "sh -c '{} & exec sleep {}'",
            link.display(),
            marker()
        ));
        let p = matching(&format!("^{name}$"));
        let o = until(&*p, |o| {
            o.status == Status::Critical && value(o, "count") == Some(1.0)
        });
        assert_eq!(o.status, Status::Critical, "{o:?}");
        assert!(
            o.message.contains(" is a zombie (Z); 1 process matches "),
            "{}",
            o.message
        );
    }

    #[test]
    fn healthcheck_and_its_children_never_count() {
        // Our own child and grandchild match, but are ours.
        let mark = marker();
        let pattern = format!("^sleep {}$", regex::escape(&mark));
        let ours = KillMatching(Regex::new(&pattern).unwrap());
        let quiet = |c: &mut Command| {
            c.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let mut child = quiet(Command::new("sleep").arg(&mark));
        let mut grandparent = quiet(
            Command::new("sh")
                .arg("-c")
                .arg(format!("sleep {mark}; true")),
        );
        let table = Table::read().unwrap();
        let start = Instant::now();
        while ours.pids().len() < 2 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "the sleeps did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let o = run(&*matching(&pattern), None);
        assert_eq!(value(&o, "count"), Some(0.0), "{o:?}");
        assert_eq!(o.status, Status::Critical);
        drop(ours);
        child.wait().unwrap();
        grandparent.wait().unwrap();

        // This very test binary matches its own command line, and is not counted.
        let me = std::process::id();
        let my_line = table
            .listing()
            .unwrap()
            .lines
            .into_iter()
            .find(|(pid, _)| *pid == me)
            .unwrap()
            .1;
        let p = matching(&format!("^{}$", regex::escape(&my_line)));
        let o = run(&*p, None);
        let counted: CpuSample = serde_json::from_value(o.memory.clone().unwrap()).unwrap();
        assert!(!counted.pids.contains_key(&me), "{o:?}");
    }

    #[test]
    fn count_zero_is_only_a_reading_when_thresholds_judge_count() {
        let nothing = format!("match = '^no such process {}$'", marker());
        let o = run(&*check(&format!("{nothing}\ncrit_below = 1")), None);
        assert_eq!(
            (o.status, value(&o, "count")),
            (Status::Ok, Some(0.0)),
            "{o:?}"
        );
        let o = run(
            &*check(&format!("{nothing}\nreading = \"count\"\nwarn_above = 3")),
            None,
        );
        assert_eq!(o.status, Status::Ok, "{o:?}");
        let o = run(
            &*check(&format!(
                "{nothing}\nreading = \"rss\"\ncrit_above = \"1GiB\""
            )),
            None,
        );
        assert_eq!(o.status, Status::Critical, "{o:?}");
        let o = run(&*check(&nothing), None);
        assert_eq!(o.status, Status::Critical, "{o:?}");
    }

    #[test]
    fn pidfile_cases() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("bot.pid");
        let p = check(&format!("pidfile = '{}'", pidfile.display()));

        let o = run(&*p, None);
        assert_eq!(o.status, Status::Critical);
        assert_eq!(
            o.message,
            format!("pidfile not found: {}", pidfile.display())
        );

        let sleeper = Detached::start(&format!("exec sleep {}", marker()));
        std::fs::write(&pidfile, format!("{}\n", sleeper.0)).unwrap();
        let o = run(&*p, None);
        assert_eq!(o.status, Status::Ok, "{o:?}");
        assert_eq!(value(&o, "count"), Some(1.0));
        assert!(o.message.starts_with(&format!(
            "pid {} from {} is running, rss ",
            sleeper.0,
            pidfile.display()
        )));

        // pid_max is at most 2^22 on Linux: this pid cannot run.
        std::fs::write(&pidfile, "2147483000\n").unwrap();
        let o = run(&*p, None);
        assert_eq!(o.status, Status::Critical);
        assert_eq!(
            o.message,
            format!("pid 2147483000 from {} is not running", pidfile.display())
        );

        std::fs::write(&pidfile, "").unwrap();
        let o = run(&*p, None);
        assert_eq!(o.status, Status::Critical);
        assert!(o.message.ends_with("holds no pid"), "{}", o.message);
    }

    #[test]
    fn cpu_is_measured_since_the_previous_run() {
        let busy = Detached::start("exec sh -c 'while :; do :; done'");
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("busy.pid");
        std::fs::write(&pidfile, busy.0.to_string()).unwrap();
        let p = check(&format!("pidfile = '{}'", pidfile.display()));
        let first = until(&*p, |o| o.status == Status::Ok);
        assert_eq!(value(&first, "cpu"), None);
        let before: CpuSample = serde_json::from_value(first.memory.unwrap()).unwrap();
        assert!(before.pids.contains_key(&busy.0), "{before:?}");
        std::thread::sleep(Duration::from_millis(500));
        let o = run(&*p, Some(serde_json::to_value(&before).unwrap()));
        // A busy loop takes one core, shared with the other tests running now.
        let cpu = value(&o, "cpu").expect("cpu since the previous run");
        assert!((20.0..=110.0).contains(&cpu), "{cpu} {o:?}");
        assert!(o.message.contains(", cpu "), "{}", o.message);
    }

    #[test]
    fn cpu_percent_counts_only_the_same_processes() {
        let before = CpuSample {
            at: 0,
            pids: BTreeMap::from([(10, (5, 1000)), (11, (6, 0)), (12, (7, 0))]),
        };
        // 10 used 500 ms; 11 is another process with the same pid; 13 is new.
        let after = CpuSample {
            at: 1000,
            pids: BTreeMap::from([(10, (5, 1500)), (11, (99, 9000)), (13, (8, 800))]),
        };
        assert_eq!(cpu_percent(&before, &after), Some(50.0));
        let all_new = CpuSample {
            at: 1000,
            pids: BTreeMap::from([(13, (8, 800))]),
        };
        assert_eq!(cpu_percent(&before, &all_new), None);
        assert_eq!(
            cpu_percent(&after, &before),
            None,
            "no time passed (clock went back)"
        );
    }

    #[test]
    fn stat_is_parsed_even_with_odd_names() {
        let text = "1234 (my (odd) bot) S 1 1234 1234 0 -1 4194560 500 0 0 0 150 50 0 0 20 0 3 0 98765 \
                    123456789 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let s = parse_stat(text, 4096, 100).unwrap();
        assert_eq!(
            s,
            Stat {
                parent: 1,
                session: 1234,
                state: 'S',
                rss: 2560 * 4096,
                cpu_ms: 2000,
                start: 98765
            }
        );
        assert_eq!(parse_stat("1234 (x) S", 4096, 100), None);
    }

    #[test]
    fn messages_name_a_bounded_number_of_pids() {
        assert_eq!(list(&[12, 40, 41]), "12, 40, 41");
        let many: Vec<u32> = (1..=15).collect();
        assert_eq!(list(&many), "1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 5 more");
        let stat = |state| Stat {
            parent: 1,
            session: 1,
            state,
            rss: 0,
            cpu_ms: 0,
            start: 0,
        };
        let found = [
            (1, stat('S')),
            (2, stat('T')),
            (3, stat('Z')),
            (4, stat('Z')),
        ];
        assert_eq!(
            dead_message(&found).unwrap(),
            "process 2 is stopped (T); processes 3, 4 are zombies (Z)"
        );
        assert_eq!(dead_message(&found[..1]), None);
    }

    #[test]
    fn config_needs_exactly_one_of_match_and_pidfile() {
        let load = |extra: &str| {
            let toml = format!("[[check]]\nname = \"p\"\ntype = \"process\"\n{extra}\n");
            crate::config::load_str("t.toml", &toml)
                .err()
                .map(|e| e.to_string())
        };
        assert!(load("").unwrap().contains("missing key `match`"));
        assert!(
            load("match = 'a'\npidfile = '/run/x.pid'")
                .unwrap()
                .contains("not both")
        );
        assert!(load("match = '('").unwrap().contains("invalid regex"));
        assert_eq!(load("match = 'a'"), None);
    }
}
