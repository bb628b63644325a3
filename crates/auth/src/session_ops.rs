//! Creating, reading, refreshing and ending sessions, and issuing JWTs for them.

use crate::Auth;
use crate::audit::{Entry, Event, RequestMeta};
use crate::error::{AuthError, AuthResult};
use crate::keys::{Claims, TOKEN_TTL};
use crate::sessions::{
    self, Authenticated, LIFETIME, SHORT_LIFETIME, SecondFactor, Session, store,
};
use crate::users::User;

/// What a new session records beyond its user.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    pub remember_me: bool,
    pub second_factor: Option<SecondFactor>,
    /// The admin acting as the user.
    pub impersonated_by: Option<String>,
    /// A lifetime shorter than the usual one (impersonation).
    pub lifetime: Option<chrono::Duration>,
}

/// What reading a session found.
#[allow(clippy::large_enum_variant)] // short-lived, never stored in bulk
pub enum SessionRead {
    None,
    /// The session was valid; `refreshed` says its expiry moved (re-issue the cookie).
    Valid {
        auth: Authenticated,
        refreshed: bool,
    },
    /// It existed but had expired and was removed (clear the cookie).
    Expired,
}

impl Auth {
    /// A new session for `user`. Banned users get none.
    pub async fn create_session(
        &self,
        user: &User,
        remember_me: bool,
        meta: &RequestMeta,
    ) -> AuthResult<Session> {
        self.open_session(
            user,
            SessionOptions {
                remember_me,
                ..Default::default()
            },
            meta,
        )
        .await
    }

    /// A new session with what it proved and who opened it.
    pub async fn open_session(
        &self,
        user: &User,
        options: SessionOptions,
        meta: &RequestMeta,
    ) -> AuthResult<Session> {
        let now = self.clock.now();
        if user.is_banned(now) {
            return Err(AuthError::banned());
        }
        let remember_me = options.remember_me;
        let lifetime = options.lifetime.unwrap_or(if remember_me {
            LIFETIME
        } else {
            SHORT_LIFETIME
        });
        let session = Session {
            id: common::ids::new_id(),
            token: common::ids::random_alphanumeric(32),
            user_id: user.id.clone(),
            expires_at: now + lifetime,
            ip_address: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            impersonated_by: options.impersonated_by,
            remember_me,
            created_at: now,
            updated_at: now,
            second_factor: options.second_factor.map(|f| f.as_str().to_string()),
        };
        store::insert(&self.db, &session).await?;
        Ok(session)
    }

    /// A sign-in that `second_factor` completed: the session, and its
    /// `login_success` audit with `details` (how the user got in).
    pub(crate) async fn sign_in_with(
        &self,
        user: &User,
        remember_me: bool,
        second_factor: SecondFactor,
        details: serde_json::Value,
        meta: &RequestMeta,
    ) -> AuthResult<Session> {
        let options = SessionOptions {
            remember_me,
            second_factor: Some(second_factor),
            ..Default::default()
        };
        let session = self.open_session(user, options, meta).await?;
        self.audit(
            meta,
            Entry::about(Event::LoginSuccess, user).details(details),
        )
        .await;
        Ok(session)
    }

    /// Resolves a session token, sliding its expiry when a day has passed.
    pub async fn read_session(&self, token: &str) -> AuthResult<SessionRead> {
        let Some(mut auth) = store::find_with_user(&self.db, token).await? else {
            return Ok(SessionRead::None);
        };
        let now = self.clock.now();
        if auth.session.expires_at <= now {
            store::delete_by_token(&self.db, token).await?;
            return Ok(SessionRead::Expired);
        }
        if auth.user.is_banned(now) {
            store::delete_all(&self.db, &auth.user.id).await?;
            return Ok(SessionRead::Expired);
        }
        let mut refreshed = false;
        if auth.session.needs_refresh(now) {
            let expires_at = now + LIFETIME;
            store::extend(&self.db, &auth.session.id, expires_at, now).await?;
            auth.session.expires_at = expires_at;
            auth.session.updated_at = now;
            refreshed = true;
        }
        Ok(SessionRead::Valid { auth, refreshed })
    }

