//! The config file as written: serde types that mirror the TOML one to one,
//! with every key optional where the file may omit it. Nothing here is
//! checked beyond its TOML type; `config::load` validates and compiles.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::secret::Secret;
use serde::de::{self, Deserializer, Visitor};

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub state_dir: Option<String>,
    pub timeout: Option<String>,
    pub deadline: Option<String>,
    pub hostname: Option<String>,
    pub reports: Option<usize>,
    pub expected_interval: Option<String>,
    pub prometheus_file: Option<String>,
    pub systemctl: Option<Vec<String>>,
    pub docker: Option<Vec<String>>,
    pub compose: Option<Vec<String>>,
    pub sc: Option<Vec<String>>,
    pub journalctl: Option<Vec<String>>,
}

/// The keys every check has, whatever its type; each type reads its own
/// from its own struct (`check::Kind::keys`). No `Debug`: its `env` may
/// hold credentials, only ever shown through redaction.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub timeout: Option<String>,
    pub on_timeout: Option<String>,
    pub after: Option<u32>,
    pub hint: Option<String>,
    pub severity: Option<String>,
    pub reading: Option<String>,
    pub restart: Option<String>,
    pub run: Option<Vec<String>>,
    pub escalate: Option<Vec<super::escalate::RawStep>>,
    pub cwd: Option<String>,
    pub env: Option<BTreeMap<String, String>>,
    pub run_max: Option<u32>,
    pub run_window: Option<String>,
    pub run_cooldown: Option<String>,
    pub depends_on: Option<Vec<String>>,
    pub when: Option<String>,
    /// `false` leaves the check off the status page.
    pub page: Option<bool>,
    pub warn_above: Option<Limit>,
    pub crit_above: Option<Limit>,
    pub warn_below: Option<Limit>,
    pub crit_below: Option<Limit>,
}

/// `[ping]`: the dead man's switch.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPing {
    pub url: Option<Secret>,
    pub timeout: Option<String>,
    pub body_limit: Option<String>,
}

/// A `[[service]]`: something healthcheck may restart, and its budget.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub name: String,
    pub systemd: Option<String>,
    pub docker: Option<String>,
    pub compose: Option<RawCompose>,
    pub process: Option<RawProcessManager>,
    pub command: Option<RawCommandManager>,
    pub windows_service: Option<String>,
    pub max_restarts: Option<u32>,
    pub window: Option<String>,
    pub cooldown: Option<String>,
    pub grace: Option<String>,
    pub verify: Option<String>,
    pub settle: Option<String>,
    pub stop_timeout: Option<String>,
    pub guard: Option<Vec<String>>,
    pub when_stopped: Option<String>,
    pub reset_failed: Option<bool>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawCompose {
    pub file: String,
    pub service: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawProcessManager {
    #[serde(rename = "match")]
    pub match_: String,
    pub start: Vec<String>,
    pub cwd: Option<String>,
    pub log: Option<String>,
    pub user: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawCommandManager {
    pub restart: Vec<String>,
}

/// A threshold as written: a number, or a string with a unit ("5m", "1GiB", "85%").
#[derive(Clone, Debug, PartialEq)]
pub enum Limit {
    Number(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Limit, D::Error> {
        struct LimitVisitor;
        impl Visitor<'_> for LimitVisitor {
            type Value = Limit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a string such as \"5m\" or \"1GiB\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Limit, E> {
                Ok(Limit::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Limit, E> {
                Ok(Limit::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Limit, E> {
                Ok(Limit::Number(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Limit, E> {
                Ok(Limit::Text(v.to_string()))
            }
        }
        d.deserialize_any(LimitVisitor)
    }
}

/// One string or a list of them (`journal = "bot.service"` or
/// `journal = ["schwab-*.service"]`), as a list.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OneOrMany, D::Error> {
        struct OneOrManyVisitor;
        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }
        }
        d.deserialize_any(OneOrManyVisitor)
    }
}
