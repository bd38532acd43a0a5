//! A throwaway home for one test: a temp dir with its own config, state and
//! environment, and a fluent way to run the binary in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// What a finished `healthcheck` printed, and how it exited.
    pub fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The text-output line of one check.
    #[track_caller]
    pub fn line(&self, check: &str) -> &str {
        self.stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(check))
            .unwrap_or_else(|| panic!("no line for {check} in:\n{}\n{}", self.stdout, self.stderr))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        p
    }

    /// Make a file look last modified `age` ago.
    pub fn age(&self, path: &Path, age: std::time::Duration) {
        let when = std::time::SystemTime::now() - age;
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    /// Write `healthcheck.toml`, with the state dir inside this env unless the
    /// text sets its own `[settings]`.
    pub fn config(&self, toml: &str) -> &Env {
        let text = if toml.contains("[settings]") {
            toml.to_string()
        } else {
            format!(
                "[settings]\nstate_dir = \"{}\"\n\n{toml}",
                self.path("state").display()
            )
        };
        self.write("healthcheck.toml", &text);
        self
    }

    /// The binary, run in this env's dir with a clean, predictable environment.
    /// `HEALTHCHECK_TEST_BIN` replaces the binary (scripts/cross: the aarch64
    /// build) and `HEALTHCHECK_TEST_RUNNER` runs it through a prefix such as
    /// `qemu-aarch64 -L SYSROOT` (words split on spaces).
    pub fn cmd(&self) -> Command {
        let bin = std::env::var_os("HEALTHCHECK_TEST_BIN")
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_healthcheck").into());
        let runner = std::env::var("HEALTHCHECK_TEST_RUNNER").unwrap_or_default();
        self.cmd_of(Path::new(&bin), &runner)
    }

    /// `cmd` for this binary through this runner (e.g. `qemu-arm -cpu
    /// arm1176`; empty: none).
    pub fn cmd_of(&self, bin: &Path, runner: &str) -> Command {
        let mut words = runner.split_whitespace();
        let mut c = match words.next() {
            Some(program) => {
                let mut c = Command::new(program);
                c.args(words).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        c.current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("xdg-config"))
            .env("XDG_STATE_HOME", self.path("xdg-state"))
            .env_remove("HEALTHCHECK_CONFIG")
            .env_remove("STATE_DIRECTORY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("NO_COLOR");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd().args(args).output().unwrap())
    }
}

/// Is this test process root? (Root ignores file modes.)
/// The names of the checks of a JSON report, in its order.
pub fn check_names(report: &serde_json::Value) -> Vec<&str> {
    report["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks in {report:#}"))
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// A component a test needs is missing: skip with the reason on a
/// developer's machine (returns true: the caller returns), fail under CI=true.
pub fn missing(component: &str, why: &str) -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{component} is required under CI=true: {why}");
    }
    eprintln!("SKIPPED: {component} missing: {why}");
    true
}

