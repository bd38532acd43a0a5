//! The Debian package as a user meets it: `scripts/package` builds it
//! (byte for byte the same twice), and on real systemd (the bed) `apt-get
//! install ./healthcheck_<v>_amd64.deb` with no network starts the timer,
//! whose run lands in the journal; an edited config survives an upgrade,
//! `remove` keeps config and state, `purge` leaves nothing behind, and a
//! config that does not validate installs without starting the timer.
//! Debian's own checker, lintian, finds no error in it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::bed::Bed;
use crate::harness::missing;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const CONFIG: &str = "/etc/healthcheck/healthcheck.toml";
const STAMP: &str = "/var/lib/systemd/timers/stamp-healthcheck.timer";

/// The package `scripts/package` left in target/packages; `None` (skipped,
/// saying why) where it has not been built.
fn shipped_deb() -> Option<PathBuf> {
    let deb = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/packages/healthcheck_{VERSION}_amd64.deb"));
    if deb.exists() {
        return Some(deb);
    }
    missing(
        "the Debian package",
        "run scripts/package (scripts/test does under CI=true) to make target/packages/",
    );
    None
}

/// `scripts/package` with these arguments, which must succeed; what it
/// printed.
fn run_package(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/package"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/package: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `scripts/package` with these arguments; the .deb it wrote.
fn package(args: &[&std::ffi::OsStr]) -> PathBuf {
    PathBuf::from(run_package(args).trim())
}

/// The binary inside a package, unpacked under `dir`.
pub(crate) fn binary_of(deb: &Path, dir: &Path) -> PathBuf {
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    dir.join("usr/bin/healthcheck")
}

/// Copy a package into the bed's /share; its path inside.
fn share(bed: &Bed, deb: &Path) -> String {
    let name = deb.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::copy(deb, bed.share().join(&name)).unwrap();
    format!("/share/{name}")
}

/// `apt-get <args>` inside, non-interactive, keeping an existing config;
/// what it printed (stdout and stderr).
fn apt(bed: &Bed, args: &str) -> String {
    bed.ok(&format!(
        "DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confdef \
         -o Dpkg::Options::=--force-confold {args} 2>&1"
    ))
}

/// The timer every 3 seconds instead of every 15 minutes.
fn often(bed: &Bed) {
    bed.write(
        "/etc/systemd/system/healthcheck.timer.d/often.conf",
        "[Timer]\nOnCalendar=\nOnCalendar=*:*:0/3\nAccuracySec=1s\nRandomizedDelaySec=0\n",
    );
}

/// Wait until the timer has started healthcheck.service and it finished.
fn wait_for_a_timer_run(bed: &Bed) {
    bed.wait_for(
        "journalctl -u healthcheck.service --no-pager -o cat | grep -q 'Finished healthcheck.service'",
        Duration::from_secs(60),
    );
}

/// Every path on the bed's file system but those apt, dpkg, the journal
/// and the test itself change anyway.
fn file_list(bed: &Bed) -> Vec<String> {
    let listed = bed.ok(
        "find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
         -o -path /share -o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache \
         -o -path /var/log -o -path /var/tmp \\) -prune -o -print | LC_ALL=C sort",
    );
    listed.lines().map(str::to_string).collect()
}

