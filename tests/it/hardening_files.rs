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

/// The number in "N lines matched" of the `errors` line.
#[track_caller]
fn matched(run: &Run) -> u64 {
    let line = run.line("errors");
    let (before, _) = line
        .split_once(" lines matched")
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
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
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
