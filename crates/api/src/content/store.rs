//! Storage of courses, stages, lessons, enrolments, progress and retrieval chunks.

use chrono::{DateTime, Utc};
use common::{Db, on_db};

use super::Exercise;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Course {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Students see a course once it is published; its staff see it always.
    pub published: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stage {
    pub id: String,
    pub course_id: String,
    pub slug: String,
    pub position: i64,
    pub title: String,
    pub summary: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Lesson {
    pub id: String,
    pub stage_id: String,
    pub slug: String,
    pub title: String,
    pub body: String,
    pub position: i64,
    pub author_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Enrolment {
    pub unlocked_position: i64,
}

pub async fn courses(db: &Db) -> sqlx::Result<Vec<Course>> {
    on_db!(db, pool => sqlx::query_as::<_, Course>("SELECT * FROM course ORDER BY title").fetch_all(pool).await)
}

pub async fn course_by_slug(db: &Db, slug: &str) -> sqlx::Result<Option<Course>> {
    on_db!(db, pool => sqlx::query_as::<_, Course>("SELECT * FROM course WHERE slug = $1").bind(slug).fetch_optional(pool).await)
}

pub async fn course_by_id(db: &Db, id: &str) -> sqlx::Result<Option<Course>> {
    on_db!(db, pool => sqlx::query_as::<_, Course>("SELECT * FROM course WHERE id = $1").bind(id).fetch_optional(pool).await)
}

pub async fn insert_course(db: &Db, c: &Course) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO course (id, slug, title, summary, created_at, updated_at, published) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&c.id).bind(&c.slug).bind(&c.title).bind(&c.summary).bind(c.created_at).bind(c.updated_at).bind(c.published)
        .execute(pool).await.map(|_| ()))
}

pub async fn delete_course(db: &Db, id: &str) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("DELETE FROM course WHERE id = $1").bind(id).execute(pool).await.map(|r| r.rows_affected()))
}

pub async fn update_course(db: &Db, c: &Course) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "UPDATE course SET title = $1, summary = $2, published = $3, updated_at = $4 WHERE id = $5")
        .bind(&c.title).bind(&c.summary).bind(c.published).bind(c.updated_at).bind(&c.id)
        .execute(pool).await.map(|_| ()))
}

// --- course staff -------------------------------------------------------------

/// Makes a user staff of a course; adding twice is not an error. Returns
/// whether a row was added.
pub async fn add_staff(
    db: &Db,
    course_id: &str,
    user_id: &str,
    added_by: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO course_staff (course_id, user_id, added_by, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (course_id, user_id) DO NOTHING")
        .bind(course_id).bind(user_id).bind(added_by).bind(now)
        .execute(pool).await.map(|r| r.rows_affected() == 1))
}

pub async fn remove_staff(db: &Db, course_id: &str, user_id: &str) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query("DELETE FROM course_staff WHERE course_id = $1 AND user_id = $2")
        .bind(course_id).bind(user_id).execute(pool).await.map(|r| r.rows_affected() == 1))
}

pub async fn is_staff_of(db: &Db, user_id: &str, course_id: &str) -> sqlx::Result<bool> {
    let (n,): (i64,) = on_db!(db, pool => sqlx::query_as(
        "SELECT COUNT(*) FROM course_staff WHERE user_id = $1 AND course_id = $2")
        .bind(user_id).bind(course_id).fetch_one(pool).await)?;
    Ok(n > 0)
}

