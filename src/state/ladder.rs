//! A check's place on its `escalate` ladder, kept between runs so that
//! each step runs once per problem, in order, `after` the one before.

use serde::{Deserialize, Serialize};

use super::State;

/// The steps of the current problem: how many ran, when the last did, and
/// what about them was told.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Default)]
pub struct Ladder {
    /// Steps done in this problem; the next one is this (0-based) index.
    pub done: u32,
    /// When the last of them was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<jiff::Timestamp>,
    /// The step (0-based) whose refusal by its budget was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<u32>,
    /// "Manual intervention required" was told (after the last step).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual: bool,
}

impl State {
    /// Record that these ladder steps (check, 0-based step) were started at `now`.
    pub fn climb(&mut self, steps: &[(String, u32)], now: jiff::Timestamp) {
        for (check, step) in steps {
            if let Some(c) = self.checks.get_mut(check) {
                c.ladder = Some(Ladder {
                    done: step.saturating_add(1),
                    at: Some(now),
                    refused: None,
                    manual: false,
                });
            }
        }
    }
}
