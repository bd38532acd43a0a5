//! Secrets: values that must never be printed. Every secret the config
//! yields is registered here, and everything healthcheck writes (stdout,
//! stderr, reports, state) passes through `redact`, so a secret cannot leak
//! through a library's error message either.

use std::fmt;
use std::sync::{Mutex, PoisonError};

static REGISTERED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Secrets shorter than this are not redacted inside other text: replacing
/// every "ab" would mangle output while protecting nothing.
const MIN_REDACTED_LEN: usize = 4;

/// Remember a value so that `redact` hides it wherever it appears, and
/// its encodings too: base64 (an SMTP login, a Basic header echoed by a
/// server) and percent-encoding (the value inside a URL).
pub fn register(value: &str) {
    if value.len() < MIN_REDACTED_LEN {
        return;
    }
    let mut all = REGISTERED.lock().unwrap_or_else(PoisonError::into_inner);
    for form in encodings(value) {
        if !all.contains(&form) {
            all.push(form);
        }
    }
    // Longest first, so a secret that contains another is hidden whole.
    all.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

/// Characters a URL may carry unencoded (RFC 3986's unreserved set).
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `value` as written, in base64, and percent-encoded both by encoders
/// that keep the unreserved characters and by those that encode all.
fn encodings(value: &str) -> Vec<String> {
    use base64::Engine;
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let mut forms = vec![
        value.to_string(),
        base64::engine::general_purpose::STANDARD.encode(value),
        utf8_percent_encode(value, UNRESERVED).to_string(),
        utf8_percent_encode(value, NON_ALPHANUMERIC).to_string(),
    ];
    forms.sort();
    forms.dedup();
    forms
}

/// `text` with every registered secret replaced by `***`.
pub fn redact(text: &str) -> String {
    let all = REGISTERED.lock().unwrap_or_else(PoisonError::into_inner);
    let mut out = text.to_string();
    for secret in all.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

/// A secret config value. `Debug` and `Display` show only `***`; the value is
/// reached with `expose()` at the one place that needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        register(&value);
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A secret read from the config is registered for redaction as it is read.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The password part of `scheme://user:password@host/...`, if any.
pub fn url_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then_some(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("hunter2-very-secret".into());
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn redact_hides_registered_values_inside_text() {
        register("tok-abc-123-xyz");
        assert_eq!(
            redact("error sending to https://x/bot/tok-abc-123-xyz/send: 404"),
            "error sending to https://x/bot/***/send: 404"
        );
    }

    #[test]
    fn the_base64_and_percent_encodings_of_a_secret_leaked() {
        use base64::Engine;
        let secret = "p@ss w/rd:0xE1";
        register(secret);
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        assert_eq!(redact(&format!("535 rejected: {b64}")), "535 rejected: ***");
        assert_eq!(
            redact("https://u:p%40ss%20w%2Frd%3A0xE1@h/"),
            "https://u:***@h/"
        );
        assert_eq!(redact("x=p%40ss%20w%2Frd%3A0xE1"), "x=***");
    }

    #[test]
    fn url_password_is_found() {
        assert_eq!(url_password("postgres://u:p4ss@h:5432/db"), Some("p4ss"));
        assert_eq!(url_password("postgres://u@h/db"), None);
        assert_eq!(url_password("http://h/a:b@c"), None);
    }
}
