//! Restarting a container (`docker restart -t 10 NAME`) or a compose
//! service (`compose -f FILE restart SERVICE`), then polling `inspect` until
//! it runs and is not `unhealthy` (`starting` is fine), then watching that
//! the same container run (its `StartedAt`) goes on for `settle`. Works the
//! same with podman as the docker CLI.

use std::path::Path;
use std::time::Instant;

use super::{Ctx, POLL, Timing, argv, command::tail, show_duration};

const INSPECT_FORMAT: &str =
    "{{.State.Running}} {{.State.StartedAt}} {{if .State.Health}}{{.State.Health.Status}}{{end}}";

/// The most log lines told with a container that died.
const LOG_LINES: &str = "5";

pub fn restart(container: &str, timing: Timing, ctx: &Ctx) -> Result<String, String> {
    ctx.run_ok(&argv(
        &ctx.settings.docker,
        &["restart", "-t", "10", container],
    ))?;
    wait_running(container, timing, ctx)?;
    Ok(format!("restarted container {container}; it is running"))
}

pub fn restart_compose(
    file: &Path,
    service: &str,
    timing: Timing,
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
        wait_running(id, timing, ctx)?;
    }
    Ok(format!(
        "restarted compose service {service}; it is running"
    ))
}

/// One `inspect`: running, since when, and its health ("" without a healthcheck).
struct Inspected {
    running: bool,
    started_at: String,
    health: String,
}

fn inspect(container: &str, ctx: &Ctx) -> Result<Inspected, String> {
    let out = ctx.run_ok(&argv(
        &ctx.settings.docker,
        &["inspect", "--format", INSPECT_FORMAT, container],
    ))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    Ok(Inspected {
        running: words.next() == Some("true"),
        started_at: words.next().unwrap_or("").to_string(),
        health: words.next().unwrap_or("").to_string(),
    })
}

/// Wait until it runs and is not unhealthy, then until the same run has
/// lasted `settle`.
fn wait_running(container: &str, timing: Timing, ctx: &Ctx) -> Result<(), String> {
    let mut running = None;
    ctx.wait_until(timing.verify, || {
        let now = inspect(container, ctx)?;
        let up = now.running && now.health != "unhealthy";
        running = up.then_some(now);
        Ok(up)
    })
    .map_err(|e| format!("container {container}: {e}"))?;
    let Some(came_up) = running else {
        return Ok(());
    };
    let at = Instant::now();
    let until = ctx.until(timing.settle);
    loop {
        let now = inspect(container, ctx)?;
        if !now.running || now.started_at != came_up.started_at {
            return Err(died(container, at, ctx));
        }
        if until.saturating_duration_since(Instant::now()) < POLL {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}

/// "container bot came up and died after 0.4s; its log: ...".
fn died(container: &str, seen_up: Instant, ctx: &Ctx) -> String {
    let logs = ctx
        .run(&argv(
            &ctx.settings.docker,
            &["logs", "--tail", LOG_LINES, container],
        ))
        .map(|out| {
            let said = tail(&out.stderr);
            if said.is_empty() {
                tail(&out.stdout)
            } else {
                said
            }
        })
        .unwrap_or_default();
    let logs = if logs.is_empty() {
        String::new()
    } else {
        format!("; its log: {logs}")
    };
    format!(
        "container {container} came up and died within {}{logs}",
        show_duration(seen_up.elapsed())
    )
}
