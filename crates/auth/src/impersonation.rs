//! Admins acting as another user, as Better-Auth's admin plugin does it: a
//! separate session for the target that records who opened it and lasts at
//! most an hour; the admin's own session is kept aside and restored on stop.
//! Admins cannot act as other admins, and both ends go into the audit log.

use chrono::Duration;
use serde_json::json;

use crate::Auth;
use crate::access;
use crate::audit::{Entry, Event, RequestMeta};
use crate::error::{AuthError, AuthResult, Kind};
use crate::session_ops::{SessionOptions, SessionRead};
use crate::sessions::{Authenticated, SecondFactor, store as session_store};
use crate::users::store as user_store;

/// The longest an impersonation session lives.
pub const DURATION: Duration = Duration::hours(1);

impl Auth {
    /// Opens a session as `user_id` for the admin `who`.
    pub async fn impersonate(
        &self,
        who: &Authenticated,
        user_id: &str,
        meta: &RequestMeta,
    ) -> AuthResult<Authenticated> {
        if !self.may(who, "user", "impersonate") {
            return Err(AuthError::forbidden(
                "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS",
                "You are not allowed to impersonate users",
            ));
        }
        if who.session.impersonated_by.is_some() {
            // Acting as someone already: go back first, so the trail stays one level deep.
            return Err(AuthError::forbidden(
                "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS",
                "You are not allowed to impersonate users",
            ));
        }
        let target = user_store::find_by_id(&self.db, user_id)
            .await?
            .ok_or_else(AuthError::user_not_found)?;
        if access::is_admin_role(&target.role) && !self.may(who, "user", "impersonate-admins") {
            return Err(AuthError::forbidden(
                "YOU_CANNOT_IMPERSONATE_ADMINS",
                "You cannot impersonate admins",
            ));
        }
        let session = self
            .open_session(
                &target,
                SessionOptions {
                    remember_me: false,
                    second_factor: Some(SecondFactor::Impersonation),
                    impersonated_by: Some(who.user.id.clone()),
                    lifetime: Some(DURATION),
                },
                meta,
            )
            .await?;
        self.audit(
            meta,
            Entry::about(Event::ImpersonationStarted, &who.user).details(json!({
                "target_user_id": target.id,
                "target_email": target.email,
                "session_id": session.id,
                "expires_at": common::clock::to_iso(&session.expires_at),
            })),
        )
        .await;
        Ok(Authenticated {
            session,
            user: target,
        })
    }

    /// Ends the impersonation `current` and returns the admin's session,
    /// named by `admin_token` (from the cookie set when it began).
    pub async fn stop_impersonating(
        &self,
        current: &Authenticated,
        admin_token: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthResult<Authenticated> {
        let Some(admin_id) = current.session.impersonated_by.as_deref() else {
            return Err(AuthError::message(
                Kind::Invalid,
                "You are not impersonating anyone",
            ));
        };
        if user_store::find_by_id(&self.db, admin_id).await?.is_none() {
            return Err(AuthError::message(Kind::Server, "Failed to find user"));
        }
        let no_admin_session = || AuthError::message(Kind::Server, "Failed to find admin session");
        let token = admin_token.ok_or_else(no_admin_session)?;
        let admin = match self.read_session(token).await? {
            SessionRead::Valid { auth, .. } if auth.user.id == admin_id => auth,
            _ => return Err(no_admin_session()),
        };
        session_store::delete_by_token(&self.db, &current.session.token).await?;
        self.audit(
            meta,
            Entry::about(Event::ImpersonationStopped, &admin.user).details(json!({
                "target_user_id": current.user.id,
                "target_email": current.user.email,
                "session_id": current.session.id,
            })),
        )
        .await;
        Ok(admin)
    }
}
