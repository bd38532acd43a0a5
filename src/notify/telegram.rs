//! Telegram bots: `sendMessage` to a chat, `parse_mode` HTML with every
//! piece of text escaped, within Telegram's 4096 characters (counted as
//! UTF-16 code units, as Telegram does). `api_url`
//! (default https://api.telegram.org) points it at another server.

use crate::secret::Secret;
use serde::Deserialize;
use serde_aux::serde_introspection::serde_introspect;
use serde_json::{Value, json};

use super::ChannelKind;
use super::message::label;
use crate::http::{self, HttpRequest};
use crate::http::{Budget, Failure};
use crate::model::Digest;
use crate::spec::channel::Channel;
use crate::vocab::Builder;

/// The keys of a `type = "telegram"` alert beyond the common ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    bot_token: Option<Secret>,
    chat_id: Option<String>,
    api_url: Option<String>,
}

pub const KIND: ChannelKind = ChannelKind {
    name: "telegram",
    keys: serde_introspect::<Keys>,
    secret_keys: &["bot_token"],
    secret_tables: &[],
    build: |table, b| build(&b.keys(table)?, b),
};

const LIMIT: usize = 4096;
const DEFAULT_API: &str = "https://api.telegram.org";

struct Telegram {
    url: String,
    chat_id: String,
}

fn build(keys: &Keys, b: &mut Builder) -> Option<Box<dyn Channel>> {
    let token = b
        .required("bot_token", &keys.bot_token)?
        .expose()
        .to_string();
    let chat_id = b.required("chat_id", &keys.chat_id)?.clone();
    let api = keys
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

/// The `sendMessage` body: a bold title, then a block per event. The
/// events that fit in `LIMIT` go whole, then "… and N more events"; an
/// event too long for the room left has its message cut (the text is cut
/// before it is escaped: no tag or entity is ever broken).
pub fn payload(digest: &Digest, chat_id: &str) -> Value {
    let mut html = format!("<b>{}</b>\n", escape(&super::message::title(digest)));
    let link = super::message::details(digest)
        .map(|l| format!("\n\n{}", escape(&l)))
        .unwrap_or_default();
    let room = LIMIT.saturating_sub(units(&html) + 1 + units(&link));
    let escaped = |s: &str| units(&escape(s));
    if let Some(body) = super::fit::summary_body(digest, room, &escaped) {
        html.push_str(&format!("\n{}{link}", escape(&body)));
        return json!({"chat_id": chat_id, "text": html, "parse_mode": "HTML", "disable_web_page_preview": true});
    }
    let mut tail = String::new();
    let after = super::message::afterword(digest);
    if !after.is_empty() {
        tail.push_str(&format!("\n{}\n", escape(after.trim_end())));
    }
    if let Some(line) = super::message::details(digest) {
        tail.push_str(&format!("\n{}\n", escape(&line)));
    }
    let more = |n: usize| format!("\n… and {n} more events\n");
    let total = digest.events.len();
    for (i, e) in digest.events.iter().enumerate() {
        let last = i + 1 == total;
        let reserve = units(&tail) + if last { 0 } else { units(&more(total)) };
        let room = LIMIT.saturating_sub(units(&html) + reserve);
        let head = format!(
            "\n<b>{}</b> {}\n",
            escape(&label(e.kind, e.status)),
            escape(&e.subject)
        );
        let hint = super::message::hint(e)
            .map(|h| format!("<i>Action: {}</i>\n", escape(h)))
            .unwrap_or_default();
        let whole = format!("{head}{}\n{hint}", escape(&e.message));
        if units(&whole) <= room {
            html.push_str(&whole);
            continue;
        }
        if i == 0 {
            // Not even the first event fits: its message is cut, so the
            // message names at least one check.
            let left = room.saturating_sub(units(&head) + 1);
            html.push_str(&format!("{head}{}\n", escape_within(&e.message, left)));
            if total > 1 {
                html.push_str(&more(total - 1));
            }
        } else {
            html.push_str(&more(total - i));
        }
        break;
    }
    html.push_str(&tail);
    json!({"chat_id": chat_id, "text": html, "parse_mode": "HTML", "disable_web_page_preview": true})
}

/// Telegram's unit: UTF-16 code units, of the HTML as sent (tags counted
/// too, so the text after parsing is never over).
fn units(html: &str) -> usize {
    super::fit::utf16(html)
}

/// `text` escaped, cut to at most `room` units (ending in "…" when cut).
fn escape_within(text: &str, room: usize) -> String {
    let mut out = String::new();
    let budget = room.saturating_sub(1);
    let mut used = 0;
    for c in text.chars() {
        let piece = escape(c.encode_utf8(&mut [0; 4]));
        let size = units(&piece);
        if used + size > budget {
            out.push('…');
            return out;
        }
        used += size;
        out.push_str(&piece);
    }
    out
}
