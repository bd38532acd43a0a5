//! The uptime history, `report` and the status page, end to end: a
//! simulated week under libfaketime whose page and report match what
//! happened to the minute; the page as headless Chromium renders it (at
//! phone and desktop width, STALE when its timer stopped); the badges and
//! the feed read by xmllint; what a steady run writes with the page on and
//! off; and a history that stays whole when runs are killed mid-write.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Env, libfaketime, missing};

const STEP_MINUTES: i64 = 15;
const RUNS: usize = 7 * 24 * 60 / STEP_MINUTES as usize;
/// The bot is down from 10:00 to 12:00 on the second day.
const DOWN: std::ops::Range<usize> = 136..144;
/// No run from 20:00 to 23:00 on the fourth day (the timer stopped).
const SKIPPED: std::ops::Range<usize> = 368..380;

fn start() -> jiff::Timestamp {
    "2026-12-07T00:00:00Z".parse().unwrap()
}

fn at(i: usize) -> jiff::Timestamp {
    start() + jiff::SignedDuration::from_mins(i as i64 * STEP_MINUTES)
}

/// The binary with its wall clock starting at `when`.
fn at_time(
    env: &Env,
    libfaketime: &Path,
    when: jiff::Timestamp,
    args: &[&str],
) -> crate::harness::Run {
    let out = env
        .cmd()
        .args(args)
        .arg("-c")
        .arg(env.path("healthcheck.toml"))
        .env("TZ", "UTC")
        .env("LD_PRELOAD", libfaketime)
        .env("FAKETIME", when.strftime("@%Y-%m-%d %H:%M:%S").to_string())
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .output()
        .unwrap();
    crate::harness::Run::from(out)
}

