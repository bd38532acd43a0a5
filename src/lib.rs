//! healthcheck: run every check once, decide, act, report, exit with a
//! Nagios status code. The pipeline is wired in `app::run`.

pub mod check;
pub mod config;
pub mod proc; // child processes: argv, own process group, timeout
pub mod status;
