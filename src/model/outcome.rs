//! What a check found: a status, a message and named readings in units,
//! and the limits a reading is judged by.

use serde::Serialize;

use super::Status;

/// The unit of a reading; decides how thresholds are written and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Unit {
    #[serde(rename = "s")]
    Seconds,
    #[serde(rename = "%")]
    Percent,
    #[serde(rename = "B")]
    Bytes,
    #[serde(rename = "")]
    Count,
    #[serde(rename = "/h")]
    PerHour,
    /// A plain number (load per core, a perfdata value without unit).
    #[serde(rename = "")]
    Number,
}

impl Unit {
    /// Nagios perfdata unit of measure.
    pub fn uom(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Percent => "%",
            Unit::Bytes => "B",
            Unit::Count | Unit::PerHour | Unit::Number => "",
        }
    }

    /// A value of this unit written for humans: "18m", "42.1%", "1.2 GiB", "3".
    pub fn show(self, value: f64) -> String {
        match self {
            Unit::Seconds => show_seconds(value),
            Unit::Percent => format!("{}%", round(value, 1)),
            Unit::Bytes => show_bytes(value),
            Unit::PerHour => format!("{}/h", round(value, 1)),
            Unit::Count | Unit::Number => round(value, 2).to_string(),
        }
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

fn show_seconds(v: f64) -> String {
    if v.abs() < 10.0 {
        return format!("{}s", round(v, 2));
    }
    let neg = if v < 0.0 { "-" } else { "" };
    let s = v.abs().round() as u64;
    // The largest unit and the one right below it: "2d 3h", "18m 4s", "3h".
    let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let first = units
        .iter()
        .position(|(size, _)| s >= *size)
        .unwrap_or(units.len() - 1);
    let mut out = vec![format!("{}{}", s / units[first].0, units[first].1)];
    if let Some((size, name)) = units.get(first + 1) {
        let n = s % units[first].0 / size;
        if n > 0 {
            out.push(format!("{n}{name}"));
        }
    }
    format!("{neg}{}", out.join(" "))
}

fn show_bytes(v: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut x = v;
    let mut i = 0;
    while x.abs() >= 1024.0 && i + 1 < units.len() {
        x /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{} B", x.round())
    } else {
        format!("{} {}", round(x, 1), units[i])
    }
}

/// One measured number.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub name: String,
    pub value: f64,
    pub unit: Unit,
    /// What a plugin printed beside the value (`command` perfdata).
    pub limits: Option<Box<Limits>>,
}

/// A plugin's own perfdata fields, in the reading's base unit: its
/// `warn` and `crit` Nagios ranges, `min` and `max`, and the UOM to print.
/// They are passed on, never judged: the plugin's exit code is its verdict.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Limits {
    pub uom: &'static str,
    pub warn: Option<String>,
    pub crit: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Reading {
    pub fn new(name: impl Into<String>, value: f64, unit: Unit) -> Reading {
        Reading {
            name: name.into(),
            value,
            unit,
            limits: None,
        }
    }

    /// One of several readings of one kind told apart by a label (one per
    /// row of a `sql` query): named `family[label]`, as in `until[MAIN_DATA]`,
    /// and judged by the thresholds of `family`.
    pub fn labelled(family: &str, label: &str, value: f64, unit: Unit) -> Reading {
        Reading::new(format!("{family}[{label}]"), value, unit)
    }

    /// `until` for `until[MAIN_DATA]`; the whole name for a plain reading.
    pub fn family(&self) -> &str {
        self.split().map_or(&self.name, |(family, _)| family)
    }

    /// `MAIN_DATA` for `until[MAIN_DATA]`.
    pub fn label(&self) -> Option<&str> {
        self.split().map(|(_, label)| label)
    }

    fn split(&self) -> Option<(&str, &str)> {
        let inner = self.name.strip_suffix(']')?;
        inner.split_once('[')
    }
}

/// What a probe found.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub status: Status,
    pub message: String,
    pub readings: Vec<Reading>,
    /// Kept in state for this check's next run (CPU counters, disk samples).
    pub memory: Option<serde_json::Value>,
    /// The readings cover less than their window yet (a `per` count in
    /// its first window): only the upper limits are judged, so that a
    /// count that has not had the time to grow is not "too low".
    pub warming_up: bool,
    /// Readings the probe could not take, each with why: a threshold on
    /// one of them makes the check UNKNOWN with that reason, never a
    /// silent OK.
    pub absent: Vec<(&'static str, String)>,
    /// The target was stopped on purpose (cleanly, not crashed): a
    /// service that says `when_stopped = "leave"` leaves it so.
    pub stopped_on_purpose: bool,
    /// The target did not answer within the check's timeout. The runner
    /// gives such an outcome the check's `on_timeout` status and one
    /// message naming the target, whether the probe or the runner saw
    /// the time run out first: one cause, one status.
    pub timed_out: bool,
}