/// Whether the user teaches the course now: an admin, or listed as its staff.
pub async fn teaches_course(db: &Db, user_id: &str, course_id: &str) -> sqlx::Result<bool> {
    let role: Option<(String,)> = on_db!(db, pool => sqlx::query_as(
        r#"SELECT role FROM "user" WHERE id = $1"#).bind(user_id).fetch_optional(pool).await)?;
    match role {
        Some((r,)) if auth::access::allows(&r, "course", "manage-all") => Ok(true),
        Some((r,)) if auth::access::allows(&r, "course", "author") => {
            is_staff_of(db, user_id, course_id).await
        }
        _ => Ok(false),
    }
}

/// A course's staff: (user id, name, email), by name.
pub async fn staff_of(db: &Db, course_id: &str) -> sqlx::Result<Vec<(String, String, String)>> {
    on_db!(db, pool => sqlx::query_as(
        r#"SELECT u.id, u.name, u.email FROM course_staff s JOIN "user" u ON u.id = s.user_id WHERE s.course_id = $1 ORDER BY u.name, u.email"#)
        .bind(course_id).fetch_all(pool).await)
}

/// (id, name, email, role) of the account with this (lower-case) email.
pub async fn account_by_email(
    db: &Db,
    email: &str,
) -> sqlx::Result<Option<(String, String, String, String)>> {
    on_db!(db, pool => sqlx::query_as(
        r#"SELECT id, name, email, role FROM "user" WHERE email = $1"#)
        .bind(email).fetch_optional(pool).await)
}

/// The courses a user is staff of, by title.
pub async fn courses_taught(db: &Db, user_id: &str) -> sqlx::Result<Vec<Course>> {
    on_db!(db, pool => sqlx::query_as::<_, Course>(
        "SELECT c.* FROM course c JOIN course_staff s ON s.course_id = c.id WHERE s.user_id = $1 ORDER BY c.title")
        .bind(user_id).fetch_all(pool).await)
}

pub async fn stages(db: &Db, course_id: &str) -> sqlx::Result<Vec<Stage>> {
    on_db!(db, pool => sqlx::query_as::<_, Stage>("SELECT * FROM stage WHERE course_id = $1 ORDER BY position, id")
        .bind(course_id).fetch_all(pool).await)
}

pub async fn stage_by_id(db: &Db, id: &str) -> sqlx::Result<Option<Stage>> {
    on_db!(db, pool => sqlx::query_as::<_, Stage>("SELECT * FROM stage WHERE id = $1").bind(id).fetch_optional(pool).await)
}

pub async fn insert_stage(db: &Db, s: &Stage) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO stage (id, course_id, slug, position, title, summary, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&s.id).bind(&s.course_id).bind(&s.slug).bind(s.position).bind(&s.title).bind(&s.summary).bind(s.created_at).bind(s.updated_at)
        .execute(pool).await.map(|_| ()))
}

// Every change to what retrieval shows of a lesson (its chunks, their stage
// position, the slugs a citation links to) is logged in its transaction:
// the next number under content_version's row lock, and the lessons touched.
// Search indexes on every instance replay exactly these lessons.
// The first change creates the row with a random epoch (bound as $1).
// Each LOG_* takes the change's number, its time and the key it logs by.
const NEXT_CHANGE: &str = "INSERT INTO content_version (id, epoch, seq) VALUES (1, $1, 1)
     ON CONFLICT (id) DO UPDATE SET seq = content_version.seq + 1 RETURNING seq";
const LOG_LESSON: &str =
    "INSERT INTO content_change (seq, changed_at, lesson_id) VALUES ($1, $2, $3)";
const LOG_STAGE: &str = "INSERT INTO content_change (seq, lesson_id, changed_at) SELECT $1, id, $2 FROM lesson WHERE stage_id = $3";
const LOG_COURSE: &str = "INSERT INTO content_change (seq, lesson_id, changed_at) SELECT $1, l.id, $2 FROM lesson l JOIN stage s ON s.id = l.stage_id WHERE s.course_id = $3";
// Run after each LOG_*: a follower needs only each lesson's latest number
// (it asks which lessons changed after N), so the older rows of the lessons
// just logged go, and the log stays one row per lesson, however many edits.
const COMPACT: &str = "DELETE FROM content_change WHERE seq < $1
     AND lesson_id IN (SELECT lesson_id FROM content_change WHERE seq = $1)";

/// Saves a stage; a new slug changes its lessons' citation links, so they
/// are logged for retrieval.
pub async fn update_stage(db: &Db, s: &Stage) -> sqlx::Result<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let old: Option<(String,)> = sqlx::query_as("SELECT slug FROM stage WHERE id = $1")
            .bind(&s.id).fetch_optional(&mut *tx).await?;
        sqlx::query("UPDATE stage SET slug = $1, title = $2, summary = $3, updated_at = $4 WHERE id = $5")
            .bind(&s.slug).bind(&s.title).bind(&s.summary).bind(s.updated_at).bind(&s.id)
            .execute(&mut *tx).await?;
        if old.is_some_and(|(slug,)| slug != s.slug) {
            let (seq,): (i64,) = sqlx::query_as(NEXT_CHANGE).bind(common::ids::new_id()).fetch_one(&mut *tx).await?;
            sqlx::query(LOG_STAGE).bind(seq).bind(s.updated_at).bind(&s.id).execute(&mut *tx).await?;
            sqlx::query(COMPACT).bind(seq).execute(&mut *tx).await?;
        }
        tx.commit().await
    })
}

