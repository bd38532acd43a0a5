//! `cpu`: is the machine busy enough to starve the bots? Reports how busy
//! all CPUs were since the previous run and the load averages per core.
//!
//! A busy percent needs two samples of the kernel's time counters. Sleeping
//! between them would cost every run 200 ms, so on Linux the counters of
//! /proc/stat are remembered in state and the percent covers the time since
//! the previous run. A run within a clock tick of the previous one (the
//! counters have not moved) repeats the previous reading and keeps its
//! counters. Only when nothing usable is remembered (first run, reboot)
//! does the probe take two samples 200 ms apart; it runs in parallel with
//! the other checks, so that costs the run little. Other systems have no
//! counters to remember through sysinfo and always sample.

use std::time::Duration;

use super::{Keys, Kind, Metric, Platform, Record, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::{Outcome, Unit};
use crate::spec::probe::{Probe, ProbeContext};
use crate::vocab::Builder;

pub const KIND: Kind = Kind::new(
    "cpu",
    Keys::of::<CpuKeys>(),
    &[&PERCENT, &LOAD1, &LOAD5, &LOAD15],
);

pub const PERCENT: Metric = Metric::new("percent", Unit::Percent);
pub const LOAD1: Metric = Metric::new("load1", Unit::Number).only_on(Platform::Unix, NO_LOAD);
pub const LOAD5: Metric = Metric::new("load5", Unit::Number).only_on(Platform::Unix, NO_LOAD);
pub const LOAD15: Metric = Metric::new("load15", Unit::Number).only_on(Platform::Unix, NO_LOAD);
const NO_LOAD: &str = "there is no load average";

/// The keys of a `cpu` check: none of its own.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CpuKeys {}

/// How long apart the two samples of a first run are.
const SAMPLE: Duration = Duration::from_millis(200);

struct CpuCheck;

impl TypeKeys for CpuKeys {
    fn build(&self, _common: &RawCheck, _b: &mut Builder) -> Option<Box<dyn Probe>> {
        Some(Box::new(CpuCheck))
    }
}

/// What one look found.
struct Usage {
    /// Busy percent of all CPUs and the time it covers.
    busy: f64,
    over: Duration,
    cpus: usize,
    /// Load averages (1, 5, 15 minutes), not yet divided by `cpus`.
    load: Option<[f64; 3]>,
    /// Counters to remember for the next run.
    memory: Option<serde_json::Value>,
}

impl Probe for CpuCheck {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        Ok(outcome(usage(ctx)?))
    }

    /// /proc/stat and /proc/loadavg (GetSystemTimes on Windows) answer at
    /// once; a first run's second sample waits at most the check's time.
    fn cannot_hang(&self) -> bool {
        true
    }
}

fn outcome(u: Usage) -> Outcome {
    let mut message = format!(
        "busy {} over the last {} ({} CPUs)",
        Unit::Percent.show(u.busy),
        Unit::Seconds.show(u.over.as_secs_f64()),
        u.cpus
    );
    let mut outcome = Outcome::ok("").record(&PERCENT, u.busy);
    if let Some(load) = u.load {
        let per_core = load.map(|l| l / u.cpus.max(1) as f64);
        let shown: Vec<String> = per_core.iter().map(|l| format!("{l:.2}")).collect();
        message.push_str(&format!(", load per core {} (1m 5m 15m)", shown.join(" ")));
        for (metric, value) in [&LOAD1, &LOAD5, &LOAD15].into_iter().zip(per_core) {
            outcome = outcome.record(metric, value);
        }
    }
    outcome.message = message;
    if let Some(memory) = u.memory {
        outcome = outcome.remember(memory);
    }
    outcome
}

/// The time counters of all CPUs together, in clock ticks, and when the
/// machine booted (to tell a reboot from a quiet machine).
#[cfg(target_os = "linux")]
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Counters {
    busy: u64,
    total: u64,
    /// `btime` of /proc/stat, epoch seconds.
    boot: i64,
    /// Epoch milliseconds of the sample.
    at: i64,
}

/// What a run remembers for the next: its counters and the reading they
/// ended, which a run within the same clock tick repeats.
#[cfg(target_os = "linux")]
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Remembered {
    #[serde(flatten)]
    counters: Counters,
    /// Absent in the memory of versions before it.
    #[serde(default)]
    reading: Option<Reading>,
}

