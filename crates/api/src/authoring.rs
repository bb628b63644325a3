//! Instructor authoring of stages and lessons. Every change to a lesson is
//! re-chunked for retrieval at once.

use common::{Db, SharedClock};
use serde::{Deserialize, Serialize};

use crate::caller::AuthenticatedUser;
use crate::content::store::{self, ChunkRow, Lesson, Stage};
use crate::content::{Exercise, valid_slug};
use crate::error::{ApiError, ApiResult};
use crate::teaching::Teaching;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewStage {
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct StagePatch {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewLesson {
    pub slug: String,
    pub title: String,
    pub body: String,
    /// Exercises as the front matter writes them (content/README.md).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub exercises: Vec<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct LessonPatch {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub exercises: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageView {
    pub id: String,
    pub course_id: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub position: i64,
}

impl From<&Stage> for StageView {
    fn from(s: &Stage) -> Self {
        StageView {
            id: s.id.clone(),
            course_id: s.course_id.clone(),
            slug: s.slug.clone(),
            title: s.title.clone(),
            summary: s.summary.clone(),
            position: s.position,
        }
    }
}

/// The editor's view: the source, with exercise answers (staff only).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LessonSource {
    pub id: String,
    pub stage_id: String,
    pub slug: String,
    pub title: String,
    pub body: String,
    #[schema(value_type = Vec<Object>)]
    pub exercises: Vec<Exercise>,
    pub position: i64,
    pub chunks: i64,
}

pub struct Authoring<'a> {
    pub db: &'a Db,
    pub clock: &'a SharedClock,
}

fn check_slug(slug: &str) -> ApiResult<()> {
    if valid_slug(slug) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "INVALID_SLUG",
            "Slugs are lower-case letters, digits and single hyphens",
        ))
    }
}

fn check_title(title: &str) -> ApiResult<()> {
    if title.trim().is_empty() || title.len() > 200 {
        Err(ApiError::invalid(
            "INVALID_TITLE",
            "A title is 1 to 200 characters",
        ))
    } else {
        Ok(())
    }
}

/// Reads and checks a lesson's exercises; the error names the exercise and
/// what is wrong with it.
fn check_exercises(raw: Vec<serde_json::Value>) -> ApiResult<Vec<Exercise>> {
    let list = raw
        .into_iter()
        .map(Exercise::from_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::invalid("INVALID_EXERCISE", e.to_string()))?;
    tutor::exercise::check_all(&list)
        .map_err(|e| ApiError::invalid("INVALID_EXERCISE", e.to_string()))?;
    Ok(list)
}

fn taken(id: String) -> ApiError {
    ApiError::conflict(
        "EXERCISE_ID_TAKEN",
        format!("Another lesson already has an exercise `{id}`; exercise ids are unique"),
    )
}

/// Whether `order` lists exactly the ids in `current`, each once.
fn same_members(current: &[String], order: &[String]) -> bool {
    let mut a = current.to_vec();
    let mut b = order.to_vec();
    a.sort();
    b.sort();
    a == b
}

/// A unique-constraint violation becomes 409.
fn conflict_on_unique(e: sqlx::Error) -> ApiError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            ApiError::conflict("SLUG_TAKEN", "Another item here already uses that slug")
        }
        _ => ApiError::Db(e),
    }
}

