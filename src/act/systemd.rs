//! Restarting a systemd unit: `systemctl restart --no-block
//! --no-ask-password -- UNIT`, then poll `is-active` until `verify`. A unit
//! that hits its start limit (`Result=start-limit-hit`) is a failed restart
//! and is not retried in this run: our restarts use the unit's own
//! StartLimitBurst.

use std::time::Duration;

use super::{Ctx, argv};

pub fn restart(unit: &str, verify: Duration, ctx: &Ctx) -> Result<String, String> {
    let systemctl = &ctx.settings.systemctl;
    ctx.run_ok(&argv(
        systemctl,
        &["restart", "--no-block", "--no-ask-password", "--", unit],
    ))?;
    ctx.wait_until(verify, || {
        let out = ctx.run(&argv(systemctl, &["is-active", "--", unit]))?;
        let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
        match state.as_str() {
            "active" => Ok(true),
            "failed" => {
                let show = ctx.run(&argv(systemctl, &["show", "--property=Result", "--", unit]))?;
                let result = String::from_utf8_lossy(&show.stdout);
                if result.contains("start-limit-hit") {
                    Err(format!(
                        "{unit} hit its start limit (start-limit-hit); not retried"
                    ))
                } else {
                    Err(format!("{unit} failed to start ({})", result.trim()))
                }
            }
            _ => Ok(false),
        }
    })
    .map_err(|e| format!("{unit}: {e}"))?;
    Ok(format!("restarted {unit}; it is active"))
}
