//! The instructor's pages: the courses one teaches, a course's workspace
//! (outline, stages and lessons, publishing, staff, export and import), the
//! lesson editor with the server's preview, class insight, flagged threads
//! and a student's thread, read-only. Every page asks the api crate, which
//! checks that the viewer teaches the course.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Chrome, render};
use crate::WebState;
use crate::charts;
use crate::error::WebError;
use crate::session::{Viewer, require};

async fn staff_viewer(
    state: &WebState,
    headers: &HeaderMap,
    here: &str,
) -> Result<Viewer, WebError> {
    let v = require(state, headers, here).await?;
    // Checked on every load, so a role change shows at once.
    if !v.is_staff() {
        return Err(WebError::StaffOnly);
    }
    Ok(v)
}

struct TaughtCourse {
    course: api::teaching::CourseView,
    stages: usize,
    lessons: usize,
}

#[derive(Template)]
#[template(path = "teach.html")]
struct TeachPage {
    chrome: Chrome,
    courses: Vec<TaughtCourse>,
}

/// `/teach`: the courses the viewer teaches, and creating or importing one.
pub async fn teach(
    State(state): State<WebState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = staff_viewer(&state, &headers, "/teach").await?;
    let user = v.as_api_user();
    let mut courses = Vec::new();
    for c in state.api.teaching().courses(&user).await? {
        let outline = state.api.learning().outline(&user, &c.slug).await?;
        courses.push(TaughtCourse {
            stages: outline.stages.len(),
            lessons: outline.lesson_count,
            course: api::teaching::CourseView::from(&c),
        });
    }
    render(&TeachPage {
        chrome: Chrome::of(Some(&v)),
        courses,
    })
}

#[derive(Template)]
#[template(path = "workspace.html")]
struct WorkspacePage {
    chrome: Chrome,
    course: api::teaching::CourseView,
    outline: api::learning::Outline,
    staff: Vec<api::teaching::StaffMember>,
    is_admin: bool,
}

/// `/teach/{course}`: the outline with every stage and lesson.
pub async fn workspace(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(course): Path<String>,
) -> Result<Response, WebError> {
    let v = staff_viewer(&state, &headers, &format!("/teach/{course}")).await?;
    let user = v.as_api_user();
    let c = state.api.teaching().course(&user, &course).await?;
    let outline = state.api.learning().outline(&user, &course).await?;
    let staff = state.api.teaching().staff(&user, &course).await?;
    render(&WorkspacePage {
        chrome: Chrome::of(Some(&v)),
        is_admin: api::teaching::teaches_all(&user),
        course: api::teaching::CourseView::from(&c),
        outline,
        staff,
    })
}

#[derive(Template)]
#[template(path = "editor.html")]
struct EditorPage {
    chrome: Chrome,
    course: api::teaching::CourseView,
    stage_slug: String,
    stage_title: String,
    source: api::authoring::LessonSource,
    /// The exercises as the front matter writes them (JSON), for the form.
    exercises_json: String,
    preview_html: String,
}

