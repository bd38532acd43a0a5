//! Each invalid config in `tests/fixtures/invalid/` is rejected by
//! `healthcheck validate` and by a run with exit 3, with exactly the errors
//! in its `.expected` file (every error at once, located, no secret).
//! `UPDATE_FIXTURES=1` rewrites the expected files; review the diff.
//! Where an error lists every check type, the expected file says
//! `{check types}`: the list is the registry's, so that adding a type
//! changes no fixture.

use crate::harness::{Env, fixtures};
use healthcheck::check::{KINDS, Platform};
use std::process::Command;

/// The check types this build offers, as an unknown type's error lists them.
fn check_types() -> String {
    let names: Vec<&str> = KINDS
        .iter()
        .filter(|k| k.only_on.is_none_or(|o| o.on == Platform::current()))
        .map(|k| k.name)
        .collect();
    names.join(", ")
}

#[test]
fn every_invalid_fixture_gets_its_exact_errors() {
    let dir = fixtures().join("invalid");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "fixtures missing: {names:?}");
    let mut failures = Vec::new();
    for path in names {
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let out = Command::new(env!("CARGO_BIN_EXE_healthcheck"))
            .current_dir(&dir)
            .env_remove("HEALTHCHECK_TEST_UNSET_VAR")
            .env_remove("CREDENTIALS_DIRECTORY")
            .args(["validate", "-c", &file])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let expected_path = path.with_extension("expected");
        let types = format!("(one of: {})", check_types());
        if std::env::var_os("UPDATE_FIXTURES").is_some() {
            let written = stderr.replace(&types, "(one of: {check types})");
            std::fs::write(&expected_path, written).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_default()
            .replace("(one of: {check types})", &types);
        if out.status.code() != Some(3) || stderr != expected {
            failures.push(format!(
                "== {file}: exit {:?}\n-- got:\n{stderr}-- expected:\n{expected}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_bot_token_file_is_not_an_inline_secret_but_a_readable_one_is_warned_about() {
    let env = Env::new();
    let token = env.write("telegram.token", "123456:ABC-token-from-a-file\n");
    let config = env.write(
        "healthcheck.toml",
        &format!(
            "[settings]\nstate_dir = \"{}\"\n\n[[alert]]\ntype = \"telegram\"\nbot_token_file = \"{}\"\nchat_id = \"42\"\n",
            env.path("state").display(),
            token.display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    for path in [&config, &token] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let run = env.run(&["validate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("inline"), "{}", run.stderr);
    assert!(!run.stderr.contains("alert[0]"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "healthcheck: warning: alert \"telegram\" bot_token_file is read from {}, which is readable by other users; chmod 600 it",
            token.display()
        )),
        "{}",
        run.stderr
    );
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = env.run(&["validate"]);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn an_inline_secret_is_named_like_every_other_message_names_its_alert() {
    let env = Env::new();
    env.config(
        "[[alert]]\ntype = \"telegram\"\nbot_token = \"123456:ABC-inline\"\nchat_id = \"42\"\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        env.path("healthcheck.toml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let run = env.run(&["validate"]);
    assert!(
        run.stderr
            .contains("alert \"telegram\" bot_token is a secret written inline"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_run_with_an_invalid_config_runs_nothing_and_exits_3() {
    let env = Env::new();
    let marker = env.path("ran");
    env.config(&format!(
        "[[check]]\nname = \"touch\"\ntype = \"command\"\ncommand = [\"touch\", \"{}\"]\n\n[[check]]\nname = \"bad\"\ntype = \"file\"\n",
        marker.display()
    ));
    let run = env.run(&[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("check \"bad\": missing key path, which this type requires"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was run"), "{}", run.stderr);
    assert!(
        !marker.exists(),
        "a check ran although the config was invalid"
    );
    assert!(
        !env.path("state").exists(),
        "state was written for an invalid config"
    );
}

#[test]
fn a_secret_on_a_malformed_line_is_not_echoed() {
    let out = Command::new(env!("CARGO_BIN_EXE_healthcheck"))
        .current_dir(fixtures().join("invalid"))
        .args(["-c", "secret-on-bad-line.toml"])
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(all.contains("secret-on-bad-line.toml:5:"), "{all}");
    assert!(!all.contains("s3cr3t-token-value"), "{all}");
}

#[test]
fn secrets_from_env_and_files_never_reach_any_output() {
    let env = Env::new();
    let secret_header = "Bearer env-secret-0xC0FFEE";
    let secret_url = "http://127.0.0.1:9/secret-path-from-file-0xBEEF";
    env.write("url.txt", &format!("{secret_url}\n"));
    env.config(
        "[[check]]\nname = \"api\"\ntype = \"http\"\nurl_file = \"url.txt\"\nheaders = { Authorization = \"${API_AUTH}\" }\ntimeout = \"2s\"\n",
    );
    for format in ["text", "json", "nagios"] {
        let out = env
            .cmd()
            .env("API_AUTH", secret_header)
            .args(["--format", format, "-v"])
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{all}");
        assert!(
            !all.contains("0xC0FFEE") && !all.contains("0xBEEF"),
            "secret leaked in {format}:\n{all}"
        );
    }
    for entry in walk(&env.path("state")) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(
            !text.contains("0xC0FFEE") && !text.contains("0xBEEF"),
            "secret leaked into {}",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

#[test]
fn a_checks_secret_keys_are_the_ones_its_type_declares() {
    let env = Env::new();
    let warned = |config: &str| {
        env.config(config);
        let run = env.run(&["validate"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stderr.contains("is a secret written inline")
    };
    // A database URL gives away only a password.
    let sql =
        "[[check]]\nname = \"db\"\ntype = \"sql\"\ndriver = \"postgres\"\nquery = \"SELECT 1\"\n";
    assert!(warned(&format!(
        "{sql}url = \"postgres://watch:Pg-Inline-Secret@127.0.0.1:5432/ticks\"\n"
    )));
    assert!(!warned(&format!(
        "{sql}url = \"postgres://watch@127.0.0.1:5432/ticks\"\n"
    )));
    // An http check's headers are secret, its URL is not.
    let http = "[[check]]\nname = \"api\"\ntype = \"http\"\nurl = \"http://127.0.0.1:9/health\"\n";
    assert!(warned(&format!(
        "{http}headers = {{ Authorization = \"Bearer inline-token\" }}\n"
    )));
    assert!(!warned(http));
    // `url_file`: the URL read from a file, for the types that declare it.
    let url = env.write("api.url", "http://127.0.0.1:9/from-file\n");
    assert!(!warned(&format!(
        "[[check]]\nname = \"api\"\ntype = \"http\"\nurl_file = \"{}\"\n",
        url.display()
    )));
    env.config(&format!(
        "[[check]]\nname = \"api\"\ntype = \"tcp\"\naddress = \"127.0.0.1:9\"\nurl_file = \"{}\"\n",
        url.display()
    ));
    let run = env.run(&["validate"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("check \"api\": key `url_file` does not apply to checks of type `tcp`"),
        "{}",
        run.stderr
    );
}
