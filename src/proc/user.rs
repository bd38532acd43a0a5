//! Who a process runs as: the `user` of `process` checks and managers, so
//! that another user's `python main.py` neither satisfies a check nor gets
//! stopped by a restart. A name or a uid, looked up once, when the config
//! is read.

/// A user as the config names it, with its ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// As written: "trader" or "1001".
    pub name: String,
    pub uid: u32,
    /// The user's primary group (a uid without an account: the same number).
    pub gid: u32,
}

impl std::fmt::Display for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// Look `text` up: a user name, or a uid (digits). Linux only, where
/// /proc tells whose each process is.
#[cfg(target_os = "linux")]
pub fn lookup(text: &str) -> Result<User, String> {
    let by_uid = text.parse::<u32>().ok();
    if by_uid.is_none() && (text.is_empty() || text.contains('\0')) {
        return Err(format!("\"{text}\" is not a user name or a uid"));
    }
    let found = match by_uid {
        Some(uid) => crate::sys::user::by_uid(uid),
        None => {
            let name = std::ffi::CString::new(text).map_err(|e| e.to_string())?;
            crate::sys::user::by_name(&name)
        }
    };
    match (found, by_uid) {
        (Some((uid, gid)), _) => Ok(User {
            name: text.to_string(),
            uid,
            gid,
        }),
        (None, Some(uid)) => Ok(User {
            name: text.to_string(),
            uid,
            gid: uid,
        }),
        (None, None) => Err(format!("there is no user \"{text}\" on this machine")),
    }
}

/// Elsewhere the process table does not say whose a process is: a `user`
/// is a config error.
#[cfg(not(target_os = "linux"))]
pub fn lookup(_text: &str) -> Result<User, String> {
    Err("`user` is supported on Linux only".into())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_found_by_name_or_uid() {
        let root = lookup("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(lookup("0").unwrap().uid, 0);
        // A uid without an account is still a uid.
        let unnamed = lookup("4000123").unwrap();
        assert_eq!((unnamed.uid, unnamed.gid), (4000123, 4000123));
        assert_eq!(
            lookup("no-such-user-hc").unwrap_err(),
            "there is no user \"no-such-user-hc\" on this machine"
        );
    }
}
