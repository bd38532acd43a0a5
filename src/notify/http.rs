//! Delivering a channel's HTTP request, the same way for every HTTP
//! channel: one overall timeout (the run's deadline), 429 honours
//! `Retry-After` (the header, or Discord's `retry_after` in the body) while
//! the wait fits before the deadline, 5xx and transport errors are retried
//! with backoff within the deadline, a 404 (a deleted webhook) is not
//! retried at all. Nothing here prints a URL: channel URLs hold secrets.

use std::io::Read;
use std::time::{Duration, Instant};

use ureq::Agent;
use ureq::http::{Method, Request};

use super::Failure;

/// One HTTP request, built by a channel's pure `payload`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn post_json(url: &str, body: &serde_json::Value) -> HttpRequest {
        HttpRequest {
            method: "POST",
            url: url.to_string(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(body).expect("JSON values serialize"),
        }
    }
}

/// The first wait after a 5xx or transport error; doubled each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Tries per digest in one run (waits of 0.5 s, 1 s, 2 s between them):
/// a receiver that is down costs a run seconds, not its whole deadline.
const MAX_ATTEMPTS: u32 = 4;
/// Most of a response body kept for an error message.
const BODY_KEPT: u64 = 64 * 1024;

/// Send `request` until it is accepted (2xx) or the deadline leaves no room.
pub fn send(request: &HttpRequest, deadline: Instant) -> Result<(), Failure> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::retry("no time left before the run's deadline"));
        }
        let (wait, failure) = match attempt(request, remaining) {
            Ok(()) => return Ok(()),
            Err(Attempt::Final(f)) => return Err(f),
            Err(Attempt::RetryAfter(wait, f)) => (wait, f),
            Err(Attempt::Backoff(f)) => {
                let wait = backoff;
                backoff *= 2;
                (wait, f)
            }
        };
        if attempts >= MAX_ATTEMPTS || Instant::now() + wait >= deadline {
            return Err(failure);
        }
        std::thread::sleep(wait);
    }
}

enum Attempt {
    /// Not worth another try in this run or a later one.
    Final(Failure),
    /// The receiver said when to come back.
    RetryAfter(Duration, Failure),
    /// Try again after a growing pause.
    Backoff(Failure),
}

fn attempt(request: &HttpRequest, timeout: Duration) -> Result<(), Attempt> {
    let config = Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build();
    let agent = Agent::new_with_config(config);
    let method = Method::from_bytes(request.method.as_bytes())
        .map_err(|e| Attempt::Final(Failure::permanent(e.to_string())))?;
    let mut builder = Request::builder().method(method).uri(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let built = builder
        .body(request.body.clone())
        .map_err(|e| Attempt::Final(Failure::permanent(format!("invalid request: {e}"))))?;
    let mut response = agent
        .run(built)
        .map_err(|e| Attempt::Backoff(Failure::retry(transport(&e))))?;
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let retry_after_header = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok());
    let mut body = String::new();
    let _ = response
        .body_mut()
        .as_reader()
        .take(BODY_KEPT)
        .read_to_string(&mut body);
    let said = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let said: String = said.chars().take(200).collect();
    let failure = |retry: bool, what: String| {
        if retry {
            Failure::retry(what)
        } else {
            Failure::permanent(what)
        }
    };
    match status {
        429 => {
            let seconds = retry_after_header
                .or_else(|| discord_retry_after(&body))
                .unwrap_or(1.0);
            let wait = Duration::from_secs_f64(seconds.clamp(0.0, 3600.0));
            Err(Attempt::RetryAfter(
                wait,
                failure(
                    true,
                    format!("429 Too Many Requests (retry after {seconds}s)"),
                ),
            ))
        }
        404 => Err(Attempt::Final(failure(
            false,
            format!("404 Not Found: the webhook or chat does not exist (deleted?) {said}"),
        ))),
        500..=599 => Err(Attempt::Backoff(failure(
            true,
            format!("{status} from the receiver: {said}"),
        ))),
        _ => Err(Attempt::Final(failure(
            false,
            format!("{status} from the receiver: {said}"),
        ))),
    }
}

/// Discord answers 429 with `{"retry_after": 1.234, ...}` in seconds.
fn discord_retry_after(body: &str) -> Option<f64> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()?
        .get("retry_after")?
        .as_f64()
}

/// A transport error without the URL (it may hold a token).
fn transport(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "no answer before the deadline".into(),
        ureq::Error::Io(io) => format!("connection failed: {}", io.kind()),
        ureq::Error::HostNotFound => "host not found".into(),
        other => format!(
            "request failed: {}",
            other.to_string().split(" for url").next().unwrap_or("")
        ),
    }
}
