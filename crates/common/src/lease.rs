//! Database leases for periodic jobs: among many instances, the one that
//! takes the lease runs the job; the others skip until it expires.

use chrono::{DateTime, Duration, Utc};

use crate::db::Db;
use crate::on_db;

/// Takes the lease `name` for `ttl` if it is free, expired, or already ours.
pub async fn acquire(
    db: &Db,
    name: &str,
    holder: &str,
    ttl: Duration,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO job_lease (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE job_lease.expires_at <= $4 OR job_lease.holder = excluded.holder")
        .bind(name).bind(holder).bind(now + ttl).bind(now)
        .execute(pool).await.map(|r| r.rows_affected() == 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseConfig;

    #[tokio::test]
    async fn one_holder_at_a_time_until_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&DatabaseConfig::Sqlite {
            path: dir.path().join("l.db"),
        })
        .await
        .unwrap();
        db.migrate().await.unwrap();
        let t0 = Utc::now();
        assert!(
            acquire(&db, "job", "a", Duration::hours(1), t0)
                .await
                .unwrap()
        );
        assert!(
            !acquire(&db, "job", "b", Duration::hours(1), t0)
                .await
                .unwrap()
        );
        assert!(
            acquire(&db, "job", "a", Duration::hours(1), t0)
                .await
                .unwrap(),
            "the holder renews"
        );
        assert!(
            acquire(&db, "job", "b", Duration::hours(1), t0 + Duration::hours(2))
                .await
                .unwrap()
        );
    }
}
