//! The words every part of a run speaks: a status, what a check found, what
//! was decided and done, what is to be told. It depends on nothing else in
//! the crate, so that check, decide, notify, state and report can all
//! depend on it without depending on each other.

mod action;
mod event;
mod exit;
mod outcome;
#[cfg(test)]
mod samples;
mod status;
mod step;
pub mod timer;

pub use action::{Action, ActionOutcome, ActionReport, Decision, Note, Target};
pub use event::{Digest, Event, EventKind, Failing, HeldBack};
pub use exit::Exit;
pub use outcome::{Breach, Limits, Outcome, Reading, Thresholds, Unit};
pub use status::Status;
pub use step::NextStep;

/// "1 check", "3 checks": a count and its noun.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_zero_is_plural() {
        assert_eq!(super::count(1, "check", "checks"), "1 check");
        assert_eq!(super::count(0, "match", "matches"), "0 matches");
        assert_eq!(super::count(12, "line", "lines"), "12 lines");
    }
}
