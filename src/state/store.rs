//! Where the state lives between runs: the locked directory, loading that
//! never fails a run (a broken file is moved aside), and saves that skip
//! what the file already holds.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::write::{create_private_dir, replace_then};
use super::{State, VERSION};

const FILE: &str = "state.json";
const LOCK: &str = "healthcheck.lock";
const TEMP_PREFIX: &str = ".state.json.tmp-";
/// A second name for the content of the last fsynced save: what a run
/// falls back on when a power cut spoiled a save that was not fsynced.
const SYNCED: &str = "state.json.synced";
const CORRUPT_PREFIX: &str = "state.json.corrupt-";
/// A state file larger than this is not read nor trusted: no state a run
/// writes comes near it (a sparse 1 GB file would cost every run).
const MAX_SIZE: u64 = 16 * 1024 * 1024;
const CORRUPT_KEPT: usize = 3;

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
#[derive(Debug)]
pub enum Save {
    /// An action follows that the save must survive: write and fsync the
    /// file and the directory.
    Durable,
    /// The run's bookkeeping: written only when it differs from the file,
    /// and not when only `last_run` moved and the file's `last_run` is
    /// younger than `keep` (if set); fsynced only when more than the
    /// volatile parts changed (`last_run`, each check's message and
    /// memory: what the next run measures again, and a failing count past
    /// `confirmed_at`), and then with no directory fsync (the filesystem
    /// commits the rename within seconds; a power cut before that leaves
    /// the previous state, which the next run builds on). A save that is
    /// not fsynced leaves the last fsynced content under
    /// `state.json.synced`, which loading falls back on.
    Bookkeeping(Spare),
}

/// What a bookkeeping save may spare.
#[derive(Debug, Default)]
pub struct Spare {
    /// Not written when only `last_run` moved less than this.
    pub keep: Option<Duration>,
    /// Each check's `after`: the failing runs that confirm its problem are
    /// fsynced, those counted past them only written (a check that fails
    /// all weekend does not fsync every minute; a power cut leaves a count
    /// that still confirms).
    pub confirmed_at: BTreeMap<String, u32>,
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
        let synced = self.synced_copy().filter(|_| matches!(moved, Some(Ok(_))));
        let message = match moved {
            Some(Ok(to)) if synced.is_some() => format!(
                "state file {} was unusable ({problem}); moved it to {} and went on from the last fsynced save ({SYNCED})",
                path.display(),
                to.display()
            ),
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
        let state = synced.unwrap_or_else(|| State {
            reset_at: Some(now),
            ..State::default()
        });
        Loaded {
            state,
            quarantined: Some(message),
            ..Loaded::default()
        }
    }

