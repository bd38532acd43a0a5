//! The packages for machines other than this one, as `scripts/package`
//! left them in target/packages: the arm64 and armhf Debian packages say
//! their architecture, and the binary each carries runs the embedded default
//! and a file check under qemu-user, with no libraries (static); the armhf
//! one on an ARMv6 CPU (`qemu-arm -cpu arm1176`, a Pi Zero's), which Debian's
//! ARMv7 armhf code would fault on. The Windows zip holds what install.ps1
//! needs, each entry dated alike (tests/cross/windows.sh runs it under Wine).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Env, missing};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn packages() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/packages")
}

/// A file `scripts/package` made; `None` (skipped, saying why) where it
/// has not been built.
fn shipped(name: &str) -> Option<PathBuf> {
    let path = packages().join(name);
    if path.exists() {
        return Some(path);
    }
    missing(
        name,
        "run scripts/package as root (scripts/test does under CI=true) to make target/packages/",
    );
    None
}

/// The runner's program, or `None` (skipped, saying why) where it is not
/// installed.
fn runner(program: &str) -> Option<()> {
    if Command::new(program).arg("--version").output().is_ok() {
        return Some(());
    }
    missing(program, "apt-get install qemu-user (scripts/test does)");
    None
}

/// `dpkg-deb --info`'s Architecture line, and the package's binary
/// unpacked under `dir`.
fn architecture_and_binary(deb: &Path, dir: &Path) -> (String, PathBuf) {
    let info = Command::new("dpkg-deb")
        .arg("--info")
        .arg(deb)
        .output()
        .unwrap();
    assert!(info.status.success(), "{info:?}");
    let info = String::from_utf8_lossy(&info.stdout);
    let arch = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("Architecture: "))
        .unwrap_or_else(|| panic!("no Architecture in {info}"))
        .to_string();
    assert!(
        !info.contains("Depends:"),
        "a static binary depends on nothing: {info}"
    );
    (arch, crate::packages::binary_of(deb, dir))
}

/// The binary under `runner`: the embedded default (no config anywhere it
/// looks), then a config with a file check, fresh (OK) and missing
/// (CRITICAL).
fn runs_the_default_and_a_file_check(bin: &Path, runner: &str) {
    assert!(
        !Path::new("/etc/healthcheck/healthcheck.toml").exists(),
        "this machine has /etc/healthcheck/healthcheck.toml: the run would read it"
    );
    let headers = Command::new("readelf").arg("-l").arg(bin).output().unwrap();
    let headers = String::from_utf8_lossy(&headers.stdout);
    assert!(
        headers.contains("LOAD") && !headers.contains("INTERP"),
        "static: no program interpreter\n{headers}"
    );

    let env = Env::new();
    let run = env
        .cmd_of(bin, runner)
        .env("STATE_DIRECTORY", env.path("state"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("no config found"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{stderr}", String::from_utf8_lossy(&run.stdout)));
    let names = crate::harness::check_names(&json);
    assert_eq!(names, ["disk", "memory", "load"], "{json:#}");
    for check in json["checks"].as_array().unwrap() {
        assert_ne!(check["status"], "unknown", "{json:#}");
    }
    assert!(env.path("state/state.json").exists(), "{stderr}");

    env.write("watched", "x");
    let config = env.write(
        "healthcheck.toml",
        "[settings]\nstate_dir = \"state-file\"\n\n[[check]]\nname = \"watched\"\ntype = \"file\"\npath = \"watched\"\ncrit_above = \"10m\"\n",
    );
    let run = |what: &str| {
        env.cmd_of(bin, runner)
            .arg("--config")
            .arg(&config)
            .args(["--format", "nagios"])
            .output()
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    };
    let fresh = run("fresh");
    let said = String::from_utf8_lossy(&fresh.stdout);
    assert_eq!(
        fresh.status.code(),
        Some(0),
        "{said}{}",
        String::from_utf8_lossy(&fresh.stderr)
    );
    assert!(
        said.starts_with("HEALTHCHECK OK") && said.contains("watched"),
        "{said}"
    );
    std::fs::remove_file(env.path("watched")).unwrap();
    let gone = run("missing");
    let said = String::from_utf8_lossy(&gone.stdout);
    assert_eq!(gone.status.code(), Some(2), "{said}");
    assert!(said.starts_with("HEALTHCHECK CRITICAL"), "{said}");
}

#[test]
fn the_arm64_package_is_arm64_and_its_static_binary_runs_under_qemu_aarch64() {
    let Some(deb) = shipped(&format!("healthcheck_{VERSION}_arm64.deb")) else {
        return;
    };
    let Some(()) = runner("qemu-aarch64") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (arch, bin) = architecture_and_binary(&deb, dir.path());
    assert_eq!(arch, "arm64");
    runs_the_default_and_a_file_check(&bin, "qemu-aarch64");
}

#[test]
fn the_armhf_package_is_armhf_and_its_static_binary_runs_on_an_armv6_cpu() {
    let Some(deb) = shipped(&format!("healthcheck_{VERSION}_armhf.deb")) else {
        return;
    };
    let Some(()) = runner("qemu-arm") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (arch, bin) = architecture_and_binary(&deb, dir.path());
    assert_eq!(arch, "armhf");
    let attributes = Command::new("readelf")
        .arg("-A")
        .arg(&bin)
        .output()
        .unwrap();
    let attributes = String::from_utf8_lossy(&attributes.stdout);
    assert!(
        attributes.contains("Tag_CPU_arch: v6")
            && attributes.contains("Tag_ABI_VFP_args: VFP registers"),
        "ARMv6, hard-float:\n{attributes}"
    );
    runs_the_default_and_a_file_check(&bin, "qemu-arm -cpu arm1176");
}

#[test]
fn the_windows_zip_holds_the_exe_the_preset_the_task_and_install_ps1_dated_alike() {
    let Some(zip) = shipped(&format!("healthcheck-{VERSION}-windows-x86_64.zip")) else {
        return;
    };
    let listed = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, i.date_time)",
        ])
        .arg(&zip)
        .output()
        .unwrap();
    assert!(listed.status.success(), "{listed:?}");
    let listed = String::from_utf8_lossy(&listed.stdout);
    let names: Vec<&str> = listed
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "healthcheck-task.xml",
            "healthcheck.exe",
            "healthcheck.toml",
            "install.ps1"
        ],
        "{listed}"
    );
    let dates: std::collections::BTreeSet<&str> = listed
        .lines()
        .map(|l| l.split_once(' ').unwrap().1)
        .collect();
    assert_eq!(dates.len(), 1, "{listed}");

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&zip)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (inside, source) in [
        ("healthcheck.toml", "presets/default-windows.toml"),
        ("healthcheck-task.xml", "examples/windows-task.xml"),
        ("install.ps1", "windows/install.ps1"),
    ] {
        assert!(
            std::fs::read(dir.path().join(inside)).unwrap()
                == std::fs::read(repo.join(source)).unwrap(),
            "{inside} is not {source}"
        );
    }
    let exe = std::fs::read(dir.path().join("healthcheck.exe")).unwrap();
    assert_eq!(&exe[..2], b"MZ", "a Windows executable");
}
