//! The systemd path against real systemd as PID 1 (`bed`): restarts and
//! their verification, start limits, sibling checks of a restarted unit,
//! readings systemd does not report, units stopped on purpose, template and
//! user units, and the shipped, hardened unit and timer.

use std::time::Duration;

use crate::bed::Bed;

/// A service `bot` restarted through systemctl, with no grace or cooldown,
/// and the checks given.
fn config(service_extra: &str, checks: &str) -> String {
    format!(
        "[settings]\nstate_dir = \"{{state}}\"\n\n\
         [[service]]\nname = \"bot\"\nsystemd = \"bot.service\"\ngrace = \"0s\"\ncooldown = \"0s\"\n\
         verify = \"8s\"\nsettle = \"2s\"\nmax_restarts = 5\n{service_extra}\n{checks}"
    )
}

const STATE_CHECK: &str = "[[check]]\nname = \"bot-unit\"\ntype = \"systemd\"\nunit = \"bot.service\"\nrestart = \"bot\"\n";

/// A bot that runs until stopped.
const LIVING_BOT: &str = "[Service]\nExecStart=/bin/sleep infinity\n";

/// A check of a run's JSON report, by name.
#[track_caller]
fn check_named<'j>(json: &'j serde_json::Value, name: &str) -> &'j serde_json::Value {
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {json:#}"))
}

fn action_detail(json: &serde_json::Value) -> String {
    json["actions"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_unit_that_dies_right_after_it_starts_is_not_called_a_success() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit(
        "bot.service",
        "[Service]\nExecStart=/bin/sh -c \"echo loading the strategy; sleep 0.4; echo 'KeyError: api_key' >&2; exit 1\"\n",
    );
    bed.ok("systemctl start bot.service; sleep 1");
    bed.config(&config("", STATE_CHECK));
    for _ in 0..2 {
        let run = bed.run(&["--format", "json"]);
        let json = run.json();
        let detail = action_detail(&json);
        assert_eq!(json["actions"][0]["outcome"], "failed", "{json:#}");
        assert!(detail.contains("came up and died after 0.4s"), "{detail}");
        assert!(
            detail.contains("KeyError: api_key"),
            "the journal's last lines: {detail}"
        );
        assert_eq!(run.code, 2, "{}", run.stdout);
    }
}

#[test]
fn systemds_start_limit_is_named_and_not_hammered() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit(
        "bot.service",
        "[Unit]\nStartLimitBurst=2\nStartLimitIntervalSec=1h\n[Service]\nExecStart=/bin/sh -c \"sleep 0.4; exit 1\"\n",
    );
    bed.ok("systemctl start bot.service; sleep 1");
    bed.config(&config("", STATE_CHECK));
    let mut refused_at = None;
    for run_no in 0..4 {
        let json = bed.run(&["--format", "json"]).json();
        let detail = action_detail(&json);
        if detail.contains("start limit") {
            assert!(
                detail.contains("systemctl reset-failed bot.service"),
                "says what to do: {detail}"
            );
            assert_eq!(json["actions"][0]["outcome"], "failed", "{json:#}");
            refused_at = Some(run_no);
            break;
        }
    }
    assert!(
        refused_at.is_some(),
        "systemd's start limit was never named"
    );
    let attempts = |bed: &Bed| {
        bed.ok("journalctl -u bot.service -o cat --no-pager | grep -c 'Start request repeated too quickly' || true")
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    let refused = attempts(&bed);
    for _ in 0..2 {
        let run = bed.run(&["--format", "json"]);
        let json = run.json();
        let outcome = json["actions"][0]["outcome"].as_str().unwrap_or_default();
        assert!(
            outcome == "suspended" || outcome == "held",
            "no more restarts while systemd refuses: {json:#}"
        );
        assert!(action_detail(&json).contains("start limit"), "{json:#}");
    }
    assert_eq!(attempts(&bed), refused, "systemd was not asked again");
}

#[test]
fn systemds_start_limit_is_reset_first_when_the_service_says_so() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit(
        "bot.service",
        "[Unit]\nStartLimitBurst=1\nStartLimitIntervalSec=1h\n[Service]\nExecStart=/bin/sh -c \"test -f /run/key || exit 1; exec sleep infinity\"\n",
    );
    // The one start the limit allows is spent failing; then the key is
    // there, but systemd refuses a second start within the hour.
    bed.sh("systemctl start bot.service");
    bed.ok("touch /run/key");
    bed.config(&config("reset_failed = true\n", STATE_CHECK));
    let json = bed.run(&["--format", "json"]).json();
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    assert_eq!(bed.show("bot.service", "ActiveState"), "active");
}

