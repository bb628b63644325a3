//! Admin operations of the learning backend: roles, the auth audit trail,
//! AI usage figures, and thread retention.

use chrono::{DateTime, NaiveDate, Utc};
use common::{Db, on_db};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};

/// What is counted of the tutor's use: per user and day, and in total.
#[derive(Debug, Default, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageCounts {
    pub message_count: i64,
    pub total_response_time_ms: i64,
    pub error_count: i64,
    /// Drafts the answer guard withdrew.
    pub guard_hits: i64,
    /// Second opinions asked of the model (`TUTOR_JUDGE`), how many said a
    /// reply solves an exercise, and of those how many the guard had passed.
    pub judge_calls: i64,
    pub judge_flags: i64,
    pub judge_disagreements: i64,
}

impl UsageCounts {
    fn add(&mut self, other: &UsageCounts) {
        self.message_count += other.message_count;
        self.total_response_time_ms += other.total_response_time_ms;
        self.error_count += other.error_count;
        self.guard_hits += other.guard_hits;
        self.judge_calls += other.judge_calls;
        self.judge_flags += other.judge_flags;
        self.judge_disagreements += other.judge_disagreements;
    }
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageRow {
    pub user_id: String,
    pub email: Option<String>,
    pub date: String,
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub counts: UsageCounts,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageTotals {
    #[serde(flatten)]
    pub counts: UsageCounts,
    pub users: usize,
    pub average_response_time_ms: i64,
}

/// Usage per user per day between two dates (inclusive), newest first, with totals.
pub async fn usage(
    db: &Db,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<(Vec<UsageRow>, UsageTotals)> {
    let rows: Vec<UsageRow> = on_db!(db, pool => sqlx::query_as(
        r#"SELECT m.user_id, u.email, m.date, m.message_count, m.total_response_time_ms, m.error_count,
                  m.guard_hits, m.judge_calls, m.judge_flags, m.judge_disagreements
           FROM ai_usage_metric m LEFT JOIN "user" u ON u.id = m.user_id
           WHERE m.date >= $1 AND m.date <= $2 ORDER BY m.date DESC, m.message_count DESC, m.user_id"#)
        .bind(from.to_string()).bind(to.to_string()).fetch_all(pool).await)?;
    let mut totals = UsageTotals::default();
    let mut users = std::collections::HashSet::new();
    for r in &rows {
        totals.counts.add(&r.counts);
        users.insert(r.user_id.clone());
    }
    totals.users = users.len();
    let c = &totals.counts;
    if c.message_count > 0 {
        totals.average_response_time_ms = c.total_response_time_ms / c.message_count;
    }
    Ok((rows, totals))
}

/// Threads are kept 30 days after the enrolment they belong to ended.
pub const RETENTION_DAYS: i64 = 30;

/// Deletes threads whose enrolment ended more than 30 days ago. Returns how many.
pub async fn run_retention(db: &Db, now: DateTime<Utc>) -> ApiResult<u64> {
    let cutoff = now - chrono::Duration::days(RETENTION_DAYS);
    let n = crate::chat::store::delete_threads_ended_before(db, cutoff).await?;
    tracing::info!(deleted = n, "thread retention ran");
    Ok(n)
}

/// The daily retention job, safe to call from every instance: only the one
/// holding the database lease runs it. Returns the count when it ran.
pub async fn retention_tick(db: &Db, holder: &str, now: DateTime<Utc>) -> ApiResult<Option<u64>> {
    if !common::lease::acquire(
        db,
        "chat-retention",
        holder,
        chrono::Duration::hours(23),
        now,
    )
    .await?
    {
        return Ok(None);
    }
    Ok(Some(run_retention(db, now).await?))
}

/// The audit trail as CSV, one row per event, for download.
pub fn events_csv(rows: &[auth::audit::StoredEvent]) -> ApiResult<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "type",
        "user_id",
        "email",
        "ip_address",
        "user_agent",
        "details",
        "created_at",
    ])
    .map_err(ApiError::internal("writing the CSV header"))?;
    for e in rows {
        w.write_record([
            e.id.as_str(),
            e.event_type.as_str(),
            e.user_id.as_deref().unwrap_or(""),
            e.email.as_deref().unwrap_or(""),
            e.ip_address.as_deref().unwrap_or(""),
            e.user_agent.as_deref().unwrap_or(""),
            e.details.as_str(),
            common::clock::to_iso(&e.created_at).as_str(),
        ])
        .map_err(ApiError::internal("writing a CSV row"))?;
    }
    w.into_inner()
        .map_err(|e| e.into_error())
        .map_err(ApiError::internal("finishing the CSV export"))
}
