//! The `alertmanager` channel against a real Alertmanager on loopback:
//! alerts appear with their labels and annotations, are re-posted while
//! they last, resolve after recovery, and an Alertmanager that is down
//! gets the queued alerts when it is back.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::alerts::{code_check, set};
use crate::harness::{self, Env, TcpListenerPort};

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// A real Alertmanager with one do-nothing receiver, killed on drop.
struct Alertmanager {
    child: Child,
    url: String,
}

impl Alertmanager {
    fn start(dir: &Path, port: u16) -> Alertmanager {
        std::fs::create_dir_all(dir).unwrap();
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n",
        )
        .unwrap();
        let child = Command::new(ALERTMANAGER)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let am = Alertmanager {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while ureq::get(format!("{}/-/ready", am.url)).call().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "Alertmanager not ready within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        am
    }

    /// The active alerts (`GET /api/v2/alerts`).
    fn alerts(&self) -> Vec<Value> {
        let mut response = ureq::get(format!("{}/api/v2/alerts", self.url))
            .call()
            .unwrap();
        let body = response.body_mut().read_to_string().unwrap();
        serde_json::from_str::<Vec<Value>>(&body).unwrap()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(env: &Env, url: &str) {
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\nhostname = \"vps-1\"\nexpected_interval = \"5m\"\n\n\
         [[service]]\nname = \"bot-svc\"\ncommand = {{ restart = [\"true\"] }}\n\n\
         [[alert]]\ntype = \"alertmanager\"\nurl = \"{url}\"\nlabels = {{ team = \"ops\" }}\ntimeout = \"3s\"\n\n\
         {}restart = \"bot-svc\"\n",
        env.path("state").display(),
        code_check(env)
    ));
}

fn ends_at(alert: &Value) -> jiff::Timestamp {
    alert["endsAt"].as_str().unwrap().parse().unwrap()
}

#[test]
fn alerts_appear_with_their_labels_are_kept_alive_and_resolve_after_recovery() {
    if !Path::new(ALERTMANAGER).exists() {
        harness::missing("alertmanager", "apt-get install prometheus-alertmanager");
        return;
    }
    let env = Env::new();
    let am = Alertmanager::start(&env.path("am"), TcpListenerPort::free());
    config(&env, &am.url);
    set(&env, 2);
    let run = env.run(&[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let alerts = am.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    let labels = &a["labels"];
    assert_eq!(labels["alertname"], "HealthcheckProblem", "{a:#}");
    assert_eq!(labels["check"], "bot", "{a:#}");
    assert_eq!(labels["host"], "vps-1", "{a:#}");
    assert_eq!(labels["severity"], "critical", "{a:#}");
    assert_eq!(labels["service"], "bot-svc", "{a:#}");
    assert_eq!(labels["team"], "ops", "{a:#}");
    assert_eq!(a["annotations"]["hint"], "restart the bot", "{a:#}");
    assert!(
        a["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("bot"),
        "{a:#}"
    );
    assert!(
        a["annotations"]["description"]
            .as_str()
            .unwrap()
            .contains("bot status"),
        "{a:#}"
    );
    let first_end = ends_at(a);
    let now = jiff::Timestamp::now();
    assert!(
        first_end > now + jiff::SignedDuration::from_mins(10)
            && first_end <= now + jiff::SignedDuration::from_mins(16),
        "endsAt is 3 x expected_interval ahead: {first_end}"
    );

    // Still failing: re-posted, so endsAt moves on.
    std::thread::sleep(Duration::from_millis(1100));
    env.run(&[]);
    let alerts = am.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(ends_at(&alerts[0]) > first_end, "{alerts:#?}");

    // A recovery is told after 2 OK runs in a row.
    set(&env, 0);
    for _ in 0..2 {
        let run = env.run(&[]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    }
    let alerts = am.alerts();
    assert!(alerts.is_empty(), "resolved after recovery: {alerts:#?}");
}

#[test]
fn a_down_alertmanager_queues_like_any_channel() {
    if !Path::new(ALERTMANAGER).exists() {
        harness::missing("alertmanager", "apt-get install prometheus-alertmanager");
        return;
    }
    let env = Env::new();
    let port = TcpListenerPort::free();
    config(&env, &format!("http://127.0.0.1:{port}"));
    set(&env, 1);
    let json = env.run(&["--format", "json"]).json();
    assert_eq!(json["alerts"][0]["channel"], "alertmanager", "{json:#}");
    assert_eq!(json["alerts"][0]["outcome"], "queued", "{json:#}");

    let am = Alertmanager::start(&env.path("am"), port);
    set(&env, 2);
    let json = env.run(&["--format", "json"]).json();
    assert_eq!(json["alerts"][0]["outcome"], "sent", "{json:#}");
    let alerts = am.alerts();
    let severities: Vec<&str> = alerts
        .iter()
        .map(|a| a["labels"]["severity"].as_str().unwrap())
        .collect();
    assert_eq!(
        severities,
        ["critical"],
        "the queued warning was delivered, then replaced: {alerts:#?}"
    );
}
