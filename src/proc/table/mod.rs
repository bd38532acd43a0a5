//! The process table, as the `process` check and restarts need it: every
//! process with its command line, and for the ones asked about their state,
//! parent, session, memory, CPU time and start time. Linux reads /proc
//! directly (`linux.rs`: measured ~10x faster than sysinfo, see there);
//! other systems, Windows among them, ask sysinfo (`portable.rs`).
//!
//! healthcheck itself and its children never count as matches: they run at
//! the same time as the check (a `command` check's child may well match).

use std::collections::HashMap;
use std::sync::OnceLock;

use anyhow::anyhow;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(not(target_os = "linux"))]
mod portable;

#[cfg(target_os = "linux")]
pub use linux::Table;
#[cfg(not(target_os = "linux"))]
pub use portable::Table;

/// Pids named in a message before "and N more".
const PIDS_SHOWN: usize = 10;
/// Ancestors followed when looking for healthcheck above a process.
const MAX_DEPTH: usize = 256;

/// What `stat` tells about one process.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    pub parent: u32,
    /// The session; a process healthcheck started in a session of its own
    /// (a restarted bot) is not one of its children for counting.
    pub session: u32,
    /// The state letter as ps shows it: R, S, D, T, t, Z...
    pub state: char,
    pub rss: u64,
    /// User + system CPU time, in milliseconds.
    pub cpu_ms: u64,
    /// When it started, in the system's own unit; tells a reused pid apart.
    pub start: u64,
}

/// The command lines of the process table, and why it may be incomplete.
pub struct Listing {
    pub lines: Vec<(u32, String)>,
    /// Why some processes could not be seen or read, when some could not.
    pub blind: Option<String>,
}

/// The command lines of one scan of the table, made when a check of the
/// run first asks and shared by every `process` check of that run: a scan
/// reads a file or two of every process (tens of milliseconds with a few
/// thousand), and each check would otherwise make its own. A run's checks
/// also judge the same table. A restart's verification runs its checks
/// again with a scan of its own, made after the restart.
#[derive(Default)]
pub struct Scan {
    listing: OnceLock<Result<Listing, String>>,
}

impl Scan {
    /// The listing, scanned on the first call.
    pub fn listing(&self, table: &Table) -> anyhow::Result<&Listing> {
        self.listing
            .get_or_init(|| table.listing().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| anyhow!("{e}"))
    }
}

/// "12, 40, 41", or "1, 2, ... 10 and 5 more".
pub fn list(pids: &[u32]) -> String {
    let shown: Vec<String> = pids.iter().take(PIDS_SHOWN).map(u32::to_string).collect();
    match pids.len().saturating_sub(PIDS_SHOWN) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// The pids whose full command line matches `pattern` (and that run as
/// `user`, when given), healthcheck itself and its children excepted (the
/// processes a restart must stop).
/// When some processes cannot be seen, a match among them cannot be ruled
/// out: that is an error, so that a restart never starts a second copy.
pub fn matching_pids(pattern: &regex::Regex, user: Option<u32>) -> anyhow::Result<Vec<u32>> {
    let table = Table::read()?;
    let (candidates, blind) = table.matching(&table.listing()?, pattern, user);
    if let Some(why) = blind {
        return Err(anyhow!(
            "{why}: cannot rule out that /{}/ already runs",
            pattern.as_str()
        ));
    }
    Ok(table
        .not_ours(candidates)
        .into_iter()
        .map(|(pid, _)| pid)
        .collect())
}

impl Table {
    /// The pids of `listing` whose command line matches and that run as
    /// `user` (any user when None), and why some processes could not be
    /// looked at, if any could not (a match whose user cannot be read
    /// among them).
    pub fn matching(
        &self,
        listing: &Listing,
        pattern: &regex::Regex,
        user: Option<u32>,
    ) -> (Vec<u32>, Option<String>) {
        let mut unknown = Vec::new();
        let pids = listing
            .lines
            .iter()
            .filter(|(_, cmd)| pattern.is_match(cmd))
            .map(|(pid, _)| *pid)
            .filter(|pid| match user.map(|uid| (uid, self.uid(*pid))) {
                None => true,
                Some((uid, Ok(owner))) => owner == uid,
                Some((_, Err(gone))) => {
                    if !gone {
                        unknown.push(*pid);
                    }
                    false
                }
            })
            .collect();
        let unknown = (!unknown.is_empty()).then(|| {
            format!(
                "the user of {} matching process(es) cannot be read (pids {})",
                unknown.len(),
                list(&unknown)
            )
        });
        let blind = match (listing.blind.clone(), unknown) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        (pids, blind)
    }

    /// The candidates that still run, with their stat, without healthcheck
    /// and its children. A child in a session of its own (a bot that a
    /// restart started) is not healthcheck's and counts.
    pub fn not_ours(&self, candidates: Vec<u32>) -> Vec<(u32, Stat)> {
        let mut seen = HashMap::new();
        candidates
            .into_iter()
            .filter_map(|pid| self.stat(pid).map(|s| (pid, s)))
            .filter(|(pid, stat)| !is_ours(self, &mut seen, *pid, *stat))
            .collect()
    }
}

/// Whether `pid` is healthcheck itself or a descendant of it, following
/// parents up, and stopping at a process started apart (`super::spawn_detached`).
/// `seen` caches what was looked up.
fn is_ours(table: &Table, seen: &mut HashMap<u32, Option<Stat>>, pid: u32, stat: Stat) -> bool {
    let me = std::process::id();
    let (mut current, mut stat) = (pid, stat);
    for _ in 0..MAX_DEPTH {
        if current == me {
            return true;
        }
        if super::platform::apart(current, stat.session) || current <= 1 || stat.parent == 0 {
            return false;
        }
        current = stat.parent;
        let next = *seen.entry(current).or_insert_with(|| table.stat(current));
        match next {
            Some(s) => stat = s,
            None => return false,
        }
    }
    false
}
