//! The one place where auth errors become HTTP responses: `{message, code}`
//! with the status Better-Auth uses. Internal details are logged, never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{AuthError, Kind};

fn status(kind: Kind) -> StatusCode {
    match kind {
        Kind::Invalid => StatusCode::BAD_REQUEST,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::Locked => StatusCode::LOCKED,
        Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Kind::Unsupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Kind::Server => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        match self {
            AuthError::Coded {
                kind,
                code,
                message,
            } => (
                status(kind),
                Json(json!({"message": message, "code": code})),
            )
                .into_response(),
            AuthError::WeakPassword(v) => (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": v.message(), "code": v.code(), "failedRules": v.0})),
            )
                .into_response(),
            AuthError::Locked { until, now } => {
                let secs = (until - now).num_seconds().max(1);
                let minutes = (secs + 59) / 60;
                let mut res = (
                    StatusCode::LOCKED,
                    Json(json!({
                        "message": format!("Too many failed sign-in attempts. Try again in {minutes} minute{}.", if minutes == 1 { "" } else { "s" }),
                        "code": "ACCOUNT_LOCKED",
                        "lockedUntil": common::clock::to_iso(&until),
                        "retryAfter": secs,
                    })),
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res
            }
            AuthError::RateLimited { retry_after_secs } => {
                let mut res = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({"message": "Too many requests. Please try again later."})),
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    res.headers_mut().insert("x-retry-after", v.clone());
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res
            }
            AuthError::OAuth {
                kind,
                error,
                description,
            } => {
                let mut res = (
                    status(kind),
                    Json(json!({"error": error, "error_description": description})),
                )
                    .into_response();
                let h = res.headers_mut();
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                match error {
                    "invalid_client" => {
                        h.insert(
                            header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Basic realm=\"oauth\""),
                        );
                    }
                    "invalid_token" | "insufficient_scope" => {
                        if let Ok(v) = HeaderValue::from_str(&format!("Bearer error=\"{error}\"")) {
                            h.insert(header::WWW_AUTHENTICATE, v);
                        }
                    }
                    _ => {}
                }
                res
            }
            AuthError::Message { kind, message } => {
                (status(kind), Json(json!({ "message": message }))).into_response()
            }
            AuthError::NoFields => (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": "No fields to update"})),
            )
                .into_response(),
            AuthError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                Json(json!({"message": "Unauthorized", "code": "UNAUTHORIZED"})),
            )
                .into_response(),
            AuthError::Db(err) => {
                tracing::error!(error = %err, "database error in auth");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
            AuthError::Internal(err) => {
                tracing::error!(error = %err, "internal error in auth");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// An error raised outside the auth routes — the body limit, the request
/// timeout, the input guard, an extractor's rejection — in Better-Auth's
/// `{message, code}` shape.
pub fn plain_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"message": message, "code": code}))).into_response()
}

/// The same for the OAuth 2 endpoints, in RFC 6749's shape.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut res = (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
