//! Processes: who we run as, signals, process groups and sessions, waiting
//! on a child without reaping it, polling its pipes.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The effective uid of this process. Cannot fail.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The effective gid of this process. Cannot fail.
pub fn egid() -> u32 {
    // SAFETY: getegid has no preconditions and cannot fail.
    unsafe { libc::getegid() }
}

/// The supplementary groups of this process (which may or may not include
/// the effective gid). Empty if the system will not say.
pub fn supplementary_groups() -> Vec<u32> {
    // The list can only change under us if another thread changes it; a
    // few tries are plenty.
    for _ in 0..3 {
        // SAFETY: a count of 0 only asks how many groups there are; no
        // memory is written.
        let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        let Ok(len) = usize::try_from(count) else {
            return Vec::new();
        };
        let mut groups: Vec<libc::gid_t> = vec![0; len];
        // SAFETY: `groups` has room for the `count` entries getgroups may
        // write; it fails with EINVAL rather than write more.
        let got = unsafe { libc::getgroups(count, groups.as_mut_ptr()) };
        match usize::try_from(got) {
            Ok(n) => {
                groups.truncate(n);
                return groups;
            }
            // The list grew between the two calls: ask again.
            Err(_) if io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) => {}
            Err(_) => return Vec::new(),
        }
    }
    Vec::new()
}

/// Send `signal` to `target`: a pid, or a process group as a negative pid.
/// Signal 0 sends nothing and only asks whether it exists and may be
/// signalled (`EPERM`: it exists, but is another user's).
pub fn kill(target: libc::pid_t, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: kill passes no memory; any pid and signal number is accepted
    // or refused with an error.
    if unsafe { libc::kill(target, signal) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Send `signal` to every process of the group `group`. The caller makes
/// sure the group is the one it means (a child not yet reaped keeps its
/// pid, which is its group's id, from being reused).
pub fn kill_group(group: libc::pid_t, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: killpg passes no memory.
    if unsafe { libc::killpg(group, signal) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The process group of `pid`, if it exists.
pub fn process_group(pid: libc::pid_t) -> Option<libc::pid_t> {
    // SAFETY: getpgid only reads a process group id.
    let group = unsafe { libc::getpgid(pid) };
    (group >= 0).then_some(group)
}

/// This process's own process group. Cannot fail.
pub fn own_process_group() -> libc::pid_t {
    // SAFETY: getpgrp has no preconditions and cannot fail.
    unsafe { libc::getpgrp() }
}

/// This process's own session id. Cannot fail.
pub fn own_session() -> libc::pid_t {
    // SAFETY: getsid(0) asks for our own session and cannot fail.
    unsafe { libc::getsid(0) }
}

/// Has our child `pid` exited? Asked without reaping it (`WNOWAIT`), so
/// its pid stays its own until `Child::try_wait` or `wait` reaps it.
#[cfg(target_os = "linux")]
pub fn has_exited(pid: u32) -> io::Result<bool> {
    // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid fills `info`, which lives across the call; WNOWAIT
    // leaves the child to be reaped by its owner.
    let asked = unsafe {
        libc::waitid(
            libc::P_PID,
            pid,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if asked < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: waitid succeeded, so si_pid is set (0 while still running).
    Ok(unsafe { info.si_pid() } != 0)
}

/// Wait until one of `fds` is ready for what it asks, or `millis` passed;
/// each `revents` is filled. Returns how many are ready (0: timed out).
pub fn poll(fds: &mut [libc::pollfd], millis: libc::c_int) -> io::Result<usize> {
    let count = libc::nfds_t::try_from(fds.len()).map_err(io::Error::other)?;
    // SAFETY: `fds` is a valid, exclusively borrowed array of `count`
    // pollfd structs; poll writes only their `revents`.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), count, millis) };
    usize::try_from(rc).map_err(|_| io::Error::last_os_error())
}

/// Make `cmd`'s child start a session of its own (`setsid`) before it
/// runs the program; a failure fails the spawn.
pub fn new_session_on_spawn(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and only
    // calls setsid, which is async-signal-safe and touches no memory of
    // the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_groups_are_the_ones_id_reports() {
        let out = Command::new("id").arg("-G").output().unwrap();
        let mut listed: Vec<u32> = String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(|g| g.parse().unwrap())
            .collect();
        let mut ours = supplementary_groups();
        ours.push(egid());
        for list in [&mut listed, &mut ours] {
            list.sort_unstable();
            list.dedup();
        }
        assert_eq!(ours, listed);
    }
}
