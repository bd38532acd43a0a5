//! The systemd unit and timer as systemd reads them: `systemd-analyze
//! verify` on copies whose ExecStart names the binary under test (verify
//! needs an existing executable), with no complaint at all.

use std::path::Path;
use std::process::Command;

use crate::harness::{self, Env};

fn systemd_dir() -> std::path::PathBuf {
    harness::fixtures().join("../../systemd")
}

#[test]
fn the_service_wants_the_network_it_waits_for() {
    let unit = std::fs::read_to_string(systemd_dir().join("healthcheck.service")).unwrap();
    let lines: Vec<&str> = unit.lines().map(str::trim).collect();
    assert!(lines.contains(&"After=network-online.target"), "{unit}");
    assert!(
        lines.contains(&"Wants=network-online.target"),
        "After= alone does not pull network-online.target in:\n{unit}"
    );
}

#[test]
fn systemd_analyze_verifies_the_unit_and_the_timer() {
    let Ok(found) = Command::new("systemd-analyze").arg("--version").output() else {
        harness::missing("systemd-analyze", "apt-get install systemd");
        return;
    };
    assert!(found.status.success());
    let env = Env::new();
    let unit = std::fs::read_to_string(systemd_dir().join("healthcheck.service")).unwrap();
    let binary = env!("CARGO_BIN_EXE_healthcheck");
    assert!(Path::new(binary).exists());
    let rewritten = unit.replace(
        "ExecStart=/usr/local/bin/healthcheck",
        &format!("ExecStart={binary}"),
    );
    assert_ne!(
        rewritten, unit,
        "ExecStart names /usr/local/bin/healthcheck"
    );
    let service = env.write("units/healthcheck.service", &rewritten);
    let timer = env.write(
        "units/healthcheck.timer",
        &std::fs::read_to_string(systemd_dir().join("healthcheck.timer")).unwrap(),
    );
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&service)
        .arg(&timer)
        .output()
        .unwrap();
    // verify exits 0 on mere warnings (an unknown Type=): none are allowed.
    assert!(
        out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(),
        "systemd-analyze verify:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
