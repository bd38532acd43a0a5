//! Logs, check memory, files and state under hostile conditions: slow reads,
//! rotations, changed paths, FIFOs and devices where files belong, broken
//! and unwritable state. Each test is named after what it proves.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{self, Env, Run};

fn append(path: &Path, text: &[u8]) {
    std::fs::File::options()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text)
        .unwrap();
}

/// A `per = "1h"` log check on `path` named `errors`.
fn rate_config(env: &Env, path: &Path, extra: &str) {
    env.config(&format!(
        "[[check]]\nname = \"errors\"\ntype = \"log\"\npath = \"{}\"\npattern = \"ERROR\"\nper = \"1h\"\n{extra}",
        path.display()
    ));
}

/// The number in "N lines matched" (or "1 line matched") of the `errors` line.
#[track_caller]
fn matched(run: &Run) -> u64 {
    let line = run.line("errors");
    let (before, _) = line
        .split_once(" lines matched")
        .or_else(|| line.split_once(" line matched"))
        .unwrap_or_else(|| panic!("no count in: {line}\n{}", run.stderr));
    before
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no count in: {line}"))
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Run `cmd`, killing it if it has not ended within `limit`: a hang is a
/// failed assertion, never a hung test.
#[track_caller]
fn run_bounded(cmd: &mut Command, limit: Duration) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Run::from(out)
}

#[test]
fn a_timeout_keeps_the_log_memory() {
    let env = Env::new();
    let log = env.write("app.log", "ERROR before the first run\n");
    rate_config(&env, &log, "");
    assert_eq!(matched(&env.run(&[])), 0);
    // Errors, then 64 MiB of zeros: no read of that ends within 1ms.
    append(&log, b"ERROR one\n");
    let f = std::fs::File::options().write(true).open(&log).unwrap();
    f.set_len(f.metadata().unwrap().len() + 64 * 1024 * 1024)
        .unwrap();
    append(&log, b"\nERROR two\n");
    rate_config(&env, &log, "timeout = \"1ms\"\n");
    let slow = env.run(&[]);
    assert!(
        slow.line("errors").starts_with("[UNKNOWN]") && slow.line("errors").contains("timed out"),
        "{}",
        slow.stdout
    );
    rate_config(&env, &log, "timeout = \"30s\"\n");
    let after = env.run(&[]);
    assert_eq!(
        matched(&after),
        2,
        "the errors written before the slow run still count: {}",
        after.stdout
    );
}

#[test]
fn a_missing_log_keeps_its_memory() {
    let env = Env::new();
    let log = env.write("app.log", "ERROR before the first run\n");
    rate_config(&env, &log, "");
    assert_eq!(matched(&env.run(&[])), 0);
    append(&log, b"ERROR one\n");
    let aside = env.path("app.log.moved");
    std::fs::rename(&log, &aside).unwrap();
    let gone = env.run(&[]);
    assert!(gone.line("errors").contains("not found"), "{}", gone.stdout);
    std::fs::rename(&aside, &log).unwrap();
    append(&log, b"ERROR two\n");
    assert_eq!(matched(&env.run(&[])), 2);
}

#[test]
fn errors_written_before_a_rotation_are_counted_in_the_rotated_file() {
    for rotated in ["app.log.1", "app.log-20261122", "app.log.2026-11-22"] {
        let env = Env::new();
        let log = env.write("app.log", "ERROR before the first run\n");
        rate_config(&env, &log, "");
        assert_eq!(matched(&env.run(&[])), 0);
        append(&log, b"ERROR late one\ninfo\nERROR late two\n");
        std::fs::rename(&log, env.path(rotated)).unwrap();
        std::fs::write(&log, "ERROR new\n").unwrap();
        let run = env.run(&[]);
        assert_eq!(matched(&run), 3, "{rotated}: {}", run.stdout);
        assert!(run.line("errors").contains(rotated), "{}", run.stdout);
        append(&log, b"ERROR newer\n");
        assert_eq!(
            matched(&env.run(&[])),
            4,
            "{rotated}: no line counted twice"
        );
    }
}

#[test]
fn a_compressed_rotated_file_is_not_read() {
    let env = Env::new();
    let log = env.write("app.log", "ERROR before the first run\n");
    rate_config(&env, &log, "");
    assert_eq!(matched(&env.run(&[])), 0);
    append(&log, b"ERROR late\n");
    std::fs::rename(&log, env.path("app.log.1.gz")).unwrap();
    std::fs::write(&log, "ERROR new\n").unwrap();
    let run = env.run(&[]);
    assert_eq!(matched(&run), 1, "{}", run.stdout);
    assert!(run.line("errors").contains("rotated"), "{}", run.stdout);
}

