//! `sql` and `json` checks against real databases and files: SQLite files
//! made here, a throwaway PostgreSQL cluster per test (stopped at the end),
//! token and dashboard JSON files and a tiny HTTP server. SQL Server cannot
//! run here: a refused connection is tested, and a real server when
//! `HEALTHCHECK_TEST_MSSQL_URL` is set. Each example config in `examples/`
//! that reads a database is run against the data condition it describes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::harness::{Env, Postgres, Run, TcpListenerPort};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// A UTC time `seconds` from now, written the way the bots' Python writes
/// naive times: "2026-11-22 05:00:00".
fn naive_utc(seconds_from_now: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds_from_now);
    t.to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn epoch(seconds_from_now: i64) -> i64 {
    jiff::Timestamp::now().as_second() + seconds_from_now
}

/// Run a config file with the state dir inside `env`.
/// Run a config's data checks (`sql`, `json`): the examples also hold
/// systemd and docker checks of services that do not exist here.
fn run_file(env: &Env, config: &Path, vars: &[(&str, &str)]) -> Run {
    let text = std::fs::read_to_string(config).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    let mut cmd = env.cmd();
    cmd.args(["run", "--no-alert", "-c", config.to_str().unwrap()])
        .env("STATE_DIRECTORY", env.path("state"));
    let given: Vec<&str> = vars.iter().map(|(k, _)| *k).collect();
    crate::harness::placeholder_env(&mut cmd, &text, &given);
    for check in doc["check"].as_array().unwrap() {
        if matches!(check["type"].as_str(), Some("sql" | "json")) {
            cmd.args(["--only", check["name"].as_str().unwrap()]);
        }
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Run::from(out)
}

/// The options scanner's cache database: `cache_metadata(key, updated_at)` and a watchlist.
fn scanner_db(path: &Path, watchlist_age: i64, whale_age: i64, symbols: &[&str]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(path);
    let db = Connection::open(path).unwrap();
    db.execute_batch(
        "CREATE TABLE cache_metadata (key TEXT PRIMARY KEY, updated_at TEXT);
         CREATE TABLE watchlist (symbol TEXT);",
    )
    .unwrap();
    db.execute(
        "INSERT INTO cache_metadata VALUES ('watchlist', ?1), ('whale_flows', ?2)",
        [naive_utc(-watchlist_age), naive_utc(-whale_age)],
    )
    .unwrap();
    for s in symbols {
        db.execute("INSERT INTO watchlist VALUES (?1)", [s])
            .unwrap();
    }
}

fn token_file(path: &Path, access_left: i64, refresh_created_ago: i64) {
    let json = serde_json::json!({
        "token": {
            "access_token": "I0.b2F1dGgyLmNkYy5zY2h3YWIuY29t",
            "expires_at": epoch(access_left),
            "refresh_token_created_at": epoch(-refresh_created_ago),
        }
    });
    std::fs::write(path, json.to_string()).unwrap();
}

#[test]
fn options_scanner_stale_watchlist_empty_watchlist_and_token_expiry() {
    let env = Env::new();
    let dir = env.path("options-scanner");
    let db = dir.join("data/market_cache.db");
    let vars = [("OPTIONS_SCANNER_DIR", dir.to_str().unwrap())];
    let config = example("options-scanner.toml");

    // The incident: watchlist 18 minutes old and empty; the refresh token
    // was created 5.5 days ago (1.5 days left); the access token is fine.
    scanner_db(&db, 18 * 60, 120, &[]);
    token_file(
        &dir.join("schwab_client.json"),
        20 * 60,
        5 * 86_400 + 12 * 3600,
    );
    let run = run_file(&env, &config, &vars);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.line("watchlist").contains("last update 18m"),
        "{}",
        run.stdout
    );
    assert!(run.line("watchlist").contains("(crit above 15m)"));
    assert!(run.line("watchlist").starts_with("[CRIT]"));
    assert!(run.line("watchlist-rows").starts_with("[CRIT]"));
    assert!(run.line("watchlist-rows").contains("no data (no rows)"));
    assert!(run.line("whale-flows").starts_with("[OK]"));
    assert!(run.line("whale-flows").contains("last update 2m"));
    let access = run.line("schwab-access-token");
    assert!(
        access.starts_with("[OK]") && access.contains(" left"),
        "{access}"
    );
    let refresh = run.line("schwab-refresh-token");
    assert!(refresh.starts_with("[WARN]"), "{refresh}");
    assert!(
        refresh.contains("1d 11h") || refresh.contains("1d 12h"),
        "{refresh}"
    );
    assert!(refresh.contains("(warn below 2d)"), "{refresh}");

    // Healthy again: fresh and filled; the worker refreshed the token.
    scanner_db(&db, 60, 60, &["SPY", "QQQ"]);
    token_file(&dir.join("schwab_client.json"), 29 * 60, 86_400);
    let run = run_file(&env, &config, &vars);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.line("watchlist-rows").contains("1 row"));

    // Expired access token: CRITICAL without any threshold.
    token_file(&dir.join("schwab_client.json"), -3 * 3600, 86_400);
    let run = run_file(&env, &config, &vars);
    assert!(run.line("schwab-access-token").starts_with("[CRIT]"));
    assert!(run.line("schwab-access-token").contains("expired 3h ago"));

    // The database file gone: CRITICAL, named, and never created.
    std::fs::remove_file(&db).unwrap();
    let run = run_file(&env, &config, &vars);
    assert_eq!(run.code, 2);
    assert!(
        run.line("watchlist")
            .contains(&format!("database file not found: {}", db.display())),
        "{}",
        run.stdout
    );
    assert!(!db.exists(), "the check created the database file");
}

