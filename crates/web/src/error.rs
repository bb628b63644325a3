//! Page errors, turned into responses in one place: redirects for guards,
//! an error page for the rest. Internal details are logged, never shown.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Anonymous visitor on a protected page; carries the page to come back to.
    #[error("sign-in required")]
    SignInRequired(String),
    /// A student on an instructor page.
    #[error("instructors only")]
    StaffOnly,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// The page's stage is still locked for this student.
    #[error("locked")]
    Locked,
    /// Sessions cannot be read (the identity store is unreachable).
    #[error("sign-in unavailable")]
    SignInUnavailable,
    #[error("internal: {0}")]
    Internal(String),
}

impl From<api::ApiError> for WebError {
    fn from(e: api::ApiError) -> Self {
        let text = e.to_string();
        match e {
            api::ApiError::NotFound { .. } => WebError::NotFound,
            api::ApiError::Forbidden {
                code: "STAGE_LOCKED",
                ..
            } => WebError::Locked,
            api::ApiError::Forbidden { .. } => WebError::Forbidden,
            _ => WebError::Internal(text),
        }
    }
}

impl From<auth::AuthError> for WebError {
    fn from(e: auth::AuthError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(e.to_string())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: crate::pages::Chrome,
    title: &'a str,
    message: &'a str,
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    // Errors are shown without the viewer's details: the layout offers sign-in.
    let body = ErrorPage {
        chrome: crate::pages::Chrome::of(None),
        title,
        message,
    }
    .render()
    .unwrap_or_else(|_| title.to_string());
    (status, Html(body)).into_response()
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignInRequired(next) => (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, format!("/login?next={}", encode(&next)))],
            )
                .into_response(),
            WebError::StaffOnly => (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, "/dashboard?notice=staff-only".to_string())],
            )
                .into_response(),
            WebError::Forbidden => page(
                StatusCode::FORBIDDEN,
                "Not allowed",
                "This page is for administrators. If you need access, ask an administrator to change your role.",
            ),
            WebError::NotFound => page(
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing at this address. Check the link, or go back to your dashboard.",
            ),
            WebError::Locked => page(
                StatusCode::FORBIDDEN,
                "This stage is locked",
                "Complete the lessons of the previous stage to open this one.",
            ),
            WebError::SignInUnavailable => page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is temporarily unavailable",
                "We cannot check your session right now. Please try again in a few minutes.",
            ),
            WebError::Internal(detail) => {
                tracing::error!(error = %detail, "page failed");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The page could not be shown. Please try again.",
                )
            }
        }
    }
}
