//! The systemd journal as a source for the `log` and `file` checks: units
//! under systemd log to journald, not to files (scripts read them with
//! `journalctl -u ... | grep`). Runs `settings.journalctl` with
//! `--output=json` under the check's timeout (the child runner kills its
//! process group at the end) and parses its lines with serde_json. What one
//! run reads is bounded: it asks for at most the entries it needs, in pages
//! of `PAGE` after a cursor, and a page cut at the runner's output cap is
//! resumed after its last whole entry.

use std::time::{Duration, Instant};

use anyhow::anyhow;
use regex::bytes::Regex;
use serde::Deserialize;

use super::{Only, Platform};
use crate::proc;
use crate::vocab::Builder;
use crate::vocab::values::{Limit, OneOrMany};

/// Entries asked for per call after a cursor.
const PAGE: usize = 2000;

/// journalctl's priority names, most urgent first (0..=7).
const PRIORITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Which entries a check reads: the units (globs allowed, as `-u` takes
/// them) and the least urgent priority wanted.
#[derive(Debug, Clone)]
pub struct Journal {
    journalctl: Vec<String>,
    units: Vec<String>,
    priority: Option<u8>,
}

/// One journal entry, as much of it as the checks use.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub cursor: String,
    pub at: jiff::Timestamp,
    /// MESSAGE; a field given more than once has several values.
    pub message: Vec<Vec<u8>>,
}

impl Entry {
    pub fn matches(&self, pattern: &Regex) -> bool {
        self.message.iter().any(|m| pattern.is_match(m))
    }
}

/// Where reading starts.
#[derive(Debug, Clone)]
pub enum From {
    /// The last N entries.
    Tail(usize),
    /// From this entry on (it is read again, to tell it is still there).
    Cursor(String),
    /// From this time on.
    Since(jiff::Timestamp),
}

/// How reading ended.
#[derive(Debug, Default, PartialEq)]
pub struct Read {
    /// Entries handed over.
    pub entries: usize,
    /// The cursor of the last entry handed over.
    pub last: Option<String>,
    /// Reading stopped at the limit of entries.
    pub full: bool,
    /// Reading stopped at the timeout; the rest is for the next run.
    pub timed_out: bool,
    /// `From::Cursor` named an entry the journal no longer has; nothing
    /// was handed over.
    pub gone: bool,
}

/// Where the `journal` key works.
pub const ONLY_ON: Only = Only {
    on: Platform::Unix,
    why: "there is no systemd journal",
};

/// Build the `journal` (and `priority`) keys of a check, if given.
pub fn build(
    journal: Option<&OneOrMany>,
    priority: Option<&Limit>,
    b: &mut Builder,
) -> Option<Journal> {
    let units = journal?;
    if units.0.is_empty() {
        b.error("journal", "must name at least one unit");
    }
    for unit in &units.0 {
        if let Some(why) = unit_problem(unit) {
            b.error("journal", why);
        }
    }
    let priority = match priority {
        None => None,
        Some(given) => match self::priority(given) {
            Some(p) => Some(p),
            None => {
                b.error(
                    "priority",
                    format!("must be one of {} or 0 to 7", PRIORITIES.join(", ")),
                );
                return None;
            }
        },
    };
    if b.has_error("journal") {
        return None;
    }
    Some(Journal {
        journalctl: b.settings().journalctl.clone(),
        units: units.0.clone(),
        priority,
    })
}

/// Why a unit name (glob) cannot be passed to `-u`, if it cannot.
fn unit_problem(unit: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || ":-_.\\@*?[]".contains(c);
    if unit.is_empty() || unit.len() > 255 || unit.starts_with('-') || !unit.chars().all(allowed) {
        Some(format!(
            "invalid unit name \"{unit}\": use letters, digits, :-_.\\@ and the globs *?[] only, not starting with `-`"
        ))
    } else {
        None
    }
}

/// `"err"`, `"3"` or `3` as journalctl's priority number.
fn priority(given: &Limit) -> Option<u8> {
    match given {
        Limit::Number(n) => (n.fract() == 0.0 && (0.0..=7.0).contains(n)).then_some(*n as u8),
        Limit::Text(text) => {
            let text = text.trim().to_ascii_lowercase();
            PRIORITIES
                .iter()
                .position(|p| *p == text)
                .map(|p| p as u8)
                .or_else(|| text.parse::<u8>().ok().filter(|p| *p <= 7))
        }
    }
}

