//! Who is looking at a page, read from the session cookie.

use auth::sessions::Authenticated;
use axum::http::HeaderMap;

use crate::WebState;
use crate::error::WebError;

/// A signed-in visitor.
pub struct Viewer {
    pub session: Authenticated,
    acting_role: String,
}

impl Viewer {
    pub fn user(&self) -> &auth::users::User {
        &self.session.user
    }

    /// The role this session acts with (see `Auth::acting_role`).
    pub fn role(&self) -> &str {
        &self.acting_role
    }

    /// Admins: they manage users and read the audit log.
    pub fn is_admin(&self) -> bool {
        auth::access::allows(self.role(), "user", "list")
    }

    /// Instructors and admins: they author lessons.
    pub fn is_staff(&self) -> bool {
        auth::access::allows(self.role(), "course", "author")
    }

    /// Staff whose privileges wait for a second factor.
    pub fn needs_second_factor(&self) -> bool {
        self.role() != self.user().role
    }

    /// The admin acting as this user, when the session is an impersonation.
    pub fn impersonated_by(&self) -> Option<&str> {
        self.session.session.impersonated_by.as_deref()
    }

    /// The caller as the learning backend sees it.
    pub fn as_api_user(&self) -> api::AuthenticatedUser {
        let u = self.user();
        api::AuthenticatedUser {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: self.role().to_string(),
            email_verified: u.email_verified,
        }
    }
}

/// The session, if any. A failure to read sessions is `SignInUnavailable`.
pub async fn viewer(state: &WebState, headers: &HeaderMap) -> Result<Option<Viewer>, WebError> {
    match auth::current_session(headers, &state.auth).await {
        Ok(s) => Ok(s.map(|session| Viewer {
            acting_role: state.auth.acting_role(&session).to_string(),
            session,
        })),
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
