//! A Better-Auth database in its default camelCase schema: `user`,
//! `account`, `session` and the JWT plugin's `jwks`. Columns added by
//! plugins (admin: role, banned, …) are read when present; the `issuer`
//! column of 1.7.0–1.7.2 is ignored.

use std::collections::{HashMap, HashSet};

use auth::sessions::Session;
use auth::users::Account;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use common::{Db, on_db};
use serde_json::Value;
use sqlx::{AssertSqlSafe, Row as _};

use super::backup::columns;
use super::{
    BATCH, MigrateError, Report, Row, email_taken, flatten_roles, seal_token, user_email, write_all,
};

pub struct Plan {
    pub rows: Vec<Row>,
    pub report: Report,
}

/// `SELECT` of the wanted columns, with typed NULLs for the absent ones.
async fn select(db: &Db, table: &str, wanted: &[(&str, &str)]) -> Result<String, MigrateError> {
    let have: HashSet<String> = columns(db, table).await?.into_iter().collect();
    if have.is_empty() {
        return Err(MigrateError::Source(format!(
            "the source has no `{table}` table: is it a Better-Auth database (default schema)?"
        )));
    }
    let parts: Vec<String> = wanted
        .iter()
        .map(|(c, ty)| {
            if have.contains(*c) {
                format!("\"{c}\"")
            } else {
                match db {
                    Db::Sqlite(_) => format!("NULL AS \"{c}\""),
                    Db::Postgres(_) => format!("NULL::{ty} AS \"{c}\""),
                }
            }
        })
        .collect();
    Ok(format!(
        "SELECT {} FROM \"{table}\" ORDER BY \"id\"",
        parts.join(", ")
    ))
}

struct UserRow {
    id: String,
    name: String,
    email: String,
    email_verified: bool,
    image: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    role: Option<String>,
    banned: Option<bool>,
    ban_reason: Option<String>,
    ban_expires: Option<DateTime<Utc>>,
}

struct KeyRow {
    id: String,
    public_key: String,
    private_key: String,
    created_at: DateTime<Utc>,
    alg: Option<String>,
    crv: Option<String>,
}

macro_rules! read_rows {
    ($db:expr, $sql:expr, |$r:ident| $build:expr) => {{
        let sql: String = $sql;
        on_db!($db, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await.map_err(MigrateError::Read)?;
            let mut out = Vec::with_capacity(rows.len());
            for $r in &rows {
                out.push((|| -> Result<_, sqlx::Error> { Ok($build) })().map_err(MigrateError::Read)?);
            }
            out
        })
    }};
}

/// Turns Better-Auth's encrypted private JWK into our stored form.
fn convert_key(k: &KeyRow, old_secret: &str, new_secret: &str) -> Result<String, String> {
    // Stored as a JSON string literal holding hex (or `$ba$<version>$<hex>`).
    let sealed: String =
        serde_json::from_str(&k.private_key).unwrap_or_else(|_| k.private_key.clone());
    let private_jwk: Value = if sealed.trim_start().starts_with('{') {
        serde_json::from_str(&sealed).map_err(|_| "the private key is not a JWK".to_string())?
    } else {
        let hex = match sealed.strip_prefix("$ba$") {
            Some(rest) => rest
                .split_once('$')
                .map(|(_, h)| h.to_string())
                .unwrap_or_default(),
            None => sealed.clone(),
        };
        let plain = auth::crypto::decrypt(old_secret, &hex).map_err(|_| {
            "cannot decrypt the private key: pass the Better-Auth secret with --old-secret"
                .to_string()
        })?;
        serde_json::from_slice(&plain)
            .map_err(|_| "the decrypted private key is not a JWK".to_string())?
    };
    let alg = k.alg.clone().unwrap_or_else(|| "EdDSA".into());
    match (alg.as_str(), private_jwk["crv"].as_str()) {
        ("EdDSA", Some("Ed25519") | None) => {
            let d = private_jwk["d"]
                .as_str()
                .ok_or("the Ed25519 key has no `d`")?;
            let seed = URL_SAFE_NO_PAD
                .decode(d)
                .map_err(|_| "bad `d` in the Ed25519 key".to_string())?;
            let pair = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(&seed)
                .map_err(|_| "the Ed25519 seed is not valid".to_string())?;
            let der = pair
                .to_pkcs8v1()
                .map_err(|_| "cannot encode the Ed25519 key".to_string())?;
            auth::keys::seal_private_key(new_secret, der.as_ref()).map_err(|e| e.to_string())
        }
        (other, crv) => Err(format!(
            "keys of type {other}{} are not imported (only EdDSA/Ed25519); tokens signed by it stop verifying",
            crv.map(|c| format!("/{c}")).unwrap_or_default()
        )),
    }
}

