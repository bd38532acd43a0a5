//! `${NAME}` / `${NAME:-default}` in any string value, and `X_file = "/path"`
//! for any secret key `X` (a check's: as its type declares them). Runs on the parsed document before
//! serde sees it, so that errors still point at the line that needs fixing.
//! Secret values found on the way are registered for redaction.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::check::{self, Secret};
use crate::notify;
use crate::secret;
use crate::vocab::Errors;

/// Keys whose value is a secret wherever they appear outside `[[check]]`
/// and `[[alert]]`, whose types declare theirs, and inside a check's own
/// tables (`env`).
const SECRET_KEYS: &[&str] = &["password", "bot_token", "token", "headers"];
/// Keys that may be given as `X_file` outside `[[check]]` and `[[alert]]`.
const FILE_KEYS: &[&str] = &["url", "password", "bot_token", "token"];

/// Whether a value is a secret.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Hidden {
    No,
    /// Wholly, and written inline it is warned about.
    Value,
    /// A URL that may carry credentials (a database URL): hidden wholly,
    /// warned about inline only when it holds a password.
    Url,
}

/// Is this key path inside a `[[check]]` table?
fn in_check(path: &[String]) -> bool {
    path.first().is_some_and(|s| s.starts_with("check["))
}

/// Is this path in an `[[alert]]`?
fn is_alert(path: &[String]) -> bool {
    path.first()
        .is_some_and(|s| s == "alert" || s.starts_with("alert["))
}

/// Is the value at this key path a secret? `kind` is the `type` of the
/// `[[check]]` or `[[alert]]` table it is in, which declares its secret
/// keys.
fn hidden(path: &[String], kind: Option<&str>) -> Hidden {
    if in_check(path) {
        let key = path.get(1).map(|k| k.split('[').next().unwrap_or(k));
        let declared = kind
            .and_then(check::kind)
            .zip(key)
            .and_then(|(kind, key)| kind.secrets.iter().find(|s| s.key() == key));
        return match declared {
            // A key inside one of its tables (`env`) named like a secret
            // is one, whatever the type.
            None if path[1..].iter().any(|p| SECRET_KEYS.contains(&p.as_str())) => Hidden::Value,
            None => Hidden::No,
            Some(Secret::Value(_)) => Hidden::Value,
            Some(Secret::Url(_)) => Hidden::Url,
        };
    }
    let secret = if is_alert(path) {
        alert_secret(&path[1..], kind)
    } else {
        let url = path.last().is_some_and(|k| k == "url");
        path.iter().any(|p| SECRET_KEYS.contains(&p.as_str()))
            || (url && path.first().is_some_and(|s| s == "ping"))
    };
    if secret { Hidden::Value } else { Hidden::No }
}

/// The channel types an alert of type `kind` may be: its own, or any
/// when its type names none (the loader reports that), so that a secret
/// is kept secret whichever type was meant.
fn channels(kind: Option<&str>) -> impl Iterator<Item = &'static notify::ChannelKind> {
    let own = kind.and_then(notify::channel_kind);
    notify::CHANNELS
        .iter()
        .copied()
        .filter(move |c| own.is_none_or(|o| o.name == c.name))
}

/// Is the value at `path` within an alert of type `kind` a secret, by its
/// channel's word: a secret key, or a value in a table of secrets.
fn alert_secret(path: &[String], kind: Option<&str>) -> bool {
    let Some(key) = path.first().map(|k| k.split('[').next().unwrap_or(k)) else {
        return false;
    };
    channels(kind).any(|c| {
        if path.len() == 1 {
            c.secret_keys.contains(&key)
        } else {
            c.secret_tables.contains(&key)
        }
    })
}

/// May `key` of the table at `path`, of type `kind`, be read from a file
/// as `key_file`? A check's type and an alert's channel say; elsewhere,
/// the keys that hold a secret.
fn file_key(path: &[String], kind: Option<&str>, key: &str) -> bool {
    if in_check(path) {
        path.len() == 1
            && kind
                .and_then(check::kind)
                .is_some_and(|k| k.from_file.contains(&key))
    } else if is_alert(path) {
        path.len() == 1 && channels(kind).any(|c| c.secret_keys.contains(&key))
    } else {
        FILE_KEYS.contains(&key)
    }
}

