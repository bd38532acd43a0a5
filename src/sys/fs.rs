//! Files and descriptors: free space of a file system, and a descriptor's
//! blocking mode.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `statvfs(2)` of the file system holding `path`. A path with a NUL byte
/// is an `InvalidInput` error; nothing is opened or written.
pub fn statvfs(path: &Path) -> io::Result<libc::statvfs> {
    let c_path = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: statvfs is plain data; all zeroes is a valid value.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is NUL-terminated and s is a valid statvfs to write into.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut s) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(s)
}

/// Make reads and writes on `fd` return at once (`WouldBlock`) when
/// `nonblocking`, or wait again when not; its other flags are kept.
pub fn set_nonblocking(fd: impl AsFd, nonblocking: bool) -> io::Result<()> {
    let fd = fd.as_fd().as_raw_fd();
    // SAFETY: fcntl on a descriptor borrowed for the call, with flags read
    // from it; no memory is passed.
    let set = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        let wanted = if nonblocking {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, wanted) == 0
    };
    if set {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Create a FIFO at `path` with `mode` (tests use it: a path that would
/// block whoever opens it for reading).
#[cfg(test)]
pub fn mkfifo(path: &Path, mode: libc::mode_t) -> io::Result<()> {
    let c_path = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: c_path is NUL-terminated and outlives the call.
    if unsafe { libc::mkfifo(c_path.as_ptr(), mode) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
