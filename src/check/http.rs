//! `http`: does a web endpoint answer, with the expected status and body?
//! A bot's health endpoint, a dashboard, an exchange API. One request per
//! run, with the whole exchange (lookup, connect, TLS, headers, body) inside
//! the check's timeout. TLS is verified unless `insecure = true`, and then
//! the message says so. Header values may be secrets: they are never shown,
//! and error texts pass through `secret::redact`.

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use regex::bytes::Regex;
use ureq::Agent;
use ureq::http::header::{HeaderName, HeaderValue};
use ureq::http::{Method, Request, StatusCode, Uri};
use ureq::tls::TlsConfig;

use super::{Keys, Kind, Metric, Record, Secret, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::{Outcome, Status, Unit};
use crate::secret::redact;
use crate::spec::probe::{Probe, ProbeContext};
use crate::vocab::Builder;

pub const KIND: Kind = Kind {
    secrets: &[Secret::Value("headers")],
    from_file: &["url"],
    ..Kind::new("http", Keys::of::<HttpKeys>(), &[&LATENCY, &STATUS])
};

pub const LATENCY: Metric = Metric::new("latency", Unit::Seconds);
pub const STATUS: Metric = Metric::new("status", Unit::Number);

/// The keys of a `http` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpKeys {
    url: Option<String>,
    method: Option<String>,
    status: Option<Vec<u16>>,
    body: Option<String>,
    headers: Option<std::collections::BTreeMap<String, crate::secret::Secret>>,
    insecure: Option<bool>,
}

impl TypeKeys for HttpKeys {
    fn build(&self, _common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, b)
    }
}

/// The most of a response body read to match `body` against.
const BODY_LIMIT: u64 = 1024 * 1024;

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

struct HttpCheck {
    url: Uri,
    method: Method,
    expected: Vec<u16>,
    body: Option<Regex>,
    headers: Vec<(HeaderName, HeaderValue)>,
    insecure: bool,
}

fn build(raw: &HttpKeys, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let url = b
        .required("url", &raw.url)
        .and_then(|u| match parse_url(u) {
            Ok(uri) => Some(uri),
            Err(why) => {
                b.error("url", why);
                None
            }
        });
    let method = match raw.method.as_deref().map(str::to_ascii_uppercase) {
        None => Some(Method::GET),
        Some(m) if METHODS.contains(&m.as_str()) => Method::from_bytes(m.as_bytes()).ok(),
        Some(m) => {
            b.error(
                "method",
                format!("unknown method \"{m}\" (one of: {})", METHODS.join(", ")),
            );
            None
        }
    };
    let expected = raw.status.clone().unwrap_or_else(|| vec![200]);
    if expected.is_empty() {
        b.error("status", "must list at least one status, e.g. [200, 204]");
    }
    if let Some(bad) = expected.iter().find(|s| !(100..=599).contains(*s)) {
        b.error(
            "status",
            format!("{bad} is not an HTTP status (100 to 599)"),
        );
    }
    // Err: the regex is invalid (already reported); the headers are checked all the same.
    let body = raw
        .body
        .as_ref()
        .map(|pattern| b.bytes_regex("body", pattern).ok_or(()))
        .transpose();
    let mut headers = Vec::new();
    for (name, value) in raw.headers.iter().flatten() {
        let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
            b.error("headers", format!("invalid header name \"{name}\""));
            continue;
        };
        let Ok(mut value) = HeaderValue::from_str(value.expose()) else {
            // The value is a secret: say what is wrong without showing it.
            b.error(
                "headers",
                format!("the value of header \"{name}\" holds a character not allowed in a header"),
            );
            continue;
        };
        value.set_sensitive(true);
        headers.push((header, value));
    }
    if raw.insecure == Some(true) {
        b.warn("insecure", "TLS certificates of this URL are not verified");
    }
    Some(Box::new(HttpCheck {
        url: url?,
        method: method?,
        expected,
        body: body.ok()?,
        headers,
        insecure: raw.insecure.unwrap_or(false),
    }))
}

