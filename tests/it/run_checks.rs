//! Runs of real configs against real things: files, logs, a stopped
//! process, an HTTP server, a TCP listener, commands. Each check must get
//! the right status and the run the worst-of exit code.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::harness::{Env, is_root};

/// A child process that is killed when the test ends, pass or fail.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        // SAFETY: plain signal to our own child.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGCONT) };
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tiny_http_server(status: u16, body: &'static str) -> (String, std::thread::JoinHandle<()>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let addr = server.server_addr().to_ip().unwrap();
    let handle = std::thread::spawn(move || {
        // Serve a bounded number of requests, then stop.
        for _ in 0..4 {
            match server.recv_timeout(Duration::from_secs(20)) {
                Ok(Some(req)) => {
                    let _ = req
                        .respond(tiny_http::Response::from_string(body).with_status_code(status));
                }
                _ => break,
            }
        }
    });
    (format!("http://{addr}"), handle)
}

#[test]
fn one_check_of_each_type_gets_its_status_and_the_run_exits_worst_of() {
    let env = Env::new();
    let log = env.write("bot.log", "start\nVIX 17.2\nPosition AAPL\nnothing\n");
    let stale = env.write("stale.log", "old\n");
    env.age(&stale, Duration::from_secs(3600));

    let marker = format!("hc-it-stopped-{}", std::process::id());
    let stopped = Proc(
        Command::new("sh")
            .args(["-c", &format!("exec -a {marker} sleep 600")])
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: kill has no memory preconditions; the pid is our own child.
    let stopped_rc = unsafe { libc::kill(stopped.0.id() as i32, libc::SIGSTOP) };
    assert_eq!(stopped_rc, 0);

    let (ok_url, ok_server) = tiny_http_server(200, "all good");
    let (bad_url, bad_server) = tiny_http_server(503, "down");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open_port = listener.local_addr().unwrap();
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    env.config(&format!(
        r#"
[[check]]
name = "fresh-log"
type = "file"
path = "{log}"
crit_above = "5m"

[[check]]
name = "stale-log"
type = "file"
path = "{stale}"
warn_above = "30m"
crit_above = "2h"

[[check]]
name = "activity"
type = "log"
path = "{log}"
pattern = "VIX|Position|Update"
lines = 100
crit_below = 1

[[check]]
name = "frozen-bot"
type = "process"
match = "{marker}"

[[check]]
name = "disk"
type = "disk"
path = "/"
crit_above = 100

[[check]]
name = "memory"
type = "memory"
crit_above = 100

[[check]]
name = "cpu"
type = "cpu"
reading = "load1"
crit_above = 1000

[[check]]
name = "api-ok"
type = "http"
url = "{ok_url}/health"
body = "good"

[[check]]
name = "api-down"
type = "http"
url = "{bad_url}/health"

[[check]]
name = "port-open"
type = "tcp"
address = "{open_port}"

[[check]]
name = "port-closed"
type = "tcp"
address = "{closed_port}"

[[check]]
name = "plugin-false"
type = "command"
command = ["/bin/false"]

[[check]]
name = "plugin-warning"
type = "command"
command = ["sh", "-c", "echo 'LOAD WARNING - load 5.2 | load1=5.2;4;8'; exit 1"]
"#,
        log = log.display(),
        stale = stale.display(),
    ));
    let run = env.run(&[]);
    let expect = [
        ("fresh-log", "[OK]"),
        ("stale-log", "[WARN]"),
        ("activity", "[OK]"),
        ("frozen-bot", "[CRIT]"),
        ("disk", "[OK]"),
        ("memory", "[OK]"),
        ("cpu", "[OK]"),
        ("api-ok", "[OK]"),
        ("api-down", "[CRIT]"),
        ("port-open", "[OK]"),
        ("port-closed", "[CRIT]"),
        ("plugin-false", "[WARN]"),
        ("plugin-warning", "[WARN]"),
    ];
    for (check, tag) in expect {
        let line = run.line(check);
        assert!(
            line.starts_with(tag),
            "{check}: expected {tag}, got: {line}\n{}",
            run.stdout
        );
    }
    assert!(run.line("frozen-bot").contains("stopped"), "{}", run.stdout);
    assert!(
        run.line("activity").contains("2 of the last 4 lines"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.code, 2,
        "worst of OK/WARNING/CRITICAL is CRITICAL:\n{}{}",
        run.stdout, run.stderr
    );
    drop(listener);
    let _ = (ok_server.join(), bad_server.join());
}

#[test]
fn a_hung_command_is_unknown_at_its_timeout_and_the_run_ends_before_its_deadline() {
    let env = Env::new();
    let log = env.write("bot.log", "VIX\n");
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"3s\"\n\n[[check]]\nname = \"hang\"\ntype = \"command\"\ncommand = [\"sleep\", \"60\"]\ntimeout = \"1s\"\n\n[[check]]\nname = \"log\"\ntype = \"file\"\npath = \"{}\"\n",
        env.path("state").display(),
        log.display()
    ));
    let started = Instant::now();
    let run = env.run(&[]);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "the run took {took:?}");
    assert!(run.line("hang").starts_with("[UNKNOWN]"), "{}", run.stdout);
    assert!(
        run.line("hang").contains("timed out after 1s"),
        "{}",
        run.stdout
    );
    assert!(run.line("log").starts_with("[OK]"), "{}", run.stdout);
    assert_eq!(run.code, 3);
}

