//! Schedules: when a check means something (market hours), and when
//! non-critical alerts should wait (nights). A window is a set of week
//! days, a time range in a time zone (DST handled by the time zone
//! database), and dates left out (holidays). A range whose end is before
//! its start runs past midnight ("22:00-06:00").

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::Deserialize;

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub days: Option<Vec<String>>,
    pub hours: Option<String>,
    pub timezone: Option<String>,
    pub except: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    /// Monday first.
    days: [bool; 7],
    /// Seconds after midnight; `end` may be 86400 ("24:00").
    start: i32,
    end: i32,
    tz: TimeZone,
    except: Vec<Date>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(w: Weekday) -> usize {
    w.to_monday_zero_offset() as usize
}

impl Schedule {
    /// Build from the raw table; `Err` names the key and the problem.
    pub fn compile(name: &str, raw: RawSchedule) -> Result<Schedule, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let mut days = [raw.days.is_none(); 7];
        for d in raw.days.iter().flatten() {
            match DAYS
                .iter()
                .position(|x| x.eq_ignore_ascii_case(d.get(..3).unwrap_or(d)))
            {
                Some(i) => days[i] = true,
                None => errors.push((
                    "days",
                    format!("unknown day \"{d}\" (use mon, tue, wed, thu, fri, sat, sun)"),
                )),
            }
        }
        let (start, end) = match raw.hours.as_deref() {
            None => (0, 86_400),
            Some(text) => match parse_hours(text) {
                Some(range) => range,
                None => {
                    errors.push((
                        "hours",
                        format!("invalid hours \"{text}\" (write e.g. \"09:30-16:00\")"),
                    ));
                    (0, 86_400)
                }
            },
        };
        let tz = match raw.timezone.as_deref() {
            None => TimeZone::system(),
            Some(tz) => TimeZone::get(tz).unwrap_or_else(|e| {
                errors.push(("timezone", format!("unknown time zone \"{tz}\": {e}")));
                TimeZone::UTC
            }),
        };
        let mut except = Vec::new();
        for d in raw.except.iter().flatten() {
            match d.parse::<Date>() {
                Ok(date) => except.push(date),
                Err(_) => errors.push((
                    "except",
                    format!("invalid date \"{d}\" (write e.g. \"2026-12-25\")"),
                )),
            }
        }
        if errors.is_empty() {
            Ok(Schedule {
                name: name.to_string(),
                days,
                start,
                end,
                tz,
                except,
            })
        } else {
            Err(errors)
        }
    }

    /// Is `now` inside the window?
    pub fn contains(&self, now: jiff::Timestamp) -> bool {
        let local = now.to_zoned(self.tz.clone());
        let date = local.date();
        let t = local.time();
        let secs = i32::from(t.hour()) * 3600 + i32::from(t.minute()) * 60 + i32::from(t.second());
        let open_on = |d: Date| self.days[day_index(d.weekday())] && !self.except.contains(&d);
        if self.start <= self.end {
            open_on(date) && self.start <= secs && secs < self.end
        } else {
            // Past midnight: tonight's window, or the one that opened yesterday.
            (open_on(date) && secs >= self.start)
                || (date.yesterday().is_ok_and(open_on) && secs < self.end)
        }
    }
}

/// "09:30-16:00" -> seconds after midnight; "24:00" is the end of the day.
fn parse_hours(text: &str) -> Option<(i32, i32)> {
    let (a, b) = text.split_once('-')?;
    let secs = |s: &str| -> Option<i32> {
        let (h, m) = s.trim().split_once(':')?;
        let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
        ((0..=23).contains(&h) && (0..=59).contains(&m) || (h == 24 && m == 0))
            .then_some(h * 3600 + m * 60)
    };
    let (start, end) = (secs(a)?, secs(b)?);
    (start != end && start < 86_400).then_some((start, end))
}

/// "14:32 UTC"
pub fn hhmm(t: jiff::Timestamp) -> String {
    t.strftime("%H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market() -> Schedule {
        Schedule::compile(
            "us-market",
            RawSchedule {
                days: Some(
                    ["mon", "tue", "wed", "thu", "fri"]
                        .map(String::from)
                        .to_vec(),
                ),
                hours: Some("09:30-16:00".into()),
                timezone: Some("America/New_York".into()),
                except: Some(vec!["2026-11-26".into()]),
            },
        )
        .unwrap()
    }

    #[track_caller]
    fn case(s: &Schedule, utc: &str, expected: bool) {
        assert_eq!(s.contains(utc.parse().unwrap()), expected, "{utc}");
    }

    #[test]
    fn market_hours_in_new_york_across_dst() {
        let m = market();
        // Summer (EDT, UTC-4): 09:30 New York is 13:30 UTC.
        case(&m, "2026-07-15T13:29:00Z", false);
        case(&m, "2026-07-15T13:30:00Z", true);
        case(&m, "2026-07-15T19:59:00Z", true);
        case(&m, "2026-07-15T20:00:00Z", false);
        // Winter (EST, UTC-5): 09:30 New York is 14:30 UTC.
        case(&m, "2026-11-23T13:30:00Z", false);
        case(&m, "2026-11-23T14:30:00Z", true);
        // Weekend and the Thanksgiving holiday.
        case(&m, "2026-11-21T15:00:00Z", false);
        case(&m, "2026-11-26T15:00:00Z", false);
        case(&m, "2026-11-27T15:00:00Z", true);
    }

    #[test]
    fn a_night_window_runs_past_midnight() {
        let night = Schedule::compile(
            "night",
            RawSchedule {
                days: Some(vec!["fri".into()]),
                hours: Some("22:00-06:00".into()),
                timezone: Some("UTC".into()),
                except: None,
            },
        )
        .unwrap();
        case(&night, "2026-11-20T21:59:00Z", false);
        case(&night, "2026-11-20T22:00:00Z", true);
        case(&night, "2026-11-21T05:59:00Z", true);
        case(&night, "2026-11-21T06:00:00Z", false);
        case(&night, "2026-11-21T23:00:00Z", false);
    }

    #[test]
    fn bad_tables_name_their_key() {
        let e = Schedule::compile(
            "x",
            RawSchedule {
                days: Some(vec!["funday".into()]),
                hours: Some("9-5".into()),
                timezone: Some("Mars/Olympus".into()),
                except: Some(vec!["someday".into()]),
            },
        )
        .unwrap_err();
        let keys: Vec<&str> = e.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["days", "hours", "timezone", "except"]);
        assert_eq!(parse_hours("00:00-24:00"), Some((0, 86_400)));
        assert_eq!(parse_hours("10:00-10:00"), None);
    }
}
