//! The PostgreSQL driver of the `sql` check (and TimescaleDB, which is
//! PostgreSQL). The query runs in a READ ONLY transaction with a
//! `statement_timeout`, through the extended protocol, which accepts exactly
//! one statement. Everything, from the TCP connect through the startup
//! handshake to the last row, runs under one timer on a current-thread
//! tokio runtime: a server that accepts connections and never answers
//! (a stopped postmaster) costs the check's timeout and no more, which the
//! blocking `postgres` wrapper cannot promise (its connect timeout covers
//! the TCP connect only). A query cut by the timer is cancelled on the
//! server through the connection's cancel token.
//!
//! TLS is rustls with ring. `sslmode` takes libpq's values and meanings,
//! mapped here because tokio-postgres knows only disable/prefer/require:
//! `disable`; `allow` and `prefer` (the default: TLS if the server offers
//! it, certificate unchecked); `require` (TLS, certificate unchecked unless
//! `sslrootcert` is given, then as `verify-ca`); `verify-ca` (the chain must
//! lead to a trusted root, any host name); `verify-full` (chain and host
//! name). Trusted roots: the PEM file `sslrootcert`, else Mozilla's roots.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use jiff::civil::DateTime;
use jiff::{SignedDuration, Timestamp};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{Datum, Table};
use crate::check::verifier::{Policy, Verifier};
use crate::model::Outcome;

/// How long a cancel request may take once the query was cut.
const CANCEL_WAIT: Duration = Duration::from_millis(200);

/// How the server's certificate is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verify {
    Nothing,
    Chain,
    Full,
}

#[derive(Clone, Debug, PartialEq)]
struct Tls {
    mode: SslMode,
    verify: Verify,
    root_cert: Option<PathBuf>,
}

pub struct Postgres {
    config: tokio_postgres::Config,
    tls: Tls,
    /// `host:port` for messages (never the URL: it may hold a password).
    target: String,
}

impl Postgres {
    /// Parse a `postgres://` URL or a libpq `key=value` string.
    pub fn new(url: &str) -> Result<Postgres, String> {
        let (rest, tls) = split_tls(url)?;
        let config = tokio_postgres::Config::from_str(&rest)
            .map_err(|e| format!("invalid PostgreSQL connection URL: {e}"))?;
        let target = target(&config);
        Ok(Postgres {
            config,
            tls,
            target,
        })
    }

    pub fn fetch(&self, query: &str, budget: Duration) -> anyhow::Result<Result<Table, Outcome>> {
        let tls = MakeRustlsConnect::new(client_config(&self.tls)?);
        let mut config = self.config.clone();
        config.ssl_mode(self.tls.mode).connect_timeout(budget);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let deadline = Instant::now() + budget;
            let (client, connection) = match timeout_at(deadline, config.connect(tls.clone())).await
            {
                Err(_) => bail!(
                    "no answer from {} before the timeout: the server accepted the connection but did not respond",
                    self.target
                ),
                Ok(Err(e)) if e.as_db_error().is_none() && is_io(&e) => {
                    return Ok(Err(Outcome::critical(format!(
                        "cannot connect to {}: {}",
                        self.target,
                        cause(&e)
                    ))));
                }
                Ok(Err(e)) => bail!("{}: {}", self.target, cause(&e)),
                Ok(Ok(pair)) => pair,
            };
            tokio::spawn(connection);
            let cancel = client.cancel_token();
            let millis = budget.as_millis().max(1);
            let work = async {
                // Our own text, so the simple protocol's several statements are fine here.
                client
                    .batch_execute(&format!(
                        "BEGIN READ ONLY; SET LOCAL statement_timeout = {millis}"
                    ))
                    .await?;
                // The extended protocol: one statement, or the server refuses it unrun.
                let rows = client.query(query, &[]).await?;
                let mut table = Table::default();
                for row in &rows {
                    let cells = if table.keeps_more() {
                        (0..row.len())
                            .map(|i| row.try_get::<_, Datum>(i))
                            .collect::<Result<Vec<_>, _>>()?
                    } else {
                        Vec::new()
                    };
                    table.push(cells);
                }
                // No COMMIT: the transaction ends, rolled back, with the connection.
                Ok::<_, tokio_postgres::Error>(table)
            };
            match timeout_at(deadline, work).await {
                Ok(Ok(table)) => Ok(Ok(table)),
                // A missing table is a data outage, not a broken check.
                Ok(Err(e)) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
                    let said = e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string());
                    Ok(Err(Outcome::critical(said.replacen("relation", "table", 1))))
                }
                Ok(Err(e)) if e.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED) => {
                    bail!("query still running at the timeout: cancelled by statement_timeout")
                }
                Ok(Err(e)) => bail!("{}", cause(&e)),
                Err(_) => {
                    let _ = timeout(CANCEL_WAIT, cancel.cancel_query(tls)).await;
                    bail!("query still running at the timeout: cancelled")
                }
            }
        })
    }
}

