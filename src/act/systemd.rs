//! Restarting a systemd unit: `systemctl restart --no-block
//! --no-ask-password -- UNIT`, then poll `is-active` until `verify`. A unit
//! that hits its start limit (`Result=start-limit-hit`) is a failed restart
//! and is not retried in this run: our restarts use the unit's own
//! StartLimitBurst.
//!
//! With `--no-block` the first polls may still see the instance from before
//! the restart: "active" may be the hung one, "failed" a stale failure. So
//! the unit's identity (`InvocationID`, else `ExecMainPID`, `MainPID`,
//! `ActiveEnterTimestamp`: whichever the systemctl reports) is read before
//! the restart, and a state counts only once the identity has changed.
//! Properties it does not report are absent, not errors; with none at all
//! the state is taken as it is.

use std::collections::HashMap;
use std::time::Duration;

use super::{Ctx, argv};

/// The properties that tell one run of a unit from the next, best first.
const IDENTITY: [&str; 4] = [
    "InvocationID",
    "ExecMainPID",
    "MainPID",
    "ActiveEnterTimestamp",
];

/// The identity properties a systemctl reported, best first, without
/// empty values.
type Identity = Vec<(&'static str, String)>;

pub fn restart(unit: &str, verify: Duration, ctx: &Ctx) -> Result<String, String> {
    let systemctl = &ctx.settings.systemctl;
    let before = identity(unit, ctx)?;
    ctx.run_ok(&argv(
        systemctl,
        &["restart", "--no-block", "--no-ask-password", "--", unit],
    ))?;
    let mut last = Poll::NotYet(String::new());
    let waited = ctx.wait_until(verify, || {
        let out = ctx.run(&argv(systemctl, &["is-active", "--", unit]))?;
        let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let after = match state.as_str() {
            "active" | "failed" if !before.is_empty() => Some(identity(unit, ctx)?),
            _ => None,
        };
        let result = if state == "failed" {
            let show = ctx.run(&argv(systemctl, &["show", "--property=Result", "--", unit]))?;
            String::from_utf8_lossy(&show.stdout).trim().to_string()
        } else {
            String::new()
        };
        last = judge(unit, &state, &result, &before, after.as_ref());
        match &last {
            Poll::Up(_) => Ok(true),
            Poll::Failed(why) => Err(why.clone()),
            Poll::NotYet(_) => Ok(false),
        }
    });
    match (waited, last) {
        (Ok(()), Poll::Up(done)) => Ok(done),
        (Err(e), Poll::NotYet(why)) if !why.is_empty() => Err(format!("{unit}: {e} ({why})")),
        (Err(e), _) => Err(format!("{unit}: {e}")),
        (Ok(()), _) => Err(format!("{unit}: not up")),
    }
}

/// The unit's identity properties as `systemctl show` reports them; none
/// when `show` fails (the state is then taken as it is).
fn identity(unit: &str, ctx: &Ctx) -> Result<Identity, String> {
    let property = format!("--property={}", IDENTITY.join(","));
    let out = ctx.run(&argv(
        &ctx.settings.systemctl,
        &["show", &property, "--", unit],
    ))?;
    if out.code != Some(0) {
        return Ok(Identity::new());
    }
    Ok(parse_identity(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_identity(show: &str) -> Identity {
    let props: HashMap<&str, &str> = show.lines().filter_map(|l| l.split_once('=')).collect();
    IDENTITY
        .iter()
        .filter_map(|k| {
            let v = props.get(k)?.trim();
            (!matches!(v, "" | "0" | "n/a")).then(|| (*k, v.to_string()))
        })
        .collect()
}

fn get<'i>(identity: &'i Identity, key: &str) -> Option<&'i String> {
    identity.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// What one poll after the restart tells.
#[derive(Debug, PartialEq)]
enum Poll {
    /// A new instance is active.
    Up(String),
    /// The restart failed.
    Failed(String),
    /// Not yet; why, when it is the instance from before.
    NotYet(String),
}

/// One poll: the `is-active` state, the `Result` property (when failed),
/// the identity before the restart and now (`None` when not read).
fn judge(unit: &str, state: &str, result: &str, before: &Identity, now: Option<&Identity>) -> Poll {
    let changed = match now {
        None => true,
        Some(now) => before.iter().any(|(k, v)| get(now, k) != Some(v)),
    };
    // A start limit is this restart's own verdict: it starts no new instance.
    if state == "failed" && result.contains("start-limit-hit") {
        return Poll::Failed(format!(
            "{unit} hit its start limit (start-limit-hit); not retried"
        ));
    }
    let old = || {
        let (k, v) = before.first().map_or(("", ""), |(k, v)| (*k, v.as_str()));
        format!("still the instance from before the restart ({k} {v}, {state})")
    };
    match state {
        "active" if changed => Poll::Up(format!(
            "restarted {unit}; it is active{}",
            describe_change(before, now)
        )),
        "failed" if changed => Poll::Failed(format!("{unit} failed to start ({result})")),
        "active" | "failed" => Poll::NotYet(old()),
        _ => Poll::NotYet(String::new()),
    }
}

/// " (MainPID 12 -> 40)": the first identity property that changed.
fn describe_change(before: &Identity, now: Option<&Identity>) -> String {
    let Some(now) = now else {
        return String::new();
    };
    before
        .iter()
        .find_map(|(k, v)| match get(now, k) {
            Some(n) if n != v => Some(format!(" ({k} {v} -> {n})")),
            _ => None,
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn case(state: &str, result: &str, before: &str, now: Option<&str>, want: Poll) {
        let before = parse_identity(before);
        let now = now.map(parse_identity);
        assert_eq!(
            judge("bot.service", state, result, &before, now.as_ref()),
            want
        );
    }

    #[test]
    fn the_old_instance_is_not_taken_for_the_new_one() {
        // systemd: the invocation id changes with each start.
        let before = "InvocationID=aa11\nExecMainPID=12\nMainPID=12\nActiveEnterTimestamp=Tue 2026-12-01 10:00:00 UTC";
        case(
            "active",
            "",
            before,
            Some(before),
            Poll::NotYet(
                "still the instance from before the restart (InvocationID aa11, active)".into(),
            ),
        );
        case(
            "active",
            "",
            before,
            Some(
                "InvocationID=bb22\nExecMainPID=40\nMainPID=40\nActiveEnterTimestamp=Tue 2026-12-01 10:05:00 UTC",
            ),
            Poll::Up("restarted bot.service; it is active (InvocationID aa11 -> bb22)".into()),
        );
    }

    #[test]
    fn a_stale_failure_is_not_the_restarts_failure() {
        let before = "InvocationID=aa11\nExecMainPID=0\nMainPID=0";
        case(
            "failed",
            "Result=exit-code",
            before,
            Some(before),
            Poll::NotYet(
                "still the instance from before the restart (InvocationID aa11, failed)".into(),
            ),
        );
        case(
            "failed",
            "Result=exit-code",
            before,
            Some("InvocationID=cc33\nMainPID=0"),
            Poll::Failed("bot.service failed to start (Result=exit-code)".into()),
        );
        case(
            "failed",
            "Result=start-limit-hit",
            before,
            Some(before),
            Poll::Failed("bot.service hit its start limit (start-limit-hit); not retried".into()),
        );
    }

    #[test]
    fn without_identity_properties_the_state_is_taken_as_it_is() {
        // docker-systemctl-replacement reports MainPID only, and none for a
        // unit that is not running.
        case(
            "active",
            "",
            "MainPID=",
            None,
            Poll::Up("restarted bot.service; it is active".into()),
        );
        case(
            "activating",
            "",
            "MainPID=12",
            Some("MainPID="),
            Poll::NotYet(String::new()),
        );
        case(
            "active",
            "",
            "MainPID=12",
            Some("MainPID=40"),
            Poll::Up("restarted bot.service; it is active (MainPID 12 -> 40)".into()),
        );
    }
}
