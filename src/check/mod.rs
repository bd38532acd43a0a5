//! What a check is: a probe that looks at one thing and returns an `Outcome`
//! (a status, a message and named readings). A failing target is data (a
//! CRITICAL outcome); `Err` means the probe itself could not look (UNKNOWN).
//!
//! Adding a check type: write `check/<type>.rs` with its keys as a serde
//! struct that implements `TypeKeys` (turning them into a `Probe`), its
//! readings as `Metric` constants and a `KIND` that names them, then list it
//! in `KINDS` below. Nothing else needs to know about it.

pub mod command;
pub mod common;
pub mod cpu;
pub mod disk;
pub mod dns;
pub mod docker;
pub mod file;
pub mod http;
pub mod journal;
pub mod json;
pub mod log;
pub mod memory;
pub mod process;
pub mod sql;
pub mod systemd;
pub mod tcp;
pub mod timestamp;
pub mod tls;
pub mod verifier;
pub mod windows_service;

use serde::Deserialize;
use serde_aux::serde_introspection::serde_introspect;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use crate::check::common::RawCheck;
use crate::model::{Outcome, Unit};
use crate::spec::probe::Probe;
use crate::vocab::Builder;
use crate::vocab::platform;
pub use crate::vocab::platform::{Only, Platform};

/// Every check type, by its `type = "..."` name.
pub const KINDS: &[&Kind] = &[
    &file::KIND,
    &log::KIND,
    &process::KIND,
    &disk::KIND,
    &memory::KIND,
    &cpu::KIND,
    &http::KIND,
    &tcp::KIND,
    &tls::KIND,
    &dns::KIND,
    &command::KIND,
    &systemd::KIND,
    &docker::KIND,
    &sql::KIND,
    &json::KIND,
    &windows_service::KIND,
];

pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|k| k.name == name)
}

/// A check type: its name, its own keys (beyond the common ones every
/// check has), the readings it takes, where it works and which of its
/// keys hold secrets.
pub struct Kind {
    pub name: &'static str,
    /// Its own keys, read from its serde struct.
    pub keys: Keys,
    /// Empty when the readings are only known at run time (command
    /// perfdata). The first is the one thresholds judge unless `primary`
    /// or the check's `reading` says otherwise.
    pub readings: &'static [&'static Metric],
    /// The reading the thresholds judge when the check names none.
    pub primary: Primary,
    /// The one system the type works on, if it does not work on all.
    pub only_on: Option<Only>,
    /// Its keys that work on one system only (`journal`).
    pub keys_only_on: &'static [(&'static str, Only)],
    /// Its keys whose value is a secret: hidden wherever it is shown, and
    /// warned about when written inline in the config.
    pub secrets: &'static [Secret],
    /// Its keys that may be given as `<key>_file = "/path"` (the value is
    /// read from that file, or from `$CREDENTIALS_DIRECTORY`).
    pub from_file: &'static [&'static str],
    /// Its probe runs a program of the user's, so that the common `cwd`
    /// and `env` keys apply to it as they do to `run`.
    pub runs_program: bool,
}

/// A reading a check type takes, declared once: named in its `Kind` and
/// recorded by its probe through the same constant, so that a threshold
/// and the value it judges cannot disagree on the name.
#[derive(Debug, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    /// The one system the reading exists on, if not all (`load1`).
    pub only_on: Option<Only>,
}

impl Metric {
    pub const fn new(name: &'static str, unit: Unit) -> Metric {
        Metric {
            name,
            unit,
            only_on: None,
        }
    }

    /// The reading exists only on `on` (`why` says what the others lack).
    pub const fn only_on(self, on: Platform, why: &'static str) -> Metric {
        Metric {
            only_on: Some(Only { on, why }),
            ..self
        }
    }
}

/// How a probe records a declared reading.
pub trait Record {
    fn record(self, metric: &Metric, value: f64) -> Self;
}

impl Record for Outcome {
    fn record(self, metric: &Metric, value: f64) -> Outcome {
        self.reading(metric.name, value, metric.unit)
    }
}

/// Which reading a check judges when it names none with `reading`.
pub enum Primary {
    /// The first of the type's readings.
    First,
    /// The reading this key names (`expect = "age"`), if the type has it.
    NamedBy(&'static str),
    /// The reading of the first rule whose key is set (to this value,
    /// when one is given), else the first of the type's readings.
    When(&'static [(&'static str, Option<&'static str>, &'static Metric)]),
}

/// A key whose value is a secret.
pub enum Secret {
    /// The whole value, wherever it is shown (`headers`).
    Value(&'static str),
    /// A URL that may carry credentials (a database URL): hidden whole,
    /// and only warned about when written inline with a password.
    Url(&'static str),
}

impl Secret {
    pub fn key(&self) -> &'static str {
        match self {
            Secret::Value(k) | Secret::Url(k) => k,
        }
    }
}

/// A type's own keys: a `#[derive(Deserialize)]
/// #[serde(deny_unknown_fields)]` struct, which knows how to become a
/// probe. Its field names are the keys the type accepts.
pub trait TypeKeys {
    fn build(&self, common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>>;
}

/// A table of a type's own keys, read into its struct.
pub type Parsed = Result<Box<dyn TypeKeys>, toml::de::Error>;

/// The keys of a type, derived from its struct: their names, and how to
/// read a table of them.
pub struct Keys {
    pub names: fn() -> &'static [&'static str],
    pub parse: fn(Spanned<DeValue<'_>>) -> Parsed,
}

impl Keys {
    pub const fn of<T: TypeKeys + for<'de> Deserialize<'de> + 'static>() -> Keys {
        Keys {
            names: serde_introspect::<T>,
            parse: parse::<T>,
        }
    }
}

fn parse<T: TypeKeys + for<'de> Deserialize<'de> + 'static>(table: Spanned<DeValue<'_>>) -> Parsed {
    Ok(Box::new(T::deserialize(ValueDeserializer::from(table))?))
}

