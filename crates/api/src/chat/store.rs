//! ChatKit storage over `chatkit_thread` and `chatkit_thread_item`. Every
//! query is scoped to the caller: another user's thread is simply not found.

use async_trait::async_trait;
use chatkit::request::{FeedbackKind, Order};
use chatkit::store::{Store, StoreError};
use chatkit::types::{Page, ThreadItem, ThreadMetadata, ThreadStatus};
use chrono::{DateTime, Utc};
use common::{Db, SharedClock, on_db};
use serde_json::{Map, Value};

use super::ChatContext;

/// Records when the enrolment behind a user's threads on a course ended
/// (`None`: it is current again). Retention deletes threads 30 days after.
/// Threads name their course as the page did, by slug or id, so both match.
pub async fn set_course_threads_ended(
    db: &Db,
    user_id: &str,
    course: (&str, &str),
    ended_at: Option<DateTime<Utc>>,
) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(
        "UPDATE chatkit_thread SET enrollment_ended_at = $1 WHERE user_id = $2 AND course_id IN ($3, $4)")
        .bind(ended_at).bind(user_id).bind(course.0).bind(course.1)
        .execute(pool).await.map(|r| r.rows_affected()))
}

/// Threads that belong to no course the catalogue knows (asked away from a
/// lesson page). Retention treats them as part of the student's learning as a
/// whole: stamped when the last current enrolment ends, cleared on enrolling.
const COURSELESS: &str = "(course_id IS NULL OR course_id NOT IN (SELECT id FROM course) AND course_id NOT IN (SELECT slug FROM course))";

/// Stamps the caller's course-less threads when no enrolment of theirs is
/// current any more (`Some`), or clears the stamp (`None`, on enrolling).
pub async fn set_courseless_threads_ended(
    db: &Db,
    user_id: &str,
    ended_at: Option<DateTime<Utc>>,
) -> sqlx::Result<u64> {
    let sql = match ended_at {
        Some(_) => format!(
            "UPDATE chatkit_thread SET enrollment_ended_at = $1 WHERE user_id = $2 AND enrollment_ended_at IS NULL AND {COURSELESS}
             AND NOT EXISTS (SELECT 1 FROM enrolment e WHERE e.user_id = $2 AND e.enrolment_ended_at IS NULL)"
        ),
        None => format!(
            "UPDATE chatkit_thread SET enrollment_ended_at = $1 WHERE user_id = $2 AND {COURSELESS}"
        ),
    };
    on_db!(db, pool => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(ended_at).bind(user_id)
        .execute(pool).await.map(|r| r.rows_affected()))
}

/// The retention stamp a new thread starts with. A student's thread on a
/// course they have left (or never joined) is stamped at once — with the
/// enrolment's end, or now — so it is deleted like the course's other
/// threads; a course-less thread is stamped when no enrolment is current.
/// Staff threads are not tied to enrolments.
async fn initial_stamp(
    db: &Db,
    ctx: &ChatContext,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    if ctx.user.is_staff() {
        return Ok(None);
    }
    let user = ctx.user.id.as_str();
    if let Some(course) = ctx.page.course.as_deref() {
        let known: Option<(String,)> = on_db!(db, pool => sqlx::query_as(
            "SELECT id FROM course WHERE id = $1 OR slug = $1")
            .bind(course).fetch_optional(pool).await)?;
        if let Some((course_id,)) = known {
            let row: Option<(Option<DateTime<Utc>>,)> = on_db!(db, pool => sqlx::query_as(
                "SELECT enrolment_ended_at FROM enrolment WHERE user_id = $1 AND course_id = $2")
                .bind(user).bind(&course_id).fetch_optional(pool).await)?;
            return Ok(match row {
                Some((ended,)) => ended,
                None => Some(now),
            });
        }
    }
    let (current, last_end): (i64, Option<DateTime<Utc>>) = on_db!(db, pool => sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE enrolment_ended_at IS NULL), MAX(enrolment_ended_at) FROM enrolment WHERE user_id = $1")
        .bind(user).fetch_one(pool).await)?;
    Ok(if current > 0 {
        None
    } else {
        Some(last_end.unwrap_or(now))
    })
}

