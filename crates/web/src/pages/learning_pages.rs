//! The dashboard, lesson pages with the chat panel, and the lesson editor.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, render};
use crate::WebState;
use crate::error::WebError;
use crate::session::{Viewer, require};

#[derive(Deserialize)]
pub struct DashboardQuery {
    notice: Option<String>,
}

struct CourseCard {
    summary: api::learning::CourseSummary,
    outline: Option<api::learning::Outline>,
    percent: usize,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    name: String,
    email_verified: bool,
    notice: Option<&'static str>,
    courses: Vec<CourseCard>,
    /// How long a course's tutor threads outlive leaving it.
    retention_days: i64,
}

pub async fn dashboard(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, WebError> {
    let v = require(&state, &headers, "/dashboard").await?;
    let user = v.as_api_user();
    let learning = state.api.learning();
    let mut courses = Vec::new();
    for summary in learning.catalogue(&user).await? {
        let outline = if summary.enrolled || summary.teaching {
            Some(learning.outline(&user, &summary.slug).await?)
        } else {
            None
        };
        let percent = (summary.completed_count * 100)
            .checked_div(summary.lesson_count)
            .unwrap_or(0);
        courses.push(CourseCard {
            summary,
            outline,
            percent,
        });
    }
    render(&DashboardPage {
        chrome: Chrome::of(Some(&v)),
        name: v.user().name.clone(),
        email_verified: v.user().email_verified,
        notice: match q.notice.as_deref() {
            Some("staff-only") => {
                Some("That page is for instructors. Ask an administrator if you need access.")
            }
            Some("left") => Some(
                "You have left the course. Your progress is kept: enrol again to continue where you stopped.",
            ),
            _ => None,
        },
        courses,
        retention_days: api::admin::RETENTION_DAYS,
    })
}

/// Finds a lesson by its stage and lesson slugs in whichever course has them
/// (the older, course-less lesson address).
async fn find_lesson(
    state: &WebState,
    v: &Viewer,
    stage: &str,
    lesson: &str,
) -> Result<api::learning::LessonView, WebError> {
    let user = v.as_api_user();
    let courses = api::content::store::courses(&state.api.db)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    for c in courses {
        match state
            .api
            .learning()
            .lesson(&user, &c.slug, stage, lesson)
            .await
        {
            Ok(view) => return Ok(view),
            Err(api::ApiError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(WebError::NotFound)
}

#[derive(Template)]
#[template(path = "lesson.html")]
struct LessonPage {
    chrome: Chrome,
    lesson: api::learning::LessonView,
    daily_limit: u32,
    is_student: bool,
    /// The viewer teaches this course: the page links to the editor.
    can_edit: bool,
}

async fn lesson_page(
    state: &WebState,
    v: &Viewer,
    view: api::learning::LessonView,
) -> Result<Response, WebError> {
    let user = v.as_api_user();
    let course = api::content::store::course_by_slug(&state.api.db, &view.course_slug)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .ok_or(WebError::NotFound)?;
    let can_edit = state.api.learning().teaches(&user, &course.id).await?;
    render(&LessonPage {
        chrome: Chrome::of(Some(v)),
        is_student: !v.is_staff(),
        daily_limit: state.api.chat_daily_limit,
        can_edit,
        lesson: view,
    })
}

pub async fn lesson(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((stage, lesson)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let v = require(&state, &headers, &format!("/learn/{stage}/{lesson}")).await?;
    let view = find_lesson(&state, &v, &stage, &lesson).await?;
    lesson_page(&state, &v, view).await
}

/// `/learn/{course}/{stage}/{lesson}`: a lesson named with its course, so
/// two courses may use the same stage and lesson slugs.
pub async fn course_lesson(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((course, stage, lesson)): Path<(String, String, String)>,
) -> Result<Response, WebError> {
    let v = require(
        &state,
        &headers,
        &format!("/learn/{course}/{stage}/{lesson}"),
    )
    .await?;
    let view = state
        .api
        .learning()
        .lesson(&v.as_api_user(), &course, &stage, &lesson)
        .await?;
    lesson_page(&state, &v, view).await
}
