//! The `email` channel against a real SMTP server (aiosmtpd) on loopback:
//! the mail arrives with its subject, addresses and body; refusals, 4xx
//! and 5xx replies, a missing STARTTLS, an untrusted certificate and a
//! silent server each end as the right kind of failure, within the
//! deadline, without the password.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use healthcheck::http::{Budget, Failure};
use healthcheck::model::Status;
use healthcheck::model::{Digest, Event, EventKind};
use healthcheck::notify::message;

use crate::harness::{TcpListenerPort, missing};

/// A Python that has aiosmtpd: scripts/test's venv (through
/// HEALTHCHECK_TEST_AIOSMTPD_PYTHON or at target/venv), or the system's
/// (Debian's python3-aiosmtpd).
fn aiosmtpd_python() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/python3");
    std::env::var_os("HEALTHCHECK_TEST_AIOSMTPD_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([venv, PathBuf::from("python3")])
        .find(|python| {
            Command::new(python)
                .args(["-c", "import aiosmtpd"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// A handler that answers every RCPT TO with the reply given on its
/// command line, for the 4xx and 5xx tests.
const REPLY_HANDLER: &str = "\
class Reply:
    def __init__(self, reply):
        self.reply = reply

    @classmethod
    def from_cli(cls, parser, *words):
        return cls(' '.join(words))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return self.reply
";

/// aiosmtpd on a free loopback port, storing what it accepts in a maildir.
/// Killed when dropped, pass or fail.
struct Smtp {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Smtp {
    /// The Mailbox handler: every mail is accepted and kept. `extra`: more
    /// aiosmtpd options (a certificate).
    fn mailbox(extra: &[String]) -> Option<Smtp> {
        Smtp::start(extra, |dir| {
            vec![
                "-c".into(),
                "aiosmtpd.handlers.Mailbox".into(),
                dir.join("mail").display().to_string(),
            ]
        })
    }

    /// Every recipient refused with `reply`, e.g. "550 5.1.1 no such user".
    fn replying(reply: &str) -> Option<Smtp> {
        Smtp::start(&[], |dir| {
            std::fs::write(dir.join("reply.py"), REPLY_HANDLER).unwrap();
            let mut args = vec!["-c".to_string(), "reply.Reply".to_string()];
            args.extend(reply.split_whitespace().map(str::to_string));
            args
        })
    }

    fn start(extra: &[String], handler: impl FnOnce(&Path) -> Vec<String>) -> Option<Smtp> {
        let Some(python) = aiosmtpd_python() else {
            missing(
                "aiosmtpd",
                "no Python with aiosmtpd (scripts/test installs it into target/venv; or apt-get install python3-aiosmtpd)",
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListenerPort::free();
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(extra)
            .args(handler(dir.path()))
            .env("PYTHONPATH", dir.path())
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let smtp = Smtp { child, dir, port };
        let until = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "aiosmtpd did not start on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(smtp)
    }

    /// Every mail received so far, as text.
    fn received(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.path().join("mail/new")) else {
            return Vec::new();
        };
        entries
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SECRET: &str = "smtp-pass-5f1c9e";

fn digest() -> Digest {
    Digest {
        held_back: Vec::new(),
        still_failing: Vec::new(),
        host: "vps-1".into(),
        at: "2026-11-22T05:00:00Z".parse().unwrap(),
        events: vec![
            Event {
                kind: EventKind::Problem,
                subject: "schwab-refresh-token".into(),
                status: Status::Warning,
                message: "1d 11h left (warn below 2d)".into(),
                hint: Some("Prepare to reauthorize".into()),
            },
            Event {
                kind: EventKind::Problem,
                subject: "watchlist".into(),
                status: Status::Critical,
                message: "last update 18m ago (crit above 15m)".into(),
                hint: Some("Check market-data-worker service".into()),
            },
        ],
        suppressed: 0,
        on_behalf_of: None,
        details: None,
    }
}

/// Deliver `digest()` through the one `[[alert]]` in `keys`, within `timeout`.
fn deliver(keys: &str, timeout: Duration) -> Result<(), Failure> {
    let text = format!(
        "[[alert]]\ntype = \"email\"\nfrom = \"vps-1 <alerts@example.com>\"\nto = [\"ops@example.com\", \"Backup <backup@example.com>\"]\n{keys}\n"
    );
    let config = healthcheck::config::load_str("t.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    config.alerts[0].channel.deliver(
        &digest(),
        Budget {
            deadline: Instant::now() + timeout,
            tries: 1,
        },
    )
}

fn plain(port: u16) -> String {
    format!("host = \"127.0.0.1\"\nport = {port}\ntls = \"none\"")
}

#[test]
fn the_digest_arrives_as_a_plain_text_mail() {
    let Some(smtp) = Smtp::mailbox(&[]) else {
        return;
    };
    deliver(&plain(smtp.port), Duration::from_secs(10)).unwrap();
    let mails = smtp.received();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    let (head, body) = mail.split_once("\n\n").unwrap();
    for header in [
        "Subject: [CRITICAL] vps-1: 2 problems",
        "From: vps-1 <alerts@example.com>",
        "To: ops@example.com, Backup <backup@example.com>",
        "Date: Sun, 22 Nov 2026 05:00:00 +0000",
        "Content-Type: text/plain; charset=utf-8",
        "X-MailFrom: alerts@example.com",
        "X-RcptTo: ops@example.com, backup@example.com",
    ] {
        assert!(
            head.lines().any(|l| l == header),
            "no {header:?} in:\n{head}"
        );
    }
    let id = head
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap_or_else(|| panic!("no Message-ID in:\n{head}"));
    assert!(
        id.starts_with("<healthcheck.") && id.ends_with("@vps-1>"),
        "{id}"
    );
    // The same digest, retried from the outbox, is the same message.
    deliver(&plain(smtp.port), Duration::from_secs(10)).unwrap();
    let again = smtp.received();
    assert!(
        again[1].lines().any(|l| l == format!("Message-ID: {id}")),
        "a retry got another Message-ID:\n{}",
        again[1]
    );
    // lettre ends the data with its own CRLF, after the body's last one.
    assert_eq!(
        body.replace("\r\n", "\n").trim_end(),
        message::text(&digest()).trim_end()
    );
}

#[test]
fn a_refused_port_is_retried_later_and_fails_at_once() {
    let port = TcpListenerPort::free();
    let started = Instant::now();
    let failure = deliver(&plain(port), Duration::from_secs(10)).unwrap_err();
    assert_eq!(
        failure,
        Failure::retry(format!("127.0.0.1:{port}: connection refused"))
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_server_that_never_answers_ends_by_the_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held = listener.accept();
        std::thread::sleep(Duration::from_secs(10));
        drop(held);
    });
    let started = Instant::now();
    let failure = deliver(&plain(port), Duration::from_millis(700)).unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        failure,
        Failure::retry(format!("127.0.0.1:{port}: no answer within 0.7s"))
    );
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn an_smtp_server_that_stalls_after_the_greeting_ends_by_the_deadline_and_never_sees_the_password()
{
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = heard.clone();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        let _ = conn.write_all(b"220 stall.example ESMTP\r\n");
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 4096];
        while let Ok(n) = conn.read(&mut buf) {
            if n == 0 {
                break;
            }
            log.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let keys = format!(
        "host = \"127.0.0.1\"\nport = {port}\ntls = \"starttls\"\nusername = \"alerts\"\npassword = \"{SECRET}\""
    );
    let started = Instant::now();
    let failure = deliver(&keys, Duration::from_millis(1500)).unwrap_err();
    let took = started.elapsed();
    assert!(failure.retry, "{failure:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    std::thread::sleep(Duration::from_millis(200));
    let heard = String::from_utf8_lossy(&heard.lock().unwrap()).into_owned();
    assert!(heard.starts_with("EHLO"), "{heard}");
    assert!(
        !heard.contains(SECRET) && !heard.contains("AUTH"),
        "{heard}"
    );
    assert!(!failure.message.contains(SECRET), "{failure:?}");
}

#[test]
fn a_4xx_reply_is_retried_and_a_5xx_reply_is_not() {
    let Some(busy) = Smtp::replying("451 4.3.0 try again later") else {
        return;
    };
    let failure = deliver(&plain(busy.port), Duration::from_secs(10)).unwrap_err();
    assert!(failure.retry, "{failure:?}");
    assert!(failure.message.contains("try again later"), "{failure:?}");
    assert!(failure.message.contains("(451)"), "{failure:?}");

    let Some(gone) = Smtp::replying("550 5.1.1 mailbox unavailable") else {
        return;
    };
    let failure = deliver(&plain(gone.port), Duration::from_secs(10)).unwrap_err();
    assert!(!failure.retry, "{failure:?}");
    assert!(
        failure.message.contains("mailbox unavailable"),
        "{failure:?}"
    );
    assert!(failure.message.contains("(550)"), "{failure:?}");
}

#[test]
fn starttls_is_required_and_a_server_without_it_gets_nothing() {
    let Some(smtp) = Smtp::mailbox(&[]) else {
        return;
    };
    let keys = format!(
        "host = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\nusername = \"alerts\"\npassword = \"{SECRET}\"",
        smtp.port
    );
    let failure = deliver(&keys, Duration::from_secs(10)).unwrap_err();
    // Not final: a server fixed to offer STARTTLS takes the digest later
    // (and the fallback takes it after `fallback_after`).
    assert!(failure.retry, "{failure:?}");
    assert!(
        failure.message.contains("STARTTLS is not supported"),
        "{failure:?}"
    );
    assert!(!failure.message.contains(SECRET), "{failure:?}");
    assert!(smtp.received().is_empty());
}

#[test]
fn a_login_the_server_does_not_offer_fails_without_showing_the_password() {
    let Some(smtp) = Smtp::mailbox(&[]) else {
        return;
    };
    let keys = format!(
        "{}\nusername = \"alerts\"\npassword = \"{SECRET}\"",
        plain(smtp.port)
    );
    let failure = deliver(&keys, Duration::from_secs(10)).unwrap_err();
    assert!(
        failure.retry,
        "a login fixed on the server may pass later: {failure:?}"
    );
    assert!(
        failure
            .message
            .contains("No compatible authentication mechanism"),
        "{failure:?}"
    );
    assert!(!failure.message.contains(SECRET), "{failure:?}");
    assert!(smtp.received().is_empty());
}

#[test]
fn implicit_tls_checks_the_certificate() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        missing("openssl", "needed to make a self-signed certificate");
        return;
    }
    let tls_args = [
        "--smtpscert".to_string(),
        cert.display().to_string(),
        "--smtpskey".to_string(),
        key.display().to_string(),
    ];
    let Some(smtp) = Smtp::mailbox(&tls_args) else {
        return;
    };
    let keys = format!("host = \"localhost\"\nport = {}", smtp.port);
    let failure = deliver(&keys, Duration::from_secs(10)).unwrap_err();
    assert!(failure.retry, "{failure:?}");
    assert!(failure.message.contains("certificate"), "{failure:?}");
    assert!(smtp.received().is_empty());
}

/// A server that offers `mechanism` and answers the login with a 535 that
/// repeats every line the client sent for it.
fn echoing_server(mechanism: &'static str) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((conn, _)) = listener.accept() else {
            return;
        };
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut out = conn.try_clone().unwrap();
        let mut lines = BufReader::new(conn).lines();
        let _ = out.write_all(b"220 hostile.example ESMTP\r\n");
        let mut heard = Vec::new();
        while let Some(Ok(line)) = lines.next() {
            let reply = if line.starts_with("EHLO") {
                format!("250-hostile.example\r\n250 AUTH {mechanism}\r\n")
            } else if line.starts_with("AUTH") || !heard.is_empty() {
                heard.push(line);
                // LOGIN asks for the user name, then the password.
                match (mechanism, heard.len()) {
                    ("LOGIN", 1) => "334 VXNlcm5hbWU6\r\n".to_string(),
                    ("LOGIN", 2) => "334 UGFzc3dvcmQ6\r\n".to_string(),
                    _ => format!("535 5.7.8 rejected: {}\r\n", heard.join(" / ")),
                }
            } else {
                "221 bye\r\n".to_string()
            };
            if out.write_all(reply.as_bytes()).is_err() || reply.starts_with("221") {
                break;
            }
        }
    });
    port
}

#[test]
fn a_hostile_smtp_server_echoing_the_auth_line_leaked_the_credentials() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for mechanism in ["PLAIN", "LOGIN"] {
        let port = echoing_server(mechanism);
        let keys = format!(
            "host = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nusername = \"alerts\"\npassword = \"{SECRET}\""
        );
        let failure = deliver(&keys, Duration::from_secs(10)).unwrap_err();
        assert!(failure.message.contains("rejected"), "{failure:?}");
        for encoded in [
            b64(&format!("\0alerts\0{SECRET}")),
            b64(SECRET),
            SECRET.to_string(),
        ] {
            assert!(
                !failure.message.contains(&encoded),
                "{mechanism}: {encoded} in {failure:?}"
            );
        }
    }
}
