//! What a check does about its own confirmed problem, beyond alerting: a
//! recovery command (`run`), a restart (`restart`) or an `escalate` ladder
//! of such steps, each later step `after` the one before; where its
//! commands run (`cwd`, `env`) and how often (`run_max`, `run_window`,
//! `run_cooldown`). Parsed and validated here into `spec::escalate`, decided
//! in `decide::ladder`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::check::common::{RawCheck, RawStep};
use crate::spec::ServiceSpec;
use crate::spec::escalate::{Command, Recovery, RunLimits, Step, StepAction};
use crate::vocab::Builder;

/// Validate `cwd`, `env`, the run budget and `escalate` of one check.
pub(super) fn compile(b: &mut Builder, raw: &RawCheck, services: &[ServiceSpec]) -> Recovery {
    let cwd = raw.cwd.as_deref().and_then(|d| directory(b, "cwd", d));
    let env = environment(b, "env", raw.env.as_ref());
    let limits = limits(b, raw);
    let runs_program = crate::check::kind(&raw.kind).is_some_and(|k| k.runs_program);
    let runs_something = raw.run.is_some() || raw.escalate.is_some() || runs_program;
    for (key, set) in [("cwd", raw.cwd.is_some()), ("env", raw.env.is_some())] {
        if set && !runs_something {
            b.error(
                key,
                format!("`{key}` applies to a check's `run`, its `escalate` steps or a `command` check's command, and this check has none"),
            );
        }
    }
    let mut steps = Vec::new();
    if let Some(raw_steps) = &raw.escalate {
        for key in ["restart", "run"] {
            let set = match key {
                "restart" => raw.restart.is_some(),
                _ => raw.run.is_some(),
            };
            if set {
                b.error(
                    "escalate",
                    format!(
                        "`escalate` and `{key}` on one check: write the {key} as a step of the ladder (`{{ {key} = ... }}`)"
                    ),
                );
            }
        }
        if raw_steps.is_empty() {
            b.error(
                "escalate",
                "must list at least one step: escalate = [ { run = [\"...\"] } ]",
            );
        }
        for (n, raw_step) in raw_steps.iter().enumerate() {
            if let Some(step) = compile_step(b, n, raw_step, &cwd, &env, services) {
                steps.push(step);
            }
        }
    }
    Recovery {
        steps,
        cwd,
        env,
        limits,
    }
}

fn compile_step(
    b: &mut Builder,
    n: usize,
    raw: &RawStep,
    cwd: &Option<PathBuf>,
    env: &[(String, String)],
    services: &[ServiceSpec],
) -> Option<Step> {
    let at = format!("escalate[{n}]");
    let after = match raw.after.as_deref() {
        None => Duration::ZERO,
        Some(text) => match crate::vocab::parse_duration(text) {
            Ok(d) => d,
            Err(e) => {
                b.error(&at, format!("after: {e}"));
                return None;
            }
        },
    };
    if n == 0 && !after.is_zero() {
        b.error(
            &at,
            "after: the first step runs when the problem is confirmed (the check's `after` waits for more failing runs); leave it out",
        );
    }
    let action = match (&raw.run, &raw.restart) {
        (Some(_), Some(_)) | (None, None) => {
            b.error(
                &at,
                "each step is exactly one of `run = [...]` or `restart = \"SERVICE\"`",
            );
            return None;
        }
        (None, Some(service)) => {
            if raw.cwd.is_some() || raw.env.is_some() {
                b.error(
                    &at,
                    "`cwd` and `env` apply to a `run` step, not to a restart (the service says how it starts)",
                );
            }
            if !services.iter().any(|s| &s.name == service) {
                if !b.is_broken("service", service) {
                    b.error(
                        &at,
                        format!(
                            "restart: {}",
                            crate::spec::no_such_service(service, services)
                        ),
                    );
                }
                return None;
            }
            StepAction::Restart(service.clone())
        }
        (Some(argv), None) => {
            if argv.first().is_none_or(|p| p.trim().is_empty()) {
                b.error(
                    &at,
                    "run: must name a program: run = [\"/usr/local/bin/recover\"]",
                );
                return None;
            }
            let step_cwd = match raw.cwd.as_deref() {
                Some(d) => Some(directory(b, &at, d)?),
                None => cwd.clone(),
            };
            let step_env = match &raw.env {
                Some(_) => {
                    let mut merged = env.to_vec();
                    for (k, v) in environment(b, &at, raw.env.as_ref()) {
                        merged.retain(|(name, _)| name != &k);
                        merged.push((k, v));
                    }
                    merged
                }
                None => env.to_vec(),
            };
            StepAction::Run(Command {
                argv: argv.clone(),
                cwd: step_cwd,
                env: step_env,
            })
        }
    };
    Some(Step { action, after })
}