#[test]
fn a_second_check_on_the_restarted_unit_is_rechecked() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit("bot.service", LIVING_BOT);
    bed.config(&config(
        "",
        &format!(
            "{STATE_CHECK}\n[[check]]\nname = \"bot-restarts\"\ntype = \"systemd\"\nunit = \"bot.service\"\nreading = \"restarts\"\nwarn_above = 10\n"
        ),
    ));
    let run = bed.run(&["--format", "json"]);
    let json = run.json();
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    let sibling = check_named(&json, "bot-restarts");
    assert_eq!(sibling["status"], "ok", "{json:#}");
    assert!(
        sibling["message"].as_str().unwrap().contains("re-checked"),
        "{json:#}"
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn a_reading_systemd_does_not_report_is_unknown_not_ok() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit(
        "bot.service",
        "[Service]\nExecStart=/bin/sleep infinity\nMemoryAccounting=yes\nMemoryMax=1G\n",
    );
    bed.ok("systemctl start bot.service");
    // The bed's cgroup v1 has no memory accounting, as a Pi with the
    // memory cgroup off.
    assert_eq!(bed.show("bot.service", "MemoryCurrent"), "[not set]");
    bed.config(
        "[settings]\nstate_dir = \"{state}\"\n\n[[check]]\nname = \"bot-memory\"\ntype = \"systemd\"\nunit = \"bot.service\"\nreading = \"memory_percent\"\nwarn_above = 95\n",
    );
    let run = bed.run(&[]);
    let line = run.line("bot-memory");
    assert!(line.starts_with("[UNKNOWN]"), "{}", run.stdout);
    assert!(
        line.contains("systemd reports no MemoryCurrent for bot.service")
            && line.contains("MemoryAccounting=yes"),
        "{line}"
    );
    assert_eq!(run.code, 3);
}

#[test]
fn a_unit_stopped_on_purpose_is_left_alone_when_the_service_says_leave() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit("bot.service", LIVING_BOT);
    bed.ok("systemctl start bot.service && systemctl stop bot.service");
    bed.config(&config("when_stopped = \"leave\"\n", STATE_CHECK));
    let run = bed.run(&["--format", "json"]);
    let json = run.json();
    assert!(json["actions"].as_array().unwrap().is_empty(), "{json:#}");
    assert_eq!(json["checks"][0]["status"], "warning", "{json:#}");
    assert!(
        json["checks"][0]["message"]
            .as_str()
            .unwrap()
            .contains("stopped (not failed); left alone"),
        "{json:#}"
    );
    assert_eq!(bed.show("bot.service", "ActiveState"), "inactive");
    assert_eq!(run.code, 1);

    // A crash is still restarted.
    bed.ok("systemctl start bot.service && systemctl kill -s KILL bot.service");
    bed.wait_for("systemctl is-failed -q bot.service", Duration::from_secs(5));
    let json = bed.run(&["--format", "json"]).json();
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    assert_eq!(bed.show("bot.service", "ActiveState"), "active");
}

