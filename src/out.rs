//! Everything the binary prints on stdout goes through here, so that a
//! reader that goes away (`healthcheck history | head -1`) ends the output
//! quietly instead of with a panic and a backtrace. A closed pipe (EPIPE)
//! drops the rest of the output and the command keeps its own exit code:
//! the reader had what it wanted. Any other write error (a full disk under
//! `> file`) is said once on stderr and makes the exit code 3 (UNKNOWN),
//! since the output that was asked for is lost.

use std::io::{self, ErrorKind, Write};
use std::sync::atomic::{AtomicU8, Ordering};

use crate::model::Exit;

const OPEN: u8 = 0;
const CLOSED: u8 = 1;
const FAILED: u8 = 2;

static STDOUT: AtomicU8 = AtomicU8::new(OPEN);

/// Write `text` to stdout as it is.
pub fn print(text: &str) {
    bytes(text.as_bytes());
}

/// Write `text` and a newline to stdout.
pub fn line(text: &str) {
    let mut with_newline = String::with_capacity(text.len() + 1);
    with_newline.push_str(text);
    with_newline.push('\n');
    bytes(with_newline.as_bytes());
}

/// Write raw bytes to stdout; nothing more is written once a write failed.
pub fn bytes(data: &[u8]) {
    if STDOUT.load(Ordering::SeqCst) != OPEN {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_all(data).and_then(|()| out.flush()) {
        if e.kind() == ErrorKind::BrokenPipe {
            STDOUT.store(CLOSED, Ordering::SeqCst);
        } else {
            STDOUT.store(FAILED, Ordering::SeqCst);
            // stderr may be gone too: never panic over it.
            let _ = writeln!(io::stderr(), "healthcheck: cannot write to stdout: {e}");
        }
    }
}

/// The exit of a command that returned `code`: UNKNOWN when its output was
/// lost to a write error other than a closed pipe.
pub fn exit_code(code: Exit) -> Exit {
    if STDOUT.load(Ordering::SeqCst) == FAILED {
        Exit::UNKNOWN
    } else {
        code
    }
}