#[test]
fn a_copytruncate_followed_by_growth_past_the_offset_is_detected() {
    let env = Env::new();
    let log = env.write("app.log", &"info: warming up\n".repeat(10));
    rate_config(&env, &log, "");
    assert_eq!(matched(&env.run(&[])), 0);
    append(&log, b"ERROR late\n");
    // logrotate's copytruncate: copy, truncate in place, then the bot writes on.
    std::fs::copy(&log, env.path("app.log.1")).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, "ERROR new\n".repeat(30).as_bytes());
    assert!(std::fs::metadata(&log).unwrap().len() > 200);
    let run = env.run(&[]);
    assert_eq!(matched(&run), 31, "{}", run.stdout);
    assert!(run.line("errors").contains("truncated"), "{}", run.stdout);
}

#[test]
fn a_changed_path_starts_at_the_end_of_the_new_file() {
    let env = Env::new();
    let first = env.write("a.log", "ERROR in a\n");
    rate_config(&env, &first, "");
    assert_eq!(matched(&env.run(&[])), 0);
    let second = env.write("b.log", &"ERROR old line of b\n".repeat(5));
    rate_config(&env, &second, "");
    let run = env.run(&[]);
    assert_eq!(
        matched(&run),
        0,
        "old lines of a new path never alert: {}",
        run.stdout
    );
    append(&second, b"ERROR new in b\n");
    assert_eq!(matched(&env.run(&[])), 1);
}

#[test]
fn a_new_path_to_the_same_file_continues_where_it_stopped() {
    let env = Env::new();
    let log = env.write("app.log", "ERROR before\n");
    rate_config(&env, &log, "");
    assert_eq!(matched(&env.run(&[])), 0);
    append(&log, b"ERROR one\n");
    let link = env.path("current.log");
    std::os::unix::fs::symlink(&log, &link).unwrap();
    rate_config(&env, &link, "");
    assert_eq!(matched(&env.run(&[])), 1);
}