#[test]
fn a_unit_stopped_on_purpose_is_restarted_by_default() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit("bot.service", LIVING_BOT);
    bed.ok("systemctl start bot.service && systemctl stop bot.service");
    bed.config(&config("", STATE_CHECK));
    let run = bed.run(&["--format", "json"]);
    let json = run.json();
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    assert!(
        action_detail(&json).contains("bot-unit OK, it helped"),
        "{json:#}"
    );
    assert_eq!(run.code, 0);
}

/// A loopback webhook receiver: the bodies it was sent, in order. The bed's
/// containers share the host's network, so a run inside reaches it.
struct Receiver {
    url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    server: std::sync::Arc<tiny_http::Server>,
}

impl Receiver {
    fn start() -> Receiver {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}/hook", server.server_addr().to_ip().unwrap());
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (s, b) = (server.clone(), bodies.clone());
        std::thread::spawn(move || {
            for mut request in s.incoming_requests() {
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                b.lock().unwrap().push(body);
                let _ = request.respond(tiny_http::Response::empty(204));
            }
        });
        Receiver {
            url,
            bodies,
            server,
        }
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// A bot that writes a heartbeat line every half second, as a unit.
const HEARTBEAT_BOT: &str = "[Service]\nExecStart=/bin/sh -c \"while :; do echo VIX update >> /var/log/bot.log; sleep 0.5; done\"\n";

#[test]
fn a_bot_stopped_frozen_and_killed_is_restarted_three_times_an_hour_then_suspended_and_told_once() {
    let Some(bed) = Bed::boot() else { return };
    let receiver = Receiver::start();
    bed.unit("bot.service", HEARTBEAT_BOT);
    bed.ok("systemctl start bot.service");
    bed.wait_for("test -s /var/log/bot.log", Duration::from_secs(5));
    bed.config(&format!(
        "[settings]\nstate_dir = \"{{state}}\"\n\n\
         [[alert]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\n\n\
         [[service]]\nname = \"bot\"\nsystemd = \"bot.service\"\nmax_restarts = 3\nwindow = \"1h\"\n\
         grace = \"0s\"\ncooldown = \"0s\"\nverify = \"8s\"\nsettle = \"1s\"\n\n\
         {STATE_CHECK}\n\
         [[check]]\nname = \"log-fresh\"\ntype = \"file\"\npath = \"/var/log/bot.log\"\ncrit_above = \"3s\"\nrestart = \"bot\"\n",
        receiver.url
    ));
    let first = bed.run(&[]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);

    let restarted = |bed: &Bed, how: &str| {
        let json = bed.run(&["--format", "json"]).json();
        assert_eq!(json["actions"][0]["outcome"], "ok", "{how}: {json:#}");
        assert_eq!(json["exit_code"], 0, "{how}: {json:#}");
        assert_eq!(bed.show("bot.service", "ActiveState"), "active", "{how}");
    };
    // Stopped by hand.
    bed.ok("systemctl stop bot.service");
    restarted(&bed, "stopped");
    // Frozen: alive, active, and silent.
    bed.ok("systemctl kill -s STOP bot.service");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(bed.show("bot.service", "ActiveState"), "active");
    restarted(&bed, "frozen");
    // Killed.
    bed.ok("systemctl kill -s KILL bot.service");
    bed.wait_for("systemctl is-failed -q bot.service", Duration::from_secs(5));
    restarted(&bed, "killed");

    // A fourth time within the hour: no restart, suspended, told once.
    for _ in 0..2 {
        bed.ok("systemctl kill -s KILL bot.service || true");
        bed.wait_for(
            "! systemctl is-active -q bot.service",
            Duration::from_secs(5),
        );
        let run = bed.run(&["--format", "json"]);
        let json = run.json();
        assert_eq!(json["actions"][0]["outcome"], "suspended", "{json:#}");
        assert_eq!(run.code, 2);
    }
    assert_eq!(
        bed.show("bot.service", "NRestarts"),
        "0",
        "systemd itself restarted nothing"
    );
    let told: Vec<String> = receiver
        .bodies()
        .into_iter()
        .filter(|b| b.contains("manual intervention required"))
        .collect();
    assert_eq!(told.len(), 1, "{:#?}", receiver.bodies());
}

#[test]
fn a_units_restarts_memory_and_journal_are_read_from_systemd() {
    let Some(bed) = Bed::boot() else { return };
    // It crashes three times with an error, then stays up.
    bed.write(
        "/usr/local/bin/scanner",
        "#!/bin/sh\necho 'ERROR quote feed timed out'\necho 'ERROR quote feed timed out'\n\
         n=$(cat /run/scanner-starts 2>/dev/null || echo 0)\necho $((n + 1)) > /run/scanner-starts\n\
         [ \"$n\" -ge 3 ] && exec sleep infinity\nexit 1\n",
    );
    bed.ok("chmod +x /usr/local/bin/scanner");
    bed.unit(
        "scanner.service",
        "[Unit]\nStartLimitBurst=0\n[Service]\nExecStart=/usr/local/bin/scanner\nRestart=on-failure\nRestartSec=0.2\n",
    );
    bed.ok("systemctl start scanner.service");
    bed.wait_for(
        "test \"$(systemctl show --value -p NRestarts scanner.service)\" -ge 3 && systemctl is-active -q scanner.service",
        Duration::from_secs(10),
    );
    bed.config(
        "[settings]\nstate_dir = \"{state}\"\n\n\
         [[check]]\nname = \"scanner-restarts\"\ntype = \"systemd\"\nunit = \"scanner.service\"\nreading = \"restarts\"\nwarn_above = 2\n\n\
         [[check]]\nname = \"scanner-errors\"\ntype = \"log\"\njournal = \"scanner.service\"\npattern = \"ERROR\"\nlines = 100\ncrit_above = 3\n",
    );
    let run = bed.run(&["--format", "json"]);
    let json = run.json();
    let restarts = check_named(&json, "scanner-restarts");
    assert_eq!(restarts["status"], "warning", "{json:#}");
    assert!(
        restarts["message"]
            .as_str()
            .unwrap()
            .contains("warn above 2"),
        "{json:#}"
    );
    let errors = check_named(&json, "scanner-errors");
    assert_eq!(
        errors["status"], "critical",
        "six or more ERROR lines: {json:#}"
    );
}

#[test]
fn a_slow_starting_unit_is_waited_for_not_restarted_twice() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit(
        "bot.service",
        "[Service]\nExecStartPre=/bin/sleep 4\nExecStart=/bin/sleep infinity\n",
    );
    bed.config(&config("", STATE_CHECK));
    let json = bed.run(&["--format", "json"]).json();
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    let first = bed.show("bot.service", "InvocationID");
    // A run while it is starting again is a WARNING, not a second restart.
    bed.ok("systemctl restart --no-block bot.service");
    bed.wait_for(
        "systemctl show -p ActiveState bot.service | grep -q activating",
        Duration::from_secs(5),
    );
    let run = bed.run(&["--format", "json"]);
    let json = run.json();
    assert!(json["actions"].as_array().unwrap().is_empty(), "{json:#}");
    assert_eq!(json["checks"][0]["status"], "warning", "{json:#}");
    assert!(
        json["checks"][0]["message"]
            .as_str()
            .unwrap()
            .contains("is starting"),
        "{json:#}"
    );
    assert_ne!(bed.show("bot.service", "InvocationID"), first);
}

