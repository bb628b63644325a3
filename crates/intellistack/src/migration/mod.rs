//! Moving users from the systems IntelliStack replaces: the previous
//! IntelliStack auth tables (`legacy`) and Better-Auth databases
//! (`better_auth`), then checking the result (`validate`). Imports are
//! idempotent — every row keeps its id and is inserted only when absent —
//! and each batch is one transaction, so a run can be interrupted and
//! repeated. `backup` saves and restores the whole database.

pub mod backup;
pub mod better_auth;
pub mod legacy;
pub mod report;
pub mod validate;

use auth::sessions::Session;
use auth::users::Account;
use chrono::{DateTime, Utc};
use common::config::DatabaseConfig;
use common::{Db, on_db};

pub use report::Report;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0}")]
    Source(String),
    #[error("cannot read the source database: {0}")]
    Read(sqlx::Error),
    #[error("cannot write to the IntelliStack database: {0}")]
    Write(sqlx::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Tool(String),
    #[error("{0}")]
    Io(String),
}

/// Opens a source database by URL, read as it is (no migrations).
pub async fn open_source(url: &str) -> Result<Db, MigrateError> {
    let cfg = DatabaseConfig::parse(url).map_err(|e| {
        MigrateError::Source(format!(
            "--from: {e} (for example sqlite:///path/to/auth.db or postgres://user@host/db)"
        ))
    })?;
    if let DatabaseConfig::Sqlite { path } = &cfg
        && !path.exists()
    {
        return Err(MigrateError::Source(format!(
            "--from: {} does not exist; check the path",
            path.display()
        )));
    }
    Db::connect(&cfg)
        .await
        .map_err(|e| MigrateError::Source(format!("--from: {e}")))
}

/// The highest of the roles a user held: admin > instructor > student.
pub fn flatten_roles<'a>(roles: impl IntoIterator<Item = &'a str>) -> &'static str {
    let mut best = "student";
    for r in roles {
        match r.trim().to_ascii_lowercase().as_str() {
            "admin" | "administrator" => return "admin",
            "instructor" | "teacher" => best = "instructor",
            _ => {}
        }
    }
    best
}

/// A row for the target database.
#[derive(Debug, Clone)]
pub enum Row {
    User {
        id: String,
        name: String,
        email: String,
        email_verified: bool,
        image: Option<String>,
        role: String,
        banned: bool,
        ban_reason: Option<String>,
        ban_expires: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    },
    /// Better-Auth's `account` table has this very shape.
    Account(Account),
    Session(Session),
    Event {
        id: String,
        event_type: String,
        user_id: Option<String>,
        email: Option<String>,
        ip_address: Option<String>,
        user_agent: Option<String>,
        details: String,
        created_at: DateTime<Utc>,
    },
    Key {
        id: String,
        public_key: String,
        private_key: String,
        alg: String,
        crv: Option<String>,
        created_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    },
}

impl Row {
    pub fn table(&self) -> &'static str {
        match self {
            Row::User { .. } => "user",
            Row::Account(_) => "account",
            Row::Session(_) => "session",
            Row::Event { .. } => "auth_event_log",
            Row::Key { .. } => "jwks",
        }
    }
}

