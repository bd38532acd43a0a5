//! The daily summary rides the outbox like any digest (retries, backoff,
//! fallback, the 24 h keep): `queue` puts it there, one digest of its own
//! per channel that joins no other news, and `delivered` notes, when a
//! channel accepts it (or refuses it for good, with no fallback to take
//! it: it would refuse another one too), that the channel has had that
//! day's summary.

use super::redacted;
use crate::model::{Digest, Event};
use crate::state::{Pending, State};

/// Queue `summary` for each of `channels`.
pub fn queue(
    state: &mut State,
    host: &str,
    channels: &[String],
    summary: &Event,
    now: jiff::Timestamp,
) {
    for channel in channels {
        state.outbox.push(Pending {
            channel: channel.clone(),
            digest: Digest {
                host: host.to_string(),
                at: now,
                events: vec![redacted(summary.clone())],
                held_back: Vec::new(),
                still_failing: Vec::new(),
                suppressed: 0,
                on_behalf_of: None,
                details: None,
            },
            quiet: false,
            fresh: false,
        });
    }
}

/// The digest at `index` of the outbox was accepted, or refused for good
/// and dropped: if it is a summary, the channel it was made for has had it.
pub(super) fn delivered(state: &mut State, index: usize) {
    let Some(p) = state.outbox.get(index).filter(|p| p.digest.is_summary()) else {
        return;
    };
    let owner = p
        .digest
        .on_behalf_of
        .clone()
        .unwrap_or_else(|| p.channel.clone());
    let made = p.digest.at;
    state.daily.summarized.insert(owner, made);
}
