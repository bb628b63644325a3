//! Loads courses into the database: the embedded sample course at start-up,
//! or a folder with `intellistack content import`. Courses already present
//! (by slug) are left alone, so authored edits survive restarts.

use common::{Db, SharedClock};

use crate::authoring;
use crate::content::loader::CourseDoc;
use crate::content::store::{self, Course, Lesson, Stage};
use crate::error::{ApiError, ApiResult};

/// Imports the courses not yet in the database. Returns the slugs imported.
pub async fn import(db: &Db, clock: &SharedClock, courses: &[CourseDoc]) -> ApiResult<Vec<String>> {
    let mut imported = Vec::new();
    for doc in courses {
        if store::course_by_slug(db, &doc.slug).await?.is_some() {
            continue;
        }
        let now = clock.now();
        let course = Course {
            id: common::ids::new_id(),
            slug: doc.slug.clone(),
            title: doc.title.clone(),
            summary: doc.summary.clone(),
            created_at: now,
            updated_at: now,
        };
        store::insert_course(db, &course).await?;
        for (si, sdoc) in doc.stages.iter().enumerate() {
            let stage = Stage {
                id: common::ids::new_id(),
                course_id: course.id.clone(),
                slug: sdoc.slug.clone(),
                position: si as i64 + 1,
                title: sdoc.title.clone(),
                summary: sdoc.summary.clone(),
                created_at: now,
                updated_at: now,
            };
            store::insert_stage(db, &stage).await?;
            for (li, ldoc) in sdoc.lessons.iter().enumerate() {
                let lesson = Lesson {
                    id: common::ids::new_id(),
                    stage_id: stage.id.clone(),
                    slug: ldoc.slug.clone(),
                    title: ldoc.title.clone(),
                    body: ldoc.body.clone(),
                    exercises: serde_json::to_string(&ldoc.exercises)
                        .map_err(ApiError::internal)?,
                    position: li as i64 + 1,
                    author_id: None,
                    created_at: now,
                    updated_at: now,
                };
                store::insert_lesson(db, &lesson).await?;
                authoring::reindex(db, &lesson, &stage, now).await?;
            }
        }
        imported.push(doc.slug.clone());
    }
    Ok(imported)
}

/// Loads the sample course shipped in the binary, if it is not there yet.
pub async fn sample(db: &Db, clock: &SharedClock) -> ApiResult<Vec<String>> {
    let docs = crate::content::loader::embedded().map_err(ApiError::internal)?;
    import(db, clock, &docs).await
}