/// Deletes a stage with its lessons (cascade), logging them for retrieval.
pub async fn delete_stage(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    delete_logged(db, "DELETE FROM stage WHERE id = $1", LOG_STAGE, id, now).await
}

/// Runs `delete` for `id` in the transaction that first logs, with `log`,
/// the lessons it takes away. Returns the rows deleted.
async fn delete_logged(
    db: &Db,
    delete: &'static str,
    log: &'static str,
    id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let (seq,): (i64,) = sqlx::query_as(NEXT_CHANGE).bind(common::ids::new_id()).fetch_one(&mut *tx).await?;
        sqlx::query(log).bind(seq).bind(now).bind(id).execute(&mut *tx).await?;
        sqlx::query(COMPACT).bind(seq).execute(&mut *tx).await?;
        let n = sqlx::query(delete).bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n)
    })
}

/// Sets positions 1..n in the given order, in one transaction.
pub async fn reorder_stages(db: &Db, ids: &[String], now: DateTime<Utc>) -> sqlx::Result<()> {
    reorder(
        db,
        "UPDATE stage SET position = $1, updated_at = $2 WHERE id = $3",
        ids,
        now,
    )
    .await
}

/// Runs `update` (position, time, id) for each id in order, in one transaction.
async fn reorder(
    db: &Db,
    update: &'static str,
    ids: &[String],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for (i, id) in ids.iter().enumerate() {
            sqlx::query(update)
                .bind(i as i64 + 1).bind(now).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await
    })
}

pub async fn lessons_of_course(db: &Db, course_id: &str) -> sqlx::Result<Vec<Lesson>> {
    on_db!(db, pool => sqlx::query_as::<_, Lesson>(
        "SELECT l.* FROM lesson l JOIN stage s ON s.id = l.stage_id WHERE s.course_id = $1 ORDER BY s.position, l.position, l.id")
        .bind(course_id).fetch_all(pool).await)
}

pub async fn lessons_of_stage(db: &Db, stage_id: &str) -> sqlx::Result<Vec<Lesson>> {
    on_db!(db, pool => sqlx::query_as::<_, Lesson>("SELECT * FROM lesson WHERE stage_id = $1 ORDER BY position, id")
        .bind(stage_id).fetch_all(pool).await)
}

pub async fn lesson_by_id(db: &Db, id: &str) -> sqlx::Result<Option<Lesson>> {
    on_db!(db, pool => sqlx::query_as::<_, Lesson>("SELECT * FROM lesson WHERE id = $1").bind(id).fetch_optional(pool).await)
}

/// The id of the course a lesson belongs to.
pub async fn course_of_lesson(db: &Db, lesson_id: &str) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> = on_db!(db, pool => sqlx::query_as(
        "SELECT s.course_id FROM lesson l JOIN stage s ON s.id = l.stage_id WHERE l.id = $1")
        .bind(lesson_id).fetch_optional(pool).await)?;
    Ok(row.map(|r| r.0))
}

pub async fn insert_lesson(db: &Db, l: &Lesson) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO lesson (id, stage_id, slug, title, body, position, author_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(&l.id).bind(&l.stage_id).bind(&l.slug).bind(&l.title).bind(&l.body).bind(l.position)
        .bind(&l.author_id).bind(l.created_at).bind(l.updated_at)
        .execute(pool).await.map(|_| ()))
}

pub async fn update_lesson(db: &Db, l: &Lesson) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "UPDATE lesson SET slug = $1, title = $2, body = $3, author_id = $4, updated_at = $5 WHERE id = $6")
        .bind(&l.slug).bind(&l.title).bind(&l.body).bind(&l.author_id).bind(l.updated_at).bind(&l.id)
        .execute(pool).await.map(|_| ()))
}

/// Deletes a lesson with its chunks (cascade), logging it for retrieval.
pub async fn delete_lesson(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    delete_logged(db, "DELETE FROM lesson WHERE id = $1", LOG_LESSON, id, now).await
}

pub async fn reorder_lessons(db: &Db, ids: &[String], now: DateTime<Utc>) -> sqlx::Result<()> {
    reorder(
        db,
        "UPDATE lesson SET position = $1, updated_at = $2 WHERE id = $3",
        ids,
        now,
    )
    .await
}