    /// The content of the last fsynced save, when it can be used.
    fn synced_copy(&self) -> Option<State> {
        match parse(&read_bounded(&self.dir.join(SYNCED)).ok()?.ok()?) {
            Ok(Parsed::Current(state)) => Some(state),
            _ => None,
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

    /// Give the fsynced `temp` the second name `state.json.synced` (a hard
    /// link: no second write). Where links cannot be made the old copy is
    /// removed, so no later save goes without fsync over a stale copy.
    fn name_synced(&self, temp: &Path) {
        let copy = self.dir.join(SYNCED);
        let link = self
            .dir
            .join(format!("{TEMP_PREFIX}synced-{}", std::process::id()));
        let _ = fs::remove_file(&link);
        if fs::hard_link(temp, &link)
            .and_then(|()| fs::rename(&link, &copy))
            .is_err()
        {
            let _ = fs::remove_file(&link);
            let _ = fs::remove_file(&copy);
        }
    }

    fn on_disk(&self) -> std::sync::MutexGuard<'_, Option<State>> {
        self.on_disk.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replace state.json atomically and durably. Stray temp files of
    /// killed runs go first. Refused when a broken state file could not be
    /// moved aside.
    pub fn save(&self, state: &State) -> io::Result<()> {
        self.save_run(state, &Save::Durable)
    }

    /// Save as `how` says; `Ok` also when nothing needed writing.
    pub fn save_run(&self, state: &State, how: &Save) -> io::Result<()> {
        if let Some(why) = self.kept.get() {
            return Err(io::Error::other(why.clone()));
        }
        let (sync_file, sync_dir) = match how {
            Save::Durable => (true, true),
            Save::Bookkeeping(spare) => {
                let disk = self.on_disk();
                if disk.as_ref().is_some_and(|d| holds(d, state, spare.keep)) {
                    return Ok(());
                }
                let only_volatile = disk.as_ref().is_some_and(|d| {
                    lasting(d, &spare.confirmed_at) == lasting(state, &spare.confirmed_at)
                });
                (!(only_volatile && self.dir.join(SYNCED).exists()), false)
            }
        };
        for stray in list_with_prefix(&self.dir, TEMP_PREFIX) {
            let _ = fs::remove_file(stray);
        }
        // Every sink is redacted, the state too: a secret that reached a
        // check's memory or message is never written down.
        let json = serde_json::to_string_pretty(state).map_err(io::Error::other)?;
        let json = crate::secret::redact(&json) + "\n";
        replace_then(
            &self.dir,
            FILE,
            json.as_bytes(),
            sync_file,
            sync_dir,
            |temp| {
                if sync_file {
                    self.name_synced(temp);
                }
            },
        )?;
        *self.on_disk() = Some(state.clone());
        Ok(())
    }
}

/// `state` without its volatile parts: the run's time, what each check
/// said and remembered, which the next run measures again, and the failing
/// runs counted past those that confirm a check's problem.
fn lasting(state: &State, confirmed_at: &BTreeMap<String, u32>) -> State {
    let mut lasting = State {
        last_run: None,
        ..state.clone()
    };
    for (name, check) in lasting.checks.iter_mut() {
        check.message = None;
        check.memory = None;
        if let Some(after) = confirmed_at.get(name) {
            check.consecutive = check.consecutive.min(*after);
        }
    }
    lasting
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::state::{ALL, CheckState, Notified, ServiceState, Silence};

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
                refused: None,
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
                ladder: Some(crate::state::Ladder {
                    done: 2,
                    at: Some(now()),
                    refused: Some(2),
                    manual: false,
                }),
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
        s.save_run(&state, &Save::Bookkeeping(Spare::default()))
            .unwrap();
        let path = dir.path().join(FILE);
        fs::write(&path, b"{\"version\": 1, \"marker\": true}").unwrap();
        // Nothing new: the file is left as it is (here: our marker).
        s.save_run(&state, &Save::Bookkeeping(Spare::default()))
            .unwrap();
        assert!(fs::read_to_string(&path).unwrap().contains("marker"));
        // A durable save always writes.
        s.save(&state).unwrap();
        assert_eq!(s.load(now()).state, state);
    }

    #[test]
    fn a_save_of_only_volatile_parts_skips_the_fsync_and_a_spoiled_file_falls_back_on_the_synced_copy()
     {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let mut state = State {
            last_run: Some(now()),
            ..State::default()
        };
        state.checks.insert(
            "cpu".into(),
            CheckState {
                status: Status::Ok,
                message: Some("busy 3%".into()),
                ..CheckState::default()
            },
        );
        s.save_run(&state, &Save::Bookkeeping(Spare::default()))
            .unwrap();
        let copy = fs::read(dir.path().join(SYNCED)).unwrap();
        assert_eq!(copy, fs::read(dir.path().join(FILE)).unwrap());

        // Only a message and the run's time moved: written, not fsynced,
        // and the copy keeps the fsynced content.
        let mut volatile = state.clone();
        volatile.last_run = Some(now() + jiff::SignedDuration::from_secs(60));
        volatile.checks.get_mut("cpu").unwrap().message = Some("busy 9%".into());
        s.save_run(&volatile, &Save::Bookkeeping(Spare::default()))
            .unwrap();
        assert!(
            fs::read_to_string(dir.path().join(FILE))
                .unwrap()
                .contains("busy 9%")
        );
        assert_eq!(fs::read(dir.path().join(SYNCED)).unwrap(), copy);

        // A power cut spoiled the file: the run goes on from the copy.
        fs::write(dir.path().join(FILE), b"").unwrap();
        let loaded = s.load(now());
        assert_eq!(loaded.state, state);
        assert!(
            loaded.quarantined.as_deref().unwrap().contains(SYNCED),
            "{:?}",
            loaded.quarantined
        );

        // A status that changed is fsynced and becomes the copy.
        let mut news = volatile.clone();
        news.checks.get_mut("cpu").unwrap().status = Status::Warning;
        s.save_run(&volatile, &Save::Bookkeeping(Spare::default()))
            .unwrap();
        s.save_run(&news, &Save::Bookkeeping(Spare::default()))
            .unwrap();
        let file = fs::read(dir.path().join(FILE)).unwrap();
        assert_eq!(fs::read(dir.path().join(SYNCED)).unwrap(), file);

        // Without the copy, every save is fsynced again (and makes one).
        fs::remove_file(dir.path().join(SYNCED)).unwrap();
        s.save_run(&volatile, &Save::Bookkeeping(Spare::default()))
            .unwrap();
        assert!(dir.path().join(SYNCED).exists());
    }

    #[test]
    fn a_check_failing_for_hours_is_not_fsynced_every_run() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let spare = Save::Bookkeeping(Spare {
            keep: None,
            confirmed_at: BTreeMap::from([("bot".to_string(), 3)]),
        });
        let failing = |consecutive: u32| {
            let mut state = State {
                last_run: Some(now() + jiff::SignedDuration::from_mins(consecutive.into())),
                ..State::default()
            };
            state.checks.insert(
                "bot".into(),
                CheckState {
                    status: Status::Critical,
                    consecutive,
                    ..CheckState::default()
                },
            );
            state
        };
        let synced = || fs::read(dir.path().join(SYNCED)).unwrap();
        // Up to its `after`, each failing run counts towards confirming the
        // problem: fsynced.
        for consecutive in 1..=3 {
            s.save_run(&failing(consecutive), &spare).unwrap();
            assert_eq!(synced(), fs::read(dir.path().join(FILE)).unwrap());
        }
        // Past it, the count is what the report says ("for 40 runs"): written,
        // and a power cut falls back on a count that still confirms.
        let confirmed = synced();
        for consecutive in 4..=40 {
            s.save_run(&failing(consecutive), &spare).unwrap();
        }
        assert!(
            fs::read_to_string(dir.path().join(FILE))
                .unwrap()
                .contains("\"consecutive\": 40")
        );
        assert_eq!(synced(), confirmed);
        // A check the config does not name keeps every count lasting.
        let other = Save::Bookkeeping(Spare::default());
        s.save_run(&failing(41), &other).unwrap();
        assert_eq!(synced(), fs::read(dir.path().join(FILE)).unwrap());
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
        crate::sys::fs::mkfifo(&path, 0o600).unwrap();
        let message = s
            .load(now() + jiff::SignedDuration::from_secs(1))
            .quarantined
            .unwrap();
        assert!(message.contains("a FIFO, not a regular file"), "{message}");
        assert!(!path.exists());
    }
}
