//! `memory`: is the machine running out of RAM or leaning on swap? A bot
//! that leaks memory gets killed by the OOM killer without a word in its own
//! log; this check says so before it happens. Linux reads /proc/meminfo
//! (~10 us); other systems ask sysinfo.

use super::{Keys, Kind, Metric, Record, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::{Outcome, Unit};
use crate::spec::probe::{Probe, ProbeContext};
use crate::vocab::Builder;

pub const KIND: Kind = Kind::new(
    "memory",
    Keys::of::<MemoryKeys>(),
    &[&USED_PERCENT, &SWAP_PERCENT],
);

pub const USED_PERCENT: Metric = Metric::new("used_percent", Unit::Percent);
pub const SWAP_PERCENT: Metric = Metric::new("swap_percent", Unit::Percent);

/// The keys of a `memory` check: none of its own.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryKeys {}

struct MemoryCheck;

impl TypeKeys for MemoryKeys {
    fn build(&self, _common: &RawCheck, _b: &mut Builder) -> Option<Box<dyn Probe>> {
        Some(Box::new(MemoryCheck))
    }
}

/// RAM and swap, in bytes.
#[derive(Debug, PartialEq)]
struct Usage {
    total: u64,
    available: u64,
    swap_total: u64,
    swap_free: u64,
}

impl Probe for MemoryCheck {
    fn probe(&self, _ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        Ok(outcome(&usage()?))
    }

    /// /proc/meminfo (sysinfo elsewhere) answers at once.
    fn cannot_hang(&self) -> bool {
        true
    }
}

fn outcome(u: &Usage) -> Outcome {
    let used = u.total.saturating_sub(u.available) as f64;
    let used_percent = percent(used, u.total as f64);
    let swap_used = u.swap_total.saturating_sub(u.swap_free) as f64;
    let swap_percent = percent(swap_used, u.swap_total as f64);
    let swap = if u.swap_total == 0 {
        "no swap".to_string()
    } else {
        format!(
            "swap {} of {}",
            Unit::Percent.show(swap_percent),
            Unit::Bytes.show(u.swap_total as f64)
        )
    };
    let message = format!(
        "used {} of {} ({} available), {swap}",
        Unit::Percent.show(used_percent),
        Unit::Bytes.show(u.total as f64),
        Unit::Bytes.show(u.available as f64),
    );
    Outcome::ok(message)
        .record(&USED_PERCENT, used_percent)
        .record(&SWAP_PERCENT, swap_percent)
}

/// `part` as a percent of `whole`; 0 when there is no whole (no swap).
fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        100.0 * part / whole
    } else {
        0.0
    }
}

#[cfg(target_os = "linux")]
fn usage() -> anyhow::Result<Usage> {
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo")?)
}

/// The four fields we need from /proc/meminfo text (values in kB).
#[cfg(target_os = "linux")]
fn parse_meminfo(text: &str) -> anyhow::Result<Usage> {
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
            .ok_or_else(|| anyhow::anyhow!("/proc/meminfo has no {name} line"))?;
        let kb = line.trim().trim_end_matches("kB").trim();
        let kb: u64 = kb
            .parse()
            .map_err(|_| anyhow::anyhow!("/proc/meminfo: bad {name} value \"{}\"", line.trim()))?;
        Ok(kb * 1024)
    };
    Ok(Usage {
        total: field("MemTotal")?,
        available: field("MemAvailable")?,
        swap_total: field("SwapTotal")?,
        swap_free: field("SwapFree")?,
    })
}

#[cfg(not(target_os = "linux"))]
fn usage() -> anyhow::Result<Usage> {
    use sysinfo::{MemoryRefreshKind, System};
    let mut sys = System::new()?;
    sys.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
    Ok(Usage {
        total: sys.total_memory(),
        available: sys.available_memory(),
        swap_total: sys.total_swap(),
        swap_free: sys.free_swap(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::model::Status;

    #[cfg(target_os = "linux")]
    #[test]
    fn meminfo_is_parsed() {
        let text = "MemTotal:       24682416 kB\nMemFree:        21459720 kB\nMemAvailable:   18511812 kB\n\
                    Buffers:           45908 kB\nSwapCached:            0 kB\nSwapTotal:       2097148 kB\n\
                    SwapFree:        1572861 kB\nZswap:                 0 kB\n";
        let u = parse_meminfo(text).unwrap();
        assert_eq!(
            u,
            Usage {
                total: 24682416 * 1024,
                available: 18511812 * 1024,
                swap_total: 2097148 * 1024,
                swap_free: 1572861 * 1024,
            }
        );
        let o = outcome(&u);
        assert_eq!(o.readings[0].name, "used_percent");
        assert!(
            (o.readings[0].value - 25.0).abs() < 0.01,
            "{:?}",
            o.readings
        );
        assert!(
            (o.readings[1].value - 25.0).abs() < 0.01,
            "{:?}",
            o.readings
        );
        assert_eq!(
            o.message,
            "used 25% of 23.5 GiB (17.7 GiB available), swap 25% of 2 GiB"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn meminfo_without_a_field_is_an_error() {
        let e = parse_meminfo("MemTotal: 100 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n").unwrap_err();
        assert!(e.to_string().contains("MemAvailable"), "{e}");
        let e = parse_meminfo(
            "MemTotal: lots kB\nMemAvailable: 1 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("MemTotal"), "{e}");
    }

    #[test]
    fn no_swap_is_zero_percent() {
        let o = outcome(&Usage {
            total: 1 << 30,
            available: 1 << 29,
            swap_total: 0,
            swap_free: 0,
        });
        assert_eq!(o.readings[1].value, 0.0);
        assert!(o.message.ends_with("no swap"), "{}", o.message);
    }

    #[test]
    fn probe_reads_this_machine() {
        let config =
            crate::config::load_str("t.toml", "[[check]]\nname = \"m\"\ntype = \"memory\"\n")
                .unwrap();
        let ctx = ProbeContext {
            now: jiff::Timestamp::now(),
            deadline: Instant::now() + Duration::from_secs(5),
            memory: None,
            processes: Default::default(),
        };
        let o = config.checks[0].probe.probe(&ctx).unwrap();
        assert_eq!(o.status, Status::Ok);
        let used = o.readings[0].value;
        assert!(used > 0.0 && used < 100.0, "{o:?}");
        assert!((0.0..=100.0).contains(&o.readings[1].value), "{o:?}");
        assert!(o.message.starts_with("used "), "{}", o.message);
    }
}
