//! `log` with `per = "1h"`: how many lines matched within the trailing
//! window ("errors > 100 in 1 hour"). Each run reads only what
//! was appended since the previous one, from an offset kept in state with
//! the file's path, device and inode, and adds its count to a rolling
//! window of per-run counts. The first run, and the first after `path`
//! changed to another file, start at the end (old lines never alert). A
//! rotated file (new inode) is read from its start, after the rest of the
//! old one if it is still beside it (`app.log.1`, `app.log-20261122`,
//! `app.log.2026-11-22`; compressed ones are not read); a truncated file
//! (smaller, or its bytes before the offset changed: copytruncate followed
//! by growth) likewise, after the rest of its copy. Only newline-terminated
//! lines count, except at the end of a finished rotated file; a line over
//! 1 MiB is matched on its first MiB; at most `max_read` bytes are read per
//! run, the rest is skipped and said.
//!
//! Counting searches each read (4 MiB) whole rather than line by line:
//! the regex runs over the complete lines of the read with its anchors made
//! line anchors and the newline taken out of its classes (`Lines`: a `\s`
//! or `[^x]` never takes a newline, so a match stays within its line), each
//! match is mapped to its line with memchr and the line counted once, and a
//! match that takes the line's final `\r` or leans on an end anchor is
//! confirmed by matching its line alone, so the count is what matching each
//! line alone gives. Reads with a line of 512 KiB or more, and reads after a
//! gap (whose lines are placed one by one), are matched line by line.
//!
//! Lines are read when a run comes, not when they were written. After a
//! gap (runs stopped, a slow timer), what was appended meanwhile is placed
//! in the window where it belongs: a line that starts with a timestamp
//! (`check::timestamp::leading`) falling between the previous run and now,
//! at that time; the others spread evenly over the gap, and the reading
//! says so when the gap is long. So a bot that died a while ago does not
//! look alive because the heartbeats it wrote before dying were read late.

use std::fs::{File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

#[cfg(test)]
use super::count::CHUNK;
use super::count::{Lines, count_lines};

/// Longest part of one line that is matched.
pub const MAX_LINE: usize = 1024 * 1024;
/// Bytes before the offset whose hash tells the same content from new.
const FINGERPRINT_LEN: u64 = 1024;

/// Where the previous run stopped, and the counts of recent runs.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Memory {
    /// The configured path (absent in the memory of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
    /// FNV-1a of the bytes just before `offset` (none at offset 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<u64>,
    /// (run time, matches, lines) of the runs inside the window.
    pub window: Vec<(jiff::Timestamp, u64, u64)>,
    /// When counting started (first run, new path); absent in the memory
    /// of older versions, which had long been counting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<jiff::Timestamp>,
    /// When the previous run read the file: what it reads next was written
    /// since (absent in the memory of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<jiff::Timestamp>,
}

/// What one run found.
#[derive(Debug, PartialEq)]
pub struct Scan {
    /// Matches and lines within the trailing window, this run included.
    pub matches: u64,
    pub lines: u64,
    /// Bytes not read because they exceeded `max_read`.
    pub skipped: u64,
    /// Why counting (re)started: first run, new path, rotation, truncation.
    pub restart: Option<String>,
    /// How much of the window has been counted, while less than all of it.
    pub warming_up: Option<Duration>,
    /// Lines read after a long gap without a timestamp to place them by.
    pub spread: Option<String>,
    pub memory: Memory,
}

/// The file's identity: (device, inode).
fn identity(meta: &Metadata) -> (u64, u64) {
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

/// The log as opened this run: its configured path, the open file and its
/// metadata.
pub struct LogFile<'a> {
    pub path: &'a Path,
    pub file: &'a mut File,
    pub meta: &'a Metadata,
}

/// Where this run starts reading the log, and what it reads first.
struct Start {
    offset: u64,
    restart: Option<String>,
    /// When counting started, as remembered.
    since: Option<jiff::Timestamp>,
    /// Counting starts now (first run, new path).
    fresh: bool,
    window: Vec<(jiff::Timestamp, u64, u64)>,
    /// The rest of the previous file, from this offset: a rotated file or
    /// the copy of a truncated one.
    finish: Option<(File, u64)>,
}

