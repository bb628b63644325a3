//! The tutor's repository over the database: passages with the slugs their
//! citations link to, the stages a learner may see, exercises and attempts,
//! the exercises a thread has had in play, flags and verdict counts.

use async_trait::async_trait;
use common::{Db, SharedClock, on_db};
use tutor::exercise::Exercise;
use tutor::retrieval::bm25::Passage;
use tutor::retrieval::index::{ContentSource, SourceError, Version};
use tutor::turn::rank::StageInfo;
use tutor::turn::{
    AttemptSummary, FlagEvent, Learner, Page, PageLesson, RepoError, Repository, Scope, Verdicts,
};

use crate::content::store as content;

pub struct SqlRepository {
    pub db: Db,
    pub clock: SharedClock,
}

fn failed(e: impl std::fmt::Display) -> RepoError {
    RepoError(e.to_string())
}

/// A chunk with the slugs its citation links to.
#[derive(sqlx::FromRow)]
struct ChunkRow {
    id: String,
    lesson_id: String,
    course_id: String,
    stage_position: i64,
    heading_path: String,
    anchor: String,
    text: String,
    stage_slug: String,
    lesson_slug: String,
}

fn passage(r: ChunkRow) -> Passage {
    Passage {
        url: if r.anchor.is_empty() {
            format!("/learn/{}/{}", r.stage_slug, r.lesson_slug)
        } else {
            format!("/learn/{}/{}#{}", r.stage_slug, r.lesson_slug, r.anchor)
        },
        chunk_id: r.id,
        lesson_id: r.lesson_id,
        course_id: r.course_id,
        stage_position: r.stage_position.max(0) as u64,
        title: r.heading_path,
        text: r.text,
    }
}

const CHUNKS: &str = "SELECT c.id, c.lesson_id, c.course_id, c.stage_position, c.heading_path, c.anchor, c.text, s.slug AS stage_slug, l.slug AS lesson_slug
     FROM content_chunk c JOIN lesson l ON l.id = c.lesson_id JOIN stage s ON s.id = l.stage_id";

#[async_trait]
impl Repository for SqlRepository {
    async fn scope(&self, learner: &Learner, page: &Page) -> Result<Option<Scope>, RepoError> {
        let courses = content::courses(&self.db).await.map_err(failed)?;
        let course = page
            .course
            .as_ref()
            .and_then(|slug| courses.iter().find(|c| &c.slug == slug))
            .or_else(|| courses.first());
        let Some(course) = course else {
            return Ok(None);
        };
        let stages = content::stages(&self.db, &course.id)
            .await
            .map_err(failed)?;
        // Staff see every stage of the courses they teach only.
        let teaches = learner.staff
            && content::teaches_course(&self.db, &learner.id, &course.id)
                .await
                .map_err(failed)?;
        let allowed: Vec<u64> = if teaches {
            stages.iter().map(|s| s.position.max(0) as u64).collect()
        } else {
            match content::enrolment(&self.db, &learner.id, &course.id)
                .await
                .map_err(failed)?
            {
                Some(e) => stages
                    .iter()
                    .filter(|s| s.position <= e.unlocked_position)
                    .map(|s| s.position.max(0) as u64)
                    .collect(),
                None => Vec::new(),
            }
        };
        Ok(Some(Scope {
            course_id: course.id.clone(),
            stages: allowed,
        }))
    }

