//! Config errors as users read them: every problem at its file, line and
//! key, in source order, one per root cause, with a suggestion for a typo.

use std::fmt;
use std::ops::Range;
use toml::de::DeTable;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// Byte offset in the file, for ordering.
    #[doc(hidden)]
    pub offset: usize,
    /// `file:line:column`.
    pub location: String,
    /// `check[2].pattern`, or empty for the whole file.
    pub key: String,
    /// The same, named as the user named it: `check "trades-per-hour" pattern`.
    pub shown: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.shown.is_empty() {
            write!(f, "{}: {}", self.location, self.message)
        } else {
            write!(f, "{}: {}: {}", self.location, self.shown, self.message)
        }
    }
}

/// How `check[2]`, `alert[0]` and `service[1]` are called in messages:
/// by their `name` (an alert's default name is its type).
#[derive(Debug, Default)]
pub struct Names(Vec<(String, String)>);

impl Names {
    /// The names of the tables of `doc`, before anything is compiled.
    pub fn of(doc: &DeTable) -> Names {
        let mut names = Vec::new();
        for (kind, default_key) in [("check", None), ("service", None), ("alert", Some("type"))] {
            let Some(toml::de::DeValue::Array(items)) = doc.get(kind).map(|v| v.get_ref()) else {
                continue;
            };
            for (i, item) in items.iter().enumerate() {
                let toml::de::DeValue::Table(t) = item.get_ref() else {
                    continue;
                };
                let text = |key: &str| {
                    t.get(key)
                        .and_then(|v| v.get_ref().as_str().map(str::to_string))
                };
                let name = text("name").or_else(|| default_key.and_then(text));
                // A name that would break the line is shown by its index.
                if let Some(name) = name.filter(|n| !n.chars().any(char::is_control)) {
                    names.push((format!("{kind}[{i}]"), format!("{kind} \"{name}\"")));
                }
            }
        }
        Names(names)
    }

    /// `alert[0].bot_token` -> `alert "telegram" bot_token`.
    pub fn key(&self, key: &str) -> String {
        self.show(key, "")
    }

    /// `check[2].crit_abve` -> `check "trades-per-hour" crit_abve`;
    /// `settings.deadline` -> `[settings] deadline`. The key is left out
    /// when `message` already names it ("unknown key crit_abve").
    fn show(&self, key: &str, message: &str) -> String {
        if key.is_empty() {
            return String::new();
        }
        let (table, field) = split_key(key);
        let named = self
            .0
            .iter()
            .find(|(k, _)| k == table)
            .map_or_else(|| bracketed(table), |(_, n)| n.clone());
        let names_it = ["unknown key", "missing key", "key "]
            .iter()
            .any(|p| message.starts_with(p));
        if field.is_empty() || names_it {
            named
        } else {
            format!("{named} {field}")
        }
    }
}

/// `check[2].url` -> (`check[2]`, `url`); `schedule.us.days` -> (`schedule.us`, `days`).
fn split_key(key: &str) -> (&str, &str) {
    let first = if key.starts_with("schedule.") {
        key.match_indices('.').nth(1).map(|(i, _)| i)
    } else {
        key.find('.')
    };
    match first {
        Some(i) => (&key[..i], &key[i + 1..]),
        None => (key, ""),
    }
}

/// A table without a name: `[settings]`, `[schedule.us]`, `check[2]`.
fn bracketed(table: &str) -> String {
    if table.contains('[') {
        table.to_string()
    } else {
        format!("[{table}]")
    }
}

/// The most errors shown of one config: a file that is not TOML at all
/// has one per line, and the first ones say what is wrong.
const SHOWN: usize = 20;

/// The errors of a config file: the first `SHOWN` in source order, and
/// how many more there are.
#[derive(Debug)]
pub struct ConfigErrors {
    pub shown: Vec<ConfigError>,
    pub more: usize,
}

impl ConfigErrors {
    /// `list` in source order, cut to the first `SHOWN`.
    pub fn new(mut list: Vec<ConfigError>) -> ConfigErrors {
        list.sort_by_key(|e| e.offset);
        let more = list.len().saturating_sub(SHOWN);
        list.truncate(SHOWN);
        ConfigErrors { shown: list, more }
    }

    /// How many errors there are, shown or not.
    pub fn count(&self) -> usize {
        self.shown.len() + self.more
    }