/// Writes one batch in one transaction; returns, per row, whether it was
/// added (false: already there). With `dry_run` the transaction is rolled
/// back, so the counts are real and nothing is kept.
pub async fn write_batch(db: &Db, rows: &[Row], dry_run: bool) -> Result<Vec<bool>, MigrateError> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await.map_err(MigrateError::Write)?;
        let mut added = Vec::with_capacity(rows.len());
        for row in rows {
            let q = match row {
                Row::User { id, name, email, email_verified, image, role, banned, ban_reason, ban_expires, created_at, updated_at } =>
                    sqlx::query(r#"INSERT INTO "user" (id, name, email, email_verified, image, role, banned, ban_reason, ban_expires, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"#)
                        .bind(id).bind(name).bind(email).bind(email_verified).bind(image).bind(role).bind(banned).bind(ban_reason).bind(ban_expires).bind(created_at).bind(updated_at),
                Row::Account(Account { id, account_id, provider_id, user_id, access_token, refresh_token, id_token, access_token_expires_at, refresh_token_expires_at, scope, password, created_at, updated_at }) =>
                    sqlx::query("INSERT INTO account (id, account_id, provider_id, user_id, access_token, refresh_token, id_token, access_token_expires_at, refresh_token_expires_at, scope, password, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING")
                        .bind(id).bind(account_id).bind(provider_id).bind(user_id).bind(access_token).bind(refresh_token).bind(id_token).bind(access_token_expires_at).bind(refresh_token_expires_at).bind(scope).bind(password).bind(created_at).bind(updated_at),
                Row::Session(Session { id, token, user_id, expires_at, ip_address, user_agent, impersonated_by, remember_me, created_at, updated_at, second_factor }) =>
                    sqlx::query("INSERT INTO session (id, token, user_id, expires_at, ip_address, user_agent, impersonated_by, remember_me, created_at, updated_at, second_factor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING")
                        .bind(id).bind(token).bind(user_id).bind(expires_at).bind(ip_address).bind(user_agent).bind(impersonated_by).bind(remember_me).bind(created_at).bind(updated_at).bind(second_factor),
                Row::Event { id, event_type, user_id, email, ip_address, user_agent, details, created_at } =>
                    sqlx::query("INSERT INTO auth_event_log (id, event_type, user_id, email, ip_address, user_agent, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING")
                        .bind(id).bind(event_type).bind(user_id).bind(email).bind(ip_address).bind(user_agent).bind(details).bind(created_at),
                Row::Key { id, public_key, private_key, alg, crv, created_at, expires_at } =>
                    sqlx::query("INSERT INTO jwks (id, public_key, private_key, alg, crv, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING")
                        .bind(id).bind(public_key).bind(private_key).bind(alg).bind(crv).bind(created_at).bind(expires_at),
            };
            let n = q.execute(&mut *tx).await.map_err(MigrateError::Write)?.rows_affected();
            added.push(n > 0);
        }
        if dry_run {
            tx.rollback().await.map_err(MigrateError::Write)?;
        } else {
            tx.commit().await.map_err(MigrateError::Write)?;
        }
        Ok(added)
    })
}

/// The id of the target user holding `email`, if any.
pub async fn user_with_email(db: &Db, email: &str) -> Result<Option<String>, MigrateError> {
    let row: Option<(String,)> =
        on_db!(db, pool => sqlx::query_as(r#"SELECT id FROM "user" WHERE email = $1"#)
        .bind(email).fetch_optional(pool).await)
        .map_err(MigrateError::Write)?;
    Ok(row.map(|r| r.0))
}

/// A source user's email as IntelliStack keeps it; `None`, reported as a
/// skip, when it is not an address.
fn user_email(report: &mut Report, user_id: &str, email: &str) -> Option<String> {
    let normal = auth::users::normalize_email(email);
    if normal.is_none() {
        report.skip(
            "user",
            user_id,
            format!("email `{email}` is not a valid address"),
        );
    }
    normal
}

/// Whether another IntelliStack account holds `email` already (then the
/// source user is reported as a skip).
async fn email_taken(
    target: &Db,
    report: &mut Report,
    user_id: &str,
    email: &str,
) -> Result<bool, MigrateError> {
    match user_with_email(target, email).await? {
        Some(existing) if existing != user_id => {
            report.skip(
                "user",
                user_id,
                format!(
                    "email {email} is already used by another IntelliStack account ({existing})"
                ),
            );
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// A provider token as IntelliStack stores it: encrypted with the secret.
fn seal_token(secret: &str, token: &Option<String>) -> Option<String> {
    token
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| auth::crypto::encrypt(secret, s.as_bytes()))
}

/// A progress bar on stderr (drawn only on a terminal).
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Splits a list into batches (each written in one transaction).
pub const BATCH: usize = 250;

/// Writes `groups` in order, each in one transaction (a dry run rolls each
/// back), counting what was added into `report` and showing progress.
pub async fn write_all<'a>(
    target: &Db,
    groups: impl IntoIterator<Item = &'a [Row]>,
    total: usize,
    dry_run: bool,
    report: &mut Report,
) -> Result<(), MigrateError> {
    let bar = progress(total as u64, "importing");
    for rows in groups {
        let added = write_batch(target, rows, dry_run).await?;
        for (row, added) in rows.iter().zip(added) {
            report.written(row.table(), added);
        }
        bar.inc(rows.len() as u64);
    }
    bar.finish_and_clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn roles_flatten_to_the_highest() {
        assert_eq!(super::flatten_roles(["student", "admin"]), "admin");
        assert_eq!(
            super::flatten_roles(["student", "instructor"]),
            "instructor"
        );
        assert_eq!(super::flatten_roles(["Instructor"]), "instructor");
        assert_eq!(super::flatten_roles([]), "student");
        assert_eq!(super::flatten_roles(["guest"]), "student");
    }
}
