//! The subcommands that read or edit the state by hand: `history`,
//! `reset`, `silence`, `unsilence`. Those that edit take the same lock as
//! a run and replace the state file atomically, like a run does. `history`
//! only reads: it takes no lock (it never waits for a run) and never moves
//! a broken state file aside.

use std::time::Instant;

use serde::Serialize;

use crate::cli::{Format, SilenceArgs};
use crate::config::{self, Needs};
use crate::model::{Exit, Status};
use crate::options::Options;
use crate::out;
use crate::spec::Config;
use crate::state::{ALL, Silence, State, Store};

/// The config, or the embedded default.
fn load_config(opts: &Options) -> Result<Config, Exit> {
    opts.load_config(Needs::Names)
        .map(|loaded| loaded.config)
        .map_err(|invalid| invalid.print(None))
}

/// The config whose state `status` and `history` show. Without a config
/// found they show the embedded default's state, which may be another
/// install's: stderr says which config and which state were read.
pub fn config_to_show(opts: &Options) -> Result<Config, Exit> {
    let loaded = opts
        .load_config(Needs::Names)
        .map_err(|invalid| invalid.print(None))?;
    if loaded.path.is_none() {
        eprintln!("{}", config::no_config_shown(&loaded.config));
    }
    Ok(loaded.config)
}

/// Per channel, what `max_per_hour` holds back for its next message:
/// "telegram: 3 alerts held back by max_per_hour since 09:14 UTC".
pub fn held_back(state: &State) -> Vec<HeldBack> {
    state
        .deliveries
        .iter()
        .filter(|(_, d)| !d.held.is_empty() || d.suppressed > 0)
        .map(|(channel, d)| HeldBack {
            channel: channel.clone(),
            alerts: d.held.len() as u32 + d.suppressed,
            since: d.held.first().map(|h| h.at),
        })
        .collect()
}

/// A channel's alerts held back by `max_per_hour`.
#[derive(Serialize)]
pub struct HeldBack {
    pub channel: String,
    pub alerts: u32,
    pub since: Option<jiff::Timestamp>,
}

impl HeldBack {
    pub fn line(&self) -> String {
        let since = self
            .since
            .map(|t| format!(" since {}", crate::schedule::hhmm(t)))
            .unwrap_or_default();
        format!(
            "{}: {} held back by max_per_hour{since}; its next message tells them",
            self.channel,
            crate::model::count(self.alerts as usize, "alert", "alerts")
        )
    }
}

/// Load the config and lock its state dir, to edit the state.
fn open(opts: &Options) -> Result<(Config, Store, State), Exit> {
    let config = load_config(opts)?;
    let store = Store::open(
        &config.settings.state_dir,
        Instant::now() + config.settings.deadline,
    )
    .map_err(|e| {
        eprintln!("healthcheck: {e}");
        Exit::UNKNOWN
    })?;
    let state = load(&store)?;
    Ok((config, store, state))
}

/// The state in `store`; a broken file is said (and, when locked, moved aside).
fn load(store: &Store) -> Result<State, Exit> {
    let loaded = store.load(jiff::Timestamp::now());
    if let Some(v) = loaded.newer_version {
        eprintln!(
            "healthcheck: the state file has version {v}, newer than this healthcheck understands; not touching it"
        );
        return Err(Exit::UNKNOWN);
    }
    if let Some(message) = loaded.quarantined {
        eprintln!("healthcheck: {message}");
    }
    Ok(loaded.state)
}

fn save(store: &Store, state: &State) -> Exit {
    match store.save(state) {
        Ok(()) => Exit::OK,
        Err(e) => {
            eprintln!(
                "healthcheck: cannot save state in {}: {e}",
                store.dir().display()
            );
            Exit::UNKNOWN
        }
    }
}

#[derive(Serialize)]
struct History {
    services: Vec<ServiceHistory>,
    checks: Vec<CheckHistory>,
    silences: Vec<SilenceHistory>,
    /// The incident log (the last 7 days), oldest first.
    incidents: Vec<crate::state::Incident>,
    held_back: Vec<HeldBack>,
}

/// A service's restart budget as the state says it stands.
#[derive(Serialize)]
pub struct ServiceHistory {
    pub name: String,
    pub manager: &'static str,
    pub restarts_in_window: Vec<jiff::Timestamp>,
    pub max_restarts: u32,
    pub window_seconds: u64,
    /// Set while the budget is used up: when the oldest restart leaves the window.
    pub suspended_until: Option<jiff::Timestamp>,
}

