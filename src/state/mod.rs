//! The small JSON memory between runs: per-check status history,
//! what checks asked to remember, the last run time. Loading never fails a
//! run: a broken file is moved aside and the run starts fresh; when it
//! cannot be moved aside it is kept, and the store refuses to save over it
//! for the rest of the run. A FIFO or device is never opened blocking, and
//! an oversized file never read. Saving is
//! atomic (temp file, fsync, rename), so a run killed at any instant leaves
//! the old file or the new one, never a mix; a save that guards an action
//! (a restart, a delivery, a user's command) also fsyncs the directory, so
//! the rename itself survives a power cut. A run's own bookkeeping skips
//! that second fsync, and skips the write when the file already holds it
//! (an SD card is not rewritten every minute for nothing). One run at a
//! time holds `healthcheck.lock`; the OS drops the lock when a run dies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Status, Target};

pub mod incidents;
mod ladder;
mod store;
mod write;

pub use incidents::{Daily, Incident, Taken};
pub use ladder::Ladder;
pub use store::{Loaded, OpenError, Save, Spare, Store};
pub use write::{create_private_dir, write_atomically, write_unsynced};

pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct State {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<jiff::Timestamp>,
    #[serde(default)]
    pub checks: BTreeMap<String, CheckState>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, ServiceState>,
    /// Muted checks by name; `*` mutes all.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub silences: BTreeMap<String, Silence>,
    /// When the state last started from nothing because the file was broken:
    /// automatic restarts are held for one window after it, so that a state
    /// file that keeps breaking cannot become a restart loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_at: Option<jiff::Timestamp>,
    /// Digests waiting for their channel, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<Pending>,
    /// Per channel: when digests were delivered in the last hour, and how
    /// many events `max_per_hour` held back since the last delivery.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deliveries: BTreeMap<String, Deliveries>,
    /// What the daily summary tells: incidents, tallies, summaries sent
    /// (boxed: most runs only append to it, and a state is moved around).
    #[serde(default, skip_serializing_if = "Daily::is_empty")]
    pub daily: Box<Daily>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Deliveries {
    #[serde(default)]
    pub sent: Vec<jiff::Timestamp>,
    /// What `max_per_hour` held back since the last message, oldest
    /// first (at most `HELD_KEPT`); the next message tells it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<crate::model::HeldBack>,
    /// Events held back beyond those kept in `held`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub suppressed: u32,
    /// The channel has been failing since then (absent: it works).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<jiff::Timestamp>,
    /// When it was last tried while failing (its backoff counts from there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_try: Option<jiff::Timestamp>,
    /// Its receiver asked not to be tried before then (429 `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<jiff::Timestamp>,
    /// Digests its fallback took while it failed, not yet told to it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub handed_over: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handed_to: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Default for State {
    fn default() -> State {
        State {
            version: VERSION,
            last_run: None,
            checks: BTreeMap::new(),
            services: BTreeMap::new(),
            silences: BTreeMap::new(),
            reset_at: None,
            outbox: Vec::new(),
            deliveries: BTreeMap::new(),
            daily: Box::default(),
        }
    }
}

/// A service's restart history.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct ServiceState {
    /// When each restart was started (recorded before it ran), oldest first.
    #[serde(default)]
    pub restarts: Vec<jiff::Timestamp>,
    /// The suspension was announced (one event per suspension).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// Restarts ever recorded (`healthcheck_restarts_total`).
    #[serde(default)]
    pub total: u64,
    /// Why its manager refuses to start it again (systemd's start limit):
    /// restarts are suspended until its checks pass or it is reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// An announced problem.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct Notified {
    pub status: Status,
    pub at: jiff::Timestamp,
}

/// A digest not yet accepted by its channel.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Pending {
    pub channel: String,
    pub digest: crate::model::Digest,
    /// Non-critical events held during the quiet schedule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quiet: bool,
    /// Queued by this run: this run's later news joins it (one digest per
    /// channel per run). Never saved: to the next run it is old.
    #[serde(skip)]
    pub fresh: bool,
}

/// A silence: alerts and actions muted until `until`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Silence {
    pub until: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl State {
    /// Count an action that is about to run in its budget: a restart in its
    /// service's history, a recovery command in its check's.
    pub fn record(&mut self, target: &Target, now: jiff::Timestamp) {
        match target {
            Target::Restart(name) => {
                let service = self.services.entry(name.clone()).or_default();
                service.restarts.push(now);
                service.total += 1;
            }
            Target::Recover(check) => {
                if let Some(c) = self.checks.get_mut(check) {
                    c.runs.push(now);
                }
            }
        }
    }

    /// Is this check muted at `now` (by its own silence or `--all`)?
    pub fn silenced(&self, check: &str, now: jiff::Timestamp) -> Option<&Silence> {
        [check, ALL]
            .iter()
            .filter_map(|k| self.silences.get(*k))
            .find(|s| s.until > now)
    }
}

/// The silence key that mutes every check.
pub const ALL: &str = "*";

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct CheckState {
    pub status: Status,
    /// When the check entered `status`.
    pub since: jiff::Timestamp,
    /// Consecutive runs that were not OK (0 when OK).
    pub consecutive: u32,
    /// When this check's recovery command (`run`) was started, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<jiff::Timestamp>,
    /// The problem last announced, and when (for reminders and recoveries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified: Option<Notified>,
    /// The statuses of the last runs, newest last (flapping).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Status>,
    /// Its alerts are folded into one flapping notice until it settles.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flapping: bool,
    /// What the check asked to remember for its next run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<serde_json::Value>,
    /// What the last run said of it (`healthcheck status`), redacted on save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// How far up its `escalate` ladder the current problem has gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<Ladder>,
}
