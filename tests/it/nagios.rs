//! `--format nagios` read the way Nagios reads it: a strict parser of the
//! Monitoring Plugins guidelines (written here from the guidelines, not
//! from healthcheck's own code), and a real Nagios Core 4 running the
//! binary as a check command and keeping its verdict in `status.dat`.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{self, Env};

/// One perfdata item: `'label'=value[UOM];[warn];[crit];[min];[max]`.
#[derive(Debug, PartialEq)]
struct Perf {
    label: String,
    value: String,
    uom: String,
    warn: String,
    crit: String,
    min: String,
    max: String,
}

/// What Nagios makes of a plugin's output: the first line is split at its
/// first `|` into text and perfdata; in the long output after it, the
/// first `|` starts more perfdata that runs to the end.
struct Split {
    text: String,
    long: String,
    perf: String,
}

fn nagios_split(output: &str) -> Split {
    let (first, rest) = output.split_once('\n').unwrap_or((output, ""));
    let (text, perf) = first.split_once('|').unwrap_or((first, ""));
    let (long, long_perf) = rest.split_once('|').unwrap_or((rest, ""));
    Split {
        text: text.to_string(),
        long: long.to_string(),
        perf: format!("{perf} {}", long_perf.replace('\n', " ")),
    }
}

/// The guidelines' value class: `[-0-9.]`, at least one digit.
fn is_number(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '.')
        && s.chars().any(|c| c.is_ascii_digit())
        && s.parse::<f64>().is_ok()
}

/// A threshold range: `[@][start:][end]`, `start` may be `~`.
fn is_range(s: &str) -> bool {
    let s = s.strip_prefix('@').unwrap_or(s);
    match s.split_once(':') {
        Some((start, end)) => {
            (start.is_empty() || start == "~" || is_number(start))
                && (end.is_empty() || is_number(end))
        }
        None => is_number(s),
    }
}

/// Parse perfdata strictly; any deviation from the guidelines is an error.
fn strict_perfdata(text: &str) -> Result<Vec<Perf>, String> {
    let mut items = Vec::new();
    let mut rest = text.trim_start_matches(' ');
    while !rest.is_empty() {
        let (label, after) = if let Some(quoted) = rest.strip_prefix('\'') {
            let mut label = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '\'' {
                    if quoted[i + 1..].starts_with('\'') {
                        label.push('\'');
                        chars.next();
                    } else {
                        end = Some(i + 1);
                        break;
                    }
                } else {
                    label.push(c);
                }
            }
            let end = end.ok_or_else(|| format!("unclosed quote in {rest:?}"))?;
            (label, &quoted[end..])
        } else {
            let end = rest
                .find('=')
                .ok_or_else(|| format!("no `=` in {rest:?}"))?;
            let label = &rest[..end];
            if label.contains([' ', '\'']) {
                return Err(format!("unquoted label {label:?} needs quotes"));
            }
            (label.to_string(), &rest[end..])
        };
        if label.is_empty() || label.contains('=') || label.chars().any(char::is_control) {
            return Err(format!("bad label {label:?}"));
        }
        let after = after
            .strip_prefix('=')
            .ok_or_else(|| format!("no `=` after label {label:?}"))?;
        let end = after.find(' ').unwrap_or(after.len());
        let fields: Vec<&str> = after[..end].split(';').collect();
        if fields.len() > 5 {
            return Err(format!("more than 5 fields in {:?}", &after[..end]));
        }
        let field = |i: usize| fields.get(i).copied().unwrap_or("").to_string();
        let value = field(0);
        let split = value
            .find(|c: char| !(c.is_ascii_digit() || c == '-' || c == '.'))
            .unwrap_or(value.len());
        let (number, uom) = value.split_at(split);
        if !is_number(number) {
            return Err(format!("value {value:?} of {label:?} is not a number"));
        }
        if !["", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"].contains(&uom) {
            return Err(format!(
                "UOM {uom:?} of {label:?} is not one of the guidelines'"
            ));
        }
        for (i, what) in [(1, "warn"), (2, "crit")] {
            let f = field(i);
            if !f.is_empty() && !is_range(&f) {
                return Err(format!("{what} {f:?} of {label:?} is not a range"));
            }
        }
        for (i, what) in [(3, "min"), (4, "max")] {
            let f = field(i);
            if !f.is_empty() && !is_number(&f) {
                return Err(format!("{what} {f:?} of {label:?} is not a number"));
            }
        }
        items.push(Perf {
            label,
            value: number.to_string(),
            uom: uom.to_string(),
            warn: field(1),
            crit: field(2),
            min: field(3),
            max: field(4),
        });
        rest = after[end..].trim_start_matches(' ');
    }
    let mut seen = BTreeSet::new();
    for p in &items {
        if !seen.insert(p.label.clone()) {
            return Err(format!("label {:?} appears twice", p.label));
        }
    }
    Ok(items)
}

