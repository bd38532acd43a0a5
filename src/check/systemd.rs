//! `systemd`: is a unit active, how often has systemd restarted it, how
//! close is it to its memory limit (say, warn at 95 % of MemoryMax).
//! Asks `systemctl show` through `settings.systemctl`, so `--user` units and
//! systemctl replacements work the same. Properties the implementation does
//! not report are absent readings, not errors: judged by a threshold they
//! are UNKNOWN with why (memory accounting off), never a silent OK. A unit
//! stopped cleanly (`inactive`, `Result=success`) is told apart from a
//! crash, and a unit still starting is a WARNING, not a restart.

use std::collections::HashMap;

use anyhow::anyhow;

use super::{Keys, Kind, Metric, Only, Platform, Record, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::{Outcome, Unit};
use crate::proc;
use crate::spec::probe::{Probe, ProbeContext, Watched};
use crate::vocab::Builder;

pub const KIND: Kind = Kind {
    only_on: Some(Only {
        on: Platform::Unix,
        why: "there is no systemd",
    }),
    ..Kind::new(
        "systemd",
        Keys::of::<SystemdKeys>(),
        &[&RESTARTS, &MEMORY, &MEMORY_PERCENT],
    )
};

pub const RESTARTS: Metric = Metric::new("restarts", Unit::Count);
pub const MEMORY: Metric = Metric::new("memory", Unit::Bytes);
pub const MEMORY_PERCENT: Metric = Metric::new("memory_percent", Unit::Percent);

/// The keys of a `systemd` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemdKeys {
    unit: Option<String>,
}

impl TypeKeys for SystemdKeys {
    fn build(&self, _common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, b)
    }
}

const PROPERTIES: &str = "LoadState,ActiveState,SubState,Result,NRestarts,MemoryCurrent,MemoryMax";

struct SystemdCheck {
    systemctl: Vec<String>,
    unit: String,
}

fn build(raw: &SystemdKeys, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let unit = b.required("unit", &raw.unit)?.clone();
    let unit = b.unit_name("unit", &unit)?;
    let systemctl = b.settings().systemctl.clone();
    Some(Box::new(SystemdCheck { systemctl, unit }))
}

impl Probe for SystemdCheck {
    fn watches(&self) -> Option<Watched> {
        Some(Watched::Unit(self.unit.clone()))
    }

    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let mut argv = self.systemctl.clone();
        argv.extend(
            [
                "show",
                &format!("--property={PROPERTIES}"),
                "--",
                &self.unit,
            ]
            .map(String::from),
        );
        let out = proc::Job::new(&argv, ctx.remaining()).run()?;
        if out.timed_out {
            return Err(anyhow!("{} show timed out", argv[0]));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let props: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        if out.code != Some(0) && props.is_empty() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(anyhow!(
                "{} show {} failed: {}",
                argv[0],
                self.unit,
                err.trim()
            ));
        }
        if !props.contains_key("ActiveState") {
            // Without the unit's state nothing is ruled out: UNKNOWN, and
            // so no restart of a unit that may well be running.
            let first = text.lines().map(str::trim).find(|l| !l.is_empty());
            return Err(anyhow!(
                "cannot read the state of {}: `{} show` {}",
                self.unit,
                argv[0],
                first.map_or("printed nothing".to_string(), |l| format!(
                    "printed no ActiveState (first line: {l:?})"
                ))
            ));
        }
        Ok(judge(&self.unit, &props))
    }

    fn target(&self) -> Option<String> {
        Some(self.unit.clone())
    }
}

fn number(props: &HashMap<&str, &str>, key: &str) -> Option<f64> {
    props
        .get(key)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|v| *v != u64::MAX)
        .map(|v| v as f64)
}

