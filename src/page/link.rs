//! The page's address in the alerts: `[page] url` makes every channel's
//! message end with "details: URL" (`Digest::details`, set as a digest is
//! sent). Only tests live here: each channel renders the line itself.

#[cfg(test)]
mod tests {
    use crate::model::{Digest, Event, EventKind, Status};
    use crate::notify::{discord, message, ntfy, slack, telegram, webhook};

    const URL: &str = "https://status.example.org/pi/";

    fn digests() -> [Digest; 2] {
        let alert = Digest::sample(vec![Event::sample(
            EventKind::Problem,
            "bot",
            Status::Critical,
            "not running",
        )]);
        let summary = Digest::sample(vec![Event::sample(
            EventKind::Summary,
            "daily summary",
            Status::Ok,
            "All 3 checks OK.\n\nIncidents: none",
        )]);
        [alert, summary].map(|d| Digest {
            details: Some(URL.into()),
            ..d
        })
    }

    #[test]
    fn a_page_url_ends_every_channels_alerts_and_summaries_with_details() {
        let line = format!("details: {URL}");
        for d in digests() {
            let kind = if d.is_summary() { "summary" } else { "alert" };
            assert!(
                message::text(&d).ends_with(&format!("\n{line}\n")),
                "{kind}: text (email, command)"
            );
            assert!(
                slack::payload(&d)["text"].as_str().unwrap().contains(&line),
                "{kind}: slack"
            );
            assert!(
                telegram::payload(&d, "42")["text"]
                    .as_str()
                    .unwrap()
                    .contains(&line),
                "{kind}: telegram"
            );
            let ntfy = ntfy::payload(&d, "https://ntfy.example/topic");
            assert!(
                String::from_utf8_lossy(&ntfy.body).contains(&line),
                "{kind}: ntfy"
            );
            assert_eq!(
                discord::payload(&d)["embeds"][0]["url"],
                URL,
                "{kind}: discord"
            );
            assert_eq!(webhook::payload(&d)["details"], URL, "{kind}: webhook");
        }
        let alert = &digests()[0];
        let description = discord::payload(alert)["embeds"][0]["description"].clone();
        assert!(
            description.as_str().unwrap().contains(&line),
            "{description}"
        );
        // Without a page, nothing changes.
        let plain = Digest {
            details: None,
            ..alert.clone()
        };
        assert!(!message::text(&plain).contains("details:"));
        assert!(webhook::payload(&plain).get("details").is_none());
    }
}
