//! `log`: is the bot doing its work, how many errors per hour? Two modes:
//! `lines = N` counts lines matching a pattern in the last N lines (a
//! script's `tail -n 100 | grep -c "VIX|Update"`), reading the tail backwards
//! from the end in chunks, so the cost depends on N and the line length,
//! never on the size of the file; `per = "1h"` counts matches appended
//! within a trailing window (`rate`), see `rate.rs`; `expect = "age"` says
//! how long ago the newest matching line was written ("the heartbeat was
//! seen recently"), see `age.rs`. `journal = "unit"` instead of `path`
//! reads the systemd journal, see `journal.rs`.

mod age;
mod count;
mod journal;
mod rate;

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;
use regex::bytes::Regex;

use super::{Keys, Kind, Metric, Primary, Record, TypeKeys};
use crate::check::common::RawCheck;
use crate::files::not_regular_file;
use crate::model::{Outcome, Unit, count};
use crate::spec::probe::{Probe, ProbeContext};
use crate::vocab::values::{Limit, OneOrMany};
use crate::vocab::{Builder, expand_tilde};

pub const KIND: Kind = Kind {
    primary: Primary::When(&[("expect", Some("age"), &AGE), ("per", None, &RATE)]),
    keys_only_on: &[("journal", super::journal::ONLY_ON)],
    ..Kind::new(
        "log",
        Keys::of::<LogKeys>(),
        &[&MATCHES, &RATE, &RATIO, &AGE],
    )
};

pub const MATCHES: Metric = Metric::new("matches", Unit::Count);
pub const RATE: Metric = Metric::new("rate", Unit::Count);
pub const RATIO: Metric = Metric::new("ratio", Unit::Percent);
pub const AGE: Metric = Metric::new("age", Unit::Seconds);

/// The keys of a `log` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LogKeys {
    path: Option<String>,
    journal: Option<OneOrMany>,
    priority: Option<Limit>,
    pattern: Option<String>,
    lines: Option<u64>,
    per: Option<String>,
    max_read: Option<String>,
    total: Option<bool>,
    min_lines: Option<u64>,
    expect: Option<String>,
    timestamp_format: Option<String>,
    naive_timezone: Option<String>,
}

impl TypeKeys for LogKeys {
    fn build(&self, _common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, b)
    }
}

/// Bytes read per step backwards.
const CHUNK: usize = 64 * 1024;
/// The most read backwards in one run, whatever N is: a file of one endless
/// line must not be read whole.
const MAX_TAIL_BYTES: u64 = 16 * 1024 * 1024;

/// Default `max_read`: the most read per run in `per` mode.
const DEFAULT_MAX_READ: u64 = 256 * 1024 * 1024;
/// Default `min_lines`: a ratio of fewer lines is noise, not judged.
const DEFAULT_MIN_LINES: u64 = 100;

struct LogCheck {
    source: Source,
    pattern: Regex,
    mode: Mode,
}

/// Where the lines come from.
enum Source {
    File(PathBuf),
    Journal(super::journal::Journal),
}

enum Mode {
    /// Matches among the last N lines.
    Tail(usize),
    /// Matches appended within the trailing window.
    Rate(Rate),
    /// How long ago the newest matching line was written.
    Age(age::Age),
}

/// `per` mode: the window, the most read per run, and whether to give
/// the ratio of matching lines (judged from `min_lines` lines on).
struct Rate {
    per: Duration,
    max_read: u64,
    total: bool,
    min_lines: u64,
}