impl Journal {
    /// "schwab-*.service" or "a.service, b.service", with the priority.
    pub fn describe(&self) -> String {
        let units = self.units.join(", ");
        match self.priority {
            Some(p) => format!(
                "{units}, priority {} or more urgent",
                PRIORITIES[p as usize]
            ),
            None => units,
        }
    }

    /// What the remembered position belongs to: the units and priority.
    pub fn identity(&self) -> String {
        let priority = self
            .priority
            .map(|p| format!(" -p {p}"))
            .unwrap_or_default();
        format!("{}{priority}", self.units.join(" "))
    }

    fn argv(&self, from: &From, lines: usize) -> Vec<String> {
        let mut argv = self.journalctl.clone();
        argv.extend(
            [
                "--output=json",
                "--output-fields=MESSAGE",
                "--all",
                "--no-pager",
            ]
            .map(String::from),
        );
        for unit in &self.units {
            argv.push(format!("--unit={unit}"));
        }
        if let Some(p) = self.priority {
            argv.push(format!("--priority={p}"));
        }
        argv.push(format!("--lines={lines}"));
        match from {
            From::Tail(_) => {}
            From::Cursor(cursor) => argv.push(format!("--cursor={cursor}")),
            From::Since(t) => {
                let micros = t.as_microsecond();
                let (secs, frac) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
                argv.push(format!("--since=@{secs}.{frac:06}"));
            }
        }
        argv
    }

    /// Read at most `limit` entries from `from`, handing each to `each`,
    /// until the journal has no more or `deadline` passes.
    pub fn read(
        &self,
        from: From,
        limit: usize,
        deadline: Instant,
        mut each: impl FnMut(&Entry),
    ) -> anyhow::Result<Read> {
        let mut read = Read::default();
        let mut from = from;
        while read.entries < limit {
            let want = limit - read.entries;
            let (lines, again) = match &from {
                From::Tail(n) => (want.min(*n), None),
                From::Since(_) => (want, None),
                From::Cursor(c) => (want.min(PAGE) + 1, Some(c.clone())),
            };
            let argv = self.argv(&from, lines);
            let timeout = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            let out = proc::Job::new(&argv, timeout).run()?;
            if out.timed_out {
                if read.entries == 0 {
                    return Err(anyhow!("{} {}", argv[0], out.describe()));
                }
                read.timed_out = true;
                break;
            }
            if out.code != Some(0) {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
                if again.is_some() && last.is_some_and(|l| l.contains("cursor")) {
                    read.gone = true;
                    return Ok(read);
                }
                return Err(anyhow!(
                    "{} {}: {}",
                    argv[0],
                    out.describe(),
                    last.unwrap_or("").trim()
                ));
            }
            let cut = out.stdout.len() >= proc::OUTPUT_CAP;
            let page = parse(&out.stdout, cut)?;
            let mut page = page.into_iter();
            if let Some(cursor) = &again {
                match page.next() {
                    Some(first) if first.cursor == *cursor => {}
                    _ => {
                        read.gone = true;
                        return Ok(read);
                    }
                }
            }
            let mut got = 0;
            for entry in page.take(want) {
                each(&entry);
                got += 1;
                read.entries += 1;
                read.last = Some(entry.cursor);
            }
            let asked = lines - usize::from(again.is_some());
            if !cut && got < asked {
                return Ok(read);
            }
            let Some(last) = read.last.clone().filter(|_| got > 0) else {
                return Err(anyhow!(
                    "{} wrote an entry longer than {} of JSON",
                    argv[0],
                    crate::model::Unit::Bytes.show(proc::OUTPUT_CAP as f64)
                ));
            };
            from = From::Cursor(last);
        }
        read.full = read.entries >= limit;
        Ok(read)
    }
}

/// journalctl's JSON as written: the fields the checks use.
#[derive(Deserialize)]
struct RawEntry {
    #[serde(rename = "__CURSOR")]
    cursor: String,
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    realtime: String,
    #[serde(rename = "MESSAGE", default)]
    message: serde_json::Value,
}

