//! The keys every `[[check]]` has, whatever its type, as written: its
//! name and type, timeout, thresholds, what to restart or run about it and
//! when. Each type reads its own keys from its own struct (`Kind::keys`);
//! the loader splits a table between the two.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::vocab::values::Limit;

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
    pub escalate: Option<Vec<RawStep>>,
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

/// One step of `escalate` as written.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub run: Option<Vec<String>>,
    pub restart: Option<String>,
    pub after: Option<String>,
    pub cwd: Option<String>,
    pub env: Option<BTreeMap<String, String>>,
}
