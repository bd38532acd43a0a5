//! `dns`: does a host name resolve, and to the addresses it should? Asks
//! the system resolver (`/etc/hosts`, then DNS, as every program on the
//! machine does), so a broken resolver or a record that moved is seen
//! before the bot that needs the name fails. The resolver has no timeout
//! of its own: the probe runs on a thread of the runner's, which gives up
//! on it at the check's timeout (CRITICAL, the name was asked and no answer
//! came).

use std::net::{IpAddr, ToSocketAddrs};
use std::time::Instant;

use super::{Keys, Kind, Metric, Probe, Record, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::{Outcome, Status, Unit};
use crate::spec::probe::ProbeContext;
use crate::vocab::Builder;

pub const KIND: Kind = Kind::new("dns", Keys::of::<DnsKeys>(), &[&LATENCY]);

/// How long the lookup took.
pub const LATENCY: Metric = Metric::new("latency", Unit::Seconds);

/// The keys of a `dns` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DnsKeys {
    host: Option<String>,
    /// Addresses that must all be among the answers (others may be too).
    expect: Option<Vec<String>>,
}

impl TypeKeys for DnsKeys {
    fn build(&self, _common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, b)
    }
}

struct DnsCheck {
    host: String,
    expect: Vec<IpAddr>,
}

fn build(raw: &DnsKeys, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let host = b.required("host", &raw.host)?.clone();
    let mut valid = true;
    if host.trim().is_empty() {
        b.error("host", "must not be empty");
        valid = false;
    } else if host.parse::<IpAddr>().is_err()
        && (host.contains([':', '/']) || host.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        b.error(
            "host",
            format!("\"{host}\" is not a host name: write the name alone, without scheme or port, e.g. \"db.example.com\""),
        );
        valid = false;
    }
    let mut expect = Vec::new();
    if let Some(given) = &raw.expect {
        if given.is_empty() {
            b.error(
                "expect",
                "must list at least one address (or leave `expect` out)",
            );
            valid = false;
        }
        for (i, text) in given.iter().enumerate() {
            match text.trim().parse::<IpAddr>() {
                Ok(ip) => expect.push(ip),
                Err(_) => {
                    b.error(
                        &format!("expect[{i}]"),
                        format!("\"{text}\" is not an IP address (write e.g. \"192.0.2.10\" or \"2001:db8::10\")"),
                    );
                    valid = false;
                }
            }
        }
    }
    valid.then(|| Box::new(DnsCheck { host, expect }) as Box<dyn Probe>)
}

impl Probe for DnsCheck {
    fn probe(&self, _ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let host = &self.host;
        let started = Instant::now();
        let answers = match (host.as_str(), 0).to_socket_addrs() {
            Ok(addrs) => {
                let mut ips: Vec<IpAddr> = Vec::new();
                for ip in addrs.map(|a| a.ip()) {
                    if !ips.contains(&ip) {
                        ips.push(ip);
                    }
                }
                ips
            }
            Err(e) => return Ok(Outcome::critical(format!("{host}: cannot resolve: {e}"))),
        };
        let took = started.elapsed().as_secs_f64();
        if answers.is_empty() {
            return Ok(Outcome::critical(format!(
                "{host}: the name has no addresses"
            )));
        }
        let shown: Vec<String> = answers.iter().map(IpAddr::to_string).collect();
        let missing: Vec<String> = self
            .expect
            .iter()
            .filter(|ip| !answers.contains(ip))
            .map(IpAddr::to_string)
            .collect();
        let outcome = if missing.is_empty() {
            Outcome::ok(format!(
                "{host} resolves to {} in {:.1} ms",
                shown.join(", "),
                took * 1000.0
            ))
        } else {
            Outcome::critical(format!(
                "{host} resolves to {}, not to {}",
                shown.join(", "),
                missing.join(", ")
            ))
        };
        Ok(outcome.record(&LATENCY, took))
    }

    fn target(&self) -> Option<String> {
        Some(self.host.clone())
    }

    fn on_timeout(&self) -> Status {
        Status::Critical
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::load_str;

    fn config(keys: &str) -> String {
        format!("[[check]]\nname = \"names\"\ntype = \"dns\"\n{keys}")
    }

    fn probe(keys: &str) -> Outcome {
        crate::check::probe_first(&config(keys), Duration::from_secs(10))
    }

    fn errors(keys: &str) -> String {
        load_str("t.toml", &config(keys))
            .err()
            .expect("a config error")
            .to_string()
    }

    /// A label of 64 characters cannot be put in a DNS query: the resolver
    /// fails without asking anyone, so the test stays on this machine.
    fn unresolvable() -> String {
        format!("{}.invalid", "a".repeat(64))
    }

    #[test]
    fn localhost_resolves_with_its_lookup_time() {
        let out = probe("host = \"localhost\"\n");
        assert_eq!(out.status, Status::Ok, "{}", out.message);
        assert!(
            out.message.starts_with("localhost resolves to ") && out.message.contains("127.0.0.1"),
            "{}",
            out.message
        );
        assert_eq!(out.readings.len(), 1);
        assert_eq!(out.readings[0].name, "latency");
        assert_eq!(out.readings[0].unit, Unit::Seconds);
    }

    #[test]
    fn a_name_that_does_not_resolve_is_critical() {
        let host = unresolvable();
        let out = probe(&format!("host = \"{host}\"\n"));
        assert_eq!(out.status, Status::Critical, "{}", out.message);
        assert!(
            out.message
                .starts_with(&format!("{host}: cannot resolve: ")),
            "{}",
            out.message
        );
        assert!(out.readings.is_empty());
    }

    #[test]
    fn every_expected_address_must_be_among_the_answers() {
        let ok = probe("host = \"localhost\"\nexpect = [\"127.0.0.1\"]\n");
        assert_eq!(ok.status, Status::Ok, "{}", ok.message);
        // 192.0.2.0/24 is for documentation: compared, never contacted.
        let moved = probe("host = \"localhost\"\nexpect = [\"127.0.0.1\", \"192.0.2.10\"]\n");
        assert_eq!(moved.status, Status::Critical, "{}", moved.message);
        assert!(
            moved.message.starts_with("localhost resolves to ")
                && moved.message.ends_with(", not to 192.0.2.10"),
            "{}",
            moved.message
        );
        assert_eq!(moved.readings.len(), 1);
    }

    #[test]
    fn a_bad_host_or_expected_address_is_a_config_error() {
        assert!(
            errors("").contains("missing key host, which this type requires"),
            "{}",
            errors("")
        );
        let with_port = errors("host = \"db.example.com:5432\"\n");
        assert!(
            with_port.contains(
                "t.toml:4:1: check \"names\" host: \"db.example.com:5432\" is not a host name"
            ),
            "{with_port}"
        );
        let bad = errors("host = \"localhost\"\nexpect = [\"127.0.0.1\", \"localhost\"]\n");
        assert!(
            bad.contains(
                "t.toml:5:24: check \"names\" expect[1]: \"localhost\" is not an IP address"
            ),
            "{bad}"
        );
        let empty = errors("host = \"localhost\"\nexpect = []\n");
        assert!(empty.contains("must list at least one address"), "{empty}");
    }

    #[test]
    fn expect_is_a_list_here_and_a_word_for_sql() {
        let one = errors("host = \"localhost\"\nexpect = \"127.0.0.1\"\n");
        assert!(
            one.contains("t.toml:5:10: check \"names\" expect: expected"),
            "{one}"
        );
        assert!(load_str("t.toml", &config("host = \"::1\"\nexpect = [\"::1\"]\n")).is_ok());
    }
}