impl Kind {
    /// A type that works everywhere, judges its first reading by default,
    /// holds no secret and runs no program of the user's; a `Kind` says
    /// otherwise by setting those fields over this (`..Kind::new(...)`).
    pub const fn new(name: &'static str, keys: Keys, readings: &'static [&'static Metric]) -> Kind {
        Kind {
            name,
            keys,
            readings,
            primary: Primary::First,
            only_on: None,
            keys_only_on: &[],
            secrets: &[],
            from_file: &[],
            runs_program: false,
        }
    }

    /// Why this type cannot be used on `on`, if it cannot.
    pub fn unavailable_on(&self, on: Platform) -> Option<String> {
        platform::refused("check type", self.name, self.only_on, on)
    }

    /// Why its key `key` cannot be used on `on`, if it cannot.
    pub fn key_unavailable_on(&self, key: &str, on: Platform) -> Option<String> {
        let only = self
            .keys_only_on
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, o)| *o);
        platform::key_refused(key, only, on)
    }

    /// Why its reading `reading` does not exist on `on`, if it does not.
    pub fn reading_unavailable_on(&self, reading: &str, on: Platform) -> Option<String> {
        let only = self.reading(reading)?.only_on;
        platform::reading_refused(self.name, reading, only, on)
    }

    /// The declared reading called `name`.
    pub fn reading(&self, name: &str) -> Option<&'static Metric> {
        self.readings.iter().copied().find(|m| m.name == name)
    }
}

/// Build the first check of a config and probe it once (for unit tests).
#[cfg(test)]
pub fn probe_first(toml: &str, timeout: std::time::Duration) -> crate::model::Outcome {
    let config = crate::config::load_str("t.toml", toml).unwrap_or_else(|e| panic!("{e}"));
    let ctx = crate::spec::probe::ProbeContext {
        now: jiff::Timestamp::now(),
        deadline: std::time::Instant::now() + timeout,
        memory: None,
        processes: Default::default(),
    };
    let outcome = config.checks[0].probe.probe(&ctx).unwrap();
    if outcome.timed_out {
        // As the runner words it.
        return crate::runner::no_answer(&config.checks[0], timeout);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_keys(kind: &Kind) -> &'static [&'static str] {
        (kind.keys.names)()
    }

    #[test]
    fn every_primary_choice_names_a_declared_reading() {
        for kind in KINDS {
            match kind.primary {
                Primary::First => {}
                Primary::NamedBy(key) => {
                    assert!(own_keys(kind).contains(&key), "{}: {key}", kind.name);
                    assert!(!kind.readings.is_empty(), "{}", kind.name);
                }
                Primary::When(rules) => {
                    for (key, _, metric) in rules {
                        assert!(own_keys(kind).contains(key), "{}: {key}", kind.name);
                        assert_eq!(kind.reading(metric.name), Some(*metric), "{}", kind.name);
                    }
                }
            }
        }
    }

    #[test]
    fn every_expect_of_sql_and_json_names_a_declared_reading() {
        use sql::Expect;
        for expect in [Expect::Age, Expect::Value, Expect::Rows, Expect::Until] {
            assert_eq!(sql::KIND.reading(expect.name()), Some(expect.metric()));
        }
        for expect in [Expect::Age, Expect::Value, Expect::Until] {
            assert_eq!(json::KIND.reading(expect.name()), Some(expect.metric()));
        }
    }

    #[test]
    fn a_types_own_keys_never_shadow_a_common_key() {
        let common = serde_introspect::<RawCheck>();
        for kind in KINDS {
            for key in own_keys(kind) {
                assert!(!common.contains(key), "{}: {key}", kind.name);
            }
        }
    }

    #[test]
    fn what_a_type_declares_about_its_keys_and_readings_is_about_its_own() {
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KINDS.len(), "a type name twice");
        for kind in KINDS {
            let keys = own_keys(kind);
            let declared = kind
                .secrets
                .iter()
                .map(Secret::key)
                .chain(kind.from_file.iter().copied())
                .chain(kind.keys_only_on.iter().map(|(k, _)| *k));
            for key in declared {
                assert!(keys.contains(&key), "{}: {key}", kind.name);
            }
            for (i, metric) in kind.readings.iter().enumerate() {
                assert!(
                    kind.readings[..i].iter().all(|m| m.name != metric.name),
                    "{}: reading {} twice",
                    kind.name,
                    metric.name
                );
            }
        }
    }

    #[test]
    fn a_reading_the_type_does_not_have_is_a_config_error() {
        let toml = "[[check]]\nname = \"bot\"\ntype = \"file\"\npath = \"/tmp\"\nreading = \"agee\"\ncrit_above = \"5m\"\n";
        let err = crate::config::load_str("t.toml", toml)
            .err()
            .expect("a config error")
            .to_string();
        assert!(
            err.contains("type `file` has no reading `agee` (it has: age, size)"),
            "{err}"
        );
    }

    #[test]
    fn a_key_has_the_toml_type_its_own_type_gives_it() {
        let toml = "[[check]]\nname = \"bot\"\ntype = \"file\"\npath = 5\n";
        let err = crate::config::load_str("t.toml", toml)
            .err()
            .expect("a config error")
            .to_string();
        assert!(
            err.contains("t.toml:4:8: check \"bot\" path: expected"),
            "{err}"
        );
    }
}
