//! The daily summary within a channel's size limit, in the unit the
//! service counts (Discord 2000 characters, Telegram 4096 UTF-16 code
//! units, ntfy 4096 bytes, Slack 39000 characters): its sections keep
//! their headings, and a section that does not fit keeps its first lines
//! and says "… and N more" for the rest. The last sections (the day's
//! totals, then the incidents) are given room first: they are short and
//! say the most. Pure: text in, text out.

use super::message::{cut, title};
use crate::model::Digest;

/// Characters, as most channels count them.
pub fn chars(text: &str) -> usize {
    text.chars().count()
}

/// UTF-8 bytes, as ntfy counts its message.
pub fn bytes(text: &str) -> usize {
    text.len()
}

/// UTF-16 code units, as Telegram counts (an emoji is two).
pub fn utf16(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The summary's text (without its title) within `limit`, as `measure`
/// counts; `None` when `digest` is not a summary.
pub fn summary_body(
    digest: &Digest,
    limit: usize,
    measure: &dyn Fn(&str) -> usize,
) -> Option<String> {
    let body = &digest
        .events
        .first()
        .filter(|_| digest.is_summary())?
        .message;
    Some(fit(body, limit, measure))
}

/// The whole summary (title, blank line, body) within `limit` characters.
pub fn summary_text(digest: &Digest, limit: usize) -> Option<String> {
    let title = title(digest);
    let room = limit.saturating_sub(chars(&title) + 2);
    Some(format!(
        "{title}\n\n{}",
        summary_body(digest, room, &chars)?
    ))
}

/// Room kept per section for its "… and N more" line.
const MORE: usize = 24;

fn fit(body: &str, limit: usize, measure: &dyn Fn(&str) -> usize) -> String {
    if measure(body) <= limit {
        return body.to_string();
    }
    let sections: Vec<Vec<&str>> = body.split("\n\n").map(|s| s.lines().collect()).collect();
    let headings: usize = sections
        .iter()
        .map(|s| s.first().map_or(0, |h| measure(h)) + MORE + 3)
        .sum();
    let mut budget = limit.saturating_sub(headings);
    let mut kept = vec![0; sections.len()];
    for (i, s) in sections.iter().enumerate().rev() {
        for item in s.iter().skip(1) {
            let size = measure(item) + 1;
            if size > budget {
                break;
            }
            budget -= size;
            kept[i] += 1;
        }
    }
    let out: Vec<String> = sections
        .iter()
        .zip(kept)
        .map(|(s, kept)| {
            let mut lines: Vec<String> = s.iter().take(kept + 1).map(|l| l.to_string()).collect();
            let left = s.len().saturating_sub(kept + 1);
            if left > 0 {
                lines.push(format!("… and {left} more"));
            }
            lines.join("\n")
        })
        .collect();
    cut(&out.join("\n\n"), limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(checks: usize) -> String {
        let mut lines = vec!["Checks:".to_string()];
        lines.extend((0..checks).map(|i| format!("[OK] check-{i} since 2026-06-01 08:00")));
        format!(
            "{}\n\nIncidents in the last 24h (1):\nbot CRITICAL from 03:00 to 03:15 (15m)\n\n\
             Restarts in the last 24h: none\nAlerts in the last 24h: 0 sent, 0 queued, 0 dropped",
            lines.join("\n")
        )
    }

    #[test]
    fn a_short_summary_is_left_as_it_is() {
        assert_eq!(fit(&body(3), 2000, &chars), body(3));
    }

    #[test]
    fn a_long_section_keeps_its_first_lines_and_says_how_many_more() {
        let long = body(200);
        let fitted = fit(&long, 2000, &chars);
        assert!(chars(&fitted) <= 2000, "{}", chars(&fitted));
        assert!(fitted.starts_with("Checks:\n[OK] check-0 since"));
        let shown = fitted
            .lines()
            .filter(|l| l.starts_with("[OK] check-"))
            .count();
        assert!(shown > 10);
        assert!(
            fitted.contains(&format!("… and {} more", 200 - shown)),
            "{fitted}"
        );
        // The totals and the incidents are whole.
        assert!(fitted.ends_with("Alerts in the last 24h: 0 sent, 0 queued, 0 dropped"));
        assert!(fitted.contains("bot CRITICAL from 03:00 to 03:15 (15m)"));
    }

    fn summary(checks: usize) -> Digest {
        Digest::sample(vec![crate::model::Event {
            kind: crate::model::EventKind::Summary,
            subject: "daily summary".into(),
            status: crate::model::Status::Ok,
            message: body(checks),
            hint: None,
        }])
    }

    #[test]
    fn every_channel_gives_a_long_summary_within_its_limit() {
        use crate::notify::{discord, ntfy, slack, telegram};
        let d = summary(400);
        let desc = discord::payload(&d)["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(chars(&desc) <= 2000 && desc.contains(" more"), "{desc}");
        let text = telegram::payload(&d, "42")["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(utf16(&text) <= 4096 && text.contains(" more"));
        assert!(text.starts_with("<b>[OK] vps-1: daily summary</b>\n\nChecks:"));
        let body = String::from_utf8(ntfy::payload(&d, "http://127.0.0.1/t").body).unwrap();
        assert!(body.len() <= 4096 && body.contains(" more"));
        // Slack takes this one whole.
        let text = slack::payload(&d)["text"].as_str().unwrap().to_string();
        assert_eq!(
            text,
            format!("[OK] vps-1: daily summary\n\n{}", body_of(&d))
        );
    }

    /// A short summary as each channel sends it, pinned as snapshots.
    #[test]
    fn summary_payloads() {
        use crate::notify::{discord, slack, telegram};
        let mut d = summary(2);
        d.events[0].status = crate::model::Status::Critical;
        d.events[0].message = d.events[0]
            .message
            .replace("[OK] check-1", "[CRITICAL] check-1");
        let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap();
        insta::assert_snapshot!("discord", pretty(&discord::payload(&d)));
        insta::assert_snapshot!("telegram", pretty(&telegram::payload(&d, "42")));
        insta::assert_snapshot!("slack", pretty(&slack::payload(&d)));
    }

    fn body_of(d: &Digest) -> String {
        d.events[0].message.clone()
    }

    #[test]
    fn the_measure_is_the_channels_own() {
        // Telegram counts the escaped text: "&" is five characters there.
        let long = body(200).replace("OK", "&&");
        let escaped = |s: &str| chars(&s.replace('&', "&amp;"));
        let fitted = fit(&long, 4096, &escaped);
        assert!(escaped(&fitted) <= 4096);
        let plain = fit(&long, 4096, &chars);
        assert!(fitted.lines().count() < plain.lines().count() - 10);
    }
}
