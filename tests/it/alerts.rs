//! Alerts through the real binary to receivers on loopback that behave like
//! Discord, Slack, Telegram and plain webhooks (200, 429 with Retry-After,
//! 500/503, 404, silence): one message per problem, reminders, one
//! recovery, nothing lost while a receiver is down, flapping kept quiet,
//! and no secret in any output.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::Env;

/// What a receiver got: path and body of each request it accepted (2xx).
#[derive(Clone, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<(String, String)>>>);

impl Log {
    pub(crate) fn accepted(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }
}

/// A planned answer: status, headers, body.
type Answer = (u16, Vec<(String, String)>, String);

/// A receiver that answers each request with the next planned status
/// (then 200), with optional headers and body, and records what it accepted.
pub(crate) struct Receiver {
    pub(crate) url: String,
    pub(crate) log: Log,
    /// Requests seen, accepted or not.
    hits: Arc<Mutex<usize>>,
    plan: Arc<Mutex<VecDeque<Answer>>>,
    down: Arc<Mutex<Option<u16>>>,
    server: Arc<tiny_http::Server>,
}

impl Receiver {
    pub(crate) fn start() -> Receiver {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let log = Log::default();
        let hits = Arc::new(Mutex::new(0));
        let plan: Arc<Mutex<VecDeque<Answer>>> = Arc::default();
        let down: Arc<Mutex<Option<u16>>> = Arc::default();
        let (s, l, h, p, d) = (
            server.clone(),
            log.clone(),
            hits.clone(),
            plan.clone(),
            down.clone(),
        );
        std::thread::spawn(move || {
            for mut req in s.incoming_requests() {
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                *h.lock().unwrap() += 1;
                let (status, headers, text) =
                    match (*d.lock().unwrap(), p.lock().unwrap().pop_front()) {
                        (Some(code), _) => (code, vec![], "down".to_string()),
                        (None, Some(planned)) => planned,
                        (None, None) => (200, vec![], "ok".to_string()),
                    };
                if (200..300).contains(&status) {
                    l.0.lock().unwrap().push((req.url().to_string(), body));
                }
                let mut response = tiny_http::Response::from_string(text).with_status_code(status);
                for (k, v) in headers {
                    response.add_header(
                        tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap(),
                    );
                }
                let _ = req.respond(response);
            }
        });
        Receiver {
            url,
            log,
            hits,
            plan,
            down,
            server,
        }
    }

    pub(crate) fn then(&self, status: u16, headers: &[(&str, &str)], body: &str) {
        let headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.plan
            .lock()
            .unwrap()
            .push_back((status, headers, body.to_string()));
    }

    pub(crate) fn set_down(&self, code: Option<u16>) {
        *self.down.lock().unwrap() = code;
    }

