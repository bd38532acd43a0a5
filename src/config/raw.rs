//! The config file as written: serde types that mirror the TOML one to one,
//! with every key optional where the file may omit it. Nothing here is
//! checked beyond its TOML type; `config::load` validates and compiles.

use serde::Deserialize;

use crate::secret::Secret;

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
