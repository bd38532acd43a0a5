//! Counting the lines of appended bytes that match a pattern, for `per`:
//! each read (4 MiB) searched whole rather than line by line. The regex
//! runs over the complete lines of the read with its anchors made line
//! anchors and the newline taken out of its classes (`Lines`: a `\s` or
//! `[^x]` never takes a newline, so a match stays within its line); each
//! match is mapped to its line with memchr and the line counted once; a
//! match that takes the line's final `\r` or leans on an end anchor is
//! confirmed by matching its line alone. So the count is what matching each
//! line alone gives. Reads with a line of 512 KiB or more, and reads after
//! a gap (whose lines are placed one by one), are matched line by line.

use std::io::Read;

use regex::bytes::Regex;
use regex_syntax::hir::{
    Capture, Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind,
    Look, Repetition,
};

use super::rate::{MAX_LINE, Placed, Placing};

/// Bytes read, and searched, per step.
pub(super) const CHUNK: usize = 4 * 1024 * 1024;

/// The configured pattern, and the same pattern for a buffer of many lines.
pub(super) struct Lines {
    pattern: Regex,
    /// `pattern` with its start and end of text made start and end of a
    /// line (an end before `\r\n` too) and without the newline in any of
    /// its classes: every line that `pattern` matches alone holds a match
    /// of this one in the buffer, and a match never crosses a line's end
    /// (nor runs on to the end of the read). None if it does not compile,
    /// then lines are matched one by one.
    pub(super) buffer: Option<Regex>,
    /// The pattern has an end anchor: a match in the buffer may end at a
    /// lone `\r`, so its line is matched alone to confirm it.
    pub(super) confirm: bool,
}

impl Lines {
    pub(super) fn new(pattern: &Regex) -> Lines {
        let mut confirm = false;
        let buffer = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(pattern.as_str())
            .ok()
            .and_then(|hir| Regex::new(&at_line_ends(&hir, &mut confirm).to_string()).ok());
        Lines {
            pattern: pattern.clone(),
            buffer,
            confirm,
        }
    }

    fn is_match(&self, line: &[u8]) -> bool {
        self.pattern.is_match(super::without_cr(line))
    }
}

/// `hir` with start and end of text made start and end of a line, and no
/// newline; sets `confirm` if it has an end anchor.
fn at_line_ends(hir: &Hir, confirm: &mut bool) -> Hir {
    match hir.kind() {
        HirKind::Literal(literal) if literal.0.contains(&b'\n') => Hir::fail(),
        HirKind::Class(Class::Unicode(class)) => {
            let mut class = class.clone();
            class.difference(&ClassUnicode::new([ClassUnicodeRange::new('\n', '\n')]));
            Hir::class(Class::Unicode(class))
        }
        HirKind::Class(Class::Bytes(class)) => {
            let mut class = class.clone();
            class.difference(&ClassBytes::new([ClassBytesRange::new(b'\n', b'\n')]));
            Hir::class(Class::Bytes(class))
        }
        HirKind::Look(Look::Start | Look::StartLF) => Hir::look(Look::StartLF),
        HirKind::Look(Look::End | Look::EndLF | Look::EndCRLF) => {
            *confirm = true;
            Hir::look(Look::EndCRLF)
        }
        HirKind::Look(Look::StartCRLF) => {
            *confirm = true;
            hir.clone()
        }
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            sub: Box::new(at_line_ends(&r.sub, confirm)),
            ..r.clone()
        }),
        HirKind::Capture(c) => Hir::capture(Capture {
            sub: Box::new(at_line_ends(&c.sub, confirm)),
            ..c.clone()
        }),
        HirKind::Concat(subs) => {
            Hir::concat(subs.iter().map(|h| at_line_ends(h, confirm)).collect())
        }
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(|h| at_line_ends(h, confirm)).collect())
        }
        _ => hir.clone(),
    }
}

/// Whether `bytes` may hold a line over `MAX_LINE`: a stretch of half that
/// without a newline.
fn has_long_line(bytes: &[u8]) -> bool {
    bytes
        .chunks(MAX_LINE / 2)
        .any(|part| memchr::memchr(b'\n', part).is_none())
}

