//! The builder handed to each check type and alert channel: it reads a
//! table's keys with their spans, so every error names the key and line.

use super::errors::{Errors, unknown_key_message};
use super::values::{MAX_BYTES, parse_duration, parse_size};
use crate::spec::Settings;
use serde::Deserialize;
use serde_aux::serde_introspection::serde_introspect;
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// Deserialize a plain table into `T`, after reporting the keys that are
/// not `T`'s fields (with the closest one, when a key looks misspelt).
pub fn deserialize_table<'a, T: Deserialize<'a>>(
    errors: &mut Errors,
    prefix: &str,
    value: Spanned<DeValue<'a>>,
) -> Option<T> {
    let known = serde_introspect::<T>();
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        errors.push(span, prefix, format!("[{prefix}] must be a table"));
        return None;
    };
    let mut kept = DeTable::new();
    for (k, v) in table {
        let key: &str = k.get_ref();
        if !known.contains(&key) {
            errors.push(
                k.span(),
                format!("{prefix}.{key}"),
                unknown_key_message(key, known),
            );
        } else {
            kept.insert(k, v);
        }
    }
    let copy = kept.clone();
    match T::deserialize(ValueDeserializer::from(Spanned::new(
        span.clone(),
        DeValue::Table(kept),
    ))) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push_serde(prefix, &copy, span, e);
            None
        }
    }
}

/// The regex crate's error in its own layout (the caret under the
/// pattern), indented under the line that names the key.
fn regex_error(shown: &str) -> String {
    if !shown.contains('\n') {
        return format!("invalid regex: {shown}");
    }
    let lines: Vec<String> = shown.lines().map(|l| format!("    {l}")).collect();
    format!("invalid regex:\n{}", lines.join("\n"))
}

/// Where a table and each of its keys are in the source, so that every
/// error about it points at the key (or the table) and names it.
pub struct Spans {
    prefix: String,
    keys: Vec<(String, Range<usize>)>,
    table: Range<usize>,
}

impl Spans {
    /// The spans of `value`, a table called `prefix` in errors (`check[2]`, `ping`).
    pub fn of(prefix: impl Into<String>, value: &Spanned<DeValue>) -> Spans {
        let mut keys = Vec::new();
        if let DeValue::Table(t) = value.get_ref() {
            for (k, v) in t {
                keys.push((k.get_ref().to_string(), k.span().start..v.span().end));
                // An array's elements too, as `key[0]`: an error about one
                // element points at it.
                if let DeValue::Array(items) = v.get_ref() {
                    for (n, item) in items.iter().enumerate() {
                        keys.push((format!("{}[{n}]", k.get_ref()), item.span()));
                    }
                }
            }
        }
        Spans {
            prefix: prefix.into(),
            keys,
            table: value.span(),
        }
    }

    /// A builder reporting into `errors` at these spans; `settings` for
    /// the checks, which are compiled after them.
    pub fn builder<'a, 'src>(
        &'a self,
        errors: &'a mut Errors<'src>,
        settings: Option<&'a Settings>,
    ) -> Builder<'a, 'src> {
        Builder {
            errors,
            spans: self,
            settings,
        }
    }

    /// Where `key` is, else where the table is.
    pub fn at(&self, key: &str) -> Range<usize> {
        self.key(key).unwrap_or(&self.table).clone()
    }

    fn key(&self, key: &str) -> Option<&Range<usize>> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }
}

/// Handed to each check type's `build`: reports errors at the right key and
/// offers the common conversions.
pub struct Builder<'a, 'src> {
    errors: &'a mut Errors<'src>,
    spans: &'a Spans,
    settings: Option<&'a Settings>,
}

impl Builder<'_, '_> {
    /// Report a problem with `key` of this check.
    pub fn error(&mut self, key: &str, message: impl Into<String>) {
        let start = self.spans.table.start;
        let span = self.spans.key(key).map_or(start..start, Range::clone);
        let path = format!("{}.{key}", self.spans.prefix);
        self.errors.push(span, path, message);
    }

