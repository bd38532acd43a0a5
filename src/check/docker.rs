//! `docker`: is a container running and healthy, how often has it been
//! restarted, was it OOM-killed (a collector in a container on a NAS). Asks
//! `docker inspect` through `settings.docker`, so podman works the same.

use anyhow::anyhow;
use serde_json::Value;

use super::{Keys, Kind, Metric, Record, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::{Outcome, Unit};
use crate::proc;
use crate::spec::probe::{Probe, ProbeContext, Watched};
use crate::vocab::Builder;

pub const KIND: Kind = Kind::new(
    "docker",
    Keys::of::<DockerKeys>(),
    &[&RESTARTS, &OOM_KILLED],
);

pub const RESTARTS: Metric = Metric::new("restarts", Unit::Count);
pub const OOM_KILLED: Metric = Metric::new("oom_killed", Unit::Count);

/// The keys of a `docker` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DockerKeys {
    container: Option<String>,
}

impl TypeKeys for DockerKeys {
    fn build(&self, _common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, b)
    }
}

const FORMAT: &str = "{{json .State}}\n{{.RestartCount}}";

struct DockerCheck {
    docker: Vec<String>,
    container: String,
}

fn build(raw: &DockerKeys, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let container = b.required("container", &raw.container)?.clone();
    let container = b.container_name("container", &container)?;
    let docker = b.settings().docker.clone();
    Some(Box::new(DockerCheck { docker, container }))
}

impl Probe for DockerCheck {
    fn watches(&self) -> Option<Watched> {
        Some(Watched::Container(self.container.clone()))
    }

    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let mut argv = self.docker.clone();
        argv.extend(["inspect", "--format", FORMAT, &self.container].map(String::from));
        let out = proc::Job::new(&argv, ctx.remaining()).run()?;
        if out.timed_out {
            return Err(anyhow!("{} inspect timed out", argv[0]));
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.code != Some(0) {
            if stderr.to_lowercase().contains("no such") {
                return Ok(Outcome::critical(format!(
                    "no such container: {}",
                    self.container
                )));
            }
            return Err(anyhow!(
                "{} inspect {} failed: {}",
                argv[0],
                self.container,
                stderr.trim()
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let state: Value = serde_json::from_str(lines.next().unwrap_or_default())
            .map_err(|e| anyhow!("unexpected inspect output: {e}"))?;
        let restarts = lines.next().and_then(|l| l.trim().parse::<f64>().ok());
        Ok(judge(&self.container, &state, restarts))
    }

    fn target(&self) -> Option<String> {
        Some(format!("container {}", self.container))
    }
}

/// The outcome for a container's inspected `.State`.
fn judge(name: &str, state: &Value, restarts: Option<f64>) -> Outcome {
    let running = state["Running"].as_bool().unwrap_or(false);
    let status = state["Status"].as_str().unwrap_or("unknown");
    // Docker calls it Health, older podman Healthcheck.
    let health = state["Health"]["Status"]
        .as_str()
        .or(state["Healthcheck"]["Status"].as_str())
        .unwrap_or("");
    let oom = state["OOMKilled"].as_bool().unwrap_or(false);
    let mut outcome = if !running {
        let code = state["ExitCode"]
            .as_i64()
            .map(|c| format!(", exit code {c}"))
            .unwrap_or_default();
        let oom_note = if oom { ", OOM-killed" } else { "" };
        Outcome::critical(format!("container {name} is {status}{code}{oom_note}"))
    } else if health == "unhealthy" {
        Outcome::critical(format!("container {name} is running but unhealthy"))
    } else if health.is_empty() {
        Outcome::ok(format!("container {name} is running"))
    } else {
        Outcome::ok(format!("container {name} is running ({health})"))
    };
    if let Some(n) = restarts {
        outcome = outcome.record(&RESTARTS, n);
    }
    outcome.record(&OOM_KILLED, if oom { 1.0 } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use serde_json::json;

    #[test]
    fn running_healthy_starting_unhealthy_exited() {
        let running = json!({"Status": "running", "Running": true, "OOMKilled": false});
        assert_eq!(judge("c", &running, Some(2.0)).status, Status::Ok);
        let starting =
            json!({"Status": "running", "Running": true, "Health": {"Status": "starting"}});
        assert_eq!(judge("c", &starting, None).status, Status::Ok);
        let unhealthy =
            json!({"Status": "running", "Running": true, "Healthcheck": {"Status": "unhealthy"}});
        assert_eq!(
            judge("c", &unhealthy, None).message,
            "container c is running but unhealthy"
        );
        let exited =
            json!({"Status": "exited", "Running": false, "ExitCode": 137, "OOMKilled": true});
        let o = judge("c", &exited, Some(5.0));
        assert_eq!(
            (o.status, o.message.as_str()),
            (
                Status::Critical,
                "container c is exited, exit code 137, OOM-killed"
            )
        );
        assert_eq!(o.readings[1].value, 1.0);
    }
}
