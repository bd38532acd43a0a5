//! What one run adds to the history, pure: each check's status and primary
//! reading, and the tallies, incidents and status changes this run made
//! (compared with the state it started from, so a steady run adds only
//! its samples).

use std::collections::HashMap;

use super::store::{Change, Record, Sample};
use crate::report::Report;
use crate::spec::Config;
use crate::state::State;

/// The record of a run that went from `before` to `next` and reported `report`.
pub fn of_run(config: &Config, before: &State, next: &State, report: &Report) -> Record {
    let ran = report.checks.iter().filter(|c| !c.is_skipped());
    let judged_of: HashMap<&str, Option<&str>> = config
        .checks
        .iter()
        .map(|s| (s.name.as_str(), s.judged.as_deref()))
        .collect();
    let samples = ran
        .clone()
        .map(|c| {
            let judged = judged_of.get(c.name.as_str()).copied().flatten();
            let primary = judged
                .and_then(|name| c.readings.iter().find(|r| r.name == name))
                .or(c.readings.first());
            Sample {
                check: c.name.clone(),
                status: c.status,
                reading: primary.map(|r| (r.name.clone(), r.unit, r.value)),
            }
        })
        .collect();
    let changes = ran
        .filter(|c| before.checks.get(&c.name).map(|s| s.status) != Some(c.status))
        .map(|c| Change {
            at: report.started_at,
            check: c.name.clone(),
            status: c.status,
            message: c.message.clone(),
        })
        .collect();
    let tallies = next
        .daily
        .hours
        .iter()
        .filter(|t| !before.daily.hours.contains(t))
        .cloned()
        .collect();
    let incidents = next
        .daily
        .incidents
        .iter()
        .filter(|i| !before.daily.incidents.contains(i))
        .cloned()
        .collect();
    Record {
        samples,
        tallies,
        incidents,
        changes,
    }
}