    /// This table's keys as `T`, the keys struct of its type (the table
    /// holds only `T`'s keys): a value of the wrong type is reported at its key.
    pub fn keys<'de, T: Deserialize<'de>>(&mut self, table: DeTable<'de>) -> Option<T> {
        let copy = table.clone();
        let span = self.spans.table.clone();
        let value = Spanned::new(span.clone(), DeValue::Table(table));
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(t) => Some(t),
            Err(e) => {
                self.errors.push_serde(&self.spans.prefix, &copy, span, e);
                None
            }
        }
    }

    /// Whether a problem with `key` of this table was already reported.
    /// Is `kind:name` defined but broken (its own error already said)?
    pub fn is_broken(&self, kind: &str, name: &str) -> bool {
        self.errors.is_broken(kind, name)
    }

    pub fn has_error(&self, key: &str) -> bool {
        let path = format!("{}.{key}", self.spans.prefix);
        self.errors.list.iter().any(|e| e.key == path) || self.errors.unavailable.contains(&path)
    }

    /// The run's settings (argv prefixes of systemctl and docker). Present
    /// while building checks, which are compiled after the settings.
    pub fn settings(&self) -> &Settings {
        self.settings.expect("checks are built after the settings")
    }

    /// Something allowed but worth saying about `key` (shown by `validate` and `-v`).
    pub fn warn(&mut self, key: &str, message: impl Into<String>) {
        let span = self
            .spans
            .key(key)
            .map_or(self.spans.table.start, |s| s.start);
        let at = self.errors.src.location(span);
        self.errors.warnings.push(format!(
            "{at}: {}.{key}: {}",
            self.spans.prefix,
            message.into()
        ));
    }

    /// The value of a required key, or an error saying it is missing.
    pub fn required<'r, T>(&mut self, key: &str, value: &'r Option<T>) -> Option<&'r T> {
        if value.is_none() {
            self.error(key, format!("missing key {key}, which this type requires"));
        }
        value.as_ref()
    }

    /// `name` as a systemd unit name, or an error at `key` saying why it cannot be one.
    pub fn unit_name(&mut self, key: &str, name: &str) -> Option<String> {
        self.name(key, name, super::names::unit_name_problem)
    }

    /// `name` as a container or compose service name, or an error at `key`.
    pub fn container_name(&mut self, key: &str, name: &str) -> Option<String> {
        self.name(key, name, super::names::container_name_problem)
    }

    /// `name` as a Windows service name, or an error at `key`.
    pub fn windows_service_name(&mut self, key: &str, name: &str) -> Option<String> {
        self.name(key, name, super::names::windows_service_name_problem)
    }

    fn name(
        &mut self,
        key: &str,
        name: &str,
        problem: fn(&str) -> Option<String>,
    ) -> Option<String> {
        match problem(name) {
            Some(why) => {
                self.error(key, why);
                None
            }
            None => Some(name.to_string()),
        }
    }

    pub fn duration(&mut self, key: &str, text: &str) -> Option<Duration> {
        parse_duration(text).map_err(|e| self.error(key, e)).ok()
    }

    /// A byte count ("64MiB"): at least 1 byte, at most 1 TiB.
    pub fn size(&mut self, key: &str, text: &str) -> Option<u64> {
        match parse_size(text) {
            Err(e) => {
                self.error(key, e);
                None
            }
            Ok(n) if (1.0..=MAX_BYTES).contains(&n) => Some(n as u64),
            Ok(_) => {
                self.error(key, "must be between 1 byte and 1 TiB");
                None
            }
        }
    }

    pub fn regex(&mut self, key: &str, pattern: &str) -> Option<regex::Regex> {
        regex::Regex::new(pattern)
            .map_err(|e| self.error(key, regex_error(&e.to_string())))
            .ok()
    }

    pub fn bytes_regex(&mut self, key: &str, pattern: &str) -> Option<regex::bytes::Regex> {
        regex::bytes::Regex::new(pattern)
            .map_err(|e| self.error(key, regex_error(&e.to_string())))
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Source;

    /// The spans of the first table in `text`, and errors reported through them.
    fn report(text: &str, f: impl FnOnce(&mut Builder)) -> Vec<String> {
        let mut errors = Errors::new(Source::new("t.toml", text), false);
        let doc = DeTable::parse(text).unwrap().into_inner();
        let (_, value) = doc.into_iter().next().unwrap();
        let spans = Spans::of("ping", &value);
        f(&mut spans.builder(&mut errors, None));
        let mut shown: Vec<String> = errors.list.iter().map(|e| e.to_string()).collect();
        shown.extend(errors.warnings);
        shown
    }

    #[test]
    fn an_error_points_at_its_key() {
        let text = "[ping]\nurl = \"x\"\ntimeout = \"1s\"\n";
        let shown = report(text, |b| b.error("timeout", "too short"));
        assert_eq!(shown.len(), 1);
        assert!(shown[0].contains("t.toml:3:"), "{shown:?}");
        assert!(shown[0].contains("[ping] timeout"), "{shown:?}");
    }

    #[test]
    fn a_missing_key_points_at_its_table() {
        let text = "\n[ping]\ntimeout = \"1s\"\n";
        let shown = report(text, |b| {
            assert!(b.required::<String>("url", &None).is_none());
            assert!(b.has_error("url"));
        });
        assert!(shown[0].starts_with("t.toml:2:"), "{shown:?}");
        assert!(shown[0].contains("missing key url"), "{shown:?}");
    }

    #[test]
    fn the_common_conversions_report_at_the_key() {
        let text = "[ping]\nmax_read = \"0B\"\nevery = \"soon\"\n";
        let shown = report(text, |b| {
            assert_eq!(b.size("max_read", "0B"), None);
            assert_eq!(b.duration("every", "soon"), None);
            assert!(b.regex("match", "(").is_none());
            b.warn("every", "worth saying");
        });
        assert_eq!(shown.len(), 4, "{shown:?}");
        assert!(shown[0].contains("between 1 byte and 1 TiB"), "{shown:?}");
        assert!(shown[2].contains("invalid regex"), "{shown:?}");
        assert!(shown[3].starts_with("t.toml:3:"), "{shown:?}");
    }
}