    /// "... and 1834 more errors", when some are not shown.
    pub fn more_line(&self) -> Option<String> {
        (self.more > 0).then(|| format!("... and {} more errors", self.more))
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.shown.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", crate::secret::redact(&e.to_string()))?;
        }
        if let Some(line) = self.more_line() {
            write!(f, "\n{line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Maps byte offsets of the source to `line:column`.
pub struct Source<'a> {
    label: &'a str,
    text: &'a str,
    /// Where each line starts, found once: a file with an error on every
    /// line is located in linear time, not from its start each time.
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

impl<'a> Source<'a> {
    pub fn new(label: &'a str, text: &'a str) -> Source<'a> {
        Source {
            label,
            text,
            line_starts: std::sync::OnceLock::new(),
        }
    }

    pub fn location(&self, offset: usize) -> String {
        let offset = offset.min(self.text.len());
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let line = starts.partition_point(|&start| start <= offset);
        let line_start = starts[line - 1];
        let column = self.text[line_start..offset].chars().count() + 1;
        format!("{}:{line}:{column}", self.label)
    }
}

/// Collects errors with their locations.
pub struct Errors<'a> {
    pub(crate) src: Source<'a>,
    pub(crate) list: Vec<ConfigError>,
    /// Things that are allowed but worth saying (`validate` and `-v` show them).
    pub(crate) warnings: Vec<String>,
    /// The secrets this command does not need: an unset `${VAR}` or an
    /// unreadable `*_file` is not an error, and its key is not judged.
    pub(crate) secrets_unneeded: bool,
    /// Keys whose secret could not be had (with `secrets_unneeded`).
    pub(crate) unavailable: Vec<String>,
    /// How the tables are called in messages.
    pub(crate) names: Names,
    /// `[[service]]` and `[schedule.*]` names that are defined but broken:
    /// naming them is not a second error ("service:bot", "schedule:us").
    pub(crate) broken: Vec<String>,
}

impl<'a> Errors<'a> {
    pub fn new(src: Source<'a>, secrets_unneeded: bool) -> Errors<'a> {
        Errors {
            src,
            list: Vec::new(),
            warnings: Vec::new(),
            secrets_unneeded,
            unavailable: Vec::new(),
            broken: Vec::new(),
            names: Names::default(),
        }
    }

    /// A problem with `key`. One mistake, one error: a key that already
    /// has one (or whose secret is not to be had) gets no second.
    pub fn push(&mut self, span: Range<usize>, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        // `to` after `to[0]` was reported: the same mistake.
        let within = |k: &str| {
            k == key
                || k.strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.starts_with(['[', '.']))
        };
        if !key.is_empty()
            && (self.list.iter().any(|e| within(&e.key))
                || self.unavailable.iter().any(|k| within(k)))
        {
            return;
        }
        let message = message.into();
        self.list.push(ConfigError {
            offset: span.start,
            location: self.src.location(span.start),
            shown: self.names.show(&key, &message),
            key,
            message,
        });
    }

    /// A secret at `key` cannot be had: an error, unless this command does
    /// not need secrets.
    pub fn secret_missing(&mut self, span: Range<usize>, key: String, message: String) {
        if self.secrets_unneeded {
            self.unavailable.push(key);
        } else {
            self.push(span, key, message);
        }
    }

    /// Is `kind:name` ("service:bot") defined, though broken?
    pub fn is_broken(&self, kind: &str, name: &str) -> bool {
        self.broken.iter().any(|b| b == &format!("{kind}:{name}"))
    }

