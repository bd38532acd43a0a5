//! The integration tests: one binary, the real `healthcheck` executable run
//! against real files, processes, sockets and HTTP servers on loopback.

#![allow(clippy::print_stdout)] // tests print what they measured

mod harness;

mod alert_trust;
mod alertmanager;
mod alerts;
mod architecture;
mod bed;
mod cli;
mod compat;
mod config_errors;
mod email;
mod escalate;
mod fault_week;
mod first_day;
mod foreign_packages;
mod hardening_actions;
mod hardening_files;
mod hardening_inputs;
mod journal;
mod managers;
mod nagios;
mod newcomer;
mod packages;
mod packaging;
mod page;
mod performance;
mod ping;
mod prometheus;
mod readme;
mod real_systemd;
mod restarts;
mod run_checks;
mod sql;
mod state;
mod summary;
mod tls;