/// Keys whose value is an argument list: what reaches one from the
/// environment may be a key on a command line, and an argv is printed
/// (a recovery command's "ran ...", a plugin's own output).
const ARGV_KEYS: &[&str] = &[
    "command",
    "run",
    "start",
    "restart",
    "guard",
    "systemctl",
    "docker",
    "compose",
    "sc",
    "journalctl",
];

/// Does a value at this key path carry credentials when it is built
/// from the environment (a token in a check's URL, a header, a body, an
/// argument list)?
fn carries_credentials(path: &[String]) -> bool {
    let last = path.last().map(|k| k.split('[').next().unwrap_or(k));
    last.is_some_and(|k| matches!(k, "url" | "body") || ARGV_KEYS.contains(&k))
        || path.iter().any(|p| p == "headers" || p == "env")
}

/// The first secret written inline: its key and where it is.
pub(super) type Inline = Option<(String, usize)>;

/// What expanding found that the loader warns about: the first secret
/// written inline, and the secret files other users can read (key, path).
#[derive(Default)]
pub(super) struct Found {
    pub inline: Inline,
    pub readable_files: Vec<(String, PathBuf)>,
}

/// Expand the whole document.
pub(super) fn expand(doc: &mut DeTable, errors: &mut Errors) -> Found {
    let mut found = Found::default();
    expand_table(doc, &mut Vec::new(), None, errors, &mut found);
    found
}

/// Expand a table; `outer` is the `type` of the `[[check]]` or
/// `[[alert]]` table it is in, if any (an alert's `headers` are its
/// channel's).
fn expand_table(
    table: &mut DeTable,
    path: &mut Vec<String>,
    outer: Option<&str>,
    errors: &mut Errors,
    found: &mut Found,
) {
    let own = table.get("type").and_then(|t| t.get_ref().as_str());
    let kind = if path.len() == 1 { own } else { outer }.map(str::to_string);
    let kind = kind.as_deref();
    let file_keys: Vec<Spanned<Cow<str>>> = table
        .keys()
        .filter(|k| {
            k.get_ref()
                .strip_suffix("_file")
                .is_some_and(|base| file_key(path, kind, base))
        })
        .cloned()
        .collect();
    // Read from a file: not written inline, whatever it holds.
    let mut from_files = Vec::new();
    for key in file_keys {
        let value = table.remove(&key).expect("key was just listed");
        let base = key.get_ref().trim_end_matches("_file").to_string();
        let at = format!("{}{}", prefix(path), key.get_ref());
        if table.keys().any(|k| k.get_ref() == base.as_str()) {
            errors.push(
                key.span(),
                at,
                format!("give either `{base}` or `{base}_file`, not both"),
            );
            continue;
        }
        let Some(file) = value.get_ref().as_str() else {
            errors.push(value.span(), at, "must be a path string");
            continue;
        };
        let resolved = resolve_credential(file);
        match read_regular(&resolved) {
            Ok((content, meta)) => {
                if super::permissions::world_or_group_readable(&meta) {
                    found.readable_files.push((at.clone(), resolved.clone()));
                }
                from_files.push(base.clone());
                let content = content
                    .strip_suffix('\n')
                    .map(|c| c.strip_suffix('\r').unwrap_or(c))
                    .unwrap_or(&content)
                    .to_string();
                secret::register(&content);
                table.insert(
                    Spanned::new(key.span(), Cow::Owned(base)),
                    Spanned::new(value.span(), DeValue::String(Cow::Owned(content))),
                );
            }
            Err(e) => {
                let message = format!("cannot read \"{}\": {e}", resolved.display());
                errors.secret_missing(value.span(), at, message);
                // Its value is missing for that reason only: no second error.
                errors.unavailable.push(format!("{}{base}", prefix(path)));
            }
        }
    }
    for (key, value) in table.iter_mut() {
        path.push(key.get_ref().to_string());
        if from_files.iter().any(|f| f == key.get_ref()) {
            expand_value(value, path, kind, errors, &mut Found::default());
        } else {
            expand_value(value, path, kind, errors, found);
        }
        path.pop();
    }
}