fn build(raw: &LogKeys, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let source = source(raw, b);
    let pattern = b.required("pattern", &raw.pattern).cloned();
    let pattern = pattern.and_then(|p| b.bytes_regex("pattern", &p));
    let age = age::build(raw, b);
    let mode = match (raw.lines, &raw.per) {
        _ if raw.expect.is_some() => age.map(Mode::Age),
        (Some(_), Some(_)) | (None, None) => {
            b.error("lines", "give exactly one of `lines = N` (the last N lines) or `per = \"1h\"` (matches per window)");
            None
        }
        (Some(0), None) => {
            b.error("lines", "must be at least 1");
            None
        }
        (Some(n), None) => {
            let given = [
                ("max_read", raw.max_read.is_some()),
                ("total", raw.total.is_some()),
                ("min_lines", raw.min_lines.is_some()),
            ];
            for (key, given) in given {
                if given {
                    b.error(key, format!("`{key}` goes with `per`, not with `lines`"));
                }
            }
            usize::try_from(n).ok().map(Mode::Tail)
        }
        (None, Some(per)) => {
            let per = b.duration("per", per).filter(|d| !d.is_zero());
            if per.is_none() && !b.has_error("per") {
                b.error("per", "must be longer than 0s");
            }
            let max_read = match &raw.max_read {
                Some(_) if raw.journal.is_some() => {
                    b.error("max_read", format!("`max_read` goes with `path`; a journal is read at most {} entries a run", journal::MAX_ENTRIES));
                    None
                }
                None => Some(DEFAULT_MAX_READ),
                Some(text) => b.size("max_read", text),
            };
            let total = raw.total.unwrap_or(false);
            if raw.min_lines.is_some() && !total {
                b.error(
                    "min_lines",
                    "`min_lines` goes with `total = true` (the ratio)",
                );
            }
            per.zip(max_read).map(|(per, max_read)| {
                Mode::Rate(Rate {
                    per,
                    max_read,
                    total,
                    min_lines: raw.min_lines.unwrap_or(DEFAULT_MIN_LINES),
                })
            })
        }
    };
    if let (Some(Mode::Tail(n)), Some(_)) = (&mode, &raw.journal)
        && *n > journal::MAX_ENTRIES
    {
        b.error(
            "lines",
            format!("at most {} with `journal`", journal::MAX_ENTRIES),
        );
        return None;
    }
    Some(Box::new(LogCheck {
        source: source?,
        pattern: pattern?,
        mode: mode?,
    }))
}

/// `path` (a file) or `journal` (systemd units), exactly one of them.
fn source(raw: &LogKeys, b: &mut Builder) -> Option<Source> {
    let journal = super::journal::build(raw.journal.as_ref(), raw.priority.as_ref(), b);
    if raw.priority.is_some() && raw.journal.is_none() {
        b.error("priority", "`priority` goes with `journal`");
    }
    match (&raw.path, &raw.journal) {
        (Some(_), Some(_)) => {
            b.error(
                "journal",
                "give exactly one of `path` (a file) or `journal` (systemd units)",
            );
            None
        }
        (None, None) => {
            b.error(
                "path",
                "missing key path (or journal), which this type requires",
            );
            None
        }
        (Some(path), None) => Some(Source::File(expand_tilde(path))),
        (None, Some(_)) => journal.map(Source::Journal),
    }
}

impl Probe for LogCheck {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let path = match &self.source {
            Source::File(path) => path,
            Source::Journal(j) => {
                return match self.mode {
                    Mode::Tail(n) => journal::tail(j, &self.pattern, n, ctx),
                    Mode::Rate(ref rate) => journal::rate(j, &self.pattern, rate, ctx),
                    Mode::Age(_) => Err(anyhow!("expect = \"age\" reads a file, not the journal")),
                };
            }
        };
        let mut file = match open_regular(path)? {
            Ok(f) => f,
            Err(outcome) => return Ok(outcome),
        };
        match self.mode {
            Mode::Tail(n) => Ok(self.tail(&mut file, n)?),
            Mode::Rate(ref rate) => self.rate(path, &mut file, ctx, rate),
            Mode::Age(ref age) => age::probe(path, &mut file, &self.pattern, age, ctx),
        }
    }

    fn target(&self) -> Option<String> {
        match &self.source {
            Source::File(path) => Some(path.display().to_string()),
            Source::Journal(_) => None,
        }
    }
}

/// A line without the `\r` of a CRLF ending (Windows logs), so that a
/// pattern anchored with `$` matches it as it would a LF line.
fn without_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

