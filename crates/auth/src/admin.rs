//! Administration of users: roles, bans, creation, removal, passwords, sessions.

use chrono::Duration;
use serde_json::json;

use crate::Auth;
use crate::audit::{Entry, Event, RequestMeta};
use crate::error::{AuthError, AuthResult};
use crate::password;
use crate::sessions::{Authenticated, Session, store as session_store};
use crate::users::{self, User, store as user_store};

pub struct NewUserByAdmin {
    pub email: String,
    pub name: String,
    pub password: Option<String>,
    pub role: String,
    pub email_verified: bool,
}

impl Auth {
    /// One page of users and the total that match (the admin lists).
    pub async fn list_users(&self, q: &users::UserQuery) -> AuthResult<(Vec<User>, i64)> {
        Ok(user_store::list(&self.db, q).await?)
    }

    /// The user with this (normalised) email, if any.
    pub async fn find_user_by_email(&self, email: &str) -> AuthResult<Option<User>> {
        Ok(user_store::find_by_email(&self.db, email).await?)
    }

    /// The sign-in methods linked to a user (password and providers).
    pub async fn linked_accounts(&self, user_id: &str) -> AuthResult<Vec<users::Account>> {
        Ok(user_store::accounts_of(&self.db, user_id).await?)
    }

    /// Passes when the session's role grants `action` on `resource` (see
    /// [`crate::access`]). The role comes from the database row, never from the client.
    pub fn require_permission(
        &self,
        who: &Authenticated,
        (resource, action): (&str, &str),
        code: &'static str,
        message: &'static str,
    ) -> AuthResult<()> {
        if self.may(who, resource, action) {
            Ok(())
        } else {
            Err(AuthError::forbidden(code, message))
        }
    }

    async fn target(&self, user_id: &str) -> AuthResult<User> {
        user_store::find_by_id(&self.db, user_id)
            .await?
            .ok_or_else(AuthError::user_not_found)
    }

    pub async fn set_role(
        &self,
        actor_id: Option<&str>,
        user_id: &str,
        role: &str,
        meta: &RequestMeta,
    ) -> AuthResult<User> {
        if !users::is_role(role) {
            return Err(AuthError::invalid(
                "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE",
                "You are not allowed to set a non-existent role value",
            ));
        }
        let before = self.target(user_id).await?;
        let now = self.clock.now();
        match actor_id {
            // The acting admin's own standing is checked in the same
            // statement, so a demotion or ban that lands first wins.
            Some(actor) => {
                if user_store::set_role_as_admin(&self.db, actor, user_id, role, now).await? == 0 {
                    self.forget_standing(actor);
                    return Err(AuthError::forbidden(
                        "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE",
                        "You are not allowed to change users role",
                    ));
                }
            }
            None => {
                user_store::set_role(&self.db, user_id, role, now).await?;
            }
        }
        self.forget_standing(user_id);
        let entry = Entry::about(Event::RoleChanged, &before)
            .details(json!({"from": before.role, "to": role, "by": actor_id.unwrap_or("cli")}));
        self.audit(meta, entry).await;
        self.target(user_id).await
    }

    pub async fn create_user_as_admin(
        &self,
        input: NewUserByAdmin,
        meta: &RequestMeta,
    ) -> AuthResult<User> {
        let email = users::normalize_email(&input.email)
            .ok_or_else(|| AuthError::invalid("INVALID_EMAIL", "Invalid email"))?;
        let name = users::check_name(&input.name).map_err(AuthError::name)?;
        if !users::is_role(&input.role) {
            return Err(AuthError::invalid("INVALID_ROLE_TYPE", "Invalid role type"));
        }
        let hash = match &input.password {
            Some(p) => {
                password::check_policy(p).map_err(AuthError::WeakPassword)?;
                Some(self.hasher.hash(p).await?)
            }
            None => None,
        };
        let id = common::ids::new_id();
        let now = self.clock.now();
        let created = user_store::create_with_password(
            &self.db,
            &user_store::NewUser {
                id: &id,
                name: &name,
                email: &email,
                email_verified: input.email_verified,
                image: None,
                role: &input.role,
                now,
            },
            hash.as_deref(),
        )
        .await?;
        if !created {
            return Err(AuthError::invalid(
                "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
                "User already exists. Use another email.",
            ));
        }
        self.audit(
            meta,
            Entry::new(Event::UserCreated)
                .user(&id)
                .email(&email)
                .details(json!({"role": input.role})),
        )
        .await;
        self.target(&id).await
    }

