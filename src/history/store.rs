//! The SQLite file behind the history: its schema, one transaction per run
//! that writes only what changed, pruning past 90 days, and the queries the
//! report and the page read. It never fails a run: the caller turns an
//! error into a line on stderr.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{FILE, KEEP_DAYS, MAX_CHANGES};
use crate::model::{Status, Unit};
use crate::state::{Incident, Taken, incidents::Tally};

const SCHEMA_VERSION: i64 = 1;
const HOUR: i64 = 3600;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS checks(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    reading TEXT,
    unit TEXT
);
CREATE TABLE IF NOT EXISTS hours(
    hour INTEGER NOT NULL,
    check_id INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    warning INTEGER NOT NULL,
    critical INTEGER NOT NULL,
    unknown INTEGER NOT NULL,
    lo INTEGER,
    hi INTEGER,
    last INTEGER,
    PRIMARY KEY(hour, check_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tallies(
    hour INTEGER PRIMARY KEY,
    missed INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    queued INTEGER NOT NULL,
    dropped INTEGER NOT NULL,
    restarts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incidents(
    check_name TEXT NOT NULL,
    start INTEGER NOT NULL,
    end_at INTEGER,
    worst TEXT NOT NULL,
    message TEXT NOT NULL,
    actions TEXT NOT NULL,
    PRIMARY KEY(check_name, start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes(
    at INTEGER NOT NULL,
    check_name TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL
);
";

/// One check's part of a run: its status and its primary reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub check: String,
    pub status: Status,
    /// The reading its thresholds judge (else its first): name, unit, value.
    pub reading: Option<(String, Unit, f64)>,
}

/// A check's status changed (the feed's entries).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub at: jiff::Timestamp,
    pub check: String,
    pub status: Status,
    pub message: String,
}

/// What a run adds: its samples, and the tallies, incidents and status
/// changes that differ from what the previous run left.
#[derive(Debug, Default)]
pub struct Record {
    pub samples: Vec<Sample>,
    pub tallies: Vec<Tally>,
    pub incidents: Vec<Incident>,
    pub changes: Vec<Change>,
}

/// One check's hour.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rollup {
    /// The hour's start, in seconds since the epoch.
    pub hour: i64,
    pub check: String,
    pub runs: u32,
    pub ok: u32,
    pub warning: u32,
    pub critical: u32,
    pub unknown: u32,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    pub last: Option<f64>,
}

impl Rollup {
    /// Runs that found the target working: OK or WARNING.
    pub fn up(&self) -> u32 {
        self.ok + self.warning
    }

    /// The worst status of the hour; `None` when nothing ran.
    pub fn worst(&self) -> Option<Status> {
        [
            (self.critical, Status::Critical),
            (self.warning, Status::Warning),
            (self.unknown, Status::Unknown),
            (self.ok, Status::Ok),
        ]
        .into_iter()
        .find(|(n, _)| *n > 0)
        .map(|(_, s)| s)
    }
}

/// A check's primary reading as the history knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub check: String,
    pub name: String,
    pub unit: Unit,
}

pub struct History {
    conn: Connection,
}

fn unit_text(unit: Unit) -> &'static str {
    match unit {
        Unit::Seconds => "s",
        Unit::Percent => "%",
        Unit::Bytes => "B",
        Unit::PerHour => "/h",
        Unit::Count => "count",
        Unit::Number => "",
    }
}

fn unit_of(text: &str) -> Unit {
    match text {
        "s" => Unit::Seconds,
        "%" => Unit::Percent,
        "B" => Unit::Bytes,
        "/h" => Unit::PerHour,
        "count" => Unit::Count,
        _ => Unit::Number,
    }
}

fn status_text(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Warning => "warning",
        Status::Critical => "critical",
        Status::Unknown => "unknown",
    }
}

fn status_of(text: &str) -> Status {
    match text {
        "ok" => Status::Ok,
        "warning" => Status::Warning,
        "critical" => Status::Critical,
        _ => Status::Unknown,
    }
}

/// Readings are kept in hundredths of their unit, as integers: SQLite
/// stores a small integer in 1 to 4 bytes where a float takes 8, which
/// keeps 90 days of 20 checks under 2 MiB. `None` for what does not fit.
const SCALE: f64 = 100.0;