#[test]
fn the_package_installs_offline_and_its_timer_runs_the_shipped_config() {
    let Some(deb) = shipped_deb() else { return };
    let Some(bed) = Bed::boot_offline() else {
        return;
    };
    assert!(
        !bed.sh("getent ahosts deb.debian.org").status.success(),
        "the bed is offline"
    );
    often(&bed);
    let inside = share(&bed, &deb);
    let said = apt(&bed, &format!("install {inside}"));
    assert!(said.contains(&format!("{CONFIG} is valid")), "{said}");
    assert_eq!(bed.show("healthcheck.timer", "UnitFileState"), "enabled");
    let timers = bed.ok("systemctl list-timers --all --no-pager");
    assert!(timers.contains("healthcheck.timer"), "{timers}");
    wait_for_a_timer_run(&bed);
    let journal = bed.ok("journalctl -u healthcheck.service --no-pager -o cat");
    assert!(
        journal.contains("Starting healthcheck.service"),
        "{journal}"
    );
    assert_eq!(
        bed.show("healthcheck.service", "Result"),
        "success",
        "{journal}"
    );
    let state = bed.ok("cat /var/lib/healthcheck/state.json");
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    for check in ["disk", "memory", "load"] {
        assert!(state["checks"][check].is_object(), "{check}: {state:#}");
    }
    // What else the package puts where tools look for it.
    let unit = bed.ok("systemctl cat healthcheck.service");
    assert!(
        unit.contains("ExecStart=/usr/bin/healthcheck --config /etc/healthcheck/healthcheck.toml"),
        "{unit}"
    );
    for file in [
        "/usr/share/bash-completion/completions/healthcheck",
        "/usr/share/zsh/vendor-completions/_healthcheck",
        "/usr/share/fish/vendor_completions.d/healthcheck.fish",
        "/usr/share/doc/healthcheck/README.md",
        "/usr/share/doc/healthcheck/examples/healthcheck.cron",
    ] {
        bed.ok(&format!("test -s {file}"));
    }
    let man = bed.ok("zcat /usr/share/man/man1/healthcheck.1.gz");
    assert!(man.contains(".TH healthcheck 1"), "{man}");
    assert!(man.contains("validate"), "the subcommands: {man}");
    let reference = bed.ok("zcat /usr/share/man/man5/healthcheck.toml.5.gz");
    assert!(reference.contains(".TH HEALTHCHECK.TOML 5"), "{reference}");
    for part in [".SH CONFIG REFERENCE", ".SH ALERTS", "expected_interval"] {
        assert!(reference.contains(part), "{part}: {reference}");
    }
    let conffiles = bed.ok("dpkg-query -W -f='${Conffiles}' healthcheck");
    assert!(conffiles.contains(CONFIG), "{conffiles}");
    let version = bed.ok("/usr/bin/healthcheck --version");
    assert!(version.contains(VERSION), "{version}");
}

#[test]
fn an_edit_survives_an_upgrade_remove_keeps_config_and_state_and_purge_leaves_nothing() {
    let Some(deb) = shipped_deb() else { return };
    let Some(bed) = Bed::boot_offline() else {
        return;
    };
    let built = tempfile::tempdir().unwrap();
    let upgrade = package(&[
        "--bin".as_ref(),
        binary_of(&deb, &built.path().join("unpacked")).as_os_str(),
        "--version".as_ref(),
        format!("{VERSION}+1").as_ref(),
        "--out".as_ref(),
        built.path().join("out").as_os_str(),
    ]);
    often(&bed);
    let before = file_list(&bed);
    apt(&bed, &format!("install {}", share(&bed, &deb)));
    wait_for_a_timer_run(&bed);
    bed.ok(&format!(
        "sed -i 's/^warn_above = 85 /warn_above = 70 /' {CONFIG} && echo '# mine' >> {CONFIG}"
    ));
    let edited = bed.ok(&format!("cat {CONFIG}"));
    assert!(edited.contains("warn_above = 70 "), "{edited}");

    let said = apt(&bed, &format!("install {}", share(&bed, &upgrade)));
    assert_eq!(
        bed.ok("dpkg-query -W -f='${Version}' healthcheck"),
        format!("{VERSION}+1"),
        "{said}"
    );
    assert_eq!(bed.ok(&format!("cat {CONFIG}")), edited, "{said}");
    assert_eq!(bed.show("healthcheck.timer", "UnitFileState"), "enabled");
    assert_eq!(bed.show("healthcheck.timer", "ActiveState"), "active");

    apt(&bed, "remove healthcheck");
    assert_eq!(bed.ok(&format!("cat {CONFIG}")), edited);
    bed.ok("test -s /var/lib/healthcheck/state.json");
    bed.ok(&format!("test -e {STAMP}"));
    bed.ok("! test -e /usr/bin/healthcheck && ! test -e /lib/systemd/system/healthcheck.timer");
    bed.ok("! test -e /etc/systemd/system/timers.target.wants/healthcheck.timer");

    apt(&bed, "purge healthcheck");
    let after = file_list(&bed);
    let added: Vec<&String> = after.iter().filter(|p| !before.contains(p)).collect();
    let lost: Vec<&String> = before.iter().filter(|p| !after.contains(p)).collect();
    assert!(
        added.is_empty() && lost.is_empty(),
        "purge left {added:?} and lost {lost:?}"
    );
}