impl LogCheck {
    fn tail(&self, file: &mut File, n: usize) -> std::io::Result<Outcome> {
        let tail = last_lines(file, n)?;
        let seen = tail.split(|b| *b == b'\n').count();
        let matches = tail
            .split(|b| *b == b'\n')
            .filter(|line| self.pattern.is_match(without_cr(line)))
            .count();
        let message = format!(
            "{matches} of the last {} /{}/",
            count(seen.min(n), "line matches", "lines match"),
            self.pattern.as_str()
        );
        Ok(Outcome::ok(message).record(&MATCHES, matches as f64))
    }

    fn rate(
        &self,
        path: &Path,
        file: &mut File,
        ctx: &ProbeContext,
        mode: &Rate,
    ) -> anyhow::Result<Outcome> {
        let meta = file.metadata()?;
        let prev = ctx
            .memory
            .clone()
            .and_then(|m| serde_json::from_value::<rate::Memory>(m).ok());
        let limits = rate::Limits {
            per: mode.per,
            max_read: mode.max_read,
        };
        let log = rate::LogFile {
            path,
            file,
            meta: &meta,
        };
        let scan = rate::scan(log, prev, ctx.now, limits, &self.pattern)?;
        let counted = RateCount {
            matches: scan.matches,
            lines: scan.lines,
            restart: match (scan.restart, scan.spread) {
                (Some(a), Some(b)) => Some(format!("{a}; {b}")),
                (a, b) => a.or(b),
            },
            warming_up: scan.warming_up,
            noun: ("line", "lines"),
        };
        let mut outcome = rate_outcome(&self.pattern, mode, counted);
        if scan.skipped > 0 {
            outcome.status = crate::model::Status::Warning;
            outcome.message.push_str(&format!(
                "; skipped {} appended since the last run (over max_read)",
                Unit::Bytes.show(scan.skipped as f64)
            ));
        }
        Ok(outcome.remember(serde_json::to_value(&scan.memory)?))
    }
}

/// What a `per` run counted within the window, from a file or a journal.
struct RateCount {
    matches: u64,
    lines: u64,
    /// Why counting (re)started, if it did.
    restart: Option<String>,
    /// How much of the window has been counted, while less than all of it.
    warming_up: Option<Duration>,
    /// What is counted: ("line", "lines") or ("entry", "entries").
    noun: (&'static str, &'static str),
}

/// The outcome of a `per` run: the rate, the ratio if asked for, and why
/// the count may be low.
fn rate_outcome(pattern: &Regex, mode: &Rate, counted: RateCount) -> Outcome {
    let RateCount {
        matches,
        lines,
        restart,
        warming_up,
        noun: (one, many),
    } = counted;
    let window = Unit::Seconds.show(mode.per.as_secs_f64());
    let mut message = format!(
        "{} /{}/ in the last {window}",
        count(
            matches as usize,
            &format!("{one} matched"),
            &format!("{many} matched")
        ),
        pattern.as_str()
    );
    if let Some(why) = restart {
        message.push_str(&format!(" ({why})"));
    }
    let mut outcome = Outcome::ok("").record(&RATE, matches as f64);
    if let Some(seen) = warming_up {
        // Until a whole window is counted the count can only be low.
        outcome.warming_up = true;
        message.push_str(&format!(" (warming up: {})", seen_of(seen, mode.per)));
    }
    if mode.total {
        let ratio = if lines == 0 {
            0.0
        } else {
            matches as f64 / lines as f64 * 100.0
        };
        message.push_str(&format!(
            ", {} of {}",
            Unit::Percent.show(ratio),
            count(lines as usize, one, many)
        ));
        if lines >= mode.min_lines {
            outcome = outcome.record(&RATIO, ratio);
        } else {
            message.push_str(&format!(
                " (too few to judge the ratio; min_lines = {})",
                mode.min_lines
            ));
        }
    }
    outcome.message = message;
    outcome
}

