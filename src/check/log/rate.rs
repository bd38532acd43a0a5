//! `log` with `per = "1h"`: how many lines matched within the trailing
//! window (seed 002: "errors > 100 in 1 hour"). Each run reads only what
//! was appended since the previous one, from an offset kept in state with
//! the file's device and inode, and adds its count to a rolling window of
//! per-run counts. The first run starts at the end (old lines never alert);
//! a rotated (new inode) or truncated (smaller) file is read from its
//! start; only newline-terminated lines count; a line over 1 MiB is matched
//! on its first MiB; at most `max_read` bytes are read per run, the rest is
//! skipped and said.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

/// Longest part of one line that is matched.
pub const MAX_LINE: usize = 1024 * 1024;
/// Bytes read per step.
const CHUNK: usize = 4 * 1024 * 1024;

/// Where the previous run stopped, and the counts of recent runs.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Memory {
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
    /// (run time, matches, lines) of the runs inside the window.
    pub window: Vec<(jiff::Timestamp, u64, u64)>,
}

/// What one run found.
#[derive(Debug, PartialEq)]
pub struct Scan {
    /// Matches and lines within the trailing window, this run included.
    pub matches: u64,
    pub lines: u64,
    /// Bytes not read because they exceeded `max_read`.
    pub skipped: u64,
    /// Why counting (re)started: first run, rotation, truncation.
    pub restart: Option<&'static str>,
    pub memory: Memory,
}

/// The file's identity: (device, inode).
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0)
    }
}

/// How much a run looks at: the trailing window and the most it reads.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per: Duration,
    pub max_read: u64,
}

/// Count the lines appended since `prev` and fold them into the window.
pub fn scan(
    file: &mut File,
    meta: &std::fs::Metadata,
    prev: Option<Memory>,
    now: jiff::Timestamp,
    limits: Limits,
    pattern: &Regex,
) -> std::io::Result<Scan> {
    let Limits { per, max_read } = limits;
    let size = meta.len();
    let (dev, ino) = identity(meta);
    let (start, restart, window) = match prev {
        None => (
            size,
            Some("first run: counting from the end of the file"),
            Vec::new(),
        ),
        Some(m) if (m.dev, m.ino) != (dev, ino) => (
            0,
            Some("the file was rotated: counting from its start"),
            m.window,
        ),
        Some(m) if size < m.offset => (
            0,
            Some("the file was truncated: counting from its start"),
            m.window,
        ),
        Some(m) => (m.offset, None, m.window),
    };
    let available = size - start;
    let to_read = available.min(max_read);
    let skipped = available - to_read;
    file.seek(SeekFrom::Start(start))?;
    let counted = count_lines(&mut file.take(to_read), pattern)?;
    // Resume after the last complete line; after a skip, at the end.
    let offset = if skipped > 0 {
        size
    } else {
        start + counted.consumed
    };
    let mut window: Vec<(jiff::Timestamp, u64, u64)> = window
        .into_iter()
        .map(|(t, m, l)| (t.min(now), m, l))
        .filter(|(t, _, _)| now.duration_since(*t).unsigned_abs() < per)
        .collect();
    window.push((now, counted.matches, counted.lines));
    let matches = window.iter().map(|(_, m, _)| m).sum();
    let lines = window.iter().map(|(_, _, l)| l).sum();
    Ok(Scan {
        matches,
        lines,
        skipped,
        restart,
        memory: Memory {
            dev,
            ino,
            offset,
            window,
        },
    })
}

struct Counted {
    matches: u64,
    lines: u64,
    /// Bytes up to and including the last newline.
    consumed: u64,
}

