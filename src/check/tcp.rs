//! `tcp`: does anything accept connections at `host:port`? The cheapest
//! sign of life for a database, a broker or a bot's own API port. Both the
//! name lookup and the connect stay within the check's timeout.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Keys, Kind, Metric, Record, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::{Outcome, Status, Unit};
use crate::spec::probe::{Probe, ProbeContext};
use crate::vocab::Builder;

pub const KIND: Kind = Kind::new("tcp", Keys::of::<TcpKeys>(), &[&LATENCY]);

pub const LATENCY: Metric = Metric::new("latency", Unit::Seconds);

/// The keys of a `tcp` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TcpKeys {
    address: Option<String>,
}

impl TypeKeys for TcpKeys {
    fn build(&self, _common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, b)
    }
}

struct TcpCheck {
    address: String,
}

fn build(raw: &TcpKeys, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let address = b.required("address", &raw.address)?;
    if let Err(why) = check_address(address) {
        b.error("address", why);
        return None;
    }
    Some(Box::new(TcpCheck {
        address: address.clone(),
    }))
}

/// `host:port`, `1.2.3.4:port` or `[::1]:port`, with a port from 1 to 65535.
pub(super) fn check_address(address: &str) -> Result<(), String> {
    let example = "write \"host:port\", e.g. \"127.0.0.1:5432\" or \"[::1]:6379\"";
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!("\"{address}\" has no port: {example}"));
    };
    if host.is_empty() || host == "[]" {
        return Err(format!("\"{address}\" has no host: {example}"));
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(format!(
            "\"{address}\": write an IPv6 address in brackets, e.g. \"[::1]:6379\""
        ));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!(
            "\"{address}\" has no valid port (1 to 65535): {example}"
        )),
    }
}

impl Probe for TcpCheck {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let started = Instant::now();
        Ok(match connect(&self.address, ctx) {
            Ok((_, addr)) => {
                let latency = started.elapsed().as_secs_f64();
                let message = format!("connected to {addr} in {:.1} ms", latency * 1000.0);
                Outcome::ok(message).record(&LATENCY, latency)
            }
            Err(outcome) => outcome,
        })
    }

    fn target(&self) -> Option<String> {
        Some(self.address.clone())
    }

    fn on_timeout(&self) -> Status {
        Status::Critical
    }
}