/// The user's current enrolment; one that has ended counts as none.
pub async fn enrolment(db: &Db, user_id: &str, course_id: &str) -> sqlx::Result<Option<Enrolment>> {
    on_db!(db, pool => sqlx::query_as::<_, Enrolment>(
        "SELECT * FROM enrolment WHERE user_id = $1 AND course_id = $2 AND enrolment_ended_at IS NULL")
        .bind(user_id).bind(course_id).fetch_optional(pool).await)
}

/// Enrols (idempotently), or reopens an enrolment that ended, keeping its
/// progress. Returns whether the user was not enrolled before.
pub async fn enrol(
    db: &Db,
    user_id: &str,
    course_id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO enrolment (user_id, course_id, unlocked_position, enrolled_at) VALUES ($1, $2, 1, $3)
         ON CONFLICT (user_id, course_id) DO UPDATE SET enrolment_ended_at = NULL
         WHERE enrolment.enrolment_ended_at IS NOT NULL")
        .bind(user_id).bind(course_id).bind(now).execute(pool).await.map(|r| r.rows_affected() == 1))
}

/// Ends a current enrolment. Returns whether there was one.
pub async fn end_enrolment(
    db: &Db,
    user_id: &str,
    course_id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query(
        "UPDATE enrolment SET enrolment_ended_at = $1 WHERE user_id = $2 AND course_id = $3 AND enrolment_ended_at IS NULL")
        .bind(now).bind(user_id).bind(course_id).execute(pool).await.map(|r| r.rows_affected() == 1))
}

pub async fn raise_unlocked(
    db: &Db,
    user_id: &str,
    course_id: &str,
    position: i64,
) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query(
        "UPDATE enrolment SET unlocked_position = $1 WHERE user_id = $2 AND course_id = $3 AND unlocked_position < $1")
        .bind(position).bind(user_id).bind(course_id).execute(pool).await.map(|r| r.rows_affected() == 1))
}

pub async fn completed_lessons(
    db: &Db,
    user_id: &str,
    course_id: &str,
) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = on_db!(db, pool => sqlx::query_as(
        "SELECT p.lesson_id FROM lesson_progress p JOIN lesson l ON l.id = p.lesson_id JOIN stage s ON s.id = l.stage_id
         WHERE p.user_id = $1 AND s.course_id = $2")
        .bind(user_id).bind(course_id).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn mark_complete(
    db: &Db,
    user_id: &str,
    lesson_id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO lesson_progress (user_id, lesson_id, completed_at) VALUES ($1, $2, $3) ON CONFLICT (user_id, lesson_id) DO NOTHING")
        .bind(user_id).bind(lesson_id).bind(now).execute(pool).await.map(|r| r.rows_affected() == 1))
}

/// A retrieval chunk to store.
pub struct ChunkRow {
    pub heading_path: String,
    pub anchor: String,
    pub text: String,
}

/// Replaces a lesson's chunks, so retrieval sees an edit at once.
pub async fn replace_chunks(
    db: &Db,
    lesson_id: &str,
    course_id: &str,
    stage_position: i64,
    chunks: &[ChunkRow],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let (seq,): (i64,) = sqlx::query_as(NEXT_CHANGE).bind(common::ids::new_id()).fetch_one(&mut *tx).await?;
        sqlx::query(LOG_LESSON).bind(seq).bind(now).bind(lesson_id).execute(&mut *tx).await?;
        sqlx::query(COMPACT).bind(seq).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM content_chunk WHERE lesson_id = $1").bind(lesson_id).execute(&mut *tx).await?;
        for (i, c) in chunks.iter().enumerate() {
            let hash = auth::crypto::token_hash(&c.text);
            sqlx::query(
                "INSERT INTO content_chunk (id, lesson_id, course_id, stage_position, heading_path, anchor, position, text, hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                .bind(common::ids::new_id()).bind(lesson_id).bind(course_id).bind(stage_position)
                .bind(&c.heading_path).bind(&c.anchor).bind(i as i64).bind(&c.text).bind(hash).bind(now)
                .execute(&mut *tx).await?;
        }
        tx.commit().await
    })
}

