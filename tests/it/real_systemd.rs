//! The systemd path against real systemd as PID 1 (`bed`): restarts and
//! their verification, start limits, sibling checks of a restarted unit,
//! readings systemd does not report, units stopped on purpose, template and
//! user units, and the shipped, hardened unit and timer.

use std::time::Duration;

use crate::bed::Bed;

/// A service `bot` restarted through systemctl, with no grace or cooldown,
/// and the checks given.
fn config(service_extra: &str, checks: &str) -> String {
    format!(
        "[settings]\nstate_dir = \"{{state}}\"\n\n\
         [[service]]\nname = \"bot\"\nsystemd = \"bot.service\"\ngrace = \"0s\"\ncooldown = \"0s\"\n\
         verify = \"8s\"\nsettle = \"2s\"\nmax_restarts = 5\n{service_extra}\n{checks}"
    )
}

const STATE_CHECK: &str = "[[check]]\nname = \"bot-unit\"\ntype = \"systemd\"\nunit = \"bot.service\"\nrestart = \"bot\"\n";

/// A bot that runs until stopped.
const LIVING_BOT: &str = "[Service]\nExecStart=/bin/sleep infinity\n";

fn action_detail(json: &serde_json::Value) -> String {
    json["actions"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_unit_that_dies_right_after_it_starts_is_not_called_a_success() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit(
        "bot.service",
        "[Service]\nExecStart=/bin/sh -c \"echo loading the strategy; sleep 0.4; echo 'KeyError: api_key' >&2; exit 1\"\n",
    );
    bed.ok("systemctl start bot.service; sleep 1");
    bed.config(&config("", STATE_CHECK));
    for _ in 0..2 {
        let run = bed.run(&["--format", "json"]);
        let json = run.json();
        let detail = action_detail(&json);
        assert_eq!(json["actions"][0]["outcome"], "failed", "{json:#}");
        assert!(detail.contains("came up and died after 0.4s"), "{detail}");
        assert!(
            detail.contains("KeyError: api_key"),
            "the journal's last lines: {detail}"
        );
        assert_eq!(run.code, 2, "{}", run.stdout);
    }
}

#[test]
fn systemds_start_limit_is_named_and_not_hammered() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit(
        "bot.service",
        "[Unit]\nStartLimitBurst=2\nStartLimitIntervalSec=1h\n[Service]\nExecStart=/bin/sh -c \"sleep 0.4; exit 1\"\n",
    );
    bed.ok("systemctl start bot.service; sleep 1");
    bed.config(&config("", STATE_CHECK));
    let mut refused_at = None;
    for run_no in 0..4 {
        let json = bed.run(&["--format", "json"]).json();
        let detail = action_detail(&json);
        if detail.contains("start limit") {
            assert!(
                detail.contains("systemctl reset-failed bot.service"),
                "says what to do: {detail}"
            );
            assert_eq!(json["actions"][0]["outcome"], "failed", "{json:#}");
            refused_at = Some(run_no);
            break;
        }
    }
    assert!(
        refused_at.is_some(),
        "systemd's start limit was never named"
    );
    let attempts = |bed: &Bed| {
        bed.ok("journalctl -u bot.service -o cat --no-pager | grep -c 'Start request repeated too quickly' || true")
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    let refused = attempts(&bed);
    for _ in 0..2 {
        let run = bed.run(&["--format", "json"]);
        let json = run.json();
        let outcome = json["actions"][0]["outcome"].as_str().unwrap_or_default();
        assert!(
            outcome == "suspended" || outcome == "held",
            "no more restarts while systemd refuses: {json:#}"
        );
        assert!(action_detail(&json).contains("start limit"), "{json:#}");
    }
    assert_eq!(attempts(&bed), refused, "systemd was not asked again");
}

#[test]
fn systemds_start_limit_is_reset_first_when_the_service_says_so() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit(
        "bot.service",
        "[Unit]\nStartLimitBurst=1\nStartLimitIntervalSec=1h\n[Service]\nExecStart=/bin/sh -c \"test -f /run/key || exit 1; exec sleep infinity\"\n",
    );
    // The one start the limit allows is spent failing; then the key is
    // there, but systemd refuses a second start within the hour.
    bed.sh("systemctl start bot.service");
    bed.ok("touch /run/key");
    bed.config(&config("reset_failed = true\n", STATE_CHECK));
    let json = bed.run(&["--format", "json"]).json();
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    assert_eq!(bed.show("bot.service", "ActiveState"), "active");
}