pub(super) struct Counted {
    pub(super) matches: u64,
    pub(super) lines: u64,
    /// Bytes up to and including the last newline.
    pub(super) consumed: u64,
    /// The same lines, placed (after a gap) by their timestamps.
    pub(super) placed: Placed,
}

impl Counted {
    fn line(&mut self, line: &[u8], lines: &Lines, place: Option<&Placing>) {
        let matched = u64::from(lines.is_match(line));
        self.lines += 1;
        self.matches += matched;
        match place.and_then(|p| p.when(super::without_cr(line))) {
            Some(t) => match self.placed.at.last_mut() {
                Some((last, m, l)) if *last == t => {
                    *m += matched;
                    *l += 1;
                }
                _ => self.placed.at.push((t, matched, 1)),
            },
            None => {
                self.placed.lines += 1;
                self.placed.matches += matched;
            }
        }
    }

    /// Count `body`, complete lines (it ends with a newline): the whole of
    /// it searched at once, or, after a gap or with a long line, each line.
    fn body(&mut self, body: &[u8], lines: &Lines, place: Option<&Placing>) {
        self.consumed += body.len() as u64;
        let buffer = lines.buffer.as_ref();
        let Some(buffer) = buffer.filter(|_| place.is_none() && !has_long_line(body)) else {
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', body) {
                let line = &body[start..end];
                self.line(&line[..line.len().min(MAX_LINE)], lines, place);
                start = end + 1;
            }
            return;
        };
        let count = memchr::memchr_iter(b'\n', body).count() as u64;
        let mut matches = 0;
        let mut at = 0;
        while at < body.len() {
            let Some(found) = buffer.find_at(body, at) else {
                break;
            };
            let Some(end) = memchr::memchr(b'\n', &body[found.start()..]) else {
                break;
            };
            let end = found.start() + end;
            let content_end = end - usize::from(end > 0 && body[end - 1] == b'\r');
            let start = || memchr::memrchr(b'\n', &body[..found.start()]).map_or(0, |i| i + 1);
            if (!lines.confirm && found.end() <= content_end) || lines.is_match(&body[start()..end])
            {
                matches += 1;
            }
            at = end + 1;
        }
        self.lines += count;
        self.matches += matches;
        self.placed.lines += count;
        self.placed.matches += matches;
    }
}

/// Append to `carry` what room is left of the first `MAX_LINE` bytes.
fn keep(carry: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_LINE.saturating_sub(carry.len());
    carry.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// Count newline-terminated lines and the ones matching the pattern,
/// reading in chunks; a line's bytes past `MAX_LINE` are not kept. In a
/// `finished` file (rotated away) a last line without newline counts too.
pub(super) fn count_lines(
    reader: &mut impl Read,
    lines: &Lines,
    finished: bool,
    place: Option<&Placing>,
) -> std::io::Result<Counted> {
    let mut counted = Counted {
        matches: 0,
        lines: 0,
        consumed: 0,
        placed: Placed::default(),
    };
    // The line begun in an earlier read: its first MAX_LINE bytes and length.
    let mut carry: Vec<u8> = Vec::new();
    let mut carry_len: u64 = 0;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        let read = &chunk[..n];
        let (Some(first), Some(last)) = (memchr::memchr(b'\n', read), memchr::memrchr(b'\n', read))
        else {
            keep(&mut carry, read);
            carry_len += n as u64;
            continue;
        };
        keep(&mut carry, &read[..first]);
        counted.line(&carry, lines, place);
        counted.consumed += carry_len + first as u64 + 1;
        carry.clear();
        counted.body(&read[first + 1..=last], lines, place);
        keep(&mut carry, &read[last + 1..]);
        carry_len = (n - last - 1) as u64;
    }
    if finished && carry_len > 0 {
        let line = std::mem::take(&mut carry);
        counted.line(&line, lines, place);
        counted.consumed += carry_len;
    }
    Ok(counted)
}
