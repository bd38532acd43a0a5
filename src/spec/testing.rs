//! Configs for the rule tests, built in code with the defaults the parser
//! gives, so that a parser bug cannot break a rule test (`decide`,
//! `notify::plan`). The probes are never run: a rule test judges outcomes
//! it made itself.

use std::sync::Arc;
use std::time::Duration;

use super::alert::Alerting;
use super::probe::{Probe, ProbeContext};
use super::service::{
    DEFAULT_COOLDOWN, DEFAULT_GRACE, DEFAULT_MAX_RESTARTS, DEFAULT_SETTLE, DEFAULT_STOP_TIMEOUT,
    DEFAULT_VERIFY, DEFAULT_WINDOW,
};
use super::{CheckSpec, Config, Manager, ServiceSpec, Settings, WhenStopped};
use crate::model::{Outcome, Thresholds};

/// The probe of a check in a rule test: never run.
struct NotProbed;

impl Probe for NotProbed {
    fn probe(&self, _ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        anyhow::bail!("a rule test judges outcomes it made; it never probes")
    }
}

impl Config {
    /// No checks, no services, no channels; the default settings.
    pub fn for_tests() -> Config {
        Config {
            origin: "(test)".into(),
            settings: Settings {
                state_dir: std::env::temp_dir(),
                timeout: Duration::from_secs(10),
                deadline: Duration::from_secs(50),
                hostname: "vps-1".into(),
                reports: 100,
                expected_interval: None,
                prometheus_file: None,
                systemctl: vec!["systemctl".into()],
                sc: vec!["sc.exe".into()],
                docker: vec!["docker".into()],
                compose: vec!["docker".into(), "compose".into()],
                journalctl: vec!["journalctl".into()],
            },
            services: Vec::new(),
            checks: Vec::new(),
            alerting: Alerting::default(),
            alerts: Vec::new(),
            schedules: Vec::new(),
            ping: None,
            summary: None,
            page: None,
            warnings: Vec::new(),
        }
    }

    pub fn with_check(mut self, check: CheckSpec) -> Config {
        self.checks.push(check);
        self
    }

    pub fn with_service(mut self, service: ServiceSpec) -> Config {
        self.services.push(service);
        self
    }
}

impl CheckSpec {
    /// A check of `kind` judged by `reading`, with no limits yet.
    pub fn for_tests(name: &str, kind: &'static str, reading: &str) -> CheckSpec {
        CheckSpec {
            leave_stopped: false,
            name: name.into(),
            kind,
            timeout: Duration::from_secs(10),
            on_timeout: crate::model::Status::Unknown,
            after: 1,
            hint: None,
            cap: None,
            judged: Some(reading.into()),
            thresholds: Thresholds::default(),
            restart: None,
            run: None,
            recovery: Default::default(),
            depends_on: Vec::new(),
            when: None,
            on_page: true,
            probe: Arc::new(NotProbed),
        }
    }
}

impl ServiceSpec {
    /// A service restarted by `true`, with the default budget.
    pub fn for_tests(name: &str) -> ServiceSpec {
        ServiceSpec {
            name: name.into(),
            manager: Manager::Command {
                restart: vec!["true".into()],
            },
            max_restarts: DEFAULT_MAX_RESTARTS,
            window: DEFAULT_WINDOW,
            cooldown: DEFAULT_COOLDOWN,
            grace: DEFAULT_GRACE,
            verify: DEFAULT_VERIFY,
            settle: DEFAULT_SETTLE,
            when_stopped: WhenStopped::Restart,
            reset_failed: false,
            stop_timeout: DEFAULT_STOP_TIMEOUT,
            guard: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule tests build what the parser would: the same defaults.
    #[test]
    fn the_test_builders_have_the_parsers_defaults() {
        let parsed = crate::config::load_str(
            "t.toml",
            "[[service]]\nname = \"bot\"\ncommand = { restart = [\"true\"] }\n\
             [[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"/x\"\n",
        )
        .unwrap();
        let (check, built) = (
            &parsed.checks[0],
            CheckSpec::for_tests("bot-log", "file", "age"),
        );
        assert_eq!(
            (
                check.timeout,
                check.after,
                check.cap,
                check.judged.as_deref()
            ),
            (
                built.timeout,
                built.after,
                built.cap,
                built.judged.as_deref()
            )
        );
        assert!(check.thresholds.is_empty() && check.depends_on.is_empty());
        assert_eq!(check.recovery, built.recovery);
        let (service, built) = (&parsed.services[0], ServiceSpec::for_tests("bot"));
        assert_eq!(
            (
                service.max_restarts,
                service.window,
                service.cooldown,
                service.grace,
                service.verify
            ),
            (
                built.max_restarts,
                built.window,
                built.cooldown,
                built.grace,
                built.verify
            )
        );
        let defaults = Config::for_tests();
        assert_eq!(parsed.alerting, defaults.alerting);
        assert_eq!(
            (
                parsed.settings.timeout,
                parsed.settings.deadline,
                parsed.settings.reports
            ),
            (
                defaults.settings.timeout,
                defaults.settings.deadline,
                defaults.settings.reports
            )
        );
        assert_eq!(
            parsed.settings.expected_interval,
            defaults.settings.expected_interval
        );
    }
}
