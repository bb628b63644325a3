//! Email and password: sign-up, sign-in, verification, password change,
//! profile updates.

use serde_json::json;

use crate::audit::{self, Entry, Event, RequestMeta};
use crate::error::{AuthError, AuthResult, Kind};
use crate::lockout;
use crate::mail::{self, templates};
use crate::password::{self, Verdict};
use crate::sessions::{Authenticated, SecondFactor};
use crate::tokens::{self, Lookup};
use crate::users::{self, User, store as user_store};
use crate::{Auth, sessions};

pub struct SignUp {
    pub name: String,
    pub email: String,
    pub password: String,
    pub image: Option<String>,
    pub callback_url: Option<String>,
    pub remember_me: bool,
}

#[allow(clippy::large_enum_variant)] // one per request, never stored
pub enum SignUpOutcome {
    /// Verification is required: no session yet.
    PendingVerification(User),
    SignedIn(Authenticated),
}

#[derive(Default)]
pub struct SignIn {
    pub email: String,
    pub password: String,
    pub remember_me: bool,
    pub callback_url: Option<String>,
    /// The verified value of the `trust_device` cookie, if the browser has one.
    pub trusted_device: Option<String>,
    /// An OpenID Connect authorization to resume after a second step.
    pub oauth_query: Option<String>,
}

/// How a correct password ends.
#[allow(clippy::large_enum_variant)] // one per request, never stored
pub enum SignInOutcome {
    SignedIn {
        auth: Authenticated,
        /// The rotated trusted-device cookie value, when the device was trusted.
        trust: Option<String>,
    },
    /// Two factors are on and the device is not trusted: the second step waits.
    SecondFactor(crate::two_factor::Challenge),
}

impl SignInOutcome {
    /// The session, when the sign-in is complete.
    pub fn signed_in(self) -> Option<Authenticated> {
        match self {
            SignInOutcome::SignedIn { auth, .. } => Some(auth),
            SignInOutcome::SecondFactor(_) => None,
        }
    }
}

impl Auth {
    pub async fn sign_up(&self, input: SignUp, meta: &RequestMeta) -> AuthResult<SignUpOutcome> {
        let name = users::check_name(&input.name).map_err(AuthError::name)?;
        let name = name.as_str();
        let email = users::normalize_email(&input.email)
            .ok_or_else(|| AuthError::invalid("INVALID_EMAIL", "Invalid email"))?;
        password::check_policy(&input.password).map_err(AuthError::WeakPassword)?;
        // Hash before looking for the user, so an existing email costs the same.
        let hash = self.hasher.hash(&input.password).await?;
        let now = self.clock.now();
        let id = common::ids::new_id();
        let new = user_store::NewUser {
            id: &id,
            name,
            email: &email,
            email_verified: false,
            image: input.image.as_deref(),
            role: "student",
            now,
        };
        if !self.settings.require_email_verification {
            // Without verification an existing email is reported, as
            // Better-Auth does, and the new user is signed in at once.
            if !user_store::create_with_password(&self.db, &new, Some(&hash)).await? {
                return Err(AuthError::coded(
                    Kind::Unprocessable,
                    "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
                    "User already exists. Use another email.",
                ));
            }
            let user = user_store::find_by_id(&self.db, &id)
                .await?
                .ok_or_else(AuthError::user_not_found)?;
            self.audit(meta, Entry::about(Event::Register, &user)).await;
            let session = self.create_session(&user, input.remember_me, meta).await?;
            return Ok(SignUpOutcome::SignedIn(Authenticated { session, user }));
        }

        // With verification the answer is the same for a new and a taken
        // address, and so is the work behind it: one transaction of the same
        // statements (see `user_store::register`); mail leaves off the
        // response path.
        let (token, ident) = tokens::mint(tokens::EMAIL_VERIFICATION);
        let link = self.verification_link(&token, input.callback_url.as_deref());
        let audit_new = [
            audit::StoredEvent::new(
                meta,
                Entry::new(Event::Register).user(&id).email(&email),
                now,
            ),
            audit::StoredEvent::new(
                meta,
                Entry::new(Event::VerificationSent).user(&id).email(&email),
                now,
            ),
        ];
        let outcome = user_store::register(
            &self.db,
            &new,
            &hash,
            &ident,
            now + tokens::LIFETIME,
            &audit_new,
            |existing, resent| {
                let mut entry = Entry::new(Event::SignUpExisting)
                    .email(&email)
                    .details(json!({"owner_notified": true}));
                if let Some(uid) = existing {
                    entry = entry.user(uid);
                }
                let mut rows = vec![audit::StoredEvent::new(meta, entry, now)];
                if let (true, Some(uid)) = (resent, existing) {
                    rows.push(audit::StoredEvent::new(
                        meta,
                        Entry::new(Event::VerificationSent).user(uid).email(&email),
                        now,
                    ));
                }
                rows
            },
        )
        .await?;
        // Every outcome mails the owner of the address, so none costs less.
        let mail = match &outcome {
            user_store::Registered::Created => templates::verification(&email, name, &link),
            // Never verified: the owner gets a fresh link, as if they asked again.
            user_store::Registered::Existing {
                owner,
                unverified: true,
            } => templates::verification(
                &email,
                owner.as_ref().map_or(name, |o| o.1.as_str()),
                &link,
            ),
            // Verified: the owner learns someone tried, and how to get in.
            user_store::Registered::Existing { owner, .. } => {
                let site = common::config::origin_of(&self.config.base_url);
                templates::account_exists(
                    &email,
                    owner.as_ref().map_or(name, |o| o.1.as_str()),
                    &format!("{site}/login"),
                    &format!("{site}/forgot-password"),
                )
            }
        };
        mail::send_later(&self.mailer, mail);
        Ok(SignUpOutcome::PendingVerification(User {
            id,
            name: name.to_string(),
            email,
            email_verified: false,
            image: input.image,
            role: "student".into(),
            banned: false,
            ban_reason: None,
            ban_expires: None,
            created_at: now,
            updated_at: now,
            two_factor_enabled: false,
        }))
    }

