//! What a name given in the config must look like before healthcheck
//! passes it to a service manager: a unit, a container, a Windows service.

/// Why `name` cannot be a systemd unit name, if it cannot: letters,
/// digits and `:-_.\@` only (systemd's own set), at most 255, not starting
/// with `-` (it would be read as an option: `-H host`). Spaces, `;` and
/// `/` are never part of a unit name.
pub fn unit_name_problem(name: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c);
    if name.is_empty() || name.len() > 255 || name.starts_with('-') || !name.chars().all(allowed) {
        Some(format!(
            "invalid unit name \"{name}\": use letters, digits and :-_.\\@ only, not starting with `-`"
        ))
    } else {
        None
    }
}

/// Why `name` cannot be a container or compose service name, if it
/// cannot: docker's own rule, a letter or digit, then letters, digits and
/// `_.-`.
pub fn container_name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        None
    } else {
        Some(format!(
            "invalid name \"{name}\": use a letter or digit, then letters, digits and _.- only"
        ))
    }
}

/// Why `name` cannot be a Windows service name, if it cannot: not empty,
/// at most 256 characters, no `/` or `\\` (the service manager's own rule),
/// no control characters, not starting with `-`.
pub fn windows_service_name_problem(name: &str) -> Option<String> {
    let bad = |c: char| c == '/' || c == '\\' || c.is_control();
    if name.trim().is_empty()
        || name.chars().count() > 256
        || name.starts_with('-')
        || name.chars().any(bad)
    {
        Some(format!(
            "invalid service name \"{name}\": at most 256 characters, no / or \\, not starting with `-`"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_windows_service_name_cannot_be_an_option_or_a_path() {
        assert_eq!(windows_service_name_problem("Spooler"), None);
        assert_eq!(windows_service_name_problem("My Bot Service"), None);
        for bad in ["", " ", "-x", "a/b", "a\\b", "a\nb"] {
            assert!(windows_service_name_problem(bad).is_some(), "{bad:?}");
        }
    }
}
