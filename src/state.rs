//! The small JSON memory between runs (SPEC 8): per-check status history,
//! what checks asked to remember, the last run time. Loading never fails a
//! run: a broken file is moved aside and the run starts fresh; when it
//! cannot be moved aside it is kept, and the store refuses to save over it
//! for the rest of the run. A FIFO or device is never opened blocking, and
//! an oversized file never read. Saving is
//! atomic (temp file, fsync, rename), so a run killed at any instant leaves
//! the old file or the new one, never a mix; a save that guards an action
//! (a restart, a delivery, a user's command) also fsyncs the directory, so
//! the rename itself survives a power cut. A run's own bookkeeping skips
//! that second fsync, and skips the write when the file already holds it
//! (an SD card is not rewritten every minute for nothing). One run at a
//! time holds `healthcheck.lock`; the OS drops the lock when a run dies.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::model::{Status, Target};

pub const VERSION: u32 = 1;
const FILE: &str = "state.json";
const LOCK: &str = "healthcheck.lock";
const TEMP_PREFIX: &str = ".state.json.tmp-";
const CORRUPT_PREFIX: &str = "state.json.corrupt-";
/// A state file larger than this is not trusted (SPEC 8).
const MAX_SIZE: u64 = 16 * 1024 * 1024;
const CORRUPT_KEPT: usize = 3;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct State {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<jiff::Timestamp>,
    #[serde(default)]
    pub checks: BTreeMap<String, CheckState>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, ServiceState>,
    /// Muted checks by name; `*` mutes all.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub silences: BTreeMap<String, Silence>,
    /// When the state last started from nothing because the file was broken:
    /// automatic restarts are held for one window after it (SPEC 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_at: Option<jiff::Timestamp>,
    /// Digests waiting for their channel, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<Pending>,
    /// Per channel: when digests were delivered in the last hour, and how
    /// many events `max_per_hour` held back since the last delivery.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deliveries: BTreeMap<String, Deliveries>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Deliveries {
    #[serde(default)]
    pub sent: Vec<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub suppressed: u32,
    /// The channel has been failing since then (absent: it works).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<jiff::Timestamp>,
    /// When it was last tried while failing (its backoff counts from there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_try: Option<jiff::Timestamp>,
    /// Its receiver asked not to be tried before then (429 `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<jiff::Timestamp>,
    /// Digests its fallback took while it failed, not yet told to it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub handed_over: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handed_to: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Default for State {
    fn default() -> State {
        State {
            version: VERSION,
            last_run: None,
            checks: BTreeMap::new(),
            services: BTreeMap::new(),
            silences: BTreeMap::new(),
            reset_at: None,
            outbox: Vec::new(),
            deliveries: BTreeMap::new(),
        }
    }
}

/// A service's restart history.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct ServiceState {
    /// When each restart was started (recorded before it ran), oldest first.
    #[serde(default)]
    pub restarts: Vec<jiff::Timestamp>,
    /// The suspension was announced (one event per suspension).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// Restarts ever recorded (`healthcheck_restarts_total`).
    #[serde(default)]
    pub total: u64,
}

/// An announced problem.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct Notified {
    pub status: Status,
    pub at: jiff::Timestamp,
}

/// A digest not yet accepted by its channel.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Pending {
    pub channel: String,
    pub digest: crate::model::Digest,
    /// Non-critical events held during the quiet schedule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quiet: bool,
    /// Queued by this run: this run's later news joins it (one digest per
    /// channel per run). Never saved: to the next run it is old.
    #[serde(skip)]
    pub fresh: bool,
}

/// A silence: alerts and actions muted until `until`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Silence {
    pub until: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl State {
    /// Count an action that is about to run in its budget: a restart in its
    /// service's history, a recovery command in its check's.
    pub fn record(&mut self, target: &Target, now: jiff::Timestamp) {
        match target {
            Target::Restart(name) => {
                let service = self.services.entry(name.clone()).or_default();
                service.restarts.push(now);
                service.total += 1;
            }
            Target::Recover(check) => {
                if let Some(c) = self.checks.get_mut(check) {
                    c.runs.push(now);
                }
            }
        }
    }

    /// Is this check muted at `now` (by its own silence or `--all`)?
    pub fn silenced(&self, check: &str, now: jiff::Timestamp) -> Option<&Silence> {
        [check, ALL]
            .iter()
            .filter_map(|k| self.silences.get(*k))
            .find(|s| s.until > now)
    }
}