#[test]
fn a_fifo_as_the_config_is_refused_at_once() {
    let env = Env::new();
    let fifo = env.path("fifo.toml");
    mkfifo(&fifo);
    let run = run_bounded(
        env.cmd().args(["--config", fifo.to_str().unwrap()]),
        Duration::from_secs(10),
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(fifo.to_str().unwrap()) && run.stderr.contains("FIFO"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_fifo_or_device_as_a_credential_file_is_refused_at_once() {
    let env = Env::new();
    let fifo = env.path("token.fifo");
    mkfifo(&fifo);
    for (file, what) in [(fifo.as_path(), "FIFO"), (Path::new("/dev/zero"), "device")] {
        env.config(&format!(
            "[[check]]\nname = \"api\"\ntype = \"http\"\nurl_file = \"{}\"\n",
            file.display()
        ));
        let run = run_bounded(&mut env.cmd(), Duration::from_secs(10));
        assert_eq!(run.code, 3, "{}", run.stderr);
        assert!(
            run.stderr.contains(file.to_str().unwrap()) && run.stderr.contains(what),
            "{}",
            run.stderr
        );
    }
}

fn state_file(env: &Env) -> PathBuf {
    env.path("state/state.json")
}

#[test]
fn a_failed_quarantine_keeps_the_broken_state_file_and_saves_nothing() {
    if which("faketime").is_none() {
        harness::missing(
            "faketime",
            "the test freezes the clock to know the quarantine name",
        );
        return;
    }
    let env = Env::new();
    let log = env.write("app.log", "ok\n");
    rate_config(&env, &log, "");
    assert_eq!(env.run(&[]).code, 0);
    let broken = b"{\"version\": 1, \"checks\": {tru";
    std::fs::write(state_file(&env), broken).unwrap();
    // The quarantine name is taken by a non-empty directory: the rename fails.
    let taken = env.path("state/state.json.corrupt-20261122T050000Z");
    std::fs::create_dir_all(taken.join("full")).unwrap();
    let cmd = env.cmd();
    let program = cmd.get_program().to_owned();
    let mut faked = Command::new("faketime");
    faked
        .args(["-f", "2026-11-22 05:00:00"])
        .arg(program)
        .current_dir(env.dir.path())
        .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .env("TZ", "UTC")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let run = run_bounded(&mut faked, Duration::from_secs(30));
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("could not be moved aside"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read(state_file(&env)).unwrap(),
        broken,
        "the broken file is kept as it was"
    );
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

#[test]
fn a_symlink_loop_is_unknown_with_the_path_and_never_hangs() {
    let env = Env::new();
    let a = env.path("loop-a");
    let b = env.path("loop-b");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    env.config(&format!(
        "[[check]]\nname = \"loop-file\"\ntype = \"file\"\npath = \"{a}\"\n\n\
         [[check]]\nname = \"loop-tail\"\ntype = \"log\"\npath = \"{a}\"\npattern = \"x\"\nlines = 10\n\n\
         [[check]]\nname = \"loop-rate\"\ntype = \"log\"\npath = \"{a}\"\npattern = \"x\"\nper = \"1h\"\n",
        a = a.display()
    ));
    let run = run_bounded(&mut env.cmd(), Duration::from_secs(10));
    for check in ["loop-file", "loop-tail", "loop-rate"] {
        let line = run.line(check);
        assert!(line.starts_with("[UNKNOWN]"), "{line}");
        assert!(
            line.contains(a.to_str().unwrap()) && line.contains("symbolic links"),
            "{line}"
        );
    }
    assert_eq!(run.code, 3);
}

#[test]
fn permission_denied_on_a_file_check_is_unknown_with_the_path_and_the_os_error() {
    let env = Env::new();
    let private = env.path("private");
    std::fs::create_dir(&private).unwrap();
    let file = env.write("private/heartbeat", "tick\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    env.config(&format!(
        "[settings]\nstate_dir = \"/tmp/hc-nobody-{}\"\n\n[[check]]\nname = \"beat\"\ntype = \"file\"\npath = \"{}\"\n",
        std::process::id(),
        file.display()
    ));
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        env.path("healthcheck.toml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    // As uid 65534, who may not enter `private` (as root the mode is ignored).
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_healthcheck"))
        .current_dir(env.dir.path())
        .env("HOME", "/tmp")
        .env_remove("HEALTHCHECK_CONFIG");
    if !harness::is_root() {
        cmd = Command::new(env!("CARGO_BIN_EXE_healthcheck"));
        cmd.current_dir(env.dir.path());
    }
    let run = run_bounded(&mut cmd, Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(format!("/tmp/hc-nobody-{}", std::process::id()));
    let line = run.line("beat");
    assert!(line.starts_with("[UNKNOWN]"), "{line}\n{}", run.stderr);
    assert!(
        line.contains(file.to_str().unwrap()) && line.contains("Permission denied"),
        "{line}"
    );
}

/// Peak resident memory of a command, by GNU time, in KiB.
fn peak_rss_kib(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in: {stderr}"))
}

#[test]
fn a_10mb_line_nul_bytes_and_invalid_utf8_are_counted_in_bounded_memory() {
    if !Path::new("/usr/bin/time").is_file() {
        harness::missing(
            "/usr/bin/time",
            "GNU time measures the peak memory of the run",
        );
        return;
    }
    let env = Env::new();
    let log = env.write("app.log", "ERROR before the first run\n");
    env.config(&format!(
        "[[check]]\nname = \"errors\"\ntype = \"log\"\npath = \"{p}\"\npattern = \"ERROR\"\nper = \"1h\"\n\n\
         [[check]]\nname = \"tail\"\ntype = \"log\"\npath = \"{p}\"\npattern = \"ERROR\"\nlines = 4\n",
        p = log.display()
    ));
    assert_eq!(matched(&env.run(&[])), 0);
    append(
        &log,
        b"ERROR \0nul\0 bytes\0\n\xff\xfe ERROR \xc3\x28 invalid\ninfo \0\n",
    );
    let mut huge = b"ERROR at the start of a 10 MB line ".to_vec();
    huge.resize(10 * 1024 * 1024, b'x');
    append(&log, &huge);
    let measured = |env: &Env| {
        let mut cmd = Command::new("/usr/bin/time");
        cmd.arg("-v")
            .arg(env!("CARGO_BIN_EXE_healthcheck"))
            .current_dir(env.dir.path())
            .env("HOME", env.dir.path())
            .env_remove("HEALTHCHECK_CONFIG");
        let run = run_bounded(&mut cmd, Duration::from_secs(30));
        let kib = peak_rss_kib(&run.stderr);
        eprintln!("peak RSS of the run: {kib} KiB");
        assert!(kib < 64 * 1024, "peak RSS {kib} KiB");
        run
    };
    let unfinished = measured(&env);
    assert_eq!(
        matched(&unfinished),
        2,
        "the line without newline waits: {}",
        unfinished.stdout
    );
    assert!(
        unfinished.line("tail").contains("3 of the last 4 lines"),
        "{}",
        unfinished.stdout
    );
    append(&log, b"\n");
    let finished = measured(&env);
    assert_eq!(matched(&finished), 3, "{}", finished.stdout);
}

#[test]
fn sqlite_locked_by_a_writer_process_is_unknown_after_the_busy_timeout_and_unchanged() {
    let Some(sqlite3) = which("sqlite3") else {
        harness::missing(
            "sqlite3",
            "the CLI holds BEGIN EXCLUSIVE in another process",
        );
        return;
    };
    let env = Env::new();
    let db = env.path("t.db");
    let created = Command::new(&sqlite3)
        .arg(&db)
        .arg("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);")
        .status()
        .unwrap();
    assert!(created.success());
    let before = std::fs::read(&db).unwrap();
    let mut writer = Command::new(&sqlite3)
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = writer.stdin.take().unwrap();
    stdin
        .write_all(b"BEGIN EXCLUSIVE;\nINSERT INTO t VALUES (3);\nSELECT 'locked';\n")
        .unwrap();
    stdin.flush().unwrap();
    let mut out = writer.stdout.take().unwrap();
    let mut seen = [0u8; 7];
    std::io::Read::read_exact(&mut out, &mut seen).unwrap();
    assert_eq!(&seen, b"locked\n");
    env.config(&format!(
        "[[check]]\nname = \"db\"\ntype = \"sql\"\ndriver = \"sqlite\"\ndatabase = \"{}\"\nquery = \"SELECT count(*) FROM t\"\ntimeout = \"1s\"\n",
        db.display()
    ));
    let run = run_bounded(&mut env.cmd(), Duration::from_secs(10));
    drop(stdin);
    assert!(writer.wait().unwrap().success());
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(
        run.line("db").starts_with("[UNKNOWN]") && run.line("db").contains("database locked"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the database is unchanged (the writer rolled back)"
    );
}

/// A stale heartbeat whose check restarts `bot`; the restart notes itself
/// in `restarts.txt` (returned).
fn restarting_config(env: &Env) -> PathBuf {
    let restarts = env.path("restarts.txt");
    let stale = env.write("stale.log", "x\n");
    env.age(&stale, Duration::from_secs(600));
    env.config(&format!(
        "[[service]]\nname = \"bot\"\ncommand = {{ restart = [\"sh\", \"-c\", \"echo restart >> {}\"] }}\n\n\
         [[check]]\nname = \"bot-log\"\ntype = \"file\"\npath = \"{}\"\ncrit_above = \"1m\"\nrestart = \"bot\"\n",
        restarts.display(),
        stale.display()
    ));
    restarts
}

fn restarted(restarts: &Path) -> usize {
    std::fs::read_to_string(restarts)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn corrupt_copies(env: &Env) -> Vec<PathBuf> {
    std::fs::read_dir(env.path("state"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("state.json.corrupt-")
        })
        .map(|e| e.path())
        .collect()
}

#[test]
fn an_empty_truncated_or_sparse_huge_state_file_is_quarantined_and_restarts_wait_a_window() {
    // Control: with a good state the same config restarts at once.
    let control = Env::new();
    let restarts = restarting_config(&control);
    control.run(&[]);
    assert_eq!(restarted(&restarts), 1, "the config restarts");

    for (case, why) in [
        ("empty", "it is empty"),
        ("truncated", "not valid state JSON"),
        ("sparse", "over the 16 MiB limit"),
    ] {
        let env = Env::new();
        env.config("[[check]]\nname = \"mem\"\ntype = \"memory\"\n");
        env.run(&[]);
        let state = state_file(&env);
        let len = std::fs::metadata(&state).unwrap().len();
        let f = std::fs::File::options().write(true).open(&state).unwrap();
        f.set_len(match case {
            "empty" => 0,
            "truncated" => len / 2,
            _ => 1024 * 1024 * 1024,
        })
        .unwrap();
        drop(f);
        let restarts = restarting_config(&env);
        let run = run_bounded(
            env.cmd().args(["--format", "json"]),
            Duration::from_secs(20),
        );
        let json = run.json();
        let notes = json["notes"].to_string();
        assert!(
            notes.contains("was unusable") && notes.contains(why),
            "{case}: {notes}"
        );
        assert_eq!(json["actions"][0]["outcome"], "held", "{case}: {json:#}");
        assert!(
            json["actions"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("the state file was reset"),
            "{case}: {json:#}"
        );
        assert_eq!(corrupt_copies(&env).len(), 1, "{case}");
        let saved = std::fs::metadata(&state).unwrap().len();
        assert!(saved > 0 && saved < 64 * 1024, "{case}: a fresh state file");
        // The next run is still within the window: held again.
        let again = env.run(&["--format", "json"]).json();
        assert_eq!(again["actions"][0]["outcome"], "held", "{case}: {again:#}");
        assert_eq!(
            restarted(&restarts),
            0,
            "{case}: no restart within the window"
        );
    }
}

fn no_temp_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .all(|e| !e.file_name().to_string_lossy().contains(".tmp-"))
}

#[test]
fn a_read_only_state_dir_keeps_the_old_state_and_exits_3() {
    if !harness::is_root() {
        harness::missing("root", "setpriv runs the binary as uid 65534");
        return;
    }
    let env = Env::new();
    let dir = PathBuf::from(format!("/tmp/hc-ro-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let log = env.write("app.log", "ok\n");
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\n\n[[check]]\nname = \"beat\"\ntype = \"file\"\npath = \"{}\"\n",
        dir.display(),
        log.display()
    ));
    use std::os::unix::fs::PermissionsExt;
    for p in [
        env.dir.path(),
        env.path("healthcheck.toml").as_path(),
        log.as_path(),
    ] {
        let mode = if p.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let nobody = || {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_healthcheck"))
            .current_dir(env.dir.path())
            .env("HOME", "/tmp")
            .env_remove("HEALTHCHECK_CONFIG");
        cmd
    };
    let first = run_bounded(&mut nobody(), Duration::from_secs(10));
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let state = dir.join("state.json");
    let before = std::fs::read(&state).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let run = run_bounded(&mut nobody(), Duration::from_secs(10));
    let after = std::fs::read(&state).unwrap();
    let clean = no_temp_files(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("cannot save state") && run.stdout.contains("Permission denied"),
        "{}",
        run.stdout
    );
    assert_eq!(after, before, "the old state is intact");
    assert!(clean, "no temp file left");
}

#[test]
fn a_full_disk_while_saving_keeps_the_old_state_removes_the_temp_file_and_exits_3() {
    let probe = Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        harness::missing("unshare -rm", "a tiny tmpfs in a user and mount namespace");
        return;
    }
    let env = Env::new();
    let dir = env.path("state");
    std::fs::create_dir(&dir).unwrap();
    let log = env.write("app.log", "ok\n");
    env.config(&format!(
        "[[check]]\nname = \"beat\"\ntype = \"file\"\npath = \"{}\"\n",
        log.display()
    ));
    // Inside the namespace: a 64 KiB tmpfs as the state dir, a first run
    // that saves, the disk filled, a second run; the evidence is copied out.
    let script = r#"set -e
mount -t tmpfs -o size=64k,mode=0700 tmpfs "$S"
"$BIN" >"$OUT/first" 2>&1 || { cat "$OUT/first"; exit 1; }
cp "$S/state.json" "$OUT/before.json"
dd if=/dev/zero of="$S/fill" bs=1k 2>/dev/null || true
set +e
"$BIN" >"$OUT/stdout" 2>"$OUT/stderr"
echo $? >"$OUT/code"
cp "$S/state.json" "$OUT/after.json"
ls -a "$S" >"$OUT/ls"
"#;
    let out = env.path("out");
    std::fs::create_dir(&out).unwrap();
    let cmd = env.cmd();
    let mut wrapped = Command::new("unshare");
    wrapped
        .args(["-rm", "sh", "-c", script])
        .current_dir(env.dir.path())
        .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .env("S", &dir)
        .env("OUT", &out)
        .env("BIN", env!("CARGO_BIN_EXE_healthcheck"));
    let run = run_bounded(&mut wrapped, Duration::from_secs(30));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    assert_eq!(
        read("code").trim(),
        "3",
        "{}\n{}",
        read("stdout"),
        read("stderr")
    );
    assert!(
        read("stdout").contains("cannot save state") && read("stdout").contains("No space left"),
        "{}",
        read("stdout")
    );
    assert_eq!(
        read("after.json"),
        read("before.json"),
        "the old state is intact"
    );
    assert!(
        !read("ls").contains(".tmp-"),
        "temp file left: {}",
        read("ls")
    );
}
