//! The SQL Server driver of the `sql` check (an ETL pipeline's tables and
//! API tokens), through tiberius on a current-thread tokio runtime with rustls. SQL
//! Server has no read-only transaction and takes several statements in one
//! batch, so the query runs inside a transaction that is always rolled
//! back, with `SET LOCK_TIMEOUT` so that a blocked read gives up in time.
//! Rolling back undoes an accidental write; only a login limited to
//! `db_datareader` stops a query written to commit on purpose.
//!
//! The URL: `mssql://USER:PASSWORD@HOST[:PORT]/DATABASE?encrypt=...`
//! (`sqlserver://` works too), or an ADO.NET (`Server=...;User Id=...`) or
//! JDBC (`jdbc:sqlserver://...`) connection string as tiberius reads them.
//! URL options: `encrypt` = `true` (the default: the whole session is
//! encrypted and the certificate checked against the system's roots),
//! `false` (only the login is encrypted), `none`; `trust_server_certificate
//! = true` accepts any certificate; `ca = PATH` trusts one more CA;
//! `application_name`.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use jiff::SignedDuration;
use jiff::civil::{Date, DateTime};
use percent_encoding::percent_decode_str;
use tiberius::{AuthMethod, Client, ColumnData, EncryptionLevel};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use tokio_util::compat::TokioAsyncWriteCompatExt;

use super::{Datum, Table};
use crate::model::Outcome;

/// Whose certificates are trusted.
#[derive(Clone, Debug, PartialEq)]
enum Trust {
    /// The system's roots.
    System,
    /// The system's roots and this CA.
    Ca(PathBuf),
    /// Any certificate (`trust_server_certificate = true`).
    Any,
}

/// A connection URL, read.
#[derive(Clone, Debug, PartialEq)]
struct Settings {
    host: String,
    port: u16,
    database: Option<String>,
    user: String,
    password: crate::secret::Secret,
    encryption: EncryptionLevel,
    trust: Trust,
    application_name: Option<String>,
}

impl Settings {
    fn parse(url: &str) -> Result<Settings, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("invalid SQL Server URL: {e}"))?;
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the SQL Server URL has no host")?
            .trim_matches(['[', ']'])
            .to_string();
        let user = decode(parsed.username());
        if user.is_empty() {
            return Err(
                "the SQL Server URL has no user (mssql://USER:PASSWORD@HOST/DATABASE)".into(),
            );
        }
        let database =
            Some(decode(parsed.path().trim_start_matches('/'))).filter(|d| !d.is_empty());
        let mut s = Settings {
            host,
            port: parsed.port().unwrap_or(1433),
            database,
            user,
            password: crate::secret::Secret::new(decode(parsed.password().unwrap_or_default())),
            encryption: EncryptionLevel::Required,
            trust: Trust::System,
            application_name: None,
        };
        let mut trust_any = false;
        let mut ca = None;
        for (key, value) in parsed.query_pairs() {
            let value = value.into_owned();
            match key.to_ascii_lowercase().as_str() {
                "encrypt" => {
                    s.encryption = match value.to_ascii_lowercase().as_str() {
                        "true" | "yes" | "required" | "strict" => EncryptionLevel::Required,
                        "false" | "no" | "off" => EncryptionLevel::Off,
                        "none" | "not_supported" => EncryptionLevel::NotSupported,
                        other => {
                            return Err(format!(
                                "encrypt must be true, false or none, not \"{other}\""
                            ));
                        }
                    }
                }
                "trust_server_certificate" | "trustservercertificate" => {
                    trust_any = match value.to_ascii_lowercase().as_str() {
                        "true" | "yes" => true,
                        "false" | "no" => false,
                        other => {
                            return Err(format!(
                                "trust_server_certificate must be true or false, not \"{other}\""
                            ));
                        }
                    }
                }
                "ca" | "trust_cert_ca" => ca = Some(crate::vocab::expand_tilde(&value)),
                "application_name" => s.application_name = Some(value),
                other => return Err(format!("unknown SQL Server URL option `{other}`")),
            }
        }
        s.trust = match (trust_any, ca) {
            (true, Some(_)) => {
                return Err("give either trust_server_certificate = true or ca, not both".into());
            }
            (true, None) => Trust::Any,
            (false, Some(path)) => Trust::Ca(path),
            (false, None) => Trust::System,
        };
        Ok(s)
    }

    fn config(&self) -> tiberius::Config {
        let mut c = tiberius::Config::new();
        c.host(&self.host);
        c.port(self.port);
        if let Some(db) = &self.database {
            c.database(db);
        }
        c.authentication(AuthMethod::sql_server(&self.user, self.password.expose()));
        c.encryption(self.encryption);
        match &self.trust {
            Trust::System => {}
            Trust::Ca(path) => c.trust_cert_ca(path.display()),
            Trust::Any => c.trust_cert(),
        }
        c.application_name(self.application_name.as_deref().unwrap_or("healthcheck"));
        c
    }
}