/// The silence key that mutes every check.
pub const ALL: &str = "*";

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct CheckState {
    pub status: Status,
    /// When the check entered `status`.
    pub since: jiff::Timestamp,
    /// Consecutive runs that were not OK (0 when OK).
    pub consecutive: u32,
    /// When this check's recovery command (`run`) was started, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<jiff::Timestamp>,
    /// The problem last announced, and when (for reminders and recoveries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified: Option<Notified>,
    /// The statuses of the last runs, newest last (flapping).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Status>,
    /// Its alerts are folded into one flapping notice until it settles.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flapping: bool,
    /// What the check asked to remember for its next run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<serde_json::Value>,
    /// What the last run said of it (`healthcheck status`), redacted on save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What loading found besides the state itself.
#[derive(Debug, Default)]
pub struct Loaded {
    pub state: State,
    /// A broken file was moved aside: say so (WARNING).
    pub quarantined: Option<String>,
    /// The file was written by a newer healthcheck: never overwrite it.
    pub newer_version: Option<u32>,
}

/// Why a run could not get the state directory.
#[derive(Debug)]
pub enum OpenError {
    /// Another run holds the lock past our deadline.
    Busy,
    /// The directory or lock file cannot be created or opened.
    Io(PathBuf, io::Error),
    /// Running as root, the directory is writable by others.
    Unsafe(PathBuf, String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Busy => write!(
                f,
                "another healthcheck run is in progress (lock held past the deadline)"
            ),
            OpenError::Io(p, e) => write!(f, "state directory {}: {e}", p.display()),
            OpenError::Unsafe(p, why) => {
                write!(f, "refusing to use {} as root: {why}", p.display())
            }
        }
    }
}

/// The state directory of this run, locked for it.
pub struct Store {
    dir: PathBuf,
    /// Held for the life of the run; closing it releases the lock.
    _lock: Option<File>,
    /// Why the state file must not be overwritten this run: it is broken
    /// and could not be moved aside.
    kept: OnceLock<String>,
    /// What the state file holds, as loaded or last saved by this run
    /// (`None`: unknown, missing or unusable).
    on_disk: Mutex<Option<State>>,
}

/// How a run's save may be spared (`Store::save_run`).
#[derive(Clone, Copy, Debug)]
pub enum Save {
    /// An action follows that the save must survive: write and fsync the
    /// file and the directory.
    Durable,
    /// The run's bookkeeping: written and fsynced only when it differs from
    /// the file, and not when only `last_run` moved and the file's
    /// `last_run` is younger than the given span (if any); no directory fsync (the
    /// filesystem commits the rename within seconds; a power cut before
    /// that leaves the previous state, which the next run builds on).
    Bookkeeping(Option<Duration>),
}