    pub async fn sign_in(&self, input: SignIn, meta: &RequestMeta) -> AuthResult<SignInOutcome> {
        let email = users::normalize_email(&input.email)
            .ok_or_else(|| AuthError::invalid("INVALID_EMAIL", "Invalid email"))?;
        if input.password.chars().count() > password::MAX_LEN {
            // Refused before hashing: long inputs are a denial-of-service lever.
            return Err(AuthError::invalid("PASSWORD_TOO_LONG", "Password too long"));
        }
        let now = self.clock.now();
        // Counted before the password is checked: see `lockout`.
        let attempt = common::ids::random_alphanumeric(16);
        let done_before = match lockout::begin(&self.db, &email, &attempt, now).await? {
            lockout::Begin::Reserved { done_before } => done_before,
            lockout::Begin::Locked { until, engaged } => {
                return Err(self
                    .refused_while_locked(&email, until, engaged, meta)
                    .await);
            }
        };
        let checked = self.verify_credentials(&email, &input.password).await;
        let (user, verdict, stored) = match checked {
            Ok(v) => v,
            Err(e) => {
                // Nothing was learnt about the password: the slot goes back.
                if let Err(err) = lockout::release(&self.db, &email).await {
                    tracing::warn!(error = %err, "cannot give back the sign-in attempt");
                }
                return Err(e);
            }
        };
        let (Some(user), Verdict::Match | Verdict::MatchNeedsRehash) = (user.clone(), verdict)
        else {
            let reason = match (&user, &stored) {
                (None, _) => "unknown_email",
                (Some(_), false) => "no_password",
                _ => "wrong_password",
            };
            return Err(self
                .failed_sign_in(&email, user.as_ref(), reason, &attempt, meta)
                .await);
        };

        if let Err(until) =
            lockout::succeed(&self.db, &email, done_before, self.clock.now()).await?
        {
            // Locked by attempts racing this one: the right password waits too.
            return Err(self.refused_while_locked(&email, until, false, meta).await);
        }
        if user.is_banned(now) {
            self.audit(
                meta,
                Entry::new(Event::LoginFailed)
                    .user(&user.id)
                    .email(&email)
                    .details(json!({"reason": "banned"})),
            )
            .await;
            return Err(AuthError::banned());
        }
        if verdict == Verdict::MatchNeedsRehash {
            let fresh = self.hasher.hash(&input.password).await?;
            user_store::set_password(&self.db, &user.id, &fresh, now).await?;
        }
        if self.settings.require_email_verification && !user.email_verified {
            self.audit(
                meta,
                Entry::new(Event::LoginFailed)
                    .user(&user.id)
                    .email(&email)
                    .details(json!({"reason": "email_not_verified"})),
            )
            .await;
            self.send_verification(&user, input.callback_url.as_deref(), meta)
                .await?;
            return Err(AuthError::email_not_verified());
        }
        if user.two_factor_enabled {
            return self.second_step(user, input, meta).await;
        }
        let session = self.create_session(&user, input.remember_me, meta).await?;
        self.audit(
            meta,
            Entry::new(Event::LoginSuccess)
                .user(&user.id)
                .email(&email)
                .details(json!({"method": "password"})),
        )
        .await;
        Ok(SignInOutcome::SignedIn {
            auth: Authenticated { session, user },
            trust: None,
        })
    }