/// Keeps chunk stage positions in step after stages are reordered, and logs
/// the course's lessons for retrieval.
pub async fn sync_chunk_positions(
    db: &Db,
    course_id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let (seq,): (i64,) = sqlx::query_as(NEXT_CHANGE).bind(common::ids::new_id()).fetch_one(&mut *tx).await?;
        sqlx::query(
            "UPDATE content_chunk SET stage_position = (SELECT s.position FROM lesson l JOIN stage s ON s.id = l.stage_id WHERE l.id = content_chunk.lesson_id)
             WHERE course_id = $1")
            .bind(course_id).execute(&mut *tx).await?;
        sqlx::query(LOG_COURSE).bind(seq).bind(now).bind(course_id).execute(&mut *tx).await?;
        sqlx::query(COMPACT).bind(seq).execute(&mut *tx).await?;
        tx.commit().await
    })
}

pub async fn chunk_count(db: &Db, lesson_id: &str) -> sqlx::Result<i64> {
    let (n,): (i64,) = on_db!(db, pool => sqlx::query_as("SELECT COUNT(*) FROM content_chunk WHERE lesson_id = $1")
        .bind(lesson_id).fetch_one(pool).await)?;
    Ok(n)
}

// --- exercises and attempts ---------------------------------------------------

fn decode(spec: &str) -> Option<Exercise> {
    match serde_json::from_str::<serde_json::Value>(spec)
        .ok()
        .map(Exercise::from_value)
    {
        Some(Ok(e)) => Some(e),
        Some(Err(e)) => {
            // Stored exercises were checked on the way in; say so loudly if not.
            tracing::error!(error = %e, "a stored exercise no longer parses; skipped");
            None
        }
        None => None,
    }
}

/// A lesson's exercises in order.
pub async fn exercises_of_lesson(db: &Db, lesson_id: &str) -> sqlx::Result<Vec<Exercise>> {
    let rows: Vec<(String,)> = on_db!(db, pool => sqlx::query_as(
        "SELECT spec FROM exercise WHERE lesson_id = $1 ORDER BY position, id")
        .bind(lesson_id).fetch_all(pool).await)?;
    Ok(rows.iter().filter_map(|(s,)| decode(s)).collect())
}

/// An exercise and the lesson it belongs to.
pub async fn exercise_by_id(db: &Db, id: &str) -> sqlx::Result<Option<(Exercise, String)>> {
    let row: Option<(String, String)> = on_db!(db, pool => sqlx::query_as(
        "SELECT spec, lesson_id FROM exercise WHERE id = $1")
        .bind(id).fetch_optional(pool).await)?;
    Ok(row.and_then(|(s, l)| decode(&s).map(|e| (e, l))))
}

/// Makes a lesson's exercises exactly `list`, keeping the attempts of those
/// that stay. Returns the id that another lesson already uses, if any (and
/// then changes nothing).
pub async fn replace_exercises(
    db: &Db,
    lesson_id: &str,
    list: &[Exercise],
    now: DateTime<Utc>,
) -> sqlx::Result<Option<String>> {
    let specs: Vec<(String, String, String)> = list
        .iter()
        .map(|e| {
            let spec = serde_json::to_string(e).unwrap_or_default();
            (e.id.clone(), e.kind().to_string(), spec)
        })
        .collect();
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for (i, (id, kind, spec)) in specs.iter().enumerate() {
            let n = sqlx::query(
                "INSERT INTO exercise (id, lesson_id, position, kind, spec, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)
                 ON CONFLICT (id) DO UPDATE SET position = excluded.position, kind = excluded.kind, spec = excluded.spec, updated_at = excluded.updated_at
                 WHERE exercise.lesson_id = excluded.lesson_id")
                .bind(id).bind(lesson_id).bind(i as i64).bind(kind).bind(spec).bind(now)
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                tx.rollback().await?;
                return Ok(Some(id.clone()));
            }
        }
        let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM exercise WHERE lesson_id = $1")
            .bind(lesson_id).fetch_all(&mut *tx).await?;
        for (id,) in rows {
            if !specs.iter().any(|(k, _, _)| *k == id) {
                sqlx::query("DELETE FROM exercise WHERE id = $1").bind(&id).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(None)
    })
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attempt {
    pub id: String,
    pub user_id: String,
    pub exercise_id: String,
    pub answer: String,
    pub correct: bool,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_attempt(db: &Db, a: &Attempt) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO exercise_attempt (id, user_id, exercise_id, number, answer, correct, created_at)
         SELECT $1, $2, $3, COUNT(*) + 1, $4, $5, $6 FROM exercise_attempt WHERE user_id = $2 AND exercise_id = $3")
        .bind(&a.id).bind(&a.user_id).bind(&a.exercise_id).bind(&a.answer).bind(a.correct).bind(a.created_at)
        .execute(pool).await.map(|_| ()))
}