/// Count the lines appended since `prev` and fold them into the window.
pub fn scan(
    log: LogFile,
    prev: Option<Memory>,
    now: jiff::Timestamp,
    limits: Limits,
    pattern: &Regex,
) -> std::io::Result<Scan> {
    let LogFile { path, file, meta } = log;
    let Limits { per, max_read } = limits;
    let size = meta.len();
    let (dev, ino) = identity(meta);
    let path_text = path.to_string_lossy().into_owned();
    let read_at = prev.as_ref().and_then(|m| m.read_at);
    let start = start(path, &path_text, file, meta, prev)?;
    // Only after a gap longer than a bucket does placing matter.
    let gap = read_at
        .map(|t| t.min(now))
        .filter(|t| now.duration_since(*t).unsigned_abs() > per / 60);
    let place = gap.map(|from| Placing {
        from,
        now,
        tz: jiff::tz::TimeZone::system(),
    });
    let lines = Lines::new(pattern);
    let mut budget = max_read;
    let mut skipped = 0;
    let mut placed = Placed::default();
    if let Some((mut old, from)) = start.finish {
        let available = old.metadata()?.len().saturating_sub(from);
        let take = available.min(budget);
        skipped += available - take;
        budget -= take;
        old.seek(SeekFrom::Start(from))?;
        let counted = count_lines(&mut old.take(take), &lines, true, place.as_ref())?;
        placed.add(counted.placed);
    }
    let available = size.saturating_sub(start.offset);
    let to_read = available.min(budget);
    skipped += available - to_read;
    file.seek(SeekFrom::Start(start.offset))?;
    let counted = count_lines(
        &mut (&mut *file).take(to_read),
        &lines,
        false,
        place.as_ref(),
    )?;
    placed.add(counted.placed);
    // Resume after the last complete line; after a skip, at the end.
    let offset = if to_read < available {
        size
    } else {
        start.offset + counted.consumed
    };
    let fingerprint = fingerprint(file, offset)?;
    let mut window: Vec<(jiff::Timestamp, u64, u64)> = start
        .window
        .into_iter()
        .map(|(t, m, l)| (t.min(now), m, l))
        .filter(|(t, _, _)| now.duration_since(*t).unsigned_abs() < per)
        .collect();
    let spread = placed.into_window(&mut window, gap, now, per);
    // Older memories have no start: they had long been counting.
    let since = if start.fresh {
        Some(now)
    } else {
        start.since.map(|t| t.min(now))
    };
    let seen = since.map(|t| now.duration_since(t).unsigned_abs());
    Ok(Scan {
        warming_up: seen.filter(|s| *s < per),
        matches: window.iter().map(|(_, m, _)| m).sum(),
        lines: window.iter().map(|(_, _, l)| l).sum(),
        skipped,
        restart: start.restart,
        spread,
        memory: Memory {
            path: Some(path_text),
            dev,
            ino,
            offset,
            fingerprint,
            window,
            since,
            read_at: Some(now),
        },
    })
}

/// How to place the lines read after a gap: the gap (from the previous
/// read to now) and the zone of timestamps without an offset.
pub(super) struct Placing {
    from: jiff::Timestamp,
    now: jiff::Timestamp,
    tz: jiff::tz::TimeZone,
}

impl Placing {
    /// When a line was written, if it starts with a timestamp that falls
    /// in the gap (give or take a minute of clock skew): one outside it is
    /// not believed, and the line is placed as one without.
    pub(super) fn when(&self, line: &[u8]) -> Option<jiff::Timestamp> {
        const SKEW: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);
        let t = crate::check::timestamp::leading(line, None, &self.tz, self.now)?;
        let from = self.from.checked_sub(SKEW).unwrap_or(self.from);
        let to = self.now.checked_add(SKEW).unwrap_or(self.now);
        (from..=to).contains(&t).then(|| t.min(self.now))
    }
}

/// What one run counted: (when, matches, lines) for lines placed by their
/// timestamp, and the counts of the lines placed by no timestamp.
#[derive(Default)]
pub(super) struct Placed {
    pub(super) at: Vec<(jiff::Timestamp, u64, u64)>,
    pub(super) matches: u64,
    pub(super) lines: u64,
}

