//! Sockets, for tests: what std cannot set on a listener.

use std::io;
use std::net::TcpListener;
use std::os::fd::AsRawFd;

/// Listen again with a `backlog` of its own (std uses 128), so that a test
/// can fill it: the listener stays valid and bound to the same address.
pub fn set_backlog(listener: &TcpListener, backlog: i32) -> io::Result<()> {
    // SAFETY: listen on a descriptor borrowed for the call; no memory is passed.
    if unsafe { libc::listen(listener.as_raw_fd(), backlog) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