/// The processes whose command line names `script` (`pgrep -f`).
pub fn pids_running(script: &Path) -> Vec<u32> {
    let out = Command::new("pgrep")
        .arg("-f")
        .arg(script.display().to_string())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// A toy bot: a shell script that appends to its log every 200 ms, and
/// notes each start in `starts`. Every process running it is killed when
/// the test ends.
pub struct Bot {
    pub script: PathBuf,
    pub log: PathBuf,
    pub starts: PathBuf,
}

impl Bot {
    pub fn new(env: &Env, name: &str) -> Bot {
        let log = env.path(&format!("{name}.log"));
        let starts = env.path(&format!("{name}.starts"));
        let script = env.write(
            &format!("{name}-bot.sh"),
            &format!(
                "echo started >> '{}'\nwhile :; do echo \"tick $$\" >> '{}'; sleep 0.2; done\n",
                starts.display(),
                log.display()
            ),
        );
        Bot {
            script,
            log,
            starts,
        }
    }

    /// A regex matching this bot's command line and nothing else.
    pub fn pattern(&self) -> String {
        regex::escape(&self.script.display().to_string())
    }

    /// Start it as the test's own child, reaped by a thread when it dies.
    pub fn start(&self) -> u32 {
        let mut child = Command::new("sh").arg(&self.script).spawn().unwrap();
        let pid = child.id();
        std::thread::spawn(move || child.wait());
        pid
    }

    pub fn pids(&self) -> Vec<u32> {
        pids_running(&self.script)
    }

    pub fn kill(&self) {
        for pid in self.pids() {
            // SAFETY: plain signals to processes this test started.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !self.pids().is_empty() && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn starts(&self) -> usize {
        std::fs::read_to_string(&self.starts)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A throwaway PostgreSQL cluster from the distribution's server binaries,
/// on a free loopback port, with its data and socket in a temp dir. It is
/// stopped (`pg_ctl -m immediate`) when dropped, pass or fail, and resumed
/// first in case a test stopped it with SIGSTOP.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

impl Postgres {
    /// Start a cluster, or `None` when the server binaries are missing on a
    /// developer's machine (the test is skipped, saying why). Under
    /// `CI=true` a missing server fails the test.
    pub fn start() -> Option<Postgres> {
        let Some(bin) = postgres_bin() else {
            missing(
                "PostgreSQL",
                "no server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql; scripts/test does it)",
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        if is_root() {
            let (uid, gid) = postgres_user();
            for p in [dir.path(), &data] {
                std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
            }
        }
        let port = TcpListenerPort::free();
        let pg = Postgres { dir, bin, port };
        let data = data.to_str().unwrap();
        pg.as_postgres(
            "initdb",
            &[
                "-D",
                data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            pg.dir.path().display()
        );
        let log = pg.dir.path().join("server.log");
        pg.as_postgres(
            "pg_ctl",
            &[
                "-D",
                data,
                "-w",
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "start",
            ],
        );
        Some(pg)
    }

    /// Run one of the cluster's programs as the `postgres` user when we
    /// are root (initdb refuses root), else as ourselves.
    fn as_postgres(&self, program: &str, args: &[&str]) -> String {
        let exe = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A URL for `database` (TLS off: the test cluster has no certificate).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// Run SQL with psql in `database`; its unaligned output.
    pub fn sql(&self, database: &str, sql: &str) -> String {
        let port = self.port.to_string();
        self.as_postgres(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                database,
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
        )
    }

    /// The postmaster's pid: the first line of `postmaster.pid`.
    pub fn postmaster_pid(&self) -> i32 {
        let text = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid")).unwrap();
        text.lines().next().unwrap().trim().parse().unwrap()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid"))
            && let Some(pid) = text
                .lines()
                .next()
                .and_then(|l| l.trim().parse::<i32>().ok())
        {
            // SAFETY: a plain signal to the server this test started.
            unsafe { libc::kill(pid, libc::SIGCONT) };
        }
        let exe = self.bin.join("pg_ctl");
        let data = self.dir.path().join("data");
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let _ = cmd
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn postgres_user() -> (u32, u32) {
    let name = std::ffi::CString::new("postgres").unwrap();
    // SAFETY: getpwnam reads a NUL-terminated name; the result is checked for NULL.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(
        !pw.is_null(),
        "no `postgres` user: install the postgresql package"
    );
    // SAFETY: pw is a valid passwd entry (checked above).
    unsafe { ((*pw).pw_uid, (*pw).pw_gid) }
}

/// Loopback ports for servers and for "nothing listens here".
pub struct TcpListenerPort;

impl TcpListenerPort {
    /// A port that was free a moment ago.
    pub fn free() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }
}

/// Give every `${NAME}` of an example config (without a default) a
/// placeholder value, unless the test set it, so that the example loads.
/// Runs that use it pass `--no-alert`: the placeholders go nowhere.
pub fn placeholder_env(cmd: &mut Command, config_text: &str, set_by_test: &[&str]) {
    let re = regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}").unwrap();
    for cap in re.captures_iter(config_text) {
        let name = &cap[1];
        if !set_by_test.contains(&name) {
            let value = if name.contains("URL") {
                "https://alerts.invalid/placeholder"
            } else {
                "placeholder@alerts.invalid"
            };
            cmd.env(name, value);
        }
    }
}

/// libfaketime's preload library (Debian package `faketime`), wherever
/// this machine's multiarch directory is.
pub fn libfaketime() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("faketime/libfaketime.so.1"))
        .chain([PathBuf::from("/usr/lib/faketime/libfaketime.so.1")])
        .find(|p| p.exists())
}
