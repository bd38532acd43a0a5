//! ntfy: the digest as a push notification, its priority by severity
//! (5 critical, 4 warning or unknown, 3 otherwise), with an optional token.

use std::time::Instant;

use super::http::{self, HttpRequest};
use super::message::{cut, text};
use super::{Channel, ChannelKind, Digest, Failure};
use crate::config::Builder;
use crate::config::alert::RawAlert;
use crate::status::Status;

pub const KIND: ChannelKind = ChannelKind {
    name: "ntfy",
    keys: &["url", "token"],
    build,
};

/// ntfy turns longer messages into attachments.
const LIMIT: usize = 4000;

struct Ntfy {
    url: String,
    token: Option<String>,
}

fn build(raw: &RawAlert, b: &mut Builder) -> Option<Box<dyn Channel>> {
    let url = super::webhook::http_url(raw, b)?;
    Some(Box::new(Ntfy {
        url,
        token: raw.token.as_ref().map(|t| t.expose().to_string()),
    }))
}

impl Channel for Ntfy {
    fn deliver(&self, digest: &Digest, deadline: Instant) -> Result<(), Failure> {
        let mut request = payload(digest, &self.url);
        if let Some(token) = &self.token {
            request
                .headers
                .push(("Authorization".into(), format!("Bearer {token}")));
        }
        http::send(&request, deadline)
    }
}

pub fn priority(status: Status) -> u8 {
    match status {
        Status::Critical => 5,
        Status::Warning | Status::Unknown => 4,
        Status::Ok => 3,
    }
}

pub fn payload(digest: &Digest, url: &str) -> HttpRequest {
    let body = text(digest);
    let body = body
        .split_once('\n')
        .map_or(body.as_str(), |(_, rest)| rest)
        .trim()
        .to_string();
    HttpRequest {
        method: "POST",
        url: url.to_string(),
        headers: vec![
            ("Title".into(), digest.title()),
            ("Priority".into(), priority(digest.status()).to_string()),
            ("Tags".into(), digest.status().name().into()),
        ],
        body: cut(&body, LIMIT).into_bytes(),
    }
}