#[test]
fn sqlite_refuses_writes_and_runaway_queries_and_waits_for_locks_only_until_the_timeout() {
    let env = Env::new();
    let path = env.path("t.db");
    let db = Connection::open(&path).unwrap();
    db.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3);")
        .unwrap();
    let check = |name: &str, query: &str| {
        format!(
            "[[check]]\nname = \"{name}\"\ntype = \"sql\"\ndriver = \"sqlite\"\ndatabase = \"{}\"\nquery = \"{query}\"\ntimeout = \"1s\"\n",
            path.display()
        )
    };
    env.config(&[
        // Past the keyword rule of `validate`: still refused at run time.
        check("delete", "WITH d AS (SELECT 1) DELETE FROM t"),
        check("two", "SELECT 1; DROP TABLE t"),
        check("insert", "WITH i(x) AS (VALUES (4)) INSERT INTO t SELECT x FROM i"),
        check(
            "forever",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
        ),
        check("count", "SELECT count(*) FROM t"),
    ]
    .join("\n"));
    let started = Instant::now();
    let run = env.run(&[]);
    let took = started.elapsed();
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    for name in ["delete", "insert"] {
        assert!(
            run.line(name)
                .contains("refusing to run a statement that can write"),
            "{}",
            run.stdout
        );
    }
    assert!(run.line("two").contains("more than one statement"));
    assert!(run.line("forever").starts_with("[UNKNOWN]"));
    assert!(
        run.line("forever")
            .contains("query still running at the timeout: interrupted"),
        "{}",
        run.stdout
    );
    assert!(run.line("count").contains("value is 3"));
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let rows: i64 = db
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3, "the table was changed");

    // Another process holds an exclusive lock: wait up to the timeout, then say so.
    db.execute_batch("BEGIN EXCLUSIVE; INSERT INTO t VALUES (9);")
        .unwrap();
    env.config(&check("locked", "SELECT count(*) FROM t"));
    let started = Instant::now();
    let run = env.run(&[]);
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(
        run.line("locked").contains("database locked"),
        "{}",
        run.stdout
    );
    db.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn json_dashboard_metrics_from_a_file_and_over_http() {
    // The SolTrader bot's bot_data.json: token discovery warn < 100, crit < 50.
    let env = Env::new();
    let file = env.write(
        "bot_data.json",
        r#"{"performance": {"tokens_discovered": 80, "approval_rate": 25.5},
            "last_update": "2026-01-01T00:00:00Z"}"#,
    );
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let addr = server.server_addr().to_ip().unwrap();
    let serving = std::thread::spawn(move || {
        for status in [200, 503] {
            if let Ok(Some(req)) = server.recv_timeout(Duration::from_secs(20)) {
                let body = r#"{"performance": {"api_error_rate": 23.0}}"#;
                let _ =
                    req.respond(tiny_http::Response::from_string(body).with_status_code(status));
            }
        }
    });
    let closed = TcpListenerPort::free();
    env.config(&format!(
        r#"
[[check]]
name = "tokens-discovered"
type = "json"
path = "{file}"
pointer = "/performance/tokens_discovered"
warn_below = 100
crit_below = 50

[[check]]
name = "approval-rate"
type = "json"
path = "{file}"
pointer = "/performance/approval_rate"
warn_below = 20
crit_below = 15

[[check]]
name = "dashboard-age"
type = "json"
path = "{file}"
pointer = "/last_update"
expect = "age"
crit_above = "15m"

[[check]]
name = "missing-field"
type = "json"
path = "{file}"
pointer = "/performance/trades_per_hour"
empty = "warning"

[[check]]
name = "api-errors"
type = "json"
url = "http://{addr}/bot_data.json"
pointer = "/performance/api_error_rate"
warn_above = 10
crit_above = 20
"#,
        file = file.display()
    ));
    let run = env.run(&[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.line("tokens-discovered")
            .contains("value is 80 (warn below 100)"),
        "{}",
        run.stdout
    );
    assert!(run.line("tokens-discovered").starts_with("[WARN]"));
    assert!(run.line("approval-rate").starts_with("[OK]"));
    assert!(run.line("dashboard-age").starts_with("[CRIT]"));
    assert!(run.line("missing-field").starts_with("[WARN]"));
    assert!(
        run.line("missing-field")
            .contains("no data: nothing at /performance/trades_per_hour")
    );
    assert!(
        run.line("api-errors")
            .contains("value is 23 (crit above 20)"),
        "{}",
        run.stdout
    );

    // The second request is answered 503; then nothing listens.
    env.config(&format!(
        "[[check]]\nname = \"down\"\ntype = \"json\"\nurl = \"http://{addr}/x\"\n\n[[check]]\nname = \"refused\"\ntype = \"json\"\nurl = \"http://127.0.0.1:{closed}/x\"\n\n[[check]]\nname = \"gone\"\ntype = \"json\"\npath = \"{}\"\n",
        env.path("nope.json").display()
    ));
    let run = env.run(&[]);
    assert!(run.line("refused").starts_with("[CRIT]"), "{}", run.stdout);
    assert!(run.line("refused").contains("cannot fetch"));
    assert!(run.line("gone").contains("file not found"));
    assert!(run.line("down").starts_with("[CRIT]"));
    assert!(run.line("down").contains("HTTP 503"), "{}", run.stdout);
    serving.join().unwrap();
}