fn expand_value(
    value: &mut Spanned<DeValue>,
    path: &mut Vec<String>,
    kind: Option<&str>,
    errors: &mut Errors,
    found: &mut Found,
) {
    let span = value.span();
    match value.get_mut() {
        DeValue::String(s) => {
            let hidden = hidden(path, kind);
            let secret = hidden != Hidden::No;
            if s.contains('$') {
                let looked_up = std::cell::RefCell::new(Vec::new());
                let lookup = |name: &str| {
                    let value = std::env::var(name).ok();
                    looked_up.borrow_mut().extend(value.clone());
                    value
                };
                match substitute(s, lookup) {
                    Ok(out) => {
                        if secret {
                            secret::register(&out);
                        }
                        // `${TOKEN}` in any URL, header or body is a
                        // credential: hidden wherever it goes.
                        if carries_credentials(path) {
                            for value in looked_up.into_inner() {
                                secret::register(&value);
                            }
                        }
                        *s = Cow::Owned(out);
                    }
                    Err(e) => errors.secret_missing(
                        span,
                        prefix(path).trim_end_matches('.').to_string(),
                        e,
                    ),
                }
            } else if secret {
                secret::register(s);
                // A database URL without a password gives nothing away.
                let gives_away = hidden == Hidden::Value
                    || secret::url_password(s).is_some()
                    || s.to_ascii_lowercase().contains("password=");
                if gives_away && found.inline.is_none() {
                    found.inline =
                        Some((prefix(path).trim_end_matches('.').to_string(), span.start));
                }
            }
            if let Some(p) = secret::url_password(s) {
                secret::register(p);
            }
        }
        DeValue::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let last = path.pop().unwrap_or_default();
                path.push(format!("{last}[{i}]"));
                expand_value(item, path, kind, errors, found);
                path.pop();
                path.push(last);
            }
        }
        DeValue::Table(t) => expand_table(t, path, kind, errors, found),
        _ => {}
    }
}

fn prefix(path: &[String]) -> String {
    path.iter().map(|p| format!("{p}.")).collect()
}

/// The largest config or credential file read: a config of a thousand
/// checks is a tenth of it.
const MAX_FILE: u64 = 1024 * 1024;

