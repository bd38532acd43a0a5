//! `file`: does a file exist, how old is it, how big. The cheapest way to
//! tell a frozen bot from a working one (its log fresher than 5 minutes).
//! `journal = "unit"` instead of `path`: the age of the unit's newest
//! journal entry, for a unit that logs to journald ("no log activity for
//! 15 minutes").

use std::io::ErrorKind;
use std::path::PathBuf;

use anyhow::anyhow;

use super::journal::{From, Journal};
use super::{Keys, Kind, Metric, Record, TypeKeys};
use crate::check::common::RawCheck;
use crate::files::not_regular_file;
use crate::model::Status;
use crate::model::{Outcome, Unit};
use crate::spec::probe::{Probe, ProbeContext};
use crate::vocab::values::OneOrMany;
use crate::vocab::{Builder, expand_tilde};

pub const KIND: Kind = Kind {
    keys_only_on: &[("journal", super::journal::ONLY_ON)],
    ..Kind::new("file", Keys::of::<FileKeys>(), &[&AGE, &SIZE])
};

pub const AGE: Metric = Metric::new("age", Unit::Seconds);
pub const SIZE: Metric = Metric::new("size", Unit::Bytes);

/// The keys of a `file` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKeys {
    path: Option<String>,
    journal: Option<OneOrMany>,
    missing: Option<String>,
}

impl TypeKeys for FileKeys {
    fn build(&self, _common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, b)
    }
}

struct FileCheck {
    path: PathBuf,
    missing: Status,
}

/// `journal = "unit"`: the age of its newest entry.
struct JournalAge {
    journal: Journal,
    missing: Status,
}

fn build(raw: &FileKeys, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let journal = super::journal::build(raw.journal.as_ref(), None, b);
    if raw.journal.is_some() && raw.path.is_some() {
        b.error(
            "journal",
            "give exactly one of `path` (a file) or `journal` (systemd units)",
        );
        return None;
    }
    let missing = missing(raw, b)?;
    if raw.journal.is_some() {
        return Some(Box::new(JournalAge {
            journal: journal?,
            missing,
        }));
    }
    let path = expand_tilde(b.required("path", &raw.path)?);
    Some(Box::new(FileCheck { path, missing }))
}

/// `missing`: the status of a missing file (a unit without entries).
fn missing(raw: &FileKeys, b: &mut Builder) -> Option<Status> {
    let missing = match raw.missing.as_deref() {
        None | Some("critical") => Status::Critical,
        Some("warning") => Status::Warning,
        Some("ok") => Status::Ok,
        Some(other) => {
            b.error(
                "missing",
                format!("must be \"critical\", \"warning\" or \"ok\", not \"{other}\""),
            );
            return None;
        }
    };
    Some(missing)
}

impl Probe for JournalAge {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let mut newest = None;
        self.journal
            .read(From::Tail(1), 1, ctx.deadline, |e| newest = Some(e.at))?;
        let Some(at) = newest else {
            return Ok(Outcome::new(
                self.missing,
                format!("no journal entries for {}", self.journal.describe()),
            ));
        };
        let age = (ctx.now.as_duration() - at.as_duration())
            .as_secs_f64()
            .max(0.0);
        let message = format!(
            "newest journal entry of {} {} ago",
            self.journal.describe(),
            Unit::Seconds.show(age)
        );
        Ok(Outcome::ok(message).record(&AGE, age))
    }
}

impl Probe for FileCheck {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(Outcome::new(
                    self.missing,
                    format!("file not found: {}", self.path.display()),
                ));
            }
            Err(e) => return Err(anyhow!("{}: {e}", self.path.display())),
        };
        if let Some(why) = not_regular_file(&meta) {
            return Ok(Outcome::unknown(format!(
                "{} is {why}, not a regular file",
                self.path.display()
            )));
        }
        let modified = jiff::Timestamp::try_from(meta.modified()?)?;
        let age = (ctx.now.as_duration() - modified.as_duration())
            .as_secs_f64()
            .max(0.0);
        let size = meta.len() as f64;
        let message = format!(
            "modified {} ago, {}",
            Unit::Seconds.show(age),
            Unit::Bytes.show(size)
        );
        Ok(Outcome::ok(message).record(&AGE, age).record(&SIZE, size))
    }

    fn target(&self) -> Option<String> {
        Some(self.path.display().to_string())
    }
}
