//! Hostile neighbours and inputs, each defect as a test named after it:
//! files planted in directories others can write, secrets in argument
//! lists and server replies, numbers that are not numbers, and inputs
//! with no bound.

use crate::alerts::{Receiver, code_check, set};
use crate::harness::{Env, is_root};

#[test]
fn a_marker_planted_by_another_user_silenced_the_state_cannot_be_saved_alert() {
    if !is_root() {
        eprintln!("skipped: giving a file to another user needs root");
        return;
    }
    let env = Env::new();
    let hook = Receiver::start();
    env.write("blocker", "a file, not a directory");
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\n\n[[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n{}",
        env.path("blocker/state").display(),
        hook.url,
        code_check(&env)
    ));
    std::fs::create_dir_all(env.path("run")).unwrap();
    set(&env, 2);
    let run = || {
        let out = env
            .cmd()
            .env("XDG_RUNTIME_DIR", env.path("run"))
            .env_remove("RUNTIME_DIRECTORY")
            .args(["--format", "json"])
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["alerts"][0].clone()
    };
    assert_eq!(run()["outcome"], "sent");
    // Another user's copy of the marker, saying the hour was just told.
    let marker = std::fs::read_dir(env.path("run"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::os::unix::fs::chown(&marker, Some(65534), Some(65534)).unwrap();
    let second = run();
    assert_eq!(second["outcome"], "sent", "{second}");
    let detail = second["detail"].as_str().unwrap();
    assert!(detail.contains("ignored"), "{detail}");
    assert!(detail.contains("owned by uid 65534"), "{detail}");
    assert_eq!(hook.log.accepted().len(), 2);
}

#[test]
fn a_variable_in_an_argument_list_leaked_to_output_state_reports_and_alerts() {
    let env = Env::new();
    let hook = Receiver::start();
    let key = "argv-key-0xA11CE";
    env.config(&format!(
        "[[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n\
         [[check]]\nname = \"api\"\ntype = \"command\"\n\
         command = [\"sh\", \"-c\", \"echo calling with $0; exit 2\", \"${{API_KEY}}\"]\n\
         run = [\"echo\", \"--token\", \"${{API_KEY}}\"]\n",
        hook.url
    ));
    let mut all = String::new();
    for args in [&["--format", "json"][..], &["-v"], &["--format", "nagios"]] {
        let out = env.cmd().env("API_KEY", key).args(args).output().unwrap();
        all.push_str(&String::from_utf8_lossy(&out.stdout));
        all.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    for entry in crate::alerts::walk(&env.path("state")) {
        all.push_str(&std::fs::read_to_string(&entry).unwrap_or_default());
    }
    for (_, body) in hook.log.accepted() {
        all.push_str(&body);
    }
    assert!(all.contains("calling with ***"), "the check ran: {all}");
    assert!(
        all.contains("--token ***"),
        "the recovery command ran: {all}"
    );
    assert!(!all.contains("0xA11CE"), "the key leaked:\n{all}");
}

#[test]
fn nan_or_infinity_in_a_json_value_passed_crit_below() {
    let env = Env::new();
    let mut checks = String::new();
    for (i, text) in ["\"NaN\"", "\"inf\"", "\"-infinity\""].iter().enumerate() {
        env.write(&format!("v{i}.json"), &format!("{{\"v\": {text}}}"));
        checks.push_str(&format!(
            "[[check]]\nname = \"v{i}\"\ntype = \"json\"\npath = \"{}\"\npointer = \"/v\"\ncrit_below = 50\n\n",
            env.path(&format!("v{i}.json")).display()
        ));
    }
    env.config(&checks);
    let out = env.run(&[]);
    for i in 0..3 {
        let line = out.line(&format!("v{i}"));
        assert!(line.starts_with("[UNKNOWN]"), "{line}");
        assert!(line.contains("not a number"), "{line}");
    }
    assert_eq!(out.code, 3, "{}", out.stdout);
}

#[test]
fn perfdata_that_overflows_when_scaled_by_its_unit_printed_inf_and_null() {
    let env = Env::new();
    // 10^300 TB is finite as written and 10^312 bytes once scaled.
    env.config(&format!(
        "[[check]]\nname = \"plugin\"\ntype = \"command\"\n\
         command = [\"sh\", \"-c\", \"echo 'OK | big=1{}TB;; small=5B'\"]\n",
        "0".repeat(300)
    ));
    let nagios = env.run(&["--format", "nagios"]);
    assert!(!nagios.stdout.contains("inf"), "{}", nagios.stdout);
    assert!(
        nagios.stdout.contains("'plugin_small'=5B"),
        "{}",
        nagios.stdout
    );
    let json = env.run(&["--format", "json"]).json();
    let readings = json["checks"][0]["readings"].as_array().unwrap();
    assert!(
        readings.iter().all(|r| r["value"].is_number()),
        "{readings:?}"
    );
}

fn mkfifo(path: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn a_pidfile_that_is_dev_zero_or_a_fifo_was_read_until_the_timeout() {
    let env = Env::new();
    let fifo = env.path("bot.pid");
    mkfifo(&fifo);
    env.config(&format!(
        "[[check]]\nname = \"zero\"\ntype = \"process\"\npidfile = \"/dev/zero\"\ntimeout = \"3s\"\n\n\
         [[check]]\nname = \"fifo\"\ntype = \"process\"\npidfile = \"{}\"\ntimeout = \"3s\"\n",
        fifo.display()
    ));
    let out = env.run(&[]);
    let zero = out.line("zero");
    assert!(zero.starts_with("[UNKNOWN]"), "{zero}");
    assert!(
        zero.contains("/dev/zero is a device, not a regular file"),
        "{zero}"
    );
    let fifo_line = out.line("fifo");
    assert!(fifo_line.starts_with("[UNKNOWN]"), "{fifo_line}");
    assert!(
        fifo_line.contains("is a FIFO, not a regular file"),
        "{fifo_line}"
    );
}

#[test]
fn a_process_service_whose_log_is_a_fifo_blocked_the_run_and_recorded_a_restart() {
    let env = Env::new();
    let fifo = env.path("bot.log");
    mkfifo(&fifo);
    let started = env.path("started");
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndeadline = \"5s\"\n\n\
         [[service]]\nname = \"bot\"\nprocess = {{ match = '^no such bot hc-fifo$', start = [\"sh\", \"-c\", \"touch {}\"], log = \"{}\" }}\nverify = \"300ms\"\ncooldown = \"0s\"\ngrace = \"0s\"\n\n\
         [[check]]\nname = \"bot-running\"\ntype = \"process\"\nmatch = '^no such bot hc-fifo$'\nrestart = \"bot\"\n",
        env.path("state").display(),
        started.display(),
        fifo.display()
    ));
    let out = env.run(&["--format", "json"]);
    let json = out.json();
    let action = &json["actions"][0];
    assert_eq!(action["outcome"], "failed", "{json:#}");
    let detail = action["detail"].as_str().unwrap();
    assert!(detail.contains("is a FIFO, not a regular file"), "{detail}");
    assert!(!started.exists(), "nothing was started");
}

#[test]
fn a_huge_config_was_read_whole_and_every_error_printed() {
    let env = Env::new();
    // 2000 lines of text that is not TOML: one error each.
    let junk: String = (0..2000)
        .map(|i| format!("this is not toml {i}\n"))
        .collect();
    let path = env.write("junk.toml", &junk);
    let out = env.run(&["validate", "-c", &path.display().to_string()]);
    assert_eq!(out.code, 3);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(lines.len() <= 22, "{} lines:\n{}", lines.len(), out.stderr);
    assert!(
        out.stderr.contains("junk.toml:1:"),
        "the first error is located: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("... and 1980 more errors"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("2000 errors"), "{}", out.stderr);
    // Over the size limit: refused before it is parsed, saying the limit.
    let big = env.path("big.toml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(256 * 1024 * 1024)
        .unwrap();
    let out = env.run(&["validate", "-c", &big.display().to_string()]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("over the 1 MiB limit"),
        "{}",
        out.stderr
    );
}

#[test]
fn twenty_checks_printing_a_megabyte_line_outgrew_the_state_limit() {
    let env = Env::new();
    let mut config =
        String::from("[[alert]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/down\"\n\n");
    for i in 0..20 {
        config.push_str(&format!(
            "[[check]]\nname = \"loud{i}\"\ntype = \"command\"\n\
             command = [\"sh\", \"-c\", \"head -c 1048576 /dev/zero | tr '\\\\0' x; echo; exit 2\"]\n\n"
        ));
    }
    env.config(&config);
    for _ in 0..2 {
        let out = env.run(&["--format", "json"]);
        let json = out.json();
        assert!(
            json["notes"].as_array().unwrap().is_empty(),
            "{}",
            json["notes"]
        );
        let message = json["checks"][0]["message"].as_str().unwrap();
        assert!(message.len() <= 2048, "{} bytes", message.len());
        assert!(
            message.ends_with("(cut)"),
            "{}",
            &message[message.len() - 40..]
        );
    }
    let size = std::fs::metadata(env.path("state/state.json"))
        .unwrap()
        .len();
    assert!(size < 1024 * 1024, "state.json is {size} bytes");
}

/// The pids of live (not zombie) processes whose command line holds `marker`.
fn alive_with(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            !zombie && String::from_utf8_lossy(&cmdline).contains(marker)
        })
        .collect()
}

#[test]
fn a_command_check_left_its_background_child_running_after_every_run() {
    let env = Env::new();
    let marker = format!("hc-left-behind-{}", std::process::id());
    env.config(&format!(
        "[[check]]\nname = \"spawner\"\ntype = \"command\"\n\
         command = [\"sh\", \"-c\", \"sh -c 'sleep 300; : {marker}' & echo started\"]\n"
    ));
    let out = env.run(&[]);
    assert!(out.line("spawner").starts_with("[OK]"), "{}", out.stdout);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut left = alive_with(&marker);
    while !left.is_empty() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
        left = alive_with(&marker);
    }
    for pid in &left {
        // SAFETY: SIGKILL to a process this test caused to be started.
        unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
    }
    assert!(left.is_empty(), "still running: {left:?}");
}

/// A `sh` whose command line holds `marker`, run as `uid` (the test's own
/// user when None); killed by the caller.
fn sleeper_as(marker: &str, uid: Option<u32>) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", &format!("sleep 300; : {marker}")]);
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    let child = cmd.spawn().unwrap();
    // Until it has exec'd, its command line is still this test's.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !alive_with(marker).contains(&child.id()) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child
}

