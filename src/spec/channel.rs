//! What a channel is to the rest of the program: something that delivers a
//! digest within a budget and says, free of secrets, why it could not.

use crate::http::{Budget, Failure};
use crate::model::Digest;
use crate::spec::Config;

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