/// `/teach/{course}/lessons/{id}`: the lesson editor.
pub async fn editor(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((course, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let v = staff_viewer(&state, &headers, &format!("/teach/{course}/lessons/{id}")).await?;
    let user = v.as_api_user();
    let c = state.api.teaching().course(&user, &course).await?;
    let source = state.api.authoring().source(&user, &id).await?;
    let outline = state.api.learning().outline(&user, &course).await?;
    // The lesson must belong to the course in the address.
    let stage = outline
        .stages
        .iter()
        .find(|s| s.id == source.stage_id)
        .ok_or(WebError::NotFound)?;
    let exercises_json =
        serde_json::to_string(&source.exercises).map_err(|e| WebError::Internal {
            context: "writing the exercises for the editor",
            source: Box::new(e),
        })?;
    render(&EditorPage {
        chrome: Chrome::of(Some(&v)),
        course: api::teaching::CourseView::from(&c),
        stage_slug: stage.slug.clone(),
        stage_title: stage.title.clone(),
        preview_html: api::content::render::render(&source.body).html,
        exercises_json,
        source,
    })
}

/// `/author/{stage}/{lesson}`, the old editor address: the new editor.
pub async fn old_editor(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((stage, lesson)): Path<(String, String)>,
) -> Result<Response, WebError> {
    staff_viewer(&state, &headers, &format!("/author/{stage}/{lesson}")).await?;
    let (course, id) = state
        .api
        .learning()
        .locate(&stage, &lesson)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(Redirect::to(&format!("/teach/{course}/lessons/{id}")).into_response())
}

struct ExerciseRow {
    e: api::insight::ExerciseInsight,
    first_try_percent: usize,
}

#[derive(Template)]
#[template(path = "insight.html")]
struct InsightPage {
    chrome: Chrome,
    insight: api::insight::Insight,
    exercises: Vec<ExerciseRow>,
    progress_chart: String,
}

/// `/teach/{course}/insight`: how the class is doing.
pub async fn insight(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(course): Path<String>,
) -> Result<Response, WebError> {
    let v = staff_viewer(&state, &headers, &format!("/teach/{course}/insight")).await?;
    let user = v.as_api_user();
    let mut insight = state.api.insights().course(&user, &course).await?;
    let labels: Vec<String> = insight
        .stages
        .iter()
        .map(|s| format!("{}. {}", s.position, s.title))
        .collect();
    let completed: Vec<f64> = insight.stages.iter().map(|s| s.completed as f64).collect();
    let progress_chart = charts::bars("Students who completed each stage", &labels, &completed, "");
    let mut exercises: Vec<ExerciseRow> = std::mem::take(&mut insight.exercises)
        .into_iter()
        .map(|e| ExerciseRow {
            first_try_percent: (e.first_try * 100).checked_div(e.students).unwrap_or(0),
            e,
        })
        .collect();
    // Where students get stuck first; exercises nobody tried last; then by attempts.
    exercises.sort_by_key(|r| {
        (
            r.e.students == 0,
            r.first_try_percent,
            std::cmp::Reverse(r.e.attempts),
        )
    });
    render(&InsightPage {
        chrome: Chrome::of(Some(&v)),
        insight,
        exercises,
        progress_chart,
    })
}

#[derive(Template)]
#[template(path = "flagged.html")]
struct FlaggedPage {
    chrome: Chrome,
    threads: Vec<api::insight::FlaggedThread>,
}

/// `/teach/flagged`: the flagged threads of the viewer's courses (every
/// course for admins). Students get the 403 page.
pub async fn flagged(
    State(state): State<WebState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = require(&state, &headers, "/teach/flagged").await?;
    if !v.is_staff() {
        return Err(WebError::StaffPage);
    }
    let threads = state.api.insights().flagged(&v.as_api_user()).await?;
    render(&FlaggedPage {
        chrome: Chrome::of(Some(&v)),
        threads,
    })
}

#[derive(Template)]
#[template(path = "thread.html")]
struct ThreadPage {
    chrome: Chrome,
    thread: api::insight::ThreadTranscript,
}

/// `/teach/threads/{id}`: a student's tutor thread, read-only.
pub async fn thread(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let v = require(&state, &headers, &format!("/teach/threads/{id}")).await?;
    if !v.is_staff() {
        return Err(WebError::StaffPage);
    }
    let thread = state.api.insights().thread(&v.as_api_user(), &id).await?;
    render(&ThreadPage {
        chrome: Chrome::of(Some(&v)),
        thread,
    })
}

/// `/teach/{course}/export.zip`: the course folder as a download.
pub async fn export(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(course): Path<String>,
) -> Result<Response, WebError> {
    let v = staff_viewer(&state, &headers, &format!("/teach/{course}")).await?;
    let files = api::course_files::CourseFiles {
        db: &state.api.db,
        clock: &state.api.clock,
    };
    let bytes = files.export(&v.as_api_user(), &course).await?;
    Ok(api::course_zip_download(&course, bytes))
}
