//! The SQLite driver of the `sql` check. The database file is opened
//! read-only and never created (a missing file is the problem to report,
//! not something to paper over with an empty database), a statement that
//! could write is refused before it runs, a locked database is waited for
//! at most the check's time, and a query still running then is interrupted.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{Datum, Table};
use crate::files::not_regular_file;
use crate::model::Outcome;

pub struct Sqlite {
    path: PathBuf,
}

impl Sqlite {
    pub fn new(path: PathBuf) -> Sqlite {
        Sqlite { path }
    }

    pub fn fetch(&self, query: &str, budget: Duration) -> anyhow::Result<Result<Table, Outcome>> {
        let shown = self.path.display();
        match std::fs::metadata(&self.path) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(Err(Outcome::critical(format!(
                    "database file not found: {shown}"
                ))));
            }
            Err(e) => bail!("{shown}: {e}"),
            Ok(meta) => {
                if let Some(why) = not_regular_file(&meta) {
                    return Ok(Err(Outcome::unknown(format!(
                        "{shown} is {why}, not a database file"
                    ))));
                }
            }
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(&self.path, flags)
            .map_err(|e| anyhow!("cannot open {shown}: {e}"))?;
        conn.busy_timeout(budget)?;
        // Every thousand steps of SQLite's virtual machine the query looks
        // at the clock, and stops once its time is spent: no thread of its
        // own to interrupt it.
        let until = Instant::now() + budget;
        conn.progress_handler(1000, Some(move || Instant::now() >= until))?;
        run(&conn, query)
    }
}

impl Sqlite {
    /// SQLite itself says whether `query` can write, when the database is
    /// there to prepare it against (read-only, without running it).
    pub fn would_write(&self, query: &str) -> Option<String> {
        let meta = std::fs::metadata(&self.path).ok()?;
        if not_regular_file(&meta).is_some() {
            return None;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).ok()?;
        let stmt = conn.prepare(query).ok()?;
        (!stmt.readonly()).then(|| {
            "query: SQLite says this statement can write; a sql check only reads".to_string()
        })
    }
}

fn run(conn: &Connection, query: &str) -> anyhow::Result<Result<Table, Outcome>> {
    let mut stmt = match conn.prepare(query) {
        Ok(stmt) => stmt,
        Err(e) => {
            // A missing table is a data outage (a crashed worker left an
            // empty file), not a broken check: CRITICAL, so it can restart.
            if let Some(table) = e.to_string().strip_prefix("no such table: ") {
                return Ok(Err(Outcome::critical(format!(
                    "table {table} does not exist"
                ))));
            }
            return Err(explain(e));
        }
    };
    if !stmt.readonly() {
        bail!("refusing to run a statement that can write: a sql check only reads");
    }
    let columns = stmt.column_count();
    let mut rows = stmt.query([]).map_err(explain)?;
    let mut table = Table::default();
    while let Some(row) = rows.next().map_err(explain)? {
        let cells = if table.keeps_more() {
            (0..columns)
                .map(|i| row.get_ref(i).map(datum))
                .collect::<Result<Vec<_>, _>>()
                .map_err(explain)?
        } else {
            Vec::new()
        };
        table.push(cells);
    }
    Ok(Ok(table))
}

/// SQLite's errors in the words of this check.
fn explain(e: rusqlite::Error) -> anyhow::Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::OperationInterrupted) => {
            anyhow!("query still running at the timeout: interrupted")
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            anyhow!("database locked by another process for the whole timeout: {e}")
        }
        _ => match e {
            rusqlite::Error::MultipleStatement => {
                anyhow!("the query holds more than one statement; a sql check runs exactly one")
            }
            other => anyhow!("{other}"),
        },
    }
}

/// SQLite stores dates as text or numbers; both are read by the `Measure`.
fn datum(value: ValueRef) -> Datum {
    match value {
        ValueRef::Null => Datum::Null,
        ValueRef::Integer(i) => Datum::Int(i),
        ValueRef::Real(f) => Datum::Float(f),
        ValueRef::Text(t) => Datum::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => Datum::Other("BLOB".into()),
    }
}
