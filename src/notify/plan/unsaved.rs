//! `unsaved`: without a state to remember what was told, at most one
//! message an hour per channel says so.

use std::collections::BTreeMap;

use super::{AlertReport, Rules, Turn, UNSAVED_EVERY, for_channel, redacted};
use crate::model::{Digest, Event, EventKind, Status};
use crate::notify::reaches;
use crate::schedule::hhmm;

/// Without a saved state: the turns that tell each channel that takes
/// warnings (this is healthcheck's own UNKNOWN), at most once an hour (`last_told` comes from the marker outside the state), that the
/// state cannot be saved and what that means, with this run's news.
/// Channels told within the hour get a report instead.
pub fn unsaved(
    rules: &Rules,
    events: &[Event],
    why: &str,
    last_told: &BTreeMap<String, jiff::Timestamp>,
    now: jiff::Timestamp,
) -> (Vec<Turn>, Vec<AlertReport>) {
    let mut turns = Vec::new();
    let mut reports = Vec::new();
    for alert in rules
        .alerts
        .iter()
        .filter(|a| reaches(Status::Unknown, a.min_severity))
    {
        let wanted = for_channel(events, alert);
        if let Some(at) = last_told.get(&alert.name).map(|t| (*t).min(now))
            && !crate::model::timer::passed(UNSAVED_EVERY, at, now)
        {
            reports.push(AlertReport {
                channel: alert.name.clone(),
                outcome: "suppressed",
                events: wanted.len(),
                waiting: 0,
                detail: Some(format!(
                    "the state cannot be saved, so this channel hears at most once an hour (last at {})",
                    hhmm(at)
                )),
            });
            continue;
        }
        let mut told = vec![Event {
            kind: EventKind::Trouble,
            subject: "healthcheck".into(),
            status: Status::Unknown,
            message: format!(
                "the state cannot be saved ({why}): healthcheck cannot remember what it told you, so until this is fixed each channel gets at most one message an hour (this one), and no restarts run"
            ),
            hint: None,
        }];
        told.extend(
            wanted
                .into_iter()
                .filter(|e| e.kind != EventKind::Trouble)
                .map(redacted),
        );
        turns.push(Turn {
            channel: alert.name.clone(),
            digests: vec![Digest {
                host: rules.host.to_string(),
                at: now,
                events: told,
                held_back: Vec::new(),
                still_failing: Vec::new(),
                suppressed: 0,
                on_behalf_of: None,
                details: None,
            }],
            tries: crate::spec::channel::MAX_ATTEMPTS,
            notice: false,
        });
    }
    (turns, reports)
}