#[test]
fn another_users_process_satisfied_a_process_check() {
    if !is_root() {
        eprintln!("skipped: running a process as another user needs root");
        return;
    }
    let env = Env::new();
    let marker = format!("hc-users-bot-{}", std::process::id());
    let mut roots = sleeper_as(&marker, None);
    env.config(&format!(
        "[[check]]\nname = \"as-nobody\"\ntype = \"process\"\nmatch = '{marker}'\nuser = \"nobody\"\n\n\
         [[check]]\nname = \"as-65534\"\ntype = \"process\"\nmatch = '{marker}'\nuser = \"65534\"\n\n\
         [[check]]\nname = \"as-root\"\ntype = \"process\"\nmatch = '{marker}'\nuser = \"root\"\n\n\
         [[check]]\nname = \"anyone\"\ntype = \"process\"\nmatch = '{marker}'\n"
    ));
    let out = env.run(&[]);
    let mut nobodys = sleeper_as(&marker, Some(65534));
    let after = env.run(&[]);
    let _ = roots.kill();
    let _ = nobodys.kill();
    let _ = roots.wait();
    let _ = nobodys.wait();
    for (name, user) in [("as-nobody", "nobody"), ("as-65534", "65534")] {
        let line = out.line(name);
        assert!(line.starts_with("[CRIT]"), "{line}");
        assert!(line.contains(&format!("as user {user}")), "{line}");
        assert!(after.line(name).starts_with("[OK]"), "{}", after.line(name));
    }
    assert!(out.line("as-root").starts_with("[OK]"), "{}", out.stdout);
    assert!(out.line("anyone").starts_with("[OK]"), "{}", out.stdout);
}