/// The entries of journalctl's output, one JSON object a line; a `cut`
/// output's unfinished last line is left out. Lines that are not objects
/// ("-- No entries --" of some versions) are not entries.
fn parse(stdout: &[u8], cut: bool) -> anyhow::Result<Vec<Entry>> {
    let mut lines: Vec<&[u8]> = stdout.split(|b| *b == b'\n').collect();
    if cut {
        lines.pop();
    }
    lines
        .into_iter()
        .filter(|l| l.trim_ascii_start().starts_with(b"{"))
        .map(|line| {
            let raw: RawEntry = serde_json::from_slice(line)
                .map_err(|e| anyhow!("journalctl wrote an entry that is not its JSON: {e}"))?;
            let micros: i64 = raw
                .realtime
                .parse()
                .map_err(|_| anyhow!("journalctl wrote __REALTIME_TIMESTAMP {:?}", raw.realtime))?;
            Ok(Entry {
                cursor: raw.cursor,
                at: jiff::Timestamp::from_microsecond(micros)?,
                message: message(raw.message),
            })
        })
        .collect()
}

/// MESSAGE as journalctl writes it in JSON: a string, an array of bytes
/// (not UTF-8, or with control characters), null (absent), or an array of
/// those when the field was given more than once.
fn message(value: serde_json::Value) -> Vec<Vec<u8>> {
    use serde_json::Value;
    let bytes = |items: &[Value]| -> Option<Vec<u8>> {
        items
            .iter()
            .map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect()
    };
    match value {
        Value::String(s) => vec![s.into_bytes()],
        Value::Array(items) => match bytes(&items) {
            Some(b) => vec![b],
            None => items.into_iter().flat_map(message).collect(),
        },
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_may_be_a_string_bytes_or_several() {
        let parsed = parse(
            br#"{"__CURSOR":"s=1;i=1","__REALTIME_TIMESTAMP":"1796178788366663","MESSAGE":"ERROR one"}
{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1796178788366664","MESSAGE":[69,82,255]}
{"__CURSOR":"s=1;i=3","__REALTIME_TIMESTAMP":"1796178788366665","MESSAGE":["a",[98,255]]}
{"__CURSOR":"s=1;i=4","__REALTIME_TIMESTAMP":"1796178788366666","MESSAGE":null}
-- No entries --
"#,
            false,
        )
        .unwrap();
        let messages: Vec<Vec<Vec<u8>>> = parsed.iter().map(|e| e.message.clone()).collect();
        assert_eq!(
            messages,
            [
                vec![b"ERROR one".to_vec()],
                vec![vec![69, 82, 255]],
                vec![b"a".to_vec(), vec![98, 255]],
                vec![],
            ]
        );
        assert_eq!(parsed[0].at.as_microsecond(), 1_796_178_788_366_663);
        assert_eq!(parsed[3].cursor, "s=1;i=4");
    }

    #[test]
    fn an_output_cut_at_the_cap_leaves_out_its_unfinished_line() {
        let text = br#"{"__CURSOR":"a","__REALTIME_TIMESTAMP":"1","MESSAGE":"x"}
{"__CURSOR":"b","__REALTIME_TIMESTAMP":"2","MESS"#;
        assert_eq!(parse(text, true).unwrap().len(), 1);
        assert!(parse(text, false).is_err());
    }

    #[test]
    fn priorities_by_name_or_number() {
        let text = |s: &str| priority(&Limit::Text(s.into()));
        assert_eq!(text("err"), Some(3));
        assert_eq!(text("EMERG"), Some(0));
        assert_eq!(text("debug"), Some(7));
        assert_eq!(text("4"), Some(4));
        assert_eq!(priority(&Limit::Number(6.0)), Some(6));
        assert_eq!(text("error"), None);
        assert_eq!(text("8"), None);
        assert_eq!(priority(&Limit::Number(2.5)), None);
        assert_eq!(priority(&Limit::Number(-1.0)), None);
    }

    #[test]
    fn unit_globs_pass_and_options_do_not() {
        assert_eq!(unit_problem("schwab-*.service"), None);
        assert_eq!(unit_problem("bot@[12].service"), None);
        assert!(unit_problem("--all").is_some());
        assert!(unit_problem("a b").is_some());
        assert!(unit_problem("").is_some());
    }
}
