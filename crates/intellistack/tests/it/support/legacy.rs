//! Generates a database in the previous IntelliStack auth schema (see
//! docs/MIGRATION.md), on SQLite or PostgreSQL, with 1,000+ users and the
//! awkward cases a real one has: emails that differ only in case, users
//! without a password, OAuth-only users, live and expired sessions, unicode
//! names, inactive users and several roles per user.

use chrono::{DateTime, Duration, Utc};
use common::{Db, on_db};

/// Every generated user with a password uses this one, except the sample.
pub const SHARED_PASSWORD: &str = "Legacy-Shared-Pass-1!";
pub const USERS: usize = 1_020;

/// A user whose password is known, for sign-in checks.
pub struct Sample {
    pub id: String,
    pub email: String,
    pub password: String,
}

pub struct Fixture {
    pub url: String,
    pub samples: Vec<Sample>,
    /// Emails of users that are inactive in the source.
    pub inactive: Vec<String>,
    /// (user id, expected flattened role)
    pub roles: Vec<(String, &'static str)>,
    /// Ids of users refused as case duplicates.
    pub duplicates: Vec<String>,
    pub oauth_only: Vec<String>,
    /// Live sessions of users that are imported.
    pub live_sessions: usize,
    pub expired_sessions: usize,
    pub attempts: usize,
}

fn uuid(i: usize) -> String {
    format!("{:08x}-1e9a-4c3b-8d5f-{:012x}", 0x5a00_0000 + i, i)
}

const SCHEMA_SQLITE: &[&str] = &[
    "CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL, hashed_password TEXT, full_name TEXT, is_active BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP, last_login TIMESTAMP)",
    "CREATE TABLE user_roles (user_id TEXT NOT NULL REFERENCES users(id), role TEXT NOT NULL)",
    "CREATE TABLE oauth_accounts (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), provider TEXT NOT NULL, provider_account_id TEXT NOT NULL, access_token TEXT, refresh_token TEXT, expires_at TIMESTAMP)",
    "CREATE TABLE user_sessions (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), session_token TEXT NOT NULL, expires_at TIMESTAMP NOT NULL, ip_address TEXT, user_agent TEXT, created_at TIMESTAMP NOT NULL)",
    "CREATE TABLE login_attempts (id TEXT PRIMARY KEY, email TEXT, ip_address TEXT, success BOOLEAN NOT NULL, failure_reason TEXT, attempted_at TIMESTAMP NOT NULL)",
];

const SCHEMA_POSTGRES: &[&str] = &[
    "CREATE TABLE users (id UUID PRIMARY KEY, email VARCHAR(255) NOT NULL, hashed_password VARCHAR(255), full_name VARCHAR(255), is_active BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ, last_login TIMESTAMPTZ)",
    "CREATE TABLE user_roles (user_id UUID NOT NULL REFERENCES users(id), role VARCHAR(50) NOT NULL)",
    "CREATE TABLE oauth_accounts (id UUID PRIMARY KEY, user_id UUID NOT NULL REFERENCES users(id), provider VARCHAR(50) NOT NULL, provider_account_id VARCHAR(255) NOT NULL, access_token TEXT, refresh_token TEXT, expires_at TIMESTAMPTZ)",
    "CREATE TABLE user_sessions (id UUID PRIMARY KEY, user_id UUID NOT NULL REFERENCES users(id), session_token VARCHAR(255) NOT NULL, expires_at TIMESTAMPTZ NOT NULL, ip_address INET, user_agent TEXT, created_at TIMESTAMPTZ NOT NULL)",
    "CREATE TABLE login_attempts (id UUID PRIMARY KEY, email VARCHAR(255), ip_address INET, success BOOLEAN NOT NULL, failure_reason VARCHAR(255), attempted_at TIMESTAMPTZ NOT NULL)",
];

/// Writes the fixture into an empty database at `url`.
pub async fn generate(url: &str, now: DateTime<Utc>) -> Fixture {
    let cfg = common::config::DatabaseConfig::parse(url).unwrap();
    let db = Db::connect(&cfg).await.expect("open the legacy database");
    let (schema, uuid_cast, inet_cast) = match db {
        Db::Sqlite(_) => (SCHEMA_SQLITE, "", ""),
        Db::Postgres(_) => (SCHEMA_POSTGRES, "::uuid", "::inet"),
    };
    for stmt in schema {
        on_db!(&db, pool => sqlx::query(*stmt).execute(pool).await.map(|_| ())).unwrap();
    }
    // passlib's bcrypt ($2b$), at a low cost to keep the test quick.
    let shared = bcrypt::hash_with_result(SHARED_PASSWORD, 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoB);
    let names = [
        "Zoë Ångström",
        "李雷",
        "Đặng Thị Hồng",
        "Søren Ørsted",
        "Renée 🚀 O'Brien",
        "Ana María Núñez",
    ];
    let mut fx = Fixture {
        url: url.into(),
        samples: vec![],
        inactive: vec![],
        roles: vec![],
        duplicates: vec![],
        oauth_only: vec![],
        live_sessions: 0,
        expired_sessions: 0,
        attempts: 0,
    };
    let insert_user = format!(
        "INSERT INTO users (id, email, hashed_password, full_name, is_active, is_verified, created_at, updated_at, last_login) VALUES ($1{uuid_cast}, $2, $3, $4, $5, $6, $7, $8, $9)"
    );
    let insert_role = format!("INSERT INTO user_roles (user_id, role) VALUES ($1{uuid_cast}, $2)");
    let insert_oauth = format!(
        "INSERT INTO oauth_accounts (id, user_id, provider, provider_account_id, access_token, refresh_token, expires_at) VALUES ($1{uuid_cast}, $2{uuid_cast}, $3, $4, $5, $6, $7)"
    );
    let insert_session = format!(
        "INSERT INTO user_sessions (id, user_id, session_token, expires_at, ip_address, user_agent, created_at) VALUES ($1{uuid_cast}, $2{uuid_cast}, $3, $4, $5{inet_cast}, $6, $7)"
    );
    let insert_attempt = format!(
        "INSERT INTO login_attempts (id, email, ip_address, success, failure_reason, attempted_at) VALUES ($1{uuid_cast}, $2, $3{inet_cast}, $4, $5, $6)"
    );
    let mut seq = 100_000;
    for i in 0..USERS {
        let id = uuid(i);
        let created = now - Duration::days(400) + Duration::minutes(i as i64);
        let mut email = format!("learner{i}@example.com");
        let mut password = Some(shared.clone());
        let mut name = format!("Learner {i}");
        let active = i % 97 != 5;
        // Case duplicates: a later account repeats an earlier address in other case.
        if (1000..1005).contains(&i) {
            email = format!("Learner{}@Example.COM", i - 1000);
            fx.duplicates.push(id.clone());
        }
        if i % 50 == 7 {
            name = names[(i / 50) % names.len()].to_string();
        }
        if (10..20).contains(&i) {
            password = None; // no password and no OAuth: can only reset
        }
        let oauth_only = (20..35).contains(&i);
        if oauth_only {
            password = None;
            fx.oauth_only.push(id.clone());
        }
        if (40..46).contains(&i) {
            let pw = format!("Sample-Password-{i}!x");
            password = Some(
                bcrypt::hash_with_result(&pw, 4)
                    .unwrap()
                    .format_for_version(bcrypt::Version::TwoB),
            );
            fx.samples.push(Sample {
                id: id.clone(),
                email: email.clone(),
                password: pw,
            });
        }
        if !active {
            fx.inactive.push(email.to_lowercase());
        }
        on_db!(&db, pool => sqlx::query(sqlx::AssertSqlSafe(insert_user.clone()))
            .bind(&id).bind(&email).bind(&password).bind(&name).bind(active).bind(i % 10 != 3 || (40..46).contains(&i))
            .bind(created).bind(created + Duration::days(1)).bind(Some(now - Duration::days(2)))
            .execute(pool).await.map(|_| ())).unwrap();
        let roles: Vec<&str> = match i % 40 {
            0 => vec!["student", "admin"],
            1 | 2 => vec!["student", "instructor"],
            3 => vec![],
            _ => vec!["student"],
        };
        if i < 1000 {
            fx.roles.push((
                id.clone(),
                match roles.as_slice() {
                    r if r.contains(&"admin") => "admin",
                    r if r.contains(&"instructor") => "instructor",
                    _ => "student",
                },
            ));
        }
        for r in roles {
            on_db!(&db, pool => sqlx::query(sqlx::AssertSqlSafe(insert_role.clone())).bind(&id).bind(r).execute(pool).await.map(|_| ())).unwrap();
        }
        if oauth_only || i % 60 == 9 {
            let provider = if i % 2 == 0 { "google" } else { "GitHub" };
            seq += 1;
            on_db!(&db, pool => sqlx::query(sqlx::AssertSqlSafe(insert_oauth.clone()))
                .bind(uuid(seq)).bind(&id).bind(provider).bind(format!("{provider}-{i}"))
                .bind(Some(format!("ya29.token-{i}"))).bind(None::<String>).bind(Some(now + Duration::hours(1)))
                .execute(pool).await.map(|_| ())).unwrap();
        }
        if i % 5 == 0 {
            seq += 1;
            let live = i % 10 == 0;
            let expires = if live {
                now + Duration::days(3)
            } else {
                now - Duration::days(3)
            };
            // Sessions of refused duplicates are not imported.
            if live && !(1000..1005).contains(&i) {
                fx.live_sessions += 1;
            } else {
                fx.expired_sessions += 1;
            }
            on_db!(&db, pool => sqlx::query(sqlx::AssertSqlSafe(insert_session.clone()))
                .bind(uuid(seq)).bind(&id).bind(format!("legacytoken{i:020}abcdefghij")).bind(expires)
                .bind("198.51.100.7").bind("Mozilla/5.0").bind(created)
                .execute(pool).await.map(|_| ())).unwrap();
        }
        if i % 2 == 0 {
            seq += 1;
            fx.attempts += 1;
            on_db!(&db, pool => sqlx::query(sqlx::AssertSqlSafe(insert_attempt.clone()))
                .bind(uuid(seq)).bind(&email).bind("203.0.113.4").bind(i % 4 == 0)
                .bind((i % 4 != 0).then_some("invalid_password")).bind(now - Duration::hours(i as i64))
                .execute(pool).await.map(|_| ())).unwrap();
        }
    }
    db.close().await;
    fx
}
