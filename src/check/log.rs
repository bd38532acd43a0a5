//! `log`: is the bot doing its work? Counts lines matching a pattern in the
//! last N lines of a log (seed 004's `tail -n 100 | grep -c "VIX|Update"`).
//! The tail is read backwards from the end in chunks, so the cost depends on
//! N and the line length, never on the size of the file.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use regex::bytes::Regex;

use super::{Kind, Outcome, Probe, ProbeContext, Unit, not_regular_file};
use crate::config::{Builder, RawCheck, expand_tilde};

pub const KIND: Kind = Kind {
    name: "log",
    keys: &["path", "pattern", "lines", "missing"],
    readings: &[("matches", Unit::Count)],
    build,
};

/// Bytes read per step backwards.
const CHUNK: usize = 64 * 1024;
/// The most read backwards in one run, whatever N is: a file of one endless
/// line must not be read whole.
const MAX_TAIL_BYTES: u64 = 16 * 1024 * 1024;

struct LogCheck {
    path: PathBuf,
    pattern: Regex,
    lines: usize,
}

fn build(raw: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let path = b.required("path", &raw.path).map(|p| expand_tilde(p));
    let pattern = b.required("pattern", &raw.pattern).cloned();
    let pattern = pattern.and_then(|p| b.bytes_regex("pattern", &p));
    let lines = b.required("lines", &raw.lines).copied();
    if lines == Some(0) {
        b.error("lines", "must be at least 1");
    }
    if raw.missing.is_some() {
        b.error(
            "missing",
            "applies to `file` checks only; a missing log is always CRITICAL",
        );
    }
    Some(Box::new(LogCheck {
        path: path?,
        pattern: pattern?,
        lines: usize::try_from(lines?).ok()?,
    }))
}

impl Probe for LogCheck {
    fn probe(&self, _ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let mut file = match open_regular(&self.path)? {
            Ok(f) => f,
            Err(outcome) => return Ok(outcome),
        };
        let tail = last_lines(&mut file, self.lines)?;
        let seen = tail.split(|b| *b == b'\n').count();
        let matches = tail
            .split(|b| *b == b'\n')
            .filter(|line| self.pattern.is_match(line))
            .count();
        let message = format!(
            "{matches} of the last {} lines match /{}/",
            seen.min(self.lines),
            self.pattern.as_str()
        );
        Ok(Outcome::ok(message).reading("matches", matches as f64, Unit::Count))
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
