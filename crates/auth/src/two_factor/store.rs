//! Storage of TOTP secrets, hashed backup codes and the per-user lockout of
//! the second step (`two_factor`).

use chrono::{DateTime, Utc};
use common::{Db, on_db};

/// The columns of a `two_factor` row the domain reads (the counters and
/// timestamps are updated in SQL).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TwoFactorRow {
    pub id: String,
    /// Encrypted under the secret.
    pub secret: String,
    /// JSON list of the unused codes' hashes.
    pub backup_codes: String,
    pub verified: bool,
    pub locked_until: Option<DateTime<Utc>>,
}

pub async fn find(db: &Db, user_id: &str) -> sqlx::Result<Option<TwoFactorRow>> {
    on_db!(db, pool => sqlx::query_as::<_, TwoFactorRow>("SELECT * FROM two_factor WHERE user_id = $1")
        .bind(user_id).fetch_optional(pool).await)
}

/// A new unverified secret and code set for the user, replacing an
/// unverified one; `false` when a verified one exists.
pub async fn put_unverified(
    db: &Db,
    user_id: &str,
    secret: &str,
    backup_codes: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO two_factor (id, user_id, secret, backup_codes, verified, failed_verification_count, created_at, updated_at)
         VALUES ($1, $2, $3, $4, FALSE, 0, $5, $5)
         ON CONFLICT (user_id) DO UPDATE SET secret = $3, backup_codes = $4, last_used_step = NULL, updated_at = $5
         WHERE two_factor.verified = FALSE")
        .bind(common::ids::new_id()).bind(user_id).bind(secret).bind(backup_codes).bind(now)
        .execute(pool).await.map(|r| r.rows_affected() == 1))
}

pub async fn mark_verified(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("UPDATE two_factor SET verified = TRUE, updated_at = $1 WHERE id = $2")
        .bind(now).bind(id).execute(pool).await.map(|_| ()))
}

/// Records that the TOTP code of `step` was used, only if no later or equal
/// step was: a code is good once, even under concurrency.
pub async fn use_step(db: &Db, id: &str, step: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query(
        "UPDATE two_factor SET last_used_step = $1, updated_at = $2 WHERE id = $3 AND (last_used_step IS NULL OR last_used_step < $1)")
        .bind(step).bind(now).bind(id).execute(pool).await.map(|r| r.rows_affected() == 1))
}

/// Swaps the backup-code list only if it is still `old` (compare and set).
pub async fn replace_backup_codes(
    db: &Db,
    id: &str,
    old: Option<&str>,
    new: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_db!(db, pool => match old {
        Some(old) => sqlx::query("UPDATE two_factor SET backup_codes = $1, updated_at = $2 WHERE id = $3 AND backup_codes = $4")
            .bind(new).bind(now).bind(id).bind(old).execute(pool).await.map(|r| r.rows_affected() == 1),
        None => sqlx::query("UPDATE two_factor SET backup_codes = $1, updated_at = $2 WHERE id = $3")
            .bind(new).bind(now).bind(id).execute(pool).await.map(|r| r.rows_affected() == 1),
    })
}

/// Counts a failed second step atomically; at `max` failures the user is
/// locked until `lock_end`. A lock that has run out starts a fresh count.
/// Returns the lock end when this failure locked (or the user already was).
pub async fn record_failure(
    db: &Db,
    id: &str,
    now: DateTime<Utc>,
    lock_end: DateTime<Utc>,
    max: i64,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    let row: Option<(Option<DateTime<Utc>>,)> = on_db!(db, pool => sqlx::query_as(
        "UPDATE two_factor SET
           failed_verification_count = CASE WHEN locked_until IS NOT NULL AND locked_until <= $1 THEN 1
                                            ELSE failed_verification_count + 1 END,
           locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= $1 THEN NULL
                               WHEN locked_until IS NULL AND failed_verification_count + 1 >= $3 THEN $2
                               ELSE locked_until END,
           updated_at = $1
         WHERE id = $4 RETURNING locked_until")
        .bind(now).bind(lock_end).bind(max).bind(id)
        .fetch_optional(pool).await)?;
    Ok(row.and_then(|(until,)| until).filter(|u| *u > now))
}

pub async fn clear_failures(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "UPDATE two_factor SET failed_verification_count = 0, locked_until = NULL, updated_at = $1 WHERE id = $2")
        .bind(now).bind(id).execute(pool).await.map(|_| ()))
}

pub async fn delete(db: &Db, user_id: &str) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("DELETE FROM two_factor WHERE user_id = $1")
        .bind(user_id).execute(pool).await.map(|r| r.rows_affected()))
}