/// A busy percent and the milliseconds it covers.
#[cfg(target_os = "linux")]
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Reading {
    busy: f64,
    over_ms: u64,
}

/// The reading of this run's sample `now` and what to remember for the
/// next, from what the previous run remembered: the percent since then, or
/// the previous reading (and memory) when no clock tick has passed since.
/// `None` when nothing usable is remembered (first run, another boot).
#[cfg(target_os = "linux")]
fn since(previous: Option<Remembered>, now: Counters) -> Option<(Reading, Remembered)> {
    let previous = previous?;
    let before = previous.counters;
    if let Some(busy) = busy_percent(&before, &now) {
        let reading = Reading {
            busy,
            over_ms: u64::try_from(now.at - before.at).unwrap_or(0),
        };
        let remembered = Remembered {
            counters: now,
            reading: Some(reading),
        };
        return Some((reading, remembered));
    }
    let unmoved = (now.boot - before.boot).abs() <= BOOT_JITTER_SECS
        && now.total == before.total
        && now.busy == before.busy;
    previous
        .reading
        .filter(|_| unmoved)
        .map(|reading| (reading, previous))
}

/// `btime` moves by a second or so as the clock is adjusted; a reboot moves
/// it by much more.
#[cfg(target_os = "linux")]
const BOOT_JITTER_SECS: i64 = 30;

/// Busy percent between two samples, or `None` when the earlier one cannot
/// be used: another boot, counters gone backwards, or no time in between.
#[cfg(target_os = "linux")]
fn busy_percent(before: &Counters, after: &Counters) -> Option<f64> {
    if (after.boot - before.boot).abs() > BOOT_JITTER_SECS
        || after.total <= before.total
        || after.busy < before.busy
    {
        return None;
    }
    let busy = (after.busy - before.busy) as f64;
    let total = (after.total - before.total) as f64;
    Some((100.0 * busy / total).clamp(0.0, 100.0))
}

/// Counters and the number of CPUs from /proc/stat text. The first line
/// sums all CPUs: user nice system idle iowait irq softirq steal (guest
/// time is already inside user and nice). Idle and iowait are not busy.
#[cfg(target_os = "linux")]
fn parse_stat(text: &str, at: i64) -> anyhow::Result<(Counters, usize)> {
    let bad = || anyhow::anyhow!("/proc/stat has no usable cpu line");
    let first = text
        .lines()
        .find(|l| l.starts_with("cpu "))
        .ok_or_else(bad)?;
    let fields: Vec<u64> = first
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    if fields.len() < 5 {
        return Err(bad());
    }
    let total: u64 = fields.iter().sum();
    let busy = total - fields[3] - fields[4];
    let boot = text
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|b| b.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("/proc/stat has no btime line"))?;
    let cpus = text
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    Ok((
        Counters {
            busy,
            total,
            boot,
            at,
        },
        cpus.max(1),
    ))
}

#[cfg(target_os = "linux")]
fn sample() -> anyhow::Result<(Counters, usize)> {
    let text = std::fs::read_to_string("/proc/stat")?;
    parse_stat(&text, jiff::Timestamp::now().as_millisecond())
}

/// /proc/loadavg: "0.60 0.36 0.21 1/82 14370".
#[cfg(target_os = "linux")]
fn parse_loadavg(text: &str) -> anyhow::Result<[f64; 3]> {
    let v: Vec<f64> = text
        .split_whitespace()
        .take(3)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    match v[..] {
        [one, five, fifteen] => Ok([one, five, fifteen]),
        _ => Err(anyhow::anyhow!(
            "/proc/loadavg is not three numbers: \"{}\"",
            text.trim()
        )),
    }
}

#[cfg(target_os = "linux")]
fn usage(ctx: &ProbeContext) -> anyhow::Result<Usage> {
    let (now, cpus) = sample()?;
    let previous: Option<Remembered> = ctx
        .memory
        .clone()
        .and_then(|m| serde_json::from_value(m).ok());
    let (reading, remembered) = match since(previous, now) {
        Some(found) => found,
        None => {
            std::thread::sleep(SAMPLE.min(ctx.remaining()));
            let (again, _) = sample()?;
            let first = Remembered {
                counters: now,
                reading: None,
            };
            since(Some(first), again).ok_or_else(|| {
                anyhow::anyhow!("no CPU time passed between two samples of /proc/stat")
            })?
        }
    };
    let load = parse_loadavg(&std::fs::read_to_string("/proc/loadavg")?)?;
    Ok(Usage {
        busy: reading.busy,
        over: Duration::from_millis(reading.over_ms),
        cpus,
        load: Some(load),
        memory: Some(serde_json::to_value(remembered)?),
    })
}