    async fn page_lesson(
        &self,
        scope: &Scope,
        page: &Page,
    ) -> Result<Option<PageLesson>, RepoError> {
        let (Some(stage), Some(lesson)) = (&page.stage, &page.lesson) else {
            return Ok(None);
        };
        let row: Option<(String, i64)> = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT l.id, s.position FROM lesson l JOIN stage s ON s.id = l.stage_id WHERE s.slug = $1 AND l.slug = $2 AND s.course_id = $3")
            .bind(stage).bind(lesson).bind(&scope.course_id).fetch_optional(pool).await)
        .map_err(failed)?;
        let Some((lesson_id, position)) = row else {
            return Ok(None);
        };
        // A locked lesson is not in play, and its text is not shown.
        if !scope.stages.contains(&(position.max(0) as u64)) {
            return Ok(None);
        }
        let sql = format!("{CHUNKS} WHERE c.lesson_id = $1 ORDER BY c.position LIMIT 3");
        let rows: Vec<ChunkRow> =
            on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&lesson_id).fetch_all(pool).await)
            .map_err(failed)?;
        Ok(Some(PageLesson {
            lesson_id,
            passages: rows.into_iter().map(passage).collect(),
        }))
    }

    async fn exercises_of(&self, lesson_ids: &[String]) -> Result<Vec<Exercise>, RepoError> {
        content::exercises_of_lessons(&self.db, lesson_ids)
            .await
            .map_err(failed)
    }

    async fn exercises(&self, ids: &[String]) -> Result<Vec<Exercise>, RepoError> {
        content::exercises_by_ids(&self.db, ids)
            .await
            .map_err(failed)
    }

    async fn attempts(
        &self,
        learner: &Learner,
        exercise_ids: &[String],
    ) -> Result<Vec<AttemptSummary>, RepoError> {
        Ok(content::attempts_at(&self.db, &learner.id, exercise_ids)
            .await
            .map_err(failed)?
            .into_iter()
            .map(|a| AttemptSummary {
                exercise_id: a.exercise_id,
                answer: a.answer,
                correct: a.correct,
            })
            .collect())
    }

    async fn thread_exercises(&self, thread_id: &str) -> Result<Vec<String>, RepoError> {
        let rows: Vec<(String,)> = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT exercise_id FROM chatkit_thread_exercise WHERE thread_id = $1 ORDER BY exercise_id")
            .bind(thread_id).fetch_all(pool).await)
        .map_err(failed)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn remember_exercises(&self, thread_id: &str, ids: &[String]) -> Result<(), RepoError> {
        if ids.is_empty() {
            return Ok(());
        }
        // One statement for the lot: ($1, $2), ($1, $3), …
        let rows = (0..ids.len())
            .map(|i| format!("($1, ${})", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO chatkit_thread_exercise (thread_id, exercise_id) VALUES {rows} ON CONFLICT DO NOTHING"
        );
        on_db!(&self.db, pool => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(thread_id);
            for id in ids {
                q = q.bind(id);
            }
            q.execute(pool).await.map(|_| ())
        })
        .map_err(failed)
    }

    async fn flag_thread(&self, thread_id: &str, flag: &str) -> Result<(), RepoError> {
        self.record_flag(
            thread_id,
            &FlagEvent {
                flag: flag.to_string(),
                source: String::new(),
                rule: String::new(),
                text: String::new(),
            },
        )
        .await
    }

    /// Flags live in the thread's `metadata`: `flags` lists each kind once
    /// (what staff filter on), `flag_events` keeps the newest 50 findings
    /// with where they were, the rule and the text.
    async fn record_flag(&self, thread_id: &str, event: &FlagEvent) -> Result<(), RepoError> {
        let now = self.clock.now();
        super::store::update_thread_metadata(&self.db, thread_id, |meta| {
            let flags = meta.entry("flags").or_insert_with(|| serde_json::json!([]));
            if let Some(list) = flags.as_array_mut()
                && !list.iter().any(|f| f == event.flag.as_str())
            {
                list.push(serde_json::Value::String(event.flag.clone()));
            }
            if !event.source.is_empty() {
                let events = meta
                    .entry("flag_events")
                    .or_insert_with(|| serde_json::json!([]));
                if let Some(list) = events.as_array_mut() {
                    list.push(serde_json::json!({
                        "flag": event.flag, "source": event.source, "rule": event.rule,
                        "text": event.text, "at": now.to_rfc3339(),
                    }));
                    let extra = list.len().saturating_sub(50);
                    list.drain(..extra);
                }
            }
        })
        .await
        .map_err(failed)
    }

    async fn stages(&self, course_id: &str) -> Result<Vec<StageInfo>, RepoError> {
        Ok(content::stages(&self.db, course_id)
            .await
            .map_err(failed)?
            .into_iter()
            .map(|s| StageInfo {
                position: s.position.max(0) as u64,
                title: s.title,
            })
            .collect())
    }

    async fn record_verdicts(&self, learner: &Learner, v: Verdicts) -> Result<(), RepoError> {
        let date = self.clock.now().date_naive().to_string();
        // The turn's own row is written when the turn ends; these add to it.
        on_db!(&self.db, pool => sqlx::query(
            "INSERT INTO ai_usage_metric (user_id, date, guard_hits, judge_calls, judge_flags, judge_disagreements) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (user_id, date) DO UPDATE SET guard_hits = ai_usage_metric.guard_hits + excluded.guard_hits,
               judge_calls = ai_usage_metric.judge_calls + excluded.judge_calls,
               judge_flags = ai_usage_metric.judge_flags + excluded.judge_flags,
               judge_disagreements = ai_usage_metric.judge_disagreements + excluded.judge_disagreements")
            .bind(&learner.id).bind(date).bind(v.guard_hits).bind(v.judge_calls).bind(v.judge_flags).bind(v.judge_disagreements)
            .execute(pool).await.map(|_| ()))
        .map_err(failed)
    }
}

fn source_failed(e: impl std::fmt::Display) -> SourceError {
    SourceError(e.to_string())
}

/// `$from, $from+1, …` for `n` values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl ContentSource for SqlRepository {
    async fn version(&self) -> Result<Version, SourceError> {
        let row: Option<(String, i64)> = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT epoch, seq FROM content_version WHERE id = 1").fetch_optional(pool).await)
        .map_err(source_failed)?;
        // No row: no change was ever logged (an empty database).
        let (epoch, seq) = row.unwrap_or_default();
        Ok(Version { epoch, seq })
    }

    async fn passages_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Passage>, SourceError> {
        let sql = format!("{CHUNKS} WHERE c.id > $1 ORDER BY c.id LIMIT $2");
        let rows: Vec<ChunkRow> =
            on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(after.unwrap_or("")).bind(limit as i64).fetch_all(pool).await)
            .map_err(source_failed)?;
        Ok(rows.into_iter().map(passage).collect())
    }

    async fn changed_since(&self, seq: i64) -> Result<(Vec<String>, i64), SourceError> {
        let rows: Vec<(String, i64)> = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT lesson_id, MAX(seq) FROM content_change WHERE seq > $1 GROUP BY lesson_id ORDER BY lesson_id")
            .bind(seq).fetch_all(pool).await)
        .map_err(source_failed)?;
        let upto = rows.iter().map(|r| r.1).max().unwrap_or(seq).max(seq);
        Ok((rows.into_iter().map(|r| r.0).collect(), upto))
    }

    async fn passages_of(&self, lessons: &[String]) -> Result<Vec<Passage>, SourceError> {
        if lessons.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{CHUNKS} WHERE c.lesson_id IN ({}) ORDER BY c.lesson_id, c.position",
            placeholders(1, lessons.len())
        );
        let rows: Vec<ChunkRow> = on_db!(&self.db, pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for l in lessons {
                q = q.bind(l);
            }
            q.fetch_all(pool).await
        })
        .map_err(source_failed)?;
        Ok(rows.into_iter().map(passage).collect())
    }
}
