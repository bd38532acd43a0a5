//! `file`: does a file exist, how old is it, how big. The cheapest way to
//! tell a frozen bot from a working one (seed 004: log fresh < 5 min).

use std::io::ErrorKind;
use std::path::PathBuf;

use anyhow::anyhow;

use super::{Kind, Probe, ProbeContext};
use crate::config::{Builder, RawCheck, expand_tilde};
use crate::files::not_regular_file;
use crate::model::Status;
use crate::model::{Outcome, Unit};

pub const KIND: Kind = Kind {
    name: "file",
    keys: &["path", "missing"],
    readings: &[("age", Unit::Seconds), ("size", Unit::Bytes)],
    primary: super::by_order,
    build,
};

struct FileCheck {
    path: PathBuf,
    missing: Status,
}

fn build(raw: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let path = expand_tilde(b.required("path", &raw.path)?);
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
    Some(Box::new(FileCheck { path, missing }))
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
        Ok(Outcome::ok(message)
            .reading("age", age, Unit::Seconds)
            .reading("size", size, Unit::Bytes))
    }
}
