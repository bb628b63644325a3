//! Storage of signing keys (`jwks`).

use chrono::{DateTime, Utc};
use common::{Db, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub id: String,
    pub public_key: String,
    pub private_key: String,
    pub alg: String,
    pub crv: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the key stopped signing; `None` while it is current.
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert(db: &Db, k: &KeyRow) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO jwks (id, public_key, private_key, alg, crv, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&k.id).bind(&k.public_key).bind(&k.private_key).bind(&k.alg).bind(&k.crv).bind(k.created_at).bind(k.expires_at)
        .execute(pool).await.map(|_| ()))
}

/// The newest key still signing for `alg`.
pub async fn current(db: &Db, alg: &str) -> sqlx::Result<Option<KeyRow>> {
    on_db!(db, pool => sqlx::query_as::<_, KeyRow>(
        "SELECT * FROM jwks WHERE alg = $1 AND expires_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1")
        .bind(alg).fetch_optional(pool).await)
}

/// Keys that may still have live tokens: current ones, and retired ones
/// whose last token has not yet expired.
pub async fn published(db: &Db, retired_after: DateTime<Utc>) -> sqlx::Result<Vec<KeyRow>> {
    on_db!(db, pool => sqlx::query_as::<_, KeyRow>(
        "SELECT * FROM jwks WHERE expires_at IS NULL OR expires_at > $1 ORDER BY created_at DESC, id DESC")
        .bind(retired_after).fetch_all(pool).await)
}

/// Retires every current key of `alg`; returns how many.
pub async fn retire_current(db: &Db, alg: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("UPDATE jwks SET expires_at = $1 WHERE alg = $2 AND expires_at IS NULL")
        .bind(now).bind(alg).execute(pool).await.map(|r| r.rows_affected()))
}

/// Retires one key, only if it is still current (so concurrent rotations
/// elect a single winner).
pub async fn retire(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query("UPDATE jwks SET expires_at = $1 WHERE id = $2 AND expires_at IS NULL")
        .bind(now).bind(id).execute(pool).await.map(|r| r.rows_affected() == 1))
}