    pub(crate) fn hits(&self) -> usize {
        *self.hits.lock().unwrap()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// A check whose status is the exit code written in `code` (0, 1, 2).
pub(crate) fn code_check(env: &Env) -> String {
    env.write("code", "0");
    format!(
        "[[check]]\nname = \"bot\"\ntype = \"command\"\ncommand = [\"sh\", \"-c\", \"echo bot status; exit $(cat {})\"]\nhint = \"restart the bot\"\n",
        env.path("code").display()
    )
}

pub(crate) fn set(env: &Env, code: u8) {
    std::fs::write(env.path("code"), code.to_string()).unwrap();
}

pub(crate) fn kinds(body: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["kind"].as_str().unwrap(),
                e["status"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_lasting_problem_gives_one_message_a_reminder_per_renotify_and_one_recovery() {
    let env = Env::new();
    let hook = Receiver::start();
    let chat = Receiver::start();
    let discord = Receiver::start();
    env.config(&format!(
        "[alerting]\nrenotify = \"3s\"\n\n\
         [[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n\
         [[alert]]\ntype = \"telegram\"\nbot_token = \"123:tg-secret-AAA\"\nchat_id = \"42\"\napi_url = \"{}\"\n\n\
         [[alert]]\ntype = \"discord\"\nurl = \"{}/api/webhooks/1/dc-secret-BBB\"\n\n{}",
        hook.url,
        chat.url,
        discord.url,
        code_check(&env)
    ));
    set(&env, 2);
    let mut seen = String::new();
    let started = Instant::now();
    for _ in 0..10 {
        run_seen(&env, &mut seen, &["-v"]);
        std::thread::sleep(Duration::from_millis(400));
    }
    let lasted = started.elapsed();
    assert!(
        lasted > Duration::from_secs(3) && lasted < Duration::from_secs(6),
        "{lasted:?}: one renotify interval"
    );
    set(&env, 0);
    run_seen(&env, &mut seen, &["--format", "json"]);
    run_seen(&env, &mut seen, &["--format", "nagios"]);
    assert_secret_free(&env, &seen, &["tg-secret-AAA", "dc-secret-BBB"]);
    let got: Vec<Vec<String>> = hook.log.accepted().iter().map(|(_, b)| kinds(b)).collect();
    assert_eq!(
        got,
        [
            vec!["problem:critical"],
            vec!["reminder:critical"],
            vec!["recovery:critical"]
        ]
    );
    let telegram = chat.log.accepted();
    assert_eq!(telegram.len(), 3);
    assert_eq!(telegram[0].0, "/bot123:tg-secret-AAA/sendMessage");
    let first: serde_json::Value = serde_json::from_str(&telegram[0].1).unwrap();
    assert_eq!(first["parse_mode"], "HTML");
    assert_eq!(first["chat_id"], "42");
    assert!(
        first["text"].as_str().unwrap().contains("<b>[CRITICAL]"),
        "{first}"
    );
    let discord_bodies = discord.log.accepted();
    assert_eq!(discord_bodies.len(), 3);
    let d: serde_json::Value = serde_json::from_str(&discord_bodies[0].1).unwrap();
    assert_eq!(d["allowed_mentions"]["parse"], serde_json::json!([]));
    assert_eq!(d["embeds"][0]["color"], 0xE74C3C);
    assert!(
        d["embeds"][0]["fields"][0]["value"]
            .as_str()
            .unwrap()
            .contains("Action: restart the bot")
    );
}

#[test]
fn a_receiver_down_for_three_runs_gets_every_digest_once_in_order() {
    let env = Env::new();
    let hook = Receiver::start();
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"2s\"\n\n[[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n{}",
        env.path("state").display(),
        hook.url,
        code_check(&env)
    ));
    hook.set_down(Some(503));
    for code in [2, 1, 2] {
        set(&env, code);
        let json = env.run(&["--format", "json"]).json();
        assert_eq!(json["alerts"][0]["outcome"], "queued", "{json:#}");
    }
    assert!(hook.log.accepted().is_empty());
    assert!(hook.hits() >= 3, "each run tried");
    hook.set_down(None);
    set(&env, 0);
    let json = env.run(&["--format", "json"]).json();
    assert_eq!(json["alerts"][0]["outcome"], "sent", "{json:#}");
    env.run(&[]);
    let got: Vec<Vec<String>> = hook.log.accepted().iter().map(|(_, b)| kinds(b)).collect();
    assert_eq!(
        got,
        [
            vec!["problem:critical"],
            vec!["problem:warning"],
            vec!["problem:critical"],
            vec!["recovery:critical"]
        ]
    );
    let state = std::fs::read_to_string(env.path("state/state.json")).unwrap();
    assert!(
        !state.contains("\"outbox\""),
        "the outbox is empty again: {state}"
    );
}

#[test]
fn a_check_flipping_for_10_runs_gives_at_most_3_messages() {
    let env = Env::new();
    let hook = Receiver::start();
    env.config(&format!(
        "[[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n{}",
        hook.url,
        code_check(&env)
    ));
    for i in 0..10 {
        set(&env, if i % 2 == 0 { 0 } else { 2 });
        env.run(&[]);
    }
    let got: Vec<Vec<String>> = hook.log.accepted().iter().map(|(_, b)| kinds(b)).collect();
    assert!(got.len() <= 3, "{got:?}");
    assert!(
        got.iter().flatten().any(|k| k.starts_with("flapping")),
        "{got:?}"
    );
}

#[test]
fn a_429_is_retried_after_its_retry_after_and_a_discord_404_is_not_retried() {
    let env = Env::new();
    let slack = Receiver::start();
    let discord = Receiver::start();
    slack.then(429, &[("Retry-After", "1")], "slow down");
    discord.then(
        429,
        &[],
        r#"{"message": "You are being rate limited.", "retry_after": 0.3, "global": false}"#,
    );
    env.config(&format!(
        "[[alert]]\ntype = \"slack\"\nurl = \"{}/services/T/B/sl-secret-CCC\"\n\n[[alert]]\ntype = \"discord\"\nurl = \"{}/api/webhooks/1/dc-secret-DDD\"\n\n{}",
        slack.url,
        discord.url,
        code_check(&env)
    ));
    set(&env, 2);
    let mut seen = String::new();
    let started = Instant::now();
    let json = run_seen(&env, &mut seen, &["--format", "json"]).json();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(json["alerts"][0]["outcome"], "sent", "{json:#}");
    assert_eq!(json["alerts"][1]["outcome"], "sent", "{json:#}");
    assert_eq!((slack.hits(), discord.hits()), (2, 2));
    let slack_text: serde_json::Value = serde_json::from_str(&slack.log.accepted()[0].1).unwrap();
    assert!(
        slack_text["text"]
            .as_str()
            .unwrap()
            .starts_with("[CRITICAL]")
    );

    // The webhook was deleted: one try, reported, not retried on later runs.
    discord.then(404, &[], r#"{"message": "Unknown Webhook", "code": 10015}"#);
    set(&env, 1);
    let json = run_seen(&env, &mut seen, &["--format", "json"]).json();
    assert_eq!(json["alerts"][1]["outcome"], "failed", "{json:#}");
    assert!(
        json["alerts"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("404"),
        "{json:#}"
    );
    assert_eq!(discord.hits(), 3);
    run_seen(&env, &mut seen, &["-v"]);
    assert_eq!(discord.hits(), 3, "a 404 is never retried");
    assert_secret_free(&env, &seen, &["sl-secret-CCC", "dc-secret-DDD"]);
}

#[test]
fn a_receiver_that_never_answers_costs_no_more_than_the_deadline() {
    let env = Env::new();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"3s\"\n\n[[alert]]\ntype = \"webhook\"\nurl = \"http://{addr}/hook\"\n\n{}",
        env.path("state").display(),
        code_check(&env)
    ));
    set(&env, 2);
    let started = Instant::now();
    let json = env.run(&["--format", "json"]).json();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(json["alerts"][0]["outcome"], "queued", "{json:#}");
    drop(silent);
}

#[test]
fn secrets_never_reach_output_state_or_reports() {
    let env = Env::new();
    let hook = Receiver::start();
    let token = "987654:SECRET-bot-token-0xFEED";
    let hook_secret = "hook-secret-0xDEADBEEF";
    env.config(&format!(
        "[[alert]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"{}/{hook_secret}\"\nheaders = {{ Authorization = \"${{HOOK_AUTH}}\" }}\n\n\
         [[alert]]\ntype = \"telegram\"\nbot_token = \"${{TG_TOKEN}}\"\nchat_id = \"1\"\napi_url = \"http://127.0.0.1:9\"\n\n{}",
        hook.url,
        code_check(&env)
    ));
    set(&env, 2);
    hook.then(404, &[], "gone");
    let mut all = String::new();
    for args in [
        &["--format", "json"][..],
        &["--format", "nagios"],
        &["-v"],
        &["test-alert"],
    ] {
        let out = env
            .cmd()
            .env("TG_TOKEN", token)
            .env("HOOK_AUTH", "Bearer auth-0xC0DE")
            .args(args)
            .output()
            .unwrap();
        all.push_str(&String::from_utf8_lossy(&out.stdout));
        all.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    for entry in walk(&env.path("state")) {
        all.push_str(&std::fs::read_to_string(&entry).unwrap_or_default());
    }
    assert!(all.contains("ops (webhook)"), "test-alert ran: {all}");
    for secret in ["0xFEED", "0xDEADBEEF", "0xC0DE"] {
        assert!(!all.contains(secret), "{secret} leaked:\n{all}");
    }
}

#[test]
fn test_alert_says_per_channel_delivered_or_why_not() {
    let env = Env::new();
    let hook = Receiver::start();
    env.config(&format!(
        "[[alert]]\nname = \"good\"\ntype = \"webhook\"\nurl = \"{}/ok\"\n\n[[alert]]\nname = \"bad\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\n\n[[check]]\nname = \"m\"\ntype = \"memory\"\n",
        hook.url
    ));
    let out = env.run(&["test-alert"]);
    assert!(
        out.stdout.contains("good (webhook): delivered"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("bad (webhook): NOT delivered: "),
        "{}",
        out.stdout
    );
    assert_eq!(out.code, 2);
    assert_eq!(env.run(&["test-alert", "--channel", "good"]).code, 0);
    let body: serde_json::Value = serde_json::from_str(&hook.log.accepted()[0].1).unwrap();
    assert_eq!(body["events"][0]["kind"], "test");
}

/// Run and keep everything the run printed, to look for secrets later.
pub(crate) fn run_seen(env: &Env, seen: &mut String, args: &[&str]) -> crate::harness::Run {
    let run = env.run(args);
    seen.push_str(&run.stdout);
    seen.push_str(&run.stderr);
    run
}

/// No secret in what the runs printed, nor in state.json and the reports.
#[track_caller]
pub(crate) fn assert_secret_free(env: &Env, seen: &str, secrets: &[&str]) {
    let mut all = seen.to_string();
    for entry in walk(&env.path("state")) {
        all.push_str(&std::fs::read_to_string(&entry).unwrap_or_default());
    }
    for secret in secrets {
        assert!(!all.contains(secret), "{secret} leaked:\n{all}");
    }
}

pub(crate) fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

#[test]
fn max_per_hour_holds_back_a_warning_and_a_new_critical_brings_it_along() {
    let env = Env::new();
    let hook = Receiver::start();
    env.config(&format!(
        "[alerting]\nmax_per_hour = 1\n\n[[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n{}",
        hook.url,
        code_check(&env)
    ));
    let mut outcomes = Vec::new();
    for code in [2, 1, 2] {
        set(&env, code);
        let json = env.run(&["--format", "json"]).json();
        outcomes.push(json["alerts"][0]["outcome"].as_str().unwrap().to_string());
    }
    assert_eq!(outcomes, ["sent", "suppressed", "sent"]);
    let accepted = hook.log.accepted();
    assert_eq!(accepted.len(), 2);
    let last: serde_json::Value = serde_json::from_str(&accepted[1].1).unwrap();
    assert_eq!(kinds(&accepted[1].1), ["problem:critical"]);
    let held: Vec<&str> = last["held_back"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(held, ["warning"], "{last}");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("state/state.json")).unwrap())
            .unwrap();
    assert!(
        state["deliveries"]["webhook"].get("held").is_none(),
        "{state}"
    );
}

#[test]
fn a_failing_channel_sends_through_its_fallback() {
    let env = Env::new();
    let primary = Receiver::start();
    let backup = Receiver::start();
    primary.set_down(Some(500));
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"4s\"\n\n\
         [[alert]]\nname = \"primary\"\ntype = \"webhook\"\nurl = \"{}/p\"\nfallback = \"backup\"\nfallback_after = \"0s\"\ntimeout = \"1s\"\n\n\
         [[alert]]\nname = \"backup\"\ntype = \"webhook\"\nurl = \"{}/b\"\nmin_severity = \"critical\"\n\n{}",
        env.path("state").display(),
        primary.url,
        backup.url,
        code_check(&env)
    ));
    set(&env, 1);
    let json = env.run(&["--format", "json"]).json();
    let detail = json["alerts"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("1 digest handed to fallback backup"),
        "{detail}"
    );
    // The backup got the primary's warning, which it does not take on its own.
    let got = backup.log.accepted();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].1.contains("(for primary, which is failing)"),
        "{}",
        got[0].1
    );
    assert!(primary.log.accepted().is_empty());
}

