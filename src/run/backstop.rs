//! The backstop: however stuck a run is, the process ends with UNKNOWN
//! when its time comes, so a timer never piles up hung runs.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::model::Exit;

/// However stuck the run is (a config on a stalled mount, a hung write, a
/// wedged lock), the process ends with UNKNOWN when the backstop's time
/// comes; `set` moves that time.
pub struct Backstop(Arc<(Mutex<Due>, Condvar)>);

/// When the backstop ends the process (never: `None`), and what it says then.
type Due = (Option<Instant>, String);

impl Backstop {
    pub fn start(after: Duration, why: String) -> Backstop {
        let backstop = Backstop(Arc::new((
            Mutex::new((None, String::new())),
            Condvar::new(),
        )));
        backstop.set(after, why);
        let shared = backstop.0.clone();
        let _ = std::thread::Builder::new()
            .name("backstop".into())
            .spawn(move || {
                let (slot, moved) = &*shared;
                let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let Some(due) = guard.0 else { return };
                    let left = due.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        eprintln!("healthcheck: {}; giving up", guard.1);
                        crate::sys::exit::exit_now(i32::from(Exit::UNKNOWN.code()))
                    }
                    guard = moved
                        .wait_timeout(guard, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            });
        backstop
    }

    /// End the process `after` from now (never, if that is past the clock's range).
    pub fn set(&self, after: Duration, why: String) {
        let (slot, moved) = &*self.0;
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = (Instant::now().checked_add(after), why);
        moved.notify_all();
    }
}
