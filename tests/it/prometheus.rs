//! The Prometheus textfile read by its real consumers: `promtool check
//! metrics` and a real node_exporter on loopback with only its textfile
//! collector, scraped over HTTP: every sample arrives, the scrape error is
//! 0, a `--only` run keeps the other checks' series.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{self, Env, TcpListenerPort};

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";
const PROMTOOL: &str = "/usr/bin/promtool";

/// A config whose textfile goes to `textfile/healthcheck.prom`: a file
/// check, a plugin with a repeated label, and SQL-like repeats via `extra`.
fn config(env: &Env, extra: &str) {
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\nprometheus_file = \"{}\"\n\n\
         [[check]]\nname = \"log\"\ntype = \"file\"\npath = \"{}\"\n\n\
         [[check]]\nname = \"plugin\"\ntype = \"command\"\n\
         command = [\"sh\", \"-c\", \"echo 'OK | x=4 x=5 y=1c'\"]\n{extra}",
        env.path("state").display(),
        env.path("textfile/healthcheck.prom").display(),
        env.path("app.log").display(),
    ));
    env.write("app.log", "fine\n");
    std::fs::create_dir_all(env.path("textfile")).unwrap();
}

/// The samples of a metrics text: `name{labels} value` lines.
fn samples(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// `name{labels}` of a sample line.
fn series(sample: &str) -> &str {
    sample.rsplit_once(' ').map_or(sample, |(s, _)| s)
}

#[test]
fn a_run_with_only_keeps_the_other_checks_series() {
    let env = Env::new();
    config(&env, "");
    let run = env.run(&[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let full = std::fs::read_to_string(env.path("textfile/healthcheck.prom")).unwrap();
    assert!(
        full.contains("healthcheck_check_status{check=\"plugin\""),
        "{full}"
    );
    let run = env.run(&["--only", "log"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let after = std::fs::read_to_string(env.path("textfile/healthcheck.prom")).unwrap();
    assert_eq!(
        after, full,
        "an --only run leaves the last full run's textfile"
    );
}

#[test]
fn every_series_is_unique_and_the_run_is_timestamped() {
    let env = Env::new();
    config(&env, "");
    let run = env.run(&[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let text = std::fs::read_to_string(env.path("textfile/healthcheck.prom")).unwrap();
    let all = samples(&text);
    let mut names: Vec<&str> = all.iter().map(|s| series(s)).collect();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "a series repeats:\n{text}");
    assert!(
        text.contains("reading=\"x#2\""),
        "the second x is its own series:\n{text}"
    );
    for metric in [
        "healthcheck_last_run_timestamp_seconds ",
        "healthcheck_run_duration_seconds ",
    ] {
        assert!(text.contains(metric), "{metric} missing:\n{text}");
    }
}

#[test]
fn promtool_accepts_the_textfile() {
    if !Path::new(PROMTOOL).exists() {
        harness::missing("promtool", "apt-get install prometheus");
        return;
    }
    let env = Env::new();
    config(&env, "");
    env.run(&[]);
    let out = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(env.path("textfile/healthcheck.prom")).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A node_exporter with only the textfile collector, killed on drop.
struct NodeExporter {
    child: Child,
    url: String,
}

impl NodeExporter {
    fn start(dir: &Path) -> NodeExporter {
        let port = TcpListenerPort::free();
        let child = Command::new(NODE_EXPORTER)
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!("--collector.textfile.directory={}", dir.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        NodeExporter {
            child,
            url: format!("http://127.0.0.1:{port}/metrics"),
        }
    }

    /// `/metrics`, once node_exporter answers (bounded generously).
    fn scrape(&self) -> String {
        let started = Instant::now();
        loop {
            if let Ok(mut response) = ureq::get(&self.url).call() {
                return response.body_mut().read_to_string().unwrap();
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "node_exporter did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn node_exporter_serves_every_sample_without_a_scrape_error() {
    if !Path::new(NODE_EXPORTER).exists() {
        harness::missing("node_exporter", "apt-get install prometheus-node-exporter");
        return;
    }
    let env = Env::new();
    let db = env.path("rows.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE t (label TEXT, n INTEGER);\
             INSERT INTO t VALUES ('same', 5), ('same', 6), ('a\"b\\c', 7);",
        )
        .unwrap();
    config(
        &env,
        &format!(
            "\n[[check]]\nname = \"rows\"\ntype = \"sql\"\ndriver = \"sqlite\"\ndatabase = \"{}\"\n\
             query = \"SELECT label, n FROM t\"\nexpect = \"value\"\nlabel_column = 1\n",
            db.display()
        ),
    );
    let run = env.run(&[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let text = std::fs::read_to_string(env.path("textfile/healthcheck.prom")).unwrap();
    let ours = samples(&text);
    let exporter = NodeExporter::start(&env.path("textfile"));
    let scraped = exporter.scrape();
    let served = samples(&scraped);
    let value = |s: &str| -> f64 { s.rsplit_once(' ').unwrap().1.parse().unwrap() };
    for sample in &ours {
        assert!(
            served
                .iter()
                .any(|s| series(s) == series(sample) && value(s) == value(sample)),
            "{sample} did not arrive; served:\n{scraped}"
        );
    }
    let error = served
        .iter()
        .find(|s| s.starts_with("node_textfile_scrape_error"))
        .unwrap_or_else(|| panic!("no node_textfile_scrape_error in:\n{scraped}"));
    assert_eq!(error, "node_textfile_scrape_error 0", "{scraped}");
    assert!(
        ours.iter()
            .filter(|s| s.starts_with("healthcheck_check_reading{check=\"rows\""))
            .count()
            == 3,
        "{text}"
    );
}

fn rules_dir() -> std::path::PathBuf {
    harness::fixtures().join("../../examples/prometheus")
}

#[test]
fn the_fleet_rules_pass_their_promtool_unit_tests() {
    if !Path::new(PROMTOOL).exists() {
        harness::missing("promtool", "apt-get install prometheus");
        return;
    }
    let dir = rules_dir();
    for args in [
        ["check", "rules", "healthcheck.rules.yml"],
        ["test", "rules", "healthcheck.rules.test.yml"],
    ] {
        let out = Command::new(PROMTOOL)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_textfile_has_every_metric_the_fleet_rules_use() {
    let rules = std::fs::read_to_string(rules_dir().join("healthcheck.rules.yml")).unwrap();
    let used: std::collections::BTreeSet<&str> = regex::Regex::new(r"\bhealthcheck_[a-z_]+")
        .unwrap()
        .find_iter(&rules)
        .map(|m| m.as_str())
        .collect();
    assert!(used.len() >= 5, "{used:?}");
    let env = Env::new();
    config(&env, "");
    let text = std::fs::read_to_string(env.path("healthcheck.toml")).unwrap();
    env.write(
        "healthcheck.toml",
        &text.replace("[settings]\n", "[settings]\nexpected_interval = \"5m\"\n"),
    );
    let run = env.run(&[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let metrics = std::fs::read_to_string(env.path("textfile/healthcheck.prom")).unwrap();
    for name in used {
        assert!(
            metrics.contains(&format!("# TYPE {name} ")),
            "the rules use {name}, the textfile lacks it:\n{metrics}"
        );
    }
}