/// The error with the server's detail: tokio-postgres's own Display says
/// only "db error" for errors the server sent.
fn cause(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

fn is_io(e: &tokio_postgres::Error) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn target(config: &tokio_postgres::Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    match config.get_hosts().first() {
        Some(Host::Tcp(h)) => format!("{h}:{port}"),
        #[cfg(unix)]
        Some(Host::Unix(p)) => format!("{}/.s.PGSQL.{port}", p.display()),
        None => format!("localhost:{port}"),
    }
}

/// Take `sslmode` and `sslrootcert` out of a URL or key=value string.
fn split_tls(url: &str) -> Result<(String, Tls), String> {
    let mut mode = None;
    let mut root_cert = None;
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut parsed =
            url::Url::parse(url).map_err(|e| format!("invalid PostgreSQL connection URL: {e}"))?;
        let mut kept = Vec::new();
        for (k, v) in parsed.query_pairs() {
            match k.as_ref() {
                "sslmode" => mode = Some(v.into_owned()),
                "sslrootcert" => root_cert = Some(v.into_owned()),
                _ => kept.push((k.into_owned(), v.into_owned())),
            }
        }
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
        parsed.to_string()
    } else {
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            match word.split_once('=') {
                Some(("sslmode", v)) => mode = Some(v.trim_matches('\'').to_string()),
                Some(("sslrootcert", v)) => root_cert = Some(v.trim_matches('\'').to_string()),
                _ => kept.push(word),
            }
        }
        kept.join(" ")
    };
    let root_cert = root_cert.map(|p| crate::vocab::expand_tilde(&p));
    let (mode, verify) = match mode.as_deref() {
        None | Some("prefer" | "allow") => (SslMode::Prefer, Verify::Nothing),
        Some("disable") => (SslMode::Disable, Verify::Nothing),
        Some("require") if root_cert.is_some() => (SslMode::Require, Verify::Chain),
        Some("require") => (SslMode::Require, Verify::Nothing),
        Some("verify-ca") => (SslMode::Require, Verify::Chain),
        Some("verify-full") => (SslMode::Require, Verify::Full),
        Some(other) => {
            return Err(format!(
                "sslmode must be disable, allow, prefer, require, verify-ca or verify-full, not \"{other}\""
            ));
        }
    };
    Ok((
        rest,
        Tls {
            mode,
            verify,
            root_cert,
        },
    ))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(tls: &Tls) -> anyhow::Result<ClientConfig> {
    let builder =
        ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    if tls.verify == Verify::Nothing {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier::new(
                provider(),
                None,
                Policy::AnyCertificate,
            )))
            .with_no_client_auth());
    }
    let roots = roots(tls.root_cert.as_deref())?;
    let webpki =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider()).build()?;
    Ok(if tls.verify == Verify::Full {
        builder.with_webpki_verifier(webpki).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier::new(
                provider(),
                Some(webpki),
                Policy::AnyName,
            )))
            .with_no_client_auth()
    })
}