    /// A serde error inside `table`, located by its span, named by the key it falls in.
    pub fn push_serde(
        &mut self,
        prefix: &str,
        table: &DeTable,
        fallback: Range<usize>,
        e: toml::de::Error,
    ) {
        let span = e.span().unwrap_or(fallback);
        let key = table
            .iter()
            .find(|(k, v)| covers(&k.span(), &span) || covers(&v.span(), &span))
            .map_or_else(
                || prefix.to_string(),
                |(k, _)| format!("{prefix}.{}", k.get_ref()),
            );
        let mut message = plain(e.message());
        if let Some(n) = bare_duration(table, &key, e.message()) {
            message.push_str(&format!(
                "; a duration needs its unit: write \"{n}s\" or \"{n}m\""
            ));
        }
        self.push(span, key, message);
    }
}

/// The number written where a duration goes (`timeout = 5`), when `key`
/// names a duration and serde wanted text.
fn bare_duration(table: &DeTable, key: &str, message: &str) -> Option<String> {
    let name = key.rsplit('.').next()?;
    let duration = super::values::DURATION_KEYS.contains(&name);
    if !duration || !message.contains("expected a string") {
        return None;
    }
    let (_, value) = table.iter().find(|(k, _)| k.get_ref() == name)?;
    match value.get_ref() {
        toml::de::DeValue::Integer(n) => Some(n.as_str().to_string()),
        toml::de::DeValue::Float(f) => Some(f.as_str().to_string()),
        _ => None,
    }
}

/// serde's words in the config's: "invalid type: string \"2\", expected
/// u32" becomes "expected a whole number, got the text \"2\"".
pub fn plain(message: &str) -> String {
    let message = message.trim();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        return format!("missing key {field}");
    }
    let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    else {
        return message.to_string();
    };
    let Some((got, expected)) = rest.split_once(", expected ") else {
        return message.to_string();
    };
    format!("expected {}, got {}", wanted(expected), given(got))
}

/// What serde says it expected, as a config writer would say it.
fn wanted(expected: &str) -> String {
    match expected.trim() {
        "a string" => "text".into(),
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => {
            "a whole number".into()
        }
        "f32" | "f64" | "a float" => "a number".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "a list [...]".into(),
        other if other == "a map" || other.starts_with("struct ") => "a table".into(),
        other => other.replace('`', ""),
    }
}

/// What serde says it got: "integer `5`" -> "the number 5".
fn given(got: &str) -> String {
    let unquote = |s: &str| s.trim_matches('`').to_string();
    match got.split_once(' ') {
        Some(("integer" | "floating", v)) => {
            format!("the number {}", unquote(v.trim_start_matches("point ")))
        }
        Some(("string", v)) => format!("the text {v}"),
        Some(("boolean", v)) => unquote(v),
        _ if got == "sequence" => "a list".into(),
        _ if got == "map" => "a table".into(),
        _ => got.to_string(),
    }
}

pub fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

pub fn unknown_key_message(key: &str, known: &[&str]) -> String {
    let close = known
        .iter()
        .copied()
        .filter(|k| similar(k, key))
        .min_by_key(|k| edit_distance(k, key));
    match close {
        Some(k) => format!("unknown key {key}, did you mean {k}?"),
        None => format!("unknown key {key}"),
    }
}

pub fn similar(a: &str, b: &str) -> bool {
    edit_distance(a, b) <= 2.max(a.len().min(b.len()) / 4)
}

pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_words_become_the_configs() {
        assert_eq!(
            plain("invalid type: string \"2\", expected u32"),
            "expected a whole number, got the text \"2\""
        );
        assert_eq!(
            plain("invalid type: integer `5`, expected a string"),
            "expected text, got the number 5"
        );
        assert_eq!(
            plain("invalid type: floating point `1.5`, expected u64"),
            "expected a whole number, got the number 1.5"
        );
        assert_eq!(
            plain("invalid type: boolean `true`, expected a sequence"),
            "expected a list [...], got true"
        );
        assert_eq!(plain("missing field `name`"), "missing key name");
        assert_eq!(plain("something else"), "something else");
    }

    #[test]
    fn a_typo_gets_a_suggestion() {
        let known = ["crit_above", "warn_above", "path"];
        assert_eq!(
            unknown_key_message("crit_abve", &known),
            "unknown key crit_abve, did you mean crit_above?"
        );
        assert_eq!(unknown_key_message("colour", &known), "unknown key colour");
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("path", "path"), 0);
        assert_eq!(edit_distance("path", "paht"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("interval", "intervals"), 1);
    }

    #[test]
    fn errors_point_at_line_and_column() {
        let src = Source::new("t.toml", "a = 1\nb = 2\n");
        assert_eq!(src.location(0), "t.toml:1:1");
        assert_eq!(src.location(5), "t.toml:1:6");
        assert_eq!(src.location(6), "t.toml:2:1");
        assert_eq!(src.location(12), "t.toml:3:1");
        assert_eq!(src.location(99), "t.toml:3:1");
    }
}
