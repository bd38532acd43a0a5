//! `disk`: is a filesystem filling up? A full disk stops databases, logs and
//! bots at once, so this check reports how full it is as `df` does, how many
//! inodes are used, and when it will be full at the rate it has been
//! growing: the used bytes of recent runs are remembered in state, so that
//! `warn_below = "24h"` on `full_in` warns a day ahead. statvfs on unix
//! (~0.5 us), GetDiskFreeSpaceExW on Windows.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;
use serde::{Deserialize, Serialize};

use super::{Keys, Kind, Metric, Record, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::{Outcome, Unit};
use crate::spec::probe::{Probe, ProbeContext};
use crate::vocab::{Builder, expand_tilde};

pub const KIND: Kind = Kind::new(
    "disk",
    Keys::of::<DiskKeys>(),
    &[&USED_PERCENT, &FREE, &INODES_PERCENT, &FULL_IN],
);

pub const USED_PERCENT: Metric = Metric::new("used_percent", Unit::Percent);
pub const FREE: Metric = Metric::new("free", Unit::Bytes);
pub const INODES_PERCENT: Metric = Metric::new("inodes_percent", Unit::Percent);
pub const FULL_IN: Metric = Metric::new("full_in", Unit::Seconds);

/// The keys of a `disk` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskKeys {
    path: Option<String>,
    min_span: Option<String>,
}

impl TypeKeys for DiskKeys {
    fn build(&self, _common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, b)
    }
}

/// Samples of used bytes kept for the growth rate: at most this many...
const KEEP: usize = 36;
/// ...none older than this...
const WINDOW_SECS: i64 = 24 * 3600;
/// ...at least this far apart, so that a timer running every minute still
/// gets a rate over an hour rather than over twelve minutes.
const SPACING_SECS: i64 = 5 * 60;
/// Default `min_span`: a rate over less time than this is noise (a
/// download, a rotated log): "full in 5h" from two samples 14 minutes
/// apart is not news.
const MIN_SPAN: Duration = Duration::from_secs(3600);

struct DiskCheck {
    path: PathBuf,
    /// The samples must span this many seconds before `full_in` is given.
    min_span: i64,
}

fn build(raw: &DiskKeys, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let min_span = match &raw.min_span {
        None => MIN_SPAN,
        Some(text) => b.duration("min_span", text)?,
    };
    let most = Duration::from_secs((WINDOW_SECS / 2) as u64);
    if min_span > most {
        b.error("min_span", "must be at most 12h (the samples cover a day)");
        return None;
    }
    Some(Box::new(DiskCheck {
        path: expand_tilde(raw.path.as_deref().unwrap_or("/")),
        min_span: min_span.as_secs() as i64,
    }))
}

/// One filesystem, in bytes and inodes.
struct Space {
    total: u64,
    /// Used by anyone (total - free).
    used: u64,
    /// Free for unprivileged users (excludes the root reserve).
    available: u64,
    /// Total and free inodes, where the filesystem has a fixed number.
    inodes: Option<(u64, u64)>,
}

/// A point of the growth history: epoch seconds and used bytes.
type Sample = (i64, u64);

/// What the check keeps between runs. `total` tells the same filesystem
/// from another one mounted (or resized) since.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct History {
    total: u64,
    samples: Vec<Sample>,
}

impl Probe for DiskCheck {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let space = match space(&self.path) {
            Ok(s) => s,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(Outcome::critical(format!(
                    "not found: {}",
                    self.path.display()
                )));
            }
            Err(e) => return Err(anyhow!("{}: {e}", self.path.display())),
        };
        let now = (ctx.now.as_second(), space.used);
        let previous = ctx
            .memory
            .clone()
            .and_then(|m| serde_json::from_value::<History>(m).ok())
            .filter(|h| h.total == space.total)
            .map(|h| recent(h.samples, now.0))
            .unwrap_or_default();
        let mut points = previous.clone();
        points.push(now);
        let full_in = full_in(&points, space.available, self.min_span);
        let history = History {
            total: space.total,
            samples: keep(previous, now),
        };
        Ok(outcome(&self.path, &space, full_in).remember(serde_json::to_value(history)?))
    }

    fn target(&self) -> Option<String> {
        Some(self.path.display().to_string())
    }
}

