//! `email`: the digest as a plain-text mail over SMTP, for whoever reads
//! mail rather than a chat, and the usual `fallback` when a chat webhook
//! is down. TLS by default (implicit on 465, or STARTTLS required on 587);
//! plain SMTP only to a relay on this machine, so neither the alert nor
//! the password crosses a network in the clear. The whole exchange,
//! name lookup included, stays within the run's deadline.

use serde::Deserialize;
use serde_aux::serde_introspection::serde_introspect;
use std::io::ErrorKind;
use std::net::IpAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};

use super::{ChannelKind, message};
use crate::http::{Budget, Failure};
use crate::model::Digest;
use crate::model::Unit;
use crate::secret::Secret;
use crate::spec::channel::Channel;
use crate::vocab::Builder;

/// The keys of a `type = "email"` alert beyond the common ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    host: Option<String>,
    port: Option<u16>,
    tls: Option<String>,
    username: Option<String>,
    password: Option<Secret>,
    from: Option<String>,
    to: Option<Vec<String>>,
}

pub const KIND: ChannelKind = ChannelKind {
    name: "email",
    keys: serde_introspect::<Keys>,
    secret_keys: &["password"],
    secret_tables: &[],
    build: |table, b| build(&b.keys(table)?, b),
};

struct EmailChannel {
    host: String,
    port: u16,
    tls: Tls,
    login: Option<(String, Secret)>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

fn build(keys: &Keys, b: &mut Builder) -> Option<Box<dyn Channel>> {
    let host = b.required("host", &keys.host);
    let from = b
        .required("from", &keys.from)
        .and_then(|f| mailbox(b, "from", f));
    let to = b
        .required("to", &keys.to)
        .and_then(|list| recipients(b, list));
    let login = login(keys, b);
    let host = host?;
    let (tls, default_port) = tls(keys.tls.as_deref(), host, b)?;
    let port = keys.port.unwrap_or(default_port);
    if port == 0 {
        b.error("port", "must be from 1 to 65535");
        return None;
    }
    Some(Box::new(EmailChannel {
        host: host.clone(),
        port,
        tls,
        login: login?,
        from: from?,
        to: to?,
    }))
}

fn mailbox(b: &mut Builder, key: &str, text: &str) -> Option<Mailbox> {
    text.parse()
        .map_err(|e| {
            b.error(
                key,
                format!("\"{text}\" is not a mail address ({e}): write \"alerts@example.com\" or \"Alerts <alerts@example.com>\""),
            )
        })
        .ok()
}

fn recipients(b: &mut Builder, list: &[String]) -> Option<Vec<Mailbox>> {
    if list.is_empty() {
        b.error("to", "needs at least one address");
        return None;
    }
    let parsed: Vec<Option<Mailbox>> = list.iter().map(|t| mailbox(b, "to", t)).collect();
    parsed.into_iter().collect()
}

/// `username` and `password`, both or neither.
fn login(keys: &Keys, b: &mut Builder) -> Option<Option<(String, Secret)>> {
    match (&keys.username, &keys.password) {
        (Some(user), Some(password)) => {
            // AUTH PLAIN sends both in one base64 word, which a hostile
            // server may echo in its refusal.
            crate::secret::register(&format!("\0{user}\0{}", password.expose()));
            Some(Some((user.clone(), password.clone())))
        }
        (None, None) => Some(None),
        (Some(_), None) => {
            b.error(
                "password",
                "missing key `password`: `username` and `password` go together",
            );
            None
        }
        (None, Some(_)) => {
            b.error(
                "username",
                "missing key `username`: `username` and `password` go together",
            );
            None
        }
    }
}

/// The `tls` mode and its default port.
fn tls(mode: Option<&str>, host: &str, b: &mut Builder) -> Option<(Tls, u16)> {
    let params = |b: &mut Builder| {
        TlsParameters::new(host.to_string())
            .map_err(|e| b.error("host", format!("\"{host}\" cannot be checked by TLS: {e}")))
            .ok()
    };
    match mode {
        None | Some("tls") => Some((Tls::Wrapper(params(b)?), 465)),
        Some("starttls") => Some((Tls::Required(params(b)?), 587)),
        Some("none") if is_loopback(host) => {
            b.warn(
                "tls",
                format!("email alerts to {host} are sent without TLS"),
            );
            Some((Tls::None, 25))
        }
        Some("none") => {
            b.error(
                "tls",
                format!(
                    "\"none\" sends mail in the clear, so it is only allowed to this machine \
                     (localhost, 127.0.0.1, ::1), not to \"{host}\": use \"tls\" or \"starttls\""
                ),
            );
            None
        }
        Some(other) => {
            b.error(
                "tls",
                format!("must be \"tls\", \"starttls\" or \"none\", not \"{other}\""),
            );
            None
        }
    }
}

/// `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The mail for a digest: its title as the subject, its text as the body,
/// dated when the run saw the events (a digest retried from the outbox
/// keeps its time).
fn compose(digest: &Digest, from: &Mailbox, to: &[Mailbox]) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(super::message::title(digest))
        .message_id(Some(message_id(digest)))
        .date(SystemTime::from(digest.at))
        .header(ContentType::TEXT_PLAIN);
    for mailbox in to {
        builder = builder.to(mailbox.clone());
    }
    builder
        .body(message::text(digest))
        .map_err(|e| e.to_string())
}