impl Outcome {
    pub fn new(status: Status, message: impl Into<String>) -> Outcome {
        Outcome {
            status,
            message: message.into(),
            readings: Vec::new(),
            memory: None,
            warming_up: false,
            absent: Vec::new(),
            stopped_on_purpose: false,
            timed_out: false,
        }
    }
    /// `target` did not answer within the check's timeout (the runner
    /// decides the status and the words).
    pub fn no_answer(target: &str) -> Outcome {
        Outcome {
            timed_out: true,
            ..Outcome::unknown(format!("{target}: no answer within the timeout"))
        }
    }
    pub fn ok(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Ok, message)
    }
    pub fn warning(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Warning, message)
    }
    pub fn critical(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Critical, message)
    }
    pub fn unknown(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Unknown, message)
    }
    pub fn reading(mut self, name: &str, value: f64, unit: Unit) -> Outcome {
        self.readings.push(Reading::new(name, value, unit));
        self
    }
    /// A reading this probe could not take, and why.
    pub fn absent(mut self, name: &'static str, why: impl Into<String>) -> Outcome {
        self.absent.push((name, why.into()));
        self
    }
    pub fn remember(mut self, memory: serde_json::Value) -> Outcome {
        self.memory = Some(memory);
        self
    }

    /// This outcome with its message cut to `MESSAGE_LIMIT` bytes and each
    /// reading's name to `NAME_LIMIT`: a plugin's one-line answer can be a
    /// megabyte, and the message goes into the state, the outbox and every
    /// report, whose sizes stay bounded only if each message is.
    pub fn bounded(mut self) -> Outcome {
        self.message = cut(&self.message, MESSAGE_LIMIT);
        for r in &mut self.readings {
            r.name = cut(&r.name, NAME_LIMIT);
        }
        self
    }
}

/// The most bytes of a check's message kept.
pub const MESSAGE_LIMIT: usize = 2048;
/// The most bytes of a reading's name (with its label) kept.
pub const NAME_LIMIT: usize = 200;

/// `text` cut to at most `limit` bytes on a character boundary, ending
/// in " … (cut)" when it was cut.
pub fn cut(text: &str, limit: usize) -> String {
    const MARK: &str = " … (cut)";
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit.saturating_sub(MARK.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &text[..end])
}

/// The four optional limits of a reading, already in the reading's unit
/// (seconds, percent, bytes, count).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Thresholds {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warn_above: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crit_above: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warn_below: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crit_below: Option<f64>,
}

/// Which limit a value broke, for the message: "(crit above 15m)".
pub struct Breach {
    pub status: Status,
    pub word: &'static str,
    pub limit: f64,
}