/// The outcome for a unit's `systemctl show` properties.
fn judge(unit: &str, props: &HashMap<&str, &str>) -> Outcome {
    let active = props.get("ActiveState").copied().unwrap_or("unknown");
    let sub = props.get("SubState").copied().unwrap_or("");
    let result = props.get("Result").copied().unwrap_or("");
    let mut outcome = if props.get("LoadState") == Some(&"not-found") {
        Outcome::critical(format!("unit {unit} not found"))
    } else if active == "active" {
        Outcome::ok(format!("{unit} is active ({sub})"))
    } else if matches!(active, "activating" | "reloading") && sub != "auto-restart" {
        // Starting (a slow ExecStartPre, a notify unit not ready yet):
        // systemd's own TimeoutStartSec bounds it; a restart now would
        // only start it over.
        Outcome::warning(format!("{unit} is starting ({active}, {sub})"))
    } else {
        let said = if result.is_empty() || result == "success" {
            String::new()
        } else {
            format!(", result {result}")
        };
        let mut o = Outcome::critical(format!("{unit} is {active} ({sub}{said})"));
        o.stopped_on_purpose = active == "inactive" && result == "success";
        o
    };
    match number(props, "NRestarts") {
        Some(n) => outcome = outcome.record(&RESTARTS, n),
        None => {
            outcome = outcome.absent(
                RESTARTS.name,
                format!("systemd reports no NRestarts for {unit} (systemd before 235, or a systemctl that does not report it)"),
            )
        }
    }
    match number(props, "MemoryCurrent") {
        Some(current) => {
            outcome = outcome.record(&MEMORY, current);
            match number(props, "MemoryMax").filter(|m| *m > 0.0) {
                Some(max) => {
                    outcome =
                        outcome.record(&MEMORY_PERCENT, current / max * 100.0)
                }
                None => {
                    outcome = outcome.absent(
                        MEMORY_PERCENT.name,
                        format!("{unit} has no MemoryMax to take a percentage of; set MemoryMax= in the unit, or judge `memory`"),
                    )
                }
            }
        }
        None => {
            let why = format!(
                "systemd reports no MemoryCurrent for {unit}: memory accounting is off; set MemoryAccounting=yes or enable the memory cgroup"
            );
            outcome = outcome
                .absent(MEMORY.name, why.clone())
                .absent(MEMORY_PERCENT.name, why);
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn props(text: &str) -> HashMap<&str, &str> {
        text.lines().filter_map(|l| l.split_once('=')).collect()
    }

    #[track_caller]
    fn probe_with(systemctl: &str) -> Outcome {
        let toml = format!(
            "[settings]\nsystemctl = {systemctl}\n\n[[check]]\nname = \"bot\"\ntype = \"systemd\"\nunit = \"freqtrade.service\"\n"
        );
        let config = crate::config::load_str("t.toml", &toml).unwrap_or_else(|e| panic!("{e}"));
        let ctx = ProbeContext {
            now: jiff::Timestamp::now(),
            deadline: std::time::Instant::now() + std::time::Duration::from_secs(10),
            memory: None,
            processes: Default::default(),
        };
        match config.checks[0].probe.probe(&ctx) {
            Ok(outcome) => outcome,
            Err(e) => Outcome::unknown(format!("{e:#}")),
        }
    }

    #[test]
    fn an_unreadable_systemctl_show_answer_is_unknown_not_critical() {
        let empty = probe_with(r#"["true"]"#);
        assert_eq!(
            (empty.status, empty.message.as_str()),
            (
                Status::Unknown,
                "cannot read the state of freqtrade.service: `true show` printed nothing"
            )
        );
        let garbled = probe_with(r#"["echo", "garbage"]"#);
        assert_eq!(garbled.status, Status::Unknown, "{}", garbled.message);
        assert!(
            garbled
                .message
                .contains("printed no ActiveState (first line: \"garbage show"),
            "{}",
            garbled.message
        );
    }

    #[test]
    fn active_unit_with_memory_limit() {
        let o = judge(
            "bot.service",
            &props(
                "LoadState=loaded\nActiveState=active\nSubState=running\nNRestarts=2\nMemoryCurrent=1020054732\nMemoryMax=1073741824",
            ),
        );
        assert_eq!(o.status, Status::Ok);
        let names: Vec<&str> = o.readings.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["restarts", "memory", "memory_percent"]);
        assert!((o.readings[2].value - 95.0).abs() < 0.1);
    }

    #[test]
    fn failed_and_missing_units_are_critical() {
        let o = judge(
            "bot.service",
            &props("LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=exit-code"),
        );
        assert_eq!(
            (o.status, o.message.as_str()),
            (
                Status::Critical,
                "bot.service is failed (failed, result exit-code)"
            )
        );
        assert_eq!(
            judge(
                "x.service",
                &props("LoadState=not-found\nActiveState=inactive")
            )
            .status,
            Status::Critical
        );
    }

    #[test]
    fn absent_or_unlimited_properties_are_absent_readings() {
        let o = judge(
            "bot.service",
            &props("ActiveState=active\nMemoryCurrent=[not set]\nMemoryMax=infinity"),
        );
        assert_eq!(o.status, Status::Ok);
        assert!(o.readings.is_empty());
        let why: Vec<&str> = o.absent.iter().map(|(n, _)| *n).collect();
        assert_eq!(why, ["restarts", "memory", "memory_percent"]);
        assert!(o.absent[2].1.contains("MemoryAccounting=yes"));
        let o = judge(
            "bot.service",
            &props("ActiveState=active\nMemoryCurrent=100\nMemoryMax=18446744073709551615"),
        );
        assert_eq!(o.readings.len(), 1);
    }
}

#[cfg(test)]
mod captured {
    use super::*;
    use crate::model::Status;

    /// `systemctl show` of a unit on a host with memory accounting
    /// (cgroup v2), as systemd 252 answers it.
    const WITH_ACCOUNTING: &str = "LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nNRestarts=3\nMemoryCurrent=912261120\nMemoryMax=1073741824\n";

    #[test]
    fn with_accounting_the_memory_percent_of_memory_max_is_read() {
        let props: HashMap<&str, &str> = WITH_ACCOUNTING
            .lines()
            .filter_map(|l| l.split_once('='))
            .collect();
        let o = judge("bot.service", &props);
        assert_eq!(o.status, Status::Ok);
        assert!(o.absent.is_empty());
        let percent = o
            .readings
            .iter()
            .find(|r| r.name == "memory_percent")
            .unwrap();
        assert!((percent.value - 84.96).abs() < 0.01, "{}", percent.value);
    }

    #[test]
    fn a_unit_stopped_cleanly_is_told_from_a_crash_and_a_starting_one_is_not_down() {
        let of = |text: &str| {
            let props: HashMap<&str, &str> =
                text.lines().filter_map(|l| l.split_once('=')).collect();
            judge("bot.service", &props)
        };
        let stopped = of("ActiveState=inactive\nSubState=dead\nResult=success");
        assert!(stopped.stopped_on_purpose);
        let crashed = of("ActiveState=failed\nSubState=failed\nResult=signal");
        assert!(!crashed.stopped_on_purpose);
        assert_eq!(
            of("ActiveState=activating\nSubState=start-pre").status,
            Status::Warning
        );
        assert_eq!(
            of("ActiveState=activating\nSubState=auto-restart").status,
            Status::Critical
        );
    }
}
