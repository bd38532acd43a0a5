//! How a command ends, as the process's exit code. Every command speaks
//! Nagios, so that a scheduler, a monitoring system or a shell script reads
//! all of them alike: a run exits with its worst status, and any other
//! command exits OK when it did its work, CRITICAL when what it tried
//! failed (an alert that was not delivered), and UNKNOWN when it could not
//! do its work at all (bad arguments, a config that does not load, a state
//! it cannot read or save, output lost, a panic).

use super::Status;

/// The exit code of a command: a Nagios status, nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Exit(Status);

impl Exit {
    /// 0: done; for a run, every check that ran is OK.
    pub const OK: Exit = Exit(Status::Ok);
    /// 2: what the command tried failed.
    pub const CRITICAL: Exit = Exit(Status::Critical);
    /// 3: the command could not do its work.
    pub const UNKNOWN: Exit = Exit(Status::Unknown);

    /// A run's exit: its worst status.
    pub fn of(status: Status) -> Exit {
        Exit(status)
    }

    /// The number the process exits with.
    pub fn code(self) -> u8 {
        self.0.exit_code()
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exits_are_the_nagios_codes() {
        assert_eq!(Exit::OK.code(), 0);
        assert_eq!(Exit::of(Status::Warning).code(), 1);
        assert_eq!(Exit::CRITICAL.code(), 2);
        assert_eq!(Exit::UNKNOWN.code(), 3);
    }
}
