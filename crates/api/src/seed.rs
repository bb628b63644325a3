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
        insert_doc(db, clock, doc, true).await?;
        imported.push(doc.slug.clone());
    }
    Ok(imported)
}

/// Writes one course read from files, with its stages, lessons, exercises
/// and retrieval chunks. Refuses before writing anything when an exercise
/// id is already in use.
pub async fn insert_doc(
    db: &Db,
    clock: &SharedClock,
    doc: &CourseDoc,
    published: bool,
) -> ApiResult<Course> {
    for s in &doc.stages {
        for l in &s.lessons {
            for e in &l.exercises {
                if store::exercise_by_id(db, &e.id).await?.is_some() {
                    return Err(ApiError::conflict(
                        "EXERCISE_ID_TAKEN",
                        format!(
                            "{}/{}/{}: exercise `{}` has the id of an exercise already in the database; exercise ids must be unique",
                            doc.slug, s.slug, l.slug, e.id
                        ),
                    ));
                }
            }
        }
    }
    let now = clock.now();
    let course = Course {
        id: common::ids::new_id(),
        slug: doc.slug.clone(),
        title: doc.title.clone(),
        summary: doc.summary.clone(),
        created_at: now,
        updated_at: now,
        published,
    };
    store::insert_course(db, &course).await?;
    // A failure part-way removes the course again (stages, lessons and
    // exercises go with it), so nothing half-written stays.
    if let Err(e) = insert_parts(db, &course, doc, now).await {
        if let Err(cleanup) = store::delete_course(db, &course.id).await {
            tracing::error!(error = %cleanup, "removing a half-imported course failed");
        }
        return Err(e);
    }
    Ok(course)
}

async fn insert_parts(
    db: &Db,
    course: &Course,
    doc: &CourseDoc,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
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
                position: li as i64 + 1,
                author_id: None,
                created_at: now,
                updated_at: now,
            };
            store::insert_lesson(db, &lesson).await?;
            if let Some(taken) =
                store::replace_exercises(db, &lesson.id, &ldoc.exercises, now).await?
            {
                return Err(ApiError::conflict(
                    "EXERCISE_ID_TAKEN",
                    format!(
                        "{}/{}: exercise `{taken}` has the same id as an exercise already in the database; exercise ids must be unique",
                        sdoc.slug, ldoc.slug
                    ),
                ));
            }
            authoring::reindex(db, &lesson, &stage, now).await?;
        }
    }
    Ok(())
}

/// Loads the sample course shipped in the binary, if it is not there yet.
pub async fn sample(db: &Db, clock: &SharedClock) -> ApiResult<Vec<String>> {
    // A bad file in the shipped course names itself, like any other.
    let docs = crate::content::loader::embedded()
        .map_err(|e| ApiError::invalid("INVALID_CONTENT", e.to_string()))?;
    import(db, clock, &docs).await
}
