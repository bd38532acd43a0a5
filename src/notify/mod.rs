//! Alerts: what happened this run, as one digest per channel, delivered
//! so that nothing is lost and nothing is sent twice on purpose. `decide`
//! chooses the events; `plan` (pure) queues them as one digest per channel
//! in the state's outbox and decides what each channel is to be given this
//! run and what its answers mean (fallback, backoff, expiry); `deliver`
//! does the sending, every channel at once within its own timeout. A digest
//! counts as sent only after the channel accepted it.
//!
//! Adding a channel: a file here with its keys struct and a `KIND:
//! ChannelKind` (its type name, its keys read from that struct, which of
//! them are secrets, a `build` that validates them and returns a
//! `Channel`), listed in `CHANNELS`. Keep the payload a pure function of the
//! digest, and the `deliver` thin; say which of the receiver's answers are
//! final (a deleted webhook), everything else is tried again.

pub mod alertmanager;
pub mod command;
pub mod deliver;
pub mod discord;
pub mod email;
pub mod fit;
pub mod message;
pub mod ntfy;
pub mod plan;
pub mod slack;
pub mod telegram;
pub mod webhook;

use toml::de::DeTable;

use crate::model::{Action, ActionOutcome, ActionReport, Event, EventKind, Status};
use crate::spec::channel::Channel;
use crate::vocab::Builder;

/// Every channel type, by its `type = "..."` name.
pub const CHANNELS: &[&ChannelKind] = &[
    &discord::KIND,
    &slack::KIND,
    &telegram::KIND,
    &webhook::KIND,
    &ntfy::KIND,
    &email::KIND,
    &command::KIND,
    &alertmanager::KIND,
];

pub fn channel_kind(name: &str) -> Option<&'static ChannelKind> {
    CHANNELS.iter().copied().find(|k| k.name == name)
}

/// A channel type: its name, its keys and how to build a channel from them.
pub struct ChannelKind {
    pub name: &'static str,
    /// Its keys beyond the common ones (`name`, `type`, `min_severity`,
    /// `fallback`, ...): the fields of its own keys struct.
    pub keys: fn() -> &'static [&'static str],
    /// Which of its keys hold a secret (a password, a token, a URL with a
    /// token in it): registered for redaction, warned about when written
    /// inline, and readable from a file as `KEY_file`.
    pub secret_keys: &'static [&'static str],
    /// Its keys whose value is a table of secrets (`headers`): every value
    /// in it is one.
    pub secret_tables: &'static [&'static str],
    /// Read its keys (the table holds only those) and build the channel.
    pub build: fn(DeTable, &mut Builder) -> Option<Box<dyn Channel>>,
}

/// The events of this run's actions: each restart or recovery command
/// done (and whether it helped) or failed, and a held action when its
/// problem is announced in this run (so the alert says why nothing
/// happened). A suspension is told by its own note, once.
pub fn action_events(decided: &[Action], done: &[ActionReport], announced: &[Event]) -> Vec<Event> {
    decided
        .iter()
        .zip(done)
        .filter_map(|(action, report)| {
            let subject = report
                .service
                .clone()
                .or_else(|| report.check.clone())
                .unwrap_or_default();
            let (kind, status) = match (report.outcome, report.helped) {
                (ActionOutcome::Ok, Some(false)) => (EventKind::Action, Status::Critical),
                (ActionOutcome::Ok, _) => (EventKind::Action, Status::Warning),
                (ActionOutcome::Failed, _) => (EventKind::ActionFailed, Status::Critical),
                (ActionOutcome::Held, _)
                    if announced
                        .iter()
                        .any(|e| action.triggers.contains(&e.subject)) =>
                {
                    (EventKind::Held, Status::Warning)
                }
                _ => return None,
            };
            Some(Event {
                kind,
                subject,
                status,
                message: report.detail.clone(),
                hint: None,
            })
        })
        .collect()
}

/// Does `status` reach `min`? UNKNOWN counts as a warning.
pub fn reaches(status: Status, min: Status) -> bool {
    let rank = |s: Status| match s {
        Status::Ok => 0,
        Status::Warning | Status::Unknown => 1,
        Status::Critical => 2,
    };
    rank(status) >= rank(min)
}

#[cfg(test)]
mod tests {
    //! The payload of every channel for one digest, pinned as snapshots
    //! (`src/notify/snapshots/`; review changes with `cargo insta review`).

    use super::*;
    use crate::model::Digest;

