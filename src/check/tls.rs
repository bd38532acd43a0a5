//! `tls`: when does the certificate of an HTTPS API or of the bot's own
//! endpoint expire, and does its chain verify? Reading `until` (seconds to
//! the certificate's notAfter, negative once expired), judged with
//! `warn_below = "14d"`, `crit_below = "3d"`; a chain that does not verify
//! is CRITICAL with rustls's reason. Only the handshake happens: nothing is
//! sent over the connection.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, anyhow};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use super::verifier::{Policy, Verifier};
use super::{Keys, Kind, Metric, Record, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::{Outcome, Status, Unit};
use crate::spec::probe::{Probe, ProbeContext};
use crate::vocab::{Builder, expand_tilde};

pub const KIND: Kind = Kind::new("tls", Keys::of::<TlsKeys>(), &[&UNTIL]);

pub const UNTIL: Metric = Metric::new("until", Unit::Seconds);

/// The keys of a `tls` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsKeys {
    address: Option<String>,
    server_name: Option<String>,
    ca: Option<String>,
}

impl TypeKeys for TlsKeys {
    fn build(&self, _common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, b)
    }
}

struct TlsCheck {
    address: String,
    server_name: ServerName<'static>,
    /// Extra trusted roots (PEM), else the web's (webpki-roots).
    ca: Option<PathBuf>,
}

fn build(raw: &TlsKeys, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let address = b.required("address", &raw.address)?.clone();
    if let Err(why) = super::tcp::check_address(&address) {
        b.error("address", why);
        return None;
    }
    let host = address
        .rsplit_once(':')
        .map_or(address.as_str(), |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let name = raw.server_name.clone().unwrap_or(host);
    let server_name = match ServerName::try_from(name.clone()) {
        Ok(n) => n,
        Err(_) => {
            b.error(
                "server_name",
                format!("\"{name}\" is not a host name or IP address"),
            );
            return None;
        }
    };
    Some(Box::new(TlsCheck {
        address,
        server_name,
        ca: raw.ca.as_deref().map(expand_tilde),
    }))
}

impl Probe for TlsCheck {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        let roots = self.roots()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| anyhow!("cannot build the verifier: {e}"))?;
        let seen = Arc::new(Verifier::new(provider.clone(), Some(inner), Policy::Full));
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(seen.clone())
            .with_no_client_auth();
        let (mut tcp, _) = match super::tcp::connect(&self.address, ctx) {
            Ok(c) => c,
            Err(outcome) => return Ok(outcome),
        };
        let left = ctx.deadline.saturating_duration_since(Instant::now());
        tcp.set_read_timeout(Some(left.max(std::time::Duration::from_millis(1))))?;
        tcp.set_write_timeout(Some(left.max(std::time::Duration::from_millis(1))))?;
        let mut conn = rustls::ClientConnection::new(Arc::new(config), self.server_name.clone())?;
        let mut handshake = Ok(());
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut tcp) {
                handshake = Err(e);
                break;
            }
        }
        let seen = seen.seen();
        let name = self.server_name.to_str();
        let Some((leaf, verdict)) = seen else {
            return Ok(match handshake {
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
                    Outcome::no_answer(&self.address)
                }
                Err(e) => Outcome::critical(format!("{}: TLS handshake failed: {e}", self.address)),
                Ok(()) => Outcome::critical(format!("{}: no certificate was shown", self.address)),
            });
        };
        let not_after = not_after(&leaf).context("cannot read the certificate's notAfter")?;
        let until = not_after.duration_since(ctx.now).as_secs_f64();
        let date = not_after.strftime("%Y-%m-%d %H:%M UTC");
        let outcome = match verdict {
            Ok(()) => Outcome::ok(format!(
                "certificate of {name} valid until {date} ({} left)",
                Unit::Seconds.show(until)
            )),
            Err(why) => Outcome::critical(format!(
                "certificate of {name} does not verify: {why} (notAfter {date})"
            )),
        };
        Ok(outcome.record(&UNTIL, until))
    }

    fn target(&self) -> Option<String> {
        Some(self.address.clone())
    }

    fn on_timeout(&self) -> Status {
        Status::Critical
    }
}

impl TlsCheck {
    fn roots(&self) -> anyhow::Result<RootCertStore> {
        let mut roots = RootCertStore::empty();
        match &self.ca {
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Some(path) => {
                for cert in CertificateDer::pem_file_iter(path)
                    .with_context(|| format!("ca {}", path.display()))?
                {
                    roots.add(cert.with_context(|| format!("ca {}", path.display()))?)?;
                }
            }
        }
        Ok(roots)
    }
}

/// One DER element: its tag, its content, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |l, b| (l << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The notAfter of a DER certificate: Certificate -> tbsCertificate ->
/// (version) serial, signature, issuer, validity -> notAfter. Only this
/// one field is read, so no X.509 library is needed.
fn not_after(der: &[u8]) -> Option<jiff::Timestamp> {
    let (_, cert, _) = element(der)?;
    let (_, mut tbs, _) = element(cert)?;
    if tbs.first() == Some(&0xa0) {
        tbs = element(tbs)?.2;
    }
    let (_, _serial, rest) = element(tbs)?;
    let (_, _signature, rest) = element(rest)?;
    let (_, _issuer, rest) = element(rest)?;
    let (_, validity, _) = element(rest)?;
    let (_, _not_before, rest) = element(validity)?;
    let (tag, time, _) = element(rest)?;
    let text = std::str::from_utf8(time).ok()?;
    let full = match tag {
        // UTCTime: YYMMDDHHMMSSZ, years 1950-2049.
        0x17 => {
            let yy: u32 = text.get(..2)?.parse().ok()?;
            format!("{}{text}", if yy < 50 { "20" } else { "19" })
        }
        // GeneralizedTime: YYYYMMDDHHMMSSZ.
        0x18 => text.to_string(),
        _ => return None,
    };
    let t = full.strip_suffix('Z')?;
    let stamp = format!(
        "{}-{}-{}T{}:{}:{}Z",
        t.get(0..4)?,
        t.get(4..6)?,
        t.get(6..8)?,
        t.get(8..10)?,
        t.get(10..12)?,
        t.get(12..14)?
    );
    stamp.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_short_and_long() {
        assert_eq!(
            element(&[0x02, 0x01, 0x05, 0xff]),
            Some((0x02, &[0x05][..], &[0xff][..]))
        );
        let long = [0x04, 0x81, 0x02, 0xaa, 0xbb];
        assert_eq!(element(&long), Some((0x04, &[0xaa, 0xbb][..], &[][..])));
        assert_eq!(element(&[0x04, 0x05, 0x01]), None, "cut short");
        assert_eq!(element(&[0x04, 0x80]), None, "indefinite length is not DER");
    }

    #[test]
    fn not_after_of_a_minimal_certificate() {
        let time = b"491231235959Z";
        let validity: Vec<u8> = [&[0x30, 30][..], &[0x17, 13], time, &[0x17, 13], time].concat();
        let tbs: Vec<u8> = [
            &[0xa0, 3, 0x02, 1, 2][..],
            &[0x02, 1, 1],
            &[0x30, 0],
            &[0x30, 0],
            &validity,
        ]
        .concat();
        let cert: Vec<u8> = [
            &[0x30, tbs.len() as u8 + 2, 0x30, tbs.len() as u8][..],
            &tbs,
        ]
        .concat();
        assert_eq!(not_after(&cert), "2049-12-31T23:59:59Z".parse().ok());
        assert_eq!(not_after(&cert[..10]), None);
    }
}
