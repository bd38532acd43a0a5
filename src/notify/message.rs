//! The words of an alert, shared by every channel: a title and one block
//! per event (status, subject, message, hint), like the seeds' own alerts.
//! Pure: a digest in, text out.

use crate::model::Status;
use crate::model::{Digest, EventKind};

pub fn title(d: &Digest) -> String {
    if d.is_summary() {
        return format!("[{}] {}: daily summary", d.status().word(), d.host);
    }
    let count = |kinds: &[EventKind]| d.events.iter().filter(|e| kinds.contains(&e.kind)).count();
    let problems = count(&[EventKind::Problem, EventKind::Reminder, EventKind::Flapping]);
    let recovered = count(&[EventKind::Recovery]);
    let actions = count(&[EventKind::Action, EventKind::ActionFailed, EventKind::Held]);
    let mut parts = Vec::new();
    if problems > 0 {
        parts.push(plural(problems, "problem"));
    }
    if recovered > 0 {
        parts.push(format!("{recovered} recovered"));
    }
    if actions > 0 {
        parts.push(plural(actions, "action"));
    }
    if count(&[EventKind::Manual]) > 0 {
        parts.push("manual intervention required".into());
    }
    if count(&[EventKind::Trouble]) > 0 {
        parts.push("healthcheck trouble".into());
    }
    if count(&[EventKind::Test]) > 0 {
        parts.push("test message".into());
    }
    let mut title = format!("[{}] {}: {}", d.status().word(), d.host, parts.join(", "));
    if let Some(primary) = &d.on_behalf_of {
        title.push_str(&format!(" (for {primary}, which is failing)"));
    }
    title
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A short label for an event: "CRITICAL", "REMINDER CRITICAL", "RECOVERED".
pub fn label(kind: EventKind, status: Status) -> String {
    match kind {
        EventKind::Problem => status.word().to_string(),
        EventKind::Reminder => format!("STILL {}", status.word()),
        EventKind::Recovery => "RECOVERED".into(),
        EventKind::Flapping => "FLAPPING".into(),
        EventKind::Action => "ACTION".into(),
        EventKind::ActionFailed => "ACTION FAILED".into(),
        EventKind::Held => "HELD".into(),
        EventKind::Manual => "MANUAL INTERVENTION REQUIRED".into(),
        EventKind::Trouble => format!("HEALTHCHECK {}", status.word()),
        EventKind::Test => "TEST".into(),
        EventKind::Summary => "DAILY SUMMARY".into(),
    }
}

/// The whole digest as plain text: the title, then a block per event.
pub fn text(d: &Digest) -> String {
    let mut out = title(d);
    out.push('\n');
    if let Some(summary) = d.events.first().filter(|_| d.is_summary()) {
        out.push_str(&format!("\n{}\n", summary.message));
        return out;
    }
    for e in &d.events {
        out.push_str(&format!(
            "\n[{}] {}\nIssue: {}\n",
            label(e.kind, e.status),
            e.subject,
            e.message
        ));
        if let Some(hint) = &e.hint {
            out.push_str(&format!("Action: {hint}\n"));
        }
    }
    if d.suppressed > 0 {
        out.push_str(&format!(
            "\n{} more alerts suppressed (max_per_hour)\n",
            d.suppressed
        ));
    }
    out
}

/// What ends a text that was cut.
const CUT_MARK: &str = "\n… (cut)";

/// `text` cut to `limit` characters, saying so at the end.
pub fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let keep = limit.saturating_sub(CUT_MARK.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(CUT_MARK);
    out
}

/// `text` cut to `limit` bytes of UTF-8 on a character boundary, saying
/// so at the end: for services that count bytes (ntfy).
pub fn cut_bytes(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit.saturating_sub(CUT_MARK.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{CUT_MARK}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;

    fn digest() -> Digest {
        Digest::sample(vec![
            Event::sample(
                EventKind::Problem,
                "schwab-refresh-token",
                Status::Warning,
                "1d 11h left (warn below 2d)",
            )
            .hinted("Prepare to reauthorize"),
            Event::sample(
                EventKind::Problem,
                "watchlist",
                Status::Critical,
                "last update 18m ago (crit above 15m)",
            )
            .hinted("Check market-data-worker service"),
        ])
    }

    #[test]
    fn text_reads_like_the_seeds_alert() {
        assert_eq!(
            text(&digest()),
            "[CRITICAL] vps-1: 2 problems\n\n\
             [WARNING] schwab-refresh-token\nIssue: 1d 11h left (warn below 2d)\nAction: Prepare to reauthorize\n\n\
             [CRITICAL] watchlist\nIssue: last update 18m ago (crit above 15m)\nAction: Check market-data-worker service\n"
        );
    }

    #[test]
    fn a_recovery_alone_is_ok_and_cut_keeps_the_limit() {
        let mut d = digest();
        d.events.truncate(1);
        d.events[0].kind = EventKind::Recovery;
        assert_eq!(title(&d), "[OK] vps-1: 1 recovered");
        let long = "x".repeat(5000);
        let c = cut(&long, 4096);
        assert_eq!(c.chars().count(), 4096);
        assert!(c.ends_with("(cut)"));
    }
}
