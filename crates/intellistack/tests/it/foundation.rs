//! Foundation: migrations on both databases, schema parity, readiness,
//! operational endpoints, start-up errors.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use common::{DatabaseConfig, Db};

use crate::support::cli::succeeded;
use crate::support::http::text_at;
use crate::support::proxy::TcpProxy;
use crate::support::{Backend, Options, PgDatabase, TestServer, pg};

/// (column name, canonical type, nullable, part of primary key)
type Columns = Vec<(String, String, bool, bool)>;

async fn sqlite_schema(db: &Db) -> BTreeMap<String, Columns> {
    let Db::Sqlite(pool) = db else { unreachable!() };
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut out = BTreeMap::new();
    for (table,) in tables {
        let cols: Vec<(String, String, bool, i64)> = sqlx::query_as(
            r#"SELECT name, type, "notnull", pk FROM pragma_table_info($1) ORDER BY cid"#,
        )
        .bind(&table)
        .fetch_all(pool)
        .await
        .unwrap();
        let cols = cols
            .into_iter()
            .map(|(name, ty, notnull, pk)| {
                (name, canonical_sqlite(&ty), !notnull && pk == 0, pk > 0)
            })
            .collect();
        out.insert(table, cols);
    }
    out
}

async fn postgres_schema(db: &Db) -> BTreeMap<String, Columns> {
    let Db::Postgres(pool) = db else {
        unreachable!()
    };
    let rows: Vec<(String, String, String, String, bool)> = sqlx::query_as(
        r#"SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.is_nullable::text,
                  EXISTS (SELECT 1 FROM information_schema.table_constraints tc
                          JOIN information_schema.key_column_usage k
                            ON k.constraint_name = tc.constraint_name AND k.table_name = tc.table_name
                          WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_name = c.table_name
                            AND k.column_name = c.column_name) AS pk
           FROM information_schema.columns c
           WHERE c.table_schema = 'public' AND c.table_name NOT LIKE '_sqlx_%'
           ORDER BY c.table_name, c.ordinal_position"#,
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut out: BTreeMap<String, Columns> = BTreeMap::new();
    for (table, name, ty, nullable, pk) in rows {
        out.entry(table)
            .or_default()
            .push((name, canonical_postgres(&ty), nullable == "YES", pk));
    }
    out
}

/// Type spellings differ between the two databases; their meaning must not.
fn canonical_sqlite(ty: &str) -> String {
    match ty.to_ascii_uppercase().as_str() {
        "TEXT" => "text",
        "INTEGER" => "integer",
        "BOOLEAN" => "boolean",
        "TIMESTAMP" => "timestamp",
        "BLOB" => "bytes",
        "REAL" => "real",
        other => panic!("unexpected SQLite column type {other}"),
    }
    .into()
}

fn canonical_postgres(ty: &str) -> String {
    match ty {
        "text" => "text",
        "bigint" => "integer",
        "boolean" => "boolean",
        "timestamp with time zone" => "timestamp",
        "bytea" => "bytes",
        "double precision" => "real",
        other => panic!("unexpected PostgreSQL column type {other}"),
    }
    .into()
}

#[tokio::test]
async fn migrations_give_the_same_schema_on_sqlite_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Db::connect(&DatabaseConfig::Sqlite {
        path: dir.path().join("schema.db"),
    })
    .await
    .unwrap();
    sqlite.migrate().await.unwrap();
    let pgdb = PgDatabase::create().await;
    let postgres = Db::connect(&DatabaseConfig::Postgres {
        url: pgdb.url.clone(),
    })
    .await
    .unwrap();
    postgres.migrate().await.unwrap();

    let a = sqlite_schema(&sqlite).await;
    let b = postgres_schema(&postgres).await;
    assert!(
        a.len() >= 25,
        "the whole data model is created: {:?}",
        a.keys()
    );
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "both databases have the same tables"
    );
    for (table, cols) in &a {
        assert_eq!(
            cols, &b[table],
            "table {table} differs between SQLite and PostgreSQL"
        );
    }
    // Running the migrations again is a no-op on both.
    sqlite.migrate().await.unwrap();
    postgres.migrate().await.unwrap();
    postgres.close().await;
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = DatabaseConfig::Sqlite {
        path: dir.path().join("nested/folder/app.db"),
    };
    let db = Db::connect(&cfg).await.unwrap();
    db.migrate().await.unwrap();
    let now = chrono::Utc::now();
    common::on_db!(&db, pool => sqlx::query(
        r#"INSERT INTO "user" (id, name, email, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)"#)
        .bind("u1").bind("Ada").bind("ada@example.com").bind(now)
        .execute(pool).await.unwrap().rows_affected());
    db.close().await;

    let db = Db::connect(&cfg).await.unwrap();
    db.migrate().await.unwrap();
    let (email, verified, role): (String, bool, String) = common::on_db!(&db, pool =>
        sqlx::query_as(r#"SELECT email, email_verified, role FROM "user" WHERE id = $1"#)
            .bind("u1").fetch_one(pool).await.unwrap());
    assert_eq!(
        (email.as_str(), verified, role.as_str()),
        ("ada@example.com", false, "student")
    );
}

crate::per_database! {
    async fn health_ready_and_metrics_answer_on_both_databases(backend) {
        let server = TestServer::start(backend).await;
        let http = reqwest::Client::new();
        let health = http.get(server.at("/health")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        assert!(
            health.headers().contains_key("x-request-id"),
            "every response carries a request id"
        );
        let ready = http.get(server.at("/ready")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "{backend:?}");
        let metrics = text_at(&http, server.at("/metrics")).await;
        assert!(
            metrics.contains(r#"http_requests_total{method="GET",route="/ready",status="200"}"#),
            "{metrics}"
        );
        assert!(
            metrics.contains("http_request_duration_seconds_bucket"),
            "{metrics}"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn ready_reports_503_while_the_database_is_unreachable_and_recovers() {
    let pgdb = PgDatabase::create().await;
    let real: url::Url = pgdb.url.parse().unwrap();
    let target = format!(
        "{}:{}",
        real.host_str().unwrap(),
        real.port().unwrap_or(5432)
    );
    let target = tokio::net::lookup_host(target)
        .await
        .unwrap()
        .next()
        .unwrap();
    let mut proxy = TcpProxy::start(target).await;
    let mut through = real.clone();
    through.set_host(Some("127.0.0.1")).unwrap();
    through.set_port(Some(proxy.port)).unwrap();

    let server = TestServer::start_with(
        Backend::Postgres,
        Options {
            database_url: Some(through.to_string()),
            ..Default::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(server.at("/ready")).send().await.unwrap().status(),
        200
    );

    proxy.stop();
    let res = wait_for_status(&http, &server.at("/ready"), 503).await;
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["reason"].as_str().unwrap().contains("database"),
        "{body}"
    );
    assert_eq!(
        http.get(server.at("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "liveness does not depend on the database"
    );

    proxy.resume().await;
    wait_for_status(&http, &server.at("/ready"), 200).await;
    server.stop().await;
    drop(pgdb);
}

/// Polls until `url` answers `status` (bounded: 30 tries).
async fn wait_for_status(http: &reqwest::Client, url: &str, status: u16) -> reqwest::Response {
    let mut last = 0;
    for _ in 0..30 {
        let res = http.get(url).send().await.unwrap();
        last = res.status().as_u16();
        if last == status {
            return res;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{url} kept answering {last}, expected {status}");
}

fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_intellistack"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn");
    cmd
}

#[tokio::test]
async fn a_second_server_on_the_same_port_fails_with_a_clear_message() {
    let server = TestServer::start(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let out = binary()
        .current_dir(dir.path())
        .args([
            "serve",
            "--bind",
            "127.0.0.1",
            "--port",
            &server.addr.port().to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(
        lines[0].contains(&format!(
            "port {} on 127.0.0.1 is already in use",
            server.addr.port()
        )),
        "{stderr}"
    );
    assert!(lines[0].contains("--port"), "says what to change: {stderr}");
    server.stop().await;
}

#[test]
fn bad_configuration_exits_with_code_2_and_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            vec![("DATABASE_URL", "mysql://root@localhost/db")],
            "DATABASE_URL has unknown scheme `mysql`",
        ),
        (
            vec![("DATABASE_URL", "postgres://")],
            "DATABASE_URL is not a valid URL",
        ),
        (
            vec![("INTELLISTACK_ENV", "production")],
            "BETTER_AUTH_SECRET is not set",
        ),
        (vec![("PORT", "seventy")], "PORT=`seventy` is invalid"),
    ];
    for (vars, expected) in cases {
        let mut cmd = binary();
        cmd.current_dir(dir.path()).arg("migrate");
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{vars:?}: {stderr}");
        assert!(stderr.contains(expected), "{vars:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}

#[test]
fn migrate_command_applies_migrations_to_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pgdb = rt.block_on(PgDatabase::create());
    let dir = tempfile::tempdir().unwrap();
    let out = binary()
        .current_dir(dir.path())
        .env("DATABASE_URL", &pgdb.url)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(succeeded(&out).contains("migrations applied"));
    let _ = pg::admin_url();
}

/// `NAME=value` lines of `.env.example`, commented out or not.
fn env_example_lines() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.env.example"))
        .unwrap();
    text.lines()
        .map(|l| l.trim_start_matches('#').trim())
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn env_example_documents_every_variable() {
    use common::settings::WhenUnset;
    let lines = env_example_lines();
    let declared = intellistack::settings::declared();
    for (krate, var) in &declared {
        let line = lines.iter().find(|(k, _)| k == var.name);
        assert!(
            line.is_some(),
            "{} ({krate}) is missing from .env.example",
            var.name
        );
        if let (Some((_, shown)), WhenUnset::Value(default)) = (line, var.default) {
            assert_eq!(
                shown, default,
                "{}: .env.example shows `{shown}`, the declaration's default is `{default}`",
                var.name
            );
        }
    }
    // Read outside the settings: by the test support and by the import commands.
    const ELSEWHERE: [&str; 2] = ["DATABASE_URL_TEST", "BETTER_AUTH_OLD_SECRET"];
    for (name, _) in &lines {
        assert!(
            ELSEWHERE.contains(&name.as_str()) || declared.iter().any(|(_, v)| v.name == name),
            ".env.example documents {name}, which no crate declares"
        );
    }
}

#[test]
fn readme_table_of_variables_is_the_declarations() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let header = "| Variable | Default | Meaning |";
    let start = readme
        .find(header)
        .expect("the README has its table of variables");
    let end = readme[start..]
        .find("\n\n")
        .map(|i| start + i + 1)
        .unwrap_or(readme.len());
    let wanted = intellistack::settings::markdown_table();
    if std::env::var("INTELLISTACK_BLESS").is_ok_and(|v| v == "1") {
        let updated = format!("{}{}{}", &readme[..start], wanted, &readme[end..]);
        std::fs::write(path, updated).unwrap();
        return;
    }
    assert_eq!(
        &readme[start..end],
        wanted,
        "the README's table differs from the declarations; rerun with INTELLISTACK_BLESS=1"
    );
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    use crate::support::auth::verified_user;
    let server = TestServer::start_with(
        Backend::Sqlite,
        Options::default()
            .var("CHATKIT_RESPONDER", "echo")
            .var("CHATKIT_ECHO_DELAY_MS", "20"),
    )
    .await;
    let b = verified_user(&server, "inflight@example.com").await;
    let token = crate::support::api::token(&b, &server).await;
    let words = (0..40)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut res =
        crate::support::chat::send(&server, &token, crate::support::chat::create(&words)).await;
    let first = res.chunk().await.unwrap().expect("the stream started");
    // Ask the server to stop while the answer is still streaming.
    let stopping = tokio::spawn(server.stop());
    let mut body = String::from_utf8_lossy(&first).to_string();
    while let Some(chunk) = res.chunk().await.unwrap() {
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        body.contains("\"type\":\"thread.item.done\"") && body.contains("w39"),
        "the reply finished: {body}"
    );
    stopping.await.unwrap();
}

#[test]
fn the_compose_file_checks_every_service_and_sets_what_the_app_needs() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/docker-compose.yml"
    ))
    .unwrap();
    let mut doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    doc.apply_merge().unwrap();
    let services = doc["services"].as_mapping().unwrap();
    for name in [
        "postgres", "qdrant", "auth", "api-1", "api-2", "web", "proxy",
    ] {
        let svc = &services[name];
        let hc = &svc["healthcheck"];
        assert!(
            hc["test"].as_sequence().is_some_and(|t| !t.is_empty()),
            "{name} has a health check"
        );
        for key in ["interval", "timeout", "retries"] {
            assert!(!hc[key].is_null(), "{name} health check sets {key}");
        }
    }
    let auth_check = format!("{:?}", services["auth"]["healthcheck"]["test"]);
    assert!(
        auth_check.contains("/.well-known/openid-configuration"),
        "the auth role is checked through OIDC discovery: {auth_check}"
    );
    for name in ["auth", "api-1", "api-2", "web"] {
        let env = &services[name]["environment"];
        for var in [
            "DATABASE_URL",
            "BETTER_AUTH_SECRET",
            "BETTER_AUTH_URL",
            "INTELLISTACK_ENV",
            "QDRANT_URL",
            "TRUSTED_PROXIES",
        ] {
            assert!(
                env[var].as_str().is_some_and(|v| !v.is_empty()),
                "{name} sets {var}"
            );
        }
        assert!(
            env["DATABASE_URL"]
                .as_str()
                .unwrap()
                .starts_with("postgres://"),
            "{name} uses PostgreSQL"
        );
    }
    let api = services["api-1"]["command"].as_sequence().unwrap();
    assert_eq!(
        api.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>(),
        vec!["serve", "--roles", "api"]
    );
    assert_eq!(
        services["api-1"]["environment"]["BETTER_AUTH_JWKS_URL"].as_str(),
        Some("http://auth:3000/api/auth/jwks")
    );
}
