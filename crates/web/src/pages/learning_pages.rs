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
        let outline = if summary.enrolled {
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
            _ => None,
        },
        courses,
        retention_days: api::admin::RETENTION_DAYS,
    })
}

/// Finds a lesson by its stage and lesson slugs in whichever course has them.
async fn find_lesson(
    state: &WebState,
    v: &Viewer,
    stage: &str,
    lesson: &str,
) -> Result<api::learning::LessonView, WebError> {
    let user = v.as_api_user();
    Ok(state
        .api
        .learning()
        .lesson_by_slugs(&user, stage, lesson)
        .await?)
}

#[derive(Template)]
#[template(path = "lesson.html")]
struct LessonPage {
    chrome: Chrome,
    lesson: api::learning::LessonView,
    daily_limit: u32,
    is_student: bool,
}

pub async fn lesson(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((stage, lesson)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let v = require(&state, &headers, &format!("/learn/{stage}/{lesson}")).await?;
    let view = find_lesson(&state, &v, &stage, &lesson).await?;
    render(&LessonPage {
        chrome: Chrome::of(Some(&v)),
        is_student: !v.is_staff(),
        daily_limit: state.api.chat_daily_limit,
        lesson: view,
    })
}

#[derive(Template)]
#[template(path = "editor.html")]
struct EditorPage {
    chrome: Chrome,
    lesson: api::learning::LessonView,
    source: api::authoring::LessonSource,
}

pub async fn editor(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((stage, lesson)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let v = require(&state, &headers, &format!("/author/{stage}/{lesson}")).await?;
    // Checked on every load, so a role change shows at once.
    if !v.is_staff() {
        return Err(WebError::StaffOnly);
    }
    let view = find_lesson(&state, &v, &stage, &lesson).await?;
    let source = state.api.authoring().source(&view.id).await?;
    render(&EditorPage {
        chrome: Chrome::of(Some(&v)),
        lesson: view,
        source,
    })
}
