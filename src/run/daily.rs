//! The daily summary's part of the tell stage: record this run's actions
//! in the incident log, queue the day's summary where it is due (the rules
//! are `decide::summary`'s), and tally the alerts once delivered.

use crate::decide::summary;
use crate::model::{Action, ActionReport};
use crate::notify;
use crate::spec::Config;
use crate::state::State;

/// After the actions, before anything is sent.
pub fn acted(next: &mut State, decided: &[Action], done: &[ActionReport], now: jiff::Timestamp) {
    summary::actions(&mut next.daily, decided, done, now);
}

/// Queue the summary for the channels it is due for.
pub fn queue(config: &Config, next: &mut State, now: jiff::Timestamp) {
    let Some(spec) = &config.summary else {
        return;
    };
    let due = summary::due(spec, next, now);
    if due.is_empty() {
        return;
    }
    let event = summary::compose(config, spec, next, now);
    notify::plan::summary::queue(next, &config.settings.hostname, &due, &event, now);
}

/// After the outbox was delivered: count what went, waits and was dropped.
pub fn delivered(next: &mut State, dropped: usize, now: jiff::Timestamp) {
    summary::alerts(next, dropped, now);
}
