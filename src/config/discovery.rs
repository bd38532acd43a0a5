//! Where the config and the state live when nobody says: the config file's
//! search order, `~` expansion, the default state directory, the host name.

use std::path::{Path, PathBuf};

use crate::spec::Config;
use crate::vocab::platform::Platform;
#[cfg(unix)]
use crate::vocab::values::home;

/// Where the config is, first found wins: `--config`, `$HEALTHCHECK_CONFIG`,
/// `./healthcheck.toml`, then the system's places (`system_configs`). `None`: run the embedded default.
pub fn discover(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("HEALTHCHECK_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let mut candidates = vec![PathBuf::from("healthcheck.toml")];
    candidates.extend(system_configs());
    candidates.into_iter().find(|p| p.is_file())
}

/// Where `discover` looks on `on` after `--config` and
/// `$HEALTHCHECK_CONFIG`, as a user would write it (for "no config found").
pub fn searched(on: Platform) -> &'static str {
    match on {
        Platform::Unix => "./healthcheck.toml, $XDG_CONFIG_HOME/healthcheck/, /etc/healthcheck/",
        Platform::Windows => r".\healthcheck.toml, %ProgramData%\healthcheck\healthcheck.toml",
    }
}

/// What a run says when it found no config and runs `default` (the
/// embedded default): where it looked, what it checks instead.
pub fn no_config_found(default: &Config) -> String {
    let names: Vec<&str> = default.checks.iter().map(|c| c.name.as_str()).collect();
    format!(
        "healthcheck: no config found ({}); running the embedded default ({}). Create one with: healthcheck init",
        searched(Platform::current()),
        names.join(", ")
    )
}

/// What `status` and `history` say on stderr when they found no config:
/// the state they show is the embedded default's, maybe another install's.
pub fn no_config_shown(default: &Config) -> String {
    format!(
        "healthcheck: no config found ({}); showing the state in {} of the embedded default config, which may not be the one your runs use (pass --config FILE)",
        searched(Platform::current()),
        default.settings.state_dir.display()
    )
}

/// Unix: the XDG config dir, then `/etc/healthcheck/`.
#[cfg(unix)]
fn system_configs() -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config")));
    if let Some(dir) = xdg {
        candidates.push(dir.join("healthcheck/healthcheck.toml"));
    }
    candidates.push(PathBuf::from("/etc/healthcheck/healthcheck.toml"));
    candidates
}

/// Windows: `%ProgramData%\healthcheck\healthcheck.toml`.
#[cfg(windows)]
fn system_configs() -> Vec<PathBuf> {
    vec![program_data().join("healthcheck.toml")]
}

/// `%ProgramData%\healthcheck` (`C:\ProgramData` when the variable is unset):
/// the config and the state of a machine-wide install.
#[cfg(windows)]
fn program_data() -> PathBuf {
    std::env::var_os("ProgramData")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from)
        .join("healthcheck")
}

/// The state directory when the config names none: `$STATE_DIRECTORY`, else `/var/lib/healthcheck` for root, else the XDG state dir.
pub(super) fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("STATE_DIRECTORY").filter(|d| !d.is_empty()) {
        // systemd may pass several, colon-separated: the first is ours.
        let first = d
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        return PathBuf::from(first);
    }
    #[cfg(unix)]
    if crate::sys::process::euid() == 0 {
        return PathBuf::from("/var/lib/healthcheck");
    }
    #[cfg(windows)]
    return program_data();
    #[cfg(not(windows))]
    std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".local/state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("healthcheck")
}

pub(super) fn system_hostname() -> String {
    sysinfo::System::host_name().unwrap_or_else(|_| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_config_wins_even_if_missing() {
        let p = Path::new("/nonexistent/healthcheck.toml");
        assert_eq!(discover(Some(p)), Some(p.to_path_buf()));
    }

    #[test]
    fn no_config_found_names_the_places_of_the_platform() {
        assert_eq!(
            searched(Platform::Windows),
            r".\healthcheck.toml, %ProgramData%\healthcheck\healthcheck.toml"
        );
        assert!(searched(Platform::Unix).contains("/etc/healthcheck/"));
    }
}