/// "12 of 60 minutes seen" (seconds for a window under two minutes).
fn seen_of(seen: Duration, per: Duration) -> String {
    if per >= Duration::from_secs(120) {
        format!(
            "{} of {} minutes seen",
            seen.as_secs() / 60,
            per.as_secs() / 60
        )
    } else {
        format!("{} of {} seconds seen", seen.as_secs(), per.as_secs())
    }
}

/// Open a path for reading only if it is a regular file. A FIFO is opened
/// non-blocking so that asking never hangs. The inner `Err` is the outcome
/// to report (missing: CRITICAL; not a regular file: UNKNOWN).
pub fn open_regular(path: &Path) -> anyhow::Result<Result<File, Outcome>> {
    let mut options = File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Ok(Err(Outcome::critical(format!(
                "file not found: {}",
                path.display()
            ))));
        }
        Err(e) => return Err(anyhow!("{}: {e}", path.display())),
    };
    let meta = file.metadata()?;
    if let Some(why) = not_regular_file(&meta) {
        return Ok(Err(Outcome::unknown(format!(
            "{} is {why}, not a regular file",
            path.display()
        ))));
    }
    Ok(Ok(file))
}

/// The bytes of the last `n` lines (without the final newline), read
/// backwards from the end.
fn last_lines(file: &mut File, n: usize) -> std::io::Result<Vec<u8>> {
    let len = file.seek(SeekFrom::End(0))?;
    let mut end = len;
    // A final newline ends the last line; it does not start an empty one.
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] == b'\n' {
            end = len - 1;
        }
    }
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut pos = end;
    let mut newlines = 0;
    let mut cut: Option<(usize, usize)> = None;
    while pos > 0 && end - pos < MAX_TAIL_BYTES {
        let size = CHUNK.min(pos as usize);
        pos -= size as u64;
        let mut chunk = vec![0u8; size];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| {
            if *b == b'\n' {
                newlines += 1;
            }
            newlines == n
        }) {
            cut = Some((chunks.len(), i + 1));
            chunks.push(chunk);
            break;
        }
        chunks.push(chunk);
    }
    if let Some((index, start)) = cut {
        chunks[index].drain(..start);
    }
    chunks.reverse();
    Ok(chunks.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tail_of(content: &[u8], n: usize) -> String {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(content).unwrap();
        String::from_utf8(last_lines(&mut f, n).unwrap()).unwrap()
    }

    #[test]
    fn a_crlf_line_ending_does_not_stop_a_pattern_anchored_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.log");
        std::fs::write(&path, b"tick 1\r\ntick 2\r\nother\r\n").unwrap();
        let toml = format!(
            "[[check]]\nname = \"l\"\ntype = \"log\"\npath = '{}'\npattern = '^tick \\d+$'\nlines = 3\n",
            path.display()
        );
        let config = crate::config::load_str("t.toml", &toml).unwrap();
        let ctx = crate::spec::probe::ProbeContext {
            now: jiff::Timestamp::now(),
            deadline: std::time::Instant::now() + std::time::Duration::from_secs(10),
            memory: None,
            processes: Default::default(),
        };
        let o = config.checks[0].probe.probe(&ctx).unwrap();
        assert!(
            o.message.starts_with("2 of the last 3 lines"),
            "{}",
            o.message
        );
    }

    #[test]
    fn last_lines_like_tail() {
        assert_eq!(tail_of(b"a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail_of(b"a\nb\nc", 2), "b\nc");
        assert_eq!(tail_of(b"a\nb\nc\n", 5), "a\nb\nc");
        assert_eq!(tail_of(b"", 3), "");
        assert_eq!(tail_of(b"\n\n", 1), "");
    }

    #[test]
    fn last_lines_across_chunks() {
        let mut content = Vec::new();
        for i in 0..100_000 {
            writeln!(content, "line {i}").unwrap();
        }
        let tail = tail_of(&content, 3);
        assert_eq!(tail, "line 99997\nline 99998\nline 99999");
        let long = tail_of(&content, 20_000);
        assert_eq!(long.lines().count(), 20_000);
        assert!(long.starts_with("line 80000\n"));
    }
}
