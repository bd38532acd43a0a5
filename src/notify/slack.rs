//! Slack incoming webhooks: the digest as text (Slack renders it as is).

use crate::secret::Secret;
use serde::Deserialize;
use serde_aux::serde_introspection::serde_introspect;
use serde_json::{Value, json};

use super::ChannelKind;
use super::message::{cut, text};
use super::webhook::JsonPost;
use crate::model::Digest;
use crate::spec::channel::Channel;
use crate::vocab::Builder;

/// The keys of a `type = "slack"` alert beyond the common ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    url: Option<Secret>,
}

pub const KIND: ChannelKind = ChannelKind {
    name: "slack",
    keys: serde_introspect::<Keys>,
    secret_keys: &["url"],
    secret_tables: &[],
    build: |table, b| build(&b.keys(table)?, b),
};

/// Slack truncates messages past 40,000 characters; stay well inside.
const LIMIT: usize = 39_000;

fn build(keys: &Keys, b: &mut Builder) -> Option<Box<dyn Channel>> {
    let url = super::webhook::http_url(&keys.url, b)?;
    Some(Box::new(JsonPost::new(url, payload, is_final)))
}

/// Slack's final answers: 404 `no_service` (the webhook was revoked) and
/// 410 `channel_is_archived`.
fn is_final(status: u16, _body: &str) -> bool {
    matches!(status, 404 | 410)
}

pub fn payload(digest: &Digest) -> Value {
    let link = super::message::details(digest).map(|l| format!("\n\n{l}"));
    let room = LIMIT.saturating_sub(link.as_deref().map_or(0, |l| l.chars().count()));
    let text = match super::fit::summary_text(digest, room) {
        Some(summary) => summary + link.as_deref().unwrap_or(""),
        None => cut(&text(digest), LIMIT),
    };
    json!({"text": text})
}
