//! Course staff routes: the courses one teaches, creating and publishing a
//! course, its instructors, the server-rendered preview, class insight,
//! flagged threads, students' threads (read-only), export and import.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::caller::AuthenticatedUser;
use crate::content::render::{Heading, render};
use crate::course_files::CourseFiles;
use crate::error::ApiResult;
use crate::http::body::Body;
use crate::http::download;
use crate::http::extract::{RequireRole, Staff};
use crate::insight::{FlaggedThread, Insight, ThreadTranscript};
use crate::teaching::{CoursePatch, CourseView, NewCourse, StaffInput, StaffMember};

#[utoipa::path(get, path = "/api/v1/teaching/courses", tag = "teaching",
    responses((status = 200, body = Vec<CourseView>, description = "The courses the caller teaches (every course for admins)"),
        (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE")),
    security(("bearer" = [])))]
pub async fn mine(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
) -> ApiResult<Json<Vec<CourseView>>> {
    let list = s.teaching().courses(&user).await?;
    Ok(Json(list.iter().map(CourseView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/courses", tag = "teaching", request_body = NewCourse,
    responses((status = 201, body = CourseView, description = "A draft course; the caller is its instructor"),
        (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE"),
        (status = 409, description = "SLUG_TAKEN"), (status = 422, description = "INVALID_SLUG, INVALID_TITLE")),
    security(("bearer" = [])))]
pub async fn create(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Body(input): Body<NewCourse>,
) -> ApiResult<(StatusCode, Json<CourseView>)> {
    let c = s.teaching().create_course(&user, input).await?;
    Ok((StatusCode::CREATED, Json(CourseView::from(&c))))
}

#[utoipa::path(patch, path = "/api/v1/courses/{course}", tag = "teaching", request_body = CoursePatch,
    params(("course" = String, Path, description = "Course slug")),
    responses((status = 200, body = CourseView), (status = 401, description = "No or invalid token"),
        (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF"), (status = 404, description = "COURSE_NOT_FOUND"),
        (status = 422, description = "INVALID_TITLE")),
    security(("bearer" = [])))]
pub async fn update(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(course): Path<String>,
    Body(patch): Body<CoursePatch>,
) -> ApiResult<Json<CourseView>> {
    let c = s.teaching().update_course(&user, &course, patch).await?;
    Ok(Json(CourseView::from(&c)))
}

#[utoipa::path(get, path = "/api/v1/courses/{course}/staff", tag = "teaching",
    params(("course" = String, Path, description = "Course slug")),
    responses((status = 200, body = Vec<StaffMember>), (status = 401, description = "No or invalid token"),
        (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF"), (status = 404, description = "COURSE_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn staff(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(course): Path<String>,
) -> ApiResult<Json<Vec<StaffMember>>> {
    Ok(Json(s.teaching().staff(&user, &course).await?))
}

#[utoipa::path(post, path = "/api/v1/courses/{course}/staff", tag = "teaching", request_body = StaffInput,
    params(("course" = String, Path, description = "Course slug")),
    responses((status = 201, body = StaffMember), (status = 401, description = "No or invalid token"),
        (status = 403, description = "FORBIDDEN_ROLE (admins only)"), (status = 404, description = "COURSE_NOT_FOUND, USER_NOT_FOUND"),
        (status = 422, description = "NOT_AN_INSTRUCTOR")),
    security(("bearer" = [])))]
pub async fn add_staff(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(course): Path<String>,
    Body(input): Body<StaffInput>,
) -> ApiResult<(StatusCode, Json<StaffMember>)> {
    let m = s.teaching().add_staff(&user, &course, &input.email).await?;
    Ok((StatusCode::CREATED, Json(m)))
}

#[utoipa::path(delete, path = "/api/v1/courses/{course}/staff/{user}", tag = "teaching",
    params(("course" = String, Path, description = "Course slug"), ("user" = String, Path, description = "User id")),
    responses((status = 204, description = "Removed"), (status = 401, description = "No or invalid token"),
        (status = 403, description = "FORBIDDEN_ROLE (admins only)"), (status = 404, description = "COURSE_NOT_FOUND, STAFF_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn remove_staff(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path((course, member)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.teaching().remove_staff(&user, &course, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PreviewInput {
    pub body: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub html: String,
    pub headings: Vec<Heading>,
}

#[utoipa::path(post, path = "/api/v1/preview", tag = "teaching", request_body = PreviewInput,
    responses((status = 200, body = Preview, description = "The Markdown rendered exactly as a published lesson is"),
        (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE")),
    security(("bearer" = [])))]
pub async fn preview(
    _: RequireRole<Staff>,
    Body(input): Body<PreviewInput>,
) -> ApiResult<Json<Preview>> {
    let r = render(&input.body);
    Ok(Json(Preview {
        html: r.html,
        headings: r.headings,
    }))
}

#[utoipa::path(get, path = "/api/v1/courses/{course}/insight", tag = "teaching",
    params(("course" = String, Path, description = "Course slug")),
    responses((status = 200, body = Insight), (status = 401, description = "No or invalid token"),
        (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF"), (status = 404, description = "COURSE_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn insight(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(course): Path<String>,
) -> ApiResult<Json<Insight>> {
    Ok(Json(s.insights().course(&user, &course).await?))
}

#[utoipa::path(get, path = "/api/v1/flagged-threads", tag = "teaching",
    responses((status = 200, body = Vec<FlaggedThread>, description = "Every course's for admins, their courses' for instructors"),
        (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE")),
    security(("bearer" = [])))]
pub async fn flagged(
    State(s): State<ApiState>,
    user: AuthenticatedUser,
) -> ApiResult<Json<Vec<FlaggedThread>>> {
    Ok(Json(s.insights().flagged(&user).await?))
}

#[utoipa::path(get, path = "/api/v1/student-threads/{id}", tag = "teaching",
    params(("id" = String, Path, description = "Thread id")),
    responses((status = 200, body = ThreadTranscript, description = "Read-only"), (status = 401, description = "No or invalid token"),
        (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF, NOT_ENROLLED (the student left the course)"), (status = 404, description = "THREAD_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn thread(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(id): Path<String>,
) -> ApiResult<Json<ThreadTranscript>> {
    Ok(Json(s.insights().thread(&user, &id).await?))
}

fn files(s: &ApiState) -> CourseFiles<'_> {
    CourseFiles {
        db: &s.db,
        clock: &s.clock,
    }
}

#[utoipa::path(get, path = "/api/v1/courses/{course}/export", tag = "teaching",
    params(("course" = String, Path, description = "Course slug")),
    responses((status = 200, description = "application/zip: the course folder in the format of content/"), (status = 401, description = "No or invalid token"),
        (status = 403, description = "FORBIDDEN_ROLE, NOT_COURSE_STAFF"), (status = 404, description = "COURSE_NOT_FOUND")),
    security(("bearer" = [])))]
pub async fn export(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    Path(course): Path<String>,
) -> ApiResult<Response> {
    let bytes = files(&s).export(&user, &course).await?;
    Ok(course_zip_download(&course, bytes))
}

/// A course's exported folder as a `{slug}.zip` download; the teaching
/// pages offer the same file.
pub fn course_zip_download(slug: &str, zip: Vec<u8>) -> Response {
    download("application/zip", &format!("{slug}.zip"), zip)
}

#[utoipa::path(post, path = "/api/v1/courses/import", tag = "teaching",
    request_body(content = Vec<u8>, content_type = "application/zip", description = "A .zip of one course folder"),
    responses((status = 201, body = CourseView, description = "Imported as a draft; the caller is its instructor"),
        (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE"),
        (status = 409, description = "SLUG_TAKEN, EXERCISE_ID_TAKEN"), (status = 422, description = "INVALID_ARCHIVE, INVALID_CONTENT (names the file and what is wrong)")),
    security(("bearer" = [])))]
pub async fn import(
    State(s): State<ApiState>,
    RequireRole(user, _): RequireRole<Staff>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<CourseView>)> {
    let c = files(&s).import(&user, &body).await?;
    Ok((StatusCode::CREATED, Json(CourseView::from(&c))))
}
