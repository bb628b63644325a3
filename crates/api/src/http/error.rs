//! The one place where api errors become `{error: {code, message}}`
//! responses. Internal details are logged, never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;

/// An error in the `/api/v1` shape. Also used for errors raised outside the
/// api routes (body limit, timeout, the input guard).
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    body(status, code, message)
}

fn body(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Unauthenticated {
                message,
                invalid_token,
            } => {
                let mut res = body(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &message);
                let challenge = if invalid_token {
                    r#"Bearer realm="intellistack", error="invalid_token""#
                } else {
                    r#"Bearer realm="intellistack""#
                };
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
                res
            }
            ApiError::Forbidden { code, message } => body(StatusCode::FORBIDDEN, code, &message),
            ApiError::StageLocked { message } => {
                body(StatusCode::FORBIDDEN, "STAGE_LOCKED", &message)
            }
            ApiError::NotFound { code, message } => body(StatusCode::NOT_FOUND, code, &message),
            ApiError::Conflict { code, message } => body(StatusCode::CONFLICT, code, &message),
            ApiError::Invalid { code, message } => {
                body(StatusCode::UNPROCESSABLE_ENTITY, code, &message)
            }
            ApiError::BadRequest { code, message } => body(StatusCode::BAD_REQUEST, code, &message),
            ApiError::TooLarge => body(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "The request body is larger than this server accepts",
            ),
            ApiError::Unavailable {
                message,
                retry_after_secs,
            } => {
                let mut res = body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    &message,
                );
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res
            }
            ApiError::Db(e) => {
                tracing::error!(error = %e, "database error in api");
                internal()
            }
            ApiError::Auth(e) => auth_error(e),
            ApiError::Internal { context, source } => {
                tracing::error!(error = %source, context, "internal error in api");
                internal()
            }
        }
    }
}

fn internal() -> Response {
    body(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "Something went wrong on our side",
    )
}

/// An identity-service failure in the `/api/v1` shape, by its kind; a
/// validation failure is 422 here as every `/api/v1` one is.
fn auth_error(e: auth::AuthError) -> Response {
    use auth::error::Kind;
    let status = match e.kind() {
        Kind::Invalid | Kind::Unprocessable | Kind::Unsupported => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Locked => StatusCode::LOCKED,
        Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Kind::Server => {
            tracing::error!(error = %e, "identity service failed in api");
            return internal();
        }
    };
    body(
        status,
        e.code().unwrap_or("AUTH_ERROR"),
        &e.public_message(),
    )
}
