//! `command`: run any Monitoring Plugin (`check_*`) or script and take its
//! verdict as-is. Nagios plugin semantics: the exit code is the status, the
//! first line of stdout is the message, and perfdata after `|` become
//! readings. The child runs through `crate::proc`: argv (never a shell),
//! under the check's timeout, its whole process group killed when it passes.

use super::{Keys, Kind, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::Status;
use crate::model::{Limits, Outcome, Reading, Unit};
use crate::proc::{Job, Output};
use crate::secret::redact;
use crate::spec::probe::{Probe, ProbeContext};
use crate::vocab::{Builder, expand_tilde};

pub const KIND: Kind = Kind {
    runs_program: true,
    ..Kind::new("command", Keys::of::<CommandKeys>(), &[])
};

/// The keys of a `command` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandKeys {
    command: Option<Vec<String>>,
}

impl TypeKeys for CommandKeys {
    fn build(&self, common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, common, b)
    }
}

struct CommandCheck {
    argv: Vec<String>,
    /// The check's `cwd` and `env` (validated with the check's recovery).
    cwd: Option<std::path::PathBuf>,
    env: Vec<(String, String)>,
}

fn build(raw: &CommandKeys, common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let argv = b.required("command", &raw.command)?;
    let Some(program) = argv.first().filter(|p| !p.trim().is_empty()) else {
        b.error(
            "command",
            "must name a program, e.g. [\"/usr/lib/nagios/plugins/check_disk\", \"-w\", \"20%\"]",
        );
        return None;
    };
    let mut argv = argv.clone();
    argv[0] = expand_tilde(program).to_string_lossy().into_owned();
    Some(Box::new(CommandCheck {
        argv,
        cwd: common.cwd.as_deref().map(expand_tilde),
        env: common.env.clone().unwrap_or_default().into_iter().collect(),
    }))
}

impl Probe for CommandCheck {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let timeout = ctx.remaining();
        let job = self
            .env
            .iter()
            .fold(Job::new(&self.argv, timeout).ends_group(), |job, (k, v)| {
                job.env(k, v)
            })
            .cwd(self.cwd.as_deref());
        match job.run() {
            Ok(output) => Ok(verdict(&output)),
            Err(e) => Ok(Outcome::unknown(redact(&e.to_string()))),
        }
    }

    fn target(&self) -> Option<String> {
        Some(redact(&self.argv[0]))
    }
}

/// The outcome of a finished plugin run.
fn verdict(output: &Output) -> Outcome {
    if output.timed_out {
        return Outcome::no_answer("the command");
    }
    let status = match output.code {
        Some(0) => Status::Ok,
        Some(1) => Status::Warning,
        Some(2) => Status::Critical,
        _ => Status::Unknown,
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let plugin = PluginOutput::parse(&stdout);
    let message = if plugin.message.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        match stderr.lines().map(str::trim).find(|l| !l.is_empty()) {
            Some(line) => format!("{}: {line}", output.describe()),
            None => output.describe(),
        }
    } else if matches!(output.code, Some(0..=3)) {
        plugin.message
    } else {
        // Not a plugin status: say why this is UNKNOWN.
        format!("{}: {}", output.describe(), plugin.message)
    };
    Outcome {
        readings: plugin.readings,
        ..Outcome::new(status, redact(&message))
    }
}

/// What a plugin printed, split per the Nagios plugin API:
/// `TEXT | PERFDATA` on the first line; then long text, in which the first
/// `|` starts more perfdata that runs to the end of the output.
struct PluginOutput {
    message: String,
    readings: Vec<Reading>,
}

impl PluginOutput {
    fn parse(stdout: &str) -> PluginOutput {
        let mut lines = stdout.lines();
        let first = lines.next().unwrap_or_default();
        let (message, first_perf) = first.split_once('|').unwrap_or((first, ""));
        let mut perf = first_perf.to_string();
        let mut in_perf = false;
        for line in lines {
            if in_perf {
                perf.push('\n');
                perf.push_str(line);
            } else if let Some((_, rest)) = line.split_once('|') {
                in_perf = true;
                perf.push('\n');
                perf.push_str(rest);
            }
        }
        PluginOutput {
            message: message.trim().to_string(),
            readings: parse_perfdata(&perf),
        }
    }
}