#[test]
fn a_second_check_on_the_restarted_unit_is_rechecked() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit("bot.service", LIVING_BOT);
    bed.config(&config(
        "",
        &format!(
            "{STATE_CHECK}\n[[check]]\nname = \"bot-restarts\"\ntype = \"systemd\"\nunit = \"bot.service\"\nreading = \"restarts\"\nwarn_above = 10\n"
        ),
    ));
    let run = bed.run(&["--format", "json"]);
    let json = run.json();
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    let sibling = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "bot-restarts")
        .unwrap();
    assert_eq!(sibling["status"], "ok", "{json:#}");
    assert!(
        sibling["message"].as_str().unwrap().contains("re-checked"),
        "{json:#}"
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn a_reading_systemd_does_not_report_is_unknown_not_ok() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit(
        "bot.service",
        "[Service]\nExecStart=/bin/sleep infinity\nMemoryAccounting=yes\nMemoryMax=1G\n",
    );
    bed.ok("systemctl start bot.service");
    // The bed's cgroup v1 has no memory accounting, as a Pi with the
    // memory cgroup off.
    assert_eq!(bed.show("bot.service", "MemoryCurrent"), "[not set]");
    bed.config(
        "[settings]\nstate_dir = \"{state}\"\n\n[[check]]\nname = \"bot-memory\"\ntype = \"systemd\"\nunit = \"bot.service\"\nreading = \"memory_percent\"\nwarn_above = 95\n",
    );
    let run = bed.run(&[]);
    let line = run.line("bot-memory");
    assert!(line.starts_with("[UNKNOWN]"), "{}", run.stdout);
    assert!(
        line.contains("systemd reports no MemoryCurrent for bot.service")
            && line.contains("MemoryAccounting=yes"),
        "{line}"
    );
    assert_eq!(run.code, 3);
}

#[test]
fn a_unit_stopped_on_purpose_is_left_alone_when_the_service_says_leave() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit("bot.service", LIVING_BOT);
    bed.ok("systemctl start bot.service && systemctl stop bot.service");
    bed.config(&config("when_stopped = \"leave\"\n", STATE_CHECK));
    let run = bed.run(&["--format", "json"]);
    let json = run.json();
    assert!(json["actions"].as_array().unwrap().is_empty(), "{json:#}");
    assert_eq!(json["checks"][0]["status"], "warning", "{json:#}");
    assert!(
        json["checks"][0]["message"]
            .as_str()
            .unwrap()
            .contains("stopped (not failed); left alone"),
        "{json:#}"
    );
    assert_eq!(bed.show("bot.service", "ActiveState"), "inactive");
    assert_eq!(run.code, 1);

    // A crash is still restarted.
    bed.ok("systemctl start bot.service && systemctl kill -s KILL bot.service");
    bed.wait_for("systemctl is-failed -q bot.service", Duration::from_secs(5));
    let json = bed.run(&["--format", "json"]).json();
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    assert_eq!(bed.show("bot.service", "ActiveState"), "active");
}

#[test]
fn a_unit_stopped_on_purpose_is_restarted_by_default() {
    let Some(bed) = Bed::boot() else { return };
    bed.unit("bot.service", LIVING_BOT);
    bed.ok("systemctl start bot.service && systemctl stop bot.service");
    bed.config(&config("", STATE_CHECK));
    let run = bed.run(&["--format", "json"]);
    let json = run.json();
    assert_eq!(json["actions"][0]["outcome"], "ok", "{json:#}");
    assert!(
        action_detail(&json).contains("bot-unit OK, it helped"),
        "{json:#}"
    );
    assert_eq!(run.code, 0);
}