impl Placed {
    fn add(&mut self, other: Placed) {
        self.at.extend(other.at);
        self.matches += other.matches;
        self.lines += other.lines;
    }

    /// Fold the counts into `window`: placed lines at their times (those
    /// older than the window are gone), the rest now, or, after a `gap`,
    /// spread evenly over it. Returns a note when lines were spread over a
    /// gap longer than a quarter of the window.
    fn into_window(
        self,
        window: &mut Vec<(jiff::Timestamp, u64, u64)>,
        gap: Option<jiff::Timestamp>,
        now: jiff::Timestamp,
        per: Duration,
    ) -> Option<String> {
        for (t, m, l) in self.at {
            if now.duration_since(t).unsigned_abs() < per {
                add_at(window, t, m, l, per);
            }
        }
        let Some(from) = gap else {
            add_at(window, now, self.matches, self.lines, per);
            return None;
        };
        let whole = now.duration_since(from).unsigned_abs();
        let start = now
            .checked_sub(jiff::SignedDuration::try_from(per).unwrap_or_default())
            .unwrap_or(from)
            .max(from);
        let inside = now.duration_since(start).unsigned_abs();
        let share = |n: u64| (n as f64 * inside.as_secs_f64() / whole.as_secs_f64()).round() as u64;
        let (matches, lines) = (share(self.matches), share(self.lines));
        let buckets = (inside.as_secs_f64() / (per / 60).as_secs_f64())
            .ceil()
            .max(1.0) as u64;
        let step = inside / buckets as u32;
        for j in 0..buckets {
            let part = |n: u64| n * (j + 1) / buckets - n * j / buckets;
            let t = start + step * (j as u32 + 1);
            add_at(window, t.min(now), part(matches), part(lines), per);
        }
        (self.lines > 0 && whole > per / 4).then(|| {
            format!(
                "{} read after a {} gap had no timestamp: spread over it",
                crate::model::count(self.lines as usize, "line", "lines"),
                crate::model::Unit::Seconds.show(whole.as_secs_f64())
            )
        })
    }
}

/// Fold counts written at `t` into the window (oldest first): into the
/// bucket that started at most a sixtieth of the window before `t`, else
/// as a bucket of its own, in time order. The memory keeps at most about
/// 60 buckets however often runs come (a run every few seconds would
/// otherwise grow the state file with each); a bucket's counts leave the
/// window with its first time, up to a sixtieth of it early.
fn add_at(
    window: &mut Vec<(jiff::Timestamp, u64, u64)>,
    t: jiff::Timestamp,
    matches: u64,
    lines: u64,
    per: Duration,
) {
    if matches == 0 && lines == 0 && window.last().is_some_and(|(last, _, _)| *last >= t) {
        return;
    }
    let bucket = per / 60;
    let after = window.partition_point(|(start, _, _)| *start <= t);
    match after.checked_sub(1).map(|i| &mut window[i]) {
        Some((start, m, l)) if t.duration_since(*start).unsigned_abs() < bucket => {
            *m += matches;
            *l += lines;
        }
        _ => window.insert(after, (t, matches, lines)),
    }
}

