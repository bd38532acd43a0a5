//! The dead man's switch as a Healthchecks-compatible server reads it: a
//! receiver on loopback records each ping's path, query, User-Agent and
//! body. The suffix goes into the path even when the URL has a query, the
//! body starts with the summary and is capped, `/start` and the final ping
//! carry one run id, and an endpoint that never answers costs its timeout.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::Env;

#[derive(Clone, Debug)]
struct Ping {
    path: String,
    query: String,
    agent: String,
    body: String,
}

/// A Healthchecks-like receiver that answers 200 and records every ping.
struct Hc {
    url: String,
    pings: Arc<Mutex<Vec<Ping>>>,
    server: Arc<tiny_http::Server>,
}

impl Hc {
    fn start() -> Hc {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let pings: Arc<Mutex<Vec<Ping>>> = Arc::default();
        let (s, p) = (server.clone(), pings.clone());
        std::thread::spawn(move || {
            for mut req in s.incoming_requests() {
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let (path, query) = req.url().split_once('?').unwrap_or((req.url(), ""));
                let agent = req
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("User-Agent"))
                    .map(|h| h.value.to_string())
                    .unwrap_or_default();
                p.lock().unwrap().push(Ping {
                    path: path.to_string(),
                    query: query.to_string(),
                    agent,
                    body,
                });
                let _ = req.respond(tiny_http::Response::from_string("OK"));
            }
        });
        Hc { url, pings, server }
    }

    fn pings(&self) -> Vec<Ping> {
        self.pings.lock().unwrap().clone()
    }
}

impl Drop for Hc {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// `n` file checks on missing files with long paths: CRITICAL, long lines.
fn missing_files(env: &Env, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[[check]]\nname = \"file-{i}\"\ntype = \"file\"\npath = \"{}/{}/{i}.log\"\n\n",
                env.path("missing").display(),
                "deep".repeat(20)
            )
        })
        .collect()
}

/// The value of `key` in a query string.
fn param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn a_ping_url_with_a_query_gets_its_suffix_in_the_path() {
    let env = Env::new();
    let hc = Hc::start();
    env.config(&format!(
        "[ping]\nurl = \"{}/ping/0f6e/?create=1\"\n\n{}",
        hc.url,
        missing_files(&env, 1)
    ));
    let run = env.run(&[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let pings = hc.pings();
    let paths: Vec<&str> = pings.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["/ping/0f6e/start", "/ping/0f6e/2"]);
    for p in &pings {
        assert_eq!(param(&p.query, "create"), Some("1"), "{p:?}");
    }
}

#[test]
fn start_and_final_ping_carry_one_run_id_and_say_who_pings() {
    let env = Env::new();
    let hc = Hc::start();
    env.config(&format!(
        "[ping]\nurl = \"{}/ping/0f6e\"\n\n{}",
        hc.url,
        missing_files(&env, 1)
    ));
    env.run(&[]);
    env.run(&[]);
    let pings = hc.pings();
    assert_eq!(pings.len(), 4, "{pings:?}");
    let rids: Vec<&str> = pings
        .iter()
        .map(|p| param(&p.query, "rid").unwrap_or_else(|| panic!("no rid: {p:?}")))
        .collect();
    let uuid =
        regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            .unwrap();
    for rid in &rids {
        assert!(uuid.is_match(rid), "a rid is a UUID: {rid}");
    }
    assert_eq!(rids[0], rids[1], "one run, one rid");
    assert_eq!(rids[2], rids[3], "one run, one rid");
    assert_ne!(rids[0], rids[2], "each run its own rid");
    for p in &pings {
        assert_eq!(
            p.agent,
            format!("healthcheck/{}", env!("CARGO_PKG_VERSION")),
            "{p:?}"
        );
    }
}

#[test]
fn the_ping_body_starts_with_the_summary_and_is_capped_at_10_kb() {
    let env = Env::new();
    let hc = Hc::start();
    env.config(&format!(
        "[ping]\nurl = \"{}/ping/0f6e\"\n\n{}",
        hc.url,
        missing_files(&env, 200)
    ));
    let run = env.run(&[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.len() > 20_000,
        "the report is long: {}",
        run.stdout.len()
    );
    let body = &hc.pings()[1].body;
    println!(
        "200 failing checks: a {} B report, a {} B ping body",
        run.stdout.len(),
        body.len()
    );
    assert!(
        body.starts_with("CRITICAL: 200 critical"),
        "the summary first: {}",
        &body[..body.len().min(200)]
    );
    assert!(body.len() <= 10_000, "{} bytes", body.len());
    assert!(body.contains("file-0"), "then the problems: {body}");
}

#[test]
fn the_ping_body_limit_is_configurable() {
    let env = Env::new();
    let hc = Hc::start();
    env.config(&format!(
        "[ping]\nurl = \"{}/ping/0f6e\"\nbody_limit = \"1kB\"\n\n{}",
        hc.url,
        missing_files(&env, 20)
    ));
    env.run(&[]);
    let body = &hc.pings()[1].body;
    assert!(body.len() <= 1000, "{} bytes", body.len());
    assert!(body.starts_with("CRITICAL: 20 critical"), "{body}");
    assert!(body.ends_with("bytes cut)\n"), "it says it was cut: {body}");
}

#[test]
fn a_ping_endpoint_that_never_answers_costs_only_its_timeout() {
    let env = Env::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts every connection and never answers.
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            keep.lock().unwrap().push(conn);
        }
    });
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"120s\"\n\n\
         [ping]\nurl = \"http://127.0.0.1:{port}/ping/0f6e\"\ntimeout = \"1s\"\n\n{}",
        env.path("state").display(),
        missing_files(&env, 1)
    ));
    let started = Instant::now();
    let run = env.run(&[]);
    let took = started.elapsed();
    println!("a ping endpoint that never answers cost {took:?} (ping timeout 1s, deadline 120s)");
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        took < Duration::from_secs(30),
        "a 1 s ping timeout held a run with a 120 s deadline for {took:?}"
    );
    assert!(
        run.stderr.contains("dead man's switch was not reached"),
        "{}",
        run.stderr
    );
}
