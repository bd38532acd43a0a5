//! `[summary]`: one digest a day of how things went (guides 000, 001 and
//! 003 ask for a daily report). `at` is a local time in `timezone` (the
//! machine's own by default); `channels` are the `[[alert]]` names it goes
//! to (default: every channel but Alertmanager, which takes alerts, not
//! reports).

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use crate::spec::alert::AlertSpec;
use crate::spec::summary::SummarySpec;
use crate::vocab::{Errors, Spans, deserialize_table};

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSummary {
    pub at: Option<String>,
    pub timezone: Option<String>,
    pub channels: Option<Vec<String>>,
}

/// The channel kind a summary never goes to.
const ALERTS_ONLY: &str = "alertmanager";

/// Compile `[summary]` against the channels that were defined.
pub(super) fn compile_summary(
    errors: &mut Errors,
    value: Spanned<DeValue>,
    alerts: &[AlertSpec],
) -> Option<SummarySpec> {
    let spans = Spans::of("summary", &value);
    let raw = deserialize_table::<RawSummary>(errors, "summary", value)?;
    let mut b = spans.builder(errors, None);
    let text = b.required("at", &raw.at)?;
    let at = match parse_hhmm(text) {
        Some(t) => Some(t),
        None => {
            b.error(
                "at",
                format!("invalid time \"{text}\" (write e.g. \"08:00\")"),
            );
            None
        }
    };
    let tz = match raw.timezone.as_deref() {
        None => Some(jiff::tz::TimeZone::system()),
        Some(name) => match jiff::tz::TimeZone::get(name) {
            Ok(tz) => Some(tz),
            Err(e) => {
                b.error("timezone", format!("unknown time zone \"{name}\": {e}"));
                None
            }
        },
    };
    let channels = match raw.channels {
        None => {
            let all: Vec<String> = alerts
                .iter()
                .filter(|a| a.kind != ALERTS_ONLY)
                .map(|a| a.name.clone())
                .collect();
            if all.is_empty() {
                b.warn(
                    "channels",
                    "no [[alert]] channel takes the summary: none is sent",
                );
            }
            all
        }
        Some(names) => {
            let mut problems = Vec::new();
            let mut broken = false;
            for name in &names {
                match alerts.iter().find(|a| &a.name == name) {
                    Some(a) if a.kind == ALERTS_ONLY => problems.push(format!(
                        "`{name}` is an alertmanager channel: it takes alerts, not a summary"
                    )),
                    Some(_) => {}
                    None if b.is_broken("alert", name) => broken = true,
                    None => {
                        let known: Vec<&str> = alerts.iter().map(|a| a.name.as_str()).collect();
                        let have = if known.is_empty() {
                            "there are none".to_string()
                        } else {
                            format!("channels: {}", known.join(", "))
                        };
                        problems.push(format!("no [[alert]] named `{name}` ({have})"));
                    }
                }
            }
            if !problems.is_empty() {
                b.error("channels", problems.join("; "));
            }
            if broken || !problems.is_empty() {
                return None;
            }
            names
        }
    };
    Some(SummarySpec {
        at: at?,
        tz: tz?,
        channels,
    })
}

/// "08:00" or "8:05" (24-hour clock).
fn parse_hhmm(text: &str) -> Option<jiff::civil::Time> {
    let (h, m) = text.split_once(':')?;
    if m.len() != 2 || h.is_empty() || h.len() > 2 {
        return None;
    }
    let hour: i8 = h.parse().ok()?;
    let minute: i8 = m.parse().ok()?;
    jiff::civil::Time::new(hour, minute, 0, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::parse_hhmm;

    #[test]
    fn channels_default_to_every_channel_but_alertmanager() {
        let c = crate::config::load_str(
            "t.toml",
            "[[alert]]\ntype = \"discord\"\nurl = \"https://d.example/x\"\n\
             [[alert]]\ntype = \"alertmanager\"\nurl = \"http://127.0.0.1:9093\"\n\
             [[alert]]\nname = \"ops\"\ntype = \"slack\"\nurl = \"https://s.example/x\"\n\
             [summary]\nat = \"07:30\"\ntimezone = \"America/New_York\"\n",
        )
        .unwrap();
        let s = c.summary.unwrap();
        assert_eq!(s.channels, ["discord", "ops"]);
        assert_eq!(s.at, jiff::civil::time(7, 30, 0, 0));
        assert_eq!(s.tz.iana_name(), Some("America/New_York"));
    }

    #[test]
    fn at_is_a_24_hour_clock_time() {
        assert_eq!(parse_hhmm("08:00"), Some(jiff::civil::time(8, 0, 0, 0)));
        assert_eq!(parse_hhmm("8:05"), Some(jiff::civil::time(8, 5, 0, 0)));
        for bad in ["24:00", "8", "08:5", "08:60", "-1:00", "x:00"] {
            assert_eq!(parse_hhmm(bad), None, "{bad}");
        }
    }
}