/// Windows: two samples of `GetSystemTimes` (sysinfo's CPU usage goes
/// through PDH counters, which Wine lacks: it aborts the process). Windows
/// has no load average.
#[cfg(windows)]
fn usage(ctx: &ProbeContext) -> anyhow::Result<Usage> {
    let sample = || -> anyhow::Result<(u64, u64)> {
        let (idle, kernel, user) = crate::sys::windows::system_times()
            .map_err(|e| anyhow::anyhow!("GetSystemTimes: {e}"))?;
        // Kernel time includes idle time.
        Ok((idle, kernel.saturating_add(user)))
    };
    let (idle0, total0) = sample()?;
    let wait = SAMPLE.min(ctx.remaining());
    std::thread::sleep(wait);
    let (idle1, total1) = sample()?;
    let total = total1.saturating_sub(total0);
    let idle = idle1.saturating_sub(idle0).min(total);
    let busy = if total == 0 {
        0.0
    } else {
        100.0 * (total - idle) as f64 / total as f64
    };
    Ok(Usage {
        busy,
        over: wait,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load: None,
        memory: None,
    })
}

#[cfg(not(any(target_os = "linux", windows)))]
fn usage(ctx: &ProbeContext) -> anyhow::Result<Usage> {
    use sysinfo::System;
    let mut sys = System::new()?;
    sys.refresh_cpu_usage();
    let wait = SAMPLE
        .max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL)
        .min(ctx.remaining());
    std::thread::sleep(wait);
    sys.refresh_cpu_usage();
    let load = System::load_average()
        .ok()
        .map(|l| [l.one, l.five, l.fifteen]);
    Ok(Usage {
        busy: f64::from(sys.global_cpu_usage()),
        over: wait,
        cpus: sys.cpus().len(),
        load,
        memory: None,
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::model::Status;

    fn ctx(memory: Option<serde_json::Value>) -> ProbeContext {
        ProbeContext {
            now: jiff::Timestamp::now(),
            deadline: Instant::now() + Duration::from_secs(5),
            memory,
            processes: Default::default(),
        }
    }

    fn probe() -> std::sync::Arc<dyn Probe> {
        let config =
            crate::config::load_str("t.toml", "[[check]]\nname = \"c\"\ntype = \"cpu\"\n").unwrap();
        config.checks[0].probe.clone()
    }

    fn value(o: &Outcome, name: &str) -> f64 {
        o.readings
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no {name} in {o:?}"))
            .value
    }

    #[test]
    fn stat_is_parsed() {
        let text = "cpu  100 10 50 800 40 0 0 0 0 0\ncpu0 50 5 25 400 20 0 0 0 0 0\n\
                    cpu1 50 5 25 400 20 0 0 0 0 0\nintr 12345\nbtime 1700000000\n";
        let (c, cpus) = parse_stat(text, 7).unwrap();
        assert_eq!(
            c,
            Counters {
                busy: 160,
                total: 1000,
                boot: 1_700_000_000,
                at: 7
            }
        );
        assert_eq!(cpus, 2);
        assert!(parse_stat("intr 1\n", 0).is_err());
    }

    #[test]
    fn percent_between_samples() {
        let a = Counters {
            busy: 100,
            total: 1000,
            boot: 1_700_000_000,
            at: 0,
        };
        let b = Counters {
            busy: 150,
            total: 1200,
            boot: 1_700_000_001,
            at: 60_000,
        };
        assert_eq!(busy_percent(&a, &b), Some(25.0));
        // Counters gone backwards: a reboot.
        assert_eq!(busy_percent(&b, &a), None);
        // Another boot with counters that happen to be larger.
        let rebooted = Counters {
            busy: 5000,
            total: 9000,
            boot: 1_700_090_000,
            at: 60_000,
        };
        assert_eq!(busy_percent(&a, &rebooted), None);
        // No time passed.
        assert_eq!(busy_percent(&a, &a), None);
    }

    /// The defect: two runs within a clock tick of each other (hyperfine,
    /// a manual run right after the timer's) found the counters unmoved
    /// and slept 200 ms for a second sample.
    #[test]
    fn a_run_within_a_clock_tick_repeats_the_previous_reading_instead_of_sampling() {
        let counters = Counters {
            busy: 150,
            total: 1200,
            boot: 1_700_000_000,
            at: 60_000,
        };
        let reading = Reading {
            busy: 25.0,
            over_ms: 60_000,
        };
        let previous = Remembered {
            counters,
            reading: Some(reading),
        };
        let now = Counters {
            at: 60_004,
            ..counters
        };
        // The previous reading, and the previous counters kept, so that the
        // next run measures from them.
        assert_eq!(since(Some(previous), now), Some((reading, previous)));
        // Without a reading to repeat (the first of two samples), or across
        // a reboot, there is nothing to report.
        let bare = Remembered {
            counters,
            reading: None,
        };
        assert_eq!(since(Some(bare), now), None);
        let rebooted = Counters {
            boot: 1_700_090_000,
            ..now
        };
        assert_eq!(since(Some(previous), rebooted), None);
        assert_eq!(since(None, now), None);
    }

    #[test]
    fn a_reading_is_remembered_with_the_counters_it_ends_and_old_memory_still_reads() {
        let old: Remembered = serde_json::from_value(serde_json::json!(
            {"busy": 100, "total": 1000, "boot": 1_700_000_000, "at": 0}
        ))
        .unwrap();
        assert_eq!(old.reading, None);
        let now = Counters {
            busy: 150,
            total: 1200,
            boot: 1_700_000_001,
            at: 60_000,
        };
        let (reading, remembered) = since(Some(old), now).unwrap();
        assert_eq!(
            reading,
            Reading {
                busy: 25.0,
                over_ms: 60_000
            }
        );
        assert_eq!(
            remembered,
            Remembered {
                counters: now,
                reading: Some(reading)
            }
        );
        let again: Remembered =
            serde_json::from_value(serde_json::to_value(remembered).unwrap()).unwrap();
        assert_eq!(again, remembered);
    }

    #[test]
    fn loadavg_is_parsed() {
        assert_eq!(
            parse_loadavg("0.60 0.36 0.21 1/82 14370\n").unwrap(),
            [0.60, 0.36, 0.21]
        );
        assert!(parse_loadavg("0.60\n").is_err());
    }

    #[test]
    fn first_run_samples_then_next_run_uses_memory() {
        let p = probe();
        let started = Instant::now();
        let first = p.probe(&ctx(None)).unwrap();
        assert!(
            started.elapsed() >= SAMPLE,
            "a first run must take two samples"
        );
        assert_eq!(first.status, Status::Ok);
        assert!(
            (0.0..=100.0).contains(&value(&first, "percent")),
            "{first:?}"
        );
        let memory = first.memory.clone().expect("counters remembered");

        // Let the clock tick (USER_HZ is 100 per CPU) before the next run.
        std::thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        let second = p.probe(&ctx(Some(memory))).unwrap();
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(150),
            "the second run must not sample again: took {took:?}"
        );
        let percent = value(&second, "percent");
        assert!((0.0..=100.0).contains(&percent), "{second:?}");
        assert!(second.memory.is_some());
        assert!(second.message.starts_with("busy "), "{}", second.message);
        for name in ["load1", "load5", "load15"] {
            assert!(value(&second, name) >= 0.0);
        }
    }

    #[test]
    fn counters_from_another_boot_are_resampled() {
        let stale = Counters {
            busy: u64::MAX / 2,
            total: u64::MAX / 2 + 1,
            boot: 0,
            at: 0,
        };
        let started = Instant::now();
        let o = probe()
            .probe(&ctx(Some(serde_json::to_value(stale).unwrap())))
            .unwrap();
        assert!(
            started.elapsed() >= SAMPLE,
            "stale counters must not be used"
        );
        assert!((0.0..=100.0).contains(&value(&o, "percent")), "{o:?}");
    }

    #[test]
    fn load_is_per_core() {
        let u = Usage {
            busy: 12.34,
            over: Duration::from_secs(300),
            cpus: 4,
            load: Some([8.0, 4.0, 2.0]),
            memory: None,
        };
        let o = outcome(u);
        assert_eq!(o.readings[0].name, "percent");
        assert_eq!(
            (value(&o, "load1"), value(&o, "load5"), value(&o, "load15")),
            (2.0, 1.0, 0.5)
        );
        assert_eq!(
            o.message,
            "busy 12.3% over the last 5m (4 CPUs), load per core 2.00 1.00 0.50 (1m 5m 15m)"
        );
    }
}