    /// The password was right and two factors are on: a trusted device
    /// completes the sign-in, anything else gets a challenge.
    async fn second_step(
        &self,
        user: User,
        input: SignIn,
        meta: &RequestMeta,
    ) -> AuthResult<SignInOutcome> {
        if let Some(cookie) = input.trusted_device.as_deref()
            && let Some(trust) = self.trusted_device(&user, cookie).await?
        {
            let session = self
                .sign_in_with(
                    &user,
                    input.remember_me,
                    SecondFactor::TrustedDevice,
                    json!({"method": "password", "second_factor": "trusted_device"}),
                    meta,
                )
                .await?;
            return Ok(SignInOutcome::SignedIn {
                auth: Authenticated { session, user },
                trust: Some(trust),
            });
        }
        let resume = crate::two_factor::Resume {
            oauth_query: input.oauth_query,
            callback_url: input.callback_url,
        };
        let challenge = self
            .second_factor_challenge(&user, input.remember_me, resume)
            .await?
            .ok_or_else(|| AuthError::internal("two factors on, but no challenge"))?;
        self.audit(
            meta,
            Entry::about(Event::TwoFactorChallenged, &user)
                .details(json!({"methods": challenge.methods})),
        )
        .await;
        Ok(SignInOutcome::SecondFactor(challenge))
    }

    /// The user and the verdict on the password. Unknown emails and accounts
    /// without a password cost a dummy verification, so they take as long.
    async fn verify_credentials(
        &self,
        email: &str,
        password: &str,
    ) -> AuthResult<(Option<User>, Verdict, bool)> {
        let user = user_store::find_by_email(&self.db, email).await?;
        let stored = match &user {
            Some(u) => user_store::credential_account(&self.db, &u.id)
                .await?
                .and_then(|a| a.password),
            None => None,
        };
        let verdict = match &stored {
            Some(hash) => self.hasher.verify(password, hash).await?,
            None => {
                self.hasher.dummy_verify(password).await;
                Verdict::Mismatch
            }
        };
        Ok((user, verdict, stored.is_some()))
    }

    /// The answer while a lock stands. The attempt that engaged the lock
    /// records it and tells the owner.
    async fn refused_while_locked(
        &self,
        email: &str,
        until: chrono::DateTime<chrono::Utc>,
        engaged: bool,
        meta: &RequestMeta,
    ) -> AuthError {
        let now = self.clock.now();
        self.audit(
            meta,
            Entry::new(Event::LoginFailed)
                .email(email)
                .details(json!({"reason": "locked"})),
        )
        .await;
        if engaged {
            let user = user_store::find_by_email(&self.db, email)
                .await
                .ok()
                .flatten();
            self.lock_engaged(email, user.as_ref(), until, meta).await;
        }
        AuthError::Locked { until, now }
    }

    async fn lock_engaged(
        &self,
        email: &str,
        user: Option<&User>,
        until: chrono::DateTime<chrono::Utc>,
        meta: &RequestMeta,
    ) {
        let mut entry = Entry::new(Event::AccountLocked)
            .email(email)
            .details(json!({"locked_until": common::clock::to_iso(&until)}));
        if let Some(u) = user {
            entry = entry.user(&u.id);
            mail::send_later(
                &self.mailer,
                templates::lockout_notice(&u.email, lockout::LOCK_DURATION.num_minutes()),
            );
        }
        self.audit(meta, entry).await;
    }

    /// Counts a failed sign-in and builds the answer: the same for unknown
    /// emails and wrong passwords until the lock engages.
    async fn failed_sign_in(
        &self,
        email: &str,
        user: Option<&User>,
        reason: &str,
        attempt: &str,
        meta: &RequestMeta,
    ) -> AuthError {
        let now = self.clock.now();
        let mut entry = Entry::new(Event::LoginFailed)
            .email(email)
            .details(json!({"reason": reason}));
        if let Some(u) = user {
            entry = entry.user(&u.id);
        }
        self.audit(meta, entry).await;
        match lockout::fail(&self.db, email, attempt, now).await {
            Ok(lockout::Failure::Locked { until, engaged }) => {
                if engaged {
                    self.lock_engaged(email, user, until, meta).await;
                }
                AuthError::Locked { until, now }
            }
            Ok(lockout::Failure::Counted) => AuthError::invalid_credentials(),
            Err(e) => e.into(),
        }
    }

    /// Mails a fresh one-hour verification link.
    pub async fn send_verification(
        &self,
        user: &User,
        callback_url: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        let now = self.clock.now();
        let token = tokens::issue(
            &self.db,
            tokens::EMAIL_VERIFICATION,
            &user.id,
            now,
            tokens::LIFETIME,
        )
        .await?;
        let link = self.verification_link(&token, callback_url);
        mail::send_later(
            &self.mailer,
            templates::verification(&user.email, &user.name, &link),
        );
        self.audit(meta, Entry::about(Event::VerificationSent, user))
            .await;
        Ok(())
    }