#[track_caller]
fn parsed(output: &str) -> (Split, Vec<Perf>) {
    let split = nagios_split(output);
    let perf = strict_perfdata(&split.perf)
        .unwrap_or_else(|e| panic!("{e}\nin the Nagios output:\n{output}"));
    (split, perf)
}

#[test]
fn the_strict_parser_refuses_what_nagios_would_misread() {
    assert!(strict_perfdata("'a'=1;2;3;0;10 b=2c").is_ok());
    assert!(strict_perfdata("'it''s'=1%").is_ok());
    assert!(strict_perfdata("x=4 x=5").is_err());
    assert!(strict_perfdata("'a\nb'=1").is_err());
    assert!(strict_perfdata("a b=1").is_err());
    assert!(strict_perfdata("a=1xyz").is_err());
    assert!(strict_perfdata("a=1;x").is_err());
    assert!(strict_perfdata("'a=1").is_err());
    assert!(strict_perfdata("a=1;@5:10;~:20;0;100").is_ok());
}

#[test]
fn validate_refuses_a_pipe_or_a_line_break_in_a_check_name() {
    let env = Env::new();
    env.config(
        "[[check]]\nname = \"pipe|file\"\ntype = \"file\"\npath = \"x\"\n\n\
         [[check]]\nname = \"two\\nlines\"\ntype = \"file\"\npath = \"y\"\n",
    );
    let run = env.run(&["validate"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("check \"pipe|file\" name"), "{all}");
    assert!(all.contains("check[1] name"), "{all}");
    assert!(all.contains('|'), "the error says which character: {all}");
}

#[test]
fn a_pipe_in_a_message_does_not_cut_the_nagios_output() {
    let env = Env::new();
    env.config(&format!(
        "[[check]]\nname = \"odd-log\"\ntype = \"file\"\npath = \"{}\"\n",
        env.path("logs/a|b.log").display()
    ));
    let run = env.run(&["--format", "nagios"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let (split, perf) = parsed(&run.stdout);
    assert!(
        split.text.contains("odd-log") && split.text.contains("a\u{a6}b.log"),
        "the whole message is in the status text, `|` shown as `¦`: {:?}",
        split.text
    );
    assert!(split.long.contains("a\u{a6}b.log"), "{:?}", split.long);
    assert!(perf.is_empty(), "{perf:?}");
    // The JSON report keeps the path exactly.
    let json = env.run(&["--format", "json"]).json();
    let message = json["checks"][0]["message"].as_str().unwrap();
    assert!(message.contains("a|b.log"), "{message}");
}

#[test]
fn a_line_break_or_a_pipe_in_a_sql_row_label_stays_inside_its_perfdata_label() {
    let env = Env::new();
    let db = env.path("rows.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE t (label TEXT, n INTEGER);\
             INSERT INTO t VALUES ('two' || char(10) || 'lines', 5), ('a|b', 6), ('it''s', 7);",
        )
        .unwrap();
    env.config(&format!(
        "[[check]]\nname = \"rows\"\ntype = \"sql\"\ndriver = \"sqlite\"\ndatabase = \"{}\"\n\
         query = \"SELECT label, n FROM t\"\nexpect = \"value\"\nlabel_column = 1\n",
        db.display()
    ));
    let run = env.run(&["--format", "nagios"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    let (_, perf) = parsed(&run.stdout);
    let labels: Vec<&str> = perf.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "rows_value[two lines]",
            "rows_value[a\u{a6}b]",
            "rows_value[it's]"
        ]
    );
}

/// A `command` check that prints `perfdata` after its status text.
fn plugin(env: &Env, perfdata: &str) {
    env.config(&format!(
        "[[check]]\nname = \"plugin\"\ntype = \"command\"\n\
         command = [\"sh\", \"-c\", \"echo 'LAG OK | {perfdata}'\"]\n"
    ));
}

#[test]
fn plugin_perfdata_keeps_its_uom_warn_crit_min_and_max() {
    let env = Env::new();
    plugin(
        &env,
        "lag=42c;30;60 pct=50%;80;90;0;100 rta=250ms;100;@200:500;0",
    );
    let run = env.run(&["--format", "nagios"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let (_, perf) = parsed(&run.stdout);
    let got: Vec<String> = perf
        .iter()
        .map(|p| {
            format!(
                "{}={}{};{};{};{};{}",
                p.label, p.value, p.uom, p.warn, p.crit, p.min, p.max
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "plugin_lag=42c;30;60;;",
            "plugin_pct=50%;80;90;0;100",
            "plugin_rta=0.25s;0.1;@0.2:0.5;0;",
        ]
    );
    let json = env.run(&["--format", "json"]).json();
    let readings = &json["checks"][0]["readings"];
    assert_eq!(readings[0]["name"], "lag");
    assert_eq!(readings[0]["value"], 42.0);
    assert_eq!(readings[0]["warn"], "30");
    assert_eq!(readings[0]["crit"], "60");
    assert_eq!(readings[1]["min"], 0.0);
    assert_eq!(readings[1]["max"], 100.0);
    assert_eq!(readings[2]["crit"], "@0.2:0.5");
}

#[test]
fn duplicate_perfdata_labels_are_made_unique() {
    let env = Env::new();
    plugin(&env, "x=4 x=5 x_2=6");
    let run = env.run(&["--format", "nagios"]);
    let (_, perf) = parsed(&run.stdout);
    let got: Vec<(&str, &str)> = perf
        .iter()
        .map(|p| (p.label.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        got,
        [("plugin_x", "4"), ("plugin_x#2", "5"), ("plugin_x_2", "6")]
    );
}

/// A Nagios Core in the foreground, its workers in its process group,
/// all killed on drop.
struct Nagios {
    child: Child,
}

impl Drop for Nagios {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group this test started.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

const NAGIOS: &str = "/usr/sbin/nagios4";

fn nagios_config(dir: &Path, command_line: &str) -> std::path::PathBuf {
    let d = dir.display();
    std::fs::create_dir_all(dir.join("checkresults")).unwrap();
    let main = format!(
        "log_file={d}/nagios.log\ncfg_file={d}/objects.cfg\nstatus_file={d}/status.dat\n\
         status_update_interval=1\ntemp_file={d}/nagios.tmp\ntemp_path={d}\nlock_file={d}/nagios.lock\n\
         command_file={d}/nagios.cmd\nquery_socket={d}/nagios.qh\ncheck_result_path={d}/checkresults\n\
         check_result_reaper_frequency=1\nstate_retention_file={d}/retention.dat\nretain_state_information=0\n\
         object_cache_file={d}/objects.cache\nprecached_object_file={d}/objects.precache\n\
         nagios_user=root\nnagios_group=root\ncheck_external_commands=0\ninterval_length=1\n\
         enable_notifications=0\nservice_inter_check_delay_method=n\nhost_inter_check_delay_method=n\n\
         max_service_check_spread=1\nillegal_macro_output_chars=`\n"
    );
    let days: String = [
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ]
    .iter()
    .map(|d| format!("  {d} 00:00-24:00\n"))
    .collect();
    let objects = format!(
        "define command {{\n  command_name hc\n  command_line {command_line}\n}}\n\
         define command {{\n  command_name noop\n  command_line /bin/true\n}}\n\
         define timeperiod {{\n  timeperiod_name always\n  alias always\n{days}}}\n\
         define contact {{\n  contact_name nobody\n  host_notifications_enabled 0\n  service_notifications_enabled 0\n\
           host_notification_period always\n  service_notification_period always\n\
           host_notification_options n\n  service_notification_options n\n\
           host_notification_commands noop\n  service_notification_commands noop\n}}\n\
         define host {{\n  host_name h\n  alias h\n  address 127.0.0.1\n  check_command noop\n\
           max_check_attempts 1\n  check_period always\n  notification_interval 0\n\
           notification_period always\n  contacts nobody\n}}\n\
         define service {{\n  host_name h\n  service_description hc\n  check_command hc\n\
           max_check_attempts 1\n  check_interval 60\n  retry_interval 60\n  check_period always\n\
           notification_interval 0\n  notification_period always\n  contacts nobody\n}}\n"
    );
    std::fs::write(dir.join("objects.cfg"), objects).unwrap();
    let path = dir.join("nagios.cfg");
    std::fs::write(&path, main).unwrap();
    path
}

/// The `servicestatus` block of `status.dat` once the service was checked.
fn checked_service(status: &Path) -> Option<String> {
    let text = std::fs::read_to_string(status).ok()?;
    let block = text.split("servicestatus {").nth(1)?;
    let block = block.split('}').next()?.to_string();
    block.contains("has_been_checked=1").then_some(block)
}

fn field<'a>(block: &'a str, key: &str) -> &'a str {
    block
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {block}"))
}

#[test]
fn nagios_core_reads_the_status_the_message_and_every_perfdata_item() {
    if !Path::new(NAGIOS).exists() {
        harness::missing("nagios4", "apt-get install nagios4");
        return;
    }
    let env = Env::new();
    env.config(&format!(
        "[[check]]\nname = \"odd-log\"\ntype = \"file\"\npath = \"{}\"\n\n\
         [[check]]\nname = \"plugin\"\ntype = \"command\"\n\
         command = [\"sh\", \"-c\", \"echo 'LAG OK | lag=42c;30;60 x=4 x=5'\"]\n",
        env.path("logs/a|b.log").display()
    ));
    let dir = env.path("nagios");
    let config = nagios_config(
        &dir,
        &format!(
            "{} --format nagios -c {}",
            env!("CARGO_BIN_EXE_healthcheck"),
            env.path("healthcheck.toml").display()
        ),
    );
    let verify = Command::new(NAGIOS)
        .arg("-v")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "nagios4 -v:\n{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let ours = env.run(&["--format", "nagios"]);
    let child = Command::new(NAGIOS)
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let _nagios = Nagios { child };
    let started = Instant::now();
    let block = loop {
        if let Some(block) = checked_service(&dir.join("status.dat")) {
            break block;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Nagios did not check the service within 60 s; its log:\n{}",
            std::fs::read_to_string(dir.join("nagios.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    println!(
        "Nagios Core checked the service after {:?}",
        started.elapsed()
    );
    assert_eq!(field(&block, "current_state"), "2", "{block}");
    let (split, perf) = parsed(&ours.stdout);
    assert_eq!(field(&block, "plugin_output"), split.text.trim_end());
    assert!(
        field(&block, "plugin_output").contains("a\u{a6}b.log"),
        "{block}"
    );
    let stored = strict_perfdata(field(&block, "performance_data"))
        .unwrap_or_else(|e| panic!("{e} in {block}"));
    assert_eq!(stored, perf, "{block}");
    let labels: Vec<&str> = stored.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["plugin_lag", "plugin_x", "plugin_x#2"], "{block}");
    assert!(
        field(&block, "long_plugin_output").contains("CRITICAL: odd-log"),
        "{block}"
    );
}