/// A user's attempts at one exercise, oldest first.
pub async fn attempts(db: &Db, user_id: &str, exercise_id: &str) -> sqlx::Result<Vec<Attempt>> {
    on_db!(db, pool => sqlx::query_as::<_, Attempt>(
        "SELECT id, user_id, exercise_id, answer, correct, created_at FROM exercise_attempt
         WHERE user_id = $1 AND exercise_id = $2 ORDER BY created_at, number, id")
        .bind(user_id).bind(exercise_id).fetch_all(pool).await)
}

/// A user's attempts at every exercise of a course, oldest first.
pub async fn attempts_in_course(
    db: &Db,
    user_id: &str,
    course_id: &str,
) -> sqlx::Result<Vec<Attempt>> {
    on_db!(db, pool => sqlx::query_as::<_, Attempt>(
        "SELECT a.id, a.user_id, a.exercise_id, a.answer, a.correct, a.created_at FROM exercise_attempt a
         JOIN exercise e ON e.id = a.exercise_id JOIN lesson l ON l.id = e.lesson_id JOIN stage s ON s.id = l.stage_id
         WHERE a.user_id = $1 AND s.course_id = $2 ORDER BY a.created_at, a.number, a.id")
        .bind(user_id).bind(course_id).fetch_all(pool).await)
}

/// Per exercise of a lesson: (exercise id, attempts, correct attempts).
pub async fn attempt_counts(
    db: &Db,
    user_id: &str,
    lesson_id: &str,
) -> sqlx::Result<Vec<(String, i64, i64)>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT a.exercise_id, COUNT(*), COUNT(*) FILTER (WHERE a.correct) FROM exercise_attempt a
         JOIN exercise e ON e.id = a.exercise_id
         WHERE a.user_id = $1 AND e.lesson_id = $2 GROUP BY a.exercise_id")
        .bind(user_id).bind(lesson_id).fetch_all(pool).await)
}

/// `$from, $from+1, …` for `n` values: an `IN (…)` list.
fn list(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of a query that takes the `leading` values, then `ids` as an
/// `IN (…)` list: `sql` builds the statement from that list's placeholders.
/// No ids, no rows (and no query: `IN ()` is not valid SQL).
async fn fetch_in<T>(
    db: &Db,
    sql: impl FnOnce(&str) -> String,
    leading: &[&str],
    ids: &[String],
) -> sqlx::Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = sql(&list(leading.len() + 1, ids.len()));
    let values = || {
        leading
            .iter()
            .copied()
            .chain(ids.iter().map(String::as_str))
    };
    on_db!(db, pool => {
        let mut q = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql.clone()));
        for v in values() {
            q = q.bind(v);
        }
        q.fetch_all(pool).await
    })
}

/// The exercises of several lessons in one query, in lesson order.
pub async fn exercises_of_lessons(db: &Db, lesson_ids: &[String]) -> sqlx::Result<Vec<Exercise>> {
    let rows: Vec<(String,)> = fetch_in(
        db,
        |list| {
            format!(
                "SELECT spec FROM exercise WHERE lesson_id IN ({list}) ORDER BY lesson_id, position, id"
            )
        },
        &[],
        lesson_ids,
    )
    .await?;
    Ok(rows.iter().filter_map(|(s,)| decode(s)).collect())
}

/// Exercises by id, in one query.
pub async fn exercises_by_ids(db: &Db, ids: &[String]) -> sqlx::Result<Vec<Exercise>> {
    let rows: Vec<(String,)> = fetch_in(
        db,
        |list| format!("SELECT spec FROM exercise WHERE id IN ({list}) ORDER BY id"),
        &[],
        ids,
    )
    .await?;
    Ok(rows.iter().filter_map(|(s,)| decode(s)).collect())
}

/// A user's attempts at several exercises, in one query, oldest first.
pub async fn attempts_at(
    db: &Db,
    user_id: &str,
    exercise_ids: &[String],
) -> sqlx::Result<Vec<Attempt>> {
    fetch_in(
        db,
        |list| {
            format!(
                "SELECT id, user_id, exercise_id, answer, correct, created_at FROM exercise_attempt
                 WHERE user_id = $1 AND exercise_id IN ({list}) ORDER BY created_at, number, id"
            )
        },
        &[user_id],
        exercise_ids,
    )
    .await
}