#[test]
fn a_template_units_instance_is_checked_and_restarted() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit(
        "worker@.service",
        "[Service]\nExecStart=/bin/sleep infinity\nEnvironment=SHARD=%i\n",
    );
    bed.ok("systemctl start worker@1.service worker@2.service && systemctl stop worker@1.service");
    bed.config(
        "[settings]\nstate_dir = \"{state}\"\n\n\
         [[service]]\nname = \"worker-1\"\nsystemd = \"worker@1.service\"\ngrace = \"0s\"\ncooldown = \"0s\"\nverify = \"8s\"\nsettle = \"1s\"\n\n\
         [[check]]\nname = \"worker-1\"\ntype = \"systemd\"\nunit = \"worker@1.service\"\nrestart = \"worker-1\"\n\n\
         [[check]]\nname = \"worker-2\"\ntype = \"systemd\"\nunit = \"worker@2.service\"\n",
    );
    let run = bed.run(&["--format", "json"]);
    let json = run.json();
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    assert_eq!(run.code, 0, "{json:#}");
    assert_eq!(bed.show("worker@1.service", "ActiveState"), "active");
}

#[test]
fn a_user_unit_is_checked_and_restarted_through_systemctl_user() {
    let Some(bed) = Bed::boot() else { return };
    bed.ok("useradd -m trader && loginctl enable-linger trader");
    bed.wait_for(
        "systemctl is-active -q user@$(id -u trader).service",
        Duration::from_secs(20),
    );
    bed.ok(
        "mkdir -p /home/trader/.config/systemd/user && \
         printf '[Service]\\nExecStart=/bin/sleep infinity\\n' > /home/trader/.config/systemd/user/bot.service && \
         chown -R trader: /home/trader/.config && chmod 777 /share",
    );
    let as_trader = "runuser -u trader -- env XDG_RUNTIME_DIR=/run/user/$(id -u trader)";
    bed.ok(&format!("{as_trader} systemctl --user daemon-reload"));
    bed.config(&format!(
        "[settings]\nstate_dir = \"/share/trader-state\"\nsystemctl = [\"systemctl\", \"--user\"]\n\n{}",
        config("", STATE_CHECK)
            .split_once("[[service]]")
            .map(|(_, rest)| format!("[[service]]{rest}"))
            .unwrap()
    ));
    bed.ok("chmod 644 /share/healthcheck.toml");
    let out = bed.sh(&format!(
        "{as_trader} healthcheck -c /share/healthcheck.toml --format json"
    ));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    assert_eq!(json["exit_code"], 0, "{json:#}");
    let active = bed.ok(&format!(
        "{as_trader} systemctl --user is-active bot.service"
    ));
    assert_eq!(active.trim(), "active");
}

