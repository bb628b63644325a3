//! The signed-in user's own account: password, profile, linked accounts.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::Auth;
use crate::error::{AuthError, AuthResult};
use crate::http::extract::{Body, SessionUser};
use crate::http::reply::Reply;
use crate::http::request::Meta;
use crate::http::views;
use crate::users::store as user_store;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordBody {
    new_password: String,
    current_password: String,
    revoke_other_sessions: Option<bool>,
}

pub async fn change_password(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(current): SessionUser,
    Body(b): Body<ChangePasswordBody>,
) -> AuthResult<Reply> {
    let new_session = auth
        .change_password(
            &current,
            &b.current_password,
            &b.new_password,
            b.revoke_other_sessions.unwrap_or(false),
            &meta,
        )
        .await?;
    let user = user_store::find_by_id(&auth.db, &current.user.id)
        .await?
        .ok_or_else(AuthError::user_not_found)?;
    Ok(match new_session {
        Some(s) => Reply::json(json!({"token": s.token, "user": views::user(&user)}))
            .with_session(&auth, &s),
        None => Reply::json(json!({"token": null, "user": views::user(&user)})),
    })
}

pub async fn update_user(
    State(auth): State<Auth>,
    SessionUser(current): SessionUser,
    Body(b): Body<Map<String, Value>>,
) -> AuthResult<Reply> {
    if b.contains_key("email") {
        return Err(AuthError::invalid(
            "EMAIL_CAN_NOT_BE_UPDATED",
            "Email can not be updated",
        ));
    }
    for key in b.keys() {
        if !matches!(key.as_str(), "name" | "image") {
            return Err(AuthError::invalid(
                "FIELD_NOT_ALLOWED",
                format!("{key} is not allowed to be set"),
            ));
        }
    }
    let name = match b.get("name") {
        Some(Value::String(n)) => Some(crate::users::check_name(n).map_err(AuthError::name)?),
        Some(_) => {
            return Err(AuthError::validation(
                "[body.name] Expected a non-empty string",
            ));
        }
        None => None,
    };
    let image = match b.get("image") {
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(Value::Null) => Some(None),
        Some(_) => {
            return Err(AuthError::validation(
                "[body.image] Expected a string or null",
            ));
        }
        None => None,
    };
    if name.is_none() && image.is_none() {
        return Err(AuthError::NoFields);
    }
    user_store::update_profile(
        &auth.db,
        &current.user.id,
        name.as_deref(),
        image.as_ref().map(|i| i.as_deref()),
        auth.clock.now(),
    )
    .await?;
    auth.forget_standing(&current.user.id);
    Ok(Reply::json(json!({"status": true})).with_session(&auth, &current.session))
}

pub async fn list_accounts(
    State(auth): State<Auth>,
    SessionUser(current): SessionUser,
) -> AuthResult<Reply> {
    let accounts = user_store::accounts_of(&auth.db, &current.user.id).await?;
    Ok(Reply::json(Value::Array(
        accounts.iter().map(views::account).collect(),
    )))
}
