//! `windows_service`: is a Windows service running? Asks `sc.exe query`
//! through `settings.sc` (the service manager's own answer, as an operator
//! would read it) and reads its `STATE` line: RUNNING is OK, any other
//! state is CRITICAL, a service that is not installed is CRITICAL "no such
//! service". The reading of `sc query` is shared with the
//! `windows_service` manager (`act::windows_service`). Windows only: the
//! config refuses it elsewhere (`vocab::platform`).

use anyhow::anyhow;

use super::{Keys, Kind, Only, Platform, TypeKeys};
use crate::check::common::RawCheck;
use crate::model::Outcome;
use crate::proc;
use crate::spec::probe::{Probe, ProbeContext};
use crate::vocab::Builder;

pub const KIND: Kind = Kind {
    only_on: Some(Only {
        on: Platform::Windows,
        why: "it asks the Windows service manager through sc.exe",
    }),
    ..Kind::new("windows_service", Keys::of::<WindowsServiceKeys>(), &[])
};

/// The keys of a `windows_service` check.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowsServiceKeys {
    service: Option<String>,
}

impl TypeKeys for WindowsServiceKeys {
    fn build(&self, _common: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
        build(self, b)
    }
}

/// `sc`'s exit code for a service that is not installed
/// (ERROR_SERVICE_DOES_NOT_EXIST).
pub const NO_SUCH_SERVICE: i32 = 1060;

/// What `sc query NAME` said.
#[derive(Debug, PartialEq, Eq)]
pub enum Query {
    /// The service is not installed.
    Missing,
    /// Its `STATE` (`4  RUNNING`: the number and its name) and, when not
    /// 0, its `WIN32_EXIT_CODE`.
    State {
        code: u32,
        name: String,
        exit_code: Option<u32>,
    },
}

impl Query {
    pub fn is(&self, state: &str) -> bool {
        matches!(self, Query::State { name, .. } if name == state)
    }
}

/// Read `sc query`'s exit code and stdout; `None` when it says neither
/// that the service is missing nor what state it is in.
pub fn parse_query(code: Option<i32>, stdout: &str) -> Option<Query> {
    if code == Some(NO_SUCH_SERVICE) {
        return Some(Query::Missing);
    }
    let field = |key: &str| {
        stdout.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == key).then(|| v.split_whitespace().collect::<Vec<_>>())
        })
    };
    let state = field("STATE")?;
    let code = state.first()?.parse().ok()?;
    let name = state.get(1)?.to_string();
    let exit_code = field("WIN32_EXIT_CODE")
        .and_then(|v| v.first()?.parse().ok())
        .filter(|c| *c != 0);
    Some(Query::State {
        code,
        name,
        exit_code,
    })
}

/// `sc query NAME` through `sc`, read; `Err` when it timed out or said
/// nothing readable.
pub fn query(sc: &[String], service: &str, timeout: std::time::Duration) -> anyhow::Result<Query> {
    let mut argv = sc.to_vec();
    argv.extend(["query".to_string(), service.to_string()]);
    let out = proc::Job::new(&argv, timeout).run()?;
    if out.timed_out {
        return Err(anyhow!("{} query {service} timed out", argv[0]));
    }
    parse_query(out.code, &String::from_utf8_lossy(&out.stdout)).ok_or_else(|| {
        let said: Vec<String> = [&out.stdout, &out.stderr]
            .iter()
            .map(|b| String::from_utf8_lossy(b).trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        anyhow!(
            "{} query {service} failed (exit {}): {}",
            argv[0],
            out.code
                .map_or("by a signal".to_string(), |c| c.to_string()),
            said.join("; ")
        )
    })
}

struct WindowsServiceCheck {
    sc: Vec<String>,
    service: String,
}

fn build(raw: &WindowsServiceKeys, b: &mut Builder) -> Option<Box<dyn Probe>> {
    let service = b.required("service", &raw.service)?.clone();
    let service = b.windows_service_name("service", &service)?;
    let sc = b.settings().sc.clone();
    Some(Box::new(WindowsServiceCheck { sc, service }))
}

impl Probe for WindowsServiceCheck {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome> {
        Ok(judge(
            &self.service,
            &query(&self.sc, &self.service, ctx.remaining())?,
        ))
    }
}

/// The outcome for what `sc query` said of a service.
fn judge(service: &str, query: &Query) -> Outcome {
    match query {
        Query::Missing => Outcome::critical(format!("{service}: no such service")),
        Query::State { name, .. } if name == "RUNNING" => {
            Outcome::ok(format!("{service} is RUNNING"))
        }
        Query::State {
            name, exit_code, ..
        } => {
            let code = exit_code
                .map(|c| format!(" (exit code {c})"))
                .unwrap_or_default();
            Outcome::critical(format!("{service} is {name}{code}"))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::Status;

    /// `sc query` under Wine 10 (`wine sc query eventlog`, `... Spooler`),
    /// as captured, CRLF line endings included.
    pub const RUNNING: &str = "SERVICE_NAME: eventlog\r\n        TYPE               : 20  WIN32_SHARE_PROCESS\r\n        STATE              : 4  RUNNING\r\n        WIN32_EXIT_CODE    : 0  (0x0)\r\n        SERVICE_EXIT_CODE  : 0  (0x0)\r\n        CHECKPOINT         : 0x0\r\n        WAIT_HINT          : 0x0\r\n";
    pub const STOPPED: &str = "SERVICE_NAME: Spooler\r\n        TYPE               : 110  \r\n        STATE              : 1  STOPPED\r\n        WIN32_EXIT_CODE    : 1077  (0x435)\r\n        SERVICE_EXIT_CODE  : 0  (0x0)\r\n        CHECKPOINT         : 0x0\r\n        WAIT_HINT          : 0x0\r\n";

    #[test]
    fn sc_query_as_wine_prints_it_is_read() {
        assert_eq!(
            parse_query(Some(0), RUNNING),
            Some(Query::State {
                code: 4,
                name: "RUNNING".into(),
                exit_code: None
            })
        );
        assert_eq!(
            parse_query(Some(0), STOPPED),
            Some(Query::State {
                code: 1,
                name: "STOPPED".into(),
                exit_code: Some(1077)
            })
        );
        // Wine prints nothing for a service that is not installed; the
        // exit code says it.
        assert_eq!(parse_query(Some(1060), ""), Some(Query::Missing));
        assert_eq!(parse_query(Some(1), "Usage: sc command servicename"), None);
    }

    #[test]
    fn running_is_ok_and_anything_else_critical() {
        let o = judge("eventlog", &parse_query(Some(0), RUNNING).unwrap());
        assert_eq!(
            (o.status, o.message.as_str()),
            (Status::Ok, "eventlog is RUNNING")
        );
        let o = judge("Spooler", &parse_query(Some(0), STOPPED).unwrap());
        assert_eq!(
            (o.status, o.message.as_str()),
            (Status::Critical, "Spooler is STOPPED (exit code 1077)")
        );
        let o = judge("nonesuch", &Query::Missing);
        assert_eq!(
            (o.status, o.message.as_str()),
            (Status::Critical, "nonesuch: no such service")
        );
    }
}