#[test]
fn the_shipped_unit_scores_at_most_3_in_systemd_analyze_security() {
    let Some(bed) = Bed::boot() else { return };
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/healthcheck.service"
    ))
    .unwrap();
    bed.unit("healthcheck.service", &unit);
    let out = bed.sh("systemd-analyze security --no-pager healthcheck.service");
    let text = String::from_utf8_lossy(&out.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for healthcheck.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no overall level in: {text}"));
    assert!(level <= 3.0, "exposure {level}:\n{text}");
}

#[test]
fn the_shipped_timer_fires_the_hardened_unit_which_restarts_a_stopped_unit_and_alerts() {
    let Some(bed) = Bed::boot() else { return };
    let receiver = Receiver::start();
    let shipped = |name: &str| {
        std::fs::read_to_string(format!("{}/systemd/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    };
    bed.write(
        "/etc/systemd/system/healthcheck.service",
        &shipped("healthcheck.service"),
    );
    bed.write(
        "/etc/systemd/system/healthcheck.timer",
        &shipped("healthcheck.timer"),
    );
    // Every few seconds instead of every 15 minutes.
    bed.write(
        "/etc/systemd/system/healthcheck.timer.d/often.conf",
        "[Timer]\nOnCalendar=\nOnCalendar=*:*:0/3\nAccuracySec=1s\nRandomizedDelaySec=0\n",
    );
    bed.unit("bot.service", HEARTBEAT_BOT);
    bed.write(
        "/etc/healthcheck/healthcheck.toml",
        &format!(
            "[[alert]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\n\n\
             [[service]]\nname = \"bot\"\nsystemd = \"bot.service\"\ngrace = \"0s\"\ncooldown = \"0s\"\nverify = \"8s\"\nsettle = \"1s\"\n\n\
             {STATE_CHECK}\n\
             [[check]]\nname = \"bot-log\"\ntype = \"log\"\npath = \"/var/log/bot.log\"\npattern = \"VIX\"\nlines = 10\ncrit_below = 1\n\n\
             [[check]]\nname = \"procs\"\ntype = \"process\"\nmatch = \"VIX update\"\n\n\
             [[check]]\nname = \"bot-journal\"\ntype = \"file\"\njournal = \"bot.service\"\nwarn_above = \"1h\"\n\n\
             [[check]]\nname = \"trades\"\ntype = \"sql\"\ndriver = \"sqlite\"\ndatabase = \"/var/lib/bot/trades.db\"\n\
             query = \"SELECT max(ts) FROM trades\"\nexpect = \"age\"\ncrit_above = \"1h\"\n\n\
             [ping]\nurl = \"{}/ping\"\n",
            receiver.url, receiver.url
        ),
    );
    bed.ok("mkdir -p /var/lib/bot && sqlite3 /var/lib/bot/trades.db \"CREATE TABLE trades(ts); INSERT INTO trades VALUES (strftime('%s','now'))\"");
    bed.ok("systemctl daemon-reload && systemctl enable --now healthcheck.timer");
    let timers = bed.ok("systemctl list-timers --all --no-pager");
    assert!(timers.contains("healthcheck.timer"), "{timers}");
    let alerted = std::time::Instant::now() + Duration::from_secs(60);
    while !receiver.bodies().iter().any(|b| b.contains("bot-unit")) {
        assert!(
            std::time::Instant::now() < alerted,
            "no alert in 60s; journal: {}",
            bed.ok("journalctl -u healthcheck.service --no-pager -n 40")
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let journal = bed.ok("journalctl -u healthcheck.service --no-pager -o cat");
    assert!(journal.contains("restarted bot.service"), "{journal}");
    assert_eq!(bed.show("bot.service", "ActiveState"), "active");
    assert_eq!(
        bed.show("healthcheck.service", "Result"),
        "success",
        "{journal}"
    );
    // It ran sandboxed: the state is where StateDirectory put it, and on
    // the timer's next runs every check could look (the log the restarted
    // bot writes, the journal, SQLite, /proc).
    let checks = ["bot-log", "procs", "bot-journal", "trades"];
    let all_ok = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let state = bed.ok("cat /var/lib/healthcheck/state.json");
        let state: serde_json::Value = serde_json::from_str(&state).unwrap();
        if checks.iter().all(|c| state["checks"][c]["status"] == "ok") {
            break;
        }
        assert!(
            std::time::Instant::now() < all_ok,
            "not every check OK under the sandbox: {state:#}\n{}",
            bed.ok("journalctl -u healthcheck.service --no-pager -o cat -n 60")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        receiver.bodies().len() > 1,
        "the ping reached the receiver as well as the alert"
    );
}

#[test]
fn an_api_that_needs_seconds_to_come_up_was_rechecked_at_once() {
    let Some(bed) = Bed::boot() else { return };
    let port = crate::harness::TcpListenerPort::free();
    bed.unit(
        "bot.service",
        &format!(
            "[Service]\nExecStart=/usr/bin/python3 -c \"import time, http.server; time.sleep(3); \
             http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler).serve_forever()\"\n"
        ),
    );
    bed.config(&config(
        "",
        &format!(
            "[[check]]\nname = \"bot-api\"\ntype = \"http\"\nurl = \"http://127.0.0.1:{port}/\"\ntimeout = \"1s\"\nrestart = \"bot\"\n"
        ),
    ));
    let run = bed.run(&["--format", "json"]);
    let json = run.json();
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    assert!(
        action_detail(&json).contains("bot-api OK, it helped"),
        "{json:#}"
    );
    assert_eq!(run.code, 0, "{json:#}");
}