fn week_config(env: &Env) {
    let flag = env.write("bot-up", "");
    env.config(&format!(
        r#"[settings]
state_dir = "{state}"
expected_interval = "15m"
hostname = "pi"

[page]
dir = "{page}"
title = "Pi <bots>"
url = "https://status.example.org/pi/"

[[check]]
name = "bot"
type = "command"
command = ["sh", "-c", "test -e {flag} || exit 2"]

[[check]]
name = "steady"
type = "command"
command = ["true"]
"#,
        state = env.path("state").display(),
        page = env.path("page").display(),
        flag = flag.display()
    ));
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The simulated week, run once; `None` (and the reason printed) without libfaketime.
fn week() -> Option<(Env, PathBuf)> {
    let Some(libfaketime) = libfaketime() else {
        missing("libfaketime", "apt-get install faketime");
        return None;
    };
    let env = Env::new();
    week_config(&env);
    for i in 0..RUNS {
        if SKIPPED.contains(&i) {
            continue;
        }
        if i == DOWN.start {
            std::fs::remove_file(env.path("bot-up")).unwrap();
        }
        if i == DOWN.end {
            env.write("bot-up", "");
        }
        let run = at_time(&env, &libfaketime, at(i), &["-q"]);
        assert!(run.stderr.is_empty(), "run {i}: {}", run.stderr);
    }
    Some((env, libfaketime))
}

/// A date's cell of a check in status.json: (uptime, cell, runs, missed).
fn cell(page: &serde_json::Value, check: &str, date: &str) -> (Option<f64>, String, u64, u64) {
    let c = page["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == check)
        .unwrap();
    let d = c["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == date)
        .unwrap_or_else(|| panic!("no {date} for {check}"));
    (
        d["uptime"].as_f64(),
        d["cell"].as_str().unwrap().to_string(),
        d["runs"].as_u64().unwrap(),
        d["missed"].as_u64().unwrap(),
    )
}

#[test]
fn a_simulated_week_shows_on_the_page_and_in_the_report_to_the_minute() {
    let Some((env, libfaketime)) = week() else {
        return;
    };
    let page = read_json(&env.path("page/status.json"));
    assert_eq!(page["schema"], 1);
    let days = [
        "2026-12-07",
        "2026-12-08",
        "2026-12-09",
        "2026-12-10",
        "2026-12-11",
        "2026-12-12",
        "2026-12-13",
    ];
    let expected = |check: &str, day: usize| match (check, day) {
        // 2 h down of 24: 88 of 96 runs up.
        ("bot", 1) => (Some(91.7), "critical".to_string(), 96, 0),
        // 3 h without runs: 12 missed, never up, the cell grey.
        (_, 3) => (Some(87.5), "missed".to_string(), 84, 12),
        _ => (Some(100.0), "ok".to_string(), 96, 0),
    };
    for check in ["bot", "steady"] {
        for (n, date) in days.iter().enumerate() {
            assert_eq!(
                cell(&page, check, date),
                expected(check, n),
                "{check} {date}"
            );
        }
        // The day before the week: no data, grey.
        assert_eq!(
            cell(&page, check, "2026-12-06"),
            (None, "none".into(), 0, 0)
        );
    }
    let bot = &page["checks"][0];
    assert_eq!(bot["uptime"]["7d"], 97.0, "652 of 672 runs up");
    assert_eq!(bot["uptime"]["24h"], 100.0);
    assert_eq!(page["checks"][1]["uptime"]["7d"], 98.2, "660 of 672");
    let incidents = page["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0]["check"], "bot");
    assert_eq!(incidents[0]["start"], "2026-12-08T10:00:00Z");
    assert_eq!(incidents[0]["end"], "2026-12-08T12:00:00Z");
    assert_eq!(incidents[0]["minutes"], 120);
    assert_eq!(incidents[0]["worst"], "critical");

    // The report from the history alone gives the same numbers.
    let end = at(RUNS - 1) + jiff::SignedDuration::from_mins(5);
    let run = at_time(
        &env,
        &libfaketime,
        end,
        &["report", "--since", "7d", "--format", "csv"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<Vec<&str>> = run.stdout.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0],
        ["date", "check", "runs", "up", "missed", "uptime", "worst"]
    );
    for check in ["bot", "steady"] {
        for (n, date) in days.iter().enumerate() {
            let row = rows
                .iter()
                .find(|r| r[0] == *date && r[1] == check)
                .unwrap_or_else(|| panic!("no row for {check} {date}:\n{}", run.stdout));
            let (uptime, cell, runs, missed) = expected(check, n);
            let up = (uptime.unwrap() * f64::from(runs as u32 + missed as u32) / 100.0).round();
            assert_eq!(
                row[2..],
                [
                    runs.to_string(),
                    up.to_string(),
                    missed.to_string(),
                    format!("{:.1}", uptime.unwrap()),
                    cell
                ],
                "{check} {date}"
            );
        }
    }
    let total = rows
        .iter()
        .find(|r| r[0] == "total" && r[1] == "bot")
        .unwrap();
    assert_eq!(total[2..6], ["660", "652", "12", "97.0"]);
    let text = at_time(&env, &libfaketime, end, &["report", "--since", "7d"]);
    assert!(
        text.stdout
            .contains("2026-12-08 10:00 -> 2026-12-08 12:00 (2h 0m)  bot  CRITICAL"),
        "{}",
        text.stdout
    );

    // The badges are SVG, the feed is Atom, both well-formed.
    if Command::new("xmllint").arg("--version").output().is_err() {
        missing("xmllint", "apt-get install libxml2-utils");
        return;
    }
    for file in [
        "page/badges/bot.svg",
        "page/badges/steady.svg",
        "page/feed.xml",
    ] {
        let out = Command::new("xmllint")
            .args(["--noout"])
            .arg(env.path(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let xpath = |file: &str, expr: &str| {
        let out = Command::new("xmllint")
            .args(["--xpath", expr])
            .arg(env.path(file))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        xpath("page/badges/bot.svg", "namespace-uri(/*)"),
        "http://www.w3.org/2000/svg"
    );
    assert!(xpath("page/badges/bot.svg", "string(/*[local-name()='svg'])").contains("ok 97.0%"));
    assert_eq!(
        xpath("page/feed.xml", "namespace-uri(/*)"),
        "http://www.w3.org/2005/Atom"
    );
    let entries = xpath("page/feed.xml", "count(//*[local-name()='entry'])");
    // bot and steady OK, bot CRITICAL, bot OK again; newest first.
    assert_eq!(entries, "4");
    assert_eq!(
        xpath(
            "page/feed.xml",
            "string(//*[local-name()='entry'][2]/*[local-name()='updated'])"
        ),
        "2026-12-08T10:00:00Z"
    );
}

/// Headless Chromium, or `None` (and the reason printed) without it.
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        missing("chromium", "apt-get install chromium");
    }
    found
}

/// Chromium on `page` at `width` px: the DOM after its script ran, and
/// what it said on its console.
fn render(
    env: &Env,
    browser: &str,
    page: &Path,
    width: u32,
    screenshot: Option<&Path>,
) -> (String, String) {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=3000",
    ])
    .arg(format!(
        "--user-data-dir={}",
        env.path("chromium").display()
    ))
    .arg(format!("--window-size={width},2400"));
    match screenshot {
        Some(png) => cmd.arg(format!("--screenshot={}", png.display())),
        None => cmd.arg("--dump-dom"),
    };
    let out = cmd
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn page_config(env: &Env) {
    let log = env.write("app.log", "started\n");
    env.config(&format!(
        r#"[settings]
state_dir = "{state}"
expected_interval = "15m"

[page]
dir = "{page}"

[[check]]
name = "collector <log>"
type = "file"
path = "{log}"
warn_above = "0s"

[[check]]
name = "bot"
type = "command"
command = ["sh", "-c", "echo 'bot is down'; exit 2"]

[[check]]
name = "disk"
type = "disk"

[[check]]
name = "private"
type = "disk"
page = false
"#,
        state = env.path("state").display(),
        page = env.path("page").display(),
        log = log.display()
    ));
}

#[test]
fn chromium_shows_every_check_with_its_status_word_and_uptime_and_a_page_two_hours_old_is_stale() {
    let Some(browser) = chromium() else {
        return;
    };
    let env = Env::new();
    page_config(&env);
    for _ in 0..3 {
        env.run(&["-q"]);
    }
    let index = env.path("page/index.html");
    let html = std::fs::read_to_string(&index).unwrap();
    for external in ["src=\"http", "href=\"http", "<link", "@import"] {
        assert!(!html.contains(external), "the page loads {external}");
    }
    assert!(!html.contains("private"), "page = false is left off");
    // A copy that reports, after the page's own script, whether anything
    // is wider than the window.
    let probe = env.write(
        "page/probe.html",
        &html.replace(
            "</body>",
            "<script>document.body.setAttribute('data-overflow', \
             String(document.documentElement.scrollWidth > window.innerWidth));</script></body>",
        ),
    );
    for width in [412, 1280] {
        let (dom, console) = render(&env, browser, &probe, width, None);
        assert!(
            dom.contains("data-overflow=\"false\""),
            "{width}px: a row overflows"
        );
        for error in ["Uncaught", "SyntaxError", "ReferenceError", "TypeError"] {
            assert!(!console.contains(error), "{width}px console: {console}");
        }
        for (check, word, uptime) in [
            ("collector &lt;log&gt;", "WARNING", "100.0%"),
            ("bot", "CRITICAL", "0.0%"),
            ("disk", "OK", "100.0%"),
        ] {
            let at = dom
                .find(&format!("<h2>{check}</h2>"))
                .unwrap_or_else(|| panic!("{width}px: no {check} in\n{dom}"));
            let section = &dom[at..at + dom[at..].find("</section>").unwrap()];
            assert!(section.contains(&format!(">{word}</span>")), "{section}");
            assert!(
                section.contains(&format!("24 h <b>{uptime}</b>")),
                "{section}"
            );
        }
        assert!(dom.contains("bot is down"));
        let banner = &dom[dom.find("id=\"banner\"").unwrap()..];
        let banner = &banner[..banner.find("</div>").unwrap()];
        assert!(
            banner.contains("2 problems") && !banner.contains("STALE"),
            "{banner}"
        );
        let shot = env.path(&format!("page-{width}.png"));
        render(&env, browser, &index, width, Some(&shot));
        let png = std::fs::read(&shot).unwrap();
        assert_eq!(&png[1..4], b"PNG", "{width}px screenshot");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("page-{width}.png"));
        std::fs::copy(&shot, &out).unwrap();
        println!("screenshot at {width}px: {}", out.display());
    }

    // Written 2 hours ago, by a timer that then stopped: STALE.
    let Some(libfaketime) = libfaketime() else {
        missing("libfaketime", "apt-get install faketime");
        return;
    };
    let two_hours_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2);
    let run = at_time(&env, &libfaketime, two_hours_ago, &["-q"]);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let (dom, _) = render(&env, browser, &index, 412, None);
    let banner = &dom[dom.find("id=\"banner\"").unwrap()..];
    let banner = &banner[..banner.find("</div>").unwrap()];
    assert!(banner.contains("STALE"), "{banner}");
}

/// One run under `strace -f -y`: the bytes written under each of `dirs`
/// and the fsync calls; `None` without strace.
fn traced_run(env: &Env, dirs: &[&Path]) -> Option<(Vec<u64>, Vec<String>)> {
    if Command::new("strace").arg("-V").output().is_err() {
        missing("strace", "counting the fsyncs and writes of a run");
        return None;
    }
    let log = env.path("strace.txt");
    let out = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-qq",
            "-e",
            "trace=write,pwrite64,writev,fsync,fdatasync,sync_file_range",
            "-o",
        ])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_healthcheck"))
        .args(["-q", "-c"])
        .arg(env.path("healthcheck.toml"))
        .current_dir(env.dir.path())
        .env("HOME", env.dir.path())
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = std::fs::read_to_string(&log).unwrap();
    let bytes = dirs
        .iter()
        .map(|dir| {
            let prefix = format!("<{}", dir.display());
            trace
                .lines()
                .filter(|l| l.contains("write") && l.contains(&prefix))
                .filter_map(|l| l.rsplit("= ").next()?.trim().parse::<u64>().ok())
                .sum()
        })
        .collect();
    let syncs = trace
        .lines()
        .filter(|l| l.contains("sync"))
        .map(String::from)
        .collect();
    Some((bytes, syncs))
}

