//! Where a check's `escalate` ladder goes next, for `--dry-run` and the
//! JSON report: which step, what it does, and when it is due.

use serde::Serialize;

/// The next step of a check's ladder.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct NextStep {
    /// 1-based, of `steps`; `step > steps` means every step ran.
    pub step: u32,
    pub steps: u32,
    /// "restart soltrader", "run /opt/soltrader/soft-recover"; empty after the last.
    pub action: String,
    /// Its `after`, in seconds.
    pub after_s: u64,
    /// When it is due (now, or `after` past the step before).
    pub at: jiff::Timestamp,
}

impl NextStep {
    /// "next: step 2 of 3 restart soltrader after 5m, at 10:35 UTC".
    pub fn line(&self, hhmm: impl Fn(jiff::Timestamp) -> String, now: jiff::Timestamp) -> String {
        if self.step > self.steps {
            return format!(
                "next: manual intervention required (all {} steps ran)",
                self.steps
            );
        }
        let when = if self.at <= now {
            "now".to_string()
        } else {
            format!("at {}", hhmm(self.at))
        };
        let after = if self.after_s == 0 {
            String::new()
        } else {
            format!(" after {}", super::Unit::Seconds.show(self.after_s as f64))
        };
        format!(
            "next: step {} of {} {}{after}, {when}",
            self.step, self.steps, self.action
        )
    }
}
