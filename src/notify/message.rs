//! The words of an alert, shared by every channel: a title and one block
//! per event (status, subject, message, hint), like the hand-written alerts
//! of the scripts it replaces.
//! Pure: a digest in, text out.

use crate::model::Status;
use crate::model::{Digest, Event, EventKind};

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
    if !d.still_failing.is_empty() {
        parts.push(format!("{} still failing", d.still_failing.len()));
    }
    if parts.is_empty() && !d.held_back.is_empty() {
        parts.push(format!("{} held back", plural(d.held_back.len(), "alert")));
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

/// "details: URL" when the digest links to the status page.
pub fn details(d: &Digest) -> Option<String> {
    d.details.as_ref().map(|url| format!("details: {url}"))
}

/// The whole digest as plain text: the title, then a block per event,
/// then the link to the status page if any.
pub fn text(d: &Digest) -> String {
    let mut out = title(d);
    out.push('\n');
    if let Some(summary) = d.events.first().filter(|_| d.is_summary()) {
        out.push_str(&format!("\n{}\n", summary.message));
        if let Some(line) = details(d) {
            out.push_str(&format!("\n{line}\n"));
        }
        return out;
    }
    for e in &d.events {
        out.push_str(&format!(
            "\n[{}] {}\nIssue: {}\n",
            label(e.kind, e.status),
            e.subject,
            e.message
        ));
        if let Some(hint) = hint(e) {
            out.push_str(&format!("Action: {hint}\n"));
        }
    }
    let after = afterword(d);
    if !after.is_empty() {
        out.push_str(&format!("\n{after}"));
    }
    out
}

/// An event's hint, unless it is a recovery's: nothing is left to do.
pub fn hint(e: &Event) -> Option<&str> {
    e.hint.as_deref().filter(|_| e.kind != EventKind::Recovery)
}

/// What follows the events: the problems still failing, then what
/// `max_per_hour` held back since the channel's last message, one line
/// each ("09:14 UTC [CRITICAL] bot: ..."), then how many more it left
/// out. Empty when there is none of it.
pub fn afterword(d: &Digest) -> String {
    let mut out = String::new();
    if !d.still_failing.is_empty() {
        let failing: Vec<String> = d
            .still_failing
            .iter()
            .map(|f| format!("{} ({})", f.check, f.status.word()))
            .collect();
        out.push_str(&format!("Still failing: {}\n", failing.join(", ")));
    }
    if !d.held_back.is_empty() {
        out.push_str("Held back by max_per_hour since the last message:\n");
        for h in &d.held_back {
            out.push_str(&format!(
                "{} [{}] {}: {}\n",
                crate::schedule::hhmm(h.at),
                label(h.event.kind, h.event.status),
                h.event.subject,
                h.event.message
            ));
        }
    }
    if d.suppressed > 0 {
        let more = if d.held_back.is_empty() { "" } else { "more " };
        out.push_str(&format!(
            "{} {more}suppressed (max_per_hour)\n",
            plural(d.suppressed as usize, "alert")
        ));
    }
    if let Some(line) = details(d) {
        out.push_str(&format!("\n{line}\n"));
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
    fn text_reads_like_a_hand_written_alert() {
        assert_eq!(
            text(&digest()),
            "[CRITICAL] vps-1: 2 problems\n\n\
             [WARNING] schwab-refresh-token\nIssue: 1d 11h left (warn below 2d)\nAction: Prepare to reauthorize\n\n\
             [CRITICAL] watchlist\nIssue: last update 18m ago (crit above 15m)\nAction: Check market-data-worker service\n"
        );
    }

    #[test]
    fn a_hint_is_not_printed_as_action_under_recovered() {
        let mut d = digest();
        d.events[1].kind = EventKind::Recovery;
        let text = text(&d);
        assert!(text.contains("Action: Prepare to reauthorize"), "{text}");
        assert!(
            !text.contains("Action: Check market-data-worker service"),
            "{text}"
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
