//! `[ping]`, compiled: where the dead man's switch is told about each run.

use std::time::Duration;

use crate::secret::Secret;

/// The default `[ping] body_limit`: what a self-hosted Healthchecks keeps.
pub const DEFAULT_BODY_LIMIT: usize = 10_000;

#[derive(Debug, Clone)]
pub struct PingSpec {
    pub url: Secret,
    /// The most one ping may take (`[ping] timeout`, default 10s).
    pub timeout: Duration,
    /// The most bytes of body a ping carries (`[ping] body_limit`).
    pub body_limit: usize,
}
