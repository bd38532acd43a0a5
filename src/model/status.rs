//! The one status type of a check and of a run, its Nagios exit code and the
//! worst-of order. Numerically UNKNOWN (3) is above CRITICAL (2), but for the
//! verdict of a run CRITICAL is worse: the order is written out here, once.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// Rank in the worst-of order: CRITICAL > WARNING > UNKNOWN > OK.
    fn badness(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Unknown => 1,
            Status::Warning => 2,
            Status::Critical => 3,
        }
    }

    /// The worse of two statuses.
    pub fn max(self, other: Status) -> Status {
        if other.badness() > self.badness() {
            other
        } else {
            self
        }
    }

    /// The worst status of many; OK when there are none.
    pub fn worst<I: IntoIterator<Item = Status>>(statuses: I) -> Status {
        statuses.into_iter().fold(Status::Ok, Status::max)
    }

    /// The Nagios plugin exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// Upper-case word used by Nagios output and alert subjects.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// Lower-case name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }

    pub fn is_ok(self) -> bool {
        self == Status::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::Status::{self, *};

    #[track_caller]
    fn case(statuses: &[Status], expected: Status) {
        assert_eq!(
            Status::worst(statuses.iter().copied()),
            expected,
            "{statuses:?}"
        );
    }

    #[test]
    fn worst_of_follows_critical_warning_unknown_ok() {
        case(&[], Ok);
        case(&[Ok, Ok], Ok);
        case(&[Ok, Unknown], Unknown);
        case(&[Unknown, Warning], Warning);
        case(&[Warning, Unknown], Warning);
        case(&[Critical, Unknown], Critical);
        case(&[Unknown, Critical, Warning, Ok], Critical);
    }

    #[test]
    fn exit_codes_are_the_nagios_ones() {
        assert_eq!(Ok.exit_code(), 0);
        assert_eq!(Warning.exit_code(), 1);
        assert_eq!(Critical.exit_code(), 2);
        assert_eq!(Unknown.exit_code(), 3);
    }

    #[test]
    fn a_run_with_one_critical_and_one_unknown_exits_2() {
        assert_eq!(Status::worst([Critical, Unknown]).exit_code(), 2);
    }
}