/// An absolute `http://` or `https://` URL with a host.
fn parse_url(text: &str) -> Result<Uri, String> {
    let uri: Uri = text
        .parse()
        .map_err(|e| format!("invalid URL: {e} (write e.g. \"http://127.0.0.1:8080/health\")"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("the URL must start with http:// or https://".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(uri)
}

impl Probe for HttpCheck {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let started = Instant::now();
        let mut uri = self.url.clone();
        let mut method = self.method.clone();
        let mut redirect = Redirect::default();
        let mut response = loop {
            let request = self.request(&method, &uri, &mut redirect)?;
            let response = match self.agent(ctx.remaining()).run(request) {
                Ok(r) => r,
                Err(e) if timed_out(&e) => return Ok(Outcome::no_answer(&self.target_text())),
                Err(e) => {
                    let why = format!("{}{}", failure(&e), redirect.note());
                    return Ok(self.critical(&why));
                }
            };
            let Some(next) = redirect.next(&uri, &response) else {
                break response;
            };
            match next {
                Ok(next) => uri = next,
                Err(why) => {
                    let why = format!("{}: {why}", show_status(response.status()));
                    return Ok(self.critical(&why));
                }
            }
            let status = response.status().as_u16();
            if (status == 303 && method != Method::HEAD)
                || (matches!(status, 301 | 302) && method == Method::POST)
            {
                method = Method::GET;
            }
        };
        // Latency: until the status line and headers arrived.
        let latency = started.elapsed().as_secs_f64();
        let status = response.status();
        let shown = show_status(status);
        let with_readings = |outcome: Outcome| {
            outcome
                .record(&LATENCY, latency)
                .record(&STATUS, f64::from(status.as_u16()))
        };
        if !self.expected.contains(&status.as_u16()) {
            let expected: Vec<String> = self.expected.iter().map(u16::to_string).collect();
            let why = format!(
                "{shown} (expected {}){}",
                expected.join(" or "),
                redirect.note()
            );
            return Ok(with_readings(self.critical(&why)));
        }
        if let Some(pattern) = &self.body {
            let mut body = Vec::new();
            let read = response
                .body_mut()
                .as_reader()
                .take(BODY_LIMIT)
                .read_to_end(&mut body);
            if let Err(e) = read {
                let e = ureq::Error::from(e);
                if timed_out(&e) {
                    return Ok(with_readings(Outcome::no_answer(&self.target_text())));
                }
                let why = failure(&e);
                let why = format!(
                    "{shown}, but reading the body failed: {why}{}",
                    redirect.note()
                );
                return Ok(with_readings(self.critical(&why)));
            }
            if !pattern.is_match(&body) {
                let part = if body.len() as u64 >= BODY_LIMIT {
                    " (in its first 1 MiB)"
                } else {
                    ""
                };
                let why = format!(
                    "{shown}, but the body does not match /{}/{part}{}",
                    pattern.as_str(),
                    redirect.note()
                );
                return Ok(with_readings(self.critical(&why)));
            }
        }
        let message = format!(
            "{} {}: {shown} in {:.1} ms{}{}",
            self.method,
            self.url,
            latency * 1000.0,
            redirect.note(),
            self.tls_note()
        );
        Ok(with_readings(Outcome::ok(redact(&message))))
    }

    fn target(&self) -> Option<String> {
        Some(self.target_text())
    }

    fn on_timeout(&self) -> Status {
        Status::Critical
    }
}

/// The most redirects followed, as browsers and ureq do by default.
const MAX_REDIRECTS: usize = 10;

/// Where redirects led: the last URL, and whether the configured headers
/// were held back from a host that is not the check's own.
#[derive(Default)]
struct Redirect {
    to: Option<Uri>,
    hops: usize,
    headers_held: bool,
}

impl Redirect {
    /// The URL a redirect response points to, if it is one to follow:
    /// `Some(Err)` for a Location that cannot be followed.
    fn next(
        &mut self,
        from: &Uri,
        response: &ureq::http::Response<ureq::Body>,
    ) -> Option<Result<Uri, String>> {
        let status = response.status().as_u16();
        if !matches!(status, 301 | 302 | 303 | 307 | 308) || self.hops >= MAX_REDIRECTS {
            return None;
        }
        let location = response.headers().get("location")?.to_str().ok()?;
        let next = url::Url::parse(&from.to_string())
            .and_then(|base| base.join(location))
            .map_err(|e| format!("cannot follow the redirect to \"{location}\": {e}"))
            .and_then(|u| parse_url(u.as_str()));
        if let Ok(uri) = &next {
            self.to = Some(uri.clone());
            self.hops += 1;
        }
        Some(next)
    }

    /// " (redirected to URL)", with "; headers not sent there" when the
    /// configured headers stayed with the check's own host; "" without a
    /// redirect.
    fn note(&self) -> String {
        match &self.to {
            None => String::new(),
            Some(to) if self.headers_held => {
                format!(" (redirected to {to}; headers not sent there)")
            }
            Some(to) => format!(" (redirected to {to})"),
        }
    }
}

/// Scheme, host and port: where configured headers may go.
fn origin(uri: &Uri) -> (Option<&str>, Option<&str>, Option<u16>) {
    let port = uri.port_u16().or(match uri.scheme_str() {
        Some("https") => Some(443),
        _ => Some(80),
    });
    (uri.scheme_str(), uri.host(), port)
}

impl HttpCheck {
    /// A client for one request within `timeout`. Redirects are followed
    /// here, not by the client, so that the configured headers never
    /// cross to another host (the client strips only Authorization and
    /// Cookie).
    fn agent(&self, timeout: Duration) -> Agent {
        let tls = TlsConfig::builder()
            .disable_verification(self.insecure)
            .build();
        let config = Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls)
            .build();
        Agent::new_with_config(config)
    }

    /// The request to `uri`, with the configured headers when it goes to
    /// the check's own scheme, host and port.
    fn request(
        &self,
        method: &Method,
        uri: &Uri,
        redirect: &mut Redirect,
    ) -> anyhow::Result<Request<()>> {
        let mut request = Request::builder().method(method.clone()).uri(uri.clone());
        if origin(uri) == origin(&self.url) {
            for (name, value) in &self.headers {
                request = request.header(name, value);
            }
        } else if !self.headers.is_empty() {
            redirect.headers_held = true;
        }
        Ok(request.body(())?)
    }

    /// "GET http://host/health: <why>", redacted.
    fn critical(&self, why: &str) -> Outcome {
        let message = format!("{}: {why}{}", self.target_text(), self.tls_note());
        Outcome::critical(redact(&message))
    }

    /// "GET http://host/health", redacted.
    fn target_text(&self) -> String {
        redact(&format!("{} {}", self.method, self.url))
    }

    fn tls_note(&self) -> &'static str {
        if self.insecure && self.url.scheme_str() == Some("https") {
            " (TLS certificate not verified: insecure = true)"
        } else {
            ""
        }
    }
}

