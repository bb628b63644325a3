//! The daily message limit: students get N user messages in any rolling
//! 24 hours. The check and the count are one transaction that first locks the
//! user's `chatkit_rate_limit` row, so concurrent requests — on any number of
//! instances — are counted exactly.

use chrono::{DateTime, Duration, Utc};
use common::{Db, on_db};

pub const WINDOW: Duration = Duration::hours(24);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaState {
    pub limit: u32,
    pub used: u32,
    /// When the oldest counted message leaves the window.
    pub reset_at: DateTime<Utc>,
}

impl QuotaState {
    pub fn remaining(&self) -> u32 {
        self.limit.saturating_sub(self.used)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Counted; the event id lets a failed request give it back.
    Allowed {
        state: QuotaState,
        event_id: String,
    },
    Denied(QuotaState),
}

/// Counts one message if the user is under the limit (or `exempt`).
pub async fn consume(
    db: &Db,
    user_id: &str,
    limit: u32,
    exempt: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<Decision> {
    let since = now - WINDOW;
    let event_id = common::ids::new_id();
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        // Writing the row first takes its lock for the rest of the transaction.
        sqlx::query(
            "INSERT INTO chatkit_rate_limit (user_id, message_count, window_start, updated_at) VALUES ($1, 0, $2, $2)
             ON CONFLICT (user_id) DO UPDATE SET updated_at = excluded.updated_at")
            .bind(user_id).bind(now).execute(&mut *tx).await?;
        let (used, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM chatkit_quota_event WHERE user_id = $1 AND created_at > $2")
            .bind(user_id).bind(since).fetch_one(&mut *tx).await?;
        let used = used as u32;
        if used >= limit && !exempt {
            tx.commit().await?;
            return Ok(Decision::Denied(QuotaState { limit, used, reset_at: oldest.unwrap_or(now) + WINDOW }));
        }
        sqlx::query("INSERT INTO chatkit_quota_event (id, user_id, created_at) VALUES ($1, $2, $3)")
            .bind(&event_id).bind(user_id).bind(now).execute(&mut *tx).await?;
        sqlx::query("UPDATE chatkit_rate_limit SET message_count = $1, window_start = $2 WHERE user_id = $3")
            .bind(used as i64 + 1).bind(oldest.unwrap_or(now)).bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Decision::Allowed {
            state: QuotaState { limit, used: used + 1, reset_at: oldest.unwrap_or(now) + WINDOW },
            event_id,
        })
    })
}

/// The state without counting anything.
pub async fn peek(
    db: &Db,
    user_id: &str,
    limit: u32,
    now: DateTime<Utc>,
) -> sqlx::Result<QuotaState> {
    let (used, oldest): (i64, Option<DateTime<Utc>>) = on_db!(db, pool => sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM chatkit_quota_event WHERE user_id = $1 AND created_at > $2")
        .bind(user_id).bind(now - WINDOW).fetch_one(pool).await)?;
    Ok(QuotaState {
        limit,
        used: used as u32,
        reset_at: oldest.unwrap_or(now) + WINDOW,
    })
}

/// Gives back a message that was counted but never stored.
pub async fn refund(db: &Db, event_id: &str) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("DELETE FROM chatkit_quota_event WHERE id = $1").bind(event_id).execute(pool).await.map(|_| ()))
}