pub struct Mssql {
    config: tiberius::Config,
    /// `host:port` for messages (never the URL: it holds a password).
    target: String,
}

impl Mssql {
    pub fn new(url: &str) -> Result<Mssql, String> {
        let lower = url.to_ascii_lowercase();
        let config = if lower.starts_with("mssql://") || lower.starts_with("sqlserver://") {
            Settings::parse(url)?.config()
        } else if lower.starts_with("jdbc:sqlserver://") {
            tiberius::Config::from_jdbc_string(url)
                .map_err(|e| format!("invalid JDBC connection string: {e}"))?
        } else if url.contains('=') && !url.contains("://") {
            tiberius::Config::from_ado_string(url)
                .map_err(|e| format!("invalid ADO.NET connection string: {e}"))?
        } else {
            return Err(
                "a SQL Server url is mssql://USER:PASSWORD@HOST[:PORT]/DATABASE, an ADO.NET or a JDBC connection string"
                    .into(),
            );
        };
        let target = config.get_addr();
        Ok(Mssql { config, target })
    }

    pub fn fetch(&self, query: &str, budget: Duration) -> anyhow::Result<Result<Table, Outcome>> {
        let mut config = self.config.clone();
        config.handshake_timeout(Some(budget));
        config.command_timeout(Some(budget));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let deadline = Instant::now() + budget;
            let tcp = match timeout_at(deadline, TcpStream::connect(&self.target)).await {
                Err(_) => bail!("no answer from {} before the timeout", self.target),
                Ok(Err(e)) => {
                    return Ok(Err(Outcome::critical(format!(
                        "cannot connect to {}: {e}",
                        self.target
                    ))));
                }
                Ok(Ok(tcp)) => tcp,
            };
            tcp.set_nodelay(true)?;
            let lock_ms = budget.as_millis().max(1);
            let work = async {
                let mut client = Client::connect(config, tcp.compat_write()).await?;
                client
                    .simple_query(format!(
                        "SET LOCK_TIMEOUT {lock_ms}; SET IMPLICIT_TRANSACTIONS OFF; BEGIN TRANSACTION"
                    ))
                    .await?
                    .into_results()
                    .await?;
                let rows = client.query(query, &[]).await?.into_first_result().await?;
                client
                    .simple_query("IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION")
                    .await?
                    .into_results()
                    .await?;
                let mut table = Table::default();
                for row in rows {
                    let cells = if table.keeps_more() {
                        row.into_iter().map(datum).collect()
                    } else {
                        Vec::new()
                    };
                    table.push(cells);
                }
                Ok::<_, tiberius::error::Error>(table)
            };
            match timeout_at(deadline, work).await {
                Ok(Ok(table)) => Ok(Ok(table)),
                Ok(Err(e)) => bail!("{}: {e}", self.target),
                // Dropping the connection makes the server abort and roll back the batch.
                Err(_) => bail!("query still running at the timeout: connection closed"),
            }
        })
    }
}

