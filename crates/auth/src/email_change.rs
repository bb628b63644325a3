//! Changing the email address: the new address is verified first (a one-time
//! link mailed to it), and only then does the account change. The old address
//! is told afterwards. Also the password re-check the sensitive routes share.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Auth;
use crate::audit::{Entry, Event, RequestMeta};
use crate::error::{AuthError, AuthResult, Kind};
use crate::lockout;
use crate::mail::{self, templates};
use crate::password::{self, Verdict};
use crate::sessions::Authenticated;
use crate::tokens::{self, Lookup};
use crate::users::{self, User, store as user_store};

pub const PURPOSE: &str = "change-email";

/// What a change link carries (stored with its hashed token).
#[derive(Serialize, Deserialize)]
struct Pending {
    user_id: String,
    from: String,
    to: String,
}

impl Auth {
    /// Checks the password of a signed-in user, as the sensitive routes need:
    /// `400 INVALID_PASSWORD` when wrong, counted toward the account lockout.
    pub async fn check_password(
        &self,
        user: &User,
        password: &str,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        if password.chars().count() > password::MAX_LEN {
            return Err(AuthError::invalid("PASSWORD_TOO_LONG", "Password too long"));
        }
        let now = self.clock.now();
        // Counted before the password is checked, as at sign-in (`lockout`).
        let attempt = common::ids::random_alphanumeric(16);
        let done_before = match lockout::begin(&self.db, &user.email, &attempt, now).await? {
            lockout::Begin::Reserved { done_before } => done_before,
            lockout::Begin::Locked { until, .. } => return Err(AuthError::Locked { until, now }),
        };
        let invalid = || AuthError::invalid("INVALID_PASSWORD", "Invalid password");
        let stored = match user_store::credential_account(&self.db, &user.id).await {
            Ok(account) => account.and_then(|a| a.password),
            Err(e) => {
                lockout::release(&self.db, &user.email).await?;
                return Err(e.into());
            }
        };
        let verdict = match &stored {
            Some(hash) => match self.hasher.verify(password, hash).await {
                Ok(v) => v,
                Err(e) => {
                    lockout::release(&self.db, &user.email).await?;
                    return Err(e);
                }
            },
            None => {
                self.hasher.dummy_verify(password).await;
                Verdict::Mismatch
            }
        };
        if verdict == Verdict::Mismatch {
            self.audit(
                meta,
                Entry::about(Event::LoginFailed, user)
                    .details(json!({"reason": "wrong_password", "step": "re-check"})),
            )
            .await;
            return match lockout::fail(&self.db, &user.email, &attempt, now).await? {
                lockout::Failure::Locked { until, .. } => Err(AuthError::Locked { until, now }),
                lockout::Failure::Counted => Err(invalid()),
            };
        }
        if let Err(until) = lockout::succeed(&self.db, &user.email, done_before, now).await? {
            return Err(AuthError::Locked { until, now });
        }
        Ok(())
    }

    /// `POST /change-email`: mails a link to the new address. A taken address
    /// answers the same as a free one and nothing is sent.
    pub async fn request_email_change(
        &self,
        who: &Authenticated,
        new_email: &str,
        callback_url: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        if !self.settings.change_email_enabled {
            return Err(AuthError::invalid(
                "CHANGE_EMAIL_DISABLED",
                "Change email is disabled",
            ));
        }
        let to = users::normalize_email(new_email)
            .ok_or_else(|| AuthError::validation("[body.newEmail] Invalid email address"))?;
        let user = &who.user;
        if to == user.email {
            return Err(AuthError::message(Kind::Invalid, "Email is the same"));
        }
        if user_store::find_by_email(&self.db, &to).await?.is_some() {
            // Whether an address has an account is not revealed.
            return Ok(());
        }
        let pending = serde_json::to_string(&Pending {
            user_id: user.id.clone(),
            from: user.email.clone(),
            to: to.clone(),
        })
        .map_err(AuthError::internal)?;
        let token = tokens::issue(
            &self.db,
            PURPOSE,
            &pending,
            self.clock.now(),
            tokens::LIFETIME,
        )
        .await?;
        let link = format!(
            "{}?token={token}&callbackURL={}",
            self.auth_url("/verify-email"),
            crate::cookies::encode(callback_url.unwrap_or("/"))
        );
        mail::send_later(
            &self.mailer,
            templates::email_change(&to, &user.name, &link),
        );
        self.audit(
            meta,
            Entry::about(Event::EmailChangeRequested, user).details(json!({"to": to})),
        )
        .await;
        Ok(())
    }

    /// Follows a change link: the address it was sent to is proved, so the
    /// account takes it (verified). `Ok(None)` when the token is not a change link.
    pub async fn confirm_email_change(
        &self,
        token: &str,
        meta: &RequestMeta,
    ) -> AuthResult<Option<User>> {
        let now = self.clock.now();
        let raw = match tokens::consume(&self.db, PURPOSE, token, now).await? {
            Lookup::Valid(v) => v,
            Lookup::Expired => return Err(AuthError::token_expired()),
            Lookup::Unknown => return Ok(None),
        };
        let pending: Pending = serde_json::from_str(&raw).map_err(AuthError::internal)?;
        let user = user_store::find_by_id(&self.db, &pending.user_id)
            .await?
            .ok_or_else(AuthError::user_not_found)?;
        if user.email != pending.from {
            // The address changed another way since the link was sent.
            return Err(AuthError::coded(
                Kind::Unauthenticated,
                "INVALID_TOKEN",
                "Invalid token",
            ));
        }
        if user_store::find_by_email(&self.db, &pending.to)
            .await?
            .is_some()
        {
            return Err(AuthError::coded(
                Kind::Unprocessable,
                "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
                "User already exists. Use another email.",
            ));
        }
        match user_store::change_email(&self.db, &user.id, &pending.from, &pending.to, now).await {
            Ok(0) => {
                return Err(AuthError::coded(
                    Kind::Unauthenticated,
                    "INVALID_TOKEN",
                    "Invalid token",
                ));
            }
            Ok(_) => {}
            // Someone took the address between the check and the update.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AuthError::coded(
                    Kind::Unprocessable,
                    "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
                    "User already exists. Use another email.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        // The lockout follows the address it counts.
        lockout::reset(&self.db, &pending.from).await?;
        mail::send_later(
            &self.mailer,
            templates::email_changed(&pending.from, &user.name, &pending.to),
        );
        self.audit(
            meta,
            Entry::new(Event::EmailChanged)
                .user(&user.id)
                .email(&pending.to)
                .details(json!({"from": pending.from, "to": pending.to})),
        )
        .await;
        Ok(user_store::find_by_id(&self.db, &user.id).await?)
    }
}
