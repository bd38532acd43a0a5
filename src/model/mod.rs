//! The words every part of a run speaks: a status, what a check found, what
//! was decided and done, what is to be told. It depends on nothing else in
//! the crate, so that check, decide, notify, state and report can all
//! depend on it without depending on each other.

mod action;
mod event;
mod outcome;
#[cfg(test)]
mod samples;
mod status;

pub use action::{Action, ActionOutcome, ActionReport, Decision, Note, Target};
pub use event::{Digest, Event, EventKind};
pub use outcome::{Breach, Limits, Outcome, Reading, Thresholds, Unit};
pub use status::Status;