#[test]
fn a_steady_run_adds_no_fsync_and_a_few_kib_for_the_history_with_the_page_on_or_off() {
    let env = Env::new();
    page_config(&env);
    let with_page = std::fs::read_to_string(env.path("healthcheck.toml")).unwrap();
    let without = with_page.replace("[page]\n", "[page-off]\n").replace(
        &format!("[page-off]\ndir = \"{}\"\n", env.path("page").display()),
        "",
    );
    for (label, config) in [("off", &without), ("on", &with_page)] {
        env.write("healthcheck.toml", config);
        // Ten runs fill each check's status history; then runs are steady.
        for _ in 0..10 {
            env.run(&["-q"]);
        }
        let history = env.path("state/history.sqlite");
        let Some((bytes, syncs)) =
            traced_run(&env, &[&env.path("state"), &history, &env.path("page")])
        else {
            return;
        };
        println!(
            "steady run, page {label}: state dir {} bytes (history {}), page {} bytes, {} fsyncs",
            bytes[0],
            bytes[1],
            bytes[2],
            syncs.len()
        );
        assert_eq!(syncs, Vec::<String>::new(), "page {label}");
        assert!(bytes[1] > 0, "the run was recorded");
        assert!(bytes[0] <= 16 * 1024, "page {label}: {} bytes", bytes[0]);
        assert_eq!(bytes[2] > 0, label == "on");
    }
}

