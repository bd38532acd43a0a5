//! Whether an interval has passed, as the rules count time. Runs come from
//! a timer or cron every interval, each starting a little earlier or later
//! in its minute than the one before, and an action is recorded at its
//! run's start. Counted exactly, a 2m cooldown with a run every minute
//! would end a few milliseconds after the run two minutes later started,
//! and hold the restart a whole interval more. Every "has this interval
//! passed" in the rules (cooldown, grace, a budget's window, renotify, a
//! ladder step's `after`, the reset window, `max_per_hour`'s hour,
//! `fallback_after`, the hourly note of an unsaved state) asks `passed`,
//! which allows for this jitter: a twelfth of the interval, at most
//! `ALLOWANCE` (10s for intervals of 2 minutes and more, so that a short
//! interval keeps its meaning).

use std::time::Duration;

/// The most a run may start early and still find an interval passed.
pub const ALLOWANCE: Duration = Duration::from_secs(10);

/// Has `interval` passed from `then` to `now`? A time in the future (a
/// clock stepped back) counts as now.
pub fn passed(interval: Duration, then: jiff::Timestamp, now: jiff::Timestamp) -> bool {
    let elapsed = now.duration_since(then.min(now)).unsigned_abs();
    elapsed + (interval / 12).min(ALLOWANCE) >= interval
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_run_a_little_early_in_its_minute_finds_two_minutes_passed() {
        let two = Duration::from_secs(120);
        let then = t("2026-11-22T05:00:00.4Z");
        assert!(passed(two, then, t("2026-11-22T05:02:00.1Z")));
        assert!(!passed(two, then, t("2026-11-22T05:01:45Z")));
        assert!(
            !passed(two, t("2026-11-22T05:03:00Z"), then),
            "a clock stepped back"
        );
    }

    #[test]
    fn a_short_interval_keeps_its_meaning() {
        let three = Duration::from_secs(3);
        let then = t("2026-11-22T05:00:00Z");
        assert!(!passed(three, then, t("2026-11-22T05:00:02.5Z")));
        assert!(passed(three, then, t("2026-11-22T05:00:02.8Z")));
        assert!(passed(Duration::ZERO, then, then));
    }
}