/// Readings from perfdata (Monitoring Plugins development guidelines):
/// `'label'=value[UOM];[warn];[crit];[min];[max]`, separated by whitespace.
/// A quoted label may hold spaces, and `''` for a quote. Values of `U`
/// (undetermined) and tokens that do not parse are skipped. The plugin's
/// warn/crit/min/max are kept as the reading's `limits` (for the Nagios and
/// JSON outputs) but never judged: thresholds come from the config.
fn parse_perfdata(text: &str) -> Vec<Reading> {
    let mut readings = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (label, after) = match rest.strip_prefix('\'') {
            Some(quoted) => match quoted_label(quoted) {
                Some(found) => found,
                // An unclosed quote: nothing after it can be split reliably.
                None => break,
            },
            None => {
                let end = rest
                    .find(|c: char| c == '=' || c.is_whitespace())
                    .unwrap_or(rest.len());
                (rest[..end].to_string(), &rest[end..])
            }
        };
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        if let Some(fields) = after[..end].strip_prefix('=')
            && !label.is_empty()
            && let Some(reading) = perf_reading(label, fields)
        {
            readings.push(reading);
        }
        rest = after[end..].trim_start();
    }
    readings
}

/// The label of `label'...` (the opening quote already taken) and what follows its closing quote.
fn quoted_label(text: &str) -> Option<(String, &str)> {
    let mut label = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\'' {
            label.push(c);
        } else if text[i + 1..].starts_with('\'') {
            label.push('\'');
            chars.next();
        } else {
            return Some((label, &text[i + 1..]));
        }
    }
    None
}

/// A value in a UOM, as a reading in base units (seconds, bytes): the
/// value is multiplied by `mul` and divided by `div` (exact powers of ten).
struct Uom {
    unit: Unit,
    /// What the Nagios output prints after the base-unit value.
    shown: &'static str,
    mul: f64,
    div: f64,
}

impl Uom {
    fn parse(uom: &str) -> Option<Uom> {
        let (unit, shown, mul, div) = match uom {
            "" => (Unit::Number, "", 1.0, 1.0),
            "s" => (Unit::Seconds, "s", 1.0, 1.0),
            "ms" => (Unit::Seconds, "s", 1.0, 1e3),
            "us" => (Unit::Seconds, "s", 1.0, 1e6),
            "%" => (Unit::Percent, "%", 1.0, 1.0),
            "B" => (Unit::Bytes, "B", 1.0, 1.0),
            "KB" => (Unit::Bytes, "B", 1e3, 1.0),
            "MB" => (Unit::Bytes, "B", 1e6, 1.0),
            "GB" => (Unit::Bytes, "B", 1e9, 1.0),
            "TB" => (Unit::Bytes, "B", 1e12, 1.0),
            "c" => (Unit::Count, "c", 1.0, 1.0),
            _ => return None,
        };
        Some(Uom {
            unit,
            shown,
            mul,
            div,
        })
    }

    /// The number in base units; None when it is not finite as written or
    /// once scaled (10^300 TB is past the largest f64 in bytes).
    fn base(&self, number: &str) -> Option<f64> {
        let n: f64 = number.parse().ok()?;
        Some(n * self.mul / self.div).filter(|v| v.is_finite())
    }

    /// A Nagios range `[@][start:][end]` (`start` may be `~`) in base
    /// units; None for an empty or malformed one.
    fn range(&self, text: &str) -> Option<String> {
        let (at, body) = match text.strip_prefix('@') {
            Some(body) => ("@", body),
            None => ("", text),
        };
        let bound = |t: &str| -> Option<String> {
            match t {
                "" => Some(String::new()),
                "~" => Some("~".into()),
                _ => self.base(t).map(|v| v.to_string()),
            }
        };
        let scaled = match body.split_once(':') {
            Some((start, end)) => format!("{}:{}", bound(start)?, bound(end)?),
            None if !body.is_empty() && body != "~" => bound(body)?,
            None => return None,
        };
        Some(format!("{at}{scaled}"))
    }
}

