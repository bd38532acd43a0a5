//! `json`: one field of a JSON document, from a file or an HTTP URL, read
//! as a number or a timestamp: an OAuth token file (`expires_at`, and
//! `refresh_token_created_at` + 7 days for the refresh token), a bot's
//! `bot_data.json` dashboard metrics. The field is chosen with an
//! RFC 6901 pointer; reading it is the `sql` check's `Measure`, so both
//! types understand timestamps and "no data" alike.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{anyhow, bail};
use serde_json::Value;

use super::log::open_regular;
use super::sql::{self, Datum, Expect, Measure, Table};
use super::{Keys, Kind, Primary, Probe, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::Outcome;
use crate::spec::probe::ProbeContext;
use crate::vocab::{Builder, expand_tilde};

pub const KIND: Kind = Kind {
    primary: Primary::NamedBy("expect"),
    from_file: &["url"],
    ..Kind::new(
        "json",
        Keys::of::<JsonKeys>(),
        &[
            &sql::measure::VALUE,
            &sql::measure::AGE,
            &sql::measure::UNTIL,
        ],
    )
};

/// The keys of a `json` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonKeys {
    path: Option<String>,
    url: Option<String>,
    pointer: Option<String>,
    expect: Option<String>,
    offset: Option<String>,
    empty: Option<String>,
    naive_timezone: Option<String>,
}

impl TypeKeys for JsonKeys {
    fn build(&self, common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, common, b)
    }
}

/// The largest document read: dashboards and token files are small; a
/// runaway file or endpoint must not be loaded whole.
const MAX_BYTES: u64 = 16 * 1024 * 1024;

enum Source {
    File(PathBuf),
    Url(String),
}

struct JsonCheck {
    source: Source,
    pointer: String,
    measure: Measure,
}

fn build(raw: &JsonKeys, common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let keys = sql::MeasureKeys {
        expect: raw.expect.as_deref(),
        empty: raw.empty.as_deref(),
        naive_timezone: raw.naive_timezone.as_deref(),
        offset: raw.offset.as_deref(),
        ..Default::default()
    };
    let measure = sql::measure(
        keys,
        common.reading.as_deref(),
        b,
        &[Expect::Value, Expect::Age, Expect::Until],
    );
    let source = match (&raw.path, &raw.url) {
        (Some(p), None) => Some(Source::File(expand_tilde(p))),
        (None, Some(u)) if u.starts_with("http://") || u.starts_with("https://") => {
            Some(Source::Url(u.clone()))
        }
        (None, Some(_)) => {
            b.error("url", "must start with http:// or https://");
            None
        }
        (Some(_), Some(_)) => {
            b.error("url", "give either `path` or `url`, not both");
            None
        }
        (None, None) => {
            b.error("path", "missing key `path` (a file) or `url` (HTTP GET)");
            None
        }
    };
    let pointer = raw.pointer.clone().unwrap_or_default();
    if !pointer.is_empty() && !pointer.starts_with('/') {
        b.error(
            "pointer",
            format!("a JSON pointer starts with `/`, as in \"/{pointer}\" (RFC 6901)"),
        );
    }
    Some(Box::new(JsonCheck {
        source: source?,
        pointer,
        measure: measure?,
    }))
}

impl JsonCheck {
    /// The document's text, or (inner `Err`) the outcome of a source that
    /// is not there: a missing file, a refused connection, an HTTP error.
    fn text(&self, ctx: &ProbeContext) -> anyhow::Result<Result<String, Outcome>> {
        let mut text = String::new();
        match &self.source {
            Source::File(path) => {
                let file = match open_regular(path)? {
                    Ok(f) => f,
                    Err(outcome) => return Ok(Err(outcome)),
                };
                file.take(MAX_BYTES + 1)
                    .read_to_string(&mut text)
                    .map_err(|e| anyhow!("{}: {e}", path.display()))?;
                if text.len() as u64 > MAX_BYTES {
                    bail!("{} is larger than 16 MiB", path.display());
                }
            }
            Source::Url(url) => {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(sql::budget(ctx)))
                    .http_status_as_error(false)
                    .build()
                    .into();
                let mut response = match agent.get(url).call() {
                    Ok(r) => r,
                    Err(ureq::Error::Timeout(_)) => return Ok(Err(Outcome::no_answer(url))),
                    Err(e) => return Ok(Err(Outcome::critical(format!("cannot fetch: {e}")))),
                };
                let status = response.status();
                if !status.is_success() {
                    return Ok(Err(Outcome::critical(format!("HTTP {status}"))));
                }
                text = response
                    .body_mut()
                    .with_config()
                    .limit(MAX_BYTES)
                    .read_to_string()?;
            }
        }
        Ok(Ok(text))
    }
}

impl Probe for JsonCheck {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let text = match self.text(ctx)? {
            Ok(t) => t,
            Err(outcome) => return Ok(outcome),
        };
        let doc: Value = serde_json::from_str(&text).map_err(|e| anyhow!("not valid JSON: {e}"))?;
        let at = if self.pointer.is_empty() {
            "the document"
        } else {
            &self.pointer
        };
        let Some(value) = doc.pointer(&self.pointer) else {
            return Ok(Outcome::new(
                self.measure.empty,
                format!("no data: nothing at {at}"),
            ));
        };
        let datum = match value {
            Value::Null => Datum::Null,
            Value::Bool(b) => Datum::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Datum::Int(i),
                None => Datum::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Datum::Text(s.clone()),
            Value::Array(_) => bail!("{at} is an array, not a number or a timestamp"),
            Value::Object(_) => bail!("{at} is an object, not a number or a timestamp"),
        };
        let table = Table {
            rows: vec![vec![datum]],
            count: 1,
        };
        self.measure.evaluate(&table, ctx.now)
    }

    fn target(&self) -> Option<String> {
        Some(match &self.source {
            Source::File(path) => path.display().to_string(),
            Source::Url(url) => format!("GET {url}"),
        })
    }
}
