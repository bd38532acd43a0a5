//! The tell stage: this run's news goes into the outbox before any action
//! runs (so a run killed at any moment leaves it undecided or queued);
//! after the actions, their events join it and every channel is given
//! what it is owed.

use std::collections::BTreeMap;
use std::time::Instant;

use super::ledger::Ledger;
use crate::model::{Action, ActionReport, Event, EventKind, Note, Status};
use crate::notify::{self, plan::AlertReport, plan::Queued};
use crate::options::RunOptions;
use crate::spec::Config;
use crate::state::State;

pub struct Telling<'c> {
    config: &'c Config,
    opts: &'c RunOptions,
    now: jiff::Timestamp,
    /// Everything this run has to tell, in order: the checks' first.
    pub events: Vec<Event>,
    /// How many of the events are the checks' (a held action is told
    /// when its problem is among them).
    from_checks: usize,
    /// How many of the ledger's notes are already among the events.
    told_notes: usize,
    /// Per channel, what this run queued.
    queued: BTreeMap<String, Queued>,
}

impl<'c> Telling<'c> {
    /// The checks' events and the trouble noted so far, queued in the
    /// outbox of `next` when alerts are sent and the state records them.
    pub fn news(
        config: &'c Config,
        opts: &'c RunOptions,
        checks: &[Event],
        ledger: &Ledger,
        next: &mut State,
        now: jiff::Timestamp,
    ) -> Telling<'c> {
        let mut events = checks.to_vec();
        events.extend(trouble(&ledger.notes));
        let mut telling = Telling {
            config,
            opts,
            now,
            events,
            from_checks: checks.len(),
            told_notes: ledger.notes.len(),
            queued: BTreeMap::new(),
        };
        if opts.sends_alerts() && ledger.records() {
            telling.queue(next, 0);
        }
        telling
    }

    /// Add the actions' events and any later trouble, then deliver: the
    /// outbox, or (state not saved) the unsaved warning, or nothing when
    /// alerts are held.
    pub fn deliver(
        &mut self,
        decided: &[Action],
        done: &[ActionReport],
        ledger: &mut Ledger,
        next: &mut State,
        deadline: Instant,
    ) -> Vec<AlertReport> {
        let (config, now) = (self.config, self.now);
        let news = self.events.len();
        super::daily::acted(next, decided, done, now);
        let actions = notify::action_events(decided, done, &self.events[..self.from_checks]);
        self.events.extend(actions);
        self.events
            .extend(trouble(&ledger.notes[self.told_notes..]));
        if let Some(why) = self.opts.alerts_held {
            return notify::plan::not_sent(&config.alerts, &self.events, why);
        }
        if let Some(why) = &ledger.unsaved {
            return notify::deliver::unsaved(config, &self.events, why, now, deadline);
        }
        self.queue(next, news);
        super::daily::queue(config, next, now);
        let (reports, dropped) = notify::deliver::outbox(config, &self.queued, next, now, deadline);
        super::daily::delivered(next, dropped.len(), now);
        ledger
            .notes
            .extend(dropped.into_iter().map(|m| Note::new(Status::Warning, m)));
        notify::deliver::forget_unsaved(config);
        reports
    }

    /// Queue the events from `from` on, adding to what is queued already.
    fn queue(&mut self, next: &mut State, from: usize) {
        let rules = notify::deliver::rules(self.config, self.now);
        for (channel, q) in notify::plan::enqueue(next, &rules, &self.events[from..], self.now) {
            let entry = self.queued.entry(channel).or_default();
            entry.events += q.events;
            entry.suppressed |= q.suppressed;
        }
    }
}

/// healthcheck's own trouble, as events for the alert channels.
fn trouble(notes: &[Note]) -> Vec<Event> {
    notes
        .iter()
        .filter(|n| !n.status.is_ok())
        .map(|n| Event {
            kind: EventKind::Trouble,
            subject: "healthcheck".into(),
            status: n.status,
            message: n.message.clone(),
            hint: None,
        })
        .collect()
}