#[test]
fn paths_that_are_not_regular_files_are_unknown_and_missing_ones_critical() {
    let env = Env::new();
    let fifo = env.path("pipe.log");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    std::fs::create_dir(env.path("a-dir")).unwrap();
    env.config(&format!(
        "[[check]]\nname = \"fifo-log\"\ntype = \"log\"\npath = \"{fifo}\"\npattern = \"x\"\nlines = 10\n\n\
         [[check]]\nname = \"fifo-file\"\ntype = \"file\"\npath = \"{fifo}\"\n\n\
         [[check]]\nname = \"dir-log\"\ntype = \"log\"\npath = \"{dir}\"\npattern = \"x\"\nlines = 10\n\n\
         [[check]]\nname = \"dev-log\"\ntype = \"log\"\npath = \"/dev/zero\"\npattern = \"x\"\nlines = 10\n\n\
         [[check]]\nname = \"gone\"\ntype = \"log\"\npath = \"{gone}\"\npattern = \"x\"\nlines = 10\n",
        fifo = fifo.display(),
        dir = env.path("a-dir").display(),
        gone = env.path("nope.log").display(),
    ));
    let started = Instant::now();
    let run = env.run(&[]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a FIFO must never block"
    );
    for check in ["fifo-log", "fifo-file", "dir-log", "dev-log"] {
        assert!(run.line(check).starts_with("[UNKNOWN]"), "{}", run.stdout);
        assert!(
            run.line(check).contains("not a regular file"),
            "{}",
            run.stdout
        );
    }
    assert!(
        run.line("gone").starts_with("[CRIT]") && run.line("gone").contains("not found"),
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 2);
}

