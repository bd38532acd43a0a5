//! ntfy: the digest as a push notification, its priority by severity
//! (5 critical, 4 warning or unknown, 3 otherwise), with an optional token.

use super::ChannelKind;
use super::message::{cut_bytes, text};
use crate::http::{self, HttpRequest};
use crate::http::{Budget, Failure};
use crate::model::Digest;
use crate::model::Status;
use crate::secret::Secret;
use crate::spec::channel::Channel;
use crate::vocab::Builder;
use serde::Deserialize;
use serde_aux::serde_introspection::serde_introspect;

/// The keys of a `type = "ntfy"` alert beyond the common ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    url: Option<Secret>,
    token: Option<Secret>,
}

pub const KIND: ChannelKind = ChannelKind {
    name: "ntfy",
    keys: serde_introspect::<Keys>,
    secret_keys: &["url", "token"],
    secret_tables: &[],
    build: |table, b| build(&b.keys(table)?, b),
};

/// ntfy turns a message of more bytes than this into an attachment.
const LIMIT: usize = 4096;

struct Ntfy {
    url: String,
    token: Option<String>,
}

fn build(keys: &Keys, b: &mut Builder) -> Option<Box<dyn Channel>> {
    let url = super::webhook::http_url(&keys.url, b)?;
    Some(Box::new(Ntfy {
        url,
        token: keys.token.as_ref().map(|t| t.expose().to_string()),
    }))
}

impl Channel for Ntfy {
    fn deliver(&self, digest: &Digest, budget: Budget) -> Result<(), Failure> {
        let mut request = payload(digest, &self.url);
        if let Some(token) = &self.token {
            request
                .headers
                .push(("Authorization".into(), format!("Bearer {token}")));
        }
        http::send(&request, budget, http::never_final)
    }
}

pub fn priority(status: Status) -> u8 {
    match status {
        Status::Critical => 5,
        Status::Warning | Status::Unknown => 4,
        Status::Ok => 3,
    }
}

/// An HTTP header value carries ASCII only: other text (a host name in
/// Cyrillic, say) goes as an RFC 2047 encoded word, which ntfy decodes.
fn header_text(text: &str) -> String {
    use base64::Engine;
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return text.to_string();
    }
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

pub fn payload(digest: &Digest, url: &str) -> HttpRequest {
    let body = text(digest);
    let link = super::message::details(digest).map(|l| format!("\n\n{l}"));
    let room = LIMIT.saturating_sub(link.as_deref().map_or(0, |l| l.len()));
    let summary = super::fit::summary_body(digest, room, &super::fit::bytes)
        .map(|s| s + link.as_deref().unwrap_or(""));
    let body = summary.unwrap_or_else(|| {
        body.split_once('\n')
            .map_or(body.as_str(), |(_, rest)| rest)
            .trim()
            .to_string()
    });
    HttpRequest {
        method: "POST",
        url: url.to_string(),
        headers: vec![
            ("Title".into(), header_text(&super::message::title(digest))),
            ("Priority".into(), priority(digest.status()).to_string()),
            ("Tags".into(), digest.status().name().into()),
        ],
        body: cut_bytes(&body, LIMIT).into_bytes(),
    }
}