impl Store {
    /// Lock `dir` (creating it), waiting for another run until `wait_until`.
    pub fn open(dir: &Path, wait_until: Instant) -> Result<Store, OpenError> {
        create_private_dir(dir).map_err(|e| OpenError::Io(dir.to_path_buf(), e))?;
        let meta = fs::metadata(dir).map_err(|e| OpenError::Io(dir.to_path_buf(), e))?;
        if let Some(why) = crate::files::unsafe_for_root(&meta) {
            return Err(OpenError::Unsafe(dir.to_path_buf(), why));
        }
        let file = dir.join(FILE);
        if let Ok(meta) = fs::symlink_metadata(&file)
            && let Some(why) = crate::files::unsafe_for_root(&meta)
        {
            return Err(OpenError::Unsafe(file, why));
        }
        let path = dir.join(LOCK);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| OpenError::Io(path.clone(), e))?;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if Instant::now() < wait_until => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => return Err(OpenError::Busy),
                Err(fs::TryLockError::Error(e)) => return Err(OpenError::Io(path, e)),
            }
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            _lock: Some(lock),
            kept: OnceLock::new(),
            on_disk: Mutex::new(None),
        })
    }

    /// Read-only access for `--dry-run` and inspection: no directory is
    /// created, no lock taken, nothing written.
    pub fn read_only(dir: &Path) -> Store {
        Store {
            dir: dir.to_path_buf(),
            _lock: None,
            kept: OnceLock::new(),
            on_disk: Mutex::new(None),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// Load the state; a corrupt, empty or oversized file is moved aside
    /// (when the store is writable) and the run starts from empty state.
    pub fn load(&self, now: jiff::Timestamp) -> Loaded {
        let path = self.file();
        let problem = match read_bounded(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Loaded::default(),
            Err(e) => format!("cannot read it: {e}"),
            Ok(Err(problem)) => problem,
            Ok(Ok(bytes)) => match parse(&bytes) {
                Ok(Parsed::Current(state)) => {
                    *self.on_disk() = Some(state.clone());
                    return Loaded {
                        state,
                        ..Loaded::default()
                    };
                }
                Ok(Parsed::Newer(v)) => {
                    return Loaded {
                        newer_version: Some(v),
                        ..Loaded::default()
                    };
                }
                Err(e) => format!("it is not valid state JSON: {e}"),
            },
        };
        let moved = if self._lock.is_some() {
            Some(self.quarantine(&path, now))
        } else {
            None
        };
        let message = match moved {
            Some(Ok(to)) => format!(
                "state file {} was unusable ({problem}); moved it to {} and started fresh",
                path.display(),
                to.display()
            ),
            Some(Err(e)) => {
                let _ = self.kept.set(format!(
                    "the unusable state file {} could not be moved aside ({e}); it is kept as it is",
                    path.display()
                ));
                format!(
                    "state file {} is unusable ({problem}) and could not be moved aside ({e}); \
                     it is kept, this run starts from empty state and saves nothing",
                    path.display()
                )
            }
            None => format!(
                "state file {} is unusable ({problem}); starting from empty state",
                path.display()
            ),
        };
        Loaded {
            state: State {
                reset_at: Some(now),
                ..State::default()
            },
            quarantined: Some(message),
            ..Loaded::default()
        }
    }

    fn quarantine(&self, path: &Path, now: jiff::Timestamp) -> io::Result<PathBuf> {
        let stamp = now.strftime("%Y%m%dT%H%M%S%.fZ").to_string();
        let to = self.dir.join(format!("{CORRUPT_PREFIX}{stamp}"));
        fs::rename(path, &to)?;
        let mut old: Vec<PathBuf> = list_with_prefix(&self.dir, CORRUPT_PREFIX);
        old.sort();
        let excess = old.len().saturating_sub(CORRUPT_KEPT);
        for p in &old[..excess] {
            let _ = fs::remove_file(p);
        }
        Ok(to)
    }

    fn on_disk(&self) -> std::sync::MutexGuard<'_, Option<State>> {
        self.on_disk.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replace state.json atomically and durably. Stray temp files of
    /// killed runs go first. Refused when a broken state file could not be
    /// moved aside.
    pub fn save(&self, state: &State) -> io::Result<()> {
        self.save_run(state, Save::Durable)
    }

    /// Save as `how` says; `Ok` also when nothing needed writing.
    pub fn save_run(&self, state: &State, how: Save) -> io::Result<()> {
        if let Some(why) = self.kept.get() {
            return Err(io::Error::other(why.clone()));
        }
        let sync_dir = match how {
            Save::Durable => true,
            Save::Bookkeeping(keep) => {
                if self
                    .on_disk()
                    .as_ref()
                    .is_some_and(|disk| holds(disk, state, keep))
                {
                    return Ok(());
                }
                false
            }
        };
        for stray in list_with_prefix(&self.dir, TEMP_PREFIX) {
            let _ = fs::remove_file(stray);
        }
        // Every sink is redacted, the state too: a secret that reached a
        // check's memory or message is never written down.
        let json = serde_json::to_string_pretty(state).map_err(io::Error::other)?;
        let json = crate::secret::redact(&json) + "\n";
        replace(&self.dir, FILE, json.as_bytes(), true, sync_dir)?;
        *self.on_disk() = Some(state.clone());
        Ok(())
    }
}

/// Whether the file's `disk` state may stand for `state`: equal, or equal
/// but for a `last_run` that moved forward less than `keep` past the file's.
fn holds(disk: &State, state: &State, keep: Option<Duration>) -> bool {
    if disk == state {
        return true;
    }
    let (Some(keep), Some(was), Some(now)) = (keep, disk.last_run, state.last_run) else {
        return false;
    };
    let fresh = now
        .duration_since(was)
        .try_into()
        .is_ok_and(|moved: Duration| moved < keep);
    fresh
        && *disk
            == State {
                last_run: disk.last_run,
                ..state.clone()
            }
}

/// The bytes of the state file, or why it is unusable without reading it:
/// not a regular file (opened non-blocking, a FIFO cannot hang the run),
/// empty, or over `MAX_SIZE` (a sparse 1 GB file is never read).
fn read_bounded(path: &Path) -> io::Result<Result<Vec<u8>, String>> {
    use std::io::Read;
    let mut options = File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if let Some(why) = crate::files::not_regular_file(&meta) {
        return Ok(Err(format!("it is {why}, not a regular file")));
    }
    if meta.len() > MAX_SIZE {
        return Ok(Err(format!(
            "it is {} bytes, over the 16 MiB limit",
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SIZE + 1).read_to_end(&mut bytes)?;
    Ok(match bytes.len() as u64 {
        0 => Err("it is empty".to_string()),
        n if n > MAX_SIZE => Err("it grew over the 16 MiB limit while read".to_string()),
        _ => Ok(bytes),
    })
}

enum Parsed {
    Current(State),
    Newer(u32),
}

/// Only the version, read first: a newer file is never parsed as ours.
#[derive(Deserialize)]
struct Version {
    version: Option<serde_json::Number>,
}

/// Two passes over the bytes (the version, then the state) cost less than
/// building a `serde_json::Value` tree and converting it.
fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let found: Version = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let version = found
        .version
        .and_then(|v| v.as_u64())
        .ok_or("no \"version\" number")?;
    if version > u64::from(VERSION) {
        return Ok(Parsed::Newer(u32::try_from(version).unwrap_or(u32::MAX)));
    }
    serde_json::from_slice(bytes)
        .map(Parsed::Current)
        .map_err(|e| e.to_string())
}

fn list_with_prefix(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect()
}

/// Create `dir` (and parents) readable only by its owner.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Write `dir/name` so that readers see the old content or the new, never a
/// mix: a temp file in the same directory, fsync, rename over, fsync dir.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    replace(dir, name, bytes, true, true)
}

/// Write `dir/name` through a temp file renamed over it, without fsync: for
/// files that the next run writes again (the reports). Readers see the old
/// content or the new; a power cut may lose the newest file.
pub fn write_unsynced(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    replace(dir, name, bytes, false, false)
}

/// A temp file in `dir`, written (fsynced when `sync_file`), renamed over
/// `name`, then the directory fsynced when `sync_dir`.
fn replace(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    sync_file: bool,
    sync_dir: bool,
) -> io::Result<()> {
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        f.write_all(bytes)?;
        if sync_file {
            f.sync_all()?;
        }
        fs::rename(&temp, dir.join(name))?;
        if sync_dir {
            fsync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Make a rename in `dir` durable. Windows cannot open a directory as a
/// file; NTFS journals the rename itself.
#[cfg(unix)]
fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(windows)]
fn fsync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> jiff::Timestamp {
        "2026-11-22T05:00:00Z".parse().unwrap()
    }

    fn store(dir: &Path) -> Store {
        Store::open(dir, Instant::now()).unwrap()
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let mut state = State {
            last_run: Some(now()),
            reset_at: Some(now()),
            ..State::default()
        };
        state.services.insert(
            "bot".into(),
            ServiceState {
                restarts: vec![now()],
                suspended: true,
                total: 7,
            },
        );
        state.silences.insert(
            ALL.into(),
            Silence {
                until: now(),
                reason: Some("deploy".into()),
            },
        );
        state.checks.insert(
            "disk".into(),
            CheckState {
                status: Status::Warning,
                since: now(),
                consecutive: 2,
                runs: vec![now()],
                notified: Some(Notified {
                    status: Status::Warning,
                    at: now(),
                }),
                history: vec![Status::Ok, Status::Warning],
                flapping: true,
                memory: Some(serde_json::json!({"a": 1})),
                message: Some("used 91% of /".into()),
            },
        );
        s.save(&state).unwrap();
        let loaded = s.load(now());
        assert_eq!(loaded.state, state);
        assert!(loaded.quarantined.is_none());
        assert!(list_with_prefix(dir.path(), TEMP_PREFIX).is_empty());
    }

    #[test]
    fn corrupt_empty_and_oversized_files_are_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        for (i, content) in [
            b"{not json".to_vec(),
            Vec::new(),
            vec![b' '; (MAX_SIZE + 1) as usize],
        ]
        .into_iter()
        .enumerate()
        {
            fs::write(dir.path().join(FILE), &content).unwrap();
            let at = now() + jiff::SignedDuration::from_secs(i as i64);
            let loaded = s.load(at);
            // Fresh state, remembering when it was reset (restarts wait a window).
            assert_eq!(
                loaded.state,
                State {
                    reset_at: Some(at),
                    ..State::default()
                }
            );
            assert!(loaded.quarantined.unwrap().contains("moved it to"));
            assert!(!dir.path().join(FILE).exists());
        }
        // Each quarantine has its own timestamp; at most three are kept.
        fs::write(dir.path().join(FILE), b"[]").unwrap();
        let _ = s.load(jiff::Timestamp::now());
        assert_eq!(
            list_with_prefix(dir.path(), CORRUPT_PREFIX).len(),
            CORRUPT_KEPT
        );
    }

    #[test]
    fn a_newer_version_is_reported_not_parsed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE), br#"{"version": 7, "whatever": []}"#).unwrap();
        let loaded = store(dir.path()).load(now());
        assert_eq!(loaded.newer_version, Some(7));
        assert!(dir.path().join(FILE).exists());
    }

    #[test]
    fn a_second_store_waits_then_reports_busy() {
        let dir = tempfile::tempdir().unwrap();
        let _first = store(dir.path());
        let started = Instant::now();
        let second = Store::open(dir.path(), Instant::now() + Duration::from_millis(200));
        assert!(matches!(second, Err(OpenError::Busy)));
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[test]
    fn bookkeeping_spares_a_write_only_for_a_recent_last_run() {
        let hour = Some(Duration::from_secs(3600));
        let disk = State {
            last_run: Some(now()),
            ..State::default()
        };
        let later = |secs: i64| State {
            last_run: Some(now() + jiff::SignedDuration::from_secs(secs)),
            ..State::default()
        };
        assert!(holds(&disk, &disk, hour));
        assert!(holds(&disk, &later(60), hour));
        assert!(!holds(&disk, &later(3600), hour));
        // A clock stepped back is not "recent": the file is rewritten.
        assert!(!holds(&disk, &later(-60), hour));
        let mut changed = later(60);
        changed.reset_at = Some(now());
        assert!(!holds(&disk, &changed, hour));
        assert!(!holds(&State::default(), &later(60), hour));
        assert!(!holds(&disk, &later(60), None));
    }

    #[test]
    fn a_bookkeeping_save_writes_only_what_the_file_does_not_hold() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let state = State {
            last_run: Some(now()),
            ..State::default()
        };
        s.save_run(&state, Save::Bookkeeping(None)).unwrap();
        let path = dir.path().join(FILE);
        fs::write(&path, b"{\"version\": 1, \"marker\": true}").unwrap();
        // Nothing new: the file is left as it is (here: our marker).
        s.save_run(&state, Save::Bookkeeping(None)).unwrap();
        assert!(fs::read_to_string(&path).unwrap().contains("marker"));
        // A durable save always writes.
        s.save(&state).unwrap();
        assert_eq!(s.load(now()).state, state);
    }

    #[test]
    fn stray_temp_files_are_cleaned_by_the_next_save() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(format!("{TEMP_PREFIX}99999")), b"half").unwrap();
        store(dir.path()).save(&State::default()).unwrap();
        assert!(list_with_prefix(dir.path(), TEMP_PREFIX).is_empty());
    }

    #[test]
    fn a_failed_quarantine_keeps_the_file_and_refuses_to_save_over_it() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        fs::write(dir.path().join(FILE), b"{broken").unwrap();
        // The quarantine name is taken by a non-empty directory.
        let taken = dir.path().join(format!("{CORRUPT_PREFIX}20261122T050000Z"));
        fs::create_dir_all(taken.join("x")).unwrap();
        let loaded = s.load(now());
        let message = loaded.quarantined.unwrap();
        assert!(message.contains("could not be moved aside"), "{message}");
        assert_eq!(loaded.state.reset_at, Some(now()));
        let refused = s.save(&loaded.state).unwrap_err();
        assert!(refused.to_string().contains("kept as it is"), "{refused}");
        assert_eq!(fs::read(dir.path().join(FILE)).unwrap(), b"{broken");
        assert!(list_with_prefix(dir.path(), TEMP_PREFIX).is_empty());
    }

    #[test]
    fn a_sparse_huge_file_and_a_fifo_are_moved_aside_unread() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let path = dir.path().join(FILE);
        File::create(&path)
            .unwrap()
            .set_len(1024 * 1024 * 1024)
            .unwrap();
        let message = s.load(now()).quarantined.unwrap();
        assert!(message.contains("over the 16 MiB limit"), "{message}");
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let message = s
            .load(now() + jiff::SignedDuration::from_secs(1))
            .quarantined
            .unwrap();
        assert!(message.contains("a FIFO, not a regular file"), "{message}");
        assert!(!path.exists());
    }
}
