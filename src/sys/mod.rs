//! The operating system, behind small safe functions: the only module that
//! calls libc or the Windows API itself, so that every `unsafe` block of
//! the program is here, next to the promise that makes it sound, and the
//! rest of the crate (where `unsafe_code` is denied) calls these functions
//! instead. Each function's comment says what it guarantees.

pub mod exit;
#[cfg(unix)]
pub mod fs;
#[cfg(all(test, unix))]
pub mod net;
#[cfg(unix)]
pub mod process;
#[cfg(target_os = "linux")]
pub mod procfs;
#[cfg(target_os = "linux")]
pub mod user;
#[cfg(windows)]
pub mod windows;
