//! The dead man's switch (SPEC 12.5): tell a Healthchecks.io-compatible
//! service that a run started and how it ended, so that someone notices
//! when healthcheck itself stops running. `<url>/start` at the start,
//! then `<url>` for exit 0 or `<url>/<exit code>`, with the summary as body.
//! The URL is a secret; failures are reported without it.

use std::time::{Duration, Instant};

use crate::notify::http::{self, HttpRequest};
use crate::notify::{Budget, Failure};
use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct Ping {
    url: Secret,
    /// The most one ping may take (`[ping] timeout`, default 10s).
    pub timeout: Duration,
}

impl Ping {
    pub fn new(url: String, timeout: Duration) -> Ping {
        Ping {
            url: Secret::new(url.trim_end_matches('/').to_string()),
            timeout,
        }
    }

    /// Its own timeout, and never past the run's `deadline`.
    fn budget(&self, deadline: Instant) -> Budget {
        Budget::within(self.timeout, deadline)
    }

    fn request(&self, suffix: &str, body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST",
            url: format!("{}{suffix}", self.url.expose()),
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// `<url>/start`.
    pub fn start(&self, deadline: Instant) -> Result<(), Failure> {
        http::send(
            &self.request("/start", ""),
            self.budget(deadline),
            http::never_final,
        )
    }

    /// `<url>` for exit code 0, `<url>/<code>` otherwise, with `summary`.
    pub fn finish(&self, exit_code: u8, summary: &str, deadline: Instant) -> Result<(), Failure> {
        let suffix = if exit_code == 0 {
            String::new()
        } else {
            format!("/{exit_code}")
        };
        http::send(
            &self.request(&suffix, summary),
            self.budget(deadline),
            http::never_final,
        )
    }
}