#[test]
fn a_process_manager_stopped_another_users_match_and_started_as_root() {
    if !is_root() {
        eprintln!("skipped: running a process as another user needs root");
        return;
    }
    let env = Env::new();
    let marker = format!("hc-users-service-{}", std::process::id());
    let mut roots = sleeper_as(&marker, None);
    env.config(&format!(
        "[[service]]\nname = \"bot\"\n\
         process = {{ match = '{marker}', start = [\"sh\", \"-c\", \"sleep 300; : {marker}\"], user = \"nobody\" }}\n\
         verify = \"300ms\"\ncooldown = \"0s\"\ngrace = \"0s\"\n\n\
         [[check]]\nname = \"bot-running\"\ntype = \"process\"\nmatch = '{marker}'\nuser = \"nobody\"\nrestart = \"bot\"\n"
    ));
    let out = env.run(&["--format", "json"]);
    let root_alive = roots.try_wait().unwrap().is_none();
    let _ = roots.kill();
    let _ = roots.wait();
    let started: Vec<u32> = alive_with(&marker);
    let owners: Vec<u32> = started
        .iter()
        .filter_map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .collect();
    for pid in &started {
        // SAFETY: SIGKILL to the copy the restart started.
        unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
    }
    let json = out.json();
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    assert!(root_alive, "root's process was stopped: {json:#}");
    assert!(owners.contains(&65534), "started as {owners:?}");
}

