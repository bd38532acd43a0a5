//! A new user's first day with a bot: what `status` and `history` tell
//! after an incident, with no config at hand, and while `max_per_hour`
//! holds alerts back.

use crate::harness::Env;

#[test]
fn status_and_history_without_a_config_say_on_stderr_which_config_and_state_they_read() {
    let env = Env::new();
    for command in ["status", "history"] {
        let run = env.run(&[command]);
        assert!(
            run.stderr.contains("healthcheck: no config found (")
                && run.stderr.contains("showing the state in ")
                && run.stderr.contains("of the embedded default config"),
            "{command}: {}",
            run.stderr
        );
    }
}

/// A file check whose file a restart puts back: one incident, fixed by a
/// restart within one run.
fn fixed_by_a_restart(env: &Env) {
    let flag = env.path("bot.alive");
    env.config(&format!(
        "[[service]]\nname = \"bot\"\ncommand = {{ restart = [\"touch\", \"{flag}\"] }}\n\n\
         [[check]]\nname = \"bot-alive\"\ntype = \"file\"\npath = \"{flag}\"\nrestart = \"bot\"\n",
        flag = flag.display()
    ));
    let run = env.run(&[]);
    assert!(flag.exists(), "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn status_does_not_hide_an_outage_that_a_restart_fixed_and_history_lists_the_incident() {
    let env = Env::new();
    fixed_by_a_restart(&env);
    let status = env.run(&["status"]);
    let line = status
        .stdout
        .lines()
        .find(|l| l.contains("bot-alive"))
        .unwrap_or_else(|| panic!("{}", status.stdout));
    assert!(line.starts_with("[OK]"), "{line}");
    assert!(line.contains("(recovered at "), "{line}");
    assert!(line.contains(" after a restart; CRITICAL from "), "{line}");
    let history = env.run(&["history"]);
    let incidents = history
        .stdout
        .split("incidents:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no incidents in:\n{}", history.stdout));
    let first = incidents.lines().next().unwrap();
    assert!(first.starts_with("  bot-alive CRITICAL from "), "{first}");
    assert!(first.contains("; restart bot at "), "{first}");
    assert!(first.ends_with("(ok, helped)"), "{first}");
}

#[test]
fn status_and_history_show_the_alerts_max_per_hour_holds_back() {
    let env = Env::new();
    let told = env.path("told");
    env.config(&format!(
        "[alerting]\nmax_per_hour = 1\n\n\
         [[alert]]\nname = \"phone\"\ntype = \"command\"\ncommand = [\"sh\", \"-c\", \"cat >> {told}\"]\n\n\
         [[check]]\nname = \"a\"\ntype = \"file\"\npath = \"/nonexistent/a\"\nseverity = \"warning\"\n\n\
         [[check]]\nname = \"b\"\ntype = \"file\"\npath = \"/nonexistent/b\"\nseverity = \"warning\"\n",
        told = told.display()
    ));
    env.run(&["--only", "a"]);
    env.run(&["--only", "b"]);
    let sent = std::fs::read_to_string(&told).unwrap();
    assert!(
        sent.contains("[WARNING] a") && !sent.contains("[WARNING] b"),
        "{sent}"
    );
    let status = env.run(&["status"]);
    assert!(
        status
            .stdout
            .contains("alerts phone: 1 alert held back by max_per_hour since "),
        "{}",
        status.stdout
    );
    let history = env.run(&["history"]);
    assert!(
        history
            .stdout
            .contains("alerts held back:\n  phone: 1 alert held back by max_per_hour since "),
        "{}",
        history.stdout
    );
}

/// The Freqtrade stand-in (`tests/fixtures/bot/freqbot.py`), ended by its
/// PID when the test ends.
struct Bot {
    child: std::process::Child,
    log: std::path::PathBuf,
    port: u16,
}

impl Bot {
    fn start(env: &Env, args: &[&str]) -> Bot {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = env.path("freqtrade.log");
        let script = crate::harness::fixtures().join("bot/freqbot.py");
        let child = std::process::Command::new("python3")
            .arg(script)
            .args([
                "--log",
                &log.display().to_string(),
                "--port",
                &port.to_string(),
            ])
            .args(args)
            .spawn()
            .expect("python3 runs the bot");
        Bot { child, log, port }
    }

    /// Wait for the bot to crash, and say how it ended.
    fn crashed(&mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }

