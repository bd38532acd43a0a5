//! `process`: is the bot running? Finds processes by a regex on their full
//! command line (names are cut to 15 characters on Linux, and every Python
//! bot is called `python`) or by a pidfile, and reports how many there are,
//! their memory and their CPU use since the previous run. A stopped (`T`)
//! or zombie process is as dead as a missing one. healthcheck itself and its
//! children (its `command` checks run at the same time) never count.
//!
//! The process table itself (/proc on Linux, sysinfo elsewhere) is
//! `crate::proc::table`.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::PathBuf;

use anyhow::anyhow;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::{Keys, Kind, Metric, Record, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::Status;
use crate::model::{Outcome, Unit};
use crate::proc::exists_unseen;
use crate::proc::table::{Stat, Table, list};
use crate::proc::user::User;
use crate::spec::probe::{Probe, ProbeContext, Watched};
use crate::vocab::{Builder, expand_tilde};

pub const KIND: Kind = Kind::new("process", Keys::of::<ProcessKeys>(), &[&COUNT, &RSS, &CPU]);

pub const COUNT: Metric = Metric::new("count", Unit::Count);
pub const RSS: Metric = Metric::new("rss", Unit::Bytes);
pub const CPU: Metric = Metric::new("cpu", Unit::Percent);

/// The keys of a `process` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcessKeys {
    #[serde(rename = "match")]
    match_: Option<String>,
    pidfile: Option<String>,
    user: Option<String>,
}

impl TypeKeys for ProcessKeys {
    fn build(&self, common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, common, b)
    }
}

enum Target {
    /// A regex on the command line, of any user's processes or one's.
    Match(Regex, Option<User>),
    Pidfile(PathBuf),
}

/// The most of a pidfile read: a pid and some room for whitespace.
const PIDFILE_LIMIT: u64 = 4096;

struct ProcessCheck {
    target: Target,
    /// No process is CRITICAL, unless the user's own thresholds judge `count`.
    none_is_critical: bool,
}

fn build(raw: &ProcessKeys, common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let user = match raw.user.as_deref().map(crate::proc::user::lookup) {
        None => None,
        Some(Ok(user)) => Some(user),
        Some(Err(why)) => {
            b.error("user", why);
            return None;
        }
    };
    if user.is_some() && raw.pidfile.is_some() {
        b.error("user", "`user` goes with `match`, not with `pidfile`");
        return None;
    }
    let target = match (&raw.match_, &raw.pidfile) {
        (Some(pattern), None) => Target::Match(b.regex("match", pattern)?, user),
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
    let judges_count = common.reading.as_deref().is_none_or(|r| r == COUNT.name);
    let has_limits = [
        &common.warn_above,
        &common.crit_above,
        &common.warn_below,
        &common.crit_below,
    ]
    .iter()
    .any(|l| l.is_some());
    Some(Box::new(ProcessCheck {
        target,
        none_is_critical: !(judges_count && has_limits),
    }))
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
    fn watches(&self) -> Option<Watched> {
        match &self.target {
            Target::Match(pattern, _) => Some(Watched::Process(pattern.as_str().to_string())),
            Target::Pidfile(_) => None,
        }
    }

    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let table = Table::read()?;
        let mut blind = None;
        let (what, candidates) = match &self.target {
            Target::Match(re, user) => {
                let listing = ctx.processes.listing(&table)?;
                let (pids, why) = table.matching(listing, re, user.as_ref().map(|u| u.uid));
                blind = why;
                let what = match user {
                    Some(user) => format!("/{}/ as user {user}", re.as_str()),
                    None => format!("/{}/", re.as_str()),
                };
                (what, pids)
            }
            Target::Pidfile(path) => match crate::files::read_regular_head(path, PIDFILE_LIMIT) {
                Ok(Err(what)) => {
                    return Err(anyhow!(
                        "pidfile {} is {what}, not a regular file",
                        path.display()
                    ));
                }
                Ok(Ok(bytes)) => match String::from_utf8_lossy(&bytes)
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
                Target::Match(..) => format!("no process matches {what}"),
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
                Target::Match(..) if count == 1 => {
                    format!("1 process matches {what} (pid {})", list(&pids))
                }
                Target::Match(..) => {
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
        outcome = outcome
            .record(&COUNT, count as f64)
            .record(&RSS, rss as f64);
        if let Some(cpu) = cpu {
            outcome = outcome.record(&CPU, cpu);
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
            crate::sys::process::kill(self.0 as i32, signal).unwrap();
        }
    }

    impl Drop for Detached {
        fn drop(&mut self) {
            let _ = crate::sys::process::kill(self.0 as i32, libc::SIGKILL);
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
                let _ = crate::sys::process::kill(pid as i32, libc::SIGKILL);
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
            processes: Default::default(),
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
    fn the_checks_of_one_run_judge_one_scan_of_the_table() {
        let mark = marker();
        let p = matching(&format!("^sleep {}$", regex::escape(&mark)));
        let scan = std::sync::Arc::new(crate::proc::table::Scan::default());
        let in_the_run = || {
            let ctx = ProbeContext {
                now: jiff::Timestamp::now(),
                deadline: Instant::now() + Duration::from_secs(5),
                memory: None,
                processes: scan.clone(),
            };
            p.probe(&ctx).unwrap()
        };
        assert_eq!(value(&in_the_run(), "count"), Some(0.0));
        let _sleeper = Detached::start(&format!("exec sleep {mark}"));
        let fresh = until(&*p, |o| o.status == Status::Ok);
        assert_eq!(
            value(&fresh, "count"),
            Some(1.0),
            "a scan of its own sees it"
        );
        assert_eq!(
            value(&in_the_run(), "count"),
            Some(0.0),
            "a check of the same run judges the table the run scanned first"
        );
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

    #[cfg(target_os = "linux")]
    #[test]
    fn a_user_must_exist_and_goes_with_match() {
        let load = |extra: &str| {
            let toml = format!("[[check]]\nname = \"p\"\ntype = \"process\"\n{extra}\n");
            crate::config::load_str("t.toml", &toml)
                .err()
                .map(|e| e.to_string())
        };
        assert_eq!(load("match = 'a'\nuser = \"root\""), None);
        assert_eq!(load("match = 'a'\nuser = \"0\""), None);
        let e = load("match = 'a'\nuser = \"no-such-user-hc\"").unwrap();
        assert!(
            e.contains("user: there is no user \"no-such-user-hc\" on this machine"),
            "{e}"
        );
        let e = load("pidfile = '/run/x.pid'\nuser = \"root\"").unwrap();
        assert!(e.contains("`user` goes with `match`"), "{e}");
    }
}