/// Read a config or credential file (at most `MAX_FILE`), refusing at once what is not a
/// regular file: opened non-blocking, a FIFO cannot hang the run, and a
/// device such as /dev/zero is never read. Also returns the metadata of
/// the file that was read.
pub(super) fn read_regular(path: &Path) -> std::io::Result<(String, std::fs::Metadata)> {
    use std::io::Read;
    let mut options = std::fs::File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if let Some(why) = crate::files::not_regular_file(&meta) {
        return Err(std::io::Error::other(format!(
            "it is {why}, not a regular file"
        )));
    }
    let over =
        |size: u64| std::io::Error::other(format!("it is {size} bytes, over the 1 MiB limit"));
    if meta.len() > MAX_FILE {
        return Err(over(meta.len()));
    }
    let mut text = String::new();
    file.take(MAX_FILE + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE {
        return Err(over(text.len() as u64));
    }
    Ok((text, meta))
}

/// A relative credential path is looked up in `$CREDENTIALS_DIRECTORY`
/// first (systemd's `LoadCredential=`), then as given.
fn resolve_credential(file: &str) -> PathBuf {
    let path = crate::vocab::expand_tilde(file);
    if path.is_relative()
        && let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY")
    {
        let candidate = Path::new(&dir).join(&path);
        if candidate.exists() {
            return candidate;
        }
    }
    path
}

/// Replace `${NAME}` and `${NAME:-default}`; `$${` is a literal `${`.
fn substitute(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            out.push_str("${");
            rest = tail;
            continue;
        }
        let Some(body) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = body.find('}') else {
            return Err("unclosed `${` (write `$${` for a literal `${`)".into());
        };
        let inner = &body[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("invalid variable name `{name}` in `${{{inner}}}`"));
        }
        match (lookup(name), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(format!(
                    "environment variable `{name}` is not set (use `${{{name}:-default}}` for a default)"
                ));
            }
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{Hidden, file_key, hidden, substitute};

    fn env(name: &str) -> Option<String> {
        (name == "HOME_X").then(|| "/home/x".to_string())
    }

    #[track_caller]
    fn case(input: &str, expected: Result<&str, &str>) {
        assert_eq!(
            substitute(input, env).as_deref(),
            expected.map_err(|e| e.to_string()).as_deref()
        );
    }

    #[test]
    fn a_password_or_token_in_a_checks_env_is_still_a_secret() {
        let path = |keys: &[&str]| -> Vec<String> {
            std::iter::once("check[0]")
                .chain(keys.iter().copied())
                .map(String::from)
                .collect()
        };
        assert_eq!(
            hidden(&path(&["env", "token"]), Some("command")),
            Hidden::Value
        );
        assert_eq!(
            hidden(&path(&["env", "password"]), Some("http")),
            Hidden::Value
        );
        assert_eq!(hidden(&path(&["env", "HOME"]), Some("command")), Hidden::No);
    }

    #[test]
    fn a_sql_check_url_is_a_secret_and_other_urls_are_not() {
        let path = |k: &str| vec!["check[0]".to_string(), k.to_string()];
        let (sql, http) = (Some("sql"), Some("http"));
        assert_eq!(hidden(&path("url"), sql), Hidden::Url);
        assert_eq!(hidden(&path("url"), http), Hidden::No);
        assert_eq!(hidden(&path("query"), sql), Hidden::No);
        let header = ["check[0]".into(), "headers".into(), "Authorization".into()];
        assert_eq!(hidden(&header, http), Hidden::Value);
        // [[alert]] tables are array items: their path starts "alert[N]".
        assert_eq!(
            hidden(&["alert[1]".into(), "url".into()], None),
            Hidden::Value
        );
        assert_eq!(hidden(&["ping".into(), "url".into()], None), Hidden::Value);
    }

    #[test]
    fn an_alerts_secrets_are_the_ones_its_channel_declares() {
        let secret = |path: &[String], kind| hidden(path, kind) != Hidden::No;
        let path = |keys: &[&str]| -> Vec<String> {
            std::iter::once("alert[0]")
                .chain(keys.iter().copied())
                .map(String::from)
                .collect()
        };
        assert!(secret(&path(&["bot_token"]), Some("telegram")));
        assert!(!secret(&path(&["chat_id"]), Some("telegram")));
        assert!(secret(&path(&["password"]), Some("email")));
        assert!(!secret(&path(&["username"]), Some("email")));
        assert!(secret(
            &path(&["headers", "Authorization"]),
            Some("webhook")
        ));
        assert!(!secret(&path(&["labels", "team"]), Some("alertmanager")));
        assert!(!secret(&path(&["command[0]"]), Some("command")));
        // A type that names no channel: any channel's secret key is one.
        assert!(secret(&path(&["token"]), Some("ntfyy")));
        assert!(file_key(&path(&[]), Some("telegram"), "bot_token"));
        assert!(!file_key(&path(&[]), Some("telegram"), "chat_id"));
        assert!(!file_key(&path(&[]), Some("command"), "url"));
    }

    #[test]
    fn variables_defaults_and_escapes() {
        case("${HOME_X}/bot.log", Ok("/home/x/bot.log"));
        case("a ${MISSING:-dflt} b", Ok("a dflt b"));
        case("${HOME_X:-unused}", Ok("/home/x"));
        case("cost $5 and $${LITERAL}", Ok("cost $5 and ${LITERAL}"));
        case(
            "${MISSING}",
            Err(
                "environment variable `MISSING` is not set (use `${MISSING:-default}` for a default)",
            ),
        );
        case(
            "${OPEN",
            Err("unclosed `${` (write `$${` for a literal `${`)"),
        );
        case("${1BAD}", Err("invalid variable name `1BAD` in `${1BAD}`"));
    }
}
