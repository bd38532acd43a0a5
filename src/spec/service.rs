//! `[[service]]`, compiled: what healthcheck may restart, how, and within
//! which budget.

use std::path::PathBuf;
use std::time::Duration;

use crate::spec::probe::Watched;

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
    pub fn watched(&self) -> Option<Watched> {
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
