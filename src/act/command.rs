//! The `command` manager and recovery commands: run an argv, exit 0 is
//! success. A failed recovery command is told by the end of its stderr,
//! where a Python traceback or a shell script's last complaint is.

use super::{Ctx, describe_exit, show_argv};
use crate::proc;
use crate::spec::escalate::Command;

/// The most lines of a failed recovery command's stderr told.
const TAIL_LINES: usize = 5;
/// ... and the most bytes of them.
const TAIL_BYTES: usize = 600;

pub fn run(argv: &[String], ctx: &Ctx) -> Result<String, String> {
    let out = ctx.run_ok(argv)?;
    Ok(format!("ran {} ({})", show_argv(argv), describe_exit(&out)))
}

/// A recovery command in its directory with its variables.
pub fn recover(command: &Command, ctx: &Ctx) -> Result<String, String> {
    let argv = &command.argv;
    let out = ctx.run_job(argv, |job| {
        command
            .env
            .iter()
            .fold(job, |job, (k, v)| job.env(k, v))
            .cwd(command.cwd.as_deref())
    })?;
    if out.code == Some(0) {
        return Ok(format!("ran {} ({})", show_argv(argv), describe_exit(&out)));
    }
    Err(format!("{} failed: {}", show_argv(argv), failure(&out)))
}

/// "exit 1: Traceback ... / ValueError: boom": how it ended and the last
/// non-blank lines of its stderr (else of its stdout).
fn failure(out: &proc::Output) -> String {
    let how = match out.code {
        Some(c) => format!("exit {c}"),
        None => "killed by a signal".to_string(),
    };
    let said = [tail(&out.stderr), tail(&out.stdout)]
        .into_iter()
        .find(|s| !s.is_empty());
    match said {
        Some(s) => format!("{how}: {s}"),
        None => how,
    }
}

/// The last `TAIL_LINES` non-blank lines, joined by " / ", at most
/// `TAIL_BYTES` of them (the end kept: that is where the error is).
pub(super) fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let from = lines.len().saturating_sub(TAIL_LINES);
    let joined = lines[from..].join(" / ");
    if joined.len() <= TAIL_BYTES {
        return joined;
    }
    let mut cut = joined.len() - TAIL_BYTES;
    while !joined.is_char_boundary(cut) {
        cut += 1;
    }
    format!("...{}", &joined[cut..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_lines_where_the_error_is() {
        let traceback = "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n  File \"x.py\", line 9, in main\n    connect()\n  File \"x.py\", line 4, in connect\n    raise ValueError(\"boom\")\nValueError: boom\n\n";
        let shown = tail(traceback.as_bytes());
        assert!(shown.ends_with("ValueError: boom"), "{shown}");
        assert!(!shown.contains("Traceback"), "{shown}");
        assert_eq!(shown.matches(" / ").count(), TAIL_LINES - 1, "{shown}");
    }

    #[test]
    fn a_long_tail_is_cut_at_its_start_on_a_char_boundary() {
        let long = format!("{}\nError: the end\n", "é".repeat(2000));
        let shown = tail(long.as_bytes());
        assert!(shown.starts_with("..."), "{shown}");
        assert!(shown.ends_with("Error: the end"));
        assert!(shown.len() <= TAIL_BYTES + 3);
    }
}
