//! The `/api/v1` routes and their OpenAPI document.

pub mod admin;
pub mod authoring;
pub mod body;
pub mod chat;
pub mod courses;
pub mod error;
pub mod exercises;
pub mod extract;
pub mod teaching;

use axum::Json;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::ApiState;
use crate::error::ApiError;

/// A file to download: its type, the name browsers save it under, the body.
pub(crate) fn download(
    content_type: &'static str,
    filename: &str,
    body: impl IntoResponse,
) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "IntelliStack learning API", description = "Courses, lessons, authoring and administration. Errors are `{error: {code, message}}`."),
    paths(
        courses::me, courses::list, courses::enrol, courses::leave, courses::outline, courses::lesson, courses::complete,
        exercises::attempt, exercises::attempts, exercises::mine,
        authoring::create_stage, authoring::reorder_stages, authoring::update_stage, authoring::delete_stage,
        authoring::create_lesson, authoring::reorder_lessons, authoring::source, authoring::update_lesson, authoring::delete_lesson,
        teaching::mine, teaching::create, teaching::update, teaching::staff, teaching::add_staff, teaching::remove_staff,
        teaching::preview, teaching::insight, teaching::flagged, teaching::thread, teaching::export, teaching::import,
        admin::set_role, admin::events, admin::export, admin::usage, admin::cleanup,
        chat::chatkit,
    ),
    modifiers(&BearerAuth, &CommonErrors),
)]
pub struct ApiDoc;

/// The errors any route can answer, whatever it does, added to every
/// operation in the shape every `/api/v1` error has.
struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

        let detail = ObjectBuilder::new()
            .property("code", ObjectBuilder::new().schema_type(Type::String))
            .property("message", ObjectBuilder::new().schema_type(Type::String))
            .required("code")
            .required("message");
        let error = ObjectBuilder::new()
            .property("error", detail)
            .required("error")
            .description(Some("Every `/api/v1` error: `{error: {code, message}}`"));
        openapi
            .components
            .get_or_insert_with(Default::default)
            .schemas
            .insert("Error".into(), RefOr::T(error.build().into()));

        let response = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Error")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                let has_body = op.request_body.is_some();
                let r = &mut op.responses.responses;
                let bad = if has_body {
                    "MALFORMED_JSON or UNSUPPORTED_MEDIA_TYPE (the body), BAD_REQUEST (a malformed path or query value), INVALID_CHARACTERS (NUL or another control character in the path, query or body), INVALID_ENCODING (malformed percent-encoding)"
                } else {
                    "BAD_REQUEST (a malformed path or query value), INVALID_CHARACTERS (NUL or another control character in the path or query), INVALID_ENCODING (malformed percent-encoding)"
                };
                match r.get_mut("400") {
                    Some(RefOr::T(existing)) => {
                        existing.description = format!("{}; {bad}", existing.description);
                    }
                    _ => {
                        r.insert("400".into(), response(bad));
                    }
                }
                if r.contains_key("401") {
                    match r.get_mut("403") {
                        Some(RefOr::T(existing)) => {
                            existing.description = format!(
                                "{}; BANNED_USER: the account is suspended",
                                existing.description
                            );
                        }
                        _ => {
                            r.insert(
                                "403".into(),
                                response("BANNED_USER: the account is suspended"),
                            );
                        }
                    }
                }
                r.entry("408".into()).or_insert_with(|| {
                    response("REQUEST_TIMEOUT: the request took longer than REQUEST_TIMEOUT_SECS")
                });
                if has_body {
                    r.entry("413".into()).or_insert_with(|| {
                        response("PAYLOAD_TOO_LARGE: the body is over BODY_LIMIT_BYTES")
                    });
                }
            }
        }
    }
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

pub fn router(state: ApiState) -> Router {
    let v1 = Router::new()
        .route("/me", get(courses::me))
        .route("/courses", get(courses::list).post(teaching::create))
        .route("/courses/import", post(teaching::import))
        .route("/courses/{course}", get(courses::outline).patch(teaching::update))
        .route("/courses/{course}/staff", get(teaching::staff).post(teaching::add_staff))
        .route("/courses/{course}/staff/{user}", delete(teaching::remove_staff))
        .route("/courses/{course}/insight", get(teaching::insight))
        .route("/courses/{course}/export", get(teaching::export))
        .route("/teaching/courses", get(teaching::mine))
        .route("/preview", post(teaching::preview))
        .route("/flagged-threads", get(teaching::flagged))
        .route("/student-threads/{id}", get(teaching::thread))
        .route("/courses/{course}/enrol", post(courses::enrol))
        .route("/courses/{course}/leave", post(courses::leave))
        .route("/courses/{course}/lessons/{stage}/{lesson}", get(courses::lesson))
        .route("/courses/{course}/lessons/{stage}/{lesson}/complete", post(courses::complete))
        .route("/courses/{course}/attempts", get(exercises::mine))
        .route("/exercises/{id}/attempts", post(exercises::attempt).get(exercises::attempts))
        .route("/courses/{course}/stages", post(authoring::create_stage))
        .route("/courses/{course}/stages/order", post(authoring::reorder_stages))
        .route("/stages/{id}", patch(authoring::update_stage).delete(authoring::delete_stage))
        .route("/stages/{id}/lessons", post(authoring::create_lesson))
        .route("/stages/{id}/lessons/order", post(authoring::reorder_lessons))
        .route("/lessons/{id}", patch(authoring::update_lesson).delete(authoring::delete_lesson))
        .route("/lessons/{id}/source", get(authoring::source))
        .route("/admin/users/{id}/role", post(admin::set_role))
        .route("/admin/auth-events", get(admin::events))
        .route("/admin/auth-events/export", get(admin::export))
        .route("/admin/ai-usage", get(admin::usage))
        .route("/admin/chatkit/cleanup", delete(admin::cleanup))
        .route("/chatkit", post(chat::chatkit))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { ApiError::not_found("NOT_FOUND", "No such endpoint") })
        .method_not_allowed_fallback(|| async {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                Json(serde_json::json!({"error": {"code": "METHOD_NOT_ALLOWED", "message": "Method not allowed"}})),
            )
        })
        .with_state(state);
    Router::new().nest("/api/v1", v1)
}
