//! The dead man's switch: tell a Healthchecks.io-compatible
//! service that a run started and how it ended, so that someone notices
//! when healthcheck itself stops running. `<url>/start` at the start,
//! then `<url>` for exit 0 or `<url>/<exit code>`, with the summary as body.
//! The suffix goes into the URL's path (a query such as `?create=1` stays
//! a query), both pings carry the run's `rid` so the service pairs them and
//! measures the run, and the body starts with the summary line and is cut
//! at `body_limit`. The URL is a secret; failures are reported without it.

use std::time::{Duration, Instant};

use crate::http::{self, Budget, Failure, HttpRequest};
use crate::secret::Secret;
use crate::spec::ping::PingSpec;

/// The switch of one run.
#[derive(Debug, Clone)]
pub struct Ping {
    url: Secret,
    /// The most one ping may take (`[ping] timeout`, default 10s).
    pub timeout: Duration,
    /// The most bytes of body a ping carries (`[ping] body_limit`).
    body_limit: usize,
    /// This run's id, the same on `/start` and the final ping.
    rid: String,
}

impl Ping {
    pub fn new(spec: &PingSpec) -> Ping {
        Ping {
            url: spec.url.clone(),
            timeout: spec.timeout,
            body_limit: spec.body_limit,
            rid: run_id(),
        }
    }

    /// Its own timeout, and never past the run's `deadline`.
    fn budget(&self, deadline: Instant) -> Budget {
        Budget::within(self.timeout, deadline)
    }

    fn request(&self, suffix: &str, body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST",
            url: with_suffix(self.url.expose(), suffix, &self.rid),
            headers: vec![
                ("Content-Type".into(), "text/plain; charset=utf-8".into()),
                (
                    "User-Agent".into(),
                    concat!("healthcheck/", env!("CARGO_PKG_VERSION")).into(),
                ),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    /// `<url>/start`.
    pub fn start(&self, deadline: Instant) -> Result<(), Failure> {
        http::send(
            &self.request("start", ""),
            self.budget(deadline),
            http::never_final,
        )
    }

    /// `<url>` for exit code 0, `<url>/<code>` otherwise, with the text
    /// report `summary` (its summary line first) as the body.
    pub fn finish(&self, exit_code: u8, summary: &str, deadline: Instant) -> Result<(), Failure> {
        let suffix = if exit_code == 0 {
            String::new()
        } else {
            exit_code.to_string()
        };
        http::send(
            &self.request(&suffix, &body(summary, self.body_limit)),
            self.budget(deadline),
            http::never_final,
        )
    }
}

/// `suffix` as the last path segment of `url`, and `rid` added to its
/// query. A URL that does not parse (the config checked it) is kept as is.
fn with_suffix(url: &str, suffix: &str, rid: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    let path = parsed.path().trim_end_matches('/').to_string();
    if suffix.is_empty() {
        parsed.set_path(&path);
    } else {
        parsed.set_path(&format!("{path}/{suffix}"));
    }
    parsed.query_pairs_mut().append_pair("rid", rid);
    parsed.into()
}

/// The text report with its last line (the summary) moved first, cut at
/// `limit` bytes (on a line, else a character boundary) with a note of
/// how much was cut.
fn body(report: &str, limit: usize) -> String {
    let text = report.trim_end_matches('\n');
    let (rest, summary) = text.rsplit_once('\n').unwrap_or(("", text));
    let whole = if rest.is_empty() {
        format!("{summary}\n")
    } else {
        format!("{summary}\n{rest}\n")
    };
    if whole.len() <= limit {
        return whole;
    }
    // Room for the note, whose length depends on the number it carries.
    let note = |cut: usize| format!("... ({cut} bytes cut)\n");
    let room = limit.saturating_sub(note(whole.len()).len());
    let mut end = whole[..room.min(whole.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    if end == 0 {
        end = (0..=room.min(whole.len()))
            .rev()
            .find(|&i| whole.is_char_boundary(i))
            .unwrap_or(0);
    }
    let mut out = whole[..end].to_string();
    out.push_str(&note(whole.len() - end));
    out
}

/// A random UUID (version 4) for `rid`, from the standard library's
/// randomly seeded hasher, the clock and the process id.
fn run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u32(std::process::id());
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.finish()
    };
    let bits = (u128::from(half(1)) << 64) | u128::from(half(2));
    let bits = (bits & !(0xf << 76)) | (0x4 << 76);
    let bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suffix_goes_into_the_path_and_the_rid_into_the_query() {
        assert_eq!(
            with_suffix("https://hc.example/ping/u?create=1", "start", "r"),
            "https://hc.example/ping/u/start?create=1&rid=r"
        );
        assert_eq!(
            with_suffix("https://hc.example/ping/u/", "2", "r"),
            "https://hc.example/ping/u/2?rid=r"
        );
        assert_eq!(
            with_suffix("https://hc.example/ping/u/?x=1", "", "r"),
            "https://hc.example/ping/u?x=1&rid=r"
        );
    }

    #[test]
    fn the_body_starts_with_the_summary_and_fits_the_limit() {
        let report = "[CRIT] a  broken\n[CRIT] b  broken\nCRITICAL: 2 critical in 3 ms\n";
        assert_eq!(
            body(report, 1000),
            "CRITICAL: 2 critical in 3 ms\n[CRIT] a  broken\n[CRIT] b  broken\n"
        );
        let cut = body(report, 60);
        assert!(cut.len() <= 60, "{cut:?}");
        assert_eq!(cut, "CRITICAL: 2 critical in 3 ms\n... (34 bytes cut)\n");
        assert_eq!(body("OK: 3 ok in 1 ms\n", 1000), "OK: 3 ok in 1 ms\n");
        let tiny = body(&"é".repeat(100), 30);
        assert!(
            tiny.len() <= 30 && tiny.ends_with("bytes cut)\n"),
            "{tiny:?}"
        );
    }

    #[test]
    fn run_ids_are_uuids_and_differ() {
        let re = regex::Regex::new(
            "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .unwrap();
        let (a, b) = (run_id(), run_id());
        assert!(re.is_match(&a), "{a}");
        assert_ne!(a, b);
    }
}