fn outcome(path: &Path, s: &Space, full_in: Option<f64>) -> Outcome {
    // As df: the root reserve counts neither as used nor as available.
    let used_percent = percent(s.used, s.used + s.available);
    let mut message = format!(
        "used {} of {}, {} free",
        Unit::Percent.show(used_percent),
        path.display(),
        Unit::Bytes.show(s.available as f64)
    );
    let mut o = Outcome::ok("")
        .record(&USED_PERCENT, used_percent)
        .record(&FREE, s.available as f64);
    if let Some((total, free)) = s.inodes.filter(|(total, _)| *total > 0) {
        let inodes = percent(total.saturating_sub(free), total);
        message.push_str(&format!(", inodes {}", Unit::Percent.show(inodes)));
        o = o.record(&INODES_PERCENT, inodes);
    }
    if let Some(secs) = full_in {
        message.push_str(&format!(
            ", full in {} at the recent growth rate",
            Unit::Seconds.show(secs)
        ));
        o = o.record(&FULL_IN, secs);
    }
    o.message = message;
    o
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Remembered samples that still count at `now`: within the window, none
/// from the future (a clock set back).
fn recent(samples: Vec<Sample>, now: i64) -> Vec<Sample> {
    samples
        .into_iter()
        .filter(|(t, _)| *t <= now && now - t <= WINDOW_SECS)
        .collect()
}

/// The samples to remember after this run: `now` joins when it is far
/// enough from the last one kept, and only the newest `KEEP` stay.
fn keep(mut samples: Vec<Sample>, now: Sample) -> Vec<Sample> {
    if samples
        .last()
        .is_none_or(|(t, _)| now.0 - t >= SPACING_SECS)
    {
        samples.push(now);
    }
    let extra = samples.len().saturating_sub(KEEP);
    samples.drain(..extra);
    samples
}

/// Seconds until `available` bytes are used up at the growth rate of
/// `points` (oldest first), fitted by least squares. `None` unless the
/// points span `min_span` seconds and the usage grows.
fn full_in(points: &[Sample], available: u64, min_span: i64) -> Option<f64> {
    let (first, last) = (points.first()?.0, points.last()?.0);
    if last - first < min_span {
        return None;
    }
    let n = points.len() as f64;
    let xs: Vec<f64> = points.iter().map(|(t, _)| (t - first) as f64).collect();
    let ys: Vec<f64> = points.iter().map(|(_, u)| *u as f64).collect();
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = ys.iter().sum::<f64>() / n;
    let cov: f64 = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let var: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    let bytes_per_sec = cov / var;
    (bytes_per_sec > 0.0).then(|| available as f64 / bytes_per_sec)
}

#[cfg(unix)]
fn space(path: &Path) -> std::io::Result<Space> {
    let s = crate::sys::fs::statvfs(path)?;
    // The field types differ between systems (u32 on some, u64 on others).
    #[allow(clippy::unnecessary_cast)]
    let (fragment, blocks, free, available, files, files_free) = (
        s.f_frsize as u64,
        s.f_blocks as u64,
        s.f_bfree as u64,
        s.f_bavail as u64,
        s.f_files as u64,
        s.f_ffree as u64,
    );
    let unit = if fragment > 0 {
        fragment
    } else {
        s.f_bsize as u64
    };
    Ok(Space {
        total: blocks * unit,
        used: blocks.saturating_sub(free) * unit,
        available: available * unit,
        inodes: Some((files, files_free)),
    })
}

#[cfg(windows)]
fn space(path: &Path) -> std::io::Result<Space> {
    let (available, total, free) = crate::sys::windows::disk_free_space(path)?;
    Ok(Space {
        total,
        used: total.saturating_sub(free),
        available,
        inodes: None,
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::model::Status;

    const H: i64 = 3600;
    const GIB: u64 = 1 << 30;

    fn probe_path(path: &str, memory: Option<serde_json::Value>) -> anyhow::Result<Outcome> {
        let toml = format!("[[check]]\nname = \"d\"\ntype = \"disk\"\npath = '{path}'\n");
        let config = crate::config::load_str("t.toml", &toml).unwrap();
        let ctx = ProbeContext {
            now: jiff::Timestamp::now(),
            deadline: Instant::now() + Duration::from_secs(5),
            memory,
            processes: Default::default(),
        };
        config.checks[0].probe.probe(&ctx)
    }

    const HOUR: i64 = 3600;

    fn value(o: &Outcome, name: &str) -> Option<f64> {
        o.readings.iter().find(|r| r.name == name).map(|r| r.value)
    }

    #[test]
    fn full_in_follows_the_growth_rate() {
        // 1 GiB per hour over 3 hours, 10 GiB left: 10 hours.
        let points: Vec<Sample> = (0..4)
            .map(|i| (1000 + i * H, 50 * GIB + i as u64 * GIB))
            .collect();
        let secs = full_in(&points, 10 * GIB, HOUR).unwrap();
        assert!((secs - 10.0 * H as f64).abs() < 1.0, "{secs}");
        // Noise around the line does not change the answer much.
        let noisy = [
            (0, 50 * GIB),
            (H, 51 * GIB + GIB / 4),
            (2 * H, 52 * GIB - GIB / 4),
            (3 * H, 53 * GIB),
        ];
        let secs = full_in(&noisy, 10 * GIB, HOUR).unwrap();
        assert!((secs / H as f64 - 10.0).abs() < 1.0, "{secs}");
    }

    #[test]
    fn full_in_absent_unless_growing_over_enough_time() {
        let flat = [(0, 5 * GIB), (H, 5 * GIB), (2 * H, 5 * GIB)];
        assert_eq!(full_in(&flat, GIB, HOUR), None);
        let shrinking = [(0, 5 * GIB), (H, 4 * GIB)];
        assert_eq!(full_in(&shrinking, GIB, HOUR), None);
        let too_short = [(0, GIB), (60, 2 * GIB)];
        assert_eq!(full_in(&too_short, GIB, HOUR), None);
        assert_eq!(full_in(&[(0, GIB)], GIB, HOUR), None);
        assert_eq!(full_in(&[], GIB, HOUR), None);
    }

    #[test]
    fn two_samples_14_minutes_apart_predicted_the_disk_full() {
        let points = [(0, 50 * GIB), (14 * 60, 51 * GIB)];
        assert_eq!(full_in(&points, 5 * GIB, HOUR), None);
        let hour_apart = [(0, 50 * GIB), (H, 51 * GIB)];
        assert!(full_in(&hour_apart, 5 * GIB, HOUR).is_some());
        // A timer every minute keeps enough samples to span the hour.
        let mut samples = Vec::new();
        for minute in 0..=61 {
            samples = keep(samples, (minute * 60, minute as u64 * GIB));
        }
        assert!(full_in(&samples, 5 * GIB, HOUR).is_some(), "{samples:?}");
    }

    #[test]
    fn samples_are_spaced_windowed_and_bounded() {
        let mut samples = Vec::new();
        // Runs every minute for four hours.
        for minute in 0..240 {
            samples = keep(samples, (minute * 60, minute as u64));
        }
        assert_eq!(samples.len(), KEEP);
        assert!(
            samples.windows(2).all(|w| w[1].0 - w[0].0 >= SPACING_SECS),
            "{samples:?}"
        );
        assert_eq!(samples.last().unwrap().0, 235 * 60);
        // A day later the old ones no longer count; nor do samples from the future.
        let later = recent(samples.clone(), 235 * 60 + WINDOW_SECS + 1);
        assert!(later.is_empty(), "{later:?}");
        let first = samples[0].0;
        assert_eq!(recent(samples, first), vec![(first, first as u64 / 60)]);
    }

    #[test]
    fn root_is_measured_like_df() {
        let o = probe_path("/", None).unwrap();
        assert_eq!(o.status, Status::Ok);
        let used = value(&o, "used_percent").unwrap();
        assert!(used > 0.0 && used <= 100.0, "{o:?}");
        assert!(value(&o, "free").unwrap() >= 0.0);
        assert!(
            o.message.starts_with("used ") && o.message.contains(" of /, "),
            "{}",
            o.message
        );
        assert_eq!(value(&o, "full_in"), None, "no history, no rate");
        let history: History = serde_json::from_value(o.memory.unwrap()).unwrap();
        assert_eq!(history.samples.len(), 1);
    }

    #[test]
    fn a_tempdir_reports_its_filesystem_and_grows_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        let first = probe_path(path, None).unwrap();
        assert!(
            value(&first, "inodes_percent").is_none_or(|p| (0.0..=100.0).contains(&p)),
            "{first:?}"
        );
        let mut history: History = serde_json::from_value(first.memory.unwrap()).unwrap();
        // Pretend this filesystem had 1 GiB less used two and one hours ago:
        // it grows 1 GiB per hour and must report a time until full.
        let (t, used) = history.samples[0];
        history.samples = vec![(t - 2 * H, used - 2 * GIB), (t - H, used - GIB)];
        let second = probe_path(path, Some(serde_json::to_value(&history).unwrap())).unwrap();
        let free = value(&second, "free").unwrap();
        let secs = value(&second, "full_in").expect("growing disk has full_in");
        let expected = free / GIB as f64 * H as f64;
        assert!(
            (secs - expected).abs() / expected < 0.05,
            "{secs} vs {expected}"
        );
        assert!(second.message.contains("full in "), "{}", second.message);
        // History from another filesystem (another size) is ignored.
        history.total += 1;
        let other = probe_path(path, Some(serde_json::to_value(&history).unwrap())).unwrap();
        assert_eq!(value(&other, "full_in"), None);
    }

    #[test]
    fn missing_path_is_critical() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("not-here");
        let o = probe_path(gone.to_str().unwrap(), None).unwrap();
        assert_eq!(o.status, Status::Critical);
        assert!(o.message.starts_with("not found: "), "{}", o.message);
    }

    #[cfg(unix)]
    #[test]
    fn other_errors_are_errors() {
        // Any failure but "not found" means the check could not look (UNKNOWN).
        // A path through a regular file fails with ENOTDIR, even for root.
        let file = tempfile::NamedTempFile::new().unwrap();
        let through = file.path().join("x");
        let e = probe_path(through.to_str().unwrap(), None).unwrap_err();
        assert!(e.to_string().starts_with(through.to_str().unwrap()), "{e}");
        assert!(e.to_string().contains("ot a directory"), "{e}");
    }
}