#[test]
fn permission_denied_is_unknown_with_the_path_and_the_os_error() {
    let env = Env::new();
    let secret_dir = env.path("private");
    std::fs::create_dir(&secret_dir).unwrap();
    let log = env.write("private/bot.log", "VIX\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o000)).unwrap();
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\n\n[[check]]\nname = \"locked\"\ntype = \"log\"\npath = \"{}\"\npattern = \"VIX\"\nlines = 10\n",
        env.path("nobody-state").display(),
        log.display()
    ));
    let mut cmd = env.cmd();
    if is_root() {
        // Root ignores file modes: run as nobody, who may enter the dirs but not read the file.
        for dir in [env.dir.path(), secret_dir.as_path()] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::set_permissions(
            env.path("healthcheck.toml"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        use std::os::unix::process::CommandExt;
        cmd.uid(65534).gid(65534);
        cmd.env("HOME", "/tmp");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("locked"))
        .unwrap_or_else(|| panic!("{stdout}{}", String::from_utf8_lossy(&out.stderr)));
    assert!(line.starts_with("[UNKNOWN]"), "{line}");
    assert!(
        line.contains(&log.display().to_string()) && line.contains("Permission denied"),
        "{line}"
    );
}

#[test]
fn json_and_nagios_outputs_carry_the_contract_fields() {
    let env = Env::new();
    let log = env.write("bot.log", "x\n");
    env.config(&format!(
        "[[check]]\nname = \"watchlist\"\ntype = \"file\"\npath = \"{}\"\nwarn_above = \"10m\"\ncrit_above = \"15m\"\nhint = \"Check market-data-worker service\"\n",
        log.display()
    ));
    let json = env.run(&["--format", "json"]).json();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["status"], "ok");
    assert_eq!(json["exit_code"], 0);
    let check = &json["checks"][0];
    assert_eq!(check["name"], "watchlist");
    assert_eq!(check["type"], "file");
    assert_eq!(check["hint"], "Check market-data-worker service");
    assert_eq!(check["confirmed"], true);
    assert_eq!(check["readings"][0]["name"], "age");
    assert_eq!(check["readings"][0]["unit"], "s");
    assert_eq!(check["readings"][0]["warn_above"], 600.0);
    assert_eq!(check["readings"][0]["crit_above"], 900.0);
    for key in ["host", "started_at", "duration_ms", "actions", "alerts"] {
        assert!(json.get(key).is_some(), "missing {key}");
    }

    env.age(&log, Duration::from_secs(18 * 60));
    let nagios = env.run(&["--format", "nagios"]);
    assert_eq!(nagios.code, 2);
    let first = nagios.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("HEALTHCHECK CRITICAL - 1 critical: watchlist: modified 18m ago"),
        "{first}"
    );
    assert!(first.contains(" | 'watchlist_age'=108"), "{first}");
    assert!(first.contains("s;600;900 'watchlist_size'=2B;;"), "{first}");
    assert_eq!(
        nagios.stdout.lines().nth(1).unwrap(),
        format!(
            "CRITICAL: watchlist: {}",
            &first[first.find("modified").unwrap()..first.find(" | ").unwrap()]
        )
    );
}

#[test]
fn log_tail_counts_only_the_last_lines() {
    let env = Env::new();
    let mut content = String::new();
    for i in 0..10_000 {
        content.push_str(&format!(
            "{} line {i}\n",
            if i < 9_950 { "Update" } else { "idle" }
        ));
    }
    let log = env.write("bot.log", &content);
    env.config(&format!(
        "[[check]]\nname = \"activity\"\ntype = \"log\"\npath = \"{}\"\npattern = \"Update\"\nlines = 100\ncrit_below = 60\n",
        log.display()
    ));
    let run = env.run(&[]);
    assert!(
        run.line("activity").contains("50 of the last 100 lines"),
        "{}",
        run.stdout
    );
    assert!(
        run.line("activity").starts_with("[CRIT]")
            && run.line("activity").contains("(crit below 60)"),
        "{}",
        run.stdout
    );
    let mut s = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, content, "the log is never modified");
}

#[test]
fn log_rate_counts_errors_appended_between_runs() {
    let env = Env::new();
    let log = env.write("collector.log", "ERROR before the first run\n");
    env.config(&format!(
        "[[check]]\nname = \"errors\"\ntype = \"log\"\npath = \"{}\"\npattern = \"ERROR\"\nper = \"1h\"\nwarn_above = 2\ncrit_above = 4\ntotal = true\nmin_lines = 4\n",
        log.display()
    ));
    let append = |text: &str| {
        use std::io::Write;
        std::fs::File::options()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    };
    let first = env.run(&[]);
    assert!(
        first.line("errors").starts_with("[OK]")
            && first.line("errors").contains("0 lines matched"),
        "{}",
        first.stdout
    );
    append("ERROR one\ninfo\nERROR two\nERROR three\n");
    let second = env.run(&["--format", "json"]).json();
    assert_eq!(second["checks"][0]["status"], "warning", "{second:#}");
    assert_eq!(second["checks"][0]["readings"][0]["name"], "rate");
    assert_eq!(second["checks"][0]["readings"][0]["value"], 3.0);
    assert_eq!(
        second["checks"][0]["readings"][1]["value"], 75.0,
        "3 of 4 lines"
    );
    append("ERROR four\nERROR five\n");
    let third = env.run(&[]);
    assert!(
        third.line("errors").starts_with("[CRIT]")
            && third.line("errors").contains("5 lines matched"),
        "{}",
        third.stdout
    );
    // Rotation: the new file is read from its start.
    std::fs::rename(&log, env.path("collector.log.1")).unwrap();
    std::fs::write(&log, "ERROR six\n").unwrap();
    let fourth = env.run(&[]);
    assert!(
        fourth.line("errors").contains("6 lines matched")
            && fourth.line("errors").contains("rotated"),
        "{}",
        fourth.stdout
    );
}