/// Decide where to start from what the previous run remembered.
fn start(
    path: &Path,
    path_text: &str,
    file: &mut File,
    meta: &Metadata,
    prev: Option<Memory>,
) -> std::io::Result<Start> {
    let size = meta.len();
    let here = identity(meta);
    let from_end = |why: &str| Start {
        offset: size,
        restart: Some(why.to_string()),
        since: None,
        fresh: true,
        window: Vec::new(),
        finish: None,
    };
    let Some(m) = prev else {
        return Ok(from_end("first run: counting from the end of the file"));
    };
    let same_file = (m.dev, m.ino) == here;
    if !same_file && m.path.as_deref().is_some_and(|p| p != path_text) {
        return Ok(from_end("a new path: counting from the end of the file"));
    }
    if !same_file {
        let old = rotated_beside(path, |_, candidate| identity(candidate) == (m.dev, m.ino));
        let restart = match &old {
            Some((name, _)) => {
                format!(
                    "the file was rotated: counted the rest of {name}, then the new file from its start"
                )
            }
            None => "the file was rotated: counting from its start".to_string(),
        };
        return Ok(Start {
            offset: 0,
            restart: Some(restart),
            since: m.since,
            fresh: false,
            window: m.window,
            finish: old.map(|(_, f)| (f, m.offset)),
        });
    }
    let truncated = size < m.offset
        || (m.fingerprint.is_some() && fingerprint(file, m.offset)? != m.fingerprint);
    if !truncated {
        return Ok(Start {
            offset: m.offset,
            restart: None,
            since: m.since,
            fresh: false,
            window: m.window,
            finish: None,
        });
    }
    // copytruncate: the copy beside it holds the same bytes before the offset.
    let copy = m.fingerprint.and_then(|_| {
        rotated_beside(path, |f, candidate| {
            identity(candidate) != here
                && candidate.len() >= m.offset
                && fingerprint(f, m.offset).is_ok_and(|fp| fp == m.fingerprint)
        })
    });
    let restart = match &copy {
        Some((name, _)) => format!(
            "the file was truncated: counted the rest of its copy {name}, then the file from its start"
        ),
        None => "the file was truncated: counting from its start".to_string(),
    };
    Ok(Start {
        offset: 0,
        restart: Some(restart),
        since: m.since,
        fresh: false,
        window: m.window,
        finish: copy.map(|(_, f)| (f, m.offset)),
    })
}

/// The first rotated sibling of `path` (by name order) that `accept`s.
fn rotated_beside(
    path: &Path,
    accept: impl Fn(&mut File, &Metadata) -> bool,
) -> Option<(String, File)> {
    let base = path.file_name()?.to_str()?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| is_rotated_name(base, n))
        .collect();
    names.sort();
    names.into_iter().find_map(|name| {
        let Ok(Ok(mut f)) = super::open_regular(&dir.join(&name)) else {
            return None;
        };
        let meta = f.metadata().ok()?;
        accept(&mut f, &meta).then_some((name, f))
    })
}

