//! Sending what `plan` decided: every channel's turn at once, each on a
//! thread of its own within its own `timeout` and the run's deadline, so a
//! receiver that accepts connections and never answers costs its own
//! timeout and nothing of the other channels'. A thread still stuck at its
//! channel's deadline is abandoned (its digest waits for the next run).
//! The rules live in `plan`; this file only sends and collects answers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use super::plan::{self, AlertReport, Answer, Queued, Rules, Turn};
use crate::http::{Budget, Failure};
use crate::model::{Digest, Unit};
use crate::spec::Config;
use crate::state::State;

/// The rules for this config at `now`.
pub fn rules(config: &Config, now: jiff::Timestamp) -> Rules<'_> {
    Rules {
        alerts: &config.alerts,
        alerting: &config.alerting,
        host: &config.settings.hostname,
        quiet: config
            .alerting
            .quiet
            .as_deref()
            .and_then(|q| config.schedule(q))
            .is_some_and(|s| s.contains(now)),
    }
}

/// Deliver every channel's waiting digests (queued by `plan::enqueue`)
/// before `deadline`; digests handed to a fallback in the first round go
/// out in a second. `state` gets the new outbox and delivery state.
/// Returns a report per channel, and notes on dropped digests.
pub fn outbox(
    config: &Config,
    queued: &BTreeMap<String, Queued>,
    state: &mut State,
    now: jiff::Timestamp,
    deadline: Instant,
) -> (Vec<AlertReport>, Vec<String>) {
    let rules = rules(config, now);
    let mut notes = plan::expire(state, &rules, now);
    let (turns, waits) = plan::turns(state, &rules, now, None);
    let answers = round(config, &turns, deadline);
    let first = plan::settle(state, &rules, &turns, &answers, &waits, now);
    notes.extend(first.notes);
    let mut reports = first.reports;
    let failed: Vec<&str> = answers
        .iter()
        .filter(|a| a.failure.is_some())
        .map(|a| a.channel.as_str())
        .collect();
    let among: Vec<String> = first
        .handed
        .into_iter()
        .filter(|c| !failed.contains(&c.as_str()))
        .collect();
    if !among.is_empty() {
        let (turns, waits) = plan::turns(state, &rules, now, Some(&among));
        let waits: Vec<_> = waits
            .into_iter()
            .filter(|(c, _)| !reports.iter().any(|r| &r.channel == c))
            .collect();
        let answers = round(config, &turns, deadline);
        let second = plan::settle(state, &rules, &turns, &answers, &waits, now);
        notes.extend(second.notes);
        reports.extend(second.reports);
    }
    (plan::merge(reports, queued, &config.alerting), notes)
}

/// More than the hours of every channel a config can have.
const MARKER_LIMIT: u64 = 1024 * 1024;

/// Without a saved state: at most one message an hour per channel says so
/// (`plan::unsaved`), the hour kept in a marker outside the state directory.
pub fn unsaved(
    config: &Config,
    events: &[super::Event],
    why: &str,
    now: jiff::Timestamp,
    deadline: Instant,
) -> Vec<AlertReport> {
    let marker = marker_path(&config.settings.state_dir);
    let (mut told, distrusted) = read_marker(&marker);
    let rules = rules(config, now);
    let (turns, mut reports) = plan::unsaved(&rules, events, why, &told, now);
    let answers = round(config, &turns, deadline);
    for (turn, answer) in turns.iter().zip(&answers) {
        let events = turn.digests[0].events.len();
        let (outcome, detail) = match &answer.failure {
            None => {
                told.insert(turn.channel.clone(), now);
                (
                    "sent",
                    "the state cannot be saved: told once this hour".to_string(),
                )
            }
            Some(f) => ("failed", f.message.clone()),
        };
        reports.push(AlertReport {
            channel: turn.channel.clone(),
            outcome,
            events,
            waiting: 0,
            detail: Some(detail),
        });
    }
    let written = serde_json::to_vec(&told)
        .map_err(std::io::Error::other)
        .and_then(|bytes| {
            let dir = marker.parent().unwrap_or(Path::new("."));
            let name = marker.file_name().unwrap_or_default().to_string_lossy();
            crate::state::write_atomically(dir, &name, &bytes)
        });
    let trouble = distrusted
        .map(|why| format!("ignored {}: {why}", marker.display()))
        .into_iter()
        .chain(
            written
                .err()
                .map(|e| format!("cannot keep the hour in {}: {e}", marker.display())),
        );
    for why in trouble {
        for r in &mut reports {
            r.detail = Some(format!("{}; {why}", r.detail.take().unwrap_or_default()));
        }
    }
    reports
}

