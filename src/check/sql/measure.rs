//! What a query's rows are taken to mean (`expect`): the age of the newest
//! timestamp, a value, a row count, the time until a timestamp, once or
//! per labelled row; and how that is judged and told.

use anyhow::{anyhow, bail};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::{Datum, FUTURE_SLACK, MAX_SHOWN, Table};
use crate::check::{Metric, Record};
use crate::model::{Outcome, Reading, Status, Unit};
use crate::vocab::Builder;

/// What the answer is read as, and the name of the reading it gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A timestamp: time since it.
    Age,
    /// A number.
    Value,
    /// How many rows came back.
    Rows,
    /// A timestamp: time left until it.
    Until,
}

pub const AGE: Metric = Metric::new("age", Unit::Seconds);
pub const VALUE: Metric = Metric::new("value", Unit::Number);
pub const ROWS: Metric = Metric::new("rows", Unit::Count);
pub const UNTIL: Metric = Metric::new("until", Unit::Seconds);

impl Expect {
    /// The reading it gives, named as `expect` names it.
    pub fn metric(self) -> &'static Metric {
        match self {
            Expect::Age => &AGE,
            Expect::Value => &VALUE,
            Expect::Rows => &ROWS,
            Expect::Until => &UNTIL,
        }
    }

    pub fn name(self) -> &'static str {
        self.metric().name
    }

    fn unit(self) -> Unit {
        self.metric().unit
    }
}

/// The keys `measure` reads, from the type's own (each where the type has it).
#[derive(Default)]
pub struct MeasureKeys<'a> {
    pub expect: Option<&'a str>,
    pub label_column: Option<u32>,
    pub empty: Option<&'a str>,
    pub naive_timezone: Option<&'a str>,
    pub offset: Option<&'a str>,
}

/// How to read a result into readings; shared by `sql` and `json`.
pub struct Measure {
    pub expect: Expect,
    /// 0-based column whose values name one reading per row.
    pub label_column: Option<usize>,
    /// The status of "no data": no row, or NULL.
    pub empty: Status,
    /// The zone of timestamps written without one.
    pub tz: TimeZone,
    /// Added to timestamps (`json`'s `offset = "7d"`).
    pub offset: SignedDuration,
}

/// Read `expect`, `label_column`, `empty`, `naive_timezone` and `offset`
/// (each where the check type has it), allowing the `expect` values given.
/// `reading` is the check's common key of that name.
pub fn measure(
    raw: MeasureKeys,
    reading: Option<&str>,
    b: &mut Builder,
    allowed: &[Expect],
) -> Option<Measure> {
    let expect = match raw.expect {
        None => Some(Expect::Value),
        Some(text) => {
            let found = allowed.iter().copied().find(|e| e.name() == text);
            if found.is_none() {
                let names: Vec<String> = allowed
                    .iter()
                    .map(|e| format!("\"{}\"", e.name()))
                    .collect();
                b.error(
                    "expect",
                    format!("must be one of {}, not \"{text}\"", names.join(", ")),
                );
            }
            found
        }
    };
    if let (Some(r), Some(e)) = (reading, expect)
        && r != e.name()
    {
        b.error(
            "reading",
            format!(
                "with expect = \"{}\" the only reading is `{}`",
                e.name(),
                e.name()
            ),
        );
    }
    let label_column = match raw.label_column {
        None => None,
        Some(0) => {
            b.error("label_column", "columns are counted from 1");
            None
        }
        Some(n) => {
            if expect == Some(Expect::Rows) {
                b.error("label_column", "does not apply to expect = \"rows\"");
            }
            usize::try_from(n - 1).ok()
        }
    };
    let empty = match raw.empty {
        None | Some("critical") => Status::Critical,
        Some("warning") => Status::Warning,
        Some("ok") => Status::Ok,
        Some(other) => {
            b.error(
                "empty",
                format!("must be \"critical\", \"warning\" or \"ok\", not \"{other}\""),
            );
            Status::Critical
        }
    };
    let tz = match raw.naive_timezone {
        None => Some(TimeZone::UTC),
        Some(name) => TimeZone::get(name)
            .map_err(|_| {
                b.error(
                    "naive_timezone",
                    format!("unknown time zone \"{name}\" (write an IANA name such as \"America/New_York\" or \"UTC\")"),
                );
            })
            .ok(),
    };
    let offset = match raw.offset {
        None => Some(SignedDuration::ZERO),
        Some(text) => {
            if matches!(expect, Some(Expect::Value | Expect::Rows)) {
                b.error(
                    "offset",
                    "applies to timestamps only (expect = \"age\" or \"until\")",
                );
            }
            b.duration("offset", text)
                .and_then(|d| SignedDuration::try_from(d).ok())
        }
    };
    Some(Measure {
        expect: expect?,
        label_column,
        empty,
        tz: tz?,
        offset: offset?,
    })
}

/// One row's reading and what it says, before the check's thresholds.
struct Row {
    status: Status,
    text: String,
    reading: Option<Reading>,
}