/// `app.log.1`, `app.log-20261122` (any digits after the dash, at least 8)
/// and `app.log.2026-11-22` are rotations of `app.log`.
fn is_rotated_name(base: &str, name: &str) -> bool {
    let Some(rest) = name.strip_prefix(base) else {
        return false;
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if rest == ".1" {
        return true;
    }
    if let Some(d) = rest.strip_prefix('-') {
        return d.len() >= 8 && digits(d);
    }
    rest.strip_prefix('.').is_some_and(|d| {
        let parts: Vec<&str> = d.split('-').collect();
        matches!(parts.as_slice(), [y, m, day] if y.len() == 4 && m.len() == 2 && day.len() == 2
            && digits(y) && digits(m) && digits(day))
    })
}

/// FNV-1a of the (up to) `FINGERPRINT_LEN` bytes before `offset`; none at 0.
fn fingerprint(file: &mut File, offset: u64) -> std::io::Result<Option<u64>> {
    if offset == 0 {
        return Ok(None);
    }
    let len = offset.min(FINGERPRINT_LEN);
    file.seek(SeekFrom::Start(offset - len))?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(len).read_to_end(&mut bytes)?;
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    Ok(Some(hash))
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
            let path = self.path();
            let log = super::LogFile {
                path: &path,
                file: &mut f,
                meta: &meta,
            };
            let s = scan(log, self.memory.clone(), t(now), limits, &pattern).unwrap();
            self.memory = Some(s.memory.clone());
            s
        }
        fn run(&mut self, now: &str) -> Scan {
            self.run_with(now, 256 * 1024 * 1024)
        }
    }

    #[test]
    fn a_crlf_line_ending_does_not_stop_a_pattern_anchored_at_the_end() {
        let pattern = Lines::new(&Regex::new(r"^ERROR \d+$").unwrap());
        let counted = count_lines(
            &mut &b"ERROR 1\r\ninfo\r\nERROR 2\r\n"[..],
            &pattern,
            false,
            None,
        )
        .unwrap();
        assert_eq!(
            (counted.matches, counted.lines, counted.consumed),
            (2, 3, 24)
        );
        let counted = count_lines(&mut &b"ERROR 3\r"[..], &pattern, true, None).unwrap();
        assert_eq!(counted.matches, 1);
    }

    /// A reader that hands out at most `step` bytes per read, so that
    /// lines and matches fall across the reads' boundaries.
    struct Dribble<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// (matches, lines, consumed) of `text`, read `step` bytes at a time.
    fn count_in(text: &[u8], pattern: &str, step: usize, finished: bool) -> (u64, u64, u64) {
        let pattern = Regex::new(pattern).unwrap();
        let mut reader = Dribble { bytes: text, step };
        let c = count_lines(&mut reader, &Lines::new(&pattern), finished, None).unwrap();
        (c.matches, c.lines, c.consumed)
    }

    /// Matches in `text` after a first line: a read's first line is the end
    /// of one begun before it, matched alone; the rest are searched at once.
    fn matches_after_a_line(text: &[u8], pattern: &str, step: usize) -> u64 {
        count_in(&[b"-\n", text].concat(), pattern, step, false).0
    }

    /// What counting promises, one line at a time: (matches, lines, consumed).
    fn count_by_line(text: &[u8], pattern: &str, finished: bool) -> (u64, u64, u64) {
        let pattern = Regex::new(pattern).unwrap();
        let complete = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let counted = if finished { text.len() } else { complete };
        let mut lines: Vec<&[u8]> = text[..complete].split(|b| *b == b'\n').collect();
        lines.pop();
        if finished && complete < text.len() {
            lines.push(&text[complete..]);
        }
        let matches = lines
            .iter()
            .filter(|l| pattern.is_match(super::super::without_cr(&l[..l.len().min(MAX_LINE)])))
            .count();
        (matches as u64, lines.len() as u64, counted as u64)
    }

    #[test]
    fn a_match_never_spans_a_newline() {
        for (text, pattern, want) in [
            (&b"xa\nb\na b\n"[..], r"a\s+b", 1),
            (b"ERROR\n\nx\n", r"(?s)ERROR.+x", 0),
            (b"ERROR\nx\nERROR x\n", r"ERROR[^y]x", 1),
            (b"a\r\nb\n", r"a\s*\r?\n?b", 0),
            (b"ab\nb\n", r"(?m)b$\n^b", 0),
        ] {
            for step in [1, 2, 3, 7, 4096] {
                assert_eq!(
                    matches_after_a_line(text, pattern, step),
                    want,
                    "/{pattern}/ step {step}"
                );
            }
        }
    }

    #[test]
    fn the_buffer_search_never_crosses_a_newline() {
        // A match across lines would make each search run on to the end
        // of the read: a read of many matching lines searched again and
        // again, quadratic in its size.
        for pattern in [
            r"(?s)ERROR.*x",
            r"ERROR[^y]*x",
            r"ERROR\s*x",
            "ERROR\nx",
            r"(?-u:[\x00-\xff])+x",
        ] {
            let lines = Lines::new(&Regex::new(pattern).unwrap());
            let buffer = lines.buffer.expect(pattern);
            assert_eq!(buffer.find(b"ERROR\nx\n"), None, "/{pattern}/");
        }
        let lines = Lines::new(&Regex::new(r"(?s)ERROR.*x").unwrap());
        let found = lines.buffer.unwrap().find(b"ERROR x\nx\n").unwrap();
        assert_eq!(found.range(), 0..7, "the match ends in its own line");
    }

    #[test]
    fn a_line_counts_once_however_many_matches_it_has() {
        let text = b"ERROR ERROR ERROR\nok\nERROR\n";
        assert_eq!(count_in(text, "ERROR", 4096, false), (2, 3, 27));
        assert_eq!(
            count_in(text, "", 4096, false),
            (3, 3, 27),
            "an empty pattern matches every line"
        );
        assert_eq!(count_in(b"\n\n\n", "x*", 4096, false), (3, 3, 3));
    }

    #[test]
    fn anchors_hold_at_each_line_and_not_at_the_read() {
        let text = b"xERROR\nERROR\nERROR x\nx ERROR\n";
        for step in [1, 5, 6, 4096] {
            assert_eq!(matches_after_a_line(text, "^ERROR", step), 2, "step {step}");
            assert_eq!(
                matches_after_a_line(text, r"\AERROR", step),
                2,
                "step {step}"
            );
            assert_eq!(matches_after_a_line(text, "ERROR$", step), 3, "step {step}");
            assert_eq!(
                matches_after_a_line(text, r"ERROR\z", step),
                3,
                "step {step}"
            );
            assert_eq!(
                matches_after_a_line(text, r"^ERROR$", step),
                1,
                "step {step}"
            );
            assert_eq!(
                matches_after_a_line(text, r"\bERROR\b", step),
                3,
                "step {step}"
            );
        }
    }

    #[test]
    fn a_match_in_the_line_still_being_written_waits_for_its_newline() {
        assert_eq!(count_in(b"ok\nERROR half", "ERROR", 4096, false), (0, 1, 3));
        assert_eq!(count_in(b"ok\nERROR half", "ERROR", 4096, true), (1, 2, 13));
        assert_eq!(count_in(b"ok\nERROR half", "half$", 3, true), (1, 2, 13));
        assert_eq!(count_in(b"ERROR\nERR", "ERROR", 2, false), (1, 1, 6));
    }

    #[test]
    fn a_carriage_return_ends_a_line_only_before_its_newline() {
        let cases: [(&[u8], &str, u64); 8] = [
            (b"ERROR 1\r\n", r"^ERROR \d+$", 1),
            (b"ERROR\r\n", r"ERROR\s", 0),
            (b"ERROR \r\n", r"ERROR\s$", 1),
            (b"ERROR\rx\n", r"ERROR$", 0),
            (b"ERROR\rx\n", r"ERROR.x", 1),
            (b"ERROR\r\r\n", r"ERROR$", 0),
            (b"ERROR\r\r\n", r"ERROR\r$", 1),
            (b"ERROR\r\n", r"(?m)ERROR$", 1),
        ];
        for (text, pattern, want) in cases {
            for step in [1, 6, 4096] {
                assert_eq!(
                    matches_after_a_line(text, pattern, step),
                    want,
                    "/{pattern}/ on {:?} step {step}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }

    #[test]
    fn a_line_over_a_mib_is_matched_on_its_first_mib_wherever_it_falls() {
        let mut text = b"ERROR short\n".to_vec();
        text.extend(vec![b'a'; 3 * MAX_LINE]);
        text.extend_from_slice(b" ERROR far\nERROR after\n");
        for (pattern, want) in [
            ("ERROR", 2),
            ("a$", 1),
            (r"^a+$", 1),
            ("far", 0),
            (r"a\b", 1),
        ] {
            for step in [CHUNK, 1000 * 1000, 7 * 1024 * 1024] {
                assert_eq!(
                    count_in(&text, pattern, step, false),
                    (want, 3, text.len() as u64),
                    "/{pattern}/ step {step}"
                );
            }
        }
    }

    #[test]
    fn counting_agrees_with_matching_each_line_alone() {
        let patterns = [
            "ERROR",
            "ERROR|Traceback",
            r"^E",
            r"R$",
            r"\s+",
            r"o\s+E",
            r"(?i)error \d",
            r"\bERR",
            r"[^a-z]{3}",
            r"(?s)R.E",
            r"(?-u:\xff)",
            r"^$",
            r"\r",
        ];
        let pieces: [&[u8]; 9] = [
            b"ERROR",
            b" ",
            b"\n",
            b"\r",
            b"o",
            b"Traceback 1",
            b"\xff",
            b"\r\n",
            b"error 7",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..300 {
            let mut text = Vec::new();
            for _ in 0..(round % 40) {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                text.extend_from_slice(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            for pattern in patterns {
                let lines = Lines::new(&Regex::new(pattern).unwrap());
                assert!(
                    lines.buffer.is_some(),
                    "/{pattern}/ is searched in the buffer"
                );
                for finished in [false, true] {
                    let want = count_by_line(&text, pattern, finished);
                    for step in [1, 3, 4096] {
                        assert_eq!(
                            count_in(&text, pattern, step, finished),
                            want,
                            "/{pattern}/ on {:?} step {step} finished {finished}",
                            String::from_utf8_lossy(&text)
                        );
                    }
                }
            }
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
    fn after_a_gap_timestamped_lines_count_when_they_were_written_not_when_read() {
        let mut log = Log::new();
        log.run("2026-11-22T05:00:00Z");
        for minute in 1..=10 {
            log.append(format!("2026-11-22T05:{minute:02}:00Z ERROR heartbeat\n").as_bytes());
        }
        let late = log.run("2026-11-22T06:20:00Z");
        assert_eq!(
            (late.matches, late.lines),
            (0, 0),
            "all written before 05:20"
        );
        assert_eq!(late.spread, None);
        for minute in 30..=39 {
            log.append(format!("2026-11-22T06:{minute:02}:00Z ERROR heartbeat\n").as_bytes());
        }
        let next = log.run("2026-11-22T07:35:00Z");
        assert_eq!(next.matches, 4, "06:36 to 06:39 are within the hour");
    }

    #[test]
    fn after_a_gap_lines_without_a_timestamp_are_spread_over_it_and_said_so() {
        let mut log = Log::new();
        log.run("2026-11-22T05:00:00Z");
        log.append("ERROR heartbeat\n".repeat(10).as_bytes());
        let late = log.run("2026-11-22T07:00:00Z");
        assert_eq!(late.matches, 5, "half the gap is within the window");
        assert_eq!(
            late.spread.as_deref(),
            Some("10 lines read after a 2h gap had no timestamp: spread over it")
        );
        log.append(b"ERROR now\n");
        let next = log.run("2026-11-22T07:01:00Z");
        assert_eq!((next.matches, next.spread), (6, None));
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
    fn runs_every_few_seconds_keep_about_sixty_buckets_and_every_count() {
        let mut log = Log::new();
        let start: jiff::Timestamp = t("2026-11-22T05:00:00Z");
        let mut last = None;
        for i in 0..720 {
            log.append(b"ERROR\n");
            let now = start + jiff::SignedDuration::from_secs(5 * i);
            last = Some(log.run(&now.to_string()));
        }
        let last = last.unwrap();
        let buckets = last.memory.window.len();
        assert!((59..=61).contains(&buckets), "{buckets} buckets");
        assert!(
            (708..=719).contains(&last.matches),
            "the last hour's 719 matches, less at most a minute's: {}",
            last.matches
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
            rotated.restart.as_deref(),
            Some(
                "the file was rotated: counted the rest of app.log.1, then the new file from its start"
            )
        );
        assert_eq!(rotated.matches, 3);
        std::fs::write(log.path(), b"").unwrap();
        log.append(b"x\n");
        let truncated = log.run("2026-11-22T05:03:00Z");
        assert_eq!(
            truncated.restart.as_deref(),
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

    #[test]
    fn the_rest_of_a_rotated_file_counts_its_last_line_without_newline() {
        let mut log = Log::new();
        log.run("2026-11-22T05:00:00Z");
        log.append(b"ERROR 1\nERROR cut off");
        assert_eq!(log.run("2026-11-22T05:01:00Z").matches, 1);
        std::fs::rename(log.path(), log.dir.path().join("app.log-20261122")).unwrap();
        std::fs::write(log.path(), b"ERROR new\n").unwrap();
        let s = log.run("2026-11-22T05:02:00Z");
        assert_eq!((s.matches, s.lines), (3, 3));
    }

    #[test]
    fn rotated_names_are_the_usual_ones_and_never_compressed() {
        for name in [
            "app.log.1",
            "app.log-20261122",
            "app.log-1764000000",
            "app.log.2026-11-22",
        ] {
            assert!(is_rotated_name("app.log", name), "{name}");
        }
        for name in [
            "app.log",
            "app.log.1.gz",
            "app.log-20261122.gz",
            "app.log.2",
            "app.log-2026",
            "app.log.2026-11-22.xz",
            "other.log.1",
        ] {
            assert!(!is_rotated_name("app.log", name), "{name}");
        }
    }
}
