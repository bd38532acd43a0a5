//! The dead man's switch (SPEC 12.5): tell a Healthchecks.io-compatible
//! service that a run started and how it ended, so that someone notices
//! when healthcheck itself stops running. `<url>/start` at the start,
//! then `<url>` for exit 0 or `<url>/<exit code>`, with the summary as body.
//! The URL is a secret; failures are reported without it.

use std::time::Instant;

use crate::notify::Failure;
use crate::notify::http::{self, HttpRequest};

#[derive(Debug, Clone)]
pub struct Ping {
    url: String,
}

impl Ping {
    pub fn new(url: String) -> Ping {
        Ping {
            url: url.trim_end_matches('/').to_string(),
        }
    }

    fn request(&self, suffix: &str, body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST",
            url: format!("{}{suffix}", self.url),
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// `<url>/start`.
    pub fn start(&self, deadline: Instant) -> Result<(), Failure> {
        http::send(&self.request("/start", ""), deadline)
    }

    /// `<url>` for exit code 0, `<url>/<code>` otherwise, with `summary`.
    pub fn finish(&self, exit_code: u8, summary: &str, deadline: Instant) -> Result<(), Failure> {
        let suffix = if exit_code == 0 {
            String::new()
        } else {
            format!("/{exit_code}")
        };
        http::send(&self.request(&suffix, summary), deadline)
    }
}
