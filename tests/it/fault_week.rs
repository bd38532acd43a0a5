//! A scripted fault week: healthcheck on a 15-minute timer for 7 simulated
//! days under libfaketime (the clock set per run, monotonic time real),
//! against a real bot process, its log, a SQLite database, a token file,
//! a command check and two loopback receivers (a webhook standing in for
//! Discord, with a second one as its fallback "email"). Faults come at
//! known runs: a bot crash, a frozen bot, stale data for 2 hours, a check
//! flapping for 3 hours, Discord down for 6 hours, a token that expires,
//! the state directory read-only for an hour, the clock stepped back an
//! hour and forward three. The test prints and asserts: incidents missed,
//! messages per incident, reminders per renotify, every alert of the
//! outage delivered exactly once, restart loops, and the week's run time.
//!
//! The binary is `HEALTHCHECK_FAULT_WEEK_BIN` when set (scripts/test sets
//! the release build), else the test build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::alerts::Receiver;
use crate::harness::{Env, libfaketime, missing, pids_running};

const STEP_MINUTES: i64 = 15;
const RUNS: usize = 7 * 24 * 60 / STEP_MINUTES as usize;

// The script, in runs from the start (one run every 15 minutes).
const CRASH: usize = 100;
const FREEZE: usize = 200;
const OUTAGE: std::ops::Range<usize> = 300..324; // Discord answers 500 for 6 h.
const STALE: std::ops::Range<usize> = 300..308; // No new rows for 2 h.
const TOKEN_EXPIRES: usize = 334; // Critical 6 h before, renewed at 340.
const TOKEN_RENEWED: usize = 340;
const FLAPPING: std::ops::Range<usize> = 400..412; // 3 h of flipping.
const READ_ONLY: std::ops::Range<usize> = 560..564; // The state dir, for 1 h.
const STEP_BACK: usize = 600; // The clock goes back 1 h (DST-like).
const STEP_FORWARD: usize = 650; // And forward 3 h (a suspend).
const RENOTIFY_RUNS: usize = 16; // renotify = "4h"

/// The simulated time of run `i`, in seconds since the start.
fn sim_seconds(i: usize) -> i64 {
    let mut s = i as i64 * STEP_MINUTES * 60;
    if i >= STEP_BACK {
        s -= 3600;
    }
    if i >= STEP_FORWARD {
        s += 3 * 3600;
    }
    s
}

fn start() -> jiff::Timestamp {
    "2026-12-07T00:00:00Z".parse().unwrap()
}

fn at(i: usize) -> jiff::Timestamp {
    start() + jiff::SignedDuration::from_secs(sim_seconds(i))
}

/// The bot: it stamps its log with its own (faked) clock when it starts;
/// between runs the test writes for it while it is alive and not frozen.
struct Bot {
    script: PathBuf,
    log: PathBuf,
    frozen: Option<u32>,
}

impl Bot {
    fn pids(&self) -> Vec<u32> {
        pids_running(&self.script)
    }

    fn signal(&self, signal: i32) {
        for pid in self.pids() {
            // SAFETY: plain signals to the bot processes of this test.
            unsafe {
                libc::kill(pid as i32, signal);
            }
        }
    }

    /// What the bot does between two runs: a line in its log.
    fn work(&mut self, now: jiff::Timestamp) {
        let pids = self.pids();
        if self.frozen.is_some_and(|f| !pids.contains(&f)) {
            self.frozen = None;
        }
        if pids.is_empty() || self.frozen.is_some() {
            return;
        }
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.log)
            .unwrap();
        writeln!(f, "tick {now}").unwrap();
        f.set_modified(std::time::SystemTime::from(now)).unwrap();
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.signal(libc::SIGCONT);
        self.signal(libc::SIGKILL);
    }
}

/// One delivered message: which receiver, at which run, its events.
#[derive(Debug, Clone)]
struct Message {
    receiver: &'static str,
    run: usize,
    on_behalf_of: Option<String>,
    events: Vec<(String, String, String)>, // (subject, kind, message)
}