#[test]
fn a_config_that_does_not_validate_installs_but_the_timer_waits_and_the_line_is_named() {
    let Some(deb) = shipped_deb() else { return };
    let Some(bed) = Bed::boot_offline() else {
        return;
    };
    bed.write(
        CONFIG,
        "[[check]]\nname = \"disk\"\ntype = \"disk\"\npath = \"/\"\nwarn_above = \"lots\"\n",
    );
    let said = apt(&bed, &format!("install {}", share(&bed, &deb)));
    assert_eq!(
        bed.ok("dpkg-query -W -f='${Status}' healthcheck"),
        "install ok installed",
        "{said}"
    );
    assert!(
        said.contains(&format!("{CONFIG}:5:")) && said.contains("warn_above"),
        "the line: {said}"
    );
    assert!(said.contains("is not started"), "{said}");
    assert!(
        said.contains("systemctl enable --now healthcheck.timer"),
        "what to do: {said}"
    );
    assert_ne!(bed.show("healthcheck.timer", "UnitFileState"), "enabled");
    assert_eq!(bed.show("healthcheck.timer", "ActiveState"), "inactive");
}

#[test]
fn an_upgrade_over_a_broken_config_leaves_the_enabled_timer_and_names_the_line() {
    let Some(deb) = shipped_deb() else { return };
    let Some(bed) = Bed::boot_offline() else {
        return;
    };
    let inside = share(&bed, &deb);
    apt(&bed, &format!("install {inside}"));
    bed.ok(&format!("echo 'oops = [' >> {CONFIG}"));
    let lines = bed.ok(&format!("wc -l < {CONFIG}"));
    let said = apt(&bed, &format!("install --reinstall {inside}"));
    assert!(
        said.contains(&format!("{CONFIG}:{}:", lines.trim())),
        "the line: {said}"
    );
    assert!(said.contains("stays enabled"), "{said}");
    assert_eq!(bed.show("healthcheck.timer", "UnitFileState"), "enabled");
    assert_eq!(bed.show("healthcheck.timer", "ActiveState"), "active");
}

#[test]
fn two_builds_of_the_package_are_byte_identical() {
    let Some(deb) = shipped_deb() else { return };
    let dir = tempfile::tempdir().unwrap();
    let bin = binary_of(&deb, &dir.path().join("unpacked"));
    let build = |out: &str| {
        let deb = package(&[
            "--bin".as_ref(),
            bin.as_os_str(),
            "--out".as_ref(),
            dir.path().join(out).as_os_str(),
        ]);
        let sums = std::fs::read(dir.path().join(out).join("SHA256SUMS")).unwrap();
        (std::fs::read(deb).unwrap(), sums)
    };
    let (first, first_sums) = build("one");
    let (second, second_sums) = build("two");
    assert!(first == second, "two builds differ");
    assert_eq!(first_sums, second_sums);
    let sums = String::from_utf8(first_sums).unwrap();
    assert!(
        sums.ends_with(&format!("  healthcheck_{VERSION}_amd64.deb\n")),
        "{sums}"
    );
    // Every file in it carries the same time, not the time of the build.
    let listing = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let times: std::collections::BTreeSet<Vec<&str>> = listing
        .lines()
        .map(|l| l.split_whitespace().skip(3).take(2).collect())
        .collect();
    assert_eq!(times.len(), 1, "{listing}");
}

#[test]
fn lintian_finds_no_error_in_the_package() {
    let Some(deb) = shipped_deb() else { return };
    let Ok(out) = Command::new("lintian")
        .args(["--tag-display-limit", "0"])
        .arg(&deb)
        .output()
    else {
        missing("lintian", "apt-get install lintian (scripts/test does)");
        return;
    };
    let said = String::from_utf8_lossy(&out.stdout);
    let errors: Vec<&str> = said.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(errors.is_empty(), "{said}");
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_second_run_of_scripts_package_makes_every_artifact_byte_for_byte_again() {
    let Some(deb) = shipped_deb() else { return };
    if !crate::harness::is_root() {
        missing(
            "root",
            "scripts/package builds the arm and Windows packages in a chroot",
        );
        return;
    }
    let shipped = deb.parent().unwrap();
    let names = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names(shipped),
        [
            "SHA256SUMS".to_string(),
            format!("healthcheck-{VERSION}-windows-x86_64.zip"),
            format!("healthcheck_{VERSION}_amd64.deb"),
            format!("healthcheck_{VERSION}_arm64.deb"),
            format!("healthcheck_{VERSION}_armhf.deb"),
        ]
    );
    let again = tempfile::tempdir().unwrap();
    run_package(&["--out".as_ref(), again.path().as_os_str()]);
    assert_eq!(names(again.path()), names(shipped));
    for name in names(shipped) {
        assert!(
            std::fs::read(shipped.join(&name)).unwrap()
                == std::fs::read(again.path().join(&name)).unwrap(),
            "{name} differs from the first run's"
        );
    }
    let sums = std::fs::read_to_string(shipped.join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 4, "{sums}");
}
