//! The systemd and docker paths against real implementations: the
//! docker-systemctl-replacement `systemctl` over real unit files, and
//! podman (with runc) as the docker CLI. Both run here without a daemon.
//! Real systemd is in `real_systemd`; the replacement stays for what real
//! systemd never shows: a systemctl that reports no InvocationID, where a
//! restart is told by its MainPID and state.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::harness::{Bot, Env, missing};

/// `python3 systemctl3.py` from the venv `scripts/test` makes.
fn systemctl() -> Option<(PathBuf, PathBuf)> {
    let venv = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/venv/bin"));
    let script = std::env::var_os("HEALTHCHECK_TEST_SYSTEMCTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| venv.join("systemctl3.py"));
    let python = std::env::var_os("HEALTHCHECK_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| venv.join("python3"));
    (script.exists() && python.exists()).then_some((python, script))
}

#[test]
fn a_dead_systemd_unit_is_restarted_through_systemctl() {
    let Some((python, script)) = systemctl() else {
        missing(
            "docker-systemctl-replacement",
            "run scripts/test, which installs it into target/venv",
        );
        return;
    };
    let env = Env::new();
    let bot = Bot::new(&env, "unit");
    let root = env.path("root");
    env.write(
        "root/etc/systemd/system/bot.service",
        &format!("[Unit]\nDescription=test bot\n[Service]\nExecStart=/bin/sh {}\n[Install]\nWantedBy=multi-user.target\n", bot.script.display()),
    );
    let prefix = [
        python.display().to_string(),
        script.display().to_string(),
        format!("--root={}", root.display()),
    ];
    let started = Command::new(&prefix[0])
        .args(&prefix[1..])
        .args(["start", "bot.service"])
        .status()
        .unwrap();
    assert!(started.success());
    std::thread::sleep(Duration::from_millis(300));
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\nsystemctl = {:?}\n\n[[service]]\nname = \"bot\"\nsystemd = \"bot.service\"\ngrace = \"0s\"\ncooldown = \"0s\"\nverify = \"5s\"\n\n\
         [[check]]\nname = \"bot-unit\"\ntype = \"systemd\"\nunit = \"bot.service\"\nrestart = \"bot\"\n",
        env.path("state").display(),
        prefix
    ));
    let first = env.run(&["--format", "json"]).json();
    assert_eq!(first["checks"][0]["status"], "ok", "{first:#}");
    assert!(
        first["checks"][0]["message"]
            .as_str()
            .unwrap()
            .contains("bot.service is active")
    );

    bot.kill();
    let run = env.run(&["--format", "json"]);
    let json = run.json();
    let action = &json["actions"][0];
    assert_eq!(action["outcome"], "ok", "{json:#}");
    assert!(
        action["detail"]
            .as_str()
            .unwrap()
            .contains("bot-unit OK, it helped"),
        "{json:#}"
    );
    assert_eq!(bot.pids().len(), 1, "the unit runs the bot again");
    assert_eq!(run.code, 0);
}

/// A podman that keeps its images and containers inside the test's dir.
struct Podman {
    wrapper: PathBuf,
    containers: Vec<String>,
}

impl Podman {
    fn new(env: &Env) -> Option<Podman> {
        let found = Command::new("podman")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return None;
        }
        let rootfs = env.path("rootfs/bin");
        std::fs::create_dir_all(&rootfs).unwrap();
        std::fs::copy("/bin/busybox", rootfs.join("busybox")).ok()?;
        for link in ["sh", "sleep"] {
            std::os::unix::fs::symlink("busybox", rootfs.join(link)).unwrap();
        }
        let wrapper = env.write(
            "podman",
            &format!(
                "#!/bin/sh\nexec podman --root '{root}' --runroot '{run}' --storage-driver=vfs --cgroup-manager=cgroupfs --runtime runc \"$@\"\n",
                root = env.path("storage").display(),
                run = env.path("run").display()
            ),
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tar = env.path("rootfs.tar");
        assert!(
            Command::new("tar")
                .arg("-C")
                .arg(env.path("rootfs"))
                .arg("-cf")
                .arg(&tar)
                .arg(".")
                .status()
                .unwrap()
                .success()
        );
        let imported = Command::new(&wrapper)
            .arg("import")
            .arg(&tar)
            .arg("localhost/mini")
            .output()
            .unwrap();
        assert!(
            imported.status.success(),
            "{}",
            String::from_utf8_lossy(&imported.stderr)
        );
        Some(Podman {
            wrapper,
            containers: Vec::new(),
        })
    }

    fn run_container(&mut self, name: &str, health: &str) {
        self.run_with(
            name,
            &["--health-cmd", health, "--health-retries", "1"],
            &["/bin/sleep", "1000"],
        );
    }

