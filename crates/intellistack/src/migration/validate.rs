//! `validate-import`: re-reads the source, works out what the import should
//! have produced, and compares it with the IntelliStack database.

use auth::sessions::Session;
use auth::users::Account;
use chrono::{DateTime, Utc};
use common::{Db, on_db};

use super::{MigrateError, Row};

/// One difference between what the source implies and what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

#[derive(sqlx::FromRow)]
struct StoredUser {
    email: String,
    role: String,
    banned: bool,
    email_verified: bool,
}

/// Checks every planned row against the target.
pub async fn check(
    target: &Db,
    rows: &[Row],
    now: DateTime<Utc>,
) -> Result<Vec<Mismatch>, MigrateError> {
    let mut out = Vec::new();
    for row in rows {
        match row {
            Row::User {
                id,
                email,
                role,
                banned,
                email_verified,
                ..
            } => {
                let stored: Option<StoredUser> = on_db!(target, pool => sqlx::query_as(
                    r#"SELECT email, role, banned, email_verified FROM "user" WHERE id = $1"#)
                    .bind(id).fetch_optional(pool).await)
                .map_err(MigrateError::Write)?;
                match stored {
                    None => out.push(Mismatch(format!("user {id} ({email}) is missing"))),
                    Some(s) => {
                        if &s.email != email {
                            out.push(Mismatch(format!(
                                "user {id}: email is {} but the source says {email}",
                                s.email
                            )));
                        }
                        if &s.role != role {
                            out.push(Mismatch(format!(
                                "user {id}: role is {} but the source implies {role}",
                                s.role
                            )));
                        }
                        if s.banned != *banned {
                            out.push(Mismatch(format!(
                                "user {id}: banned is {} but the source implies {banned}",
                                s.banned
                            )));
                        }
                        if s.email_verified != *email_verified {
                            out.push(Mismatch(format!("user {id}: email_verified is {} but the source says {email_verified}", s.email_verified)));
                        }
                    }
                }
            }
            Row::Account(Account {
                id,
                provider_id,
                account_id,
                user_id,
                password,
                ..
            }) => {
                let stored: Option<(String, Option<String>, Option<String>)> = on_db!(target, pool => sqlx::query_as(
                    r#"SELECT a.user_id, a.password, u.id FROM account a LEFT JOIN "user" u ON u.id = a.user_id WHERE a.provider_id = $1 AND a.account_id = $2"#)
                    .bind(provider_id).bind(account_id).fetch_optional(pool).await).map_err(MigrateError::Write)?;
                match stored {
                    None => out.push(Mismatch(format!(
                        "{provider_id} account {id} of user {user_id} is missing"
                    ))),
                    Some((owner, _, None)) => out.push(Mismatch(format!(
                        "{provider_id} account {id} points at user {owner}, who does not exist"
                    ))),
                    Some((owner, _, _)) if &owner != user_id => out.push(Mismatch(format!(
                        "{provider_id} account {id} belongs to {owner}, expected {user_id}"
                    ))),
                    Some((_, stored_hash, _)) => {
                        if provider_id == "credential" {
                            match stored_hash.as_deref() {
                                None => out.push(Mismatch(format!("user {user_id}: the password hash is missing"))),
                                Some(h) if auth::password::algorithm_of(h).is_none() => out.push(Mismatch(format!("user {user_id}: the stored password hash has an unsupported format"))),
                                // Sign-in may already have re-hashed it to argon2id.
                                Some(h) if Some(h) != password.as_deref() && auth::password::algorithm_of(h) != Some("argon2id") => out.push(Mismatch(format!("user {user_id}: the password hash differs from the source"))),
                                _ => {}
                            }
                        }
                    }
                }
            }
            Row::Session(Session {
                id,
                user_id,
                expires_at,
                ..
            }) => {
                // A session that has expired since the import may be gone.
                if *expires_at <= now {
                    continue;
                }
                let n: (i64,) = on_db!(target, pool => sqlx::query_as("SELECT COUNT(*) FROM session WHERE id = $1 AND user_id = $2")
                    .bind(id).bind(user_id).fetch_one(pool).await).map_err(MigrateError::Write)?;
                if n.0 == 0 {
                    out.push(Mismatch(format!(
                        "session {id} of user {user_id} is missing"
                    )));
                }
            }
            Row::Event { id, .. } => {
                let n: (i64,) = on_db!(target, pool => sqlx::query_as("SELECT COUNT(*) FROM auth_event_log WHERE id = $1")
                    .bind(id).fetch_one(pool).await).map_err(MigrateError::Write)?;
                if n.0 == 0 {
                    out.push(Mismatch(format!(
                        "login attempt {id} is missing from the audit log"
                    )));
                }
            }
            Row::Key { id, .. } => {
                let n: (i64,) = on_db!(target, pool => sqlx::query_as("SELECT COUNT(*) FROM jwks WHERE id = $1")
                    .bind(id).fetch_one(pool).await).map_err(MigrateError::Write)?;
                if n.0 == 0 {
                    out.push(Mismatch(format!("signing key {id} is missing")));
                }
            }
        }
    }
    Ok(out)
}