pub async fn plan(
    source: &Db,
    target: &Db,
    secret: &str,
    old_secret: &str,
    now: DateTime<Utc>,
) -> Result<Plan, MigrateError> {
    let users_sql = select(
        source,
        "user",
        &[
            ("id", "text"),
            ("name", "text"),
            ("email", "text"),
            ("emailVerified", "boolean"),
            ("image", "text"),
            ("createdAt", "timestamptz"),
            ("updatedAt", "timestamptz"),
            ("role", "text"),
            ("banned", "boolean"),
            ("banReason", "text"),
            ("banExpires", "timestamptz"),
        ],
    )
    .await?;
    let users: Vec<UserRow> = read_rows!(source, users_sql, |r| UserRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        email_verified: r.try_get("emailVerified")?,
        image: r.try_get("image")?,
        created_at: r.try_get("createdAt")?,
        updated_at: r.try_get("updatedAt")?,
        role: r.try_get("role")?,
        banned: r.try_get("banned")?,
        ban_reason: r.try_get("banReason")?,
        ban_expires: r.try_get("banExpires")?,
    });
    let accounts_sql = select(
        source,
        "account",
        &[
            ("id", "text"),
            ("accountId", "text"),
            ("providerId", "text"),
            ("userId", "text"),
            ("accessToken", "text"),
            ("refreshToken", "text"),
            ("idToken", "text"),
            ("accessTokenExpiresAt", "timestamptz"),
            ("refreshTokenExpiresAt", "timestamptz"),
            ("scope", "text"),
            ("password", "text"),
            ("createdAt", "timestamptz"),
            ("updatedAt", "timestamptz"),
        ],
    )
    .await?;
    let accounts: Vec<Account> = read_rows!(source, accounts_sql, |r| Account {
        id: r.try_get("id")?,
        account_id: r.try_get("accountId")?,
        provider_id: r.try_get("providerId")?,
        user_id: r.try_get("userId")?,
        access_token: r.try_get("accessToken")?,
        refresh_token: r.try_get("refreshToken")?,
        id_token: r.try_get("idToken")?,
        access_token_expires_at: r.try_get("accessTokenExpiresAt")?,
        refresh_token_expires_at: r.try_get("refreshTokenExpiresAt")?,
        scope: r.try_get("scope")?,
        password: r.try_get("password")?,
        created_at: r.try_get("createdAt")?,
        updated_at: r.try_get("updatedAt")?,
    });
    let sessions_sql = select(
        source,
        "session",
        &[
            ("id", "text"),
            ("token", "text"),
            ("userId", "text"),
            ("expiresAt", "timestamptz"),
            ("ipAddress", "text"),
            ("userAgent", "text"),
            ("createdAt", "timestamptz"),
        ],
    )
    .await?;
    // An imported session is remembered and counts as updated when created.
    let sessions: Vec<Session> = read_rows!(source, sessions_sql, |r| Session {
        id: r.try_get("id")?,
        token: r.try_get("token")?,
        user_id: r.try_get("userId")?,
        expires_at: r.try_get("expiresAt")?,
        ip_address: r.try_get("ipAddress")?,
        user_agent: r.try_get("userAgent")?,
        impersonated_by: None,
        remember_me: true,
        created_at: r.try_get("createdAt")?,
        updated_at: r.try_get("createdAt")?,
        second_factor: None,
    });
    let keys: Vec<KeyRow> = if columns(source, "jwks").await?.is_empty() {
        Vec::new()
    } else {
        let sql = select(
            source,
            "jwks",
            &[
                ("id", "text"),
                ("publicKey", "text"),
                ("privateKey", "text"),
                ("createdAt", "timestamptz"),
                ("alg", "text"),
                ("crv", "text"),
            ],
        )
        .await?;
        read_rows!(source, sql, |r| KeyRow {
            id: r.try_get("id")?,
            public_key: r.try_get("publicKey")?,
            private_key: r.try_get("privateKey")?,
            created_at: r.try_get("createdAt")?,
            alg: r.try_get("alg")?,
            crv: r.try_get("crv")?,
        })
    };

    let mut report = Report::default();
    report.source("user", users.len() as u64);
    report.source("account", accounts.len() as u64);
    report.source("session", sessions.len() as u64);
    report.source("jwks", keys.len() as u64);

    let mut rows = Vec::new();
    let mut imported: HashSet<String> = HashSet::new();
    let mut by_email: HashMap<String, String> = HashMap::new();
    for u in &users {
        let Some(email) = user_email(&mut report, &u.id, &u.email) else {
            continue;
        };
        if let Some(first) = by_email.get(&email) {
            report.skip(
                "user",
                &u.id,
                format!("email {email} already belongs to user {first} (differs only in case)"),
            );
            continue;
        }
        if email_taken(target, &mut report, &u.id, &email).await? {
            continue;
        }
        by_email.insert(email.clone(), u.id.clone());
        imported.insert(u.id.clone());
        // Better-Auth's admin plugin calls the default role "user".
        let role = flatten_roles(u.role.as_deref().unwrap_or("student").split(','));
        rows.push(Row::User {
            id: u.id.clone(),
            name: u.name.clone(),
            email,
            email_verified: u.email_verified,
            image: u.image.clone(),
            role: role.to_string(),
            banned: u.banned.unwrap_or(false),
            ban_reason: u.ban_reason.clone(),
            ban_expires: u.ban_expires,
            created_at: u.created_at,
            updated_at: u.updated_at,
        });
    }
    for a in &accounts {
        if !imported.contains(&a.user_id) {
            report.orphan("account", &a.id, &a.user_id);
            continue;
        }
        if a.provider_id == "credential" {
            match a.password.as_deref() {
                Some(h) if auth::password::algorithm_of(h).is_some() => {}
                _ => {
                    report.skip("account", &a.id, "password hash missing or in an unsupported format; the user must reset their password");
                    continue;
                }
            }
        }
        // Provider tokens are kept encrypted here (Better-Auth stores them plain by default).
        rows.push(Row::Account(Account {
            access_token: seal_token(secret, &a.access_token),
            refresh_token: seal_token(secret, &a.refresh_token),
            id_token: seal_token(secret, &a.id_token),
            ..a.clone()
        }));
    }
    for s in &sessions {
        if !imported.contains(&s.user_id) {
            report.orphan("session", &s.id, &s.user_id);
            continue;
        }
        if s.expires_at <= now {
            report.skip("session", &s.id, "expired");
            continue;
        }
        rows.push(Row::Session(s.clone()));
    }
    for k in &keys {
        match convert_key(k, old_secret, secret) {
            Ok(private_key) => rows.push(Row::Key {
                id: k.id.clone(),
                public_key: k.public_key.clone(),
                private_key,
                alg: k.alg.clone().unwrap_or_else(|| "EdDSA".into()),
                crv: k.crv.clone().or_else(|| Some("Ed25519".into())),
                created_at: k.created_at,
                // Retired at once: it verifies the tokens it signed until
                // they expire, and our own key keeps signing.
                expires_at: Some(now),
            }),
            Err(reason) => report.skip("jwks", &k.id, reason),
        }
    }
    Ok(Plan { rows, report })
}

pub async fn import(
    source: &Db,
    target: &Db,
    secret: &str,
    old_secret: &str,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<Report, MigrateError> {
    let Plan { rows, mut report } = plan(source, target, secret, old_secret, now).await?;
    report.dry_run = dry_run;
    // Users come first in the plan, so committed batches satisfy the
    // foreign keys of later ones; a dry run keeps everything in one.
    let size = if dry_run {
        rows.len().max(1)
    } else {
        BATCH * 4
    };
    write_all(target, rows.chunks(size), rows.len(), dry_run, &mut report).await?;
    Ok(report)
}