#[test]
fn a_webhook_redirect_carried_its_headers_to_another_host() {
    let env = Env::new();
    // 127.0.0.2 is loopback too, but another host.
    let elsewhere = tiny_http::Server::http("127.0.0.2:0").unwrap();
    let landing = format!(
        "http://127.0.0.2:{}/collect",
        elsewhere.server_addr().to_ip().unwrap().port()
    );
    let first = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hook",
        first.server_addr().to_ip().unwrap().port()
    );
    let redirects = std::thread::spawn(move || {
        let mut answered = 0;
        while let Ok(Some(request)) = first.recv_timeout(std::time::Duration::from_secs(5)) {
            let location = tiny_http::Header::from_bytes("Location", landing.as_str()).unwrap();
            let _ = request.respond(tiny_http::Response::empty(302).with_header(location));
            answered += 1;
        }
        answered
    });
    env.config(&format!(
        "[[alert]]\ntype = \"webhook\"\nurl = \"{url}\"\nheaders = {{ X-Api-Key = \"hook-key-0xFACE\" }}\n\n{}",
        code_check(&env)
    ));
    set(&env, 2);
    let out = env.run(&["--format", "json"]);
    let followed = elsewhere.try_recv().unwrap();
    assert!(
        followed.is_none(),
        "the delivery followed the redirect to another host: {:?}",
        followed.map(|r| r.headers().to_vec())
    );
    let alert = &out.json()["alerts"][0];
    assert_eq!(alert["outcome"], "queued", "{alert}");
    let detail = alert["detail"].as_str().unwrap();
    assert!(detail.contains("302"), "{detail}");
    assert!(
        detail.contains("127.0.0.2"),
        "the redirect is named: {detail}"
    );
    assert!(redirects.join().unwrap() >= 1);
}
