//! Discord webhooks: one embed coloured by the worst severity, a field per
//! event, within Discord's limits (title 256, description 4096, field name
//! 256 and value 1024, 25 fields, 6000 characters in all), and
//! `allowed_mentions` empty so that log text can never ping @everyone.

use crate::secret::Secret;
use serde::Deserialize;
use serde_aux::serde_introspection::serde_introspect;
use serde_json::{Value, json};

use super::ChannelKind;
use super::message::{cut, label};
use super::webhook::JsonPost;
use crate::model::Digest;
use crate::model::Status;
use crate::spec::channel::Channel;
use crate::vocab::Builder;

/// The keys of a `type = "discord"` alert beyond the common ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    url: Option<Secret>,
}

pub const KIND: ChannelKind = ChannelKind {
    name: "discord",
    keys: serde_introspect::<Keys>,
    secret_keys: &["url"],
    secret_tables: &[],
    build: |table, b| build(&b.keys(table)?, b),
};

fn build(keys: &Keys, b: &mut Builder) -> Option<Box<dyn Channel>> {
    let url = super::webhook::http_url(&keys.url, b)?;
    Some(Box::new(JsonPost::new(url, payload, is_final)))
}

/// Discord's final answers: 401 (the webhook's token is wrong) and 404
/// (the webhook was deleted).
fn is_final(status: u16, _body: &str) -> bool {
    matches!(status, 401 | 404)
}

pub fn colour(status: Status) -> u32 {
    match status {
        Status::Ok => 0x2ECC71,
        Status::Warning => 0xF1C40F,
        Status::Critical => 0xE74C3C,
        Status::Unknown => 0x9B59B6,
    }
}

/// The embed's title links to the status page, if there is one.
fn link_to_page(embed: &mut Value, digest: &Digest) {
    if let Some(url) = &digest.details {
        embed["url"] = Value::String(url.clone());
    }
}

/// The webhook body for a digest.
pub fn payload(digest: &Digest) -> Value {
    const TOTAL: usize = 6000;
    /// A summary goes in the embed's description, within a message's 2000.
    const SUMMARY: usize = 2000;
    let title = cut(&super::message::title(digest), 256);
    let link = super::message::details(digest);
    if let Some(body) = super::fit::summary_body(digest, SUMMARY, &super::fit::chars) {
        let mut embed = json!({
            "title": title,
            "color": colour(digest.status()),
            "timestamp": digest.at.to_string(),
            "description": body,
        });
        link_to_page(&mut embed, digest);
        return json!({
            "username": "healthcheck",
            "allowed_mentions": {"parse": []},
            "embeds": [embed],
        });
    }
    let mut used = title.chars().count();
    let mut fields = Vec::new();
    let mut left_out = 0;
    for e in &digest.events {
        let name = cut(&format!("{}: {}", label(e.kind, e.status), e.subject), 256);
        let mut value = e.message.clone();
        if let Some(hint) = super::message::hint(e) {
            value.push_str(&format!("\nAction: {hint}"));
        }
        let value = cut(&value, 1024);
        let size = name.chars().count() + value.chars().count();
        if fields.len() == 25 || used + size > TOTAL - 200 {
            left_out += 1;
            continue;
        }
        used += size;
        fields.push(json!({"name": name, "value": value, "inline": false}));
    }
    let mut description = String::new();
    if left_out > 0 {
        description.push_str(&format!(
            "{left_out} more events did not fit in this message. "
        ));
    }
    description.push_str(&super::message::afterword(digest));
    if let Some(line) = link {
        description.push_str(&line);
    }
    let mut embed = json!({
        "title": title,
        "color": colour(digest.status()),
        "timestamp": digest.at.to_string(),
        "fields": fields,
    });
    link_to_page(&mut embed, digest);
    if !description.is_empty() {
        embed["description"] = Value::String(cut(&description, 4096));
    }
    json!({
        "username": "healthcheck",
        "allowed_mentions": {"parse": []},
        "embeds": [embed],
    })
}