#[test]
fn runs_killed_at_any_moment_leave_a_whole_history() {
    let env = Env::new();
    page_config(&env);
    env.run(&["-q"]);
    // Kills spread over a run's life: before, during and after its writes.
    for i in 0..40u64 {
        let mut child = env
            .cmd()
            .args(["-q", "-c"])
            .arg(env.path("healthcheck.toml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(500 * i));
        let _ = child.kill();
        child.wait().unwrap();
    }
    let run = env.run(&["-q"]);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let db = rusqlite::Connection::open(env.path("state/history.sqlite")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let report = env.run(&["report", "--format", "json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let json = report.json();
    let runs = json["checks"][0]["runs"].as_u64().unwrap();
    assert!((2..=42).contains(&runs), "{runs} runs recorded");
    let moved_aside = std::fs::read_dir(env.path("state"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("corrupt")
        })
        .count();
    assert_eq!(moved_aside, 0, "a kill never spoils the history");
}

#[test]
fn a_digest_sent_with_a_page_url_links_to_the_page() {
    let env = Env::new();
    let slack = crate::alerts::Receiver::start();
    let webhook = crate::alerts::Receiver::start();
    env.config(&format!(
        r#"[page]
dir = "{page}"
url = "https://status.example.org/pi/"

[[alert]]
type = "slack"
url = "{slack}/hook"

[[alert]]
type = "webhook"
url = "{webhook}/hook"

[[check]]
name = "bot"
type = "command"
command = ["sh", "-c", "echo down; exit 2"]
"#,
        page = env.path("page").display(),
        slack = slack.url,
        webhook = webhook.url,
    ));
    let run = env.run(&["-q"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let sent = slack.log.accepted();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let text: serde_json::Value = serde_json::from_str(&sent[0].1).unwrap();
    assert!(
        text["text"]
            .as_str()
            .unwrap()
            .ends_with("details: https://status.example.org/pi/\n"),
        "{text}"
    );
    let posted: serde_json::Value = serde_json::from_str(&webhook.log.accepted()[0].1).unwrap();
    assert_eq!(posted["details"], "https://status.example.org/pi/");
    // The outbox never keeps the link: it is the config's when sent.
    let state = std::fs::read_to_string(env.path("state/state.json")).unwrap();
    assert!(!state.contains("status.example.org"), "{state}");
}

#[test]
fn report_needs_no_secret_and_takes_the_format_given_before_it() {
    let env = Env::new();
    env.config(
        r#"[[alert]]
type = "discord"
url = "${DISCORD_URL}"

[[check]]
name = "steady"
type = "command"
command = ["true"]
"#,
    );
    // No history yet: every check, no runs.
    let empty = env.run(&["report", "--format", "csv", "--since", "1d"]);
    assert_eq!(empty.code, 0, "{}", empty.stderr);
    assert!(
        empty.stdout.contains("total,steady,0,0,0,,\n"),
        "{}",
        empty.stdout
    );
    let run = env
        .cmd()
        .args(["-q"])
        .env("DISCORD_URL", "https://discord.invalid/x")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    // The secret is unset now, as for a user without the credentials.
    let json = env.run(&["--format", "json", "report", "--since", "2h"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let doc = json.json();
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["checks"][0]["name"], "steady");
    assert_eq!(doc["checks"][0]["runs"], 1);
    assert_eq!(doc["checks"][0]["uptime"], 100.0);
    let bad = env.run(&["report", "--since", "soon"]);
    assert_eq!(bad.code, 3);
    assert!(bad.stderr.contains("--since"), "{}", bad.stderr);
}