/// Nothing listens on a port: CRITICAL "cannot connect", and the URL's
/// password appears in no output format.
#[track_caller]
fn refused_and_redacted(check: &str) {
    let env = Env::new();
    env.config(check);
    for format in ["text", "json", "nagios"] {
        let run = env.run(&["--format", format]);
        assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains("Sup3r-Secret"), "{all}");
        assert!(all.contains("cannot connect to 127.0.0.1:"), "{all}");
    }
    assert!(env.run(&[]).line("down").starts_with("[CRIT]"));
}

#[test]
fn postgres_refused_is_critical_and_the_password_never_shows() {
    let port = TcpListenerPort::free();
    refused_and_redacted(&format!(
        "[[check]]\nname = \"down\"\ntype = \"sql\"\ndriver = \"postgres\"\nquery = \"SELECT 1\"\n\
         url = \"postgres://watch:Pg-Sup3r-Secret@127.0.0.1:{port}/ticks?sslmode=disable\"\n"
    ));
}

#[cfg(feature = "mssql")]
#[test]
fn sql_server_refused_is_critical_and_the_password_never_shows() {
    let port = TcpListenerPort::free();
    refused_and_redacted(&format!(
        "[[check]]\nname = \"down\"\ntype = \"sql\"\ndriver = \"mssql\"\nquery = \"SELECT 1\"\n\
         url = \"mssql://etl:Ms-Sup3r-Secret@127.0.0.1:{port}/OPT\"\n"
    ));
}

