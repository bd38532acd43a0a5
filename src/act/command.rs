//! The `command` manager and recovery commands: run an argv, exit 0 is success.

use super::{Ctx, describe_exit, show_argv};

pub fn run(argv: &[String], ctx: &Ctx) -> Result<String, String> {
    let out = ctx.run_ok(argv)?;
    Ok(format!("ran {} ({})", show_argv(argv), describe_exit(&out)))
}
