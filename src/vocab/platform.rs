//! Which check types, service managers, keys and readings work on which
//! system: check types declare theirs in their `Kind`, managers here. Read
//! by the validation of `[[check]]` and `[[service]]`, so that a config
//! using what cannot work here is refused by `validate` (naming the key)
//! instead of failing at 3 a.m. The rule is a pure
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

/// Where something works when it does not work everywhere: the one
/// system, and what the others lack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Only {
    pub on: Platform,
    pub why: &'static str,
}

/// Service managers that work on one platform only. The docker CLI, and
/// with it `docker` and `compose`, exists on both. Check types declare
/// theirs in their `Kind`.
const MANAGERS_ONLY_ON: &[(&str, Only)] = &[
    (
        "systemd",
        Only {
            on: Platform::Unix,
            why: "there is no systemd",
        },
    ),
    (
        "windows_service",
        Only {
            on: Platform::Windows,
            why: "it asks the Windows service manager through sc.exe",
        },
    ),
];

/// Why `what` `name` (a check type or a manager) that works only as
/// `only` says cannot be used on `on`, if it cannot.
pub fn refused(what: &str, name: &str, only: Option<Only>, on: Platform) -> Option<String> {
    let only = only.filter(|o| o.on != on)?;
    let why = only.why;
    Some(match only.on {
        Platform::Unix => format!("{what} `{name}` is not available on {} ({why})", on.name()),
        Platform::Windows => format!("{what} `{name}` is only available on Windows ({why})"),
    })
}

/// Why the service manager `name` cannot be used on `on`, if it cannot.
pub fn manager_unavailable(name: &str, on: Platform) -> Option<String> {
    let only = MANAGERS_ONLY_ON
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, o)| *o);
    refused("manager", name, only, on)
}

/// Why the key `key`, which works only as `only` says, cannot be used on
/// `on`, if it cannot.
pub fn key_refused(key: &str, only: Option<Only>, on: Platform) -> Option<String> {
    let only = only.filter(|o| o.on != on)?;
    Some(format!(
        "key `{key}` is not available on {} ({})",
        on.name(),
        only.why
    ))
}

/// Why reading `reading` of check type `kind`, which exists only as
/// `only` says, does not exist on `on`, if it does not.
pub fn reading_refused(
    kind: &str,
    reading: &str,
    only: Option<Only>,
    on: Platform,
) -> Option<String> {
    let only = only.filter(|o| o.on != on)?;
    Some(format!(
        "reading `{reading}` of type `{kind}` is not available on {} ({})",
        on.name(),
        only.why
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{self, Kind};

    fn kind(name: &str) -> &'static Kind {
        check::kind(name).unwrap()
    }

    #[test]
    fn unix_only_checks_and_managers_are_refused_on_windows() {
        assert_eq!(
            kind("systemd").unavailable_on(Platform::Windows).as_deref(),
            Some("check type `systemd` is not available on Windows (there is no systemd)")
        );
        assert_eq!(
            manager_unavailable("systemd", Platform::Windows).as_deref(),
            Some("manager `systemd` is not available on Windows (there is no systemd)")
        );
        assert_eq!(kind("systemd").unavailable_on(Platform::Unix), None);
    }

    #[test]
    fn windows_services_are_refused_elsewhere() {
        assert_eq!(
            kind("windows_service")
                .unavailable_on(Platform::Unix)
                .as_deref(),
            Some(
                "check type `windows_service` is only available on Windows (it asks the Windows service manager through sc.exe)"
            )
        );
        assert_eq!(
            manager_unavailable("windows_service", Platform::Windows),
            None
        );
    }

    #[test]
    fn what_works_everywhere_is_never_refused() {
        for name in ["file", "log", "process", "docker", "command", "cpu"] {
            for on in [Platform::Unix, Platform::Windows] {
                assert_eq!(kind(name).unavailable_on(on), None, "{name}");
            }
        }
        for name in ["docker", "compose", "process", "command"] {
            for on in [Platform::Unix, Platform::Windows] {
                assert_eq!(manager_unavailable(name, on), None, "{name}");
            }
        }
    }

    #[test]
    fn the_journal_is_refused_on_windows_only() {
        for name in ["file", "log"] {
            assert_eq!(
                kind(name)
                    .key_unavailable_on("journal", Platform::Windows)
                    .as_deref(),
                Some("key `journal` is not available on Windows (there is no systemd journal)")
            );
            assert_eq!(
                kind(name).key_unavailable_on("journal", Platform::Unix),
                None
            );
            assert_eq!(
                kind(name).key_unavailable_on("path", Platform::Windows),
                None
            );
        }
    }

    #[test]
    fn load_averages_are_refused_on_windows_only() {
        assert_eq!(
            kind("cpu")
                .reading_unavailable_on("load5", Platform::Windows)
                .as_deref(),
            Some(
                "reading `load5` of type `cpu` is not available on Windows (there is no load average)"
            )
        );
        assert_eq!(
            kind("cpu").reading_unavailable_on("load5", Platform::Unix),
            None
        );
        assert_eq!(
            kind("cpu").reading_unavailable_on("percent", Platform::Windows),
            None
        );
    }
}