impl Measure {
    /// Readings and a message from a result. `Err`: the value cannot be
    /// read as asked (a word where a number belongs), so the check is UNKNOWN.
    pub fn evaluate(&self, table: &Table, now: Timestamp) -> anyhow::Result<Outcome> {
        if self.expect == Expect::Rows {
            let n = table.count;
            let outcome = if n == 0 {
                Outcome::new(self.empty, "no data (no rows)")
            } else {
                Outcome::ok(if n == 1 {
                    "1 row".into()
                } else {
                    format!("{n} rows")
                })
            };
            return Ok(outcome.record(&ROWS, n as f64));
        }
        if table.rows.is_empty() {
            return Ok(Outcome::new(self.empty, "no data (no rows)"));
        }
        let Some(label_column) = self.label_column else {
            let first = table.rows[0]
                .first()
                .ok_or_else(|| anyhow!("the query returned no columns"))?;
            let row = self.row(first, None, now)?;
            let mut outcome = Outcome::new(row.status, row.text);
            outcome.readings.extend(row.reading);
            return Ok(outcome);
        };
        let mut status = Status::Ok;
        let mut texts = Vec::new();
        let mut readings = Vec::new();
        for cells in &table.rows {
            let value_column = usize::from(label_column == 0);
            let (Some(label), Some(value)) = (cells.get(label_column), cells.get(value_column))
            else {
                bail!(
                    "label_column = {} needs at least {} columns; the query returns {}",
                    label_column + 1,
                    label_column.max(value_column) + 1,
                    cells.len()
                );
            };
            let row = self.row(value, Some(&label.label()), now)?;
            status = status.max(row.status);
            texts.push(row.text);
            readings.extend(row.reading);
        }
        let mut message = texts
            .iter()
            .take(MAX_SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if texts.len() > MAX_SHOWN {
            message.push_str(&format!(" and {} more", texts.len() - MAX_SHOWN));
        }
        if table.count > table.rows.len() {
            message.push_str(&format!(
                " (first {} of {} rows)",
                table.rows.len(),
                table.count
            ));
        }
        let mut outcome = Outcome::new(status, message);
        outcome.readings = readings;
        Ok(outcome)
    }

    fn row(&self, value: &Datum, label: Option<&str>, now: Timestamp) -> anyhow::Result<Row> {
        let name = self.expect.name();
        let unit = self.expect.unit();
        let said = |text: String| match label {
            Some(l) => format!("{l}: {text}"),
            None => text,
        };
        if *value == Datum::Null {
            let text = if label.is_some() {
                "no data".to_string()
            } else {
                "no data (NULL)".to_string()
            };
            return Ok(Row {
                status: self.empty,
                text: said(text),
                reading: None,
            });
        }
        let reading = |v: f64| match label {
            Some(l) => Reading::labelled(name, l, v, unit),
            None => Reading::new(name, v, unit),
        };
        let context = |e: anyhow::Error| match label {
            Some(l) => anyhow!("{l}: {e}"),
            None => e,
        };
        let (status, text, v) = match self.expect {
            Expect::Value => {
                let v = value.number().map_err(context)?;
                let text = match label {
                    Some(_) => unit.show(v),
                    None => format!("value is {}", unit.show(v)),
                };
                (Status::Ok, text, v)
            }
            Expect::Age => {
                let age = self.seconds(value, now).map_err(context)?;
                if age < -FUTURE_SLACK {
                    let text = format!(
                        "{} in the future (is naive_timezone right?)",
                        unit.show(-age)
                    );
                    (Status::Warning, text, 0.0)
                } else {
                    let age = age.max(0.0);
                    let text = match label {
                        Some(_) => format!("{} ago", unit.show(age)),
                        None => format!("last update {} ago", unit.show(age)),
                    };
                    (Status::Ok, text, age)
                }
            }
            Expect::Until => {
                let left = self.seconds(value, now).map_err(context)?;
                if left < 0.0 {
                    (
                        Status::Critical,
                        format!("expired {} ago", unit.show(-left)),
                        left,
                    )
                } else {
                    (Status::Ok, format!("{} left", unit.show(left)), left)
                }
            }
            Expect::Rows => unreachable!("rows are counted, not read"),
        };
        Ok(Row {
            status,
            text: said(text),
            reading: Some(reading(v)),
        })
    }

    /// Age (since) or time left (until) of a timestamp value, in seconds.
    /// An interval is taken as that time itself.
    fn seconds(&self, value: &Datum, now: Timestamp) -> anyhow::Result<f64> {
        if let Datum::Seconds(s) = value {
            return Ok(*s);
        }
        let at = value
            .instant(&self.tz)?
            .checked_add(self.offset)
            .map_err(|_| anyhow!("the timestamp plus the offset is out of range"))?;
        let since = now.duration_since(at).as_secs_f64();
        Ok(if self.expect == Expect::Until {
            -since
        } else {
            since
        })
    }
}
