//! One-time tokens kept in `verification`: email verification and password
//! reset links. Only a hash of each token is stored, and consuming one is a
//! single conditional delete, so a link works once even under concurrency.

use chrono::{DateTime, Duration, Utc};
use common::{Db, on_db};

use crate::Auth;
use crate::audit::{Entry, RequestMeta, StoredEvent};
use crate::crypto::token_hash;
use crate::error::AuthResult;
use crate::users::User;

pub const EMAIL_VERIFICATION: &str = "email-verification";
pub const PASSWORD_RESET: &str = "reset-password";
pub const LIFETIME: Duration = Duration::hours(1);

fn identifier(purpose: &str, token: &str) -> String {
    format!("{purpose}:{}", token_hash(token))
}

/// A fresh token and the identifier its row is stored under, for callers
/// that write the row inside their own transaction.
pub fn mint(purpose: &str) -> (String, String) {
    let token = common::ids::random_alphanumeric(32);
    let ident = identifier(purpose, &token);
    (token, ident)
}

/// Issues a token for `purpose` carrying `value` (a user id, or JSON).
pub async fn issue(
    db: &Db,
    purpose: &str,
    value: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> sqlx::Result<String> {
    let token = common::ids::random_alphanumeric(32);
    let ident = identifier(purpose, &token);
    on_db!(db, pool => sqlx::query(
        "INSERT INTO verification (id, identifier, value, expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
        .bind(common::ids::new_id()).bind(&ident).bind(value).bind(now + ttl).bind(now)
        .execute(pool).await.map(|_| ()))?;
    Ok(token)
}

/// Writes a token row — only when `value` is given — and the audit rows, in
/// one transaction whose statements are the same either way. Requests that
/// must not reveal whether an account exists (a reset, a resent
/// verification) cost the same for both answers.
pub async fn issue_and_record(
    db: &Db,
    ident: &str,
    value: Option<&str>,
    now: DateTime<Utc>,
    ttl: Duration,
    events: &[StoredEvent],
) -> sqlx::Result<()> {
    let audit_sql = crate::audit::insert_sql(events.len(), 1);
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO verification (id, identifier, value, expires_at, created_at, updated_at)
             SELECT $1, $2, $3, $4, $5, $5 WHERE $6")
            .bind(common::ids::new_id()).bind(ident).bind(value.unwrap_or_default()).bind(now + ttl).bind(now)
            .bind(value.is_some())
            .execute(&mut *tx).await?;
        if !events.is_empty() {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(audit_sql.clone()));
            for e in events {
                q = q.bind(&e.id).bind(&e.event_type).bind(&e.user_id).bind(&e.email)
                    .bind(&e.ip_address).bind(&e.user_agent).bind(&e.details).bind(e.created_at);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await
    })
}

impl Auth {
    /// A one-hour link token of `purpose` for `user`, written in one
    /// transaction with the audit entry `known` (given the user's id); with
    /// no account, only `unknown` is written, by the same statements, so
    /// neither the answer nor its timing tells whether the address has one.
    pub(crate) async fn link_token(
        &self,
        purpose: &str,
        user: Option<&User>,
        known: Entry<'_>,
        unknown: Entry<'_>,
        meta: &RequestMeta,
    ) -> AuthResult<String> {
        let now = self.clock.now();
        let (token, ident) = mint(purpose);
        let entry = match user {
            Some(u) => known.user(&u.id),
            None => unknown,
        };
        let rows = [StoredEvent::new(meta, entry, now)];
        let owner = user.map(|u| u.id.as_str());
        issue_and_record(&self.db, &ident, owner, now, LIFETIME, &rows).await?;
        Ok(token)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Valid(String),
    Expired,
    Unknown,
}

/// The value of a live token, without consuming it.
pub async fn peek(db: &Db, purpose: &str, token: &str, now: DateTime<Utc>) -> sqlx::Result<Lookup> {
    let ident = identifier(purpose, token);
    let row: Option<(String, DateTime<Utc>)> = on_db!(db, pool => sqlx::query_as(
        "SELECT value, expires_at FROM verification WHERE identifier = $1")
        .bind(&ident).fetch_optional(pool).await)?;
    Ok(match row {
        None => Lookup::Unknown,
        Some((_, exp)) if exp <= now => Lookup::Expired,
        Some((v, _)) => Lookup::Valid(v),
    })
}

/// Consumes a token: returns its value once; later calls see it as unknown.
pub async fn consume(
    db: &Db,
    purpose: &str,
    token: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Lookup> {
    let ident = identifier(purpose, token);
    let row: Option<(String, DateTime<Utc>)> = on_db!(db, pool => sqlx::query_as(
        "DELETE FROM verification WHERE identifier = $1 RETURNING value, expires_at")
        .bind(&ident).fetch_optional(pool).await)?;
    Ok(match row {
        None => Lookup::Unknown,
        Some((_, exp)) if exp <= now => Lookup::Expired,
        Some((v, _)) => Lookup::Valid(v),
    })
}

/// Removes every outstanding token of `purpose` for `value`.
pub async fn revoke_for(db: &Db, purpose: &str, value: &str) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("DELETE FROM verification WHERE identifier LIKE $1 AND value = $2")
        .bind(format!("{purpose}:%")).bind(value).execute(pool).await.map(|r| r.rows_affected()))
}

/// Stores `value` under a key the caller chose (replacing any earlier one):
/// for rows named by something the client already holds, such as a sign-in
/// challenge.
pub async fn put(
    db: &Db,
    purpose: &str,
    key: &str,
    value: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> sqlx::Result<()> {
    let ident = identifier(purpose, key);
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query("DELETE FROM verification WHERE identifier = $1").bind(&ident).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO verification (id, identifier, value, expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
            .bind(common::ids::new_id()).bind(&ident).bind(value).bind(now + ttl).bind(now)
            .execute(&mut *tx).await?;
        tx.commit().await
    })
}

/// Replaces a live token's value only if it is still `old` (compare and set),
/// keeping its expiry. `false` when it changed, was consumed, or expired.
pub async fn replace_value(
    db: &Db,
    purpose: &str,
    token: &str,
    old: &str,
    new: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let ident = identifier(purpose, token);
    on_db!(db, pool => sqlx::query(
        "UPDATE verification SET value = $1, updated_at = $2 WHERE identifier = $3 AND value = $4 AND expires_at > $2")
        .bind(new).bind(now).bind(&ident).bind(old)
        .execute(pool).await.map(|r| r.rows_affected() == 1))
}