fn messages(receiver: &Receiver, name: &'static str, seen: &mut usize, run: usize) -> Vec<Message> {
    let all = receiver.log.accepted();
    let new = all[*seen..]
        .iter()
        .map(|(_, body)| {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            let title = v["title"].as_str().unwrap_or_default();
            let on_behalf_of = title
                .split("(for ")
                .nth(1)
                .and_then(|rest| rest.split(',').next())
                .map(str::to_string);
            Message {
                receiver: name,
                run,
                on_behalf_of,
                events: v["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| {
                        (
                            e["subject"].as_str().unwrap().to_string(),
                            e["kind"].as_str().unwrap().to_string(),
                            e["message"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    *seen = all.len();
    new
}

fn binary() -> PathBuf {
    std::env::var_os("HEALTHCHECK_FAULT_WEEK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_healthcheck")))
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn config(env: &Env, bot: &Bot, discord: &Receiver, email: &Receiver) -> String {
    format!(
        r#"[settings]
state_dir = "{state}"
deadline = "10s"

[alerting]
renotify = "4h"

[[alert]]
name = "discord"
type = "webhook"
url = "{discord}/api/webhooks/1/fault-week"
fallback = "email"
fallback_after = "5m"
timeout = "2s"

[[alert]]
name = "email"
type = "webhook"
url = "{email}/mail"
min_severity = "critical"
timeout = "2s"

[[service]]
name = "bot"
process = {{ match = '{pattern}', start = ["sh", "{script}"] }}
verify = "300ms"

[[check]]
name = "bot-running"
type = "process"
match = '{pattern}'
restart = "bot"

[[check]]
name = "bot-log"
type = "file"
path = "{log}"
crit_above = "40m"
restart = "bot"

[[check]]
name = "ticks"
type = "sql"
driver = "sqlite"
database = "{db}"
query = "SELECT ts FROM ticks ORDER BY rowid DESC LIMIT 1"
expect = "age"
warn_above = "45m"

[[check]]
name = "token"
type = "json"
path = "{token}"
pointer = "/expires_at"
expect = "until"
crit_below = "6h"

[[check]]
name = "flappy"
type = "command"
command = ["sh", "-c", "exit $(cat {code})"]
after = 2
"#,
        state = env.path("state").display(),
        discord = discord.url,
        email = email.url,
        pattern = regex::escape(&bot.script.display().to_string()),
        script = bot.script.display(),
        log = bot.log.display(),
        db = env.path("ticks.db").display(),
        token = env.path("token.json").display(),
        code = env.path("code").display(),
    )
}

/// Run `i` of the week: the binary with libfaketime preloaded, its clock
/// starting at `at(i)` (the `faketime` wrapper is not used: it waits for
/// every descendant, and a restarted bot lives on), in a mount namespace
/// with the state dir read-only when `read_only`.
fn run_at(
    env: &Env,
    libfaketime: &Path,
    i: usize,
    read_only: bool,
) -> (i32, serde_json::Value, Duration) {
    let stamp = at(i).strftime("@%Y-%m-%d %H:%M:%S").to_string();
    let mut argv: Vec<String> = Vec::new();
    if read_only {
        argv.extend(
            [
                "unshare",
                "-m",
                "sh",
                "-c",
                "mount --bind -o ro \"$0\" \"$0\" && exec \"$@\"",
            ]
            .map(String::from),
        );
        argv.push(env.path("state").display().to_string());
    }
    argv.push(binary().display().to_string());
    argv.extend(["--format", "json"].map(String::from));
    let started = Instant::now();
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .arg("-c")
        .arg(env.path("healthcheck.toml"))
        .current_dir(env.dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.dir.path())
        .env("TZ", "UTC")
        .env("LD_PRELOAD", libfaketime)
        .env("FAKETIME", stamp)
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("XDG_RUNTIME_DIR", env.path("run"))
        .output()
        .unwrap();
    let took = started.elapsed();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "run {i}: not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json, took)
}

fn write_token(path: &Path, expires_run: usize) {
    let expires = at(expires_run).as_second();
    std::fs::write(path, format!("{{\"expires_at\": {expires}}}")).unwrap();
}

#[test]
fn a_scripted_fault_week_misses_no_incident_and_spams_no_one() {
    for program in ["unshare", "pgrep"] {
        if !have(program) && missing(program, "the fault week needs it (util-linux, procps)") {
            return;
        }
    }
    let Some(libfaketime) = libfaketime() else {
        missing("libfaketime", "apt-get install faketime");
        return;
    };
    let env = Env::new();
    std::fs::create_dir_all(env.path("run")).unwrap();
    std::fs::create_dir_all(env.path("state")).unwrap();
    let log = env.path("bot.log");
    let script = env.write(
        "fault-week-bot.sh",
        &format!(
            "touch -d \"@$(date +%s)\" '{}'\nwhile :; do sleep 1; done\n",
            log.display()
        ),
    );
    let mut bot = Bot {
        script,
        log,
        frozen: None,
    };
    let mut first = Command::new("sh").arg(&bot.script).spawn().unwrap();
    std::thread::spawn(move || first.wait());
    let discord = Receiver::start();
    let email = Receiver::start();
    env.config(&config(&env, &bot, &discord, &email));
    let db = rusqlite::Connection::open(env.path("ticks.db")).unwrap();
    db.execute_batch("CREATE TABLE ticks (ts INTEGER NOT NULL);")
        .unwrap();
    env.write("code", "0");
    write_token(&env.path("token.json"), TOKEN_EXPIRES + 7 * 96);

    let mut seen = (0, 0);
    let mut delivered: Vec<Message> = Vec::new();
    let mut reports: Vec<serde_json::Value> = Vec::new();
    let mut codes = Vec::new();
    let mut total = Duration::ZERO;
    for i in 0..RUNS {
        let now = at(i);
        // The world between two runs, and the faults of this run.
        match i {
            CRASH => bot.signal(libc::SIGKILL),
            FREEZE => {
                bot.frozen = bot.pids().first().copied();
                bot.signal(libc::SIGSTOP);
            }
            TOKEN_RENEWED => write_token(&env.path("token.json"), TOKEN_RENEWED + 7 * 96),
            _ => {}
        }
        if i == 0 {
            write_token(&env.path("token.json"), TOKEN_EXPIRES);
        }
        if i == OUTAGE.start {
            discord.set_down(Some(500));
        }
        if i == OUTAGE.end {
            discord.set_down(None);
        }
        bot.work(now);
        if !STALE.contains(&i) {
            db.execute("INSERT INTO ticks (ts) VALUES (?1)", [now.as_second()])
                .unwrap();
        }
        let flipping = FLAPPING.contains(&i) && i % 2 == 0;
        env.write("code", if flipping { "2" } else { "0" });

        let (code, json, took) = run_at(&env, &libfaketime, i, READ_ONLY.contains(&i));
        total += took;
        codes.push(code);
        delivered.extend(messages(&discord, "discord", &mut seen.0, i));
        delivered.extend(messages(&email, "email", &mut seen.1, i));
        reports.push(json);
    }

    let week = Week { delivered, reports };
    println!(
        "fault week: {RUNS} runs of {} in {:.1} s ({:.0} ms per run)",
        binary().display(),
        total.as_secs_f64(),
        total.as_secs_f64() * 1000.0 / RUNS as f64
    );

    // Incidents: (name, subject, the run it starts, the runs it may take to be told).
    let incidents = [
        ("bot crash", "bot-running", CRASH, 2),
        ("frozen bot", "bot-running", FREEZE, 4),
        ("stale data", "ticks", STALE.start, 6),
        ("token expires", "token", TOKEN_EXPIRES - 24, 2),
        ("flapping", "flappy", FLAPPING.start, 10),
        ("state read-only", "healthcheck", READ_ONLY.start, 1),
    ];
    let mut missed = 0;
    for (name, subject, from, within) in incidents {
        let window = from..from + 40;
        let told = week.told(subject, from..from + within + 1);
        if told == 0 {
            missed += 1;
        }
        let per_stream = week.messages_excluding_reminders(subject, window.clone());
        println!(
            "incident {name:<16} told: {told:>2} message(s); excluding reminders: {per_stream:?}"
        );
        for (stream, n) in &per_stream {
            assert!(
                *n <= 2,
                "{name}: {n} messages to {stream} (problem and recovery at most)"
            );
        }
        assert!(told > 0, "{name}: missed");
    }
    println!("incidents missed: {missed}");

    // Reminders exactly per renotify, for problems that lasted.
    for subject in ["bot-running", "ticks", "token"] {
        let (expected, got) = week.reminders(subject);
        println!("reminders for {subject}: expected {expected}, got {got}");
        assert_eq!(expected, got, "{subject}");
    }

    // Every alert of the outage reached Discord's stream exactly once.
    let outage_events = week.events_decided_in(OUTAGE);
    let mut counts = Vec::new();
    for (subject, kind, message) in &outage_events {
        let n = week
            .delivered
            .iter()
            .flat_map(|m| m.events.iter())
            .filter(|(s, k, msg)| s == subject && k == kind && msg == message)
            .count();
        counts.push(n);
        assert_eq!(n, 1, "{subject} {kind} {message}: delivered {n} times");
    }
    let by_fallback = week
        .delivered
        .iter()
        .filter(|m| m.on_behalf_of.as_deref() == Some("discord"))
        .count();
    let notice = week.delivered.iter().find(|m| {
        m.receiver == "discord"
            && m.events.iter().any(|(_, _, msg)| {
                msg.contains("were delivered by email while discord was failing")
            })
    });
    println!(
        "outage: {} alert(s) decided, each delivered {counts:?} time(s); {by_fallback} message(s) through the fallback; notice: {}",
        outage_events.len(),
        notice.map_or("none".to_string(), |m| format!(
            "run {}: {}",
            m.run, m.events[0].2
        ))
    );
    assert!(outage_events.len() >= 3, "{outage_events:?}");
    assert!(by_fallback >= 1);
    assert!(notice.is_some_and(|m| m.run == OUTAGE.end));

    // No restart loops: the crash and the freeze, one restart each.
    let restarts: Vec<(usize, String)> = week
        .reports
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r["actions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["outcome"] == "ok")
                .map(move |a| (i, a["detail"].as_str().unwrap().to_string()))
        })
        .collect();
    let suspended = week
        .reports
        .iter()
        .flat_map(|r| r["actions"].as_array().unwrap().iter())
        .filter(|a| a["outcome"] == "suspended")
        .count();
    println!(
        "restarts: {} at runs {:?}; suspensions: {suspended}",
        restarts.len(),
        restarts.iter().map(|(i, _)| *i).collect::<Vec<_>>()
    );
    assert_eq!(
        restarts.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        [CRASH, FREEZE]
    );
    assert!(
        restarts.iter().all(|(_, d)| d.contains("it helped")),
        "{restarts:?}"
    );
    assert_eq!(suspended, 0);

    // The read-only hour exits 3 and is told once; the clock steps are no news.
    assert!(READ_ONLY.clone().all(|i| codes[i] == 3), "{codes:?}");
    let after_steps =
        week.told_any(STEP_BACK..STEP_BACK + 4) + week.told_any(STEP_FORWARD..STEP_FORWARD + 4);
    assert_eq!(after_steps, 0, "a clock step is no incident");
    let negative = week.negative_durations();
    println!("negative durations in the week's output: {negative}");
    assert_eq!(negative, 0);
}

struct Week {
    delivered: Vec<Message>,
    reports: Vec<serde_json::Value>,
}

impl Week {
    /// Messages with an event about `subject` delivered in `runs`.
    fn told(&self, subject: &str, runs: std::ops::Range<usize>) -> usize {
        self.delivered
            .iter()
            .filter(|m| runs.contains(&m.run) && m.events.iter().any(|(s, _, _)| s == subject))
            .count()
    }

    fn told_any(&self, runs: std::ops::Range<usize>) -> usize {
        self.delivered
            .iter()
            .filter(|m| runs.contains(&m.run))
            .count()
    }

    /// Per stream (Discord's, with what its fallback delivered for it, and
    /// email's own), the messages about `subject` in `runs` that are not
    /// only reminders.
    fn messages_excluding_reminders(
        &self,
        subject: &str,
        runs: std::ops::Range<usize>,
    ) -> BTreeMap<&'static str, usize> {
        let mut per = BTreeMap::new();
        for m in self.delivered.iter().filter(|m| runs.contains(&m.run)) {
            let news = m
                .events
                .iter()
                .any(|(s, k, _)| s == subject && k != "reminder");
            if news {
                let stream = if m.on_behalf_of.is_some() {
                    "discord"
                } else {
                    m.receiver
                };
                *per.entry(stream).or_default() += 1;
            }
        }
        per
    }

    /// Reminders expected for `subject` from what each run decided (a
    /// problem announced at run a and lasting until run b is reminded at
    /// a + 16k < b), and reminders decided.
    fn reminders(&self, subject: &str) -> (usize, usize) {
        let mut expected = 0;
        let mut got = 0;
        let status = |i: usize| -> String {
            self.reports[i]["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == subject)
                .map(|c| c["status"].as_str().unwrap().to_string())
                .unwrap_or_default()
        };
        for (i, r) in self.reports.iter().enumerate() {
            for e in r["events"].as_array().unwrap() {
                if e["subject"] != subject {
                    continue;
                }
                match e["kind"].as_str().unwrap() {
                    "problem" => {
                        // It lasts while the check keeps the problem's status
                        // (a re-check after a restart may end it at once).
                        let shown = e["status"].as_str().unwrap();
                        let end = (i..self.reports.len())
                            .find(|j| status(*j) != shown)
                            .unwrap_or(self.reports.len());
                        expected += (1..).take_while(|k| i + RENOTIFY_RUNS * k < end).count();
                    }
                    "reminder" => got += 1,
                    _ => {}
                }
            }
        }
        (expected, got)
    }

    /// The events decided by the runs in `runs`, for Discord's stream.
    fn events_decided_in(&self, runs: std::ops::Range<usize>) -> Vec<(String, String, String)> {
        runs.flat_map(|i| self.reports[i]["events"].as_array().unwrap().clone())
            .map(|e| {
                (
                    e["subject"].as_str().unwrap().to_string(),
                    e["kind"].as_str().unwrap().to_string(),
                    e["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Readings in seconds below zero, in every run's report.
    fn negative_durations(&self) -> usize {
        self.reports
            .iter()
            .flat_map(|r| r["checks"].as_array().unwrap().iter())
            .flat_map(|c| c["readings"].as_array().unwrap().iter())
            .filter(|r| {
                r["unit"] == "s"
                    && r["name"] != "until"
                    && r["value"].as_f64().is_some_and(|v| v < 0.0)
            })
            .count()
    }
}
