//! Alerts when things break: each defect found in the delivery path, as a
//! test named after it, through the real binary against loopback receivers
//! that never answer, answer 500 for a while, 404, 429 with a long
//! Retry-After, or drip one byte a second.

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::alerts::{Receiver, code_check, kinds, set};
use crate::harness::Env;

/// A receiver that accepts connections and never answers.
fn silent() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

fn bodies(r: &Receiver) -> Vec<Vec<String>> {
    r.log.accepted().iter().map(|(_, b)| kinds(b)).collect()
}

#[test]
fn one_silent_receiver_starved_everything_after_it() {
    let env = Env::new();
    let (_discord, discord_url) = silent();
    let slack = Receiver::start();
    let backup = Receiver::start();
    let hc = Receiver::start();
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"30s\"\n\n\
         [ping]\nurl = \"{}/ping/abc\"\ntimeout = \"2s\"\n\n\
         [[alert]]\nname = \"discord\"\ntype = \"discord\"\nurl = \"{discord_url}/api/webhooks/1/x\"\nfallback = \"email\"\nfallback_after = \"0s\"\ntimeout = \"2s\"\n\n\
         [[alert]]\nname = \"slack\"\ntype = \"slack\"\nurl = \"{}/services/x\"\n\n\
         [[alert]]\nname = \"email\"\ntype = \"webhook\"\nurl = \"{}/b\"\nmin_severity = \"critical\"\n\n{}",
        env.path("state").display(),
        hc.url,
        slack.url,
        backup.url,
        code_check(&env)
    ));
    set(&env, 1);
    let started = Instant::now();
    let json = env.run(&["--format", "json"]).json();
    let took = started.elapsed();
    println!("run with a silent discord took {took:?} (deadline 30s, discord timeout 2s)");
    // Discord's 2 s, then the fallback: far from the 30 s deadline.
    assert!(took < Duration::from_secs(12), "{took:?}");
    assert_eq!(json["alerts"][0]["channel"], "discord", "{json:#}");
    assert_eq!(json["alerts"][0]["outcome"], "queued", "{json:#}");
    assert_eq!(bodies(&backup).len(), 1, "email took over");
    assert_eq!(slack.log.accepted().len(), 1, "slack was not starved");
    let pings: Vec<String> = hc
        .log
        .accepted()
        .iter()
        .map(|(p, _)| p.split('?').next().unwrap_or(p).to_string())
        .collect();
    assert_eq!(pings, ["/ping/abc/start", "/ping/abc/1"]);
}

#[test]
fn the_fallback_re_sent_the_oldest_digest_every_run_and_never_carried_newer_ones() {
    let env = Env::new();
    let primary = Receiver::start();
    let backup = Receiver::start();
    primary.set_down(Some(500));
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"5s\"\n\n\
         [[alert]]\nname = \"discord\"\ntype = \"webhook\"\nurl = \"{}/p\"\nfallback = \"email\"\nfallback_after = \"0s\"\ntimeout = \"1s\"\n\n\
         [[alert]]\nname = \"email\"\ntype = \"webhook\"\nurl = \"{}/b\"\nmin_severity = \"critical\"\n\n{}",
        env.path("state").display(),
        primary.url,
        backup.url,
        code_check(&env)
    ));
    // A warning, which lasts, then clears: a problem and a recovery.
    for code in [1, 1, 1, 0, 0, 0] {
        set(&env, code);
        env.run(&[]);
    }
    assert_eq!(
        bodies(&backup),
        [vec!["problem:warning"], vec!["recovery:warning"]],
        "each digest once, in order, the newer one too"
    );
    assert!(primary.log.accepted().is_empty());
    // Discord is back: one line, not a replay.
    primary.set_down(None);
    env.run(&[]);
    env.run(&[]);
    let got = primary.log.accepted();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0]
            .1
            .contains("2 alerts were delivered by email while discord was failing"),
        "{}",
        got[0].1
    );
}