/// `pct=80%;70;90;0;100` -> the reading `pct` = 80 %, with its limits.
fn perf_reading(label: String, fields: &str) -> Option<Reading> {
    let mut fields = fields.split(';');
    let value = fields.next().unwrap_or_default();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(value.len());
    let (number, uom) = value.split_at(split);
    let uom = Uom::parse(uom)?;
    let value = uom.base(number)?;
    let mut next = || fields.next().filter(|f| !f.is_empty());
    let (warn, crit) = (next(), next());
    let (min, max) = (next(), next());
    let limits = Limits {
        uom: uom.shown,
        warn: warn.and_then(|r| uom.range(r)),
        crit: crit.and_then(|r| uom.range(r)),
        min: min.and_then(|n| uom.base(n)),
        max: max.and_then(|n| uom.base(n)),
    };
    let mut reading = Reading::new(label, value, uom.unit);
    reading.limits = Some(Box::new(limits));
    Some(reading)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::config::load_str;

    #[track_caller]
    fn perf(text: &str, expected: &[(&str, f64, Unit)]) {
        let got: Vec<(String, f64, Unit)> = parse_perfdata(text)
            .into_iter()
            .map(|r| (r.name, r.value, r.unit))
            .collect();
        let expected: Vec<(String, f64, Unit)> = expected
            .iter()
            .map(|(n, v, u)| (n.to_string(), *v, *u))
            .collect();
        assert_eq!(got, expected, "perfdata: {text:?}");
    }

    #[track_caller]
    fn limits(text: &str) -> Limits {
        let reading = parse_perfdata(text).pop().expect("one reading");
        *reading.limits.expect("limits")
    }

    #[test]
    fn perfdata_limits_are_kept_in_base_units() {
        let l = limits("lag=42c;30;60");
        assert_eq!(
            (l.uom, l.warn.as_deref(), l.crit.as_deref(), l.min, l.max),
            ("c", Some("30"), Some("60"), None, None)
        );
        let l = limits("pct=50%;80;90;0;100");
        assert_eq!(
            (l.uom, l.warn.as_deref(), l.crit.as_deref(), l.min, l.max),
            ("%", Some("80"), Some("90"), Some(0.0), Some(100.0))
        );
        let l = limits("rta=250ms;@100:200;~:500;0");
        assert_eq!(
            (l.uom, l.warn.as_deref(), l.crit.as_deref(), l.min, l.max),
            ("s", Some("@0.1:0.2"), Some("~:0.5"), Some(0.0), None)
        );
        let l = limits("size=3KB;10:;x;;2");
        assert_eq!(
            (l.uom, l.warn.as_deref(), l.crit.as_deref(), l.max),
            ("B", Some("10000:"), None, Some(2000.0))
        );
        let l = limits("n=1;;");
        assert_eq!((l.uom, l.warn, l.crit), ("", None, None));
    }

    #[test]
    fn perfdata_units_become_base_units() {
        perf("/=80%;70;90", &[("/", 80.0, Unit::Percent)]);
        perf("time=0.5s", &[("time", 0.5, Unit::Seconds)]);
        perf("rta=250ms;100;500", &[("rta", 0.25, Unit::Seconds)]);
        perf("t=1500us", &[("t", 0.0015, Unit::Seconds)]);
        perf("size=3KB", &[("size", 3e3, Unit::Bytes)]);
        perf(
            "a=2MB b=1GB c=1TB d=7B",
            &[
                ("a", 2e6, Unit::Bytes),
                ("b", 1e9, Unit::Bytes),
                ("c", 1e12, Unit::Bytes),
                ("d", 7.0, Unit::Bytes),
            ],
        );
        perf("errors=12c", &[("errors", 12.0, Unit::Count)]);
        perf("load1=0.42;2;4;0", &[("load1", 0.42, Unit::Number)]);
        perf("offset=-0.003s", &[("offset", -0.003, Unit::Seconds)]);
    }

    #[test]
    fn perfdata_quoted_labels() {
        perf(
            "'free space'=12GB;;;0;100",
            &[("free space", 12e9, Unit::Bytes)],
        );
        perf("'it''s'=1", &[("it's", 1.0, Unit::Number)]);
        perf(
            "'a=b'=3 'x y z'=4%",
            &[("a=b", 3.0, Unit::Number), ("x y z", 4.0, Unit::Percent)],
        );
        // An unclosed quote ends parsing; what came before is kept.
        perf("ok=1 'broken=2 next=3", &[("ok", 1.0, Unit::Number)]);
    }

    #[test]
    fn perfdata_missing_fields_and_spacing() {
        perf(
            "a=1;;;; b=2;;",
            &[("a", 1.0, Unit::Number), ("b", 2.0, Unit::Number)],
        );
        perf(
            "  a=1\n\tb=2  ",
            &[("a", 1.0, Unit::Number), ("b", 2.0, Unit::Number)],
        );
        perf("", &[]);
        perf("   ", &[]);
    }

    #[test]
    fn perfdata_skips_undetermined_and_bad_tokens() {
        perf("a=U;1;2 b=5", &[("b", 5.0, Unit::Number)]);
        perf("garbage b=5", &[("b", 5.0, Unit::Number)]);
        perf(
            "=5 noval= x=abc y=5xyz z=1.2.3 w=7",
            &[("w", 7.0, Unit::Number)],
        );
        perf("'q'x=1 r=2", &[("r", 2.0, Unit::Number)]);
        perf("n=inf m=NaN k=1", &[("k", 1.0, Unit::Number)]);
    }

    #[test]
    fn plugin_output_first_line_and_long_output() {
        let out = PluginOutput::parse(
            "DISK OK - free space: / 3326 MB | /=2643MB;5948;5958;0;5968\n\
             / 15272 MB (77%);\n\
             /boot 68 MB (69%);\n\
             /home 69357 MB (27%) | /boot=68MB;88;93;0;98\n\
             /home=69357MB;253404;253409;0;253414\n",
        );
        assert_eq!(out.message, "DISK OK - free space: / 3326 MB");
        let names: Vec<&str> = out.readings.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["/", "/boot", "/home"]);
        assert_eq!(out.readings[2].value, 69357e6);

        let plain = PluginOutput::parse("all good\nmore text\n");
        assert_eq!(plain.message, "all good");
        assert!(plain.readings.is_empty());
    }

    fn probe(toml: &str, timeout: Duration) -> Outcome {
        crate::check::probe_first(toml, timeout)
    }

    fn check(argv: &str) -> String {
        format!("[[check]]\nname = \"c\"\ntype = \"command\"\ncommand = {argv}\n")
    }

    #[test]
    fn exit_codes_are_nagios_statuses() {
        let out = probe(&check(r#"["/bin/true"]"#), Duration::from_secs(10));
        assert_eq!(out.status, Status::Ok);
        assert_eq!(out.message, "exited 0");
        let out = probe(&check(r#"["/bin/false"]"#), Duration::from_secs(10));
        assert_eq!(out.status, Status::Warning);
        assert_eq!(out.message, "exited 1");
        for (code, status) in [(2, Status::Critical), (3, Status::Unknown)] {
            let argv = format!(r#"["sh", "-c", "echo 'STATE {code}'; exit {code}"]"#);
            let out = probe(&check(&argv), Duration::from_secs(10));
            assert_eq!(
                (out.status, out.message.as_str()),
                (status, format!("STATE {code}").as_str())
            );
        }
    }

    #[test]
    fn plugin_message_and_perfdata() {
        let argv = r#"["sh", "-c", "echo 'DISK WARNING - 80% | /=80%;70;90'; exit 1"]"#;
        let out = probe(&check(argv), Duration::from_secs(10));
        assert_eq!(out.status, Status::Warning);
        assert_eq!(out.message, "DISK WARNING - 80%");
        let r = &out.readings[0];
        assert_eq!(
            (r.name.as_str(), r.value, r.unit),
            ("/", 80.0, Unit::Percent)
        );
        assert_eq!(out.readings.len(), 1);
    }

    #[test]
    fn other_exit_codes_and_signals_are_unknown() {
        let out = probe(
            &check(r#"["sh", "-c", "echo oops; exit 7"]"#),
            Duration::from_secs(10),
        );
        assert_eq!(out.status, Status::Unknown);
        assert_eq!(out.message, "exited 7: oops");
        let out = probe(
            &check(r#"["sh", "-c", "kill -KILL $$"]"#),
            Duration::from_secs(10),
        );
        assert_eq!(out.status, Status::Unknown);
        assert_eq!(out.message, "killed by signal 9");
    }

    #[test]
    fn empty_stdout_falls_back_to_stderr() {
        let argv = r#"["sh", "-c", "echo; echo '  ' >&2; echo 'cannot connect' >&2; exit 2"]"#;
        let out = probe(&check(argv), Duration::from_secs(10));
        assert_eq!(out.status, Status::Critical);
        assert_eq!(out.message, "exited 2: cannot connect");
    }

    #[test]
    fn timeout_is_unknown_and_quick() {
        let started = Instant::now();
        let out = probe(&check(r#"["sleep", "60"]"#), Duration::from_millis(300));
        assert_eq!(out.status, Status::Unknown);
        assert_eq!(out.message, "sleep: timed out after 0.3s");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn missing_program_is_unknown_with_its_name() {
        let out = probe(
            &check(r#"["/nonexistent/check_foo"]"#),
            Duration::from_secs(10),
        );
        assert_eq!(out.status, Status::Unknown);
        assert!(
            out.message.contains("/nonexistent/check_foo"),
            "{}",
            out.message
        );
        assert!(out.message.contains("No such file"), "{}", out.message);
    }

    #[test]
    fn thresholds_judge_a_perfdata_reading_named_in_the_config() {
        let toml = format!(
            "{}reading = \"/\"\ncrit_above = 90\n",
            check("[\"/bin/true\"]")
        );
        let config = load_str("t.toml", &toml).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.checks[0].judged.as_deref(), Some("/"));
        assert_eq!(config.checks[0].thresholds.crit_above, Some(90.0));
    }

    #[test]
    fn config_requires_a_program() {
        let errors = load_str("t.toml", &check("[]")).err().unwrap().to_string();
        assert!(
            errors.contains("check \"c\" command: must name a program"),
            "{errors}"
        );
        let missing = "[[check]]\nname = \"c\"\ntype = \"command\"\n";
        let errors = load_str("t.toml", missing).err().unwrap().to_string();
        assert!(errors.contains("missing key command"), "{errors}");
    }
}