fn roots(file: Option<&Path>) -> anyhow::Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match file {
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)
                .with_context(|| format!("sslrootcert {}", path.display()))?
            {
                store.add(cert.with_context(|| format!("sslrootcert {}", path.display()))?)?;
            }
            if store.is_empty() {
                bail!("sslrootcert {}: no certificate in it", path.display());
            }
        }
    }
    Ok(store)
}

/// PostgreSQL's epoch for timestamps and dates: 2000-01-01.
const PG_EPOCH_SECONDS: i64 = 946_684_800;

type BoxError = Box<dyn StdError + Sync + Send>;

/// Every column type becomes a `Datum`; types this check cannot read become
/// `Datum::Other` and are an error only if their value is used.
impl<'a> FromSql<'a> for Datum {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Datum, BoxError> {
        Ok(match *ty {
            Type::BOOL => Datum::Bool(bool::from_sql(ty, raw)?),
            Type::INT2 => Datum::Int(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => Datum::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => Datum::Int(i64::from_sql(ty, raw)?),
            Type::OID => Datum::Int(u32::from_sql(ty, raw)?.into()),
            Type::FLOAT4 => Datum::Float(f32::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Datum::Float(f64::from_sql(ty, raw)?),
            Type::NUMERIC => Datum::Float(numeric(raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                Datum::Text(<&str>::from_sql(ty, raw)?.to_string())
            }
            Type::TIMESTAMPTZ => {
                let micros = i64::from_sql(ty, raw)?;
                Datum::Instant(Timestamp::from_microsecond(
                    micros.saturating_add(PG_EPOCH_SECONDS * 1_000_000),
                )?)
            }
            Type::TIMESTAMP => {
                let micros = i64::from_sql(ty, raw)?;
                Datum::Civil(pg_epoch().checked_add(SignedDuration::from_micros(micros))?)
            }
            Type::DATE => {
                let days = i32::from_sql(ty, raw)?;
                Datum::Civil(
                    pg_epoch().checked_add(SignedDuration::from_hours(i64::from(days) * 24))?,
                )
            }
            Type::INTERVAL => Datum::Seconds(interval(raw)?),
            _ => Datum::Other(ty.name().to_string()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Datum, BoxError> {
        Ok(Datum::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn pg_epoch() -> DateTime {
    jiff::civil::date(2000, 1, 1).at(0, 0, 0, 0)
}

fn be_u16(raw: &[u8], at: usize) -> Result<u16, BoxError> {
    raw.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| "truncated value".into())
}

/// NUMERIC's binary form: digit count, weight, sign, scale, then base-10000 digits.
fn numeric(raw: &[u8]) -> Result<f64, BoxError> {
    let ndigits = be_u16(raw, 0)?;
    let weight = be_u16(raw, 2)? as i16;
    let sign = be_u16(raw, 4)?;
    match sign {
        0xC000 => return Ok(f64::NAN),
        0xD000 => return Ok(f64::INFINITY),
        0xF000 => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    let mut value = 0.0;
    for i in 0..ndigits {
        let digit = f64::from(be_u16(raw, 8 + 2 * usize::from(i))?);
        value += digit * 10_000f64.powi(i32::from(weight) - i32::from(i));
    }
    Ok(if sign == 0x4000 { -value } else { value })
}

/// INTERVAL's binary form: microseconds, days, months (taken as 30 days).
fn interval(raw: &[u8]) -> Result<f64, BoxError> {
    let (Some(micros), Some(days), Some(months)) = (raw.get(0..8), raw.get(8..12), raw.get(12..16))
    else {
        return Err("truncated interval".into());
    };
    let micros = i64::from_be_bytes(micros.try_into()?);
    let days = i32::from_be_bytes(days.try_into()?);
    let months = i32::from_be_bytes(months.try_into()?);
    Ok(micros as f64 / 1e6 + f64::from(days) * 86_400.0 + f64::from(months) * 30.0 * 86_400.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn tls(url: &str) -> (String, Tls) {
        split_tls(url).unwrap()
    }

    #[test]
    fn sslmode_takes_libpq_values_and_is_removed_from_the_url() {
        let (rest, t) =
            tls("postgres://u:pw@db.example:6432/ticks?sslmode=verify-full&application_name=hc");
        assert_eq!(
            rest,
            "postgres://u:pw@db.example:6432/ticks?application_name=hc"
        );
        assert_eq!((t.mode, t.verify), (SslMode::Require, Verify::Full));
        let (rest, t) = tls("postgresql://u@h/db?sslmode=verify-ca&sslrootcert=/etc/ssl/pg-ca.pem");
        assert_eq!(rest, "postgresql://u@h/db");
        assert_eq!(
            t,
            Tls {
                mode: SslMode::Require,
                verify: Verify::Chain,
                root_cert: Some(PathBuf::from("/etc/ssl/pg-ca.pem"))
            }
        );
        assert_eq!(tls("postgres://h/db").1.mode, SslMode::Prefer);
        assert_eq!(
            tls("postgres://h/db?sslmode=disable").1.mode,
            SslMode::Disable
        );
        assert_eq!(
            tls("postgres://h/db?sslmode=require").1.verify,
            Verify::Nothing
        );
        assert_eq!(
            tls("postgres://h/db?sslmode=require&sslrootcert=/ca.pem")
                .1
                .verify,
            Verify::Chain
        );
        let (rest, t) = tls("host=127.0.0.1 port=5433 user=postgres sslmode=verify-full");
        assert_eq!(
            (rest.as_str(), t.verify),
            ("host=127.0.0.1 port=5433 user=postgres", Verify::Full)
        );
        assert!(
            split_tls("postgres://h/db?sslmode=verify")
                .unwrap_err()
                .contains("not \"verify\"")
        );
    }

    #[test]
    fn urls_are_parsed_and_name_their_target_without_the_password() {
        let Ok(p) =
            Postgres::new("postgres://watch:s3cret-pw@10.0.0.5:6432/ticks?connect_timeout=3")
        else {
            panic!("a valid URL was refused");
        };
        assert_eq!(p.target, "10.0.0.5:6432");
        assert_eq!(p.config.get_dbname(), Some("ticks"));
        let Err(e) = Postgres::new("postgres://h/db?nonsense=1") else {
            panic!("an unknown option was accepted");
        };
        assert!(e.contains("invalid PostgreSQL connection URL"), "{e}");
    }

    #[test]
    fn tls_configs_build_for_every_mode() {
        for url in [
            "postgres://h/db?sslmode=prefer",
            "postgres://h/db?sslmode=verify-ca",
            "postgres://h/db?sslmode=verify-full",
        ] {
            client_config(&tls(url).1).unwrap();
        }
        let missing = tls("postgres://h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem").1;
        assert!(client_config(&missing).is_err());
    }

    #[test]
    fn numeric_and_interval_binary_forms() {
        // 1234.5678: 2 digits (1234, 5678), weight 0, positive, scale 4.
        let raw = [0, 2, 0, 0, 0, 0, 0, 4, 0x04, 0xD2, 0x16, 0x2E];
        assert!((numeric(&raw).unwrap() - 1234.5678).abs() < 1e-9);
        // -0.05: 1 digit (500), weight -1, negative.
        let raw = [0, 1, 0xFF, 0xFF, 0x40, 0x00, 0, 2, 0x01, 0xF4];
        assert!((numeric(&raw).unwrap() + 0.05).abs() < 1e-12);
        // 1 day 00:00:30.
        let mut raw = Vec::new();
        raw.extend(30_000_000i64.to_be_bytes());
        raw.extend(1i32.to_be_bytes());
        raw.extend(0i32.to_be_bytes());
        assert_eq!(interval(&raw).unwrap(), 86_430.0);
    }
}