fn sql_epoch() -> DateTime {
    jiff::civil::date(1900, 1, 1).at(0, 0, 0, 0)
}

fn days_since(origin: Date, days: i64) -> Option<Date> {
    origin
        .checked_add(SignedDuration::from_hours(days * 24))
        .ok()
}

fn civil(date: Option<Date>, seconds: f64) -> Datum {
    date.and_then(|d| {
        d.at(0, 0, 0, 0)
            .checked_add(SignedDuration::from_secs_f64(seconds))
            .ok()
    })
    .map_or(Datum::Other("date out of range".into()), Datum::Civil)
}

fn datetime2(d: tiberius::time::DateTime2) -> (Option<Date>, f64) {
    let date = days_since(jiff::civil::date(1, 1, 1), i64::from(d.date().days()));
    let time = d.time();
    let seconds = time.increments() as f64 / 10f64.powi(i32::from(time.scale()));
    (date, seconds)
}

fn datum(value: ColumnData<'static>) -> Datum {
    match value {
        ColumnData::U8(Some(v)) => Datum::Int(v.into()),
        ColumnData::I16(Some(v)) => Datum::Int(v.into()),
        ColumnData::I32(Some(v)) => Datum::Int(v.into()),
        ColumnData::I64(Some(v)) => Datum::Int(v),
        ColumnData::F32(Some(v)) => Datum::Float(v.into()),
        ColumnData::F64(Some(v)) => Datum::Float(v),
        ColumnData::Bit(Some(v)) => Datum::Bool(v),
        ColumnData::String(Some(v)) => Datum::Text(Cow::into_owned(v)),
        ColumnData::Guid(Some(v)) => Datum::Text(v.to_string()),
        ColumnData::Numeric(Some(n)) => {
            Datum::Float(n.value() as f64 / 10f64.powi(i32::from(n.scale())))
        }
        ColumnData::DateTime(Some(d)) => {
            let date = sql_epoch()
                .date()
                .checked_add(SignedDuration::from_hours(i64::from(d.days()) * 24))
                .ok();
            civil(date, f64::from(d.seconds_fragments()) / 300.0)
        }
        ColumnData::SmallDateTime(Some(d)) => {
            let date = days_since(sql_epoch().date(), i64::from(d.days()));
            civil(date, f64::from(d.seconds_fragments()) * 60.0)
        }
        ColumnData::Date(Some(d)) => civil(
            days_since(jiff::civil::date(1, 1, 1), i64::from(d.days())),
            0.0,
        ),
        ColumnData::DateTime2(Some(d)) => {
            let (date, seconds) = datetime2(d);
            civil(date, seconds)
        }
        ColumnData::DateTimeOffset(Some(d)) => {
            // The date-time part is in UTC; the offset only says where it was written.
            match civil(datetime2(d.datetime2()).0, datetime2(d.datetime2()).1) {
                Datum::Civil(dt) => jiff::tz::TimeZone::UTC.to_timestamp(dt).map_or(
                    Datum::Other("datetimeoffset out of range".into()),
                    Datum::Instant,
                ),
                other => other,
            }
        }
        ColumnData::U8(None)
        | ColumnData::I16(None)
        | ColumnData::I32(None)
        | ColumnData::I64(None)
        | ColumnData::F32(None)
        | ColumnData::F64(None)
        | ColumnData::Bit(None)
        | ColumnData::String(None)
        | ColumnData::Guid(None)
        | ColumnData::Binary(None)
        | ColumnData::Numeric(None)
        | ColumnData::Xml(None)
        | ColumnData::DateTime(None)
        | ColumnData::SmallDateTime(None)
        | ColumnData::Time(None)
        | ColumnData::Date(None)
        | ColumnData::DateTime2(None)
        | ColumnData::DateTimeOffset(None) => Datum::Null,
        ColumnData::Binary(Some(_)) => Datum::Other("binary".into()),
        ColumnData::Xml(Some(_)) => Datum::Other("xml".into()),
        ColumnData::Time(Some(_)) => Datum::Other("time".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_port_database_login_and_tls() {
        let s = Settings::parse("mssql://etl:p%40ss%3Aword@sql.lan:14330/OPT").unwrap();
        assert_eq!(
            s,
            Settings {
                host: "sql.lan".into(),
                port: 14330,
                database: Some("OPT".into()),
                user: "etl".into(),
                password: crate::secret::Secret::new("p@ss:word".into()),
                encryption: EncryptionLevel::Required,
                trust: Trust::System,
                application_name: None,
            }
        );
        let s = Settings::parse(
            "sqlserver://sa:pw@127.0.0.1/CHAINS?encrypt=false&trust_server_certificate=true",
        )
        .unwrap();
        assert_eq!(
            (s.port, s.encryption, s.trust),
            (1433, EncryptionLevel::Off, Trust::Any)
        );
        let s = Settings::parse(
            "mssql://sa:pw@h?encrypt=none&ca=/etc/ssl/sql-ca.pem&application_name=watch",
        )
        .unwrap();
        assert_eq!(
            (
                s.database,
                s.encryption,
                s.trust,
                s.application_name.as_deref()
            ),
            (
                None,
                EncryptionLevel::NotSupported,
                Trust::Ca("/etc/ssl/sql-ca.pem".into()),
                Some("watch")
            )
        );
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        let e = |url: &str| Settings::parse(url).unwrap_err();
        assert!(e("mssql://h/db").contains("no user"));
        assert!(e("mssql://sa:pw@h/db?encrypt=maybe").contains("not \"maybe\""));
        assert!(
            e("mssql://sa:pw@h/db?trust_server_certificate=true&ca=/x.pem").contains("not both")
        );
        assert!(
            e("mssql://sa:pw@h/db?colour=blue").contains("unknown SQL Server URL option `colour`")
        );
        assert!(Mssql::new("postgres://sa:pw@h/db").is_err());
    }

    #[test]
    fn connection_strings_of_other_forms_are_accepted() {
        let m = Mssql::new("Server=tcp:sql.lan,1444;Database=OPT;User Id=etl;Password=pw;TrustServerCertificate=true").unwrap();
        assert_eq!(m.target, "sql.lan:1444");
        let m = Mssql::new("jdbc:sqlserver://sql.lan:1445;databaseName=OPT;user=etl;password=pw")
            .unwrap();
        assert_eq!(m.target, "sql.lan:1445");
        assert_eq!(
            Mssql::new("mssql://etl:pw@sql.lan/OPT").unwrap().target,
            "sql.lan:1433"
        );
    }

    #[test]
    fn sql_server_dates_become_civil_or_instants() {
        use tiberius::time::{
            Date as TDate, DateTime as TDateTime, DateTime2, DateTimeOffset, Time,
        };
        // 2026-11-22 is day 46346 since 1900-01-01; 04:42:00 is 16920 s.
        let dt = datum(ColumnData::DateTime(Some(TDateTime::new(
            46346,
            16920 * 300,
        ))));
        assert_eq!(dt, Datum::Civil("2026-11-22T04:42:00".parse().unwrap()));
        let date = TDate::new(739_941);
        let d2 = DateTime2::new(date, Time::new(169_200_000_000, 7));
        assert_eq!(
            datum(ColumnData::DateTime2(Some(d2))),
            Datum::Civil("2026-11-22T04:42:00".parse().unwrap())
        );
        let off = DateTimeOffset::new(d2, 120);
        assert_eq!(
            datum(ColumnData::DateTimeOffset(Some(off))),
            Datum::Instant("2026-11-22T04:42:00Z".parse().unwrap())
        );
        assert_eq!(datum(ColumnData::I32(None)), Datum::Null);
    }
}
