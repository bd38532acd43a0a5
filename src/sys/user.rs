//! The password database: a user's ids, by name or by uid.

use std::ffi::CStr;

/// The uid and primary gid of the account with this `uid`, if there is one.
pub fn by_uid(uid: u32) -> Option<(u32, u32)> {
    passwd(|entry, buf, result| {
        // SAFETY: every pointer is valid for the call; getpwuid_r
        // writes at most `buf.len()` bytes into `buf`.
        unsafe { libc::getpwuid_r(uid, entry, buf.as_mut_ptr(), buf.len(), result) }
    })
}

/// The uid and primary gid of the account named `name`, if there is one.
pub fn by_name(name: &CStr) -> Option<(u32, u32)> {
    passwd(|entry, buf, result| {
        // SAFETY: as above; `name` is NUL-terminated and outlives the call.
        unsafe { libc::getpwnam_r(name.as_ptr(), entry, buf.as_mut_ptr(), buf.len(), result) }
    })
}

/// The uid and gid of the passwd entry `call` finds, if it finds one; the
/// buffer grows while the entry does not fit (up to 1 MiB).
fn passwd(
    call: impl Fn(*mut libc::passwd, &mut [libc::c_char], *mut *mut libc::passwd) -> libc::c_int,
) -> Option<(u32, u32)> {
    let mut buf = vec![0 as libc::c_char; 4096];
    loop {
        // SAFETY: a zeroed passwd is a valid out-parameter.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let code = call(&mut entry, &mut buf, &mut result);
        if code == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        return (code == 0 && !result.is_null()).then_some((entry.pw_uid, entry.pw_gid));
    }
}