#[test]
fn an_alert_could_be_recorded_as_announced_without_being_queued() {
    let env = Env::new();
    let hook = Receiver::start();
    // The restart kills the run that started it, as an OOM kill or a
    // reboot would.
    env.config(&format!(
        "[[service]]\nname = \"bot\"\ncommand = {{ restart = [\"sh\", \"-c\", \"kill -9 $PPID; sleep 5\"] }}\n\n\
         [[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n{}restart = \"bot\"\n",
        hook.url,
        code_check(&env)
    ));
    set(&env, 2);
    let killed = env.run(&[]);
    assert_eq!(killed.code, -1, "killed by a signal: {}", killed.stderr);
    assert!(hook.log.accepted().is_empty());
    let state = std::fs::read_to_string(env.path("state/state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["checks"]["bot"]["notified"]["status"], "critical");
    assert_eq!(
        state["outbox"][0]["digest"]["events"][0]["kind"], "problem",
        "announced and queued in one save: {state:#}"
    );
    assert_eq!(
        state["services"]["bot"]["restarts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The next run delivers it; nothing is told twice.
    env.run(&[]);
    env.run(&[]);
    let got = bodies(&hook);
    assert_eq!(got[0], ["problem:critical"], "{got:?}");
    assert_eq!(
        got.iter()
            .flatten()
            .filter(|k| *k == "problem:critical")
            .count(),
        1,
        "{got:?}"
    );
}

#[test]
fn a_state_that_cannot_be_saved_meant_the_same_alerts_on_every_run() {
    let env = Env::new();
    let hook = Receiver::start();
    // The state dir cannot be created: a file stands where its parent should.
    env.write("blocker", "a file, not a directory");
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\n\n[[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n{}",
        env.path("blocker/state").display(),
        hook.url,
        code_check(&env)
    ));
    std::fs::create_dir_all(env.path("run")).unwrap();
    set(&env, 2);
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let out = env
            .cmd()
            .env("XDG_RUNTIME_DIR", env.path("run"))
            .env_remove("RUNTIME_DIRECTORY")
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        outcomes.push(json["alerts"][0]["outcome"].as_str().unwrap().to_string());
    }
    assert_eq!(outcomes, ["sent", "suppressed", "suppressed", "suppressed"]);
    let got = hook.log.accepted();
    assert_eq!(got.len(), 1, "one message an hour");
    let body = &got[0].1;
    assert!(body.contains("the state cannot be saved"), "{body}");
    assert!(body.contains("at most one message an hour"), "{body}");
    assert!(
        body.contains("\"subject\": \"bot\"") || body.contains("\"subject\":\"bot\""),
        "{body}"
    );
    let markers: Vec<_> = std::fs::read_dir(env.path("run")).unwrap().collect();
    assert_eq!(markers.len(), 1, "the hour is kept outside the state dir");
}

#[test]
fn permanent_failures_deleted_digests_too_eagerly() {
    let env = Env::new();
    let hook = Receiver::start();
    // A webhook that says 404 (a proxy not yet set up, a typo fixed later)
    // and a command channel that cannot start: both keep their digest.
    hook.then(404, &[], "no such route");
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"5s\"\n\n\
         [[alert]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n\
         [[alert]]\nname = \"script\"\ntype = \"command\"\ncommand = [\"{}\"]\n\n{}",
        env.path("state").display(),
        hook.url,
        env.path("notify.sh").display(),
        code_check(&env)
    ));
    set(&env, 2);
    let json = env.run(&["--format", "json"]).json();
    assert_eq!(json["alerts"][0]["outcome"], "queued", "{json:#}");
    assert_eq!(json["alerts"][1]["outcome"], "queued", "{json:#}");
    // Both come back: the same digest reaches each.
    env.write(
        "notify.sh",
        &format!("#!/bin/sh\ncat > {}\n", env.path("got.txt").display()),
    );
    std::fs::set_permissions(
        env.path("notify.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let json = env.run(&["--format", "json"]).json();
    assert_eq!(json["alerts"][0]["outcome"], "sent", "{json:#}");
    assert_eq!(json["alerts"][1]["outcome"], "sent", "{json:#}");
    assert_eq!(bodies(&hook), [vec!["problem:critical"]]);
    let mail = std::fs::read_to_string(env.path("got.txt")).unwrap();
    assert!(mail.contains("[CRITICAL] bot"), "{mail}");
}

#[test]
fn a_receiver_answering_500_added_seconds_of_retries_to_every_run() {
    let env = Env::new();
    let hook = Receiver::start();
    hook.set_down(Some(500));
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"20s\"\n\n[[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n{}",
        env.path("state").display(),
        hook.url,
        code_check(&env)
    ));
    set(&env, 2);
    let mut hits = Vec::new();
    for _ in 0..4 {
        env.run(&[]);
        hits.push(hook.hits());
    }
    // Four tries in the first failing run, then one per run.
    assert_eq!(hits, [4, 5, 6, 7]);
}

#[test]
fn a_429_with_retry_after_longer_than_the_deadline_waits_for_a_later_run() {
    let env = Env::new();
    let hook = Receiver::start();
    hook.then(429, &[("Retry-After", "600")], "slow down");
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"3s\"\n\n[[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n{}",
        env.path("state").display(),
        hook.url,
        code_check(&env)
    ));
    set(&env, 2);
    let started = Instant::now();
    let json = env.run(&["--format", "json"]).json();
    // Far from the 600 s it asked for: the run did not wait.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(json["alerts"][0]["outcome"], "queued", "{json:#}");
    let json = env.run(&["--format", "json"]).json();
    assert_eq!(hook.hits(), 1, "not asked again before its Retry-After");
    let detail = json["alerts"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("next try at"), "{detail}");
}

