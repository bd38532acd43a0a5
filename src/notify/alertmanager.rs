//! Prometheus Alertmanager (`type = "alertmanager"`): one alert per
//! problem, POSTed to `<url>/api/v2/alerts`, so that Alertmanager groups,
//! silences and deduplicates across a fleet. Alertmanager forgets an alert
//! at its `endsAt`, so this is not a digest channel only: the outbox
//! delivers each run's news like any channel (a down Alertmanager gets it
//! later: the problem, then its resolution), and every run also re-posts
//! every problem still firing (`refresh`). A firing alert ends 3 runs
//! ahead (3 x `expected_interval`, default 15m): a host that stops
//! running lets its alerts resolve by themselves, and the fleet rule on
//! `healthcheck_last_run_timestamp_seconds` says why.

use crate::secret::Secret;
use serde::Deserialize;
use serde_aux::serde_introspection::serde_introspect;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::ChannelKind;
use crate::http::{self, HttpRequest};
use crate::http::{Budget, Failure};
use crate::model::{Digest, Event, EventKind, Status};
use crate::spec::Config;
use crate::spec::channel::Channel;
use crate::vocab::Builder;

/// The keys of a `type = "alertmanager"` alert beyond the common ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    url: Option<Secret>,
    labels: Option<BTreeMap<String, String>>,
    headers: Option<BTreeMap<String, Secret>>,
}

pub const KIND: ChannelKind = ChannelKind {
    name: "alertmanager",
    keys: serde_introspect::<Keys>,
    secret_keys: &["url"],
    secret_tables: &["headers"],
    build: |table, b| build(&b.keys(table)?, b),
};

/// The labels healthcheck sets itself; `labels` may not replace them.
const OWN_LABELS: &[&str] = &["alertname", "check", "host", "severity", "service"];
/// The interval assumed without `settings.expected_interval` (the timer's).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// How long a `test-alert` alert fires.
const TEST_FIRES: Duration = Duration::from_secs(5 * 60);

struct Alertmanager {
    /// `<url>/api/v2/alerts`.
    endpoint: String,
    headers: Vec<(String, String)>,
    labels: BTreeMap<String, String>,
    /// What the rest of the config tells: each check's service and how
    /// long a firing alert lasts (`bind`).
    bound: OnceLock<Bound>,
}

struct Bound {
    services: BTreeMap<String, String>,
    lasts: Duration,
}