/// A working directory: absolute (cron's and systemd's working directory
/// differ, so a relative one would mean different things).
fn directory(b: &mut Builder, key: &str, dir: &str) -> Option<PathBuf> {
    let path = crate::vocab::expand_tilde(dir);
    if !path.is_absolute() {
        let what = if key == "cwd" { "" } else { "cwd: " };
        b.error(
            key,
            format!("{what}\"{dir}\" must be an absolute path (a scheduled run starts in whatever directory cron or systemd chose)"),
        );
        return None;
    }
    Some(path)
}

fn environment(
    b: &mut Builder,
    key: &str,
    env: Option<&BTreeMap<String, String>>,
) -> Vec<(String, String)> {
    let what = if key == "env" { "" } else { "env: " };
    let mut out = Vec::new();
    for (name, value) in env.into_iter().flatten() {
        if name.is_empty() || name.contains('=') || name.contains('\0') || value.contains('\0') {
            b.error(
                key,
                format!(
                    "{what}`{name}` is not a valid environment variable name (no `=`, not empty)"
                ),
            );
            continue;
        }
        out.push((name.clone(), value.clone()));
    }
    out
}

fn limits(b: &mut Builder, raw: &RawCheck) -> RunLimits {
    let mut limits = RunLimits::default();
    if let Some(max) = raw.run_max {
        if max == 0 {
            b.error(
                "run_max",
                "must be at least 1 (to stop recovery commands, remove `run`)",
            );
        }
        limits.max = max;
    }
    for (key, text, slot) in [
        ("run_window", &raw.run_window, &mut limits.window),
        ("run_cooldown", &raw.run_cooldown, &mut limits.cooldown),
    ] {
        if let Some(d) = text.as_deref().and_then(|t| b.duration(key, t)) {
            *slot = d;
        }
    }
    if raw.run_window.is_some() && limits.window.is_zero() {
        b.error("run_window", "must be longer than 0s");
    }
    limits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::escalate::DEFAULT_RUN_WINDOW;

    #[test]
    fn a_ladder_compiles_with_the_checks_directory_and_variables_as_defaults() {
        let config = crate::config::load_str(
            "t.toml",
            r#"
[[service]]
name = "soltrader"
command = { restart = ["true"] }

[[check]]
name = "soltrader-log"
type = "file"
path = "/var/log/soltrader.log"
cwd = "/opt/soltrader"
env = { MODE = "soft" }
run_max = 5
run_cooldown = "5m"
escalate = [
  { run = ["./recover", "--soft"] },
  { restart = "soltrader", after = "5m" },
  { run = ["./recover", "--hard"], after = "15m", env = { MODE = "hard" } },
]
"#,
        )
        .unwrap();
        let r = &config.checks[0].recovery;
        assert_eq!(
            r.limits,
            RunLimits {
                max: 5,
                window: DEFAULT_RUN_WINDOW,
                cooldown: Duration::from_secs(300)
            }
        );
        let soft = Command {
            argv: vec!["./recover".into(), "--soft".into()],
            cwd: Some(PathBuf::from("/opt/soltrader")),
            env: vec![("MODE".into(), "soft".into())],
        };
        let hard = Command {
            argv: vec!["./recover".into(), "--hard".into()],
            cwd: Some(PathBuf::from("/opt/soltrader")),
            env: vec![("MODE".into(), "hard".into())],
        };
        assert_eq!(
            r.steps,
            [
                Step {
                    action: StepAction::Run(soft),
                    after: Duration::ZERO
                },
                Step {
                    action: StepAction::Restart("soltrader".into()),
                    after: Duration::from_secs(300)
                },
                Step {
                    action: StepAction::Run(hard),
                    after: Duration::from_secs(900)
                },
            ]
        );
    }

    #[test]
    fn a_check_without_limits_has_todays_run_budget() {
        let config = crate::config::load_str(
            "t.toml",
            "[[check]]\nname = \"x\"\ntype = \"file\"\npath = \"/x\"\nrun = [\"fix\"]\n",
        )
        .unwrap();
        assert_eq!(config.checks[0].recovery, Recovery::default());
    }
}
