//! Per-email lockout: 5 consecutive failed sign-ins lock the email for 30
//! minutes. The counter lives in the database so it holds across instances,
//! and unknown emails are counted exactly like known ones.

use chrono::{DateTime, Duration, Utc};
use common::{Db, on_db};

pub const MAX_FAILURES: i64 = 5;
pub const LOCK_DURATION: Duration = Duration::minutes(30);

/// When the email is locked until, if it is locked now.
pub async fn locked_until(
    db: &Db,
    email: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    let row: Option<(Option<DateTime<Utc>>,)> = on_db!(db, pool => sqlx::query_as(
        "SELECT locked_until FROM login_lockout WHERE email = $1")
        .bind(email).fetch_optional(pool).await)?;
    Ok(row.and_then(|(until,)| until).filter(|until| *until > now))
}

/// Counts a failure atomically. Returns the lock end when this failure locked
/// the email (or it already was locked).
pub async fn record_failure(
    db: &Db,
    email: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    let lock_end = now + LOCK_DURATION;
    // A lock that has run out starts a fresh count.
    let row: (i64, Option<DateTime<Utc>>) = on_db!(db, pool => sqlx::query_as(
        r#"INSERT INTO login_lockout (email, failed_count, locked_until, last_failed_at, updated_at)
           VALUES ($1, 1, NULL, $2, $2)
           ON CONFLICT (email) DO UPDATE SET
             failed_count = CASE WHEN login_lockout.locked_until IS NOT NULL AND login_lockout.locked_until <= $2
                                 THEN 1 ELSE login_lockout.failed_count + 1 END,
             locked_until = CASE WHEN login_lockout.locked_until IS NOT NULL AND login_lockout.locked_until <= $2 THEN NULL
                                 WHEN login_lockout.locked_until IS NULL AND login_lockout.failed_count + 1 >= $4 THEN $3
                                 ELSE login_lockout.locked_until END,
             last_failed_at = $2,
             updated_at = $2
           RETURNING failed_count, locked_until"#)
        .bind(email).bind(now).bind(lock_end).bind(MAX_FAILURES)
        .fetch_one(pool).await)?;
    Ok(row.1.filter(|until| *until > now))
}

/// A successful sign-in clears the count.
pub async fn reset(db: &Db, email: &str) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("DELETE FROM login_lockout WHERE email = $1")
        .bind(email).execute(pool).await.map(|_| ()))
}
