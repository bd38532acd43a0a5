//! Lays out the release binary so that a run touches few of its pages: the
//! functions a steady-state run executes (listed in `link/hot-functions.txt`
//! by `benches/hot-functions`) are linked next to each other. The kernel
//! maps code 64 KiB around each page a run touches, so code spread over the
//! whole 9.6 MB of text cost about 70 such windows and 5 MB of resident
//! memory per run; grouped, it is about 28 windows (benches/README.md).
//!
//! Only where the linker is LLD (the Rust toolchain's default linker for
//! x86_64 Linux since 1.90; an older rustc links with the system's linker
//! and gets no layout) and only for release builds: other linkers
//! do not know `--symbol-ordering-file`, and tests need no layout. The
//! cross builds (scripts/cross) link with GNU ld and get no layout. Names the
//! file lists but the binary no longer has (after a code change) are
//! skipped silently; `benches/hot-functions` writes the file anew.

#![allow(
    clippy::print_stdout,
    reason = "cargo reads a build script's instructions from its stdout"
)]

use std::env;
use std::path::Path;

fn main() {
    let order = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("link")
        .join("hot-functions.txt");
    println!("cargo::rerun-if-changed={}", order.display());
    let target = env::var("TARGET").unwrap_or_default();
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    if target == "x86_64-unknown-linux-gnu" && release && lld_by_default() && order.is_file() {
        println!(
            "cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether the rustc that builds us is 1.90 or later, whose default linker
/// on x86_64 Linux is LLD.
fn lld_by_default() -> bool {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = std::process::Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = String::from_utf8_lossy(&out.stdout);
    let mut parts = version
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
