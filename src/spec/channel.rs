//! What a channel is to the rest of the program: something that delivers a
//! digest within a budget and says, free of secrets, why it could not.

use std::time::{Duration, Instant};

use crate::model::Digest;
use crate::spec::Config;

/// Tries per digest in one run for a channel that was fine until now
/// (waits of 0.5 s, 1 s, 2 s between them).
pub const MAX_ATTEMPTS: u32 = 4;

/// Delivers a digest somewhere.
pub trait Channel: Send + Sync {
    /// Deliver within `budget`. `Ok` means the receiver accepted it.
    fn deliver(&self, digest: &Digest, budget: Budget) -> Result<(), Failure>;

    /// Learn what the channel needs from the rest of the loaded config
    /// (Alertmanager: each check's service, the run interval).
    fn bind(&self, _config: &Config) {}

    /// Re-post what is still firing, every run, to a receiver that
    /// forgets it otherwise (Alertmanager); nothing for the others.
    fn refresh(&self, _firing: &Digest, _budget: Budget) -> Result<(), Failure> {
        Ok(())
    }
}

/// What one delivery may spend: the time, and how many tries (a channel
/// that already failed on an earlier run gets one, not a burst each run).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub deadline: Instant,
    pub tries: u32,
}

impl Budget {
    /// A full set of tries within `timeout` from now, never past `deadline`.
    pub fn within(timeout: Duration, deadline: Instant) -> Budget {
        let now = Instant::now();
        Budget {
            deadline: deadline.min(now.checked_add(timeout).unwrap_or(deadline)),
            tries: MAX_ATTEMPTS,
        }
    }
}

/// Why a delivery failed, already free of secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: String,
    /// Worth trying again. Only an answer known to be final (a deleted
    /// Discord webhook, a Telegram chat that is gone, an SMTP server
    /// refusing the recipient) is not: the digest then leaves the channel
    /// for its fallback.
    pub retry: bool,
    /// The receiver said when to come back (429 `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl Failure {
    pub fn retry(message: impl Into<String>) -> Failure {
        Failure {
            message: crate::secret::redact(&message.into()),
            retry: true,
            retry_after: None,
        }
    }
    /// The receiver's answer is known to be final.
    pub fn refused(message: impl Into<String>) -> Failure {
        Failure {
            message: crate::secret::redact(&message.into()),
            retry: false,
            retry_after: None,
        }
    }
}
