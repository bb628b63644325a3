//! Password recovery: a one-hour, single-use reset link by mail. Whether the
//! email has an account is never revealed, in the answer or in its timing.

use serde_json::json;

use crate::audit::{Entry, Event, RequestMeta};
use crate::error::{AuthError, AuthResult};
use crate::mail::{self, templates};
use crate::password;
use crate::tokens::{self, Lookup};
use crate::users::{self, store as user_store};
use crate::{Auth, sessions};

pub const RESET_MESSAGE: &str =
    "If this email exists in our system, check your email for the reset link";

impl Auth {
    /// Mails a reset link to an existing account. Unknown emails get the
    /// same work done — a token minted and hashed — and nothing sent.
    pub async fn request_password_reset(
        &self,
        email: &str,
        redirect_to: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        let email = users::normalize_email(email)
            .ok_or_else(|| AuthError::validation("[body.email] Invalid email address"))?;
        let user = user_store::find_by_email(&self.db, &email).await?;
        let token = self
            .link_token(
                tokens::PASSWORD_RESET,
                user.as_ref(),
                Entry::new(Event::PasswordResetRequested).email(&email),
                Entry::new(Event::PasswordResetRequested)
                    .email(&email)
                    .details(json!({"known": false})),
                meta,
            )
            .await?;
        if let Some(user) = user {
            let callback = crate::cookies::encode(redirect_to.unwrap_or(""));
            let link = format!(
                "{}?callbackURL={callback}",
                self.auth_url(&format!("/reset-password/{token}"))
            );
            mail::send_later(
                &self.mailer,
                templates::password_reset(&user.email, &user.name, &link),
            );
        }
        Ok(())
    }

    /// Whether a reset token is live (for the link's redirect).
    pub async fn reset_token_status(&self, token: &str) -> AuthResult<bool> {
        Ok(matches!(
            tokens::peek(&self.db, tokens::PASSWORD_RESET, token, self.clock.now()).await?,
            Lookup::Valid(_)
        ))
    }

    /// Sets a new password with a reset token, ends every session and tells the user.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        password::check_policy(new_password).map_err(AuthError::WeakPassword)?;
        let now = self.clock.now();
        let user_id = match tokens::consume(&self.db, tokens::PASSWORD_RESET, token, now).await? {
            Lookup::Valid(v) => v,
            Lookup::Expired | Lookup::Unknown => return Err(AuthError::invalid_token()),
        };
        let user = user_store::find_by_id(&self.db, &user_id)
            .await?
            .ok_or_else(|| AuthError::invalid("USER_NOT_FOUND", "User not found"))?;
        let hash = self.hasher.hash(new_password).await?;
        user_store::set_password(&self.db, &user.id, &hash, now).await?;
        // Other reset links for this account die with this one.
        tokens::revoke_for(&self.db, tokens::PASSWORD_RESET, &user.id).await?;
        sessions::store::delete_all(&self.db, &user.id).await?;
        crate::lockout::reset(&self.db, &user.email).await?;
        self.password_was_changed(&user, Event::PasswordReset, meta)
            .await;
        Ok(())
    }
}
