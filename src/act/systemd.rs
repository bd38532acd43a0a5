//! Restarting a systemd unit: `systemctl restart --no-block
//! --no-ask-password -- UNIT`, poll until a new instance is active (within
//! `verify`), then watch that it stays the same active instance for
//! `settle`: a unit whose process dies a moment after starting is active
//! at one instant and failed the next, and is not up.
//!
//! With `--no-block` the first polls may still see the instance from before
//! the restart: "active" may be the hung one, "failed" a stale failure. So
//! the unit's identity (`InvocationID`, else `ExecMainPID`, `MainPID`,
//! `ActiveEnterTimestamp`: whichever the systemctl reports) is read before
//! the restart, and a state counts only once the identity has changed.
//! Properties it does not report are absent, not errors; with none at all
//! the state is taken as it is.
//!
//! systemd's own start limit (`StartLimitBurst`) can refuse the restart:
//! then no new instance starts, the job is gone, and the unit's journal says
//! "Start request repeated too quickly" (or, for an active unit, its
//! `Result` becomes `start-limit-hit`). That is a refusal, not a failed
//! try: restarting again would only be refused again until someone runs
//! `systemctl reset-failed`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{Ctx, Failure, POLL, argv, command::tail, show_duration};
use crate::spec::ServiceSpec;

/// The properties that tell one run of a unit from the next, best first.
const IDENTITY: [&str; 4] = [
    "InvocationID",
    "ExecMainPID",
    "MainPID",
    "ActiveEnterTimestamp",
];

/// Read beside the identity: whether a job is pending, how the last
/// instance ended and how long its main process ran.
const DETAILS: [&str; 4] = [
    "Result",
    "Job",
    "ExecMainStartTimestampMonotonic",
    "ExecMainExitTimestampMonotonic",
];

/// What systemd writes to a unit's journal when its start limit refuses a start.
const START_LIMIT_LOG: &str = "Start request repeated too quickly";

/// The most journal lines told with a unit that died.
const JOURNAL_LINES: &str = "5";

