//! Delivering a channel's HTTP request, the same way for every HTTP
//! channel: one overall budget (the channel's timeout within the run's
//! deadline, and a number of tries), 429 honours `Retry-After` (the
//! header, or Discord's `retry_after` in the body) while the wait fits,
//! 5xx and transport errors are retried with backoff while tries are left.
//! Only the answers the channel calls final (`is_final`, e.g. Discord's
//! 404 for a deleted webhook) end a digest's life on the channel; any
//! other failure is worth another try on a later run. Nothing here prints a
//! URL: channel URLs hold secrets.

use std::io::Read;
use std::time::{Duration, Instant};

use ureq::Agent;
use ureq::http::{Method, Request};

use crate::spec::channel::{Budget, Failure};

/// One HTTP request, built by a channel's pure `payload`. Its URL and
/// headers may hold secrets (webhook paths, bot tokens, `Authorization`),
/// so its `Debug` shows neither.
#[derive(Clone, PartialEq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &"***")
            .field("headers", &self.headers.len())
            .field("body_bytes", &self.body.len())
            .finish()
    }
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
/// Most of a response body kept for an error message.
const BODY_KEPT: u64 = 64 * 1024;

/// Is this answer (status, body) known to be final? For receivers whose
/// failures all may pass.
pub fn never_final(_status: u16, _body: &str) -> bool {
    false
}

/// Send `request` until it is accepted (2xx), or the budget's tries or
/// time are spent, or the receiver gives an answer `is_final` knows.
pub fn send(
    request: &HttpRequest,
    budget: Budget,
    is_final: fn(u16, &str) -> bool,
) -> Result<(), Failure> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let remaining = budget.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::retry("no time left in the channel's timeout"));
        }
        let (wait, failure) = match attempt(request, remaining, is_final) {
            Ok(()) => return Ok(()),
            Err(Attempt::Final(f)) => return Err(f),
            Err(Attempt::RetryAfter(wait, f)) => (wait, f),
            Err(Attempt::Backoff(f)) => {
                let wait = backoff;
                backoff *= 2;
                (wait, f)
            }
        };
        if attempts >= budget.tries || Instant::now() + wait >= budget.deadline {
            return Err(failure);
        }
        std::thread::sleep(wait);
    }
}

enum Attempt {
    /// Not worth another try in this run.
    Final(Failure),
    /// The receiver said when to come back.
    RetryAfter(Duration, Failure),
    /// Try again after a growing pause.
    Backoff(Failure),
}

fn attempt(
    request: &HttpRequest,
    timeout: Duration,
    is_final: fn(u16, &str) -> bool,
) -> Result<(), Attempt> {
    // No redirect is followed: it would carry the channel's headers to
    // wherever it points, and a POST redirected by 301, 302 or 303 becomes
    // a GET without its body (an alert "delivered" and lost).
    let config = Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build();
    let agent = Agent::new_with_config(config);
    let method = Method::from_bytes(request.method.as_bytes())
        .map_err(|e| Attempt::Final(Failure::retry(e.to_string())))?;
    let mut builder = Request::builder().method(method).uri(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let built = builder
        .body(request.body.clone())
        .map_err(|e| Attempt::Final(Failure::retry(format!("invalid request: {e}"))))?;
    let mut response = agent
        .run(built)
        .map_err(|e| Attempt::Backoff(Failure::retry(transport(&e))))?;
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    if (300..400).contains(&status) {
        let to = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("nowhere");
        let to: String = to.chars().take(200).collect();
        return Err(Attempt::Final(Failure::retry(format!(
            "{status} from the receiver: it redirects to {to}, which healthcheck does not follow when delivering (set the url to where it points)"
        ))));
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
    if is_final(status, &body) {
        let what = match status {
            404 => format!("404 Not Found: the webhook or chat does not exist (deleted?) {said}"),
            _ => format!("{status} from the receiver, which means it will never take it: {said}"),
        };
        return Err(Attempt::Final(Failure::refused(what)));
    }
    match status {
        429 => {
            let seconds = retry_after_header
                .or_else(|| discord_retry_after(&body))
                .unwrap_or(1.0)
                .clamp(0.0, 24.0 * 3600.0);
            let wait = Duration::from_secs_f64(seconds);
            let mut failure =
                Failure::retry(format!("429 Too Many Requests (retry after {seconds}s)"));
            failure.retry_after = Some(wait);
            Err(Attempt::RetryAfter(wait, failure))
        }
        500..=599 => Err(Attempt::Backoff(Failure::retry(format!(
            "{status} from the receiver: {said}"
        )))),
        // Another 4xx: a misconfiguration that a fix may cure; the digest
        // waits, and the fallback takes it after `fallback_after`.
        _ => Err(Attempt::Final(Failure::retry(format!(
            "{status} from the receiver: {said}"
        )))),
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