    pub async fn ban(
        &self,
        actor: &User,
        user_id: &str,
        reason: Option<String>,
        expires_in: Option<i64>,
        meta: &RequestMeta,
    ) -> AuthResult<User> {
        if actor.id == user_id {
            return Err(AuthError::invalid(
                "YOU_CANNOT_BAN_YOURSELF",
                "You cannot ban yourself",
            ));
        }
        let target = self.target(user_id).await?;
        let now = self.clock.now();
        let until = expires_in
            .filter(|s| *s > 0)
            .map(|s| now + Duration::seconds(s));
        let reason = reason.unwrap_or_else(|| "No reason".into());
        user_store::ban(&self.db, user_id, &reason, until, now).await?;
        self.forget_standing(user_id);
        self.audit(
            meta,
            Entry::about(Event::UserBanned, &target)
                .details(json!({"reason": reason, "by": actor.id, "until": until.map(|u| common::clock::to_iso(&u))})),
        )
        .await;
        self.target(user_id).await
    }

    pub async fn unban(&self, actor: &User, user_id: &str, meta: &RequestMeta) -> AuthResult<User> {
        let target = self.target(user_id).await?;
        user_store::unban(&self.db, user_id, self.clock.now()).await?;
        self.forget_standing(user_id);
        self.audit(
            meta,
            Entry::about(Event::UserUnbanned, &target).details(json!({"by": actor.id})),
        )
        .await;
        self.target(user_id).await
    }

    pub async fn remove_user(
        &self,
        actor: &User,
        user_id: &str,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        if actor.id == user_id {
            return Err(AuthError::invalid(
                "YOU_CANNOT_REMOVE_YOURSELF",
                "You cannot remove yourself",
            ));
        }
        let target = self.target(user_id).await?;
        user_store::delete(&self.db, user_id).await?;
        self.forget_standing(user_id);
        self.audit(
            meta,
            Entry::about(Event::UserRemoved, &target).details(json!({"by": actor.id})),
        )
        .await;
        Ok(())
    }

    pub async fn set_user_password(
        &self,
        actor: &User,
        user_id: &str,
        new_password: &str,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        password::check_policy(new_password).map_err(AuthError::WeakPassword)?;
        let target = self.target(user_id).await?;
        let hash = self.hasher.hash(new_password).await?;
        user_store::set_password(&self.db, user_id, &hash, self.clock.now()).await?;
        self.audit(
            meta,
            Entry::about(Event::PasswordChanged, &target).details(json!({"by": actor.id})),
        )
        .await;
        Ok(())
    }

    pub async fn user_sessions(&self, user_id: &str) -> AuthResult<Vec<Session>> {
        self.target(user_id).await?;
        Ok(session_store::list_active(&self.db, user_id, self.clock.now()).await?)
    }

    pub async fn revoke_user_session(
        &self,
        actor: &User,
        token: &str,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        if let Some(found) = session_store::find_with_user(&self.db, token).await? {
            session_store::delete_by_token(&self.db, token).await?;
            self.audit(
                meta,
                Entry::new(Event::SessionRevoked)
                    .user(&found.user.id)
                    .details(json!({"scope": "one", "by": actor.id})),
            )
            .await;
        }
        Ok(())
    }

    pub async fn revoke_user_sessions(
        &self,
        actor: &User,
        user_id: &str,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        let n = session_store::delete_all(&self.db, user_id).await?;
        self.audit(
            meta,
            Entry::new(Event::SessionRevoked)
                .user(user_id)
                .details(json!({"scope": "all", "count": n, "by": actor.id})),
        )
        .await;
        Ok(())
    }

    /// Admin profile edit. Passwords have their own route; ids never change.
    pub async fn admin_update_user(
        &self,
        actor: &User,
        user_id: &str,
        data: &serde_json::Map<String, serde_json::Value>,
        meta: &RequestMeta,
    ) -> AuthResult<User> {
        if data.is_empty() {
            return Err(AuthError::invalid("NO_DATA_TO_UPDATE", "No data to update"));
        }
        if data.contains_key("password") {
            return Err(AuthError::invalid(
                "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER",
                "Password cannot be updated via update user",
            ));
        }
        if data.contains_key("id") {
            return Err(AuthError::invalid(
                "USER_ID_CANNOT_BE_UPDATED",
                "User id cannot be updated",
            ));
        }
        let target = self.target(user_id).await?;
        let now = self.clock.now();
        let text = |k: &str| data.get(k).and_then(|v| v.as_str());
        if let Some(name) = text("name") {
            let name = users::check_name(name).map_err(AuthError::name)?;
            user_store::update_profile(&self.db, user_id, Some(&name), None, now).await?;
        }
        if data.contains_key("image") {
            user_store::update_profile(&self.db, user_id, None, Some(text("image")), now).await?;
        }
        if let Some(email) = text("email") {
            let email = users::normalize_email(email)
                .ok_or_else(|| AuthError::invalid("INVALID_EMAIL", "Invalid email"))?;
            user_store::set_email(&self.db, user_id, &email, now).await?;
        }
        if data.get("emailVerified").and_then(|v| v.as_bool()) == Some(true) {
            user_store::mark_verified(&self.db, user_id, now).await?;
        }
        if let Some(role) = text("role")
            && role != target.role
        {
            self.set_role(Some(&actor.id), user_id, role, meta).await?;
        }
        self.forget_standing(user_id);
        self.target(user_id).await
    }
}