#[test]
fn postgres_stale_and_fresh_tables_and_per_row_token_readings() {
    let Some(pg) = Postgres::start() else { return };
    // The ETH collector: newest tick age and tick rate on TimescaleDB (PostgreSQL).
    pg.sql("postgres", "CREATE DATABASE crypto_data");
    pg.sql(
        "crypto_data",
        "CREATE TABLE eth_option_quotes (timestamp timestamptz, price numeric);
         INSERT INTO eth_option_quotes
           SELECT now() - interval '12 minutes' - g * interval '1 second', 1.5 FROM generate_series(1, 100) g;",
    );
    let env = Env::new();
    let config = example("eth-collector.toml");
    let url = pg.url("crypto_data");
    let vars = [("ETH_TICKS_DB_URL", url.as_str())];
    let started = Instant::now();
    let run = run_file(&env, &config, &vars);
    let stale_ms = started.elapsed().as_millis();
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.line("newest-tick").contains("last update 12m"),
        "{}",
        run.stdout
    );
    assert!(run.line("tick-rate").contains("value is 0 (crit below 50)"));

    pg.sql(
        "crypto_data",
        "INSERT INTO eth_option_quotes
           SELECT now() - g * interval '300 milliseconds', 1.5 FROM generate_series(1, 900) g;",
    );
    let started = Instant::now();
    let run = run_file(&env, &config, &vars);
    let fresh_ms = started.elapsed().as_millis();
    let mut cmd = env.cmd();
    cmd.args([
        "run",
        "--no-alert",
        "--format",
        "json",
        "-c",
        config.to_str().unwrap(),
    ])
    .args(["--only", "newest-tick", "--only", "tick-rate"])
    .env("STATE_DIRECTORY", env.path("state"))
    .env("ETH_TICKS_DB_URL", &url);
    let text = std::fs::read_to_string(&config).unwrap();
    crate::harness::placeholder_env(&mut cmd, &text, &["ETH_TICKS_DB_URL"]);
    let out = cmd.output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!(
        "eth-collector on PostgreSQL: whole runs {stale_ms} ms (stale), {fresh_ms} ms (fresh); \
         per check (connect + query): {} ms, {} ms",
        report["checks"][0]["duration_ms"], report["checks"][1]["duration_ms"]
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.line("newest-tick").contains("last update 0"));
    assert!(
        run.line("tick-rate").contains("value is 180"),
        "{}",
        run.stdout
    );

    // The Schwab ETL: the example's SQL Server queries, unchanged, on PostgreSQL
    // (three-part names work there when the first part is the current
    // database). Times are naive New York wall-clock times, as GETDATE() gives.
    for db in ["chains", "opt"] {
        pg.sql("postgres", &format!("CREATE DATABASE {db}"));
    }
    let ny = "(now() AT TIME ZONE 'America/New_York')";
    pg.sql(
        "chains",
        &format!(
            "CREATE SCHEMA dbo; CREATE TABLE dbo.spx_chain (collected_at timestamp);
             INSERT INTO dbo.spx_chain VALUES ({ny} - interval '3 minutes'), ({ny} - interval '1 hour');"
        ),
    );
    pg.sql(
        "opt",
        &format!(
            "CREATE SCHEMA schwab; CREATE TABLE schwab.api (api_name text, expires_at timestamp);
             INSERT INTO schwab.api VALUES ('MAIN_DATA', {ny} + interval '42 minutes'),
                                           ('TRADER', {ny} + interval '3 minutes'),
                                           ('OHLC', {ny} + interval '12 minutes');"
        ),
    );
    let schwab_etl = std::fs::read_to_string(example("schwab-etl.toml")).unwrap();
    let mut doc: toml::Table = schwab_etl.parse().unwrap();
    let checks = doc.get_mut("check").and_then(|c| c.as_array_mut()).unwrap();
    for check in checks
        .iter_mut()
        .filter(|c| c["type"].as_str() == Some("sql"))
    {
        let table = check.as_table_mut().unwrap();
        let db = if table["name"].as_str() == Some("chains-freshness") {
            "chains"
        } else {
            "opt"
        };
        table.insert("driver".into(), "postgres".into());
        table.insert("url".into(), pg.url(db).into());
    }
    let on_pg = env.write(
        "schwab-etl-on-postgres.toml",
        &toml::to_string(&doc).unwrap(),
    );
    let run = run_file(&env, &on_pg, &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.line("chains-freshness").starts_with("[OK]")
            && run.line("chains-freshness").contains("last update 3m"),
        "{}",
        run.stdout
    );
    let tokens = run.line("api-tokens");
    assert!(tokens.starts_with("[CRIT]"), "{tokens}");
    for part in [
        "MAIN_DATA: 4",
        "m left",
        "(TRADER crit below 5m)",
        "(OHLC warn below 15m)",
    ] {
        assert!(tokens.contains(part), "{part} not in {tokens}");
    }
    let mut cmd = env.cmd();
    cmd.args([
        "run",
        "--no-alert",
        "--format",
        "json",
        "-c",
        on_pg.to_str().unwrap(),
    ])
    .args(["--only", "chains-freshness", "--only", "api-tokens"])
    .env("STATE_DIRECTORY", env.path("state"));
    crate::harness::placeholder_env(&mut cmd, &schwab_etl, &[]);
    let out = cmd.output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let readings = &report["checks"][1]["readings"];
    let names: Vec<&str> = readings
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["until[MAIN_DATA]", "until[TRADER]", "until[OHLC]"]);
    assert_eq!(readings[1]["crit_below"], 300.0);

    // Stale chains: the last collection an hour ago.
    pg.sql(
        "chains",
        "DELETE FROM dbo.spx_chain WHERE collected_at = (SELECT max(collected_at) FROM dbo.spx_chain)",
    );
    let run = run_file(&env, &on_pg, &[]);
    assert!(
        run.line("chains-freshness").contains("last update 1h"),
        "{}",
        run.stdout
    );
}