/// "503 Service Unavailable".
fn show_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// The request ran out of time: the target did not answer within it.
fn timed_out(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => matches!(io.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock),
        _ => false,
    }
}

/// Why a request got no response, in words.
fn failure(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused => "connection refused".into(),
            _ => io.to_string(),
        },
        ureq::Error::HostNotFound => "host not found".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::thread::JoinHandle;
    use std::time::Duration;

    use super::*;
    use crate::config::load_str;

    fn probe(toml: &str, timeout: Duration) -> Outcome {
        crate::check::probe_first(toml, timeout)
    }

    fn check(url: &str, extra: &str) -> String {
        format!("[[check]]\nname = \"h\"\ntype = \"http\"\nurl = \"{url}\"\n{extra}\n")
    }

    /// What the server received.
    struct Seen {
        method: String,
        headers: Vec<(String, String)>,
    }

    /// A real HTTP server on loopback that answers one request with
    /// `status` and `body`, and tells what it received.
    fn serve_once(status: u16, body: Vec<u8>) -> (String, JoinHandle<Seen>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let handle = std::thread::spawn(move || {
            let request = server
                .recv_timeout(Duration::from_secs(10))
                .unwrap()
                .expect("the check sent no request");
            let seen = Seen {
                method: request.method().to_string(),
                headers: request
                    .headers()
                    .iter()
                    .map(|h| (h.field.to_string(), h.value.to_string()))
                    .collect(),
            };
            let response = tiny_http::Response::from_data(body).with_status_code(status);
            request.respond(response).unwrap();
            seen
        });
        (format!("http://127.0.0.1:{port}/health"), handle)
    }

    #[test]
    fn status_200_is_ok_with_latency_and_status() {
        let (url, server) = serve_once(200, b"ok".to_vec());
        let out = probe(&check(&url, ""), Duration::from_secs(10));
        let seen = server.join().unwrap();
        assert_eq!(seen.method, "GET");
        assert_eq!(out.status, Status::Ok, "{}", out.message);
        assert!(
            out.message.starts_with(&format!("GET {url}: 200 OK in ")),
            "{}",
            out.message
        );
        assert_eq!(out.readings[0].name, "latency");
        assert_eq!(out.readings[0].unit, Unit::Seconds);
        assert!((0.0..5.0).contains(&out.readings[0].value));
        assert_eq!(out.readings[1].name, "status");
        assert_eq!(out.readings[1].value, 200.0);
    }

    #[test]
    fn unexpected_status_is_critical() {
        let (url, server) = serve_once(503, b"down".to_vec());
        let out = probe(&check(&url, ""), Duration::from_secs(10));
        server.join().unwrap();
        assert_eq!(out.status, Status::Critical);
        assert_eq!(
            out.message,
            format!("GET {url}: 503 Service Unavailable (expected 200)")
        );
        assert_eq!(out.readings[1].value, 503.0);
    }

    #[test]
    fn status_list_is_honoured() {
        let (url, server) = serve_once(204, Vec::new());
        let out = probe(&check(&url, "status = [200, 204]"), Duration::from_secs(10));
        server.join().unwrap();
        assert_eq!(out.status, Status::Ok, "{}", out.message);

        let (url, server) = serve_once(404, Vec::new());
        let out = probe(&check(&url, "status = [200, 204]"), Duration::from_secs(10));
        server.join().unwrap();
        assert_eq!(
            out.message,
            format!("GET {url}: 404 Not Found (expected 200 or 204)")
        );
    }

    #[test]
    fn body_must_match() {
        let (url, server) = serve_once(200, br#"{"status":"healthy"}"#.to_vec());
        let out = probe(
            &check(&url, r#"body = '"status":"healthy"'"#),
            Duration::from_secs(10),
        );
        server.join().unwrap();
        assert_eq!(out.status, Status::Ok, "{}", out.message);

        let (url, server) = serve_once(200, br#"{"status":"degraded"}"#.to_vec());
        let out = probe(
            &check(&url, r#"body = '"status":"healthy"'"#),
            Duration::from_secs(10),
        );
        server.join().unwrap();
        assert_eq!(out.status, Status::Critical);
        assert_eq!(
            out.message,
            format!(r#"GET {url}: 200 OK, but the body does not match /"status":"healthy"/"#)
        );
    }

    #[test]
    fn only_the_first_mib_of_the_body_is_read() {
        let mut body = vec![b'a'; 2 * 1024 * 1024];
        body.extend_from_slice(b"NEEDLE");
        let (url, server) = serve_once(200, body);
        let out = probe(&check(&url, "body = 'NEEDLE'"), Duration::from_secs(10));
        assert_eq!(out.status, Status::Critical);
        assert!(
            out.message
                .ends_with("does not match /NEEDLE/ (in its first 1 MiB)"),
            "{}",
            out.message
        );
        // The server may see the connection closed mid-body; either way it ran.
        let _ = server.join();
    }

    #[test]
    fn method_and_headers_are_sent_and_header_values_never_shown() {
        let (url, server) = serve_once(200, Vec::new());
        let extra = "method = \"post\"\nheaders = { Authorization = \"Bearer sk-test-9f8e7d6c\", X-Probe = \"yes\" }";
        let out = probe(&check(&url, extra), Duration::from_secs(10));
        let seen = server.join().unwrap();
        assert_eq!(out.status, Status::Ok, "{}", out.message);
        assert_eq!(seen.method, "POST");
        let header = |name: &str| {
            seen.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("authorization"), Some("Bearer sk-test-9f8e7d6c"));
        assert_eq!(header("x-probe"), Some("yes"));
        assert!(out.message.starts_with(&format!("POST {url}: 200 OK")));
        assert!(!out.message.contains("sk-test"));
        // Header values are registered as secrets when the config is read.
        assert_eq!(redact("got Bearer sk-test-9f8e7d6c"), "got ***");
    }

    /// A server on loopback that answers one request with a redirect to
    /// `location`, and tells what it received.
    fn redirect_once(status: u16, location: String) -> (String, JoinHandle<Seen>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let handle = std::thread::spawn(move || {
            let request = server
                .recv_timeout(Duration::from_secs(10))
                .unwrap()
                .expect("the check sent no request");
            let seen = Seen {
                method: request.method().to_string(),
                headers: request
                    .headers()
                    .iter()
                    .map(|h| (h.field.to_string(), h.value.to_string()))
                    .collect(),
            };
            let header = tiny_http::Header::from_bytes("Location", location).unwrap();
            let response = tiny_http::Response::empty(status).with_header(header);
            request.respond(response).unwrap();
            seen
        });
        (format!("http://127.0.0.1:{port}/start"), handle)
    }

    fn has_header(seen: &Seen, name: &str) -> bool {
        seen.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    #[test]
    fn custom_headers_followed_a_redirect_to_another_host() {
        // 127.0.0.2 is loopback too, but another host.
        let elsewhere = tiny_http::Server::http("127.0.0.2:0").unwrap();
        let port = elsewhere.server_addr().to_ip().unwrap().port();
        let landing = format!("http://127.0.0.2:{port}/landing");
        let other = std::thread::spawn(move || {
            let request = elsewhere
                .recv_timeout(Duration::from_secs(10))
                .unwrap()
                .expect("the redirect was not followed");
            let headers: Vec<(String, String)> = request
                .headers()
                .iter()
                .map(|h| (h.field.to_string(), h.value.to_string()))
                .collect();
            request.respond(tiny_http::Response::empty(200)).unwrap();
            headers
        });
        let (url, first) = redirect_once(302, landing.clone());
        let extra = "headers = { X-Api-Key = \"key-0xBADC0DE\" }";
        let out = probe(&check(&url, extra), Duration::from_secs(10));
        assert!(has_header(&first.join().unwrap(), "x-api-key"));
        let seen = Seen {
            method: String::new(),
            headers: other.join().unwrap(),
        };
        assert!(
            !has_header(&seen, "x-api-key"),
            "the key went to another host: {:?}",
            seen.headers
        );
        assert_eq!(out.status, Status::Ok, "{}", out.message);
        assert!(
            out.message.contains(&format!("redirected to {landing}")),
            "{}",
            out.message
        );
        assert!(out.message.contains("headers not sent"), "{}", out.message);
    }

    #[test]
    fn custom_headers_still_go_to_a_redirect_on_the_same_host_and_port() {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let handle = std::thread::spawn(move || {
            let mut probes = Vec::new();
            for answer in [301, 200] {
                let request = server
                    .recv_timeout(Duration::from_secs(10))
                    .unwrap()
                    .expect("the check sent no request");
                probes.push(request.headers().iter().any(|h| h.field.equiv("X-Probe")));
                let location = tiny_http::Header::from_bytes("Location", "/landing").unwrap();
                let response = tiny_http::Response::empty(answer).with_header(location);
                request.respond(response).unwrap();
            }
            probes
        });
        let url = format!("http://127.0.0.1:{port}/start");
        let out = probe(
            &check(&url, "headers = { X-Probe = \"yes\" }"),
            Duration::from_secs(10),
        );
        assert_eq!(handle.join().unwrap(), [true, true]);
        assert_eq!(out.status, Status::Ok, "{}", out.message);
        let landing = format!("http://127.0.0.1:{port}/landing");
        assert!(
            out.message.contains(&format!("redirected to {landing}")),
            "{}",
            out.message
        );
    }

    #[test]
    fn a_body_that_stalls_ends_at_the_timeout() {
        // Headers promise 100 bytes; 7 arrive, then nothing.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial";
            std::io::Write::write_all(&mut stream, head.as_bytes()).unwrap();
            let _ = wait.recv_timeout(Duration::from_secs(10));
        });
        let started = Instant::now();
        let out = probe(&check(&url, "body = 'healthy'"), Duration::from_millis(500));
        let took = started.elapsed();
        drop(done);
        server.join().unwrap();
        assert_eq!(out.status, Status::Critical);
        assert_eq!(out.message, format!("GET {url}: no answer within 0.5s"));
        assert!(took < Duration::from_secs(5), "{took:?}");
    }

    #[test]
    fn a_closed_port_is_refused() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/");
        let out = probe(&check(&url, ""), Duration::from_secs(10));
        assert_eq!(out.status, Status::Critical);
        assert_eq!(out.message, format!("GET {url}: connection refused"));
        assert!(out.readings.is_empty());
    }

    #[test]
    fn a_server_that_never_answers_ends_at_the_timeout() {
        // The kernel accepts the connection into the backlog; nobody reads
        // the request or answers it.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let started = Instant::now();
        let out = probe(&check(&url, ""), Duration::from_millis(500));
        let took = started.elapsed();
        assert_eq!(out.status, Status::Critical);
        assert_eq!(out.message, format!("GET {url}: no answer within 0.5s"));
        assert!(took >= Duration::from_millis(400), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
    }

    #[test]
    fn an_unknown_host_is_critical() {
        let out = probe(
            &check("http://no-such-host.invalid/", ""),
            Duration::from_secs(10),
        );
        assert_eq!(out.status, Status::Critical);
        // The resolver's own words follow ("Name or service not known").
        assert!(
            out.message
                .starts_with("GET http://no-such-host.invalid/: failed to lookup address"),
            "{}",
            out.message
        );
    }

    /// `openssl s_server` with a fresh self-signed certificate for
    /// 127.0.0.1: a real TLS server that no root store trusts.
    struct TlsServer {
        child: std::process::Child,
        port: u16,
        _dir: tempfile::TempDir,
    }

    impl TlsServer {
        fn start() -> Option<TlsServer> {
            use std::process::{Command, Stdio};
            let dir = tempfile::tempdir().unwrap();
            let made = Command::new("openssl")
                .current_dir(dir.path())
                .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
                .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
                .args([
                    "-keyout",
                    "key.pem",
                    "-out",
                    "cert.pem",
                    "-subj",
                    "/CN=localhost",
                ])
                .args(["-addext", "subjectAltName=IP:127.0.0.1"])
                .args(["-addext", "basicConstraints=critical,CA:FALSE"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            match made {
                Ok(status) => assert!(status.success(), "openssl req failed"),
                Err(e) => {
                    assert!(
                        std::env::var("CI").as_deref() != Ok("true"),
                        "openssl is needed for the TLS test: {e}"
                    );
                    eprintln!("skipped: openssl is not available ({e})");
                    return None;
                }
            }
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new("openssl")
                .current_dir(dir.path())
                .args([
                    "s_server", "-quiet", "-www", "-cert", "cert.pem", "-key", "key.pem",
                ])
                .args(["-accept", &format!("127.0.0.1:{port}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let server = TlsServer {
                child,
                port,
                _dir: dir,
            };
            let until = Instant::now() + Duration::from_secs(10);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < until, "openssl s_server did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
            Some(server)
        }
    }

    impl Drop for TlsServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[test]
    fn tls_is_verified_unless_insecure() {
        let Some(server) = TlsServer::start() else {
            return;
        };
        let url = format!("https://127.0.0.1:{}/", server.port);
        let out = probe(&check(&url, ""), Duration::from_secs(10));
        assert_eq!(out.status, Status::Critical, "{}", out.message);
        assert!(out.message.contains("certificate"), "{}", out.message);
        assert!(!out.message.contains("not verified"), "{}", out.message);

        let out = probe(&check(&url, "insecure = true"), Duration::from_secs(10));
        assert_eq!(out.status, Status::Ok, "{}", out.message);
        assert!(
            out.message
                .ends_with("(TLS certificate not verified: insecure = true)"),
            "{}",
            out.message
        );
    }

    #[track_caller]
    fn config_error(extra: &str, url: &str, expected: &str) {
        let errors = load_str("t.toml", &check(url, extra))
            .err()
            .expect("the config should be rejected")
            .to_string();
        assert!(errors.contains(expected), "{errors}");
    }

    #[test]
    fn config_is_validated() {
        let ok = "http://127.0.0.1/";
        config_error(
            "",
            "ftp://example.com/",
            "url: the URL must start with http:// or https://",
        );
        config_error("", "/health", "url: the URL must start with http");
        config_error("", "http://exa mple.com/", "url: invalid URL");
        config_error("method = \"FETCH\"", ok, "method: unknown method \"FETCH\"");
        config_error("status = []", ok, "status: must list at least one status");
        config_error(
            "status = [200, 999]",
            ok,
            "status: 999 is not an HTTP status",
        );
        config_error("body = '('", ok, "body: invalid regex");
        // Every error at once: a bad body regex does not hide a bad header.
        config_error(
            "body = '('\nheaders = { \"bad name\" = \"x\" }",
            ok,
            "invalid header name",
        );
        config_error(
            "headers = { \"bad name\" = \"x\" }",
            ok,
            "invalid header name \"bad name\"",
        );
        let errors = load_str(
            "t.toml",
            &check(ok, "headers = { Authorization = \"tok\\nsecret-value-1\" }"),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            errors.contains("header \"Authorization\" holds a character"),
            "{errors}"
        );
        assert!(!errors.contains("secret-value-1"), "{errors}");
        let missing = "[[check]]\nname = \"h\"\ntype = \"http\"\n";
        let errors = load_str("t.toml", missing).err().unwrap().to_string();
        assert!(errors.contains("missing key url"), "{errors}");
    }
}