/// The hours kept in the marker, and why it was ignored if it was: a
/// marker that is not a regular file of the running user (planted in a
/// shared `$TMPDIR` by someone else) would silence these messages.
fn read_marker(marker: &Path) -> (BTreeMap<String, jiff::Timestamp>, Option<String>) {
    use std::io::Read;
    let mut options = std::fs::File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A link is not followed, a FIFO does not block: both are then
        // refused by `not_ours`, or by the open itself.
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let opened = options.open(marker).and_then(|f| Ok((f.metadata()?, f)));
    let (meta, file) = match opened {
        Ok(opened) => opened,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (BTreeMap::new(), None),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return (BTreeMap::new(), Some("it is a symbolic link".into()));
        }
        Err(e) => return (BTreeMap::new(), Some(e.to_string())),
    };
    if let Some(why) = crate::files::not_ours(&meta) {
        return (BTreeMap::new(), Some(why));
    }
    let mut bytes = Vec::new();
    let told = file
        .take(MARKER_LIMIT)
        .read_to_end(&mut bytes)
        .ok()
        .and_then(|_| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    (told, None)
}

/// The state is saved again: forget the hour of the last outage.
pub fn forget_unsaved(config: &Config) {
    let _ = std::fs::remove_file(marker_path(&config.settings.state_dir));
}

/// Where the "state cannot be saved" hour is kept: `$RUNTIME_DIRECTORY`,
/// else `$XDG_RUNTIME_DIR`, else the temp dir, named after the state
/// directory so that two configs keep their own.
pub fn marker_path(state_dir: &Path) -> PathBuf {
    let dir = ["RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR"]
        .iter()
        .filter_map(std::env::var_os)
        .find(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    // FNV-1a of the state dir: stable across runs and builds.
    let hash = state_dir
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
        });
    dir.join(format!("healthcheck-unsaved-{hash:016x}.json"))
}

/// What a channel's thread says.
enum Progress {
    Accepted,
    Failed(Failure),
    Done,
}

/// Every turn at once, each within its channel's timeout and `deadline`.
/// A turn sends its digests in order and stops at the first failure.
pub fn round(config: &Config, turns: &[Turn], deadline: Instant) -> Vec<Answer> {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel::<(usize, Progress)>();
    let mut limits = Vec::with_capacity(turns.len());
    let mut done = vec![false; turns.len()];
    for (i, turn) in turns.iter().enumerate() {
        let Some(spec) = config.alerts.iter().find(|a| a.name == turn.channel) else {
            limits.push(started);
            done[i] = true;
            continue;
        };
        let limit = deadline.min(started.checked_add(spec.timeout).unwrap_or(deadline));
        limits.push(limit);
        let channel = spec.channel.clone();
        let details = config.page.as_ref().and_then(|p| p.url.clone());
        let digests: Vec<Digest> = (turn.digests.iter().cloned())
            .map(|d| Digest {
                details: details.clone(),
                ..d
            })
            .collect();
        let tries = turn.tries;
        let to_main = tx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("alert-{}", turn.channel))
            .spawn(move || {
                for digest in &digests {
                    let budget = Budget {
                        deadline: limit,
                        tries,
                    };
                    match channel.deliver(digest, budget) {
                        Ok(()) => {
                            let _ = to_main.send((i, Progress::Accepted));
                        }
                        Err(f) => {
                            let _ = to_main.send((i, Progress::Failed(f)));
                            break;
                        }
                    }
                }
                let _ = to_main.send((i, Progress::Done));
            });
        if let Err(e) = spawned {
            let _ = tx.send((
                i,
                Progress::Failed(Failure::retry(format!("cannot start a thread: {e}"))),
            ));
            let _ = tx.send((i, Progress::Done));
        }
    }
    drop(tx);
    let mut answers: Vec<Answer> = turns
        .iter()
        .map(|t| Answer {
            channel: t.channel.clone(),
            accepted: 0,
            failure: None,
        })
        .collect();
    while let Some(wait_until) = (0..turns.len())
        .filter(|i| !done[*i])
        .map(|i| limits[i])
        .max()
    {
        let Ok((i, progress)) =
            rx.recv_timeout(wait_until.saturating_duration_since(Instant::now()))
        else {
            break;
        };
        match progress {
            Progress::Accepted => answers[i].accepted += 1,
            Progress::Failed(f) => answers[i].failure = Some(f),
            Progress::Done => done[i] = true,
        }
        // Channels past their limit are given up on.
        for j in 0..turns.len() {
            if !done[j] && Instant::now() >= limits[j] {
                done[j] = true;
            }
        }
    }
    for (i, answer) in answers.iter_mut().enumerate() {
        let unfinished = answer.failure.is_none() && answer.accepted < turns[i].digests.len();
        if unfinished {
            let timeout = limits[i].saturating_duration_since(started);
            answer.failure = Some(Failure::retry(format!(
                "no answer within {}",
                Unit::Seconds.show(timeout.as_secs_f64())
            )));
        }
    }
    answers
}