pub struct SqlStore {
    pub db: Db,
    pub clock: SharedClock,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

#[derive(sqlx::FromRow)]
struct ThreadRow {
    id: String,
    title: Option<String>,
    status: String,
    metadata: String,
    created_at: DateTime<Utc>,
}

impl ThreadRow {
    fn into_meta(self) -> ThreadMetadata {
        ThreadMetadata {
            id: self.id,
            title: self.title,
            created_at: self.created_at,
            status: serde_json::from_str(&self.status).unwrap_or(ThreadStatus::Active),
            metadata: serde_json::from_str::<Map<String, Value>>(&self.metadata)
                .unwrap_or_default(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: String,
    content: String,
}

impl SqlStore {
    async fn owns(&self, thread_id: &str, ctx: &ChatContext) -> Result<(), StoreError> {
        let row: Option<(String,)> = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT id FROM chatkit_thread WHERE id = $1 AND user_id = $2")
            .bind(thread_id).bind(&ctx.user.id).fetch_optional(pool).await)
        .map_err(backend)?;
        row.map(|_| ()).ok_or(StoreError::NotFound)
    }

    async fn touch(&self, thread_id: &str) -> Result<(), StoreError> {
        on_db!(&self.db, pool => sqlx::query("UPDATE chatkit_thread SET updated_at = $1 WHERE id = $2")
            .bind(self.clock.now()).bind(thread_id).execute(pool).await.map(|_| ())).map_err(backend)?;
        Ok(())
    }

    fn encode(item: &ThreadItem) -> Result<(String, Option<&'static str>), StoreError> {
        let role = match item {
            ThreadItem::UserMessage(_) => Some("user"),
            ThreadItem::AssistantMessage(_) => Some("assistant"),
            _ => None,
        };
        Ok((serde_json::to_string(item).map_err(backend)?, role))
    }
}

#[async_trait]
impl Store<ChatContext> for SqlStore {
    async fn load_thread(
        &self,
        thread_id: &str,
        ctx: &ChatContext,
    ) -> Result<ThreadMetadata, StoreError> {
        let row: Option<ThreadRow> = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT id, title, status, metadata, created_at, updated_at FROM chatkit_thread WHERE id = $1 AND user_id = $2")
            .bind(thread_id).bind(&ctx.user.id).fetch_optional(pool).await).map_err(backend)?;
        row.map(ThreadRow::into_meta).ok_or(StoreError::NotFound)
    }

    async fn save_thread(&self, t: &ThreadMetadata, ctx: &ChatContext) -> Result<(), StoreError> {
        let status = serde_json::to_string(&t.status).map_err(backend)?;
        let metadata = Value::Object(t.metadata.clone()).to_string();
        let now = self.clock.now();
        // The course and stage the thread started on, for retention and analytics.
        let course = ctx.page.course.clone();
        // Only a new row takes the stamp; updates never touch it.
        let stamp = initial_stamp(&self.db, ctx, now).await.map_err(backend)?;
        let n = on_db!(&self.db, pool => sqlx::query(
            "INSERT INTO chatkit_thread (id, user_id, title, course_id, status, metadata, created_at, updated_at, enrollment_ended_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, status = excluded.status, updated_at = excluded.updated_at
             WHERE chatkit_thread.user_id = excluded.user_id")
            .bind(&t.id).bind(&ctx.user.id).bind(&t.title).bind(course).bind(status).bind(metadata).bind(t.created_at).bind(now).bind(stamp)
            .execute(pool).await.map(|r| r.rows_affected())).map_err(backend)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn load_threads(
        &self,
        limit: usize,
        after: Option<&str>,
        order: Order,
        ctx: &ChatContext,
    ) -> Result<Page<ThreadMetadata>, StoreError> {
        // Ordered by last activity; the cursor is the last thread's id.
        let cursor: Option<(DateTime<Utc>, String)> = match after {
            None => None,
            Some(id) => on_db!(&self.db, pool => sqlx::query_as(
                "SELECT updated_at, id FROM chatkit_thread WHERE id = $1 AND user_id = $2")
                .bind(id).bind(&ctx.user.id).fetch_optional(pool).await)
            .map_err(backend)?,
        };
        if after.is_some() && cursor.is_none() {
            return Ok(Page::default());
        }
        let (cmp, dir) = match order {
            Order::Desc => ("<", "DESC"),
            Order::Asc => (">", "ASC"),
        };
        let sql = format!(
            "SELECT id, title, status, metadata, created_at, updated_at FROM chatkit_thread
             WHERE user_id = $1 AND ($2 IS NULL OR updated_at {cmp} $2 OR (updated_at = $2 AND id {cmp} $3))
             ORDER BY updated_at {dir}, id {dir} LIMIT $4"
        );
        let (at, id) = cursor
            .map(|(a, i)| (Some(a), Some(i)))
            .unwrap_or((None, None));
        let mut rows: Vec<ThreadRow> =
            on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&ctx.user.id).bind(at).bind(id).bind(limit as i64 + 1).fetch_all(pool).await)
            .map_err(backend)?;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let data: Vec<ThreadMetadata> = rows.into_iter().map(ThreadRow::into_meta).collect();
        let after = if has_more {
            data.last().map(|t| t.id.clone())
        } else {
            None
        };
        Ok(Page {
            data,
            has_more,
            after,
        })
    }

    async fn delete_thread(&self, thread_id: &str, ctx: &ChatContext) -> Result<(), StoreError> {
        let n = on_db!(&self.db, pool => sqlx::query("DELETE FROM chatkit_thread WHERE id = $1 AND user_id = $2")
            .bind(thread_id).bind(&ctx.user.id).execute(pool).await.map(|r| r.rows_affected())).map_err(backend)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn load_thread_items(
        &self,
        thread_id: &str,
        after: Option<&str>,
        limit: usize,
        order: Order,
        ctx: &ChatContext,
    ) -> Result<Page<ThreadItem>, StoreError> {
        self.owns(thread_id, ctx).await?;
        let cursor: Option<i64> = match after {
            None => None,
            Some(id) => {
                let r: Option<(i64,)> = on_db!(&self.db, pool => sqlx::query_as(
                    "SELECT seq FROM chatkit_thread_item WHERE id = $1 AND thread_id = $2")
                    .bind(id).bind(thread_id).fetch_optional(pool).await)
                .map_err(backend)?;
                match r {
                    Some((s,)) => Some(s),
                    None => return Ok(Page::default()),
                }
            }
        };
        let (cmp, dir) = match order {
            Order::Desc => ("<", "DESC"),
            Order::Asc => (">", "ASC"),
        };
        let sql = format!(
            "SELECT id, content FROM chatkit_thread_item WHERE thread_id = $1 AND ($2 IS NULL OR seq {cmp} $2) ORDER BY seq {dir} LIMIT $3"
        );
        let mut rows: Vec<ItemRow> =
            on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(thread_id).bind(cursor).bind(limit as i64 + 1).fetch_all(pool).await)
            .map_err(backend)?;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let after = if has_more {
            rows.last().map(|r| r.id.clone())
        } else {
            None
        };
        let data = rows
            .into_iter()
            .filter_map(|r| serde_json::from_str::<ThreadItem>(&r.content).ok())
            .collect();
        Ok(Page {
            data,
            has_more,
            after,
        })
    }

    async fn add_thread_item(
        &self,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &ChatContext,
    ) -> Result<(), StoreError> {
        let (content, role) = Self::encode(item)?;
        let created = item.base().created_at;
        let now = self.clock.now();
        // A question remembers the lesson it was asked on, for the course's
        // class insight (tutor questions per lesson).
        let meta = match (item, &ctx.page.stage, &ctx.page.lesson) {
            (ThreadItem::UserMessage(_), Some(stage), Some(lesson)) => {
                serde_json::json!({"stage": stage, "lesson": lesson}).to_string()
            }
            _ => "{}".to_string(),
        };
        // The next position comes from the thread's own counter. The update
        // checks ownership, marks activity and locks the thread row until the
        // insert commits, so concurrent messages queue instead of colliding.
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await.map_err(backend)?;
            let seq: Option<(i64,)> = sqlx::query_as(
                "UPDATE chatkit_thread SET item_seq = item_seq + 1, updated_at = $1 WHERE id = $2 AND user_id = $3 RETURNING item_seq")
                .bind(now).bind(thread_id).bind(&ctx.user.id)
                .fetch_optional(&mut *tx).await.map_err(backend)?;
            let Some((seq,)) = seq else {
                return Err(StoreError::NotFound);
            };
            sqlx::query(
                "INSERT INTO chatkit_thread_item (id, thread_id, seq, type, role, content, metadata, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(item.id()).bind(thread_id).bind(seq).bind(item.kind()).bind(role).bind(&content).bind(&meta).bind(created)
                .execute(&mut *tx).await.map_err(backend)?;
            tx.commit().await.map_err(backend)
        })
    }

