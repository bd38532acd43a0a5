//! What a run may write, and the trouble it had doing so: the state store
//! (locked, read-only, or not to be had), the state it loaded, and
//! healthcheck's own notes. The pipeline asks the ledger to save; only the
//! ledger knows whether this run records at all.

use std::time::Instant;

use super::Clock;
use crate::Log;
use crate::model::{Exit, Note, Status};
use crate::options::RunOptions;
use crate::spec::Config;
use crate::state::{OpenError, Save, Spare, State, Store};

pub struct Ledger {
    store: Option<Store>,
    /// Restarts must be recorded before they run: without a writable
    /// state, none run and nothing is queued.
    can_record: bool,
    pub notes: Vec<Note>,
    /// healthcheck's own trouble (its state cannot be kept) that must end the
    /// run UNKNOWN whatever the checks say.
    pub own_failure: bool,
    /// Why what this run tells cannot be remembered: the state is not saved.
    pub unsaved: Option<String>,
    /// How the run's own bookkeeping is saved. The gap check and `status`
    /// read `last_run`: it is rewritten at least once per
    /// `expected_interval`, so the gap they see is never a whole interval
    /// off; without one, every run that changes nothing else rewrites it.
    bookkeeping: Save,
}

impl Ledger {
    /// Lock and load the state (read it only, for a diagnosis). `Err` is
    /// the exit code of a run that must not go on: another run holds the
    /// lock, or held it so long that too little of the deadline is left.
    pub fn open(
        config: &Config,
        opts: &RunOptions,
        clock: &Clock,
        log: &Log,
    ) -> Result<(Ledger, State), Exit> {
        let settings = &config.settings;
        let (started, deadline, now) = (clock.started, clock.deadline, clock.now);
        let mut ledger = Ledger {
            store: None,
            can_record: false,
            notes: Vec::new(),
            own_failure: false,
            unsaved: None,
            // Half the interval: a run at the usual pace always saves its
            // time, so the next one never mistakes a spared save for a
            // missed run (the summary counts a gap of two intervals).
            bookkeeping: Save::Bookkeeping(Spare {
                keep: settings.expected_interval.map(|every| every / 2),
                confirmed_at: config
                    .checks
                    .iter()
                    .map(|c| (c.name.clone(), c.after))
                    .collect(),
            }),
        };
        ledger.store = if opts.read_only {
            Some(Store::read_only(&settings.state_dir))
        } else {
            match Store::open(&settings.state_dir, deadline) {
                // Got the lock with less than half the deadline left: the
                // checks would time out and be announced UNKNOWN. Say so
                // once, run none.
                Ok(_)
                    if deadline.saturating_duration_since(Instant::now())
                        < settings.deadline / 2 =>
                {
                    eprintln!(
                        "healthcheck: got the lock only after {:.1}s (another run held it); too little of the {} deadline is left to run the checks, so this run runs none",
                        started.elapsed().as_secs_f64(),
                        crate::vocab::show_duration(settings.deadline)
                    );
                    return Err(Exit::UNKNOWN);
                }
                Ok(s) => Some(s),
                Err(OpenError::Busy) => {
                    eprintln!("healthcheck: {}", OpenError::Busy);
                    return Err(Exit::UNKNOWN);
                }
                Err(e) => {
                    ledger.fail(format!(
                        "{e}; nothing is saved and nothing restarted this run"
                    ));
                    None
                }
            }
        };
        for w in &config.warnings {
            log.info(format!("warning: {w}"));
        }
        log.info(format!(
            "config {}; state in {}",
            config.origin,
            settings.state_dir.display()
        ));
        let loaded = ledger
            .store
            .as_ref()
            .map(|s| s.load(now))
            .unwrap_or_default();
        if let Some(message) = &loaded.quarantined {
            ledger
                .notes
                .push(Note::new(Status::Warning, message.clone()));
        }
        if let Some(v) = loaded.newer_version {
            ledger.fail(format!("state file has version {v}, newer than this healthcheck understands; it is left untouched, nothing is saved and nothing restarted"));
        }
        ledger.can_record =
            !opts.read_only && ledger.store.is_some() && loaded.newer_version.is_none();
        if !opts.read_only && !ledger.can_record {
            ledger.unsaved = Some(
                ledger
                    .notes
                    .iter()
                    .find(|n| n.status == Status::Unknown)
                    .map_or("the state is not saved".to_string(), |n| n.message.clone()),
            );
        }
        Ok((ledger, loaded.state))
    }

    /// This run's own trouble: UNKNOWN, and the run ends with 3.
    pub fn fail(&mut self, message: String) {
        self.notes.push(Note::new(Status::Unknown, message));
        self.own_failure = true;
    }

    /// Does this run record what it does (a writable state that was saved)?
    pub fn records(&self) -> bool {
        self.can_record
    }

    /// Save `state` durably (an action follows) when this run records;
    /// `Ok` when it does not.
    pub fn save(&self, state: &State) -> std::io::Result<()> {
        self.save_as(state, &Save::Durable)
    }

    fn save_as(&self, state: &State, how: &Save) -> std::io::Result<()> {
        match self.store.as_ref().filter(|_| self.can_record) {
            Some(store) => store.save_run(state, how),
            None => Ok(()),
        }
    }

    /// Save the run's own bookkeeping (spared when the file holds it), or
    /// make the failure this run's own trouble.
    pub fn save_or_fail(&mut self, state: &State) -> bool {
        let saved = self.save_as(state, &self.bookkeeping);
        self.saved_or_fail(saved)
    }

    fn saved_or_fail(&mut self, saved: std::io::Result<()>) -> bool {
        match saved {
            Ok(()) => true,
            Err(e) => {
                let dir = self.store.as_ref().map(|s| s.dir().display().to_string());
                self.fail(format!(
                    "cannot save state in {}: {e}",
                    dir.unwrap_or_default()
                ));
                false
            }
        }
    }

    /// The save that queues this run's news before any action: when it
    /// fails, nothing later is recorded and alerts go out unsaved. Durable
    /// when deliveries follow; else the run's bookkeeping.
    pub fn save_outbox(&mut self, state: &State) {
        let how = if state.outbox.is_empty() {
            &self.bookkeeping
        } else {
            &Save::Durable
        };
        let saved = self.save_as(state, how);
        if !self.saved_or_fail(saved) {
            self.unsaved = self.notes.last().map(|n| n.message.clone());
            self.can_record = false;
        }
    }
}
