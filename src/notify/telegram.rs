//! Telegram bots: `sendMessage` to a chat, `parse_mode` HTML with every
//! piece of text escaped, within Telegram's 4096 characters. `api_url`
//! (default https://api.telegram.org) points it at another server.

use serde_json::{Value, json};

use super::http::{self, HttpRequest};
use super::message::{cut, label};
use super::{Budget, Channel, ChannelKind, Failure};
use crate::config::Builder;
use crate::config::alert::RawAlert;
use crate::model::Digest;

pub const KIND: ChannelKind = ChannelKind {
    name: "telegram",
    keys: &["bot_token", "chat_id", "api_url"],
    build,
};

const LIMIT: usize = 4096;
const DEFAULT_API: &str = "https://api.telegram.org";

struct Telegram {
    url: String,
    chat_id: String,
}

fn build(raw: &RawAlert, b: &mut Builder) -> Option<Box<dyn Channel>> {
    let token = b
        .required("bot_token", &raw.bot_token)?
        .expose()
        .to_string();
    let chat_id = b.required("chat_id", &raw.chat_id)?.clone();
    let api = raw
        .api_url
        .clone()
        .unwrap_or_else(|| DEFAULT_API.to_string());
    if !(api.starts_with("http://") || api.starts_with("https://")) {
        b.error(
            "api_url",
            "must start with https:// (or http:// for a local test server)",
        );
        return None;
    }
    let url = format!("{}/bot{token}/sendMessage", api.trim_end_matches('/'));
    Some(Box::new(Telegram { url, chat_id }))
}

impl Channel for Telegram {
    fn deliver(&self, digest: &Digest, budget: Budget) -> Result<(), Failure> {
        http::send(
            &HttpRequest::post_json(&self.url, &payload(digest, &self.chat_id)),
            budget,
            is_final,
        )
    }
}

/// Telegram's final answers: 400 "chat not found", 403 "bot was blocked
/// by the user" (or kicked from the group), 401/404 for a revoked token.
fn is_final(status: u16, body: &str) -> bool {
    match status {
        400 => body.contains("chat not found"),
        403 => body.contains("blocked") || body.contains("kicked"),
        401 | 404 => true,
        _ => false,
    }
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The `sendMessage` body: a bold title, then a block per event.
pub fn payload(digest: &Digest, chat_id: &str) -> Value {
    let mut html = format!("<b>{}</b>\n", escape(&super::message::title(digest)));
    let link = super::message::details(digest)
        .map(|l| format!("\n\n{}", escape(&l)))
        .unwrap_or_default();
    let room = LIMIT.saturating_sub(html.chars().count() + 1 + link.chars().count());
    let escaped = |s: &str| escape(s).chars().count();
    if let Some(body) = super::fit::summary_body(digest, room, &escaped) {
        html.push_str(&format!("\n{}{link}", escape(&body)));
        return json!({"chat_id": chat_id, "text": html, "parse_mode": "HTML", "disable_web_page_preview": true});
    }
    for e in &digest.events {
        html.push_str(&format!(
            "\n<b>{}</b> {}\n{}\n",
            escape(&label(e.kind, e.status)),
            escape(&e.subject),
            escape(&e.message)
        ));
        if let Some(hint) = super::message::hint(e) {
            html.push_str(&format!("<i>Action: {}</i>\n", escape(hint)));
        }
    }
    let after = super::message::afterword(digest);
    if !after.is_empty() {
        html.push_str(&format!("\n{}", escape(&after)));
    }
    if let Some(line) = super::message::details(digest) {
        html.push_str(&format!("\n{}\n", escape(&line)));
    }
    let html = if html.chars().count() > LIMIT {
        // Cutting HTML could break a tag: fall back to the escaped title and a note.
        cut(
            &format!(
                "<b>{}</b>\n{} events; the full digest is too long for Telegram",
                escape(&super::message::title(digest)),
                digest.events.len()
            ),
            LIMIT,
        )
    } else {
        html
    };
    json!({"chat_id": chat_id, "text": html, "parse_mode": "HTML", "disable_web_page_preview": true})
}
