//! Who is looking at a page, read from the session cookie.

use auth::sessions::Authenticated;
use axum::http::HeaderMap;

use crate::WebState;
use crate::error::WebError;

/// A signed-in visitor.
pub struct Viewer {
    pub session: Authenticated,
}

impl Viewer {
    pub fn user(&self) -> &auth::users::User {
        &self.session.user
    }

    pub fn is_admin(&self) -> bool {
        self.user().role == "admin"
    }

    pub fn is_staff(&self) -> bool {
        matches!(self.user().role.as_str(), "admin" | "instructor")
    }

    /// The caller as the learning backend sees it.
    pub fn as_api_user(&self) -> api::extract::AuthenticatedUser {
        let u = self.user();
        api::extract::AuthenticatedUser {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.clone(),
            email_verified: u.email_verified,
        }
    }
}

/// The session, if any. A failure to read sessions is `SignInUnavailable`.
pub async fn viewer(state: &WebState, headers: &HeaderMap) -> Result<Option<Viewer>, WebError> {
    match auth::http::request::current(headers, &state.auth).await {
        Ok(s) => Ok(s.map(|session| Viewer { session })),
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the session");
            Err(WebError::SignInUnavailable)
        }
    }
}

/// The session, or a redirect to the login page that comes back here.
pub async fn require(
    state: &WebState,
    headers: &HeaderMap,
    here: &str,
) -> Result<Viewer, WebError> {
    viewer(state, headers)
        .await?
        .ok_or_else(|| WebError::SignInRequired(here.to_string()))
}
