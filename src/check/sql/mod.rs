//! `sql`: is the data still arriving? Runs one read-only query on SQLite,
//! PostgreSQL or SQL Server and turns its answer into a reading: the age of
//! the newest row (a cache table's last update, a collector's newest tick),
//! a number (the minutes left on each API token, one reading per API with
//! `label_column`), or
//! a row count. Each driver lives in its own file and only fetches rows;
//! what the rows mean (`Measure`) is decided here, and `json` reuses it.
//!
//! A query never writes: SQLite is opened read-only and statements that can
//! write are refused before they run; PostgreSQL runs it in a READ ONLY
//! transaction and accepts exactly one statement; SQL Server runs it inside
//! a transaction that is rolled back.

pub mod measure;
#[cfg(feature = "mssql")]
mod mssql;
mod postgres;
mod sqlite;

pub use measure::{Expect, Measure, MeasureKeys, measure};

use std::time::Duration;

use anyhow::{anyhow, bail};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::{Keys, Kind, Primary, Secret, TypeKeys, timestamp};
use crate::check::common::RawCheck;
use crate::model::{Outcome, Unit};
use crate::spec::probe::{Probe, ProbeContext};
use crate::vocab::{Builder, expand_tilde};

pub const KIND: Kind = Kind {
    primary: Primary::NamedBy("expect"),
    // A database URL may hold a password, in its user part or its options.
    secrets: &[Secret::Url("url")],
    from_file: &["url"],
    // `value` first: it is what `expect` defaults to.
    ..Kind::new(
        "sql",
        Keys::of::<SqlKeys>(),
        &[
            &measure::VALUE,
            &measure::AGE,
            &measure::ROWS,
            &measure::UNTIL,
        ],
    )
};

/// The keys of a `sql` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlKeys {
    driver: Option<String>,
    database: Option<String>,
    url: Option<String>,
    query: Option<String>,
    expect: Option<String>,
    label_column: Option<u32>,
    empty: Option<String>,
    naive_timezone: Option<String>,
}

impl TypeKeys for SqlKeys {
    fn build(&self, common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, common, b)
    }
}

/// Rows kept from a result (all are counted): enough for one reading per
/// API token or per table, bounded against a `SELECT *` on a big table.
pub const MAX_ROWS: usize = 100;

/// Row texts shown in a message before "and N more".
const MAX_SHOWN: usize = 10;

/// A timestamp this far in the future is suspicious, not just clock jitter.
const FUTURE_SLACK: f64 = 60.0;

/// The drivers stop this long before the runner gives up on the check, so
/// that a slow query is cancelled and reported by us, not just abandoned.
const MARGIN: Duration = Duration::from_millis(250);

/// One value of a result, whatever the database called its type.
#[derive(Clone, Debug, PartialEq)]
pub enum Datum {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// A point in time with its zone (timestamptz, datetimeoffset).
    Instant(Timestamp),
    /// A wall-clock date-time without a zone (timestamp, datetime, date).
    Civil(DateTime),
    /// A length of time (a PostgreSQL interval), in seconds.
    Seconds(f64),
    /// A type this check cannot read, by name.
    Other(String),
}

impl Datum {
    /// The value as a label of a reading.
    fn label(&self) -> String {
        match self {
            Datum::Null => "NULL".into(),
            Datum::Bool(b) => b.to_string(),
            Datum::Int(i) => i.to_string(),
            Datum::Float(f) => f.to_string(),
            Datum::Text(t) => t.trim().to_string(),
            Datum::Instant(t) => t.to_string(),
            Datum::Civil(dt) => dt.to_string(),
            Datum::Seconds(s) => Unit::Seconds.show(*s),
            Datum::Other(t) => format!("({t})"),
        }
    }

    /// The value as a finite number: NaN and infinity pass no threshold,
    /// so they are no reading at all.
    fn number(&self) -> anyhow::Result<f64> {
        let n = self.any_number()?;
        if !n.is_finite() {
            bail!("the value is not a number ({n})");
        }
        Ok(n)
    }

    fn any_number(&self) -> anyhow::Result<f64> {
        match self {
            Datum::Bool(b) => Ok(f64::from(u8::from(*b))),
            Datum::Int(i) => Ok(*i as f64),
            Datum::Float(f) => Ok(*f),
            Datum::Seconds(s) => Ok(*s),
            Datum::Text(t) => t
                .trim()
                .parse()
                .map_err(|_| anyhow!("\"{}\" is not a number", t.trim())),
            Datum::Instant(_) | Datum::Civil(_) => {
                bail!("the value is a timestamp: set expect = \"age\" or \"until\"")
            }
            Datum::Null => bail!("the value is NULL"),
            Datum::Other(t) => bail!("cannot read a value of type {t} as a number"),
        }
    }

