//! Storage of signing keys (`jwks`).

use chrono::{DateTime, Duration, Utc};
use common::{Db, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub id: String,
    pub public_key: String,
    pub private_key: String,
    pub alg: String,
    pub crv: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the key stops signing; `None` while no successor is scheduled.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key starts signing; `None` means from `created_at`.
    #[sqlx(default)]
    pub activates_at: Option<DateTime<Utc>>,
    /// The latest expiry of any token it signed (reserved before signing).
    #[sqlx(default)]
    pub signed_until: Option<DateTime<Utc>>,
}

impl KeyRow {
    pub fn starts_at(&self) -> DateTime<Utc> {
        self.activates_at.unwrap_or(self.created_at)
    }

    /// Whether the key signs at `now`.
    pub fn signs_at(&self, now: DateTime<Utc>) -> bool {
        self.starts_at() <= now && self.expires_at.is_none_or(|end| end > now)
    }

    /// Whether the key belongs in the JWKS at `now`: before and while it
    /// signs, and after until the last token it signed has expired. Keys
    /// retired before expiries were recorded keep the assumed `token_ttl`.
    pub fn published_at(&self, now: DateTime<Utc>, token_ttl: Duration) -> bool {
        match (self.expires_at, self.signed_until) {
            (None, _) => true,
            (Some(end), _) if end > now => true,
            (Some(_), Some(until)) => until > now,
            (Some(end), None) => end + token_ttl > now,
        }
    }
}

pub async fn insert(db: &Db, k: &KeyRow) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO jwks (id, public_key, private_key, alg, crv, created_at, expires_at, activates_at, signed_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(&k.id).bind(&k.public_key).bind(&k.private_key).bind(&k.alg).bind(&k.crv).bind(k.created_at).bind(k.expires_at)
        .bind(k.activates_at).bind(k.signed_until)
        .execute(pool).await.map(|_| ()))
}

pub async fn find(db: &Db, id: &str) -> sqlx::Result<Option<KeyRow>> {
    on_db!(db, pool => sqlx::query_as::<_, KeyRow>("SELECT * FROM jwks WHERE id = $1")
        .bind(id).fetch_optional(pool).await)
}

pub async fn all(db: &Db) -> sqlx::Result<Vec<KeyRow>> {
    on_db!(db, pool => sqlx::query_as::<_, KeyRow>("SELECT * FROM jwks ORDER BY created_at, id")
        .fetch_all(pool).await)
}

/// The key of `alg` that signs at `now`: the one that started last.
pub async fn signing(db: &Db, alg: &str, now: DateTime<Utc>) -> sqlx::Result<Option<KeyRow>> {
    on_db!(db, pool => sqlx::query_as::<_, KeyRow>(
        "SELECT * FROM jwks WHERE alg = $1 AND COALESCE(activates_at, created_at) <= $2
           AND (expires_at IS NULL OR expires_at > $2)
         ORDER BY COALESCE(activates_at, created_at) DESC, id DESC LIMIT 1")
        .bind(alg).bind(now).fetch_optional(pool).await)
}

/// A key of `alg` published but not yet signing.
pub async fn pending(db: &Db, alg: &str, now: DateTime<Utc>) -> sqlx::Result<Option<KeyRow>> {
    on_db!(db, pool => sqlx::query_as::<_, KeyRow>(
        "SELECT * FROM jwks WHERE alg = $1 AND activates_at > $2 ORDER BY activates_at DESC LIMIT 1")
        .bind(alg).bind(now).fetch_optional(pool).await)
}

/// Keys to publish at `now` (see [`KeyRow::published_at`]).
pub async fn published(
    db: &Db,
    now: DateTime<Utc>,
    token_ttl: Duration,
) -> sqlx::Result<Vec<KeyRow>> {
    on_db!(db, pool => sqlx::query_as::<_, KeyRow>(
        "SELECT * FROM jwks WHERE expires_at IS NULL OR expires_at > $1 OR signed_until > $1
            OR (signed_until IS NULL AND expires_at > $2)
         ORDER BY COALESCE(activates_at, created_at) DESC, id DESC")
        .bind(now).bind(now - token_ttl).fetch_all(pool).await)
}

/// Records that tokens up to `until` may be signed with the key, only if it
/// still signs at `now`. `false` means the key was retired meanwhile.
pub async fn reserve(
    db: &Db,
    id: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query(
        "UPDATE jwks SET signed_until = CASE WHEN signed_until IS NULL OR signed_until < $1 THEN $1 ELSE signed_until END
         WHERE id = $2 AND (expires_at IS NULL OR expires_at > $3)")
        .bind(until).bind(id).bind(now)
        .execute(pool).await.map(|r| r.rows_affected() == 1))
}

/// Gives a key the moment it stops signing, only if it had none (so
/// concurrent rotations elect a single winner).
pub async fn set_retirement(db: &Db, id: &str, at: DateTime<Utc>) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query("UPDATE jwks SET expires_at = $1 WHERE id = $2 AND expires_at IS NULL")
        .bind(at).bind(id).execute(pool).await.map(|r| r.rows_affected() == 1))
}

/// Stops every key of `alg` signing at `now`, pending ones included; returns how many.
pub async fn retire_all(db: &Db, alg: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(
        "UPDATE jwks SET expires_at = $1 WHERE alg = $2 AND (expires_at IS NULL OR expires_at > $1)")
        .bind(now).bind(alg).execute(pool).await.map(|r| r.rows_affected()))
}

pub async fn delete(db: &Db, id: &str) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("DELETE FROM jwks WHERE id = $1")
        .bind(id).execute(pool).await.map(|r| r.rows_affected()))
}
