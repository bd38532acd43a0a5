//! Restarting a container (`docker restart -t 10 NAME`) or a compose
//! service (`compose -f FILE restart SERVICE`), then polling `inspect` until
//! it runs and is not `unhealthy` (`starting` is fine). Works the same with
//! podman as the docker CLI.

use std::path::Path;
use std::time::Duration;

use super::{Ctx, argv};

const INSPECT_FORMAT: &str =
    "{{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{end}}";

pub fn restart(container: &str, verify: Duration, ctx: &Ctx) -> Result<String, String> {
    ctx.run_ok(&argv(
        &ctx.settings.docker,
        &["restart", "-t", "10", container],
    ))?;
    wait_running(container, verify, ctx)?;
    Ok(format!("restarted container {container}; it is running"))
}

pub fn restart_compose(
    file: &Path,
    service: &str,
    verify: Duration,
    ctx: &Ctx,
) -> Result<String, String> {
    let file = file.to_string_lossy();
    let compose = &ctx.settings.compose;
    ctx.run_ok(&argv(compose, &["-f", &file, "restart", service]))?;
    let ps = ctx.run_ok(&argv(compose, &["-f", &file, "ps", "-q", service]))?;
    let ids: Vec<String> = String::from_utf8_lossy(&ps.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err(format!(
            "compose service {service} has no container after the restart"
        ));
    }
    for id in &ids {
        wait_running(id, verify, ctx)?;
    }
    Ok(format!(
        "restarted compose service {service}; it is running"
    ))
}

fn wait_running(container: &str, verify: Duration, ctx: &Ctx) -> Result<(), String> {
    ctx.wait_until(verify, || {
        let out = ctx.run_ok(&argv(
            &ctx.settings.docker,
            &["inspect", "--format", INSPECT_FORMAT, container],
        ))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut words = text.split_whitespace();
        let running = words.next() == Some("true");
        let health = words.next().unwrap_or("");
        Ok(running && health != "unhealthy")
    })
    .map_err(|e| format!("container {container}: {e}"))
}