#[test]
fn quiet_hours_hold_warnings_and_let_critical_through() {
    let env = Env::new();
    let hook = Receiver::start();
    let config = |quiet: &str| {
        format!(
            "[schedule.always]\n\n[schedule.closed]\ndays = []\n\n[alerting]\nquiet = \"{quiet}\"\n\n\
             [[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n{}",
            hook.url,
            code_check(&env)
        )
    };
    env.config(&config("always"));
    set(&env, 1);
    let json = env.run(&["--format", "json"]).json();
    assert_eq!(json["alerts"][0]["outcome"], "queued", "{json:#}");
    assert!(
        hook.log.accepted().is_empty(),
        "a warning waits for the quiet hours to end"
    );
    set(&env, 2);
    env.run(&[]);
    let got: Vec<Vec<String>> = hook.log.accepted().iter().map(|(_, b)| kinds(b)).collect();
    assert_eq!(got, [vec!["problem:critical"]], "critical news is not held");
    // The quiet hours end: the held warning goes out.
    env.config(&config("closed"));
    env.run(&[]);
    let got: Vec<Vec<String>> = hook.log.accepted().iter().map(|(_, b)| kinds(b)).collect();
    assert_eq!(got, [vec!["problem:critical"], vec!["problem:warning"]]);
}