    fn verification_link(&self, token: &str, callback_url: Option<&str>) -> String {
        format!(
            "{}?token={token}&callbackURL={}",
            self.auth_url("/verify-email"),
            crate::cookies::encode(callback_url.unwrap_or("/"))
        )
    }

    /// `POST /send-verification-email` without a session: always succeeds
    /// outwardly; sends only to an existing, unverified account. Both
    /// answers do the same database work (see `tokens::issue_and_record`).
    pub async fn resend_verification_anonymous(
        &self,
        email: &str,
        callback_url: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        let Some(email) = users::normalize_email(email) else {
            return Err(AuthError::validation("[body.email] Invalid email address"));
        };
        let user = user_store::find_by_email(&self.db, &email)
            .await?
            .filter(|u| !u.email_verified);
        let token = self
            .link_token(
                tokens::EMAIL_VERIFICATION,
                user.as_ref(),
                Entry::new(Event::VerificationSent).email(&email),
                Entry::new(Event::VerificationSkipped)
                    .email(&email)
                    .details(json!({"reason": "unknown_or_verified"})),
                meta,
            )
            .await?;
        if let Some(u) = &user {
            let link = self.verification_link(&token, callback_url);
            mail::send_later(
                &self.mailer,
                templates::verification(&u.email, &u.name, &link),
            );
        }
        Ok(())
    }

    /// Consumes a verification link and marks the email verified.
    pub async fn verify_email(&self, token: &str, meta: &RequestMeta) -> AuthResult<User> {
        let now = self.clock.now();
        let user_id =
            match tokens::consume(&self.db, tokens::EMAIL_VERIFICATION, token, now).await? {
                Lookup::Valid(v) => v,
                Lookup::Expired => return Err(AuthError::token_expired()),
                Lookup::Unknown => {
                    // The same link route confirms a change of address.
                    if let Some(user) = self.confirm_email_change(token, meta).await? {
                        return Ok(user);
                    }
                    return Err(AuthError::coded(
                        Kind::Unauthenticated,
                        "INVALID_TOKEN",
                        "Invalid token",
                    ));
                }
            };
        let user = user_store::find_by_id(&self.db, &user_id)
            .await?
            .ok_or_else(AuthError::user_not_found)?;
        if user_store::mark_verified(&self.db, &user.id, now).await? > 0 {
            self.forget_standing(&user.id);
            self.audit(meta, Entry::about(Event::EmailVerified, &user))
                .await;
        }
        user_store::find_by_id(&self.db, &user.id)
            .await?
            .ok_or_else(AuthError::user_not_found)
    }

    /// Records a password change and tells the owner by mail.
    pub(crate) async fn password_was_changed(&self, user: &User, event: Event, meta: &RequestMeta) {
        self.audit(meta, Entry::new(event).user(&user.id).email(&user.email))
            .await;
        mail::send_later(
            &self.mailer,
            templates::password_changed(&user.email, &user.name),
        );
    }

    /// Changes the password after checking the current one. With
    /// `revoke_others`, every session ends and a new one is returned.
    pub async fn change_password(
        &self,
        current: &Authenticated,
        current_password: &str,
        new_password: &str,
        revoke_others: bool,
        meta: &RequestMeta,
    ) -> AuthResult<Option<crate::sessions::Session>> {
        password::check_policy(new_password).map_err(AuthError::WeakPassword)?;
        if current_password.chars().count() > password::MAX_LEN {
            return Err(AuthError::invalid("PASSWORD_TOO_LONG", "Password too long"));
        }
        let user = &current.user;
        let Some(hash) = user_store::credential_account(&self.db, &user.id)
            .await?
            .and_then(|a| a.password)
        else {
            return Err(AuthError::invalid(
                "CREDENTIAL_ACCOUNT_NOT_FOUND",
                "Credential account not found",
            ));
        };
        if self.hasher.verify(current_password, &hash).await? == Verdict::Mismatch {
            return Err(AuthError::invalid("INVALID_PASSWORD", "Invalid password"));
        }
        let fresh = self.hasher.hash(new_password).await?;
        let now = self.clock.now();
        user_store::set_password(&self.db, &user.id, &fresh, now).await?;
        self.password_was_changed(user, Event::PasswordChanged, meta)
            .await;
        if !revoke_others {
            return Ok(None);
        }
        sessions::store::delete_all(&self.db, &user.id).await?;
        let session = self
            .create_session(user, current.session.remember_me, meta)
            .await?;
        Ok(Some(session))
    }
}
