//! Instructor routes: stages and lessons.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::ApiState;
use crate::authoring::{LessonPatch, LessonSource, NewLesson, NewStage, StagePatch, StageView};
use crate::error::ApiResult;
use crate::extract::{RequireRole, Staff};
use crate::http::body::Body;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Order {
    pub ids: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/courses/{course}/stages", tag = "authoring", request_body = NewStage,
    params(("course" = String, Path)),
    responses((status = 201, body = StageView), (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF (not an instructor of this course)"),
        (status = 404, description = "COURSE_NOT_FOUND"), (status = 409, description = "SLUG_TAKEN"), (status = 422, description = "INVALID_SLUG, INVALID_TITLE, VALIDATION_ERROR")),
    security(("bearer" = [])))]
pub async fn create_stage(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(course): Path<String>,
    Body(input): Body<NewStage>,
) -> ApiResult<(StatusCode, Json<StageView>)> {
    let stage = s.authoring().create_stage(&user, &course, input).await?;
    Ok((StatusCode::CREATED, Json(StageView::from(&stage))))
}

#[utoipa::path(post, path = "/api/v1/courses/{course}/stages/order", tag = "authoring", request_body = Order,
    params(("course" = String, Path)),
    responses((status = 200, body = Vec<StageView>), (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF (not an instructor of this course)"),
        (status = 404, description = "COURSE_NOT_FOUND"), (status = 422, description = "INVALID_ORDER")),
    security(("bearer" = [])))]
pub async fn reorder_stages(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(course): Path<String>,
    Body(order): Body<Order>,
) -> ApiResult<Json<Vec<StageView>>> {
    let stages = s
        .authoring()
        .reorder_stages(&user, &course, order.ids)
        .await?;
    Ok(Json(stages.iter().map(StageView::from).collect()))
}

#[utoipa::path(patch, path = "/api/v1/stages/{id}", tag = "authoring", request_body = StagePatch,
    params(("id" = String, Path)),
    responses((status = 200, body = StageView), (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF (not an instructor of this course)"),
        (status = 404, description = "STAGE_NOT_FOUND"), (status = 409, description = "SLUG_TAKEN"), (status = 422, description = "INVALID_SLUG, INVALID_TITLE")),
    security(("bearer" = [])))]
pub async fn update_stage(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(id): Path<String>,
    Body(patch): Body<StagePatch>,
) -> ApiResult<Json<StageView>> {
    Ok(Json(StageView::from(
        &s.authoring().update_stage(&user, &id, patch).await?,
    )))
}

#[utoipa::path(delete, path = "/api/v1/stages/{id}", tag = "authoring",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted with its lessons"), (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF (not an instructor of this course)"), (status = 404, description = "STAGE_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn delete_stage(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.authoring().delete_stage(&user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/stages/{id}/lessons", tag = "authoring", request_body = NewLesson,
    params(("id" = String, Path, description = "Stage id")),
    responses((status = 201, body = LessonSource), (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF (not an instructor of this course)"),
        (status = 404, description = "STAGE_NOT_FOUND"), (status = 409, description = "SLUG_TAKEN or EXERCISE_ID_TAKEN"), (status = 422, description = "INVALID_SLUG, INVALID_TITLE, INVALID_EXERCISE (names the exercise and what is wrong)")),
    security(("bearer" = [])))]
pub async fn create_lesson(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(id): Path<String>,
    Body(input): Body<NewLesson>,
) -> ApiResult<(StatusCode, Json<LessonSource>)> {
    let a = s.authoring();
    let lesson = a.create_lesson(&user, &id, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(a.source(&user, &lesson.id).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/stages/{id}/lessons/order", tag = "authoring", request_body = Order,
    params(("id" = String, Path, description = "Stage id")),
    responses((status = 200, description = "New order"), (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF (not an instructor of this course)"),
        (status = 404, description = "STAGE_NOT_FOUND"), (status = 422, description = "INVALID_ORDER")),
    security(("bearer" = [])))]
pub async fn reorder_lessons(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(id): Path<String>,
    Body(order): Body<Order>,
) -> ApiResult<Json<Vec<String>>> {
    let lessons = s.authoring().reorder_lessons(&user, &id, order.ids).await?;
    Ok(Json(lessons.into_iter().map(|l| l.id).collect()))
}

#[utoipa::path(get, path = "/api/v1/lessons/{id}/source", tag = "authoring",
    params(("id" = String, Path)),
    responses((status = 200, body = LessonSource), (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF (not an instructor of this course)"), (status = 404, description = "LESSON_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn source(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(id): Path<String>,
) -> ApiResult<Json<LessonSource>> {
    Ok(Json(s.authoring().source(&user, &id).await?))
}

#[utoipa::path(patch, path = "/api/v1/lessons/{id}", tag = "authoring", request_body = LessonPatch,
    params(("id" = String, Path)),
    responses((status = 200, body = LessonSource), (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF (not an instructor of this course)"),
        (status = 404, description = "LESSON_NOT_FOUND"), (status = 409, description = "SLUG_TAKEN or EXERCISE_ID_TAKEN"), (status = 422, description = "INVALID_SLUG, INVALID_TITLE, INVALID_EXERCISE (names the exercise and what is wrong)")),
    security(("bearer" = [])))]
pub async fn update_lesson(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(id): Path<String>,
    Body(patch): Body<LessonPatch>,
) -> ApiResult<Json<LessonSource>> {
    let a = s.authoring();
    a.update_lesson(&user, &id, patch).await?;
    Ok(Json(a.source(&user, &id).await?))
}

#[utoipa::path(delete, path = "/api/v1/lessons/{id}", tag = "authoring",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF (not an instructor of this course)"), (status = 404, description = "LESSON_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn delete_lesson(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.authoring().delete_lesson(&user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