    fn digest() -> Digest {
        let mut d = Digest::sample(vec![
            Event::sample(
                EventKind::Problem,
                "watchlist",
                Status::Critical,
                "last update 18m ago (crit above 15m) <@everyone> & co",
            )
            .hinted("Check market-data-worker service"),
            Event::sample(
                EventKind::Reminder,
                "schwab-refresh-token",
                Status::Warning,
                "1d 11h left (warn below 2d) (for 4h)",
            ),
            Event::sample(
                EventKind::Action,
                "market-data-worker",
                Status::Warning,
                "restart market-data-worker (1 of 3 in the last 1h): restarted; re-checked: watchlist OK, it helped",
            ),
            Event::sample(
                EventKind::Recovery,
                "disk",
                Status::Warning,
                "OK again: used 71% of /",
            ),
        ]);
        d.suppressed = 2;
        d
    }

    fn pretty(v: &serde_json::Value) -> String {
        serde_json::to_string_pretty(v).unwrap()
    }

    #[test]
    fn discord_payload() {
        insta::assert_snapshot!(pretty(&discord::payload(&digest())));
    }

    #[test]
    fn slack_payload() {
        insta::assert_snapshot!(pretty(&slack::payload(&digest())));
    }

    #[test]
    fn telegram_payload() {
        insta::assert_snapshot!(pretty(&telegram::payload(&digest(), "42")));
    }

    #[test]
    fn webhook_payload() {
        insta::assert_snapshot!(pretty(&webhook::payload(&digest())));
    }

    #[test]
    fn ntfy_payload() {
        let r = ntfy::payload(&digest(), "https://ntfy.sh/topic");
        let headers: Vec<String> = r.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        insta::assert_snapshot!(format!(
            "{} {}\n{}\n\n{}",
            r.method,
            r.url,
            headers.join("\n"),
            String::from_utf8_lossy(&r.body)
        ));
    }

    /// Three problems whose messages are `text`.
    fn long_digest(text: &str) -> Digest {
        Digest::sample(
            ["bot", "watchlist", "disk"]
                .iter()
                .map(|subject| {
                    Event::sample(EventKind::Problem, subject, Status::Critical, text)
                        .hinted("restart it")
                })
                .collect(),
        )
    }

    #[test]
    fn a_long_telegram_digest_named_no_check() {
        for text in ["x & y ".repeat(500), "😀".repeat(1500)] {
            let d = long_digest(&text);
            let html = telegram::payload(&d, "42")["text"]
                .as_str()
                .unwrap()
                .to_string();
            // Telegram counts UTF-16 code units: an emoji is two.
            let units = html.encode_utf16().count();
            assert!(units <= 4096, "{units}");
            assert!(
                html.contains("</b> bot\n"),
                "the first event is named: {html}"
            );
            assert!(html.contains("… and 2 more events"), "{html}");
            assert!(!html.contains("too long for Telegram"), "{html}");
        }
    }

    #[test]
    fn ntfy_cut_at_4000_characters_not_4096_bytes() {
        for text in ["é".repeat(1800), "x".repeat(1800)] {
            let body = ntfy::payload(&long_digest(&text), "https://ntfy.example/t").body;
            assert!(body.len() <= 4096, "{} bytes", body.len());
            assert!(body.len() > 4000, "the room is used: {} bytes", body.len());
            assert!(
                String::from_utf8(body).is_ok(),
                "cut on a character boundary"
            );
        }
    }

    #[test]
    fn a_non_ascii_host_name_made_the_ntfy_title_an_invalid_header() {
        let mut d = digest();
        d.host = "сервер-1".into();
        let request = ntfy::payload(&d, "https://ntfy.example/topic");
        let title = &request.headers[0].1;
        assert!(
            title.starts_with("=?UTF-8?B?") && title.is_ascii(),
            "{title}"
        );
        let built = ureq::http::Request::builder()
            .header("Title", title.as_str())
            .body(());
        assert!(built.is_ok(), "a valid header value");
    }

    #[test]
    fn debug_output_held_secrets() {
        let request = crate::http::HttpRequest::post_json(
            "https://discord.example/api/webhooks/1/whk-secret-0xAB",
            &serde_json::json!({"a": 1}),
        );
        let ping = crate::ping::Ping::new(&crate::spec::ping::PingSpec {
            url: crate::secret::Secret::new("https://hc.example/ping/uuid-0xCD".into()),
            timeout: std::time::Duration::from_secs(1),
            body_limit: crate::spec::ping::DEFAULT_BODY_LIMIT,
        });
        let shown = format!("{request:?} {ping:?}");
        assert!(
            !shown.contains("0xAB") && !shown.contains("0xCD"),
            "{shown}"
        );
    }

    #[test]
    fn unknown_counts_as_a_warning_for_min_severity() {
        assert!(reaches(Status::Unknown, Status::Warning));
        assert!(!reaches(Status::Unknown, Status::Critical));
        assert!(reaches(Status::Critical, Status::Critical));
        assert!(!reaches(Status::Ok, Status::Warning));
    }
}