#[test]
fn postgres_refuses_writes_and_cancels_a_query_at_the_timeout() {
    let Some(pg) = Postgres::start() else { return };
    pg.sql(
        "postgres",
        "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2), (3);",
    );
    let env = Env::new();
    let check = |name: &str, query: &str| {
        format!(
            "[[check]]\nname = \"{name}\"\ntype = \"sql\"\ndriver = \"postgres\"\nurl = \"{}\"\nquery = \"{query}\"\ntimeout = \"2s\"\n",
            pg.url("postgres")
        )
    };
    env.config(
        &[
            // Past the keyword rule of `validate`: still refused at run time.
            check(
                "delete",
                "WITH d AS (DELETE FROM t RETURNING x) SELECT count(*) FROM d",
            ),
            check("two", "SELECT 1; DROP TABLE t"),
            check("sleep", "SELECT pg_sleep(60)"),
            check("rows", "SELECT x FROM t"),
        ]
        .join("\n")
        .replace("SELECT x FROM t\"", "SELECT x FROM t\"\nexpect = \"rows\""),
    );
    let started = Instant::now();
    let run = env.run(&[]);
    let took = started.elapsed();
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.line("delete").contains("in a read-only transaction"),
        "{}",
        run.stdout
    );
    assert!(
        run.line("two")
            .contains("cannot insert multiple commands into a prepared statement"),
        "{}",
        run.stdout
    );
    assert!(run.line("sleep").starts_with("[UNKNOWN]"));
    assert!(
        run.line("sleep")
            .contains("query still running at the timeout"),
        "{}",
        run.stdout
    );
    assert!(run.line("rows").contains("3 rows"));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(pg.sql("postgres", "SELECT count(*) FROM t"), "3");
    // The cut query does not go on running on the server.
    let mut left = String::new();
    for _ in 0..50 {
        left = pg.sql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid() AND state = 'active'",
        );
        if left == "0" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(left, "0", "pg_sleep still running on the server");
}