    /// The lines its log holds now.
    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Wait until the log holds a line containing `text`.
    fn wait_for(&self, text: &str) {
        while !self.lines().iter().any(|l| l.contains(text)) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// "2026-12-07 22:10:03,123" at the start of a line, read as UTC.
fn logged_at(line: &str) -> jiff::Timestamp {
    let text = line[..23].replacen(' ', "T", 1).replace(',', ".");
    text.parse::<jiff::civil::DateTime>()
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
}

#[test]
fn a_dead_bots_heartbeat_is_aged_from_when_it_was_written_not_when_it_was_read() {
    let env = Env::new();
    let mut bot = Bot::start(&env, &["--utc", "--heartbeat", "0.5", "--crash-after", "3"]);
    assert_eq!(bot.crashed().code(), Some(2));
    let lines = bot.lines();
    assert!(
        lines.last().unwrap().contains("ERROR - Fatal exception!"),
        "{lines:?}"
    );
    let last_beat = lines
        .iter()
        .rev()
        .find(|l| l.contains("Bot heartbeat."))
        .unwrap();
    env.config(&format!(
        "[[check]]\nname = \"heartbeat\"\ntype = \"log\"\npath = \"{}\"\npattern = 'Bot heartbeat\\.'\nexpect = \"age\"\nnaive_timezone = \"UTC\"\ncrit_above = \"1h\"\n",
        bot.log.display()
    ));
    let report = env.run(&["--format", "json"]).json();
    let check = &report["checks"][0];
    assert_eq!(check["status"], "ok", "{check}");
    assert_eq!(check["readings"][0]["name"], "age");
    let started: jiff::Timestamp = report["started_at"].as_str().unwrap().parse().unwrap();
    let expected = started.duration_since(logged_at(last_beat)).as_secs_f64();
    let age = check["readings"][0]["value"].as_f64().unwrap();
    assert!(
        (age - expected).abs() < 0.002,
        "age {age}, written {expected} before the run"
    );
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .starts_with("last line matching /Bot heartbeat\\./ "),
        "{check}"
    );
}

#[test]
fn a_hung_bot_api_is_critical_on_every_run_and_names_its_url() {
    let env = Env::new();
    let bot = Bot::start(&env, &["--hang-api", "--api-after", "0"]);
    bot.wait_for("Bot heartbeat.");
    let url = format!("http://127.0.0.1:{}/api/v1/ping", bot.port);
    env.config(&format!(
        "[[check]]\nname = \"api\"\ntype = \"http\"\nurl = \"{url}\"\ntimeout = \"1s\"\nafter = 2\n"
    ));
    for run in 1..=3 {
        let out = env.run(&[]);
        assert_eq!(out.code, 2, "run {run}: {}", out.stdout);
        assert!(
            out.line("api")
                .contains(&format!("GET {url}: no answer within 1s")),
            "run {run}: {}",
            out.stdout
        );
    }
}

/// "2026-12-07 22:10:03,123" at the start of a line, in this machine's zone
/// (as Python's logging writes it).
fn logged_locally(line: &str) -> jiff::Timestamp {
    let text = line[..23].replacen(' ', "T", 1).replace(',', ".");
    text.parse::<jiff::civil::DateTime>()
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::system())
        .unwrap()
        .timestamp()
}

#[test]
fn heartbeats_read_after_a_gap_are_counted_when_they_were_written_not_when_read() {
    let env = Env::new();
    let log = env.write("freqtrade.log", "");
    env.config(&format!(
        "[[check]]\nname = \"beats\"\ntype = \"log\"\npath = \"{}\"\npattern = 'Bot heartbeat\\.'\nper = \"2s\"\n",
        log.display()
    ));
    env.run(&[]);
    // No run while the bot lives and dies: a gap of over 4 seconds.
    let mut bot = Bot::start(&env, &["--heartbeat", "0.5", "--crash-after", "4"]);
    bot.crashed();
    let report = env.run(&["--format", "json"]).json();
    let started: jiff::Timestamp = report["started_at"].as_str().unwrap().parse().unwrap();
    let beats: Vec<jiff::Timestamp> = bot
        .lines()
        .iter()
        .filter(|l| l.contains("Bot heartbeat."))
        .map(|l| logged_locally(l))
        .collect();
    let within = beats
        .iter()
        .filter(|t| started.duration_since(**t) < jiff::SignedDuration::from_secs(2))
        .count();
    assert!(
        within < beats.len(),
        "the bot wrote for longer than the window"
    );
    let check = &report["checks"][0];
    assert_eq!(check["readings"][0]["name"], "rate");
    assert_eq!(
        check["readings"][0]["value"].as_f64().unwrap(),
        within as f64,
        "{check}"
    );
}
