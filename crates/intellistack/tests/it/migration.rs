//! Importing the previous IntelliStack's users, validating the result, and
//! backing up and restoring — through the real CLI, on both databases.

use std::process::{Command, Output};

use common::{Db, on_db};
use serde_json::json;

use crate::support::auth::{email_sign_in, plain};
use crate::support::cli::succeeded;
use crate::support::legacy::{self, SHARED_PASSWORD, USERS};
use crate::support::{Backend, PgDatabase, TEST_SECRET, TestServer};

/// Runs the intellistack CLI against `database_url`.
fn cli(database_url: &str, data_dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_intellistack"))
        .args(args)
        .current_dir(data_dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("BETTER_AUTH_SECRET", TEST_SECRET)
        .env("DATA_DIR", data_dir)
        .env("INTELLISTACK_ENV", "development")
        .output()
        .expect("run the intellistack binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The counts the report prints for `table`: (source, added, present, skipped).
fn counts(report: &str, table: &str) -> (u64, u64, u64, u64) {
    let line = report
        .lines()
        .find(|l| l.split_whitespace().next() == Some(table))
        .unwrap_or_else(|| panic!("no `{table}` line in:\n{report}"));
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    (n[0], n[1], n[2], n[3])
}

/// A new, empty database for `backend`: a SQLite file named `file` in `dir`,
/// or a PostgreSQL database that lives as long as the returned handle.
async fn empty_database(
    backend: Backend,
    dir: &std::path::Path,
    file: &str,
) -> (String, Option<PgDatabase>) {
    match backend {
        Backend::Sqlite => (format!("sqlite://{}", dir.join(file).display()), None),
        Backend::Postgres => {
            let pg = PgDatabase::create().await;
            (pg.url.clone(), Some(pg))
        }
    }
}

/// The session the server finds for a signed cookie holding `token`.
async fn session_by_cookie(server: &TestServer, token: &str) -> serde_json::Value {
    let cookie = format!(
        "better-auth.session_token={}",
        ::auth::cookies::sign(TEST_SECRET, token)
    );
    let res = plain()
        .get(server.at("/api/auth/get-session"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    res.json().await.unwrap()
}

async fn scalar(db: &Db, sql: &'static str) -> i64 {
    let row: (i64,) = on_db!(db, pool => sqlx::query_as(sql).fetch_one(pool).await).unwrap();
    row.0
}

crate::per_database! {
    async fn legacy_users_move_with_nothing_lost_on_both_databases(backend) {
        let server = TestServer::start(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let (source_url, _pg_source) = empty_database(backend, dir.path(), "legacy.db").await;
        let now = chrono::Utc::now();
        let fx = legacy::generate(&source_url, now).await;
        let db_url = server.database_url.clone();

        let dry = cli(
            &db_url,
            dir.path(),
            &["import", "legacy", "--from", &source_url, "--dry-run"],
        );
        let report = succeeded(&dry);
        assert!(report.contains("DRY RUN"));
        assert_eq!(
            counts(&report, "user"),
            (USERS as u64, (USERS - 5) as u64, 0, 5)
        );
        assert_eq!(
            scalar(&server.db, r#"SELECT COUNT(*) FROM "user""#).await,
            0,
            "a dry run writes nothing"
        );

        let import = || cli(&db_url, dir.path(), &["import", "legacy", "--from", &source_url]);
        let run = import();
        let report = succeeded(&run);
        assert_eq!(
            counts(&report, "user"),
            (USERS as u64, (USERS - 5) as u64, 0, 5),
            "{report}"
        );
        for dup in &fx.duplicates {
            assert!(
                report.contains(&format!("user {dup}: email")),
                "the refused duplicate {dup} is reported"
            );
        }
        let (_, sessions_added, _, sessions_skipped) = counts(&report, "session");
        assert_eq!(sessions_added as usize, fx.live_sessions);
        assert!(sessions_skipped as usize >= fx.expired_sessions);
        assert_eq!(counts(&report, "auth_event_log").1 as usize, fx.attempts);

        let again = import();
        let report = stdout(&again);
        assert_eq!(
            counts(&report, "user"),
            (USERS as u64, 0, (USERS - 5) as u64, 5),
            "a second run adds nothing"
        );
        assert_eq!(counts(&report, "account").1, 0);

        let ok = cli(
            &db_url,
            dir.path(),
            &["validate-import", "--from", &source_url],
        );
        succeeded(&ok);

        // Everyone with a password signs in with it; hashes move to argon2id.
        for s in &fx.samples {
            let (st, body, _) = email_sign_in(&plain(), &server, &s.email, &s.password).await;
            assert_eq!(st, 200, "{}: {body}", s.email);
            assert_eq!(body["user"]["id"], s.id.as_str(), "ids are preserved");
        }
        let (st, _, _) = email_sign_in(&plain(), &server, "learner100@example.com", SHARED_PASSWORD).await;
        assert_eq!(st, 200);
        let rehashed = scalar(&server.db, "SELECT COUNT(*) FROM account WHERE provider_id = 'credential' AND password LIKE '$argon2id$%'").await;
        assert_eq!(
            rehashed as usize,
            fx.samples.len() + 1,
            "verified once by bcrypt, then re-hashed"
        );
        let (st, body, _) = email_sign_in(&plain(), &server, &fx.inactive[0], SHARED_PASSWORD).await;
        assert_eq!(
            (st, body["code"].as_str()),
            (403, Some("BANNED_USER")),
            "inactive users are banned"
        );

        // Roles flattened to the highest.
        for (id, role) in fx.roles.iter().step_by(7) {
            let stored: (String,) = on_db!(&server.db, pool => sqlx::query_as(r#"SELECT role FROM "user" WHERE id = $1"#).bind(id).fetch_one(pool).await).unwrap();
            assert_eq!(stored.0, *role, "{id}");
        }
        // OAuth-only users keep their provider links.
        let linked = scalar(
            &server.db,
            "SELECT COUNT(DISTINCT user_id) FROM account WHERE provider_id IN ('google', 'github')",
        )
        .await;
        assert!(linked as usize >= fx.oauth_only.len());
        // A live session keeps working as a cookie.
        let token = "legacytoken00000000000000000000abcdefghij";
        let body = session_by_cookie(&server, token).await;
        assert_eq!(body["user"]["email"], "learner0@example.com", "{body}");

        // validate-import notices what is missing.
        on_db!(&server.db, pool => sqlx::query("DELETE FROM account WHERE user_id = $1 AND provider_id = 'credential'").bind(&fx.samples[1].id).execute(pool).await.map(|_| ())).unwrap();
        let bad = cli(
            &db_url,
            dir.path(),
            &["validate-import", "--from", &source_url],
        );
        assert_eq!(bad.status.code(), Some(1));
        assert!(
            stdout(&bad).contains(&format!(
                "MISMATCH credential account {}-credential",
                fx.samples[1].id
            )),
            "{}",
            stdout(&bad)
        );
        server.stop().await;
    }
}

crate::per_database! {
    async fn backup_wipe_restore_gives_back_the_same_data(backend) {
        let dir = tempfile::tempdir().unwrap();
        let (url, _pg_target) = empty_database(backend, dir.path(), "app.db").await;
        let source = format!("sqlite://{}", dir.path().join("legacy.db").display());
        legacy::generate(&source, chrono::Utc::now()).await;
        succeeded(&cli(&url, dir.path(), &["migrate"]));
        succeeded(&cli(&url, dir.path(), &["import", "legacy", "--from", &source]));

        let backup_dir = dir.path().join("backup");
        let out = cli(
            &url,
            dir.path(),
            &["backup", "--to", backup_dir.to_str().unwrap()],
        );
        succeeded(&out);
        let manifest = intellistack::migration::backup::read_manifest(&backup_dir).unwrap();
        assert!(manifest.tables["user"].rows >= (USERS - 5) as u64);

        let refused = cli(
            &url,
            dir.path(),
            &["restore", "--from", backup_dir.to_str().unwrap()],
        );
        assert_eq!(refused.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("--force"),
            "refuses to overwrite"
        );

        // Wipe.
        let cfg = common::config::DatabaseConfig::parse(&url).unwrap();
        match backend {
            Backend::Sqlite => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!(
                        "{}{suffix}",
                        dir.path().join("app.db").display()
                    ));
                }
            }
            Backend::Postgres => {
                let db = Db::connect(&cfg).await.unwrap();
                on_db!(&db, pool => sqlx::query("DROP SCHEMA public CASCADE").execute(pool).await.map(|_| ()))
                    .unwrap();
                on_db!(&db, pool => sqlx::query("CREATE SCHEMA public").execute(pool).await.map(|_| ()))
                    .unwrap();
                db.close().await;
            }
        }
        let out = cli(
            &url,
            dir.path(),
            &["restore", "--from", backup_dir.to_str().unwrap()],
        );
        assert!(succeeded(&out).contains("match the manifest"));
        let db = Db::connect(&cfg).await.unwrap();
        let after = intellistack::migration::backup::summarize(&db)
            .await
            .unwrap();
        assert_eq!(
            after, manifest.tables,
            "identical row counts and content hashes"
        );
        db.close().await;

        // A damaged backup is refused.
        let file = backup_dir.join(&manifest.file);
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&file, bytes).unwrap();
        let out = cli(
            &url,
            dir.path(),
            &["restore", "--force", "--from", backup_dir.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("damaged"));
    }
}

#[tokio::test]
async fn case_duplicates_can_be_merged_into_the_older_account() {
    let server = TestServer::start(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}", dir.path().join("legacy.db").display());
    let fx = legacy::generate(&source, chrono::Utc::now()).await;
    let run = cli(
        &server.database_url,
        dir.path(),
        &[
            "import",
            "legacy",
            "--from",
            &source,
            "--duplicates",
            "merge",
        ],
    );
    let report = succeeded(&run);
    assert_eq!(counts(&report, "user").1, (USERS - 5) as u64);
    assert!(
        report.contains(&format!(
            "user {}: email learner0@example.com already belongs to user",
            fx.duplicates[0]
        )),
        "{report}"
    );
    assert!(report.contains("merged into it"));
    // The duplicate's live session now belongs to the older account.
    let owner: (String,) = on_db!(&server.db, pool => sqlx::query_as("SELECT u.email FROM session s JOIN \"user\" u ON u.id = s.user_id WHERE s.token = $1")
        .bind("legacytoken00000000000000001000abcdefghij").fetch_one(pool).await).unwrap();
    assert_eq!(owner.0, "learner0@example.com");
    let ok = cli(
        &server.database_url,
        dir.path(),
        &[
            "validate-import",
            "--from",
            &source,
            "--duplicates",
            "merge",
        ],
    );
    succeeded(&ok);
    server.stop().await;
}

/// A Better-Auth SQLite file as its Kysely adapter writes one: camelCase
/// columns, ISO-8601 text dates, 0/1 booleans, the `issuer` column of
/// 1.7.0–1.7.2, an scrypt `salt:key` hash and an encrypted Ed25519 key.
#[tokio::test]
async fn better_auth_sqlite_files_import_with_their_encodings() {
    let server = TestServer::start(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("better-auth.sqlite");
    let url = format!("sqlite://{}", path.display());
    let db = Db::connect(&common::config::DatabaseConfig::parse(&url).unwrap())
        .await
        .unwrap();
    let old_secret = "better-auth-secret-0123456789abcdef0123456789";
    for stmt in [
        r#"CREATE TABLE "user" ("id" text not null primary key, "name" text not null, "email" text not null unique, "emailVerified" integer not null, "image" text, "createdAt" date not null, "updatedAt" date not null, "role" text, "banned" integer, "banReason" text, "banExpires" date)"#,
        r#"CREATE TABLE "account" ("id" text not null primary key, "accountId" text not null, "providerId" text not null, "userId" text not null references "user" ("id") on delete cascade, "accessToken" text, "refreshToken" text, "idToken" text, "accessTokenExpiresAt" date, "refreshTokenExpiresAt" date, "scope" text, "password" text, "createdAt" date not null, "updatedAt" date not null, "issuer" text not null)"#,
        r#"CREATE TABLE "session" ("id" text not null primary key, "expiresAt" date not null, "token" text not null unique, "createdAt" date not null, "updatedAt" date not null, "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade, "impersonatedBy" text)"#,
        r#"CREATE TABLE "jwks" ("id" text not null primary key, "publicKey" text not null, "privateKey" text not null, "createdAt" date not null, "expiresAt" date, "alg" text, "crv" text)"#,
    ] {
        on_db!(&db, pool => sqlx::query(stmt).execute(pool).await.map(|_| ())).unwrap();
    }
    let future = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    // The hash of "password123" with the salt below, from Better-Auth's own test vector.
    let hash = "0123456789abcdef0123456789abcdef:e8b256b6f9f4b1641136a66d4a26ba41a47b6c8c9bad6aa4145559ffda45ece1f0f16dec8482a3e5545feada0ba62f2b05eeb943b750c9396874e1762c78d27d";
    let seed = [7u8; 32];
    let pair = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
    use aws_lc_rs::signature::KeyPair as _;
    let b64 =
        |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b);
    let x = b64(pair.public_key().as_ref());
    let private_jwk = json!({"crv": "Ed25519", "d": b64(&seed), "x": x, "kty": "OKP"}).to_string();
    let sealed = json!(::auth::crypto::encrypt(old_secret, private_jwk.as_bytes())).to_string();
    let public_jwk = json!({"crv": "Ed25519", "x": x, "kty": "OKP"}).to_string();
    let inserts: Vec<(&str, Vec<String>)> = vec![
        (
            r#"INSERT INTO "user" VALUES ($1, 'Ada', 'ada@example.com', 1, NULL, '2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.678Z', 'admin', 0, NULL, NULL)"#,
            vec!["ba-user-1".into()],
        ),
        (
            r#"INSERT INTO "user" VALUES ($1, 'Bo', 'bo@example.com', 1, NULL, '2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.678Z', 'user', 1, 'spam', NULL)"#,
            vec!["ba-user-2".into()],
        ),
        (
            r#"INSERT INTO "account" VALUES ('acc-1', 'ba-user-1', 'credential', 'ba-user-1', NULL, NULL, NULL, NULL, NULL, NULL, $1, '2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.678Z', 'local:credential')"#,
            vec![hash.into()],
        ),
        (
            r#"INSERT INTO "account" VALUES ('acc-3', 'ba-user-2', 'credential', 'ba-user-2', NULL, NULL, NULL, NULL, NULL, NULL, $1, '2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.678Z', 'local:credential')"#,
            vec![hash.into()],
        ),
        (
            r#"INSERT INTO "account" VALUES ('acc-2', '987654', 'github', 'ba-user-1', 'gho_plain_token', NULL, NULL, NULL, NULL, 'read:user,user:email', NULL, '2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.678Z', 'https://github.com')"#,
            vec![],
        ),
        (
            r#"INSERT INTO "session" VALUES ('sess-1', $1, 'BaSessionTokenBaSessionToken0123', '2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.678Z', '203.0.113.1', 'UA', 'ba-user-1', NULL)"#,
            vec![future],
        ),
        (
            r#"INSERT INTO "session" VALUES ('sess-2', '2026-01-03T00:00:00.000Z', 'ExpiredTokenExpiredTokenExpired01', '2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.678Z', NULL, NULL, 'ba-user-1', NULL)"#,
            vec![],
        ),
        (
            r#"INSERT INTO "jwks" VALUES ('kid-ba-1', $1, $2, '2026-01-02T03:04:05.678Z', NULL, 'EdDSA', 'Ed25519')"#,
            vec![public_jwk, sealed],
        ),
    ];
    for (sql, binds) in inserts {
        let mut q = sqlx::query(sql);
        for b in &binds {
            q = q.bind(b.clone());
        }
        if let Db::Sqlite(p) = &db {
            q.execute(p).await.unwrap();
        }
    }
    db.close().await;

    let out = cli(
        &server.database_url,
        dir.path(),
        &[
            "import",
            "better-auth",
            "--from",
            &url,
            "--old-secret",
            old_secret,
        ],
    );
    let report = succeeded(&out);
    assert_eq!(counts(&report, "user"), (2, 2, 0, 0), "{report}");
    assert_eq!(counts(&report, "account"), (3, 3, 0, 0), "{report}");
    assert_eq!(
        counts(&report, "session"),
        (2, 1, 0, 1),
        "the expired session is dropped"
    );
    assert_eq!(counts(&report, "jwks"), (1, 1, 0, 0));
    let ok = cli(
        &server.database_url,
        dir.path(),
        &[
            "validate-import",
            "--kind",
            "better-auth",
            "--from",
            &url,
            "--old-secret",
            old_secret,
        ],
    );
    succeeded(&ok);

    let (st, body, _) = email_sign_in(&plain(), &server, "ada@example.com", "password123").await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        (body["user"]["id"].as_str(), body["user"]["role"].as_str()),
        (Some("ba-user-1"), Some("admin"))
    );
    let (st, body, _) = email_sign_in(&plain(), &server, "bo@example.com", "password123").await;
    assert_eq!(
        (st, body["code"].as_str()),
        (403, Some("BANNED_USER")),
        "bans carry over"
    );
    let session = session_by_cookie(&server, "BaSessionTokenBaSessionToken0123").await;
    assert_eq!(
        session["user"]["id"], "ba-user-1",
        "a live Better-Auth session keeps working"
    );
    let sealed_token: (Option<String>,) = on_db!(&server.db, pool => sqlx::query_as("SELECT access_token FROM account WHERE provider_id = 'github'").fetch_one(pool).await).unwrap();
    let stored = sealed_token.0.unwrap();
    assert_ne!(
        stored, "gho_plain_token",
        "provider tokens are encrypted here"
    );
    assert_eq!(
        ::auth::crypto::decrypt(TEST_SECRET, &stored).unwrap(),
        b"gho_plain_token"
    );
    let (_, jwks, _) = crate::support::auth::get(&plain(), &server, "/api/auth/jwks").await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == "kid-ba-1" && k["x"] == x.as_str()),
        "{jwks}"
    );
    server.stop().await;
}