#[test]
fn a_hung_postgres_costs_the_check_timeout_while_other_checks_report() {
    let Some(pg) = Postgres::start() else { return };
    let env = Env::new();
    let log = env.write("bot.log", "tick\n");
    env.config(&format!(
        r#"
[[check]]
name = "ticks"
type = "sql"
driver = "postgres"
url = "{}"
query = "SELECT 1"
timeout = "2s"

[[check]]
name = "bot-log"
type = "file"
path = "{}"
crit_above = "5m"
"#,
        pg.url("postgres"),
        log.display()
    ));
    let run = env.run(&[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    // SAFETY: a plain signal to the server this test started; resumed on drop.
    assert_eq!(unsafe { libc::kill(pg.postmaster_pid(), libc::SIGSTOP) }, 0);
    let started = Instant::now();
    let run = env.run(&[]);
    let took = started.elapsed();
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.line("ticks").starts_with("[UNKNOWN]"));
    assert!(
        run.line("ticks").contains("did not respond"),
        "{}",
        run.stdout
    );
    assert!(run.line("bot-log").starts_with("[OK]"), "{}", run.stdout);
    assert!(took >= Duration::from_millis(1500), "took {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[cfg(feature = "mssql")]
#[test]
fn sql_server_when_one_is_given() {
    let Ok(url) = std::env::var("HEALTHCHECK_TEST_MSSQL_URL") else {
        eprintln!(
            "SKIPPED: set HEALTHCHECK_TEST_MSSQL_URL=mssql://USER:PASSWORD@HOST/DB to test a real SQL Server"
        );
        return;
    };
    let env = Env::new();
    env.config(&format!(
        r#"
[[check]]
name = "tokens"
type = "sql"
driver = "mssql"
url = "{url}"
query = "SELECT 'MAIN_DATA', DATEDIFF(minute, GETDATE(), DATEADD(minute, 42, GETDATE())) UNION ALL SELECT 'TRADER', 3"
label_column = 1
warn_below = 15
crit_below = 5

[[check]]
name = "chains"
type = "sql"
driver = "mssql"
url = "{url}"
query = "SELECT DATEADD(minute, -18, SYSUTCDATETIME())"
expect = "age"
crit_above = "15m"

[[check]]
name = "offset"
type = "sql"
driver = "mssql"
url = "{url}"
query = "SELECT SYSDATETIMEOFFSET()"
expect = "age"
"#
    ));
    let run = env.run(&[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.line("tokens")
            .contains("MAIN_DATA: 42, TRADER: 3 (TRADER crit below 5)")
    );
    assert!(run.line("chains").contains("last update 18m ago"));
    assert!(run.line("offset").starts_with("[OK]"));
}

#[test]
fn a_missing_table_was_unknown_and_never_restarted_anything() {
    let env = Env::new();
    let db = env.write("cache.db", "");
    env.config(&format!(
        "[[service]]\nname = \"worker\"\ncommand = {{ restart = [\"touch\", \"{}\"] }}\n\
         [[check]]\nname = \"cache\"\ntype = \"sql\"\ndriver = \"sqlite\"\ndatabase = \"{}\"\n\
         query = \"SELECT max(updated_at) FROM cache_metadata\"\nexpect = \"age\"\ncrit_above = \"15m\"\nrestart = \"worker\"\n",
        env.path("restarted").display(),
        db.display()
    ));
    let run = env.run(&[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        env.path("restarted").exists(),
        "a data outage restarts the worker"
    );
    let diagnosis = env.run(&["--no-restart"]);
    assert_eq!(diagnosis.code, 2, "{}", diagnosis.stdout);
    assert!(
        diagnosis
            .line("cache")
            .contains("table cache_metadata does not exist"),
        "{}",
        diagnosis.stdout
    );

    let Some(pg) = Postgres::start() else { return };
    pg.sql("postgres", "CREATE DATABASE worker");
    let env = Env::new();
    env.config(&format!(
        "[[check]]\nname = \"cache\"\ntype = \"sql\"\ndriver = \"postgres\"\nurl = \"{}\"\n\
         query = \"SELECT max(updated_at) FROM cache_metadata\"\nexpect = \"age\"\ncrit_above = \"15m\"\n",
        pg.url("worker")
    ));
    let run = env.run(&[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.line("cache")
            .contains("table \"cache_metadata\" does not exist"),
        "{}",
        run.stdout
    );
}