/// A Message-ID that is the same each time the same digest is tried (the
/// outbox retries it), so that a mail that did arrive twice is shown once.
fn message_id(digest: &Digest) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in message::text(digest).bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let host: String = digest
        .host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    let host = if host.is_empty() { "localhost" } else { &host };
    format!(
        "<healthcheck.{}.{hash:016x}@{host}>",
        digest.at.as_nanosecond()
    )
}

impl EmailChannel {
    /// "host:port", with an IPv6 address in brackets.
    fn server(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    fn transport(&self, timeout: Duration) -> SmtpTransport {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let mut builder = SmtpTransport::builder_dangerous(host)
            .port(self.port)
            .tls(self.tls.clone())
            .timeout(Some(timeout));
        if let Some((user, password)) = &self.login {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        builder.build()
    }

    fn no_answer(&self, timeout: Duration) -> Failure {
        Failure::retry(format!(
            "{}: no answer within {}",
            self.server(),
            Unit::Seconds.show(timeout.as_secs_f64())
        ))
    }

    /// Only a 5xx refusal of the recipient (550, 551, 553: no such
    /// mailbox, not local, name not allowed) is final; anything else
    /// (refused, timeout, 4xx, TLS trouble, no STARTTLS, a failed login)
    /// may pass with a fix, so the digest waits, and goes to the fallback
    /// after `fallback_after`.
    fn failure(&self, e: &lettre::transport::smtp::Error, timeout: Duration) -> Failure {
        let server = self.server();
        if e.is_timeout() {
            return self.no_answer(timeout);
        }
        if io_kind(e) == Some(ErrorKind::ConnectionRefused) {
            return Failure::retry(format!("{server}: connection refused"));
        }
        // lettre calls a server that cannot do what the config asks an
        // "internal client error"; its own words say it better.
        let detail = match std::error::Error::source(e) {
            Some(source) if e.is_client() => source.to_string(),
            _ => e.to_string(),
        };
        // The server's own words may repeat what was sent to it.
        let text = format!("{server}: {}", one_line(&crate::secret::redact(&detail)));
        let recipient_refused = e.is_permanent()
            && e.status()
                .is_some_and(|code| matches!(code.to_string().as_str(), "550" | "551" | "553"));
        if recipient_refused {
            Failure::refused(text)
        } else {
            Failure::retry(text)
        }
    }
}

impl Channel for EmailChannel {
    fn deliver(&self, digest: &Digest, budget: Budget) -> Result<(), Failure> {
        let mail = compose(digest, &self.from, &self.to)
            .map_err(|e| Failure::retry(format!("cannot write the mail: {e}")))?;
        let left = budget.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.no_answer(left));
        }
        let transport = self.transport(left);
        // On a thread of its own: lettre's timeout is per read or write and
        // the name lookup has none, so only this bounds the whole exchange.
        // A send still running at the deadline is abandoned.
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("email-send".into())
            .spawn(move || {
                // The receiver may have given up; nothing to do then.
                let _ = tx.send(transport.send(&mail));
            });
        if let Err(e) = spawned {
            return Err(Failure::retry(format!("cannot start a thread: {e}")));
        }
        match rx.recv_timeout(left) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.failure(&e, left)),
            Err(_) => Err(self.no_answer(left)),
        }
    }
}