impl ServiceHistory {
    /// "bot (process): 1 of 3 restarts in the last 1h, last at ...".
    pub fn line(&self) -> String {
        let time = |t: &jiff::Timestamp| t.strftime("%Y-%m-%d %H:%M UTC").to_string();
        let mut out = format!(
            "{} ({}): {} of {} restarts in the last {}",
            self.name,
            self.manager,
            self.restarts_in_window.len(),
            self.max_restarts,
            humantime::format_duration(std::time::Duration::from_secs(self.window_seconds))
        );
        if let Some(last) = self.restarts_in_window.iter().max() {
            out.push_str(&format!(", last at {}", time(last)));
        }
        if let Some(until) = &self.suspended_until {
            out.push_str(&format!(
                "; SUSPENDED until {} (healthcheck reset {})",
                time(until),
                self.name
            ));
        }
        out
    }
}

/// Every configured service's budget at `now`.
pub fn services(config: &Config, state: &State, now: jiff::Timestamp) -> Vec<ServiceHistory> {
    config
        .services
        .iter()
        .map(|s| {
            let restarts: Vec<jiff::Timestamp> = state
                .services
                .get(&s.name)
                .map(|h| {
                    h.restarts
                        .iter()
                        .map(|t| (*t).min(now))
                        .filter(|t| now.duration_since(*t).unsigned_abs() < s.window)
                        .collect()
                })
                .unwrap_or_default();
            let suspended_until = (restarts.len() as u32 >= s.max_restarts)
                .then(|| restarts.iter().min().copied().unwrap_or(now))
                .and_then(|oldest| oldest.checked_add(s.window).ok());
            ServiceHistory {
                name: s.name.clone(),
                manager: s.manager.kind(),
                restarts_in_window: restarts,
                max_restarts: s.max_restarts,
                window_seconds: s.window.as_secs(),
                suspended_until,
            }
        })
        .collect()
}

#[derive(Serialize)]
struct CheckHistory {
    name: String,
    status: Status,
    since: jiff::Timestamp,
    consecutive: u32,
}

#[derive(Serialize)]
struct SilenceHistory {
    check: String,
    until: jiff::Timestamp,
    reason: Option<String>,
}

pub fn history(opts: &Options) -> Exit {
    let config = match config_to_show(opts) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let state = match load(&Store::read_only(&config.settings.state_dir)) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let now = jiff::Timestamp::now();
    let services = services(&config, &state, now);
    let checks = state
        .checks
        .iter()
        .map(|(name, c)| CheckHistory {
            name: name.clone(),
            status: c.status,
            since: c.since,
            consecutive: c.consecutive,
        })
        .collect();
    let silences = state
        .silences
        .iter()
        .filter(|(_, s)| s.until > now)
        .map(|(name, s)| SilenceHistory {
            check: name.clone(),
            until: s.until,
            reason: s.reason.clone(),
        })
        .collect();
    let h = History {
        services,
        checks,
        silences,
        incidents: state.daily.incidents.clone(),
        held_back: held_back(&state),
    };
    if opts.format == Format::Json {
        out::line(&serde_json::to_string_pretty(&h).expect("history serializes"));
    } else {
        out::print(&render(&h));
    }
    Exit::OK
}

fn render(h: &History) -> String {
    let time = |t: &jiff::Timestamp| t.strftime("%Y-%m-%d %H:%M UTC").to_string();
    let mut out = String::from("services:\n");
    if h.services.is_empty() {
        out.push_str("  (none)\n");
    }
    for s in &h.services {
        out.push_str(&format!("  {}\n", s.line()));
    }
    out.push_str("checks:\n");
    if h.checks.is_empty() {
        out.push_str("  (none yet)\n");
    }
    for c in &h.checks {
        out.push_str(&format!(
            "  {}: {} since {}",
            c.name,
            c.status.name(),
            time(&c.since)
        ));
        if c.consecutive > 0 {
            out.push_str(&format!(
                ", {} in a row",
                crate::model::count(c.consecutive as usize, "run", "runs")
            ));
        }
        out.push('\n');
    }
    if !h.incidents.is_empty() {
        out.push_str("incidents:\n");
    }
    for i in &h.incidents {
        out.push_str(&format!("  {}\n", incident_line(i)));
    }
    if !h.held_back.is_empty() {
        out.push_str("alerts held back:\n");
    }
    for held in &h.held_back {
        out.push_str(&format!("  {}\n", held.line()));
    }
    if !h.silences.is_empty() {
        out.push_str("silences:\n");
        for s in &h.silences {
            let name = if s.check == ALL {
                "all checks"
            } else {
                s.check.as_str()
            };
            out.push_str(&format!("  {name} until {}", time(&s.until)));
            if let Some(r) = &s.reason {
                out.push_str(&format!(" ({r})"));
            }
            out.push('\n');
        }
    }
    out
}

