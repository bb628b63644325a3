//! Students' routes: catalogue, enrolment, outline, lessons, completion.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::ApiState;
use crate::caller::AuthenticatedUser;
use crate::error::ApiResult;
use crate::learning::{Completion, CourseSummary, LessonView, Outline};

/// The caller as the API sees them.
#[utoipa::path(get, path = "/api/v1/me", tag = "learning",
    responses((status = 200, body = AuthenticatedUser), (status = 401, description = "No or invalid token"), (status = 503, description = "Keys unavailable")),
    security(("bearer" = [])))]
pub async fn me(user: AuthenticatedUser) -> Json<AuthenticatedUser> {
    Json(user)
}

#[utoipa::path(get, path = "/api/v1/courses", tag = "learning",
    responses((status = 200, body = Vec<CourseSummary>), (status = 401, description = "No or invalid token")),
    security(("bearer" = [])))]
pub async fn list(
    State(s): State<ApiState>,
    user: AuthenticatedUser,
) -> ApiResult<Json<Vec<CourseSummary>>> {
    Ok(Json(s.learning().catalogue(&user).await?))
}

#[utoipa::path(post, path = "/api/v1/courses/{course}/enrol", tag = "learning",
    params(("course" = String, Path, description = "Course slug")),
    responses((status = 201, description = "Enrolled"), (status = 200, description = "Already enrolled"), (status = 401, description = "No or invalid token"), (status = 404, description = "COURSE_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn enrol(
    State(s): State<ApiState>,
    user: AuthenticatedUser,
    Path(course): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = s.learning().enrol(&user, &course).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({"enrolled": true, "course": course}))))
}

#[utoipa::path(post, path = "/api/v1/courses/{course}/leave", tag = "learning",
    params(("course" = String, Path, description = "Course slug")),
    responses((status = 200, description = "Not enrolled any more; `threadRetentionDays` says when the course's tutor threads are deleted"),
        (status = 401, description = "No or invalid token"), (status = 404, description = "COURSE_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn leave(
    State(s): State<ApiState>,
    user: AuthenticatedUser,
    Path(course): Path<String>,
) -> ApiResult<Json<Value>> {
    let left = s.learning().leave(&user, &course).await?;
    Ok(Json(json!({
        "enrolled": false,
        "course": course,
        "left": left,
        "threadRetentionDays": crate::admin::RETENTION_DAYS,
    })))
}

#[utoipa::path(get, path = "/api/v1/courses/{course}", tag = "learning",
    params(("course" = String, Path, description = "Course slug")),
    responses((status = 200, body = Outline), (status = 401, description = "No or invalid token"), (status = 404, description = "COURSE_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn outline(
    State(s): State<ApiState>,
    user: AuthenticatedUser,
    Path(course): Path<String>,
) -> ApiResult<Json<Outline>> {
    Ok(Json(s.learning().outline(&user, &course).await?))
}

#[utoipa::path(get, path = "/api/v1/courses/{course}/lessons/{stage}/{lesson}", tag = "learning",
    params(("course" = String, Path), ("stage" = String, Path), ("lesson" = String, Path)),
    responses((status = 200, body = LessonView), (status = 401, description = "No or invalid token"),
        (status = 403, description = "NOT_ENROLLED or STAGE_LOCKED"), (status = 404, description = "COURSE_NOT_FOUND or LESSON_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn lesson(
    State(s): State<ApiState>,
    user: AuthenticatedUser,
    Path((course, stage, lesson)): Path<(String, String, String)>,
) -> ApiResult<Json<LessonView>> {
    Ok(Json(
        s.learning().lesson(&user, &course, &stage, &lesson).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/courses/{course}/lessons/{stage}/{lesson}/complete", tag = "learning",
    params(("course" = String, Path), ("stage" = String, Path), ("lesson" = String, Path)),
    responses((status = 200, body = Completion), (status = 401, description = "No or invalid token"),
        (status = 403, description = "NOT_ENROLLED or STAGE_LOCKED"), (status = 404, description = "LESSON_NOT_FOUND"),
        (status = 409, description = "EXERCISES_PENDING: a lesson with exercises completes when they are answered correctly")),
    security(("bearer" = [])))]
pub async fn complete(
    State(s): State<ApiState>,
    user: AuthenticatedUser,
    Path((course, stage, lesson)): Path<(String, String, String)>,
) -> ApiResult<Json<Completion>> {
    Ok(Json(
        s.learning()
            .complete(&user, &course, &stage, &lesson)
            .await?,
    ))
}
