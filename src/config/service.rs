//! `[[service]]`: what healthcheck may restart, how, and within which budget
//! Validated here so that a restart can never run with a
//! malformed unit name or an empty argv.

use std::time::Duration;
use toml::Spanned;
use toml::de::DeValue;

use super::raw::RawService;
use crate::spec::service::{
    DEFAULT_COOLDOWN, DEFAULT_GRACE, DEFAULT_MAX_RESTARTS, DEFAULT_SETTLE, DEFAULT_STOP_TIMEOUT,
    DEFAULT_VERIFY, DEFAULT_WINDOW, Manager, ServiceSpec, WhenStopped,
};
use crate::vocab::platform::{self, Platform};
use crate::vocab::{Builder, Errors, Spans, deserialize_table, expand_tilde};

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
        let Some(raw) = deserialize_table::<RawService>(errors, &prefix, value) else {
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