/// "bot-api CRITICAL 20:01 UTC to 20:05 UTC: <message>; restart bot at
/// 20:03 UTC (ok, helped)".
pub fn incident_line(i: &crate::state::Incident) -> String {
    let hhmm = crate::schedule::hhmm;
    let end = i
        .end
        .map_or("ongoing".to_string(), |e| format!("to {}", hhmm(e)));
    let mut out = format!(
        "{} {} from {} {end}: {}",
        i.check,
        i.worst.word(),
        hhmm(i.start),
        i.message
    );
    let done: Vec<String> = i
        .actions
        .iter()
        .map(|a| {
            let helped = match a.helped {
                Some(true) => ", helped",
                Some(false) => ", did not help",
                None => "",
            };
            format!("{} at {} ({}{helped})", a.what, hhmm(a.at), a.outcome)
        })
        .collect();
    if !done.is_empty() {
        out.push_str(&format!("; {}", done.join("; ")));
    }
    out
}

/// `service`: one service, `None`: `--all`.
pub fn reset(opts: &Options, service: Option<&str>) -> Exit {
    let (config, store, mut state) = match open(opts) {
        Ok(x) => x,
        Err(code) => return code,
    };
    match service {
        Some(name) => {
            if config.service(name).is_none() {
                eprintln!(
                    "healthcheck: {}",
                    crate::spec::no_such_service(name, &config.services)
                );
                return Exit::UNKNOWN;
            }
            state.services.remove(name);
            out::line(&format!(
                "reset {name}: restart history and suspension cleared"
            ));
        }
        None => {
            state.services.clear();
            state.reset_at = None;
            out::line("reset all services: restart histories and suspensions cleared");
        }
    }
    save(&store, &state)
}

pub fn silence(opts: &Options, args: &SilenceArgs) -> Exit {
    let duration = match crate::vocab::parse_duration(&args.duration) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("healthcheck: --for: {e}");
            return Exit::UNKNOWN;
        }
    };
    let (config, store, mut state) = match open(opts) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let key = match check_key(&config, args.target.name.as_deref()) {
        Ok(k) => k,
        Err(code) => return code,
    };
    let Ok(until) = jiff::Timestamp::now().checked_add(duration) else {
        eprintln!("healthcheck: --for: {} is too long", args.duration);
        return Exit::UNKNOWN;
    };
    state.silences.insert(
        key.clone(),
        Silence {
            until,
            reason: args.reason.clone(),
        },
    );
    out::line(&format!(
        "silenced {} until {}",
        if key == ALL {
            "all checks"
        } else {
            key.as_str()
        },
        until.strftime("%Y-%m-%d %H:%M UTC")
    ));
    save(&store, &state)
}

/// `check`: one check, `None`: `--all`.
pub fn unsilence(opts: &Options, check: Option<&str>) -> Exit {
    let (config, store, mut state) = match open(opts) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let key = match check_key(&config, check) {
        Ok(k) => k,
        Err(code) => return code,
    };
    if key == ALL {
        state.silences.clear();
    } else {
        state.silences.remove(&key);
    }
    out::line(&format!(
        "unsilenced {}",
        if key == ALL {
            "all checks"
        } else {
            key.as_str()
        }
    ));
    save(&store, &state)
}

fn check_key(config: &Config, check: Option<&str>) -> Result<String, Exit> {
    match check {
        None => Ok(ALL.to_string()),
        Some(name) if config.check(name).is_some() => Ok(name.to_string()),
        Some(name) => {
            let known: Vec<&str> = config.checks.iter().map(|c| c.name.as_str()).collect();
            eprintln!(
                "healthcheck: no check named `{name}` (checks: {})",
                known.join(", ")
            );
            Err(Exit::UNKNOWN)
        }
    }
}