/// Count newline-terminated lines and the ones matching `pattern`, reading
/// in chunks; a line's bytes past `MAX_LINE` are not kept.
fn count_lines(reader: &mut impl Read, pattern: &Regex) -> std::io::Result<Counted> {
    let mut counted = Counted {
        matches: 0,
        lines: 0,
        consumed: 0,
    };
    let mut carry: Vec<u8> = Vec::new();
    let mut carry_len: u64 = 0;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        let mut rest = &chunk[..n];
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            let piece = &rest[..i];
            let line: &[u8] = if carry.is_empty() {
                &piece[..piece.len().min(MAX_LINE)]
            } else {
                let room = MAX_LINE.saturating_sub(carry.len());
                carry.extend_from_slice(&piece[..piece.len().min(room)]);
                &carry
            };
            counted.lines += 1;
            if pattern.is_match(line) {
                counted.matches += 1;
            }
            counted.consumed += carry_len + i as u64 + 1;
            carry.clear();
            carry_len = 0;
            rest = &rest[i + 1..];
        }
        let room = MAX_LINE.saturating_sub(carry.len());
        carry.extend_from_slice(&rest[..rest.len().min(room)]);
        carry_len += rest.len() as u64;
    }
    Ok(counted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn t(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    struct Log {
        dir: tempfile::TempDir,
        memory: Option<Memory>,
    }

    impl Log {
        fn new() -> Log {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("app.log"), b"").unwrap();
            Log { dir, memory: None }
        }
        fn path(&self) -> std::path::PathBuf {
            self.dir.path().join("app.log")
        }
        fn append(&self, text: &[u8]) {
            std::fs::File::options()
                .append(true)
                .open(self.path())
                .unwrap()
                .write_all(text)
                .unwrap();
        }
        fn run_with(&mut self, now: &str, max_read: u64) -> Scan {
            let mut f = File::open(self.path()).unwrap();
            let meta = f.metadata().unwrap();
            let pattern = Regex::new("ERROR").unwrap();
            let limits = Limits {
                per: Duration::from_secs(3600),
                max_read,
            };
            let s = scan(&mut f, &meta, self.memory.clone(), t(now), limits, &pattern).unwrap();
            self.memory = Some(s.memory.clone());
            s
        }
        fn run(&mut self, now: &str) -> Scan {
            self.run_with(now, 256 * 1024 * 1024)
        }
    }

    #[test]
    fn the_first_run_starts_at_the_end_and_later_runs_count_new_lines() {
        let mut log = Log::new();
        log.append(b"ERROR old\nERROR old\n");
        let first = log.run("2026-11-22T05:00:00Z");
        assert_eq!((first.matches, first.restart.is_some()), (0, true));
        log.append(b"ERROR a\ninfo\nERROR b\n");
        let second = log.run("2026-11-22T05:01:00Z");
        assert_eq!((second.matches, second.lines, second.restart), (2, 3, None));
    }

    #[test]
    fn only_newline_terminated_lines_count_and_the_rest_waits() {
        let mut log = Log::new();
        log.run("2026-11-22T05:00:00Z");
        log.append(b"ERROR done\nERROR half");
        assert_eq!(log.run("2026-11-22T05:01:00Z").matches, 1);
        log.append(b" way\n");
        let s = log.run("2026-11-22T05:02:00Z");
        assert_eq!(
            (s.matches, s.lines),
            (2, 2),
            "the half line counts once, when complete"
        );
    }

    #[test]
    fn the_window_rolls() {
        let mut log = Log::new();
        log.run("2026-11-22T05:00:00Z");
        log.append(b"ERROR 1\n");
        assert_eq!(log.run("2026-11-22T05:10:00Z").matches, 1);
        log.append(b"ERROR 2\n");
        assert_eq!(log.run("2026-11-22T05:50:00Z").matches, 2);
        assert_eq!(
            log.run("2026-11-22T06:20:00Z").matches,
            1,
            "the 05:10 run left the 1h window"
        );
    }

    #[test]
    fn rotation_and_truncation_restart_from_the_start() {
        let mut log = Log::new();
        log.run("2026-11-22T05:00:00Z");
        log.append(b"ERROR 1\nERROR 2\n");
        log.run("2026-11-22T05:01:00Z");
        std::fs::rename(log.path(), log.dir.path().join("app.log.1")).unwrap();
        std::fs::write(log.path(), b"ERROR new\n").unwrap();
        let rotated = log.run("2026-11-22T05:02:00Z");
        assert_eq!(
            rotated.restart,
            Some("the file was rotated: counting from its start")
        );
        assert_eq!(rotated.matches, 3);
        std::fs::write(log.path(), b"").unwrap();
        log.append(b"x\n");
        let truncated = log.run("2026-11-22T05:03:00Z");
        assert_eq!(
            truncated.restart,
            Some("the file was truncated: counting from its start")
        );
        assert_eq!(truncated.lines, 4);
    }

    #[test]
    fn at_most_max_read_is_read_and_the_rest_is_skipped() {
        let mut log = Log::new();
        log.run("2026-11-22T05:00:00Z");
        log.append(&b"ERROR x\n".repeat(100));
        let s = log.run_with("2026-11-22T05:01:00Z", 80);
        assert_eq!((s.matches, s.skipped), (10, 720));
        log.append(b"ERROR y\n");
        assert_eq!(
            log.run_with("2026-11-22T05:02:00Z", 80).matches,
            11,
            "reading resumed at the end"
        );
    }

    #[test]
    fn a_huge_line_is_matched_on_its_first_mib_and_invalid_utf8_is_fine() {
        let mut log = Log::new();
        log.run("2026-11-22T05:00:00Z");
        let mut big = vec![b'a'; 3 * MAX_LINE];
        big.extend_from_slice(b"ERROR at the far end\n");
        log.append(&big);
        log.append(b"\xff\xfe ERROR \xc3\n");
        let s = log.run("2026-11-22T05:01:00Z");
        assert_eq!((s.lines, s.matches), (2, 1));
        assert_eq!(
            s.memory.offset,
            std::fs::metadata(log.path()).unwrap().len()
        );
    }
}
