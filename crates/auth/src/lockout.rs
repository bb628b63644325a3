//! Per-email lockout: 5 failed sign-ins lock the email for 30 minutes. The
//! counter lives in the database so it holds across instances, and unknown
//! emails are counted exactly like known ones.
//!
//! An attempt is counted *before* its password is verified, in one atomic
//! statement ([`begin`]): it takes a slot only while fewer than 5 failures and
//! attempts in flight stand, so no more than 5 verifications happen per lock
//! window whatever the concurrency. The attempt that would be the 6th engages
//! the lock instead. A failure moves its slot into the failure count; a
//! success ([`succeed`]) gives back its own slot and the failures that had
//! finished before it began — never the attempts racing it — and is refused
//! while a lock stands, including one set while it was being verified.

use chrono::{DateTime, Duration, Utc};
use common::{Db, on_db};

pub const MAX_FAILURES: i64 = 5;
pub const LOCK_DURATION: Duration = Duration::minutes(30);
/// Slots of attempts that never finished (a crashed instance) stop counting
/// after this long without activity on the email.
const IN_FLIGHT_EXPIRY: Duration = Duration::seconds(60);

/// What counting an attempt decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// Verify the password; `done_before` failures had finished before this attempt.
    Reserved { done_before: i64 },
    /// Refused without verifying. `engaged`: this attempt set the lock.
    Locked { until: DateTime<Utc>, engaged: bool },
}

/// Counts an attempt before its password is verified. `attempt` is a fresh
/// random id for this request.
pub async fn begin(db: &Db, email: &str, attempt: &str, now: DateTime<Utc>) -> sqlx::Result<Begin> {
    let lock_end = now + LOCK_DURATION;
    let stale = now - IN_FLIGHT_EXPIRY;
    // `expired`: a lock that has run out starts a fresh count. `live`: slots
    // in flight, unless abandoned. The lock engages when no slot is left.
    let row: (i64, Option<DateTime<Utc>>, Option<String>) = on_db!(db, pool => sqlx::query_as(
        r#"INSERT INTO login_lockout (email, failed_count, locked_until, last_failed_at, updated_at, in_flight)
           VALUES ($1, 0, NULL, NULL, $2, 1)
           ON CONFLICT (email) DO UPDATE SET
             failed_count = CASE WHEN login_lockout.locked_until IS NOT NULL AND login_lockout.locked_until <= $2
                                 THEN 0 ELSE login_lockout.failed_count END,
             in_flight = CASE
                 WHEN login_lockout.locked_until IS NOT NULL AND login_lockout.locked_until <= $2 THEN 1
                 WHEN login_lockout.locked_until IS NOT NULL THEN login_lockout.in_flight
                 WHEN login_lockout.updated_at < $3 THEN 1
                 WHEN login_lockout.failed_count + login_lockout.in_flight >= $4 THEN login_lockout.in_flight
                 ELSE login_lockout.in_flight + 1 END,
             locked_until = CASE
                 WHEN login_lockout.locked_until IS NOT NULL AND login_lockout.locked_until <= $2 THEN NULL
                 WHEN login_lockout.locked_until IS NOT NULL THEN login_lockout.locked_until
                 WHEN login_lockout.updated_at >= $3 AND login_lockout.failed_count + login_lockout.in_flight >= $4 THEN $5
                 WHEN login_lockout.updated_at < $3 AND login_lockout.failed_count >= $4 THEN $5
                 ELSE NULL END,
             lock_attempt = CASE
                 WHEN login_lockout.locked_until IS NOT NULL AND login_lockout.locked_until > $2 THEN login_lockout.lock_attempt
                 WHEN login_lockout.locked_until IS NOT NULL THEN NULL
                 WHEN login_lockout.updated_at >= $3 AND login_lockout.failed_count + login_lockout.in_flight >= $4 THEN $6
                 WHEN login_lockout.updated_at < $3 AND login_lockout.failed_count >= $4 THEN $6
                 ELSE NULL END,
             updated_at = $2
           RETURNING failed_count, locked_until, lock_attempt"#)
        .bind(email).bind(now).bind(stale).bind(MAX_FAILURES).bind(lock_end).bind(attempt)
        .fetch_one(pool).await)?;
    let (done_before, locked_until, lock_attempt) = row;
    Ok(match locked_until.filter(|until| *until > now) {
        Some(until) => Begin::Locked {
            until,
            engaged: lock_attempt.as_deref() == Some(attempt),
        },
        None => Begin::Reserved { done_before },
    })
}

/// What a failed verification did to the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Counted,
    Locked { until: DateTime<Utc>, engaged: bool },
}

/// Turns the attempt's slot into a failure. The failure that makes 5
/// engages the lock.
pub async fn fail(
    db: &Db,
    email: &str,
    attempt: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Failure> {
    let lock_end = now + LOCK_DURATION;
    let row: Option<(Option<DateTime<Utc>>, Option<String>)> = on_db!(db, pool => sqlx::query_as(
        "UPDATE login_lockout SET
           failed_count = failed_count + 1,
           in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END,
           locked_until = CASE WHEN (locked_until IS NULL OR locked_until <= $2) AND failed_count + 1 >= $3
                               THEN $4 ELSE locked_until END,
           lock_attempt = CASE WHEN (locked_until IS NULL OR locked_until <= $2) AND failed_count + 1 >= $3
                               THEN $5 ELSE lock_attempt END,
           last_failed_at = $2,
           updated_at = $2
         WHERE email = $1
         RETURNING locked_until, lock_attempt")
        .bind(email).bind(now).bind(MAX_FAILURES).bind(lock_end).bind(attempt)
        .fetch_optional(pool).await)?;
    Ok(match row {
        Some((Some(until), by)) if until > now => Failure::Locked {
            until,
            engaged: by.as_deref() == Some(attempt),
        },
        _ => Failure::Counted,
    })
}

/// A verified password: gives back this attempt's slot and the failures that
/// had finished before it began. `Err(until)` when a lock stands — set before
/// or while this attempt was verified — and the sign-in must be refused.
pub async fn succeed(
    db: &Db,
    email: &str,
    done_before: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Result<(), DateTime<Utc>>> {
    let cleared = on_db!(db, pool => sqlx::query(
        "UPDATE login_lockout SET
           failed_count = CASE WHEN failed_count > $3 THEN failed_count - $3 ELSE 0 END,
           in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END,
           updated_at = $2
         WHERE email = $1 AND (locked_until IS NULL OR locked_until <= $2)")
        .bind(email).bind(now).bind(done_before)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    if cleared > 0 {
        // Nothing left to count: drop the row rather than keep one per user.
        on_db!(db, pool => sqlx::query(
            "DELETE FROM login_lockout WHERE email = $1 AND failed_count = 0 AND in_flight = 0
               AND (locked_until IS NULL OR locked_until <= $2)")
            .bind(email).bind(now).execute(pool).await.map(|_| ()))?;
        return Ok(Ok(()));
    }
    // Either a lock stands, or the row is gone (a password reset cleared it).
    Ok(match locked_until(db, email, now).await? {
        Some(until) => Err(until),
        None => Ok(()),
    })
}

/// Gives back a slot without counting anything (the check itself failed).
pub async fn release(db: &Db, email: &str) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "UPDATE login_lockout SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END WHERE email = $1")
        .bind(email).execute(pool).await.map(|_| ()))
}

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

/// A password reset clears the count and any lock.
pub async fn reset(db: &Db, email: &str) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("DELETE FROM login_lockout WHERE email = $1")
        .bind(email).execute(pool).await.map(|_| ()))
}