    /// A container `name` of the busybox image, with `options` for `run`, running `argv`.
    fn run_with(&mut self, name: &str, options: &[&str], argv: &[&str]) {
        let out = Command::new("sh")
            .arg("-c")
            .arg("ulimit -Hn")
            .output()
            .unwrap();
        let n = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let ok = Command::new(&self.wrapper)
            .args(["run", "-d", "--name", name, "--network=none"])
            .args([
                "--ulimit",
                &format!("nofile={n}:{n}"),
                "--ulimit",
                "nproc=1024:1024",
            ])
            .args(options)
            .arg("localhost/mini")
            .args(argv)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        self.containers.push(name.to_string());
    }

    fn cmd(&self, args: &[&str]) {
        let _ = Command::new(&self.wrapper).args(args).output().unwrap();
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = Command::new(&self.wrapper)
                .args(["rm", "-f", "-t", "0", c])
                .output();
        }
    }
}

#[test]
fn a_dead_container_is_restarted_and_an_unhealthy_one_is_critical() {
    let env = Env::new();
    let Some(mut podman) = Podman::new(&env) else {
        missing(
            "podman",
            "scripts/test installs podman, runc and busybox-static with apt-get",
        );
        return;
    };
    let name = format!("hc-it-{}", std::process::id());
    let sick = format!("hc-it-sick-{}", std::process::id());
    podman.run_container(&name, "/bin/sh -c 'exit 0'");
    podman.run_container(&sick, "/bin/sh -c 'exit 1'");
    podman.cmd(&["healthcheck", "run", &sick]);
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndocker = [\"{}\"]\n\n[[service]]\nname = \"collector\"\ndocker = \"{name}\"\ngrace = \"0s\"\ncooldown = \"0s\"\nverify = \"10s\"\n\n\
         [[check]]\nname = \"collector\"\ntype = \"docker\"\ncontainer = \"{name}\"\nrestart = \"collector\"\n\n\
         [[check]]\nname = \"sick\"\ntype = \"docker\"\ncontainer = \"{sick}\"\n\n\
         [[check]]\nname = \"ghost\"\ntype = \"docker\"\ncontainer = \"no-such-container-here\"\n",
        env.path("state").display(),
        podman.wrapper.display()
    ));
    let first = env.run(&[]);
    assert!(
        first.line("collector").starts_with("[OK]"),
        "{}{}",
        first.stdout,
        first.stderr
    );
    assert!(
        first.line("sick").starts_with("[CRIT]") && first.line("sick").contains("unhealthy"),
        "{}",
        first.stdout
    );
    assert!(
        first.line("ghost").starts_with("[CRIT]")
            && first.line("ghost").contains("no such container"),
        "{}",
        first.stdout
    );

    podman.cmd(&["kill", &name]);
    let json = env.run(&["--format", "json"]).json();
    let action = &json["actions"][0];
    assert_eq!(action["outcome"], "ok", "{json:#}");
    assert!(
        action["detail"]
            .as_str()
            .unwrap()
            .contains("collector OK, it helped"),
        "{json:#}"
    );
}

#[test]
fn a_container_that_dies_right_after_it_starts_is_not_called_a_success() {
    let env = Env::new();
    let Some(mut podman) = Podman::new(&env) else {
        missing(
            "podman",
            "scripts/test installs podman, runc and busybox-static with apt-get",
        );
        return;
    };
    let name = format!("hc-it-dies-{}", std::process::id());
    podman.run_with(
        &name,
        &[],
        &[
            "/bin/sh",
            "-c",
            "echo 'KeyError: api_key' >&2; sleep 0.5; exit 1",
        ],
    );
    std::thread::sleep(Duration::from_secs(1));
    env.config(&format!(
        "[settings]\nstate_dir = \"{}\"\ndocker = [\"{}\"]\n\n[[service]]\nname = \"collector\"\ndocker = \"{name}\"\ngrace = \"0s\"\ncooldown = \"0s\"\nverify = \"10s\"\n\n\
         [[check]]\nname = \"collector\"\ntype = \"docker\"\ncontainer = \"{name}\"\nrestart = \"collector\"\n",
        env.path("state").display(),
        podman.wrapper.display()
    ));
    let run = env.run(&["--format", "json"]);
    let json = run.json();
    let action = &json["actions"][0];
    assert_eq!(action["outcome"], "failed", "{json:#}");
    let detail = action["detail"].as_str().unwrap();
    assert!(detail.contains("came up and died within"), "{detail}");
    assert!(detail.contains("KeyError: api_key"), "its log: {detail}");
    assert_eq!(run.code, 2);
}
