//! The uptime history: what `report` and the status page are made from,
//! kept for 90 days in `history.sqlite` beside the state. The state holds
//! only what the next run needs (incidents for 7 days, tallies for 24
//! hours); this keeps, per check and hour, the runs, the runs per status
//! and the min/max/last of the check's primary reading, and per hour the
//! missed runs, restarts and alerts, with the incidents and the status
//! changes.
//!
//! Why SQLite and not a compacted JSON file: a run changes one hour's rows
//! in a file of ~43,000 of them (20 checks x 90 days x 24 h). SQLite
//! rewrites only the 1 KiB pages that hold them (page_size 1024), so a
//! steady run writes a few KiB; a JSON file would be rewritten whole (about
//! 2 MB) every minute, or split into pieces whose compaction is what SQLite
//! already does. Its rollback journal makes a transaction all or nothing
//! when a run is killed at any moment (the next open rolls a torn
//! transaction back). It is written with `synchronous = OFF`: no fsync, as
//! a steady run of the state promises; a power cut may lose the last
//! writes, and a file it leaves unreadable is moved aside (like a broken
//! state file) and a new history begins.

pub mod record;
pub mod report;
mod store;
pub mod uptime;

pub use store::{Change, History, Record, Rollup, Sample, hour_of};

/// The history's file in the state directory; SQLite's journal is
/// `history.sqlite-journal` while a transaction is open.
pub const FILE: &str = "history.sqlite";
/// How long rollups, incidents and status changes are kept.
pub const KEEP_DAYS: i64 = 90;
/// The most status changes kept (the feed shows the newest).
pub const MAX_CHANGES: i64 = 1000;