/// The kind of the first I/O error behind a lettre error.
fn io_kind(e: &lettre::transport::smtp::Error) -> Option<ErrorKind> {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::model::Status;
    use crate::model::{Event, EventKind};

    const GOOD: &str = "host = \"smtp.example.com\"\nfrom = \"vps-1 <alerts@example.com>\"\nto = [\"ops@example.com\"]\n";

    fn config(keys: &str) -> String {
        format!("[[alert]]\ntype = \"email\"\n{keys}")
    }

    #[track_caller]
    fn errors(keys: &str) -> String {
        match load_str("t.toml", &config(keys)) {
            Ok(_) => panic!("accepted:\n{keys}"),
            Err(e) => e.to_string(),
        }
    }

    fn digest() -> Digest {
        Digest::sample(vec![
            Event::sample(
                EventKind::Problem,
                "watchlist",
                Status::Critical,
                "last update 18m ago (crit above 15m)",
            )
            .hinted("Check market-data-worker service"),
        ])
    }

    /// The server a channel would use, seen through a deadline already past:
    /// it fails at once, naming it, without touching the network.
    fn server(keys: &str) -> String {
        let config = load_str("t.toml", &config(keys)).unwrap_or_else(|e| panic!("{e}"));
        let spec = &config.alerts[0];
        assert_eq!((spec.kind, spec.name.as_str()), ("email", "email"));
        let budget = Budget {
            deadline: Instant::now(),
            tries: 1,
        };
        let failure = spec.channel.deliver(&digest(), budget).unwrap_err();
        assert!(failure.retry, "{failure:?}");
        failure
            .message
            .split(": no answer")
            .next()
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_port_follows_the_tls_mode() {
        assert_eq!(server(GOOD), "smtp.example.com:465");
        assert_eq!(
            server(&format!("{GOOD}tls = \"starttls\"\n")),
            "smtp.example.com:587"
        );
        assert_eq!(
            server(&format!("{GOOD}tls = \"tls\"\nport = 2465\n")),
            "smtp.example.com:2465"
        );
        let local = GOOD.replace("smtp.example.com", "127.0.0.1");
        assert_eq!(server(&format!("{local}tls = \"none\"\n")), "127.0.0.1:25");
        let v6 = GOOD.replace("smtp.example.com", "::1");
        assert_eq!(
            server(&format!("{v6}tls = \"none\"\nport = 2525\n")),
            "[::1]:2525"
        );
    }

    #[test]
    fn host_from_and_to_are_required() {
        let e = errors("");
        for key in ["host", "from", "to"] {
            assert!(e.contains("alert \"email\""), "{e}");
            assert!(e.contains(&format!("missing key {key}")), "{e}");
        }
        let e = errors(&GOOD.replace("[\"ops@example.com\"]", "[]"));
        assert!(e.contains("alert \"email\" to"), "{e}");
        assert!(e.contains("needs at least one address"), "{e}");
        let e = errors(&format!("{GOOD}port = 0\n"));
        assert!(e.contains("alert \"email\" port"), "{e}");
        assert!(e.contains("must be from 1 to 65535"), "{e}");
    }

    #[test]
    fn every_address_must_parse() {
        let e = errors(&GOOD.replace("vps-1 <alerts@example.com>", "alerts at example"));
        assert!(e.contains("alert \"email\" from"), "{e}");
        assert!(
            e.contains("\"alerts at example\" is not a mail address"),
            "{e}"
        );
        let e = errors(&GOOD.replace("\"ops@example.com\"", "\"ops@example.com\", \"nobody\""));
        assert!(e.contains("alert \"email\" to"), "{e}");
        assert!(e.contains("\"nobody\" is not a mail address"), "{e}");
    }

    #[test]
    fn tls_is_one_of_three_and_none_only_to_this_machine() {
        let e = errors(&format!("{GOOD}tls = \"ssl\"\n"));
        assert!(e.contains("alert \"email\" tls"), "{e}");
        assert!(
            e.contains("must be \"tls\", \"starttls\" or \"none\", not \"ssl\""),
            "{e}"
        );
        let e = errors(&format!("{GOOD}tls = \"none\"\n"));
        assert!(e.contains("alert \"email\" tls"), "{e}");
        assert!(e.contains("not to \"smtp.example.com\""), "{e}");
        for host in ["10.0.0.1", "localhost.example.com", "::2"] {
            let e = errors(&format!(
                "{}tls = \"none\"\n",
                GOOD.replace("smtp.example.com", host)
            ));
            assert!(e.contains("only allowed to this machine"), "{host}: {e}");
        }
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
    }

    #[test]
    fn username_and_password_go_together() {
        let e = errors(&format!("{GOOD}username = \"alerts\"\n"));
        assert!(e.contains("alert \"email\": missing key `password`"), "{e}");
        assert!(e.contains("go together"), "{e}");
        let e = errors(&format!("{GOOD}password = \"hunter2-smtp\"\n"));
        assert!(e.contains("missing key `username`"), "{e}");
        assert!(!e.contains("hunter2-smtp"), "{e}");
        let both = format!("{GOOD}username = \"alerts\"\npassword = \"hunter2-smtp\"\n");
        assert!(load_str("t.toml", &config(&both)).is_ok());
    }

    #[test]
    fn the_mail_is_the_digest_in_plain_text() {
        let from: Mailbox = "vps-1 <alerts@example.com>".parse().unwrap();
        let to: Vec<Mailbox> = vec![
            "ops@example.com".parse().unwrap(),
            "Backup <backup@example.com>".parse().unwrap(),
        ];
        let d = digest();
        let mail = compose(&d, &from, &to).unwrap();
        let text = String::from_utf8(mail.formatted()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let headers: Vec<&str> = head
            .split("\r\n")
            .filter(|h| !h.starts_with("Message-ID:"))
            .collect();
        assert_eq!(
            headers,
            [
                "From: vps-1 <alerts@example.com>",
                "Subject: [CRITICAL] vps-1: 1 problem",
                "Date: Sun, 22 Nov 2026 05:00:00 +0000",
                "Content-Type: text/plain; charset=utf-8",
                "To: ops@example.com, Backup <backup@example.com>",
                "Content-Transfer-Encoding: 7bit",
            ]
        );
        assert_eq!(body.replace("\r\n", "\n"), message::text(&d));
        let envelope = mail.envelope();
        assert_eq!(envelope.from().unwrap().to_string(), "alerts@example.com");
        let rcpt: Vec<String> = envelope.to().iter().map(|a| a.to_string()).collect();
        assert_eq!(rcpt, ["ops@example.com", "backup@example.com"]);
    }
}