    async fn save_item(
        &self,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &ChatContext,
    ) -> Result<(), StoreError> {
        self.owns(thread_id, ctx).await?;
        let (content, _) = Self::encode(item)?;
        let n = on_db!(&self.db, pool => sqlx::query("UPDATE chatkit_thread_item SET content = $1 WHERE id = $2 AND thread_id = $3")
            .bind(&content).bind(item.id()).bind(thread_id).execute(pool).await.map(|r| r.rows_affected())).map_err(backend)?;
        if n == 0 {
            self.add_thread_item(thread_id, item, ctx).await
        } else {
            self.touch(thread_id).await
        }
    }

    async fn load_item(
        &self,
        thread_id: &str,
        item_id: &str,
        ctx: &ChatContext,
    ) -> Result<ThreadItem, StoreError> {
        self.owns(thread_id, ctx).await?;
        let row: Option<(String,)> = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT content FROM chatkit_thread_item WHERE id = $1 AND thread_id = $2")
            .bind(item_id).bind(thread_id).fetch_optional(pool).await)
        .map_err(backend)?;
        let (content,) = row.ok_or(StoreError::NotFound)?;
        serde_json::from_str(&content).map_err(backend)
    }

    async fn delete_thread_item(
        &self,
        thread_id: &str,
        item_id: &str,
        ctx: &ChatContext,
    ) -> Result<(), StoreError> {
        self.owns(thread_id, ctx).await?;
        on_db!(&self.db, pool => sqlx::query("DELETE FROM chatkit_thread_item WHERE id = $1 AND thread_id = $2")
            .bind(item_id).bind(thread_id).execute(pool).await.map(|_| ())).map_err(backend)?;
        Ok(())
    }

    async fn add_feedback(
        &self,
        thread_id: &str,
        item_ids: &[String],
        kind: FeedbackKind,
        ctx: &ChatContext,
    ) -> Result<(), StoreError> {
        self.owns(thread_id, ctx).await?;
        let value = serde_json::json!({"feedback": match kind { FeedbackKind::Positive => "positive", FeedbackKind::Negative => "negative" }}).to_string();
        if item_ids.is_empty() {
            return Ok(());
        }
        // One statement for the whole (capped) list.
        let placeholders: Vec<String> =
            (0..item_ids.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "UPDATE chatkit_thread_item SET metadata = $1 WHERE thread_id = $2 AND id IN ({})",
            placeholders.join(", ")
        );
        on_db!(&self.db, pool => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(&value).bind(thread_id);
            for id in item_ids {
                q = q.bind(id);
            }
            q.execute(pool).await.map(|_| ())
        })
        .map_err(backend)
    }
}
