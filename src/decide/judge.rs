//! Thresholds and the severity cap turn a probe's outcome into a status.
//! A threshold on a reading the probe did not take is UNKNOWN (it cannot be
//! judged), and a target stopped on purpose whose service says
//! `when_stopped = "leave"` is a WARNING that asks for no restart.
//! A judged reading that is not a finite number is UNKNOWN, never judged.

use super::Judged;
use crate::model::{Outcome, Status};
use crate::spec::CheckSpec;

/// Apply thresholds to the judged reading and the `severity` cap. The
/// judged reading may come once per row (`until[MAIN_DATA]`,
/// `until[TRADER]`): every reading of its family is judged, and a breach
/// names the row.
pub fn judge(spec: &CheckSpec, outcome: Outcome) -> Judged {
    let mut status = outcome.status;
    let mut message = outcome.message;
    let judged_name = spec.judged.as_deref();
    let thresholds = if outcome.warming_up {
        spec.thresholds.upper_only()
    } else {
        spec.thresholds
    };
    let mut readings = Vec::with_capacity(outcome.readings.len());
    for reading in outcome.readings {
        let is_judged =
            Some(reading.name.as_str()) == judged_name || Some(reading.family()) == judged_name;
        let limits = (is_judged && !thresholds.is_empty()).then_some(thresholds);
        if limits.is_some() && !reading.value.is_finite() {
            // NaN compares false with every limit: it would pass them all.
            status = status.max(Status::Unknown);
            message = format!("{message} (not a number: {})", reading.value);
        } else if let Some(breach) = limits.and_then(|t| t.judge(reading.value)) {
            status = status.max(breach.status);
            let row = match reading.label() {
                Some(label) if Some(reading.name.as_str()) != judged_name => format!("{label} "),
                _ => String::new(),
            };
            message = format!(
                "{message} ({row}{} {})",
                breach.word,
                reading.unit.show(breach.limit)
            );
        }
        readings.push((reading, limits));
    }
    if status == Status::Ok
        && !outcome.warming_up
        && !thresholds.is_empty()
        && let Some(name) = judged_name
        && !readings
            .iter()
            .any(|(r, _)| r.name == name || r.family() == name)
    {
        let why = outcome.absent.iter().find(|(n, _)| *n == name).map_or_else(
            || "the check did not report it".to_string(),
            |(_, w)| w.clone(),
        );
        status = Status::Unknown;
        message = format!("no {name} reading to judge: {why} ({message})");
    }
    let left_alone = outcome.stopped_on_purpose && spec.leave_stopped && status == Status::Critical;
    if left_alone {
        status = Status::Warning;
        message = format!("{message}: stopped (not failed); left alone");
    }
    if spec.cap == Some(Status::Warning) && status == Status::Critical {
        status = Status::Warning;
    }
    Judged {
        status,
        message,
        readings,
        memory: outcome.memory,
        left_alone,
    }
}
