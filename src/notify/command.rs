//! The `command` channel: run your own program with the digest as text on
//! stdin and `HEALTHCHECK_STATUS`, `HEALTHCHECK_HOST`, `HEALTHCHECK_TITLE`,
//! `HEALTHCHECK_EVENTS` in its environment; exit 0 means delivered.

use super::ChannelKind;
use super::message::text;
use crate::http::{Budget, Failure};
use crate::model::Digest;
use crate::proc::Job;
use crate::spec::channel::Channel;
use crate::vocab::Builder;
use serde::Deserialize;
use serde_aux::serde_introspection::serde_introspect;

/// The keys of a `type = "command"` alert beyond the common ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    command: Option<Vec<String>>,
}

pub const KIND: ChannelKind = ChannelKind {
    name: "command",
    keys: serde_introspect::<Keys>,
    secret_keys: &[],
    secret_tables: &[],
    build: |table, b| build(&b.keys(table)?, b),
};

struct CommandChannel {
    argv: Vec<String>,
}

fn build(keys: &Keys, b: &mut Builder) -> Option<Box<dyn Channel>> {
    let argv = b.required("command", &keys.command)?.clone();
    if argv.is_empty() {
        b.error("command", "must name a program");
        return None;
    }
    Some(Box::new(CommandChannel { argv }))
}

impl Channel for CommandChannel {
    fn deliver(&self, digest: &Digest, budget: Budget) -> Result<(), Failure> {
        let timeout = budget
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        let body = text(digest);
        let status = digest.status().word();
        let title = super::message::title(digest);
        let count = digest.events.len().to_string();
        let out = Job::new(&self.argv, timeout)
            .stdin(body.as_bytes())
            .env("HEALTHCHECK_STATUS", status)
            .env("HEALTHCHECK_HOST", &digest.host)
            .env("HEALTHCHECK_TITLE", &title)
            .env("HEALTHCHECK_EVENTS", &count)
            .run()
            // Cannot start it now (EAGAIN, a missing program that a fix
            // may bring back): the digest waits, as for any failure.
            .map_err(|e| Failure::retry(e.to_string()))?;
        if out.code == Some(0) {
            Ok(())
        } else {
            Err(Failure::retry(format!(
                "{} {}",
                self.argv[0],
                out.describe()
            )))
        }
    }
}
