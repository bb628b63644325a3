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
    /// A student on a page for course staff (flagged threads).
    #[error("staff page")]
    StaffPage,
    /// An instructor on a course they do not teach.
    #[error("not this course's staff")]
    NotCourseStaff,
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
            api::ApiError::Forbidden {
                code: "NOT_COURSE_STAFF",
                ..
            } => WebError::NotCourseStaff,
            api::ApiError::Forbidden {
                code: "FORBIDDEN_ROLE",
                ..
            } => WebError::StaffPage,
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

/// What an error page says, kept on the response so [`with_viewer`] can
/// render it again around the signed-in viewer's menu.
#[derive(Debug, Clone)]
pub struct ErrorText {
    pub title: &'static str,
    pub message: &'static str,
}

/// The error page around `chrome`.
pub fn error_page(chrome: crate::pages::Chrome, text: &ErrorText) -> String {
    ErrorPage {
        chrome,
        title: text.title,
        message: text.message,
    }
    .render()
    .unwrap_or_else(|_| text.title.to_string())
}

fn page(status: StatusCode, title: &'static str, message: &'static str) -> Response {
    // Rendered for an anonymous visitor here; `with_viewer` renders it again
    // for a signed-in one, so they are not offered "Sign in".
    let text = ErrorText { title, message };
    let body = error_page(crate::pages::Chrome::of(None), &text);
    let mut res = (status, Html(body)).into_response();
    res.extensions_mut().insert(text);
    res
}

/// Renders error pages with the viewer's own menu when they are signed in.
pub async fn with_viewer(
    axum::extract::State(state): axum::extract::State<crate::WebState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = req.headers().clone();
    let res = next.run(req).await;
    let Some(text) = res.extensions().get::<ErrorText>().cloned() else {
        return res;
    };
    match crate::session::viewer(&state, &headers).await {
        Ok(Some(v)) => {
            let status = res.status();
            let mut fresh = (
                status,
                Html(error_page(crate::pages::Chrome::of(Some(&v)), &text)),
            )
                .into_response();
            fresh.extensions_mut().insert(text);
            fresh
        }
        _ => res,
    }
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
            WebError::StaffPage => page(
                StatusCode::FORBIDDEN,
                "Not allowed",
                "This page is for instructors and administrators.",
            ),
            WebError::NotCourseStaff => page(
                StatusCode::FORBIDDEN,
                "Not your course",
                "Only this course's instructors and administrators can open this page. An administrator can add you to the course.",
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
