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
    /// The learning backend failed.
    #[error("learning backend: {0}")]
    Api(#[source] api::ApiError),
    /// The identity service failed.
    #[error("identity service: {0}")]
    Auth(#[from] auth::AuthError),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    #[error("{context}: {source}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl From<api::ApiError> for WebError {
    // The kinds a page shows as such; the rest keep their source for the log.
    fn from(e: api::ApiError) -> Self {
        match e {
            api::ApiError::NotFound { .. } => WebError::NotFound,
            api::ApiError::StageLocked { .. } => WebError::Locked,
            api::ApiError::Forbidden { .. } => WebError::Forbidden,
            other => WebError::Api(other),
        }
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
            err @ (WebError::Api(_)
            | WebError::Auth(_)
            | WebError::Template(_)
            | WebError::Internal { .. }) => {
                tracing::error!(error = %err, "page failed");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The page could not be shown. Please try again.",
                )
            }
        }
    }
}