fn to_stored(value: f64) -> Option<i64> {
    let scaled = (value * SCALE).round();
    (scaled.is_finite() && scaled.abs() < 9.0e18).then_some(scaled as i64)
}

fn from_stored(stored: i64) -> f64 {
    stored as f64 / SCALE
}

fn ts(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The start of the hour `at` falls in, in seconds.
pub fn hour_of(at: jiff::Timestamp) -> i64 {
    let s = at.as_second();
    s - s.rem_euclid(HOUR)
}

/// A history written by a newer healthcheck: left as it is.
fn newer(version: i64) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
        Some(format!(
            "it has version {version}, newer than this healthcheck understands; left as it is"
        )),
    )
}

/// Is this error one of a file that is not a healthy database?
fn is_broken(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

impl History {
    /// Open (or create) the history in the state directory `dir` for a
    /// run at `now` and add `record`. A file in which SQLite meets damage,
    /// opening it or writing, is moved aside as
    /// `history.sqlite.corrupt-<time>` and a new one begins; the returned
    /// note says so.
    pub fn keep(
        dir: &Path,
        record: &Record,
        now: jiff::Timestamp,
    ) -> rusqlite::Result<(History, Option<String>)> {
        let path = dir.join(FILE);
        let add = || {
            let mut h = History::open_at(&path)?;
            h.record(record, now)?;
            Ok(h)
        };
        match add() {
            Err(e) if is_broken(&e) => {
                let aside = dir.join(format!("{FILE}.corrupt-{}", now.as_second()));
                let _ = std::fs::rename(&path, &aside);
                let _ = std::fs::remove_file(dir.join(format!("{FILE}-journal")));
                let note = format!(
                    "the history was damaged ({e}); moved aside to {} and begun anew",
                    aside.display()
                );
                Ok((add()?, Some(note)))
            }
            other => other.map(|h| (h, None)),
        }
    }

    fn open_at(path: &Path) -> rusqlite::Result<History> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // page_size takes effect only on a new file.
        conn.execute_batch("PRAGMA page_size = 1024; PRAGMA synchronous = OFF;")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == 0 {
            conn.execute_batch(&format!(
                "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))?;
        } else if version > SCHEMA_VERSION {
            return Err(newer(version));
        } else {
            // Reading one row of each table finds a file that is not whole.
            conn.query_row("SELECT count(*) FROM checks", [], |_| Ok(()))?;
        }
        Ok(History { conn })
    }

    /// Open the history to read it (`report`): `None` when there is none.
    pub fn read(dir: &Path) -> rusqlite::Result<Option<History>> {
        let path: PathBuf = dir.join(FILE);
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == 0 {
            return Ok(None);
        }
        Ok(Some(History { conn }))
    }

    /// Add a run at `now`, all or nothing; past 90 days is pruned on the
    /// first run of each hour.
    pub fn record(&mut self, record: &Record, now: jiff::Timestamp) -> rusqlite::Result<()> {
        let hour = hour_of(now) / HOUR;
        let tx = self.conn.transaction()?;
        let first_of_hour = tx
            .query_row(
                "SELECT 1 FROM hours WHERE hour = ?1 LIMIT 1",
                [hour],
                |_| Ok(()),
            )
            .optional()?
            .is_none();
        if first_of_hour {
            prune(&tx, now)?;
        }
        for s in &record.samples {
            let id = check_id(&tx, s)?;
            let value = s.reading.as_ref().and_then(|r| to_stored(r.2));
            let [ok, warning, critical, unknown] = [
                Status::Ok,
                Status::Warning,
                Status::Critical,
                Status::Unknown,
            ]
            .map(|st| i64::from(s.status == st));
            // Prepared once for all the run's checks: parsing it again for
            // each was half of a 512-check run's instructions.
            tx.prepare_cached(
                "INSERT INTO hours(hour, check_id, runs, ok, warning, critical, unknown, lo, hi, last)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?7, ?7)
                 ON CONFLICT(hour, check_id) DO UPDATE SET
                   runs = runs + 1, ok = ok + ?3, warning = warning + ?4,
                   critical = critical + ?5, unknown = unknown + ?6,
                   lo = CASE WHEN ?7 IS NULL THEN lo ELSE min(coalesce(lo, ?7), ?7) END,
                   hi = CASE WHEN ?7 IS NULL THEN hi ELSE max(coalesce(hi, ?7), ?7) END,
                   last = coalesce(?7, last)",
            )?
            .execute(params![hour, id, ok, warning, critical, unknown, value])?;
        }
        for t in &record.tallies {
            let restarts = serde_json::to_string(&t.restarts).unwrap_or_default();
            tx.execute(
                "INSERT OR REPLACE INTO tallies(hour, missed, sent, queued, dropped, restarts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    t.hour.as_second() / HOUR,
                    t.missed,
                    t.sent,
                    t.queued,
                    t.dropped,
                    restarts
                ],
            )?;
        }
        for i in &record.incidents {
            let actions = serde_json::to_string(&i.actions).unwrap_or_default();
            tx.execute(
                "INSERT OR REPLACE INTO incidents(check_name, start, end_at, worst, message, actions)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    i.check,
                    i.start.as_second(),
                    i.end.map(|e| e.as_second()),
                    status_text(i.worst),
                    crate::secret::redact(&i.message),
                    actions
                ],
            )?;
        }
        for c in &record.changes {
            tx.execute(
                "INSERT INTO changes(at, check_name, status, message) VALUES (?1, ?2, ?3, ?4)",
                params![
                    c.at.as_second(),
                    c.check,
                    status_text(c.status),
                    crate::secret::redact(&c.message)
                ],
            )?;
        }
        tx.commit()
    }

    /// Each check's hours from `since` on, oldest first.
    pub fn rollups(&self, since: jiff::Timestamp) -> rusqlite::Result<Vec<Rollup>> {
        let mut q = self.conn.prepare(
            "SELECT h.hour, c.name, h.runs, h.ok, h.warning, h.critical, h.unknown, h.lo, h.hi, h.last
             FROM hours h JOIN checks c ON c.id = h.check_id
             WHERE h.hour >= ?1 ORDER BY h.hour, c.name",
        )?;
        q.query_map([hour_of(since) / HOUR], |r| {
            Ok(Rollup {
                hour: r.get::<_, i64>(0)? * HOUR,
                check: r.get(1)?,
                runs: r.get(2)?,
                ok: r.get(3)?,
                warning: r.get(4)?,
                critical: r.get(5)?,
                unknown: r.get(6)?,
                lo: r.get::<_, Option<i64>>(7)?.map(from_stored),
                hi: r.get::<_, Option<i64>>(8)?.map(from_stored),
                last: r.get::<_, Option<i64>>(9)?.map(from_stored),
            })
        })?
        .collect()
    }

    /// The hours' tallies from `since` on, oldest first.
    pub fn tallies(&self, since: jiff::Timestamp) -> rusqlite::Result<Vec<Tally>> {
        let mut q = self.conn.prepare(
            "SELECT hour, missed, sent, queued, dropped, restarts FROM tallies
             WHERE hour >= ?1 ORDER BY hour",
        )?;
        q.query_map([hour_of(since) / HOUR], |r| {
            let restarts: String = r.get(5)?;
            Ok(Tally {
                hour: ts(r.get::<_, i64>(0)? * HOUR),
                missed: r.get(1)?,
                sent: r.get(2)?,
                queued: r.get(3)?,
                dropped: r.get(4)?,
                restarts: serde_json::from_str(&restarts).unwrap_or_default(),
            })
        })?
        .collect()
    }

    /// The incidents open at or after `since`, oldest first.
    pub fn incidents(&self, since: jiff::Timestamp) -> rusqlite::Result<Vec<Incident>> {
        let mut q = self.conn.prepare(
            "SELECT check_name, start, end_at, worst, message, actions FROM incidents
             WHERE end_at IS NULL OR end_at >= ?1 ORDER BY start, check_name",
        )?;
        q.query_map([since.as_second()], |r| {
            let worst: String = r.get(3)?;
            let actions: String = r.get(5)?;
            Ok(Incident {
                check: r.get(0)?,
                start: ts(r.get(1)?),
                end: r.get::<_, Option<i64>>(2)?.map(ts),
                worst: status_of(&worst),
                message: r.get(4)?,
                actions: serde_json::from_str::<Vec<Taken>>(&actions).unwrap_or_default(),
            })
        })?
        .collect()
    }

    /// The newest `limit` status changes, newest first.
    pub fn changes(&self, limit: usize) -> rusqlite::Result<Vec<Change>> {
        let mut q = self.conn.prepare(
            "SELECT at, check_name, status, message FROM changes ORDER BY at DESC, rowid DESC LIMIT ?1",
        )?;
        q.query_map([limit as i64], |r| {
            let status: String = r.get(2)?;
            Ok(Change {
                at: ts(r.get(0)?),
                check: r.get(1)?,
                status: status_of(&status),
                message: r.get(3)?,
            })
        })?
        .collect()
    }

    /// Each check's primary reading, as last recorded.
    pub fn readings(&self) -> rusqlite::Result<Vec<Reading>> {
        let mut q = self
            .conn
            .prepare("SELECT name, reading, unit FROM checks WHERE reading IS NOT NULL")?;
        q.query_map([], |r| {
            let unit: String = r.get(2)?;
            Ok(Reading {
                check: r.get(0)?,
                name: r.get(1)?,
                unit: unit_of(&unit),
            })
        })?
        .collect()
    }
}

