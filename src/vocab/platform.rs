//! Which check types, service managers, keys and readings work on which
//! system. One table, read by the validation of `[[check]]` and `[[service]]`, so
//! that a config using what cannot work here is refused by `validate`
//! (naming the key) instead of failing at 3 a.m. The rule is a pure
//! function of the platform, so both sides are unit-tested on Linux; only
//! `Platform::current` looks at what this build is.

/// The systems whose builds differ in what they can check and restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Unix,
    Windows,
}

impl Platform {
    /// The system this binary was built for.
    pub fn current() -> Platform {
        if cfg!(windows) {
            Platform::Windows
        } else {
            Platform::Unix
        }
    }

    fn name(self) -> &'static str {
        match self {
            Platform::Unix => "Unix",
            Platform::Windows => "Windows",
        }
    }
}

/// Check types and managers (the same names: a `systemd` check and a
/// `systemd = "unit"` manager) and the one platform they work on. The
/// docker CLI, and with it `docker` and `compose`, exists on both.
const ONLY_ON: &[(&str, Platform, &str)] = &[
    ("systemd", Platform::Unix, "there is no systemd"),
    (
        "windows_service",
        Platform::Windows,
        "it asks the Windows service manager through sc.exe",
    ),
];

/// Keys of check types that name a Unix-only source.
const KEYS_ONLY_ON: &[(&str, Platform, &str)] =
    &[("journal", Platform::Unix, "there is no systemd journal")];

/// Readings of a check type that come from `/proc` and have no
/// counterpart elsewhere.
const READINGS_ONLY_ON: &[(&str, &str, Platform, &str)] = &[
    ("cpu", "load1", Platform::Unix, "there is no load average"),
    ("cpu", "load5", Platform::Unix, "there is no load average"),
    ("cpu", "load15", Platform::Unix, "there is no load average"),
];

/// Why `what` (`check type` or `manager`) `name` cannot be used on `on`,
/// if it cannot.
pub fn unavailable(what: &str, name: &str, on: Platform) -> Option<String> {
    let (_, only, why) = ONLY_ON.iter().find(|(n, p, _)| *n == name && *p != on)?;
    Some(match only {
        Platform::Unix => format!("{what} `{name}` is not available on {} ({why})", on.name()),
        Platform::Windows => format!("{what} `{name}` is only available on Windows ({why})"),
    })
}

/// Why the check key `key` cannot be used on `on`, if it cannot.
pub fn key_unavailable(key: &str, on: Platform) -> Option<String> {
    let (_, _, why) = KEYS_ONLY_ON
        .iter()
        .find(|(k, p, _)| *k == key && *p != on)?;
    Some(format!(
        "key `{key}` is not available on {} ({why})",
        on.name()
    ))
}

/// Why reading `reading` of check type `kind` does not exist on `on`, if
/// it does not.
pub fn reading_unavailable(kind: &str, reading: &str, on: Platform) -> Option<String> {
    let (_, _, _, why) = READINGS_ONLY_ON
        .iter()
        .find(|(k, r, p, _)| *k == kind && *r == reading && *p != on)?;
    Some(format!(
        "reading `{reading}` of type `{kind}` is not available on {} ({why})",
        on.name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_only_checks_and_managers_are_refused_on_windows() {
        assert_eq!(
            unavailable("check type", "systemd", Platform::Windows).as_deref(),
            Some("check type `systemd` is not available on Windows (there is no systemd)")
        );
        assert_eq!(
            unavailable("manager", "systemd", Platform::Windows).as_deref(),
            Some("manager `systemd` is not available on Windows (there is no systemd)")
        );
        assert_eq!(unavailable("check type", "systemd", Platform::Unix), None);
    }

    #[test]
    fn windows_services_are_refused_elsewhere() {
        assert_eq!(
            unavailable("check type", "windows_service", Platform::Unix).as_deref(),
            Some(
                "check type `windows_service` is only available on Windows (it asks the Windows service manager through sc.exe)"
            )
        );
        assert_eq!(
            unavailable("manager", "windows_service", Platform::Windows),
            None
        );
    }

    #[test]
    fn what_works_everywhere_is_never_refused() {
        for name in [
            "file", "log", "process", "docker", "compose", "command", "cpu",
        ] {
            for on in [Platform::Unix, Platform::Windows] {
                assert_eq!(unavailable("check type", name, on), None, "{name}");
            }
        }
    }

    #[test]
    fn the_journal_is_refused_on_windows_only() {
        assert_eq!(
            key_unavailable("journal", Platform::Windows).as_deref(),
            Some("key `journal` is not available on Windows (there is no systemd journal)")
        );
        assert_eq!(key_unavailable("journal", Platform::Unix), None);
        assert_eq!(key_unavailable("path", Platform::Windows), None);
    }

    #[test]
    fn load_averages_are_refused_on_windows_only() {
        assert_eq!(
            reading_unavailable("cpu", "load5", Platform::Windows).as_deref(),
            Some(
                "reading `load5` of type `cpu` is not available on Windows (there is no load average)"
            )
        );
        assert_eq!(reading_unavailable("cpu", "load5", Platform::Unix), None);
        assert_eq!(
            reading_unavailable("cpu", "percent", Platform::Windows),
            None
        );
    }
}