#[test]
fn the_report_lists_checks_in_the_config_order_a_skipped_one_in_its_place() {
    let env = Env::new();
    env.config(
        "[schedule.closed]\ndays = []\n\n\
         [[check]]\nname = \"zeta\"\ntype = \"memory\"\n\n\
         [[check]]\nname = \"alpha\"\ntype = \"file\"\npath = \"/nonexistent/a\"\nwhen = \"closed\"\n\n\
         [[check]]\nname = \"mid\"\ntype = \"memory\"\n",
    );
    let json = env.run(&["--format", "json"]).json();
    let names = crate::harness::check_names(&json);
    assert_eq!(names, ["zeta", "alpha", "mid"]);
}

#[test]
fn a_check_outside_its_schedule_is_skipped_and_keeps_its_state() {
    let env = Env::new();
    env.config(
        "[schedule.closed]\ndays = []\n\n[schedule.open]\ntimezone = \"America/New_York\"\n\n\
         [[check]]\nname = \"market-data\"\ntype = \"file\"\npath = \"/nonexistent/market.db\"\nwhen = \"closed\"\n\n\
         [[check]]\nname = \"always\"\ntype = \"memory\"\nwhen = \"open\"\n",
    );
    let run = env.run(&[]);
    assert_eq!(run.code, 0, "a skipped check counts as OK: {}", run.stdout);
    assert!(
        run.line("market-data").starts_with("[SKIP]")
            && run
                .line("market-data")
                .contains("outside its schedule closed"),
        "{}",
        run.stdout
    );
    assert!(run.line("always").starts_with("[OK]"), "{}", run.stdout);
    assert!(run.stdout.contains("1 ok, 1 skipped"), "{}", run.stdout);
    let json = env.run(&["--format", "json"]).json();
    assert_eq!(json["checks"][0]["status"], "skipped");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("state/state.json")).unwrap())
            .unwrap();
    assert!(
        state["checks"].get("market-data").is_none(),
        "a skipped check is not run: {state:#}"
    );
    let bad = env.write(
        "bad.toml",
        "[[check]]\nname = \"x\"\ntype = \"memory\"\nwhen = \"nope\"\n",
    );
    let v = env.run(&["validate", "-c", bad.to_str().unwrap()]);
    assert!(
        v.stderr.contains("check \"x\" when: no [schedule.nope]"),
        "{}",
        v.stderr
    );
}

#[test]
fn a_dns_check_resolves_localhost_and_a_name_that_cannot_resolve_is_critical() {
    let env = Env::new();
    // A label of 64 characters cannot be put in a DNS query: the resolver
    // fails without asking anyone, so nothing leaves this machine.
    let nowhere = format!("{}.invalid", "a".repeat(64));
    env.config(&format!(
        r#"
[[check]]
name = "localhost"
type = "dns"
host = "localhost"
expect = ["127.0.0.1"]

[[check]]
name = "nowhere"
type = "dns"
host = "{nowhere}"
"#
    ));
    let run = env.run(&["--format", "json"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let json = run.json();
    let check = |name: &str| {
        json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {json}"))
            .clone()
    };
    let local = check("localhost");
    assert_eq!(local["status"], "ok", "{local}");
    assert!(
        local["message"]
            .as_str()
            .unwrap()
            .starts_with("localhost resolves to "),
        "{local}"
    );
    let nowhere_check = check("nowhere");
    assert_eq!(nowhere_check["status"], "critical", "{nowhere_check}");
    assert!(
        nowhere_check["message"]
            .as_str()
            .unwrap()
            .contains(": cannot resolve: "),
        "{nowhere_check}"
    );
}
