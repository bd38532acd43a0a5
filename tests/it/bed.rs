//! Real systemd as PID 1: a Debian 12 root file system (made once by
//! `scripts/systemd-bed`) booted in a podman container per test. Units,
//! start limits, NRestarts, InvocationID, timers, the journal and
//! `systemd-analyze` are systemd's own. The container's writes go to an
//! overlay that is thrown away with it; the container is removed when the
//! `Bed` is dropped, pass or fail.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::harness::{Run, missing};

pub struct Bed {
    name: String,
    /// podman's storage and run directories, and `/share` inside.
    dir: tempfile::TempDir,
}

/// Where `scripts/systemd-bed` leaves the root file system.
fn rootfs() -> PathBuf {
    std::env::var_os("HEALTHCHECK_TEST_SYSTEMD_ROOTFS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/target/systemd-bed/bookworm"
            ))
        })
}

impl Bed {
    /// Boot a container and wait until systemd says `running`; `None`
    /// (skipped, saying why) where podman or the root file system is
    /// missing on a developer's machine; under `CI=true` that fails.
    pub fn boot() -> Option<Bed> {
        Bed::boot_on("host")
    }

    /// `boot`, with no network at all inside (`--network=none`): what is
    /// done there needs nothing from outside.
    pub fn boot_offline() -> Option<Bed> {
        Bed::boot_on("none")
    }

    fn boot_on(network: &str) -> Option<Bed> {
        let rootfs = rootfs();
        if !rootfs.join(".ready-1").exists() {
            missing(
                "real systemd bed",
                "run scripts/systemd-bed (scripts/test does) to make target/systemd-bed/bookworm",
            );
            return None;
        }
        let podman_found = Command::new("podman")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !podman_found {
            missing("podman", "apt-get install podman runc (scripts/test does)");
            return None;
        }
        let dir = tempfile::Builder::new().prefix("hc-bed").tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("share")).unwrap();
        let name = format!(
            "hc-bed-{}-{}",
            std::process::id(),
            dir.path().file_name().unwrap().to_string_lossy()
        );
        let bed = Bed { name, dir };
        // `HEALTHCHECK_TEST_BIN` replaces the binary, as for the other tests.
        let bin = std::env::var_os("HEALTHCHECK_TEST_BIN")
            .filter(|b| !b.is_empty())
            .map_or_else(
                || PathBuf::from(env!("CARGO_BIN_EXE_healthcheck")),
                PathBuf::from,
            );
        let out = bed
            .podman()
            .args(["run", "-d", "--name", &bed.name])
            .arg(format!("--network={network}"))
            .args(["--cap-add=SYS_ADMIN", "--systemd=always"])
            .args([
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .arg("-v")
            .arg(format!("{}:/share", bed.share().display()))
            .arg("-v")
            .arg(format!("{}:/usr/local/bin/healthcheck:ro", bin.display()))
            .arg("--rootfs")
            .arg(format!("{}:O", rootfs.display()))
            .arg("/sbin/init")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "podman run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let state = bed.sh("systemctl is-system-running 2>/dev/null");
            let said = String::from_utf8_lossy(&state.stdout).trim().to_string();
            if said == "running" {
                break;
            }
            assert!(
                Instant::now() < until,
                "systemd did not reach `running` in 60s (it says {said:?}): {}",
                bed.sh("systemctl --failed --no-pager 2>&1").stdout_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(bed)
    }

    fn podman(&self) -> Command {
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(self.dir.path().join("storage"))
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .args(["--storage-driver=vfs", "--cgroup-manager=cgroupfs"])
            .args(["--runtime", "runc"]);
        c
    }

    /// The folder seen as `/share` inside.
    pub fn share(&self) -> PathBuf {
        self.dir.path().join("share")
    }

    /// A shell command inside the container.
    pub fn sh(&self, script: &str) -> Output {
        self.podman()
            .args(["exec", &self.name, "sh", "-c", script])
            .output()
            .unwrap()
    }

    /// A shell command inside that must succeed; its stdout.
    #[track_caller]
    pub fn ok(&self, script: &str) -> String {
        let out = self.sh(script);
        assert!(
            out.status.success(),
            "`{script}` failed: {}{}",
            out.stdout_text(),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout_text()
    }

    /// Write a file inside the container (through /share, then moved).
    pub fn write(&self, path: &str, content: &str) {
        let staged = self.share().join(".staged");
        std::fs::write(&staged, content).unwrap();
        self.ok(&format!(
            "mkdir -p \"$(dirname '{path}')\" && mv /share/.staged '{path}'"
        ));
    }

    /// Install a system unit and reload systemd.
    pub fn unit(&self, name: &str, text: &str) {
        self.write(&format!("/etc/systemd/system/{name}"), text);
        self.ok("systemctl daemon-reload");
    }

    /// One property of a unit, as `systemctl show` gives it.
    pub fn show(&self, unit: &str, property: &str) -> String {
        self.ok(&format!(
            "systemctl show --value --property={property} -- {unit}"
        ))
        .trim()
        .to_string()
    }

    /// Wait until `script` succeeds inside, up to `within`.
    #[track_caller]
    pub fn wait_for(&self, script: &str, within: Duration) {
        let until = Instant::now() + within;
        while !self.sh(script).status.success() {
            assert!(
                Instant::now() < until,
                "`{script}` not true within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `healthcheck` inside, with the config written to /share/healthcheck.toml
    /// and its state under /share/state.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut argv = vec![
            "exec",
            &self.name,
            "healthcheck",
            "-c",
            "/share/healthcheck.toml",
        ];
        argv.extend_from_slice(args);
        Run::from(self.podman().args(argv).output().unwrap())
    }

    /// Write the config the runs read; `{state}` in it is /share/state.
    pub fn config(&self, toml: &str) {
        std::fs::write(
            self.share().join("healthcheck.toml"),
            toml.replace("{state}", "/share/state"),
        )
        .unwrap();
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = self
            .podman()
            .args(["rm", "-f", "-t", "0", &self.name])
            .output();
    }
}

trait StdoutText {
    fn stdout_text(&self) -> String;
}

impl StdoutText for Output {
    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}
