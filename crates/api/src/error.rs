//! The api role's errors, turned into `{error: {code, message}}` responses in
//! one place. Internal details are logged, never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No usable bearer token.
    #[error("{message}")]
    Unauthenticated {
        message: String,
        invalid_token: bool,
    },
    #[error("{code}: {message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{code}: {message}")]
    NotFound { code: &'static str, message: String },
    #[error("{code}: {message}")]
    Conflict { code: &'static str, message: String },
    #[error("{code}: {message}")]
    Invalid { code: &'static str, message: String },
    #[error("{code}: {message}")]
    BadRequest { code: &'static str, message: String },
    /// The body is over the size limit.
    #[error("the body is too large")]
    TooLarge,
    /// A dependency (the key source) cannot be reached and nothing is cached.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_secs: u64,
    },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            message: message.into(),
        }
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::NotFound {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<auth::AuthError> for ApiError {
    fn from(e: auth::AuthError) -> Self {
        match e {
            auth::AuthError::Coded { code, message, .. } => ApiError::Invalid { code, message },
            auth::AuthError::Db(e) => ApiError::Db(e),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

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
                body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    "Something went wrong on our side",
                )
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error in api");
                body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    "Something went wrong on our side",
                )
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