impl Thresholds {
    /// These limits without the lower ones.
    pub fn upper_only(self) -> Thresholds {
        Thresholds {
            warn_below: None,
            crit_below: None,
            ..self
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Thresholds::default()
    }

    /// The status of a value and the limit it broke, if any. Above means
    /// strictly greater, below strictly less (Nagios plugins do the same).
    pub fn judge(&self, value: f64) -> Option<Breach> {
        let hit = |limit: Option<f64>, above: bool| {
            limit.filter(|l| if above { value > *l } else { value < *l })
        };
        if let Some(limit) = hit(self.crit_above, true) {
            return Some(Breach {
                status: Status::Critical,
                word: "crit above",
                limit,
            });
        }
        if let Some(limit) = hit(self.crit_below, false) {
            return Some(Breach {
                status: Status::Critical,
                word: "crit below",
                limit,
            });
        }
        if let Some(limit) = hit(self.warn_above, true) {
            return Some(Breach {
                status: Status::Warning,
                word: "warn above",
                limit,
            });
        }
        if let Some(limit) = hit(self.warn_below, false) {
            return Some(Breach {
                status: Status::Warning,
                word: "warn below",
                limit,
            });
        }
        None
    }

    /// Contradictions a user could write: a warning limit beyond the critical one.
    pub fn contradiction(&self) -> Option<String> {
        if let (Some(w), Some(c)) = (self.warn_above, self.crit_above)
            && w > c
        {
            return Some(format!("warn_above ({w}) is greater than crit_above ({c})"));
        }
        if let (Some(w), Some(c)) = (self.warn_below, self.crit_below)
            && w < c
        {
            return Some(format!("warn_below ({w}) is less than crit_below ({c})"));
        }
        let lowest_above = [self.warn_above, self.crit_above]
            .into_iter()
            .flatten()
            .reduce(f64::min);
        let highest_below = [self.warn_below, self.crit_below]
            .into_iter()
            .flatten()
            .reduce(f64::max);
        if let (Some(a), Some(b)) = (lowest_above, highest_below)
            && b > a
        {
            return Some(format!(
                "the below limit ({b}) is greater than the above limit ({a}): every value would alert"
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn case(t: Thresholds, value: f64, expected: Status) {
        let got = t.judge(value).map_or(Status::Ok, |b| b.status);
        assert_eq!(got, expected, "{t:?} on {value}");
    }

    #[test]
    fn thresholds_above_are_strict() {
        let t = Thresholds {
            warn_above: Some(300.0),
            crit_above: Some(900.0),
            ..Default::default()
        };
        case(t, 0.0, Status::Ok);
        case(t, 300.0, Status::Ok);
        case(t, 300.5, Status::Warning);
        case(t, 900.0, Status::Warning);
        case(t, 901.0, Status::Critical);
    }

    #[test]
    fn thresholds_below_are_strict() {
        let t = Thresholds {
            warn_below: Some(100.0),
            crit_below: Some(50.0),
            ..Default::default()
        };
        case(t, 150.0, Status::Ok);
        case(t, 100.0, Status::Ok);
        case(t, 99.0, Status::Warning);
        case(t, 50.0, Status::Warning);
        case(t, 49.9, Status::Critical);
    }

    #[test]
    fn thresholds_bands_both_ways() {
        // A tick collector's rate: 150-250 green, 50-150 yellow, < 50 red.
        let t = Thresholds {
            warn_below: Some(150.0),
            crit_below: Some(50.0),
            warn_above: Some(250.0),
            ..Default::default()
        };
        case(t, 200.0, Status::Ok);
        case(t, 100.0, Status::Warning);
        case(t, 10.0, Status::Critical);
        case(t, 300.0, Status::Warning);
        case(Thresholds::default(), 1e12, Status::Ok);
    }

    #[test]
    fn contradictions_are_found() {
        let t = Thresholds {
            warn_above: Some(95.0),
            crit_above: Some(85.0),
            ..Default::default()
        };
        assert!(
            t.contradiction()
                .unwrap()
                .contains("warn_above (95) is greater than crit_above (85)")
        );
        let t = Thresholds {
            warn_below: Some(1.0),
            crit_below: Some(5.0),
            ..Default::default()
        };
        assert!(t.contradiction().is_some());
        let t = Thresholds {
            crit_below: Some(10.0),
            crit_above: Some(5.0),
            ..Default::default()
        };
        assert!(t.contradiction().is_some());
        let t = Thresholds {
            warn_below: Some(150.0),
            crit_below: Some(50.0),
            warn_above: Some(250.0),
            ..Default::default()
        };
        assert_eq!(t.contradiction(), None);
    }

    #[test]
    fn labelled_readings_belong_to_their_family() {
        let r = Reading::labelled("until", "MAIN_DATA", 2520.0, Unit::Seconds);
        assert_eq!(
            (r.name.as_str(), r.family(), r.label()),
            ("until[MAIN_DATA]", "until", Some("MAIN_DATA"))
        );
        let plain = Reading::new("age", 1.0, Unit::Seconds);
        assert_eq!((plain.family(), plain.label()), ("age", None));
    }

    #[test]
    fn units_show_for_humans() {
        assert_eq!(Unit::Seconds.show(1080.0), "18m");
        assert_eq!(Unit::Seconds.show(1084.0), "18m 4s");
        assert_eq!(
            Unit::Seconds.show(2.0 * 86400.0 + 3.0 * 3600.0 + 5.0),
            "2d 3h"
        );
        assert_eq!(Unit::Seconds.show(3.25), "3.25s");
        assert_eq!(
            Unit::Seconds.show(3.0 * 3600.0 + 1.0),
            "3h",
            "never skips a unit"
        );
        assert_eq!(Unit::Seconds.show(3.0 * 3600.0 + 61.0), "3h 1m");
        assert_eq!(Unit::Seconds.show(-125.0), "-2m 5s");
        assert_eq!(Unit::Bytes.show(1536.0), "1.5 KiB");
        assert_eq!(Unit::Percent.show(42.123), "42.1%");
    }

    #[test]
    fn a_megabyte_message_is_cut_on_a_character_boundary() {
        let long = format!("exited 2: {}", "é".repeat(600_000));
        let out = Outcome::critical(long)
            .reading(&"r".repeat(5000), 1.0, Unit::Count)
            .bounded();
        assert!(out.message.len() <= MESSAGE_LIMIT);
        assert!(out.message.starts_with("exited 2: é"));
        assert!(out.message.ends_with(" … (cut)"));
        assert!(out.readings[0].name.len() <= NAME_LIMIT);
        let short = Outcome::ok("fine").bounded();
        assert_eq!(short.message, "fine");
    }
}