/// A connection to `address` within the check's time, or the CRITICAL
/// outcome saying why there is none (refused, no answer, no such name).
pub(super) fn connect(
    address: &str,
    ctx: &ProbeContext,
) -> Result<(TcpStream, SocketAddr), Outcome> {
    let timeout = ctx.remaining();
    let no_answer = || Outcome::no_answer(address);
    let addrs = match resolve(address, timeout) {
        Resolved::Addrs(a) => a,
        Resolved::Failed(why) => {
            return Err(Outcome::critical(format!(
                "{address}: cannot resolve: {why}"
            )));
        }
        Resolved::TimedOut => return Err(no_answer()),
    };
    let mut last_error = None;
    for addr in &addrs {
        let left = ctx.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(no_answer());
        }
        match TcpStream::connect_timeout(addr, left) {
            Ok(stream) => return Ok((stream, *addr)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(e) if e.kind() == ErrorKind::ConnectionRefused => {
            Outcome::critical(format!("{address}: connection refused"))
        }
        Some(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => no_answer(),
        Some(e) => Outcome::critical(format!("{address}: {e}")),
        None => Outcome::critical(format!("{address}: the name has no addresses")),
    })
}

enum Resolved {
    Addrs(Vec<SocketAddr>),
    Failed(String),
    TimedOut,
}

/// Look the name up on a thread of its own: the system resolver has no
/// timeout we can set, and a dead DNS server must not hold the check past
/// its deadline. A lookup still running then is abandoned.
fn resolve(address: &str, timeout: Duration) -> Resolved {
    let (tx, rx) = mpsc::channel();
    let owned = address.to_string();
    let spawned = std::thread::Builder::new()
        .name("tcp-resolve".into())
        .spawn(move || {
            let result = owned.to_socket_addrs().map(Iterator::collect);
            // The receiver may have given up; nothing to do then.
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        return Resolved::Failed(format!("cannot start a thread: {e}"));
    }
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) => Resolved::Addrs(addrs),
        Ok(Err(e)) => Resolved::Failed(e.to_string()),
        Err(_) => Resolved::TimedOut,
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;
    use crate::config::load_str;
    use crate::model::Status;

    fn config(address: &str) -> String {
        format!("[[check]]\nname = \"t\"\ntype = \"tcp\"\naddress = \"{address}\"\n")
    }

    fn probe(address: &str, timeout: Duration) -> Outcome {
        crate::check::probe_first(&config(address), timeout)
    }

    /// A port nothing listens on: bind one, then let it go.
    fn closed_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[test]
    fn a_listening_port_is_ok_with_latency() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let out = probe(&format!("127.0.0.1:{port}"), Duration::from_secs(10));
        assert_eq!(out.status, Status::Ok, "{}", out.message);
        assert!(
            out.message
                .starts_with(&format!("connected to 127.0.0.1:{port} in ")),
            "{}",
            out.message
        );
        assert_eq!(out.readings.len(), 1);
        assert_eq!(out.readings[0].name, "latency");
        assert_eq!(out.readings[0].unit, Unit::Seconds);
        assert!((0.0..5.0).contains(&out.readings[0].value));
    }

    #[test]
    fn localhost_name_is_resolved() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let out = probe(&format!("localhost:{port}"), Duration::from_secs(10));
        assert_eq!(out.status, Status::Ok, "{}", out.message);
    }

    #[test]
    fn a_closed_port_is_refused() {
        let address = format!("127.0.0.1:{}", closed_port());
        let out = probe(&address, Duration::from_secs(10));
        assert_eq!(out.status, Status::Critical);
        assert_eq!(out.message, format!("{address}: connection refused"));
        assert!(out.readings.is_empty());
    }

    #[test]
    fn an_unresolvable_name_is_critical() {
        // `.invalid` never resolves (RFC 2606).
        let out = probe("no-such-host.invalid:80", Duration::from_secs(10));
        assert_eq!(out.status, Status::Critical);
        assert!(
            out.message
                .starts_with("no-such-host.invalid:80: cannot resolve")
                || out.message.contains("no answer within"),
            "{}",
            out.message
        );
    }

    #[test]
    fn a_full_backlog_ends_at_the_timeout() {
        // A listener that never accepts, with the smallest backlog: once
        // that is full, the kernel drops new handshakes and connect waits.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        crate::sys::net::set_backlog(&listener, 0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut held = Vec::new();
        while let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            held.push(s);
            assert!(held.len() < 64, "the backlog never fills");
        }
        let started = Instant::now();
        let out = probe(&addr.to_string(), Duration::from_millis(500));
        let took = started.elapsed();
        assert_eq!(out.status, Status::Critical, "{}", out.message);
        assert_eq!(out.message, format!("{addr}: no answer within 0.5s"));
        assert!(took >= Duration::from_millis(400), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
    }

    #[test]
    fn address_needs_host_and_port() {
        for (bad, why) in [
            ("localhost", "has no port"),
            ("localhost:", "no valid port"),
            ("localhost:0", "no valid port"),
            ("localhost:70000", "no valid port"),
            (":80", "has no host"),
            ("::1:80", "in brackets"),
        ] {
            let errors = load_str("t.toml", &config(bad)).err().unwrap().to_string();
            assert!(errors.contains("check \"t\" address"), "{bad}: {errors}");
            assert!(errors.contains(why), "{bad}: {errors}");
        }
        for good in ["db.example.com:5432", "10.0.0.1:1", "[::1]:6379"] {
            assert!(check_address(good).is_ok(), "{good}");
        }
        let missing = "[[check]]\nname = \"t\"\ntype = \"tcp\"\n";
        let errors = load_str("t.toml", missing).err().unwrap().to_string();
        assert!(errors.contains("missing key address"), "{errors}");
    }
}
