//! Attempts at exercises.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::ApiState;
use crate::caller::AuthenticatedUser;
use crate::error::ApiResult;
use crate::exercises::{AttemptInput, AttemptResult, AttemptView};
use crate::http::body::Body;

#[utoipa::path(post, path = "/api/v1/exercises/{id}/attempts", tag = "learning", request_body = AttemptInput,
    params(("id" = String, Path, description = "Exercise id")),
    responses((status = 201, body = AttemptResult, description = "Checked and stored: right or wrong, with the next hint or the explanation"),
        (status = 400, description = "MALFORMED_JSON"),
        (status = 401, description = "No or invalid token"),
        (status = 403, description = "NOT_ENROLLED or STAGE_LOCKED"),
        (status = 404, description = "EXERCISE_NOT_FOUND"),
        (status = 422, description = "INVALID_ANSWER (an answer that cannot be read: empty, not a number, an unknown unit or option) or VALIDATION_ERROR")),
    security(("bearer" = [])))]
pub async fn attempt(
    State(s): State<ApiState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Body(input): Body<AttemptInput>,
) -> ApiResult<(StatusCode, Json<AttemptResult>)> {
    let result = s.exercises().attempt(&user, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(result)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct AttemptsQuery {
    /// Staff only: whose attempts (default: the caller's).
    user_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/exercises/{id}/attempts", tag = "learning",
    params(("id" = String, Path, description = "Exercise id"), AttemptsQuery),
    responses((status = 200, body = Vec<AttemptView>, description = "Oldest first"),
        (status = 401, description = "No or invalid token"),
        (status = 403, description = "NOT_ENROLLED, STAGE_LOCKED, or FORBIDDEN_ROLE for another student's attempts"),
        (status = 404, description = "EXERCISE_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn attempts(
    State(s): State<ApiState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    Query(q): Query<AttemptsQuery>,
) -> ApiResult<Json<Vec<AttemptView>>> {
    Ok(Json(
        s.exercises()
            .attempts(&user, &id, q.user_id.as_deref())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/courses/{course}/attempts", tag = "learning",
    params(("course" = String, Path, description = "Course slug")),
    responses((status = 200, body = Vec<AttemptView>, description = "The caller's attempts at the course's exercises, oldest first"),
        (status = 401, description = "No or invalid token"),
        (status = 404, description = "COURSE_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn mine(
    State(s): State<ApiState>,
    user: AuthenticatedUser,
    Path(course): Path<String>,
) -> ApiResult<Json<Vec<AttemptView>>> {
    Ok(Json(s.exercises().mine(&user, &course).await?))
}