    fn instant(&self, tz: &TimeZone) -> anyhow::Result<Timestamp> {
        match self {
            Datum::Int(i) => timestamp::from_epoch(*i as f64),
            Datum::Float(f) => timestamp::from_epoch(*f),
            Datum::Text(t) => timestamp::parse(t, tz),
            Datum::Instant(t) => Ok(*t),
            Datum::Civil(dt) => timestamp::from_civil(*dt, tz),
            Datum::Bool(_) | Datum::Seconds(_) | Datum::Null => {
                bail!("{} is not a timestamp", self.label())
            }
            Datum::Other(t) => bail!("cannot read a value of type {t} as a timestamp"),
        }
    }
}

/// What a query returned: the first `MAX_ROWS` rows and how many there were.
#[derive(Debug, Default)]
pub struct Table {
    pub rows: Vec<Vec<Datum>>,
    pub count: usize,
}

impl Table {
    /// Whether the next row will be kept (all are counted).
    pub fn keeps_more(&self) -> bool {
        self.rows.len() < MAX_ROWS
    }

    /// Count a row, and keep it if there is room.
    pub fn push(&mut self, row: Vec<Datum>) {
        self.count += 1;
        if self.keeps_more() {
            self.rows.push(row);
        }
    }
}

/// Where a `sql` check's rows come from.
enum Source {
    Sqlite(sqlite::Sqlite),
    Postgres(Box<postgres::Postgres>),
    #[cfg(feature = "mssql")]
    Mssql(Box<mssql::Mssql>),
}

impl Source {
    /// The rows, or (inner `Err`) the outcome of a database that is not
    /// there: a missing file or a refused connection is CRITICAL.
    fn fetch(&self, query: &str, budget: Duration) -> anyhow::Result<Result<Table, Outcome>> {
        match self {
            Source::Sqlite(s) => s.fetch(query, budget),
            Source::Postgres(p) => p.fetch(query, budget),
            #[cfg(feature = "mssql")]
            Source::Mssql(m) => m.fetch(query, budget),
        }
    }
}

struct SqlCheck {
    source: Source,
    query: String,
    measure: Measure,
}

fn build(raw: &SqlKeys, common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let keys = MeasureKeys {
        expect: raw.expect.as_deref(),
        label_column: raw.label_column,
        empty: raw.empty.as_deref(),
        naive_timezone: raw.naive_timezone.as_deref(),
        offset: None,
    };
    let measure = measure(
        keys,
        common.reading.as_deref(),
        b,
        &[Expect::Age, Expect::Value, Expect::Rows, Expect::Until],
    );
    let query = b.required("query", &raw.query).cloned();
    if query.as_deref().is_some_and(|q| q.trim().is_empty()) {
        b.error("query", "must not be empty");
    } else if let Some(keyword) = query.as_deref().and_then(writing_keyword) {
        b.error(
            "query",
            format!("a sql check only reads: a statement starting with {keyword} can write (start with SELECT, WITH, VALUES, SHOW or EXPLAIN)"),
        );
    }
    let source = match raw.driver.as_deref() {
        None => {
            b.required("driver", &raw.driver);
            None
        }
        Some("sqlite") => {
            if raw.url.is_some() {
                b.error(
                    "url",
                    "a sqlite check reads a file: give its path as `database`",
                );
            }
            b.required("database", &raw.database)
                .map(|p| Source::Sqlite(sqlite::Sqlite::new(expand_tilde(p))))
        }
        Some(driver @ ("postgres" | "mssql")) => {
            if raw.database.is_some() {
                b.error(
                    "database",
                    format!("a {driver} check connects with `url`; name the database in the URL"),
                );
            }
            let url = b.required("url", &raw.url)?;
            let built = if driver == "postgres" {
                postgres::Postgres::new(url).map(|p| Source::Postgres(Box::new(p)))
            } else {
                mssql_source(url)
            };
            built.map_err(|e| b.error("url", e)).ok()
        }
        Some(other) => {
            b.error(
                "driver",
                format!("must be \"sqlite\", \"postgres\" or \"mssql\", not \"{other}\""),
            );
            None
        }
    };
    Some(Box::new(SqlCheck {
        source: source?,
        query: query?,
        measure: measure?,
    }))
}

/// The first keyword of `query` when it is not one that reads (comments
/// and opening parentheses skipped): "DELETE", "UPDATE", ...
fn writing_keyword(query: &str) -> Option<String> {
    let mut rest = query.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else if let Some(after) = rest.strip_prefix('(') {
            rest = after.trim_start();
        } else {
            break;
        }
    }
    let keyword: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    let reads = [
        "SELECT", "WITH", "VALUES", "SHOW", "EXPLAIN", "TABLE", "PRAGMA",
    ];
    (!keyword.is_empty() && !reads.contains(&keyword.as_str())).then_some(keyword)
}