#[test]
fn the_dead_mans_switch_hears_start_and_exit_code_of_scheduled_runs_only() {
    let env = Env::new();
    let hc = Receiver::start();
    env.config(&format!(
        "[ping]\nurl = \"{}/ping/uuid-0xF00D\"\n\n{}",
        hc.url,
        code_check(&env)
    ));
    let mut seen = String::new();
    set(&env, 0);
    run_seen(&env, &mut seen, &[]);
    set(&env, 2);
    run_seen(&env, &mut seen, &[]);
    run_seen(&env, &mut seen, &["--dry-run"]);
    run_seen(&env, &mut seen, &["--no-restart"]);
    // The run id (`?rid=`) differs per run.
    let paths: Vec<String> = hc
        .log
        .accepted()
        .iter()
        .map(|(p, _)| p.split('?').next().unwrap_or(p).to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "/ping/uuid-0xF00D/start",
            "/ping/uuid-0xF00D",
            "/ping/uuid-0xF00D/start",
            "/ping/uuid-0xF00D/2"
        ]
    );
    let last = &hc.log.accepted()[3].1;
    assert!(
        last.contains("[CRIT]") && last.contains("CRITICAL: 1 critical"),
        "the summary is the body: {last}"
    );
    assert_secret_free(&env, &seen, &["0xF00D"]);
}