#[test]
fn the_text_report_said_nothing_about_alerts() {
    let env = Env::new();
    let hook = Receiver::start();
    hook.set_down(Some(500));
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"5s\"\n\n[[alert]]\nname = \"discord\"\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n{}",
        env.path("state").display(),
        hook.url,
        code_check(&env)
    ));
    set(&env, 2);
    let dry = env.run(&["--dry-run"]);
    let line = dry.line("discord");
    assert!(line.starts_with("[ALERT]"), "{}", dry.stdout);
    assert!(line.contains("would send 1 event"), "{line}");
    let out = env.run(&[]);
    let line = out.line("discord");
    assert!(
        line.contains("queued: 1 event; 500 from the receiver"),
        "{line}"
    );
    assert!(line.contains("1 digest waiting"), "{line}");
    let quiet = env.run(&["-q"]);
    assert!(quiet.line("discord").contains("queued"), "{}", quiet.stdout);
    hook.set_down(None);
    let out = env.run(&[]);
    assert!(out.line("discord").contains("sent"), "{}", out.stdout);
    let quiet = env.run(&["-q"]);
    assert!(
        !quiet.stdout.contains("[ALERT]"),
        "nothing failed: {}",
        quiet.stdout
    );
}

#[test]
fn one_root_cause_gave_two_alerts() {
    let env = Env::new();
    let hook = Receiver::start();
    env.config(&format!(
        "[[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n\
         [[check]]\nname = \"market-data-worker\"\ntype = \"command\"\ncommand = [\"sh\", \"-c\", \"echo no process matches; exit 2\"]\n\n\
         [[check]]\nname = \"worker-memory\"\ntype = \"command\"\ncommand = [\"sh\", \"-c\", \"echo no process matches; exit 2\"]\ndepends_on = [\"market-data-worker\"]\n",
        hook.url
    ));
    let out = env.run(&[]);
    assert_eq!(out.code, 2);
    let got = hook.log.accepted();
    assert_eq!(got.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&got[0].1).unwrap();
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{body:#}");
    assert_eq!(events[0]["subject"], "market-data-worker");
    let message = events[0]["message"].as_str().unwrap();
    assert!(
        message.contains("worker-memory: not judged, market-data-worker is down"),
        "{message}"
    );
}

#[test]
fn a_webhook_that_drips_one_byte_a_second_is_cut_at_its_timeout() {
    let env = Env::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let dripping = stop.clone();
    let server = std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        if let Ok((mut conn, _)) = listener.accept() {
            for b in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" {
                if dripping.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                if conn.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    });
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"30s\"\n\n[[alert]]\ntype = \"webhook\"\nurl = \"{url}/hook\"\ntimeout = \"2s\"\n\n{}",
        env.path("state").display(),
        code_check(&env)
    ));
    set(&env, 2);
    let started = Instant::now();
    let json = env.run(&["--format", "json"]).json();
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    println!("a dripping webhook cost {took:?} (timeout 2s)");
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert_eq!(json["alerts"][0]["outcome"], "queued", "{json:#}");
    let _ = server.join();
}

#[test]
fn a_token_in_an_http_check_url_reached_output_the_outbox_and_discord() {
    let env = Env::new();
    let api = Receiver::start();
    api.set_down(Some(503));
    let hook = Receiver::start();
    hook.set_down(Some(500));
    let token = "tok-0xBADC0DE-secret";
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"5s\"\n\n[[alert]]\nname = \"discord\"\ntype = \"webhook\"\nurl = \"{}/hook\"\ntimeout = \"1s\"\n\n\
         [[check]]\nname = \"api\"\ntype = \"http\"\nurl = \"{}/status?token=${{API_TOKEN}}\"\n",
        env.path("state").display(),
        hook.url,
        api.url
    ));
    let mut seen = String::new();
    let mut run = |args: &[&str]| {
        let out = env
            .cmd()
            .env("API_TOKEN", token)
            .args(args)
            .output()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
    };
    run(&["--format", "json"]);
    // The digest waits in the outbox (in state.json) while discord is down.
    let state = std::fs::read_to_string(env.path("state/state.json")).unwrap();
    assert!(state.contains("\"outbox\""), "{state}");
    run(&["-v"]);
    run(&["--format", "nagios", "--dry-run"]);
    hook.set_down(None);
    run(&[]);
    let payloads: Vec<String> = hook.log.accepted().into_iter().map(|(_, b)| b).collect();
    assert!(!payloads.is_empty());
    assert!(
        payloads.iter().any(|p| p.contains("/status?token=***")),
        "the message still names the URL, with the token hidden: {payloads:?}"
    );
    seen.push_str(&payloads.join("\n"));
    crate::alerts::assert_secret_free(&env, &seen, &[token]);
}