#[cfg(feature = "mssql")]
fn mssql_source(url: &str) -> Result<Source, String> {
    mssql::Mssql::new(url).map(|m| Source::Mssql(Box::new(m)))
}

#[cfg(not(feature = "mssql"))]
fn mssql_source(_url: &str) -> Result<Source, String> {
    Err("this healthcheck was built without SQL Server support (cargo feature `mssql`)".into())
}

/// The time a driver may take: the check's remaining time less `MARGIN`.
pub fn budget(ctx: &ProbeContext) -> Duration {
    ctx.remaining()
        .saturating_sub(MARGIN)
        .max(Duration::from_millis(10))
}

impl Probe for SqlCheck {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        match self.source.fetch(&self.query, budget(ctx))? {
            Ok(table) => self.measure.evaluate(&table, ctx.now),
            Err(outcome) => Ok(outcome),
        }
    }

    fn validate(&self) -> Option<String> {
        match &self.source {
            Source::Sqlite(db) => db.would_write(&self.query),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use jiff::SignedDuration;

    fn now() -> Timestamp {
        "2026-11-22T05:00:00Z".parse().unwrap()
    }

    fn measure(expect: Expect, label_column: Option<usize>) -> Measure {
        Measure {
            expect,
            label_column,
            empty: Status::Critical,
            tz: TimeZone::UTC,
            offset: SignedDuration::ZERO,
        }
    }

    fn table(rows: Vec<Vec<Datum>>) -> Table {
        Table {
            count: rows.len(),
            rows,
        }
    }

    fn text(s: &str) -> Datum {
        Datum::Text(s.into())
    }

    #[track_caller]
    fn case(
        m: &Measure,
        rows: Vec<Vec<Datum>>,
        status: Status,
        message: &str,
        readings: &[(&str, f64)],
    ) {
        let o = m.evaluate(&table(rows), now()).unwrap();
        assert_eq!((o.status, o.message.as_str()), (status, message));
        let got: Vec<(&str, f64)> = o
            .readings
            .iter()
            .map(|r| (r.name.as_str(), r.value))
            .collect();
        assert_eq!(got, readings);
    }

    #[test]
    fn age_of_the_newest_row_in_every_timestamp_form() {
        let m = measure(Expect::Age, None);
        let ago = [("last update 18m ago", 1080.0)];
        for v in [
            text("2026-11-22 04:42:00"),
            text("2026-11-22T04:42:00Z"),
            text("2026-11-22 05:42:00+01"),
            Datum::Int(1_795_322_520),
            Datum::Int(1_795_322_520_000),
            Datum::Float(1_795_322_520.0),
            Datum::Civil("2026-11-22T04:42:00".parse().unwrap()),
            Datum::Instant("2026-11-22T04:42:00Z".parse().unwrap()),
            Datum::Seconds(1080.0),
        ] {
            case(
                &m,
                vec![vec![v]],
                Status::Ok,
                ago[0].0,
                &[("age", ago[0].1)],
            );
        }
    }

    #[test]
    fn naive_timestamps_follow_naive_timezone() {
        let mut m = measure(Expect::Age, None);
        m.tz = TimeZone::get("America/New_York").unwrap();
        case(
            &m,
            vec![vec![text("2026-11-21 23:42:00")]],
            Status::Ok,
            "last update 18m ago",
            &[("age", 1080.0)],
        );
        // Read as UTC, New York wall-clock time lies in the past; the other
        // way round it lies in the future, which hides staleness: warned.
        let m = measure(Expect::Age, None);
        let mut tokyo = measure(Expect::Age, None);
        tokyo.tz = TimeZone::get("Asia/Tokyo").unwrap();
        case(
            &m,
            vec![vec![text("2026-11-22 13:42:00")]],
            Status::Warning,
            "8h 42m in the future (is naive_timezone right?)",
            &[("age", 0.0)],
        );
        case(
            &tokyo,
            vec![vec![text("2026-11-22 13:42:00")]],
            Status::Ok,
            "last update 18m ago",
            &[("age", 1080.0)],
        );
    }

    #[test]
    fn no_row_or_null_is_no_data_with_the_empty_status() {
        let mut m = measure(Expect::Age, None);
        case(&m, vec![], Status::Critical, "no data (no rows)", &[]);
        case(
            &m,
            vec![vec![Datum::Null]],
            Status::Critical,
            "no data (NULL)",
            &[],
        );
        m.empty = Status::Warning;
        case(
            &m,
            vec![vec![Datum::Null]],
            Status::Warning,
            "no data (NULL)",
            &[],
        );
    }

    #[test]
    fn rows_counts_every_row_even_past_the_kept_ones() {
        let m = measure(Expect::Rows, None);
        let t = Table {
            rows: vec![vec![Datum::Int(1)]],
            count: 5000,
        };
        let o = m.evaluate(&t, now()).unwrap();
        assert_eq!(
            (o.status, o.message.as_str(), o.readings[0].value),
            (Status::Ok, "5000 rows", 5000.0)
        );
        case(
            &m,
            vec![],
            Status::Critical,
            "no data (no rows)",
            &[("rows", 0.0)],
        );
    }

    #[test]
    fn values_are_numbers_and_timestamps_are_not() {
        let m = measure(Expect::Value, None);
        case(
            &m,
            vec![vec![Datum::Int(42)]],
            Status::Ok,
            "value is 42",
            &[("value", 42.0)],
        );
        case(
            &m,
            vec![vec![text(" 17.5 ")]],
            Status::Ok,
            "value is 17.5",
            &[("value", 17.5)],
        );
        let e = m
            .evaluate(&table(vec![vec![text("abc")]]), now())
            .unwrap_err();
        assert_eq!(e.to_string(), "\"abc\" is not a number");
        let e = m
            .evaluate(&table(vec![vec![Datum::Instant(now())]]), now())
            .unwrap_err();
        assert!(e.to_string().contains("set expect = \"age\""));
    }

    #[test]
    fn label_column_makes_one_reading_per_row() {
        // Minutes left per API token: SELECT api_name, DATEDIFF(minute, GETDATE(), expires_at) FROM OPT.SCHWAB.API
        let m = measure(Expect::Value, Some(0));
        case(
            &m,
            vec![
                vec![text("MAIN_DATA"), Datum::Int(42)],
                vec![text("TRADER"), Datum::Null],
            ],
            Status::Critical,
            "MAIN_DATA: 42, TRADER: no data",
            &[("value[MAIN_DATA]", 42.0)],
        );
        let m = measure(Expect::Until, Some(1));
        case(
            &m,
            vec![
                vec![text("2026-11-22 05:42:00"), text("MAIN_DATA")],
                vec![text("2026-11-22 04:00:00"), text("TRADER")],
            ],
            Status::Critical,
            "MAIN_DATA: 42m left, TRADER: expired 1h ago",
            &[("until[MAIN_DATA]", 2520.0), ("until[TRADER]", -3600.0)],
        );
        let e = m
            .evaluate(&table(vec![vec![text("x")]]), now())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "label_column = 2 needs at least 2 columns; the query returns 1"
        );
    }

    #[track_caller]
    fn config_errors(check: &str) -> Vec<String> {
        let text = format!("[[check]]\nname = \"c\"\ntype = \"sql\"\n{check}");
        match crate::config::load_str("t.toml", &text) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .shown
                .iter()
                .map(|e| format!("{}: {}", e.key, e.message))
                .collect(),
        }
    }

    #[test]
    fn config_mistakes_are_named_at_their_key() {
        assert_eq!(
            config_errors("driver = \"oracle\"\nquery = \"SELECT 1\""),
            ["check[0].driver: must be \"sqlite\", \"postgres\" or \"mssql\", not \"oracle\""]
        );
        assert_eq!(
            config_errors(
                "driver = \"sqlite\"\ndatabase = \"/x.db\"\nquery = \"SELECT 1\"\nexpect = \"rows\"\nlabel_column = 1\nnaive_timezone = \"Mars/Olympus\""
            ),
            [
                "check[0].label_column: does not apply to expect = \"rows\"",
                "check[0].naive_timezone: unknown time zone \"Mars/Olympus\" (write an IANA name such as \"America/New_York\" or \"UTC\")",
            ]
        );
        let e = config_errors(
            "driver = \"postgres\"\nurl = \"postgres://u:pw@h/db?sslmode=sometimes\"\nquery = \"SELECT 1\"",
        );
        assert!(e[0].starts_with("check[0].url: sslmode must be"), "{e:?}");
        // Thresholds are in the unit of the reading `expect` names.
        assert!(config_errors("driver = \"sqlite\"\ndatabase = \"/x.db\"\nquery = \"SELECT 1\"\nexpect = \"age\"\ncrit_above = \"15m\"").is_empty());
        assert!(!config_errors("driver = \"sqlite\"\ndatabase = \"/x.db\"\nquery = \"SELECT 1\"\ncrit_above = \"15m\"").is_empty());
    }

    #[test]
    fn long_results_are_summarised() {
        let m = measure(Expect::Value, Some(0));
        let rows: Vec<Vec<Datum>> = (0..12)
            .map(|i| vec![Datum::Int(i), Datum::Int(i)])
            .collect();
        let o = m.evaluate(&table(rows), now()).unwrap();
        assert!(o.message.ends_with("9: 9 and 2 more"), "{}", o.message);
        assert_eq!(o.readings.len(), 12);
    }
}