/// The check's id, its row made (or its reading updated) when needed.
fn check_id(tx: &rusqlite::Transaction, s: &Sample) -> rusqlite::Result<i64> {
    let (reading, unit) = match &s.reading {
        Some((name, unit, _)) => (Some(name.as_str()), Some(unit_text(*unit))),
        None => (None, None),
    };
    let known: Option<(i64, Option<String>, Option<String>)> = tx
        .prepare_cached("SELECT id, reading, unit FROM checks WHERE name = ?1")?
        .query_row([&s.check], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match known {
        Some((id, r, u))
            if reading.is_none() || (r.as_deref(), u.as_deref()) == (reading, unit) =>
        {
            Ok(id)
        }
        Some((id, _, _)) => {
            tx.execute(
                "UPDATE checks SET reading = ?2, unit = ?3 WHERE id = ?1",
                params![id, reading, unit],
            )?;
            Ok(id)
        }
        None => {
            tx.execute(
                "INSERT INTO checks(name, reading, unit) VALUES (?1, ?2, ?3)",
                params![s.check, reading, unit],
            )?;
            Ok(tx.last_insert_rowid())
        }
    }
}

/// Forget what is older than 90 days (and status changes beyond 1000).
fn prune(tx: &rusqlite::Transaction, now: jiff::Timestamp) -> rusqlite::Result<()> {
    let cutoff = now.as_second() - KEEP_DAYS * 24 * HOUR;
    tx.execute("DELETE FROM hours WHERE hour < ?1", [cutoff / HOUR])?;
    tx.execute("DELETE FROM tallies WHERE hour < ?1", [cutoff / HOUR])?;
    tx.execute(
        "DELETE FROM incidents WHERE end_at IS NOT NULL AND end_at < ?1",
        [cutoff],
    )?;
    tx.execute("DELETE FROM changes WHERE at < ?1", [cutoff])?;
    tx.execute(
        "DELETE FROM changes WHERE rowid NOT IN
           (SELECT rowid FROM changes ORDER BY at DESC, rowid DESC LIMIT ?1)",
        [MAX_CHANGES],
    )?;
    tx.execute(
        "DELETE FROM checks WHERE id NOT IN (SELECT DISTINCT check_id FROM hours)",
        [],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn sample(check: &str, status: Status, value: Option<f64>) -> Sample {
        Sample {
            check: check.into(),
            status,
            reading: value.map(|v| ("age".to_string(), Unit::Seconds, v)),
        }
    }

    fn run(h: &mut History, when: &str, samples: Vec<Sample>) {
        let record = Record {
            samples,
            ..Record::default()
        };
        h.record(&record, at(when)).unwrap();
    }

    #[test]
    fn runs_are_rolled_into_their_hour_with_min_max_and_last_of_the_reading() {
        let dir = tempfile::tempdir().unwrap();
        let (mut h, note) =
            History::keep(dir.path(), &Record::default(), at("2026-03-01T10:00:00Z")).unwrap();
        assert_eq!(note, None);
        run(
            &mut h,
            "2026-03-01T10:01:00Z",
            vec![sample("bot", Status::Ok, Some(30.0))],
        );
        run(
            &mut h,
            "2026-03-01T10:02:00Z",
            vec![sample("bot", Status::Critical, Some(900.5))],
        );
        run(
            &mut h,
            "2026-03-01T10:03:00Z",
            vec![sample("bot", Status::Unknown, None)],
        );
        run(
            &mut h,
            "2026-03-01T10:04:00Z",
            vec![sample("bot", Status::Warning, Some(12.0))],
        );
        run(
            &mut h,
            "2026-03-01T11:00:00Z",
            vec![sample("bot", Status::Ok, Some(1.0))],
        );
        drop(h);
        let h = History::read(dir.path()).unwrap().unwrap();
        let r = h.rollups(at("2026-03-01T00:00:00Z")).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0],
            Rollup {
                hour: at("2026-03-01T10:00:00Z").as_second(),
                check: "bot".into(),
                runs: 4,
                ok: 1,
                warning: 1,
                critical: 1,
                unknown: 1,
                lo: Some(12.0),
                hi: Some(900.5),
                last: Some(12.0),
            }
        );
        assert_eq!((r[0].up(), r[0].worst()), (2, Some(Status::Critical)));
        assert_eq!(r[1].runs, 1);
        let readings = h.readings().unwrap();
        assert_eq!(readings[0].unit, Unit::Seconds);
    }

    #[test]
    fn incidents_tallies_and_changes_outlive_the_states_week_and_go_after_90_days() {
        let dir = tempfile::tempdir().unwrap();
        let (mut h, _) =
            History::keep(dir.path(), &Record::default(), at("2026-01-01T00:00:00Z")).unwrap();
        let incident = Incident {
            check: "bot".into(),
            start: at("2026-01-01T10:00:00Z"),
            end: None,
            worst: Status::Critical,
            message: "down".into(),
            actions: Vec::new(),
        };
        let mut record = Record {
            samples: vec![sample("bot", Status::Critical, None)],
            tallies: vec![Tally {
                hour: at("2026-01-01T10:00:00Z"),
                missed: 2,
                sent: 1,
                ..Tally::default()
            }],
            incidents: vec![incident.clone()],
            changes: vec![Change {
                at: at("2026-01-01T10:05:00Z"),
                check: "bot".into(),
                status: Status::Critical,
                message: "down".into(),
            }],
        };
        h.record(&record, at("2026-01-01T10:05:00Z")).unwrap();
        // The incident ends: the same row is updated, not a second one.
        let ended = Incident {
            end: Some(at("2026-01-01T12:00:00Z")),
            ..incident
        };
        record.incidents = vec![ended.clone()];
        record.changes.clear();
        record.tallies.clear();
        h.record(&record, at("2026-01-01T12:00:00Z")).unwrap();
        // 30 days later the state has forgotten it; the history has not.
        run(
            &mut h,
            "2026-01-31T00:00:00Z",
            vec![sample("bot", Status::Ok, None)],
        );
        let since = at("2025-12-01T00:00:00Z");
        assert_eq!(h.incidents(since).unwrap(), vec![ended]);
        assert_eq!(h.tallies(since).unwrap()[0].missed, 2);
        assert_eq!(h.changes(10).unwrap().len(), 1);
        // Past 90 days, all of it goes on the first run of an hour.
        run(
            &mut h,
            "2026-04-02T00:00:00Z",
            vec![sample("bot", Status::Ok, None)],
        );
        assert_eq!(h.incidents(since).unwrap(), vec![]);
        assert_eq!(h.tallies(since).unwrap(), vec![]);
        assert_eq!(h.changes(10).unwrap(), vec![]);
        let hours: Vec<i64> = h.rollups(since).unwrap().iter().map(|r| r.hour).collect();
        assert_eq!(
            hours,
            [
                at("2026-01-31T00:00:00Z").as_second(),
                at("2026-04-02T00:00:00Z").as_second()
            ]
        );
    }

    #[test]
    fn a_history_spoiled_past_its_first_pages_failed_every_run_instead_of_being_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let start = at("2026-03-01T00:00:00Z");
        let (mut h, _) = History::keep(dir.path(), &Record::default(), start).unwrap();
        for hour in 0..200 {
            let now = start + jiff::SignedDuration::from_hours(hour);
            let samples = (0..20)
                .map(|c| sample(&format!("check-{c}"), Status::Ok, Some(hour as f64)))
                .collect();
            h.record(
                &Record {
                    samples,
                    ..Record::default()
                },
                now,
            )
            .unwrap();
        }
        drop(h);
        // A power cut left garbage in the pages past the schema's.
        let path = dir.path().join(FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        for b in &mut bytes[8 * 1024..] {
            *b = 0x5a;
        }
        std::fs::write(&path, bytes).unwrap();
        let now = start + jiff::SignedDuration::from_hours(200);
        let record = Record {
            samples: vec![sample("check-0", Status::Ok, None)],
            ..Record::default()
        };
        let (h, note) = History::keep(dir.path(), &record, now).unwrap();
        let note = note.expect("the move is told");
        assert!(note.contains("moved aside"), "{note}");
        assert_eq!(h.rollups(start).unwrap().len(), 1, "a new history began");
    }

    #[test]
    fn a_history_of_a_newer_healthcheck_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE future(x); PRAGMA user_version = 7;")
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        let now = at("2026-03-01T10:00:00Z");
        let Err(e) = History::keep(dir.path(), &Record::default(), now) else {
            panic!("a newer history was used");
        };
        assert!(e.to_string().contains("version 7"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_history_that_is_not_a_database_is_moved_aside_and_a_new_one_begins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), vec![b'x'; 5000]).unwrap();
        let now = at("2026-03-01T10:00:00Z");
        let (mut h, note) = History::keep(dir.path(), &Record::default(), now).unwrap();
        let note = note.expect("the move is told");
        assert!(note.contains("moved aside"), "{note}");
        run(
            &mut h,
            "2026-03-01T10:00:00Z",
            vec![sample("bot", Status::Ok, None)],
        );
        let aside = dir
            .path()
            .join(format!("{FILE}.corrupt-{}", now.as_second()));
        assert_eq!(std::fs::read(aside).unwrap().len(), 5000);
    }

    /// 20 checks, one run an hour for 100 days (the size of an hour's rows
    /// does not depend on how many runs it counts), a reading that is never
    /// a round number, an incident a day per check and two status changes.
    #[test]
    fn a_hundred_days_of_twenty_checks_stay_under_2_mib() {
        let dir = tempfile::tempdir().unwrap();
        let start = at("2026-01-01T00:00:00Z");
        let (mut h, _) = History::keep(dir.path(), &Record::default(), start).unwrap();
        for hour in 0..100 * 24 {
            let now = start + jiff::SignedDuration::from_hours(hour);
            let status = if hour % 24 == 3 {
                Status::Critical
            } else {
                Status::Ok
            };
            let samples = (0..20)
                .map(|c| Sample {
                    check: format!("check-number-{c}"),
                    status,
                    reading: Some(("age".into(), Unit::Seconds, (hour * 37 + c) as f64 / 7.0)),
                })
                .collect();
            let mut record = Record {
                samples,
                tallies: vec![Tally {
                    hour: now,
                    missed: 1,
                    sent: 2,
                    ..Tally::default()
                }],
                ..Record::default()
            };
            if hour % 24 == 3 {
                for c in 0..20 {
                    let check = format!("check-number-{c}");
                    record.incidents.push(Incident {
                        check: check.clone(),
                        start: now,
                        end: Some(now + jiff::SignedDuration::from_hours(1)),
                        worst: Status::Critical,
                        message: "the log is 2h old (limit 10m)".into(),
                        actions: Vec::new(),
                    });
                    record.changes.push(Change {
                        at: now,
                        check,
                        status: Status::Critical,
                        message: "the log is 2h old (limit 10m)".into(),
                    });
                }
            }
            h.record(&record, now).unwrap();
        }
        drop(h);
        let size = std::fs::metadata(dir.path().join(FILE)).unwrap().len();
        eprintln!("history after 100 days of 20 checks: {size} bytes");
        assert!(size <= 2 * 1024 * 1024, "{size} bytes");
    }
}