fn build(keys: &Keys, b: &mut Builder) -> Option<Box<dyn Channel>> {
    let url = super::webhook::http_url(&keys.url, b)?;
    let labels = keys.labels.clone().unwrap_or_default();
    for name in labels.keys() {
        let valid = name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if !valid || name.is_empty() {
            b.error(
                "labels",
                format!("`{name}` is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
            );
        } else if OWN_LABELS.contains(&name.as_str()) {
            b.error(
                "labels",
                format!(
                    "`{name}` is set by healthcheck (its own labels: {})",
                    OWN_LABELS.join(", ")
                ),
            );
        }
    }
    let headers = super::webhook::headers(&keys.headers);
    Some(Box::new(Alertmanager {
        endpoint: format!("{}/api/v2/alerts", url.trim_end_matches('/')),
        headers,
        labels,
        bound: OnceLock::new(),
    }))
}

impl Channel for Alertmanager {
    fn bind(&self, config: &Config) {
        let services = config
            .checks
            .iter()
            .filter_map(|c| Some((c.name.clone(), c.restart.clone()?)))
            .collect();
        let interval = config
            .settings
            .expected_interval
            .unwrap_or(DEFAULT_INTERVAL);
        let lasts = interval.checked_mul(3).unwrap_or(interval);
        let _ = self.bound.set(Bound { services, lasts });
    }

    fn deliver(&self, digest: &Digest, budget: Budget) -> Result<(), Failure> {
        self.post(&self.alerts(digest, true), budget)
    }

    fn refresh(&self, firing: &Digest, budget: Budget) -> Result<(), Failure> {
        self.post(&self.alerts(firing, false), budget)
    }
}

impl Alertmanager {
    fn post(&self, alerts: &[Value], budget: Budget) -> Result<(), Failure> {
        if alerts.is_empty() {
            return Ok(());
        }
        let mut request = HttpRequest::post_json(&self.endpoint, &Value::from(alerts.to_vec()));
        request.headers.extend(self.headers.iter().cloned());
        // A 400 is Alertmanager refusing the payload: no later try helps.
        http::send(&request, budget, |status, _| status == 400)
    }

    /// The alerts a digest stands for (pure). A problem is firing; when
    /// `news`, the check's alerts of the other severities are resolved (a
    /// changed severity is another alert to Alertmanager); a recovery
    /// resolves the problem's. Actions, flapping and held notices are not
    /// alerts.
    fn alerts(&self, digest: &Digest, news: bool) -> Vec<Value> {
        let lasts = self.bound.get().map_or(DEFAULT_INTERVAL * 3, |b| b.lasts);
        let at = digest.at;
        let until = |d: Duration| {
            jiff::SignedDuration::try_from(d)
                .ok()
                .and_then(|d| at.checked_add(d).ok())
                .unwrap_or(at)
        };
        let mut out = Vec::new();
        for e in &digest.events {
            match e.kind {
                EventKind::Problem | EventKind::Reminder | EventKind::Trouble => {
                    out.push(self.alert(digest, e, e.status, "HealthcheckProblem", until(lasts)));
                    if news {
                        for other in [Status::Warning, Status::Critical, Status::Unknown] {
                            if other != e.status {
                                out.push(self.alert(digest, e, other, "HealthcheckProblem", at));
                            }
                        }
                    }
                }
                EventKind::Recovery => {
                    out.push(self.alert(digest, e, e.status, "HealthcheckProblem", at));
                }
                EventKind::Test => {
                    out.push(self.alert(digest, e, e.status, "HealthcheckTest", until(TEST_FIRES)));
                }
                EventKind::Flapping
                | EventKind::Action
                | EventKind::ActionFailed
                | EventKind::Held
                | EventKind::Manual
                | EventKind::Summary => {}
            }
        }
        out
    }

    fn alert(
        &self,
        digest: &Digest,
        e: &Event,
        severity: Status,
        alertname: &str,
        ends: jiff::Timestamp,
    ) -> Value {
        let mut labels: Map<String, Value> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        labels.insert("alertname".into(), alertname.into());
        labels.insert("check".into(), e.subject.as_str().into());
        labels.insert("host".into(), digest.host.as_str().into());
        labels.insert("severity".into(), severity.name().into());
        if let Some(service) = self.bound.get().and_then(|b| b.services.get(&e.subject)) {
            labels.insert("service".into(), service.as_str().into());
        }
        let mut annotations = Map::new();
        let summary = if ends > digest.at {
            format!("{} is {} on {}", e.subject, severity.word(), digest.host)
        } else {
            format!(
                "{} is no longer {} on {}",
                e.subject,
                severity.word(),
                digest.host
            )
        };
        annotations.insert("summary".into(), summary.into());
        annotations.insert("description".into(), e.message.as_str().into());
        if let Some(hint) = &e.hint {
            annotations.insert("hint".into(), hint.as_str().into());
        }
        // A resolved alert starts when it ends: Alertmanager keeps the
        // earlier start of the alert it resolves.
        json!({
            "labels": labels,
            "annotations": annotations,
            "startsAt": digest.at,
            "endsAt": ends,
        })
    }
}

/// Re-post the confirmed problems still firing (`firing`: one Reminder
/// event per check) to each `alertmanager` channel, those at or above its
/// `min_severity`, one try each (the next run posts them again). Returns
/// what failed, per channel, free of secrets.
pub fn refresh(config: &Config, firing: &Digest, deadline: Instant) -> Vec<String> {
    let mut failures = Vec::new();
    for spec in config.alerts.iter().filter(|a| a.kind == KIND.name) {
        let events: Vec<Event> = firing
            .events
            .iter()
            .filter(|e| super::reaches(e.status, spec.min_severity))
            .cloned()
            .collect();
        if events.is_empty() {
            continue;
        }
        let digest = Digest {
            events,
            ..firing.clone()
        };
        let budget = Budget {
            tries: 1,
            ..Budget::within(spec.timeout, deadline)
        };
        if let Err(f) = spec.channel.refresh(&digest, budget) {
            failures.push(format!("{}: {}", spec.name, f.message));
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> Alertmanager {
        Alertmanager {
            endpoint: "http://am.example/api/v2/alerts".into(),
            headers: vec![],
            labels: BTreeMap::from([("team".into(), "ops".into())]),
            bound: OnceLock::new(),
        }
    }

    fn digest(kind: EventKind, status: Status) -> Digest {
        Digest {
            host: "vps-1".into(),
            at: "2026-11-22T05:00:00Z".parse().unwrap(),
            events: vec![Event {
                kind,
                subject: "bot".into(),
                status,
                message: "bot status".into(),
                hint: Some("restart the bot".into()),
            }],
            held_back: Vec::new(),
            still_failing: Vec::new(),
            suppressed: 0,
            on_behalf_of: None,
            details: None,
        }
    }

    #[test]
    fn a_problem_fires_three_intervals_ahead_and_resolves_its_other_severities() {
        let alerts = channel().alerts(&digest(EventKind::Problem, Status::Critical), true);
        assert_eq!(alerts.len(), 3, "{alerts:#?}");
        assert_eq!(alerts[0]["labels"]["severity"], "critical");
        assert_eq!(alerts[0]["labels"]["team"], "ops");
        assert_eq!(alerts[0]["endsAt"], "2026-11-22T05:45:00Z");
        assert_eq!(alerts[0]["annotations"]["hint"], "restart the bot");
        for resolved in &alerts[1..] {
            assert_eq!(resolved["endsAt"], "2026-11-22T05:00:00Z");
            assert_ne!(resolved["labels"]["severity"], "critical");
        }
        let refreshed = channel().alerts(&digest(EventKind::Reminder, Status::Critical), false);
        assert_eq!(refreshed.len(), 1);
    }

    #[test]
    fn payload() {
        let mut d = digest(EventKind::Problem, Status::Warning);
        d.events.push(Event {
            kind: EventKind::Recovery,
            subject: "disk".into(),
            status: Status::Critical,
            message: "OK again: used 71% of /".into(),
            hint: None,
        });
        let alerts = Value::from(channel().alerts(&d, true));
        insta::assert_snapshot!(serde_json::to_string_pretty(&alerts).unwrap());
    }

    #[test]
    fn a_recovery_resolves_and_actions_are_not_alerts() {
        let alerts = channel().alerts(&digest(EventKind::Recovery, Status::Warning), true);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0]["labels"]["severity"], "warning");
        assert_eq!(alerts[0]["endsAt"], alerts[0]["startsAt"]);
        assert!(
            channel()
                .alerts(&digest(EventKind::Action, Status::Warning), true)
                .is_empty()
        );
    }
}