/// The identity properties a systemctl reported, best first, without
/// empty values.
type Identity = Vec<(&'static str, String)>;

/// One look at the unit: `is-active`'s answer and the properties `show`
/// reported (absent when the systemctl does not report them).
struct Look {
    state: String,
    identity: Identity,
    props: HashMap<String, String>,
}

impl Look {
    fn prop(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(String::as_str)
    }

    fn result(&self) -> &str {
        self.prop("Result").unwrap_or("")
    }

    /// Whether `show` says no job is pending (a systemctl that does not
    /// report `Job` never says so).
    fn no_job(&self) -> bool {
        self.prop("Job").is_some_and(str::is_empty)
    }

    /// How long the unit's main process ran, when systemd says.
    fn ran(&self) -> Option<Duration> {
        let micros = |key| self.prop(key)?.parse::<u64>().ok().filter(|v| *v > 0);
        let start = micros("ExecMainStartTimestampMonotonic")?;
        let exit = micros("ExecMainExitTimestampMonotonic")?;
        (exit >= start).then(|| Duration::from_micros(exit - start))
    }
}

pub fn restart(unit: &str, service: &ServiceSpec, ctx: &Ctx) -> Result<String, Failure> {
    let systemctl = &ctx.settings.systemctl;
    if service.reset_failed {
        // A unit systemd has unloaded has no failed state to clear:
        // `reset-failed` then fails, and the restart goes on all the same.
        ctx.run(&argv(systemctl, &["reset-failed", "--", unit]))?;
    }
    let before = look(unit, ctx)?.identity;
    let since = jiff::Timestamp::now();
    ctx.run_ok(&argv(
        systemctl,
        &["restart", "--no-block", "--no-ask-password", "--", unit],
    ))?;
    let mut last = Poll::NotYet(String::new());
    let mut up: Option<Look> = None;
    let waited = ctx.wait_until(service.verify, || {
        let now = look(unit, ctx)?;
        let refused = now.state == "failed"
            && now.no_job()
            && !changed(&before, &now.identity)
            && journal_since(unit, since, ctx).contains(START_LIMIT_LOG);
        last = judge(unit, &now, &before, refused);
        match &last {
            Poll::Up(_) => {
                up = Some(now);
                Ok(true)
            }
            Poll::Died => Err(died(unit, &now, None, ctx)),
            Poll::Refused(why) => Err(why.clone()),
            Poll::NotYet(_) => Ok(false),
        }
    });
    match (waited, last) {
        (Ok(()), Poll::Up(done)) => {
            let came_up = up.expect("an Up poll keeps its look");
            settle(unit, &came_up, service.settle, ctx)?;
            Ok(done)
        }
        (Err(why), Poll::Refused(_)) => Err(Failure::refused(why)),
        (Err(e), Poll::NotYet(why)) if !why.is_empty() => {
            Err(format!("{unit}: {e} ({why})").into())
        }
        (Err(e), Poll::Died) => Err(e.into()),
        (Err(e), _) => Err(format!("{unit}: {e}").into()),
        (Ok(()), _) => Err(format!("{unit}: not up").into()),
    }
}

/// Watch the instance that came up for `settle`: it must stay active and
/// stay the same instance.
fn settle(unit: &str, came_up: &Look, settle: Duration, ctx: &Ctx) -> Result<(), String> {
    let at = Instant::now();
    let until = ctx.until(settle);
    loop {
        let now = look(unit, ctx)?;
        if !same_instance(&came_up.identity, &now.identity)
            || !matches!(now.state.as_str(), "active" | "reloading")
        {
            return Err(died(unit, &now, Some(at.elapsed()), ctx));
        }
        if until.saturating_duration_since(Instant::now()) < POLL {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}

/// "bot.service came up and died after 0.4s (exit-code); its journal: ...".
fn died(unit: &str, now: &Look, seen_up: Option<Duration>, ctx: &Ctx) -> String {
    let ran = now
        .ran()
        .or(seen_up)
        .map_or_else(String::new, |d| format!(" after {}", show_duration(d)));
    let result = match now.result() {
        "" | "success" => now.state.clone(),
        r => r.to_string(),
    };
    let journal = last_lines(unit, now, ctx);
    let journal = if journal.is_empty() {
        String::new()
    } else {
        format!("; its journal: {journal}")
    };
    format!("{unit} came up and died{ran} ({result}){journal}")
}

/// The unit's identity, state and details. A `show` that fails leaves
/// them absent (the state is then taken as it is).
fn look(unit: &str, ctx: &Ctx) -> Result<Look, String> {
    let systemctl = &ctx.settings.systemctl;
    let out = ctx.run(&argv(systemctl, &["is-active", "--", unit]))?;
    let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let property = format!("--property={},{}", IDENTITY.join(","), DETAILS.join(","));
    let out = ctx.run(&argv(systemctl, &["show", &property, "--", unit]))?;
    let text = if out.code == Some(0) {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::new()
    };
    Ok(Look {
        state,
        identity: parse_identity(&text),
        props: text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect(),
    })
}

/// `journalctl`, for the user's journal when systemctl works on `--user` units.
fn journalctl(ctx: &Ctx, args: &[&str]) -> Vec<String> {
    let mut prefix = ctx.settings.journalctl.clone();
    if ctx.settings.systemctl.iter().any(|a| a == "--user") && !prefix.iter().any(|a| a == "--user")
    {
        prefix.push("--user".into());
    }
    argv(&prefix, args)
}

/// What the unit's journal says since `since`; empty where there is no
/// journal to read.
fn journal_since(unit: &str, since: jiff::Timestamp, ctx: &Ctx) -> String {
    let since = format!("@{}", since.as_second());
    let argv = journalctl(
        ctx,
        &[
            "-u",
            unit,
            "--since",
            &since,
            "-o",
            "cat",
            "--no-pager",
            "-q",
        ],
    );
    match ctx.run(&argv) {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(_) => String::new(),
    }
}

/// The last lines the unit's latest instance wrote (its own output, not
/// systemd's lines about it), joined as one line.
fn last_lines(unit: &str, now: &Look, ctx: &Ctx) -> String {
    let instance =
        get(&now.identity, "InvocationID").map(|id| format!("_SYSTEMD_INVOCATION_ID={id}"));
    let select: Vec<&str> = match &instance {
        Some(matched) => vec![matched],
        None => vec!["-u", unit],
    };
    let mut args = select;
    args.extend(["-n", JOURNAL_LINES, "-o", "cat", "--no-pager", "-q"]);
    match ctx.run(&journalctl(ctx, &args)) {
        Ok(out) if out.code == Some(0) => tail(&out.stdout),
        _ => String::new(),
    }
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

/// Whether `now` is the instance `then` was, as far as `then` tells.
fn same_instance(then: &Identity, now: &Identity) -> bool {
    then.iter().all(|(k, v)| get(now, k) == Some(v))
}

/// Whether `now` is another instance than `before`. With no identity
/// reported before, any state counts as new.
fn changed(before: &Identity, now: &Identity) -> bool {
    before.is_empty() || !same_instance(before, now)
}

/// What one poll after the restart tells.
#[derive(Debug, PartialEq)]
enum Poll {
    /// A new instance is active.
    Up(String),
    /// A new instance started and is already gone.
    Died,
    /// systemd refuses to start it (its start limit).
    Refused(String),
    /// Not yet; why, when it is the instance from before.
    NotYet(String),
}

/// One poll: the unit as it is now, its identity before the restart, and
/// whether the journal shows the start limit refusing the start.
fn judge(unit: &str, now: &Look, before: &Identity, refused_in_journal: bool) -> Poll {
    let state = now.state.as_str();
    if state == "failed" && (now.result().contains("start-limit-hit") || refused_in_journal) {
        return Poll::Refused(format!(
            "systemd refuses to start {unit}: its start limit (StartLimitBurst) was hit; \
             run `systemctl reset-failed {unit}` or raise StartLimitBurst, \
             or set `reset_failed = true` on the service"
        ));
    }
    let old = || {
        let (k, v) = before.first().map_or(("", ""), |(k, v)| (*k, v.as_str()));
        format!("still the instance from before the restart ({k} {v}, {state})")
    };
    let changed = changed(before, &now.identity);
    match state {
        "active" if changed => Poll::Up(format!(
            "restarted {unit}; it is active{}",
            describe_change(before, &now.identity)
        )),
        "failed" if changed => Poll::Died,
        "active" | "failed" => Poll::NotYet(old()),
        _ => Poll::NotYet(String::new()),
    }
}

/// " (MainPID 12 -> 40)": the first identity property that changed.
fn describe_change(before: &Identity, now: &Identity) -> String {
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

    fn look(state: &str, show: &str) -> Look {
        Look {
            state: state.into(),
            identity: parse_identity(show),
            props: show
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[track_caller]
    fn case(state: &str, before: &str, now: &str, want: Poll) {
        let before = parse_identity(before);
        assert_eq!(
            judge("bot.service", &look(state, now), &before, false),
            want
        );
    }

    #[test]
    fn the_old_instance_is_not_taken_for_the_new_one() {
        // systemd: the invocation id changes with each start.
        let before = "InvocationID=aa11\nExecMainPID=12\nMainPID=12\nActiveEnterTimestamp=Tue 2026-12-01 10:00:00 UTC";
        case(
            "active",
            before,
            before,
            Poll::NotYet(
                "still the instance from before the restart (InvocationID aa11, active)".into(),
            ),
        );
        case(
            "active",
            before,
            "InvocationID=bb22\nExecMainPID=40\nMainPID=40\nActiveEnterTimestamp=Tue 2026-12-01 10:05:00 UTC",
            Poll::Up("restarted bot.service; it is active (InvocationID aa11 -> bb22)".into()),
        );
    }

    #[test]
    fn a_stale_failure_is_not_the_restarts_failure() {
        let before = "InvocationID=aa11\nExecMainPID=0\nMainPID=0";
        case(
            "failed",
            before,
            &format!("{before}\nResult=exit-code"),
            Poll::NotYet(
                "still the instance from before the restart (InvocationID aa11, failed)".into(),
            ),
        );
        case(
            "failed",
            before,
            "InvocationID=cc33\nMainPID=0\nResult=exit-code",
            Poll::Died,
        );
    }

    #[test]
    fn the_start_limit_is_a_refusal_that_says_what_to_do() {
        let before = "InvocationID=aa11";
        let Poll::Refused(why) = judge(
            "bot.service",
            &look("failed", "InvocationID=aa11\nResult=start-limit-hit\nJob="),
            &parse_identity(before),
            false,
        ) else {
            panic!("not a refusal")
        };
        assert!(why.contains("systemctl reset-failed bot.service"), "{why}");
        // A failed unit refused again keeps its old Result: the journal tells.
        assert!(matches!(
            judge(
                "bot.service",
                &look("failed", "InvocationID=aa11\nResult=exit-code\nJob="),
                &parse_identity(before),
                true,
            ),
            Poll::Refused(_)
        ));
    }

    #[test]
    fn without_identity_properties_the_state_is_taken_as_it_is() {
        // docker-systemctl-replacement reports MainPID only, and none for a
        // unit that is not running.
        case(
            "active",
            "MainPID=",
            "",
            Poll::Up("restarted bot.service; it is active".into()),
        );
        case(
            "activating",
            "MainPID=12",
            "MainPID=",
            Poll::NotYet(String::new()),
        );
        case(
            "active",
            "MainPID=12",
            "MainPID=40",
            Poll::Up("restarted bot.service; it is active (MainPID 12 -> 40)".into()),
        );
    }

    #[test]
    fn how_long_a_unit_ran_is_read_from_its_main_process() {
        let l = look(
            "failed",
            "ExecMainStartTimestampMonotonic=248920261\nExecMainExitTimestampMonotonic=249325596",
        );
        assert_eq!(show_duration(l.ran().unwrap()), "0.4s");
        assert_eq!(
            look("failed", "ExecMainExitTimestampMonotonic=0").ran(),
            None
        );
    }
}
