//! `${NAME}` / `${NAME:-default}` in any string value, and `X_file = "/path"`
//! for any secret key `X`. Runs on the parsed document before
//! serde sees it, so that errors still point at the line that needs fixing.
//! Secret values found on the way are registered for redaction.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::notify;
use crate::secret;
use crate::vocab::Errors;

/// Keys whose value is a secret wherever they appear.
const SECRET_KEYS: &[&str] = &["password", "bot_token", "token", "headers"];
/// Keys that may be given as `X_file`.
const FILE_KEYS: &[&str] = &["url", "password", "bot_token", "token"];

/// Is the value at this key path a secret? `kind` is the `type` of the
/// table the key is in: a `sql` check's `url` is a database URL, which
/// may hold a password in its options as well as in its user part; an
/// alert's channel says which of its keys are secrets.
fn is_secret(path: &[String], kind: Option<&str>) -> bool {
    if is_alert(path) {
        return alert_secret(&path[1..], kind);
    }
    let url = path.last().is_some_and(|k| k == "url");
    path.iter().any(|p| SECRET_KEYS.contains(&p.as_str()))
        || (url && path.first().is_some_and(|s| s == "ping"))
        || (url && kind == Some("sql"))
}

/// Is this path in an `[[alert]]`?
fn is_alert(path: &[String]) -> bool {
    path.first()
        .is_some_and(|s| s == "alert" || s.starts_with("alert["))
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
/// as `key_file`? An alert's channel says; elsewhere, the keys that hold
/// a secret.
fn file_key(path: &[String], kind: Option<&str>, key: &str) -> bool {
    if is_alert(path) {
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
    expand_table(doc, None, &mut Vec::new(), errors, &mut found);
    found
}

/// Expand a table; `outer` is the `type` of the table it is in, if any
/// (an alert's `headers` are its channel's).
fn expand_table(
    table: &mut DeTable,
    outer: Option<&str>,
    path: &mut Vec<String>,
    errors: &mut Errors,
    found: &mut Found,
) {
    let kind = table
        .get("type")
        .and_then(|t| t.get_ref().as_str())
        .or(outer)
        .map(str::to_string);
    let file_keys: Vec<Spanned<Cow<str>>> = table
        .keys()
        .filter(|k| {
            k.get_ref()
                .strip_suffix("_file")
                .is_some_and(|base| file_key(path, kind.as_deref(), base))
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
            expand_value(value, path, kind.as_deref(), errors, &mut Found::default());
        } else {
            expand_value(value, path, kind.as_deref(), errors, found);
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
            let secret = is_secret(path, kind);
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
                let gives_away = kind != Some("sql")
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
        DeValue::Table(t) => expand_table(t, kind, path, errors, found),
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
    use super::{file_key, is_secret, substitute};

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
    fn a_sql_check_url_is_a_secret_and_other_urls_are_not() {
        let path = |k: &str| vec!["check[0]".to_string(), k.to_string()];
        assert!(is_secret(&path("url"), Some("sql")));
        assert!(!is_secret(&path("url"), Some("http")));
        assert!(!is_secret(&path("query"), Some("sql")));
        // [[alert]] tables are array items: their path starts "alert[N]".
        assert!(is_secret(
            &["alert[1]".into(), "url".into()],
            Some("discord")
        ));
        assert!(is_secret(&["ping".into(), "url".into()], None));
    }

    #[test]
    fn an_alerts_secrets_are_the_ones_its_channel_declares() {
        let path = |keys: &[&str]| -> Vec<String> {
            std::iter::once("alert[0]")
                .chain(keys.iter().copied())
                .map(String::from)
                .collect()
        };
        assert!(is_secret(&path(&["bot_token"]), Some("telegram")));
        assert!(!is_secret(&path(&["chat_id"]), Some("telegram")));
        assert!(is_secret(&path(&["password"]), Some("email")));
        assert!(!is_secret(&path(&["username"]), Some("email")));
        assert!(is_secret(
            &path(&["headers", "Authorization"]),
            Some("webhook")
        ));
        assert!(!is_secret(&path(&["labels", "team"]), Some("alertmanager")));
        assert!(!is_secret(&path(&["command[0]"]), Some("command")));
        // A type that names no channel: any channel's secret key is one.
        assert!(is_secret(&path(&["token"]), Some("ntfyy")));
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