impl Authoring<'_> {
    fn teaching(&self) -> Teaching<'_> {
        Teaching {
            db: self.db,
            clock: self.clock,
        }
    }

    pub async fn create_stage(
        &self,
        user: &AuthenticatedUser,
        course_slug: &str,
        input: NewStage,
    ) -> ApiResult<Stage> {
        let course = self.teaching().course(user, course_slug).await?;
        check_slug(&input.slug)?;
        check_title(&input.title)?;
        let stages = store::stages(self.db, &course.id).await?;
        let now = self.clock.now();
        let stage = Stage {
            id: common::ids::new_id(),
            course_id: course.id,
            slug: input.slug,
            position: stages.iter().map(|s| s.position).max().unwrap_or(0) + 1,
            title: input.title.trim().to_string(),
            summary: input.summary,
            created_at: now,
            updated_at: now,
        };
        store::insert_stage(self.db, &stage)
            .await
            .map_err(conflict_on_unique)?;
        Ok(stage)
    }

    /// The stage, if `user` teaches its course.
    async fn stage(&self, user: &AuthenticatedUser, id: &str) -> ApiResult<Stage> {
        let s = store::stage_by_id(self.db, id)
            .await?
            .ok_or_else(|| ApiError::not_found("STAGE_NOT_FOUND", "No such stage"))?;
        self.teaching().require(user, &s.course_id).await?;
        Ok(s)
    }

    pub async fn update_stage(
        &self,
        user: &AuthenticatedUser,
        id: &str,
        patch: StagePatch,
    ) -> ApiResult<Stage> {
        let mut s = self.stage(user, id).await?;
        if let Some(slug) = patch.slug {
            check_slug(&slug)?;
            s.slug = slug;
        }
        if let Some(title) = patch.title {
            check_title(&title)?;
            s.title = title.trim().to_string();
        }
        if let Some(summary) = patch.summary {
            s.summary = summary;
        }
        s.updated_at = self.clock.now();
        store::update_stage(self.db, &s)
            .await
            .map_err(conflict_on_unique)?;
        Ok(s)
    }

    pub async fn delete_stage(&self, user: &AuthenticatedUser, id: &str) -> ApiResult<()> {
        let s = self.stage(user, id).await?;
        store::delete_stage(self.db, id, self.clock.now()).await?;
        // Keep positions contiguous so "the next stage" stays well defined.
        let remaining: Vec<String> = store::stages(self.db, &s.course_id)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        store::reorder_stages(self.db, &remaining, self.clock.now()).await?;
        store::sync_chunk_positions(self.db, &s.course_id, self.clock.now()).await?;
        Ok(())
    }

    pub async fn reorder_stages(
        &self,
        user: &AuthenticatedUser,
        course_slug: &str,
        ids: Vec<String>,
    ) -> ApiResult<Vec<Stage>> {
        let course = self.teaching().course(user, course_slug).await?;
        let current: Vec<String> = store::stages(self.db, &course.id)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        if !same_members(&current, &ids) {
            return Err(ApiError::invalid(
                "INVALID_ORDER",
                "List every stage of the course exactly once",
            ));
        }
        store::reorder_stages(self.db, &ids, self.clock.now()).await?;
        store::sync_chunk_positions(self.db, &course.id, self.clock.now()).await?;
        Ok(store::stages(self.db, &course.id).await?)
    }

    pub async fn create_lesson(
        &self,
        author: &AuthenticatedUser,
        stage_id: &str,
        input: NewLesson,
    ) -> ApiResult<Lesson> {
        let stage = self.stage(author, stage_id).await?;
        check_slug(&input.slug)?;
        check_title(&input.title)?;
        let exercises = check_exercises(input.exercises)?;
        let existing = store::lessons_of_stage(self.db, stage_id).await?;
        let now = self.clock.now();
        let lesson = Lesson {
            id: common::ids::new_id(),
            stage_id: stage.id.clone(),
            slug: input.slug,
            title: input.title.trim().to_string(),
            body: input.body,
            position: existing.iter().map(|l| l.position).max().unwrap_or(0) + 1,
            author_id: Some(author.id.clone()),
            created_at: now,
            updated_at: now,
        };
        for e in &exercises {
            if store::exercise_by_id(self.db, &e.id).await?.is_some() {
                return Err(taken(e.id.clone()));
            }
        }
        store::insert_lesson(self.db, &lesson)
            .await
            .map_err(conflict_on_unique)?;
        if let Some(id) = store::replace_exercises(self.db, &lesson.id, &exercises, now).await? {
            store::delete_lesson(self.db, &lesson.id, now).await?;
            return Err(taken(id));
        }
        self.reindex(&lesson, &stage).await?;
        Ok(lesson)
    }

    /// The lesson and its stage, if `user` teaches its course.
    async fn lesson(&self, user: &AuthenticatedUser, id: &str) -> ApiResult<(Lesson, Stage)> {
        let l = store::lesson_by_id(self.db, id)
            .await?
            .ok_or_else(|| ApiError::not_found("LESSON_NOT_FOUND", "No such lesson"))?;
        let s = self.stage(user, &l.stage_id).await?;
        Ok((l, s))
    }

    pub async fn update_lesson(
        &self,
        author: &AuthenticatedUser,
        id: &str,
        patch: LessonPatch,
    ) -> ApiResult<Lesson> {
        let (mut l, stage) = self.lesson(author, id).await?;
        if let Some(slug) = patch.slug {
            check_slug(&slug)?;
            l.slug = slug;
        }
        if let Some(title) = patch.title {
            check_title(&title)?;
            l.title = title.trim().to_string();
        }
        if let Some(body) = patch.body {
            l.body = body;
        }
        if let Some(raw) = patch.exercises {
            let ex = check_exercises(raw)?;
            if let Some(id) =
                store::replace_exercises(self.db, &l.id, &ex, self.clock.now()).await?
            {
                return Err(taken(id));
            }
        }
        l.author_id = Some(author.id.clone());
        l.updated_at = self.clock.now();
        store::update_lesson(self.db, &l)
            .await
            .map_err(conflict_on_unique)?;
        self.reindex(&l, &stage).await?;
        Ok(l)
    }

    pub async fn delete_lesson(&self, user: &AuthenticatedUser, id: &str) -> ApiResult<()> {
        let (l, _) = self.lesson(user, id).await?;
        // Chunks go with the lesson (foreign key cascade).
        store::delete_lesson(self.db, &l.id, self.clock.now()).await?;
        let remaining: Vec<String> = store::lessons_of_stage(self.db, &l.stage_id)
            .await?
            .into_iter()
            .map(|l| l.id)
            .collect();
        store::reorder_lessons(self.db, &remaining, self.clock.now()).await?;
        Ok(())
    }

    pub async fn reorder_lessons(
        &self,
        user: &AuthenticatedUser,
        stage_id: &str,
        ids: Vec<String>,
    ) -> ApiResult<Vec<Lesson>> {
        self.stage(user, stage_id).await?;
        let current: Vec<String> = store::lessons_of_stage(self.db, stage_id)
            .await?
            .into_iter()
            .map(|l| l.id)
            .collect();
        if !same_members(&current, &ids) {
            return Err(ApiError::invalid(
                "INVALID_ORDER",
                "List every lesson of the stage exactly once",
            ));
        }
        store::reorder_lessons(self.db, &ids, self.clock.now()).await?;
        Ok(store::lessons_of_stage(self.db, stage_id).await?)
    }

    pub async fn source(&self, user: &AuthenticatedUser, id: &str) -> ApiResult<LessonSource> {
        let (l, _) = self.lesson(user, id).await?;
        let chunks = store::chunk_count(self.db, &l.id).await?;
        Ok(LessonSource {
            exercises: store::exercises_of_lesson(self.db, &l.id).await?,
            id: l.id,
            stage_id: l.stage_id,
            slug: l.slug,
            title: l.title,
            body: l.body,
            position: l.position,
            chunks,
        })
    }

    /// Re-chunks a lesson for retrieval.
    pub async fn reindex(&self, lesson: &Lesson, stage: &Stage) -> ApiResult<()> {
        reindex(self.db, lesson, stage, self.clock.now()).await
    }
}

pub async fn reindex(
    db: &Db,
    lesson: &Lesson,
    stage: &Stage,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    let rows: Vec<ChunkRow> = tutor::retrieval::chunk::chunk_markdown(&lesson.title, &lesson.body)
        .into_iter()
        .map(|c| ChunkRow {
            heading_path: c.heading_path.join(" › "),
            anchor: c.anchor,
            text: c.text,
        })
        .collect();
    store::replace_chunks(db, &lesson.id, &stage.course_id, stage.position, &rows, now).await?;
    Ok(())
}
