//! The Windows API: Job objects, process handles, free disk space and the
//! system's CPU times. Every handle is owned by a value that closes it on
//! drop, so none leaks and none is used after it is closed.

use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

use windows_sys::Win32::Foundation::{CloseHandle, FILETIME, HANDLE, WAIT_TIMEOUT};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, TerminateJobObject,
};
use windows_sys::Win32::System::Threading::{
    GetSystemTimes, OpenProcess, TerminateProcess, WaitForSingleObject,
};

#[link(name = "ntdll")]
unsafe extern "system" {
    /// Resumes every thread of a process (the child was created suspended).
    fn NtResumeProcess(process: HANDLE) -> i32;
}

#[link(name = "kernel32")]
unsafe extern "system" {
    fn GetDiskFreeSpaceExW(
        dir: *const u16,
        caller_free: *mut u64,
        total: *mut u64,
        total_free: *mut u64,
    ) -> i32;
}

/// Let a child created suspended (`CREATE_SUSPENDED`) run. False when the
/// system refused.
pub fn resume(child: &Child) -> bool {
    // SAFETY: the handle is the child's, open for as long as `child` lives.
    unsafe { NtResumeProcess(child.as_raw_handle() as HANDLE) >= 0 }
}

/// An anonymous Job object holding a child and everything it starts; its
/// handle is closed on drop, which does not end the processes.
pub struct JobObject(HANDLE);

impl JobObject {
    /// A new job with `child` in it (best while the child is suspended, so
    /// that all it starts is in the job too); `None` when the system
    /// refused either step.
    pub fn adopt(child: &Child) -> Option<JobObject> {
        // SAFETY: no security attributes, no name: a new anonymous job.
        let job = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if job.is_null() {
            return None;
        }
        let job = JobObject(job);
        // SAFETY: both handles are open: the job's until `job` drops, the
        // child's while `child` lives.
        if unsafe { AssignProcessToJobObject(job.0, child.as_raw_handle() as HANDLE) } == 0 {
            return None;
        }
        Some(job)
    }

    /// End every process in the job. False when the system refused.
    pub fn terminate(&self) -> bool {
        // SAFETY: the job handle is open until drop.
        unsafe { TerminateJobObject(self.0, 1) != 0 }
    }
}

impl Drop for JobObject {
    fn drop(&mut self) {
        // SAFETY: the handle is ours and used no more.
        unsafe { CloseHandle(self.0) };
    }
}

/// An open handle to a running (or exited, not yet forgotten) process,
/// closed on drop.
pub struct Process(HANDLE);

impl Process {
    /// Open `pid` with `access` (`PROCESS_*` rights). The error is the
    /// system's (`ERROR_ACCESS_DENIED`: another user's process).
    pub fn open(pid: u32, access: u32) -> io::Result<Process> {
        // SAFETY: OpenProcess has no memory preconditions.
        let h = unsafe { OpenProcess(access, 0, pid) };
        if h.is_null() {
            Err(io::Error::last_os_error())
        } else {
            Ok(Process(h))
        }
    }

    /// Whether it still runs after `wait` (needs `PROCESS_SYNCHRONIZE`).
    pub fn runs_after(&self, wait: Duration) -> bool {
        let millis = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX);
        // SAFETY: the handle is open until drop.
        unsafe { WaitForSingleObject(self.0, millis) == WAIT_TIMEOUT }
    }

    /// End it with exit code 1 (needs `PROCESS_TERMINATE`). False when the
    /// system refused: `io::Error::last_os_error` says why.
    pub fn terminate(&self) -> bool {
        // SAFETY: the handle is open until drop.
        unsafe { TerminateProcess(self.0, 1) != 0 }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // SAFETY: the handle is ours and used no more.
        unsafe { CloseHandle(self.0) };
    }
}

/// The bytes free to this user, in total, and free in all on the volume
/// holding `path`.
pub fn disk_free_space(path: &Path) -> io::Result<(u64, u64, u64)> {
    let wide: Vec<u16> = path
        .as_os_str()
        .encode_wide()
        .chain(std::iter::once(0))
        .collect();
    let (mut available, mut total, mut free) = (0u64, 0u64, 0u64);
    // SAFETY: wide is NUL-terminated; the three outputs are valid u64s.
    if unsafe { GetDiskFreeSpaceExW(wide.as_ptr(), &mut available, &mut total, &mut free) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((available, total, free))
}

/// The system's idle, kernel (idle included) and user times since boot,
/// in 100 ns ticks summed over all CPUs.
pub fn system_times() -> io::Result<(u64, u64, u64)> {
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut idle, mut kernel, mut user) = (zero, zero, zero);
    // SAFETY: three valid FILETIME out-pointers.
    if unsafe { GetSystemTimes(&mut idle, &mut kernel, &mut user) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let ticks = |t: FILETIME| (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime);
    Ok((ticks(idle), ticks(kernel), ticks(user)))
}
