//! The Linux process table, read from /proc as it is asked: the command
//! line of every process, then `stat` of the matching ones and of their
//! ancestors only. Measured on a 2-CPU VM with ~80 processes (release
//! build, fresh process as in a real run): /proc 0.6-0.7 ms, sysinfo 0.40
//! refreshing only command lines, memory and CPU without tasks 3-4 ms,
//! `System::new_all()` 6-13 ms. The numbers we need (state, parent, rss,
//! CPU ticks, start time) are all in `/proc/<pid>/stat`, which sysinfo
//! would read anyway.

use std::io::ErrorKind;

use anyhow::anyhow;

use super::{Listing, Stat, list};
use crate::sys;

/// The process table, read from /proc as it is asked.
pub struct Table {
    page_size: u64,
    ticks_per_sec: u64,
}

impl Table {
    pub fn read() -> anyhow::Result<Table> {
        Ok(Table {
            page_size: sys::procfs::page_size(),
            ticks_per_sec: sys::procfs::clock_ticks_per_second(),
        })
    }

    /// Every process with its command line, arguments joined by spaces. A
    /// process without one (kernel thread, zombie) goes by its name, as
    /// `pgrep -f` does. A process that exits while we look is skipped; one
    /// we may not read (`hidepid`, another user's process under a hardened
    /// kernel) makes the listing blind, and so does a /proc that hides
    /// other users' processes altogether.
    pub fn listing(&self) -> anyhow::Result<Listing> {
        let dir = std::fs::read_dir("/proc").map_err(|e| anyhow!("cannot list /proc: {e}"))?;
        let mut lines = Vec::new();
        let mut unreadable = Vec::new();
        let mut reader = ProcReader::new();
        for entry in dir {
            let Some(pid) = entry
                .ok()
                .and_then(|e| e.file_name().to_str()?.parse::<u32>().ok())
            else {
                continue;
            };
            match reader.command_line(pid) {
                Ok(cmd) => lines.push((pid, cmd)),
                Err(e) if gone(&e) => {}
                Err(_) => unreadable.push(pid),
            }
        }
        // Every real process table lists the process reading it.
        let me = std::process::id();
        if !lines.iter().any(|(pid, _)| *pid == me) {
            return Err(anyhow!(
                "/proc does not list healthcheck itself (pid {me}): it is not this system's process table"
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

    /// The effective uid of `pid` (the second `Uid:` of its status, the
    /// user `pgrep -u` and `ps -u` go by); Err(true) when it is gone,
    /// Err(false) when it cannot be read.
    pub fn uid(&self, pid: u32) -> Result<u32, bool> {
        let mut reader = ProcReader::new();
        let text = reader
            .read(&format!("/proc/{pid}/status"))
            .map_err(|e| gone(&e))?;
        String::from_utf8_lossy(text)
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1)?.parse().ok())
            .ok_or(false)
    }

    pub fn stat(&self, pid: u32) -> Option<Stat> {
        let mut reader = ProcReader::new();
        let text = reader.read(&format!("/proc/{pid}/stat")).ok()?;
        parse_stat(
            &String::from_utf8_lossy(text),
            self.page_size,
            self.ticks_per_sec,
        )
    }
}

/// Reads /proc files whole, one after the other, into one buffer that
/// stays allocated and initialized from one file to the next (the scan
/// reads one or two files of every process). procfs answers a read with
/// all it has up to the size asked, so a read that does not fill the
/// buffer was the last: one open, one read and one close per file, where
/// `read_to_end` adds a size lookup and a read that returns nothing.
struct ProcReader {
    buf: Vec<u8>,
}

impl ProcReader {
    fn new() -> ProcReader {
        ProcReader { buf: vec![0; 4096] }
    }

    fn read(&mut self, path: &str) -> std::io::Result<&[u8]> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let mut filled = 0;
        loop {
            match file.read(&mut self.buf[filled..]) {
                Ok(n) => {
                    filled += n;
                    if filled < self.buf.len() {
                        return Ok(&self.buf[..filled]);
                    }
                    self.buf.resize(self.buf.len() * 2, 0);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// One process's command line, arguments joined by spaces, or its name
    /// when it has none.
    fn command_line(&mut self, pid: u32) -> std::io::Result<String> {
        let raw = self.read(&format!("/proc/{pid}/cmdline"))?;
        if raw.is_empty() {
            let name = self.read(&format!("/proc/{pid}/comm"))?;
            return Ok(String::from_utf8_lossy(name)
                .trim_end_matches('\n')
                .to_string());
        }
        let mut line = String::with_capacity(raw.len());
        for arg in raw.split(|b| *b == 0).filter(|a| !a.is_empty()) {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&String::from_utf8_lossy(arg));
        }
        Ok(line)
    }
}

/// The process exited while we looked (its /proc entry went away).
fn gone(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH)
}

/// Why /proc hides other users' processes from us, if it does: the /proc
/// we see is mounted with `hidepid=invisible` (2) or `ptraceable` (4), and
/// we are neither root nor in its `gid=` group. (`hidepid=noaccess` lists
/// them but refuses their command lines: `listing` sees that itself.)
fn hidden_by_mount() -> Option<String> {
    let euid = sys::process::euid();
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
        .and_then(|g| g.parse::<u32>().ok())
        .is_some_and(in_group);
    (!exempt).then(|| {
        format!("/proc is mounted with hidepid={hidepid}, which hides other users' processes from uid {euid}")
    })
}

/// Is `gid` our effective group or one of our supplementary groups?
fn in_group(gid: u32) -> bool {
    sys::process::egid() == gid || sys::process::supplementary_groups().contains(&gid)
}

/// `/proc/<pid>/stat`: "pid (comm) state ppid ...". The name may hold
/// spaces and parentheses, so fields are counted after the last ')'.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proc_file_is_read_whole_however_long() {
        let mut reader = ProcReader::new();
        // Our own command line, as the kernel keeps it: NUL after each argument.
        let args: Vec<u8> = std::env::args_os()
            .flat_map(|a| [a.as_encoded_bytes(), b"\0"].concat())
            .collect();
        assert_eq!(reader.read("/proc/self/cmdline").unwrap(), args);
        // Longer than one chunk: every read but the last fills it.
        let dir = tempfile::tempdir().unwrap();
        let long: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let path = dir.path().join("long");
        std::fs::write(&path, &long).unwrap();
        assert_eq!(reader.read(path.to_str().unwrap()).unwrap(), long);
        let exact = vec![7u8; 4096];
        std::fs::write(&path, &exact).unwrap();
        assert_eq!(reader.read(path.to_str().unwrap()).unwrap(), exact);
        // Shorter after longer: only what this file holds.
        std::fs::write(&path, b"short").unwrap();
        assert_eq!(reader.read(path.to_str().unwrap()).unwrap(), b"short");
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
}