    pub async fn sign_out(&self, token: &str, meta: &RequestMeta) -> AuthResult<()> {
        if let Some(auth) = store::find_with_user(&self.db, token).await? {
            store::delete_by_token(&self.db, token).await?;
            self.audit(meta, Entry::about(Event::Logout, &auth.user))
                .await;
        }
        Ok(())
    }

    /// The user's own sessions; sessions an admin opened to act as them are
    /// not listed (as Better-Auth's admin plugin does).
    pub async fn list_sessions(&self, user_id: &str) -> AuthResult<Vec<Session>> {
        let mut sessions = store::list_active(&self.db, user_id, self.clock.now()).await?;
        sessions.retain(|s| s.impersonated_by.is_none());
        Ok(sessions)
    }

    /// Ends one of the caller's sessions; foreign tokens are ignored.
    pub async fn revoke_session(
        &self,
        current: &Authenticated,
        token: &str,
        meta: &RequestMeta,
    ) -> AuthResult<bool> {
        let removed = store::delete_owned(&self.db, &current.user.id, token).await? > 0;
        if removed {
            self.audit(
                meta,
                Entry::new(Event::SessionRevoked)
                    .user(&current.user.id)
                    .details(serde_json::json!({"scope": "one"})),
            )
            .await;
        }
        Ok(removed)
    }

    pub async fn revoke_sessions(
        &self,
        current: &Authenticated,
        keep_current: bool,
        meta: &RequestMeta,
    ) -> AuthResult<u64> {
        let n = if keep_current {
            store::delete_others(&self.db, &current.user.id, &current.session.token).await?
        } else {
            store::delete_all(&self.db, &current.user.id).await?
        };
        self.audit(
            meta,
            Entry::new(Event::SessionRevoked)
                .user(&current.user.id)
                .details(serde_json::json!({"scope": if keep_current { "others" } else { "all" }, "count": n})),
        )
        .await;
        Ok(n)
    }

    /// The role a session acts with: the user's role, except that staff
    /// whose session proved no second factor act as students when
    /// `AUTH_TWO_FACTOR_REQUIRED_FOR_STAFF` is on.
    pub fn acting_role<'a>(&self, who: &'a Authenticated) -> &'a str {
        if self.settings.two_factor_required_for_staff
            && who.session.second_factor.is_none()
            && crate::access::is_staff_role(&who.user.role)
        {
            crate::access::STUDENT.name
        } else {
            &who.user.role
        }
    }

    /// Whether the session may do `action` on `resource`.
    pub fn may(&self, who: &Authenticated, resource: &str, action: &str) -> bool {
        crate::access::allows(self.acting_role(who), resource, action)
    }

    /// Whether the session's role is held back until a second factor is proved.
    pub fn needs_second_factor(&self, who: &Authenticated) -> bool {
        self.acting_role(who) != who.user.role
    }

    /// A 15-minute JWT for the session's user, with the role it acts with now.
    pub async fn issue_session_jwt(&self, who: &Authenticated) -> AuthResult<String> {
        let mut user = who.user.clone();
        user.role = self.acting_role(who).to_string();
        self.issue_jwt(&user).await
    }

    /// A 15-minute JWT for the user, with their role as it is now.
    pub async fn issue_jwt(&self, user: &User) -> AuthResult<String> {
        let now = self.clock.now();
        let iss = self.issuer();
        let claims = Claims {
            sub: user.id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role.clone(),
            email_verified: user.email_verified,
            aud: iss.clone(),
            iss,
            iat: now.timestamp(),
            exp: (now + TOKEN_TTL).timestamp(),
        };
        self.keys.sign_reusing(&claims).await
    }

    /// Whether a session is recent enough for sensitive listings.
    pub fn is_fresh(&self, session: &Session) -> bool {
        self.clock.now() - session.created_at < sessions::FRESH_AGE
    }
}
