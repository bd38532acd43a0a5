//! What was decided about a restart or recovery command, and what became
//! of it; and healthcheck's own trouble (notes).

use serde::Serialize;

use super::Status;

/// healthcheck's own trouble, reported beside the checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub status: Status,
    pub message: String,
}

impl Note {
    pub fn new(status: Status, message: impl Into<String>) -> Note {
        Note {
            status,
            message: message.into(),
        }
    }
}

/// What an action is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Restart this `[[service]]`.
    Restart(String),
    /// Run this check's recovery command.
    Recover(String),
}

/// What was decided for an action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Do it now.
    Go,
    /// `--dry-run`: it would be done.
    DryRun,
    /// Not now: grace, cooldown, upstream down, `--no-restart`, state reset.
    Held,
    /// The budget is used up: no automatic action until the window frees.
    Suspended,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub target: Target,
    pub decision: Decision,
    /// Why, for people: "restart 1 of 3 in the last 1h: bot-log CRITICAL for 3 runs".
    pub reason: String,
    /// The checks that asked for it (re-run after it).
    pub triggers: Vec<String>,
    /// The `escalate` steps it is (check, 0-based step), recorded when it runs.
    pub ladder: Vec<(String, u32)>,
}

/// One action: `{"kind": "restart", "service": "bot", "outcome": "ok", "detail": "..."}`.
#[derive(Serialize, Debug, Clone)]
pub struct ActionReport {
    /// `restart` or `run` (a recovery command).
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    pub outcome: ActionOutcome,
    /// After a done action, whether the re-check found its checks OK.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helped: Option<bool>,
    pub detail: String,
}

/// What became of an action: `ok`, `failed`, `suspended`, `held` or `dry-run`.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ActionOutcome {
    Ok,
    Failed,
    Suspended,
    Held,
    DryRun,
}

impl ActionOutcome {
    pub fn word(self) -> &'static str {
        match self {
            ActionOutcome::Ok => "ok",
            ActionOutcome::Failed => "failed",
            ActionOutcome::Suspended => "suspended",
            ActionOutcome::Held => "held",
            ActionOutcome::DryRun => "dry-run",
        }
    }
}

impl ActionReport {
    pub fn new(target: &Target, outcome: ActionOutcome, detail: String) -> ActionReport {
        let (kind, service, check) = match target {
            Target::Restart(s) => ("restart", Some(s.clone()), None),
            Target::Recover(c) => ("run", None, Some(c.clone())),
        };
        ActionReport {
            kind,
            service,
            check,
            outcome,
            helped: None,
            detail,
        }
    }

    /// "restart bot", "run token-refresh".
    pub fn subject(&self) -> String {
        format!(
            "{} {}",
            self.kind,
            self.service
                .as_deref()
                .or(self.check.as_deref())
                .unwrap_or("")
        )
    }
}
