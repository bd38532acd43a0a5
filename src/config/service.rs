//! `[[service]]`: what healthcheck may restart, how, and within which budget
//! Validated here so that a restart can never run with a
//! malformed unit name or an empty argv.

use super::builder::{Spans, deserialize_table};
use super::errors::Errors;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;
use toml::de::DeValue;

use super::platform::{self, Platform};
use super::raw::RawService;
use super::{Builder, expand_tilde};

/// How a service is restarted.
#[derive(Debug, Clone)]
pub enum Manager {
    Systemd {
        unit: String,
    },
    Docker {
        container: String,
    },
    Compose {
        file: PathBuf,
        service: String,
    },
    Process {
        pattern: regex::Regex,
        start: Vec<String>,
        cwd: Option<PathBuf>,
        log: Option<PathBuf>,
        /// Only this user's matches are stopped, and the copy started
        /// runs as this user.
        user: Option<crate::proc::user::User>,
    },
    Command {
        restart: Vec<String>,
    },
    WindowsService {
        service: String,
    },
}

impl Manager {
    /// What this manager restarts, as a check would name it.
    pub fn watched(&self) -> Option<crate::check::Watched> {
        use crate::check::Watched;
        match self {
            Manager::Systemd { unit } => Some(Watched::Unit(unit.clone())),
            Manager::Docker { container } => Some(Watched::Container(container.clone())),
            Manager::Process { pattern, .. } => {
                Some(Watched::Process(pattern.as_str().to_string()))
            }
            Manager::Compose { .. } | Manager::Command { .. } | Manager::WindowsService { .. } => {
                None
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Manager::Systemd { .. } => "systemd",
            Manager::Docker { .. } => "docker",
            Manager::Compose { .. } => "compose",
            Manager::Process { .. } => "process",
            Manager::Command { .. } => "command",
            Manager::WindowsService { .. } => "windows_service",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub name: String,
    pub manager: Manager,
    /// Restarts allowed per `window` before the service is suspended.
    pub max_restarts: u32,
    pub window: Duration,
    /// Minimum time between two restarts.
    pub cooldown: Duration,
    /// After a restart, its checks are not acted on for this long.
    pub grace: Duration,
    /// How long to wait for the service to come up.
    pub verify: Duration,
    /// How long it must then stay up (the same instance, still running)
    /// for the restart to count: a bot that dies on a bad key a moment
    /// after starting was not restarted.
    pub settle: Duration,
    /// What to do with a service stopped on purpose (cleanly, not crashed).
    pub when_stopped: WhenStopped,
    /// Clear systemd's failed state and start-limit counter before a restart.
    pub reset_failed: bool,
    /// How long a stopped `process` gets to exit before it is killed.
    pub stop_timeout: Duration,
    /// Runs before a restart; exit 0 allows it.
    pub guard: Option<Vec<String>>,
}

pub const SERVICE_KEYS: &[&str] = &[
    "name",
    "systemd",
    "docker",
    "compose",
    "process",
    "command",
    "windows_service",
    "max_restarts",
    "window",
    "cooldown",
    "grace",
    "verify",
    "settle",
    "stop_timeout",
    "guard",
    "when_stopped",
    "reset_failed",
];

/// What to do with a service that was stopped on purpose: a systemd unit
/// that is inactive with `Result=success` (`systemctl stop`), not a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenStopped {
    /// Restart it like a crashed one (the default: a watchdog that a stop
    /// silences would miss a bot stopped by mistake).
    Restart,
    /// Report it as a WARNING "stopped (not failed); left alone".
    Leave,
}

/// The budget and timing defaults (3 per hour).
pub const DEFAULT_MAX_RESTARTS: u32 = 3;
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(3600);
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(120);
pub const DEFAULT_GRACE: Duration = Duration::from_secs(120);
pub const DEFAULT_VERIFY: Duration = Duration::from_secs(10);
/// How long a restarted service must stay up, unless `verify` is shorter.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(3);
/// How long a stopped process gets to exit before it is killed.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why `name` cannot be a systemd unit name, if it cannot: letters,
/// digits and `:-_.\@` only (systemd's own set), at most 255, not starting
/// with `-` (it would be read as an option: `-H host`). Spaces, `;` and
/// `/` are never part of a unit name.
pub(super) fn unit_name_problem(name: &str) -> Option<String> {
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
pub(super) fn container_name_problem(name: &str) -> Option<String> {
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
pub(super) fn windows_service_name_problem(name: &str) -> Option<String> {
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

pub(super) fn compile(raw: RawService, b: &mut Builder) -> Option<ServiceSpec> {
    let declared = [
        raw.systemd.is_some(),
        raw.docker.is_some(),
        raw.compose.is_some(),
        raw.process.is_some(),
        raw.command.is_some(),
        raw.windows_service.is_some(),
    ]
    .into_iter()
    .filter(|d| *d)
    .count();
    let is_systemd = raw.systemd.is_some();
    let mut managers = Vec::new();
    if let Some(unit) = raw.systemd {
        b.unit_name("systemd", &unit);
        managers.push(Manager::Systemd { unit });
    }
    if let Some(container) = raw.docker {
        b.container_name("docker", &container);
        managers.push(Manager::Docker { container });
    }
    if let Some(c) = raw.compose {
        b.container_name("compose", &c.service);
        managers.push(Manager::Compose {
            file: expand_tilde(&c.file),
            service: c.service,
        });
    }
    if let Some(p) = raw.process {
        if p.start.is_empty() {
            b.error(
                "process",
                "`start` must name a program: start = [\"./venv/bin/python\", \"main.py\"]",
            );
        }
        let user = match p.user.as_deref().map(crate::proc::user::lookup) {
            Some(Err(why)) => {
                b.error("process", format!("user: {why}"));
                None
            }
            Some(Ok(user)) => Some(Some(user)),
            None => Some(None),
        };
        if let (Some(pattern), Some(user)) = (b.regex("process", &p.match_), user) {
            managers.push(Manager::Process {
                pattern,
                start: p.start,
                cwd: p.cwd.as_deref().map(expand_tilde),
                log: p.log.as_deref().map(expand_tilde),
                user,
            });
        }
    }
    if let Some(c) = raw.command {
        if c.restart.is_empty() {
            b.error("command", "`restart` must name a program");
        }
        managers.push(Manager::Command { restart: c.restart });
    }
    if let Some(service) = raw.windows_service {
        b.windows_service_name("windows_service", &service);
        managers.push(Manager::WindowsService { service });
    }
    for manager in &managers {
        let key = manager.kind();
        if let Some(why) = platform::manager_unavailable(key, Platform::current()) {
            b.error(key, why);
        }
    }
    if declared != 1 {
        b.error(
            "name",
            format!(
                "service `{}` needs exactly one of systemd, docker, compose, process, command, windows_service (it has {declared})",
                raw.name
            ),
        );
    }
    let mut duration = |key: &str, text: Option<String>, default: Duration| {
        text.and_then(|t| b.duration(key, &t)).unwrap_or(default)
    };
    let window = duration("window", raw.window, DEFAULT_WINDOW);
    let cooldown = duration("cooldown", raw.cooldown, DEFAULT_COOLDOWN);
    let grace = duration("grace", raw.grace, DEFAULT_GRACE);
    let verify = duration("verify", raw.verify, DEFAULT_VERIFY);
    let settle = duration("settle", raw.settle, DEFAULT_SETTLE.min(verify));
    let stop_timeout = duration("stop_timeout", raw.stop_timeout, DEFAULT_STOP_TIMEOUT);
    if settle > verify {
        b.error(
            "settle",
            format!(
                "must be at most `verify` ({}s): the service gets `verify` to come up and stay up",
                verify.as_secs()
            ),
        );
    }
    let when_stopped = match raw.when_stopped.as_deref() {
        None | Some("restart") => WhenStopped::Restart,
        Some("leave") => WhenStopped::Leave,
        Some(other) => {
            b.error(
                "when_stopped",
                format!("unknown value \"{other}\": use \"restart\" or \"leave\""),
            );
            WhenStopped::Restart
        }
    };
    let reset_failed = raw.reset_failed.unwrap_or(false);
    if reset_failed && !is_systemd {
        b.error(
            "reset_failed",
            "applies to systemd services only (it runs `systemctl reset-failed`)",
        );
    }
    let max_restarts = raw.max_restarts.unwrap_or(DEFAULT_MAX_RESTARTS);
    if max_restarts == 0 {
        b.error(
            "max_restarts",
            "must be at least 1 (leave `restart` off the checks to never restart)",
        );
    }
    if window.is_zero() {
        b.error("window", "must be longer than 0s");
    }
    if raw.guard.as_ref().is_some_and(Vec::is_empty) {
        b.error("guard", "must name a program, or be left out");
    }
    Some(ServiceSpec {
        name: raw.name,
        manager: managers.into_iter().next()?,
        max_restarts,
        window,
        cooldown,
        grace,
        verify,
        settle,
        when_stopped,
        reset_failed,
        stop_timeout,
        guard: raw.guard,
    })
}

/// Compile every `[[service]]`; duplicate names are errors.
pub(super) fn compile_services(
    errors: &mut Errors,
    tables: Vec<Spanned<DeValue>>,
) -> Vec<ServiceSpec> {
    let mut services: Vec<ServiceSpec> = Vec::new();
    for (i, value) in tables.into_iter().enumerate() {
        let prefix = format!("service[{i}]");
        let spans = Spans::of(prefix.clone(), &value);
        let Some(raw) = deserialize_table::<RawService>(errors, &prefix, value, SERVICE_KEYS)
        else {
            continue;
        };
        let before = errors.list.len();
        let mut b = spans.builder(errors, None);
        if services.iter().any(|s| s.name == raw.name) {
            b.error("name", format!("duplicate service name `{}`", raw.name));
        }
        let name = raw.name.clone();
        let spec = compile(raw, &mut b);
        match spec.filter(|_| errors.list.len() == before) {
            Some(spec) => services.push(spec),
            None => errors.broken.push(format!("service:{name}")),
        }
    }
    services
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
