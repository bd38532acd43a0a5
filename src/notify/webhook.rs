//! Generic webhooks: the digest as JSON (title, status, host, time, events)
//! POSTed to a URL with optional headers, for anything that takes JSON.

use crate::secret::Secret;
use serde::Deserialize;
use serde_aux::serde_introspection::serde_introspect;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::ChannelKind;
use crate::http::{self, HttpRequest};
use crate::http::{Budget, Failure};
use crate::model::Digest;
use crate::spec::channel::Channel;
use crate::vocab::Builder;

/// The keys of a `type = "webhook"` alert beyond the common ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    url: Option<Secret>,
    headers: Option<BTreeMap<String, Secret>>,
}

pub const KIND: ChannelKind = ChannelKind {
    name: "webhook",
    keys: serde_introspect::<Keys>,
    secret_keys: &["url"],
    secret_tables: &["headers"],
    build: |table, b| build(&b.keys(table)?, b),
};

/// A channel that POSTs a JSON payload made from the digest, knowing its
/// receiver's final answers: Discord, Slack and the generic webhook.
pub struct JsonPost {
    url: String,
    headers: Vec<(String, String)>,
    payload: fn(&Digest) -> Value,
    is_final: fn(u16, &str) -> bool,
}

impl JsonPost {
    pub fn new(
        url: String,
        payload: fn(&Digest) -> Value,
        is_final: fn(u16, &str) -> bool,
    ) -> JsonPost {
        JsonPost {
            url,
            headers: Vec::new(),
            payload,
            is_final,
        }
    }
}

/// The channel's `url`: required, http(s).
pub fn http_url(url: &Option<Secret>, b: &mut Builder) -> Option<String> {
    let url = b.required("url", url)?.expose().to_string();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        b.error("url", "must start with https:// (or http://)");
        return None;
    }
    Some(url)
}

/// The channel's `headers`, as sent.
pub fn headers(headers: &Option<BTreeMap<String, Secret>>) -> Vec<(String, String)> {
    headers
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect()
}

fn build(keys: &Keys, b: &mut Builder) -> Option<Box<dyn Channel>> {
    let url = http_url(&keys.url, b)?;
    let headers = headers(&keys.headers);
    let mut channel = JsonPost::new(url, payload, http::never_final);
    channel.headers = headers;
    Some(Box::new(channel))
}

impl Channel for JsonPost {
    fn deliver(&self, digest: &Digest, budget: Budget) -> Result<(), Failure> {
        let mut request = HttpRequest::post_json(&self.url, &(self.payload)(digest));
        request.headers.extend(self.headers.iter().cloned());
        http::send(&request, budget, self.is_final)
    }
}

pub fn payload(digest: &Digest) -> Value {
    let mut body = json!({
        "title": super::message::title(digest),
        "status": digest.status(),
        "host": digest.host,
        "at": digest.at,
        "events": digest.events,
        "suppressed": digest.suppressed,
    });
    if !digest.held_back.is_empty() {
        body["held_back"] = json!(digest.held_back);
    }
    if !digest.still_failing.is_empty() {
        body["still_failing"] = json!(digest.still_failing);
    }
    if let Some(url) = &digest.details {
        body["details"] = Value::String(url.clone());
    }
    body
}
