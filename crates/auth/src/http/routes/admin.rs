//! Admin routes (`/admin/*`), admin role only.

use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::Auth;
use crate::access::Permissions;
use crate::admin::NewUserByAdmin;
use crate::cookies::{self, DONT_REMEMBER};
use crate::error::{AuthError, AuthResult, Kind};
use crate::http::extract::{Admin, Body, Cookies, SessionUser, admin_permissions};
use crate::http::reply::Reply;
use crate::http::request::Meta;
use crate::http::views;
use crate::users::store::{self as user_store, SearchField, SearchOperator, SortField, UserQuery};

admin_permissions! {
    SessionList = ("session", "list"), "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS", "You are not allowed to list users sessions";
    SessionRevoke = ("session", "revoke"), "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS", "You are not allowed to revoke users sessions";
    UserBan = ("user", "ban"), "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS", "You are not allowed to ban users";
    UserCreate = ("user", "create"), "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS", "You are not allowed to create users";
    UserDelete = ("user", "delete"), "YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS", "You are not allowed to delete users";
    UserGet = ("user", "get"), "YOU_ARE_NOT_ALLOWED_TO_GET_USER", "You are not allowed to get user";
    UserList = ("user", "list"), "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS", "You are not allowed to list users";
    UserSetPassword = ("user", "set-password"), "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD", "You are not allowed to set users password";
    UserSetRole = ("user", "set-role"), "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE", "You are not allowed to change users role";
    UserUpdate = ("user", "update"), "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS", "You are not allowed to update users";
}

/// `role` may be a string or, as the admin client allows, a one-element list.
fn single_role(v: &Value) -> AuthResult<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Array(a) if a.len() == 1 && a[0].is_string() => {
            Ok(a[0].as_str().unwrap_or_default().to_string())
        }
        _ => Err(AuthError::invalid("INVALID_ROLE_TYPE", "Invalid role type")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetRoleBody {
    user_id: String,
    role: Value,
}

pub async fn set_role(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Admin(who, _): Admin<UserSetRole>,
    Body(b): Body<SetRoleBody>,
) -> AuthResult<Reply> {
    let role = single_role(&b.role)?;
    let user = auth
        .set_role(Some(&who.user.id), &b.user_id, &role, &meta)
        .await?;
    Ok(Reply::json(json!({"user": views::user(&user)})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    search_value: Option<String>,
    search_field: Option<String>,
    search_operator: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
    sort_by: Option<String>,
    sort_direction: Option<String>,
    filter_field: Option<String>,
    filter_value: Option<String>,
}

pub async fn list_users(
    State(auth): State<Auth>,
    Query(q): Query<ListQuery>,
    _: Admin<UserList>,
) -> AuthResult<Reply> {
    let num = |v: &Option<String>, default: i64, field: &str| -> AuthResult<i64> {
        match v {
            None => Ok(default),
            Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                AuthError::validation(format!("[query.{field}] Expected a non-negative number"))
            }),
        }
    };
    let limit = num(&q.limit, 100, "limit")?.min(500);
    let offset = num(&q.offset, 0, "offset")?;
    let mut query = UserQuery {
        search: q.search_value.clone().filter(|s| !s.is_empty()),
        search_field: match q.search_field.as_deref() {
            Some("name") => SearchField::Name,
            _ => SearchField::Email,
        },
        search_operator: match q.search_operator.as_deref() {
            Some("starts_with") => SearchOperator::StartsWith,
            Some("ends_with") => SearchOperator::EndsWith,
            _ => SearchOperator::Contains,
        },
        limit,
        offset,
        sort_by: match q.sort_by.as_deref() {
            Some("email") => SortField::Email,
            Some("name") => SortField::Name,
            _ => SortField::CreatedAt,
        },
        descending: q.sort_direction.as_deref() == Some("desc"),
        ..Default::default()
    };
    match (q.filter_field.as_deref(), q.filter_value.as_deref()) {
        (Some("role"), Some(v)) => query.role = Some(v.to_string()),
        (Some("banned"), Some(v)) => query.banned = Some(v == "true"),
        (Some(other), _) => {
            return Err(AuthError::validation(format!(
                "[query.filterField] Cannot filter on {other}; use role or banned"
            )));
        }
        _ => {}
    }
    let (users, total) = user_store::list(&auth.db, &query).await?;
    Ok(Reply::json(json!({
        "users": users.iter().map(views::user).collect::<Vec<_>>(),
        "total": total,
        "limit": limit,
        "offset": offset,
    })))
}

#[derive(Deserialize)]
pub struct IdQuery {
    id: String,
}

pub async fn get_user(
    State(auth): State<Auth>,
    Query(q): Query<IdQuery>,
    _: Admin<UserGet>,
) -> AuthResult<Reply> {
    let user = user_store::find_by_id(&auth.db, &q.id)
        .await?
        .ok_or_else(AuthError::user_not_found)?;
    Ok(Reply::json(views::user(&user)))
}

#[derive(Deserialize)]
pub struct CreateUserBody {
    email: String,
    password: Option<String>,
    name: String,
    role: Option<Value>,
    #[serde(default)]
    data: Map<String, Value>,
}

pub async fn create_user(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    _: Admin<UserCreate>,
    Body(b): Body<CreateUserBody>,
) -> AuthResult<Reply> {
    let role = match &b.role {
        Some(v) => single_role(v)?,
        None => "student".into(),
    };
    let user = auth
        .create_user_as_admin(
            NewUserByAdmin {
                email: b.email,
                name: b.name,
                password: b.password,
                role,
                email_verified: b
                    .data
                    .get("emailVerified")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
            &meta,
        )
        .await?;
    Ok(Reply::json(json!({"user": views::user(&user)})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUserBody {
    user_id: String,
    data: Map<String, Value>,
}

pub async fn update_user(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Admin(who, _): Admin<UserUpdate>,
    Body(b): Body<UpdateUserBody>,
) -> AuthResult<Reply> {
    let user = auth
        .admin_update_user(&who.user, &b.user_id, &b.data, &meta)
        .await?;
    Ok(Reply::json(views::user(&user)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BanBody {
    user_id: String,
    ban_reason: Option<String>,
    ban_expires_in: Option<i64>,
}

pub async fn ban_user(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Admin(who, _): Admin<UserBan>,
    Body(b): Body<BanBody>,
) -> AuthResult<Reply> {
    let user = auth
        .ban(&who.user, &b.user_id, b.ban_reason, b.ban_expires_in, &meta)
        .await?;
    Ok(Reply::json(json!({"user": views::user(&user)})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdBody {
    user_id: String,
}

pub async fn unban_user(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Admin(who, _): Admin<UserBan>,
    Body(b): Body<UserIdBody>,
) -> AuthResult<Reply> {
    let user = auth.unban(&who.user, &b.user_id, &meta).await?;
    Ok(Reply::json(json!({"user": views::user(&user)})))
}

pub async fn remove_user(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Admin(who, _): Admin<UserDelete>,
    Body(b): Body<UserIdBody>,
) -> AuthResult<Reply> {
    auth.remove_user(&who.user, &b.user_id, &meta).await?;
    Ok(Reply::json(json!({"success": true})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetPasswordBody {
    user_id: String,
    new_password: String,
}

pub async fn set_user_password(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Admin(who, _): Admin<UserSetPassword>,
    Body(b): Body<SetPasswordBody>,
) -> AuthResult<Reply> {
    auth.set_user_password(&who.user, &b.user_id, &b.new_password, &meta)
        .await?;
    Ok(Reply::json(json!({"status": true})))
}

pub async fn list_user_sessions(
    State(auth): State<Auth>,
    _: Admin<SessionList>,
    Body(b): Body<UserIdBody>,
) -> AuthResult<Reply> {
    let sessions = auth.user_sessions(&b.user_id).await?;
    Ok(Reply::json(
        json!({"sessions": sessions.iter().map(views::session).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionTokenBody {
    session_token: String,
}

pub async fn revoke_user_session(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Admin(who, _): Admin<SessionRevoke>,
    Body(b): Body<SessionTokenBody>,
) -> AuthResult<Reply> {
    auth.revoke_user_session(&who.user, &b.session_token, &meta)
        .await?;
    Ok(Reply::json(json!({"success": true})))
}

pub async fn revoke_user_sessions(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Admin(who, _): Admin<SessionRevoke>,
    Body(b): Body<UserIdBody>,
) -> AuthResult<Reply> {
    auth.revoke_user_sessions(&who.user, &b.user_id, &meta)
        .await?;
    Ok(Reply::json(json!({"success": true})))
}

/// The cookie that keeps the admin's own session while they act as someone.
pub const ADMIN_SESSION: &str = "admin_session";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImpersonateBody {
    user_id: String,
}

/// `POST /admin/impersonate-user`: a one-hour session as the user; the
/// admin's session token is kept in the signed `admin_session` cookie.
pub async fn impersonate_user(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(who): SessionUser,
    cookies: Cookies,
    Body(b): Body<ImpersonateBody>,
) -> AuthResult<Reply> {
    let acting = auth.impersonate(&who, &b.user_id, &meta).await?;
    // The admin's "don't remember" choice travels with their token, so
    // stopping restores the cookie as it was.
    let dont_remember = cookies.raw(DONT_REMEMBER).unwrap_or_default().to_string();
    let kept = format!("{}:{}", who.session.token, percent_decode(&dont_remember));
    let body = SessionAndUser {
        session: views::session(&acting.session),
        user: views::user(&acting.user),
    };
    let mut reply = Reply::serialize(&body).clearing_session(&auth);
    reply.cookie(auth.cookies.set(
        ADMIN_SESSION,
        &cookies::sign(auth.secret(), &kept),
        Some(crate::sessions::LIFETIME),
    ));
    Ok(reply.with_session(&auth, &acting.session))
}

/// `POST /admin/stop-impersonating`: back to the admin's own session.
pub async fn stop_impersonating(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(current): SessionUser,
    cookies: Cookies,
) -> AuthResult<Reply> {
    let kept = cookies.signed(ADMIN_SESSION);
    let (token, dont_remember) = match kept.as_deref().and_then(|k| k.split_once(':')) {
        Some((t, d)) => (Some(t), d),
        None => (kept.as_deref(), ""),
    };
    let admin = auth.stop_impersonating(&current, token, &meta).await?;
    let body = SessionAndUser {
        session: views::session(&admin.session),
        user: views::user(&admin.user),
    };
    let mut session = admin.session.clone();
    // A session the admin opened without "remember me" stays a browser-session cookie.
    session.remember_me = dont_remember.is_empty();
    Ok(Reply::serialize(&body)
        .with_session(&auth, &session)
        .clearing_cookie(&auth, ADMIN_SESSION))
}

fn percent_decode(v: &str) -> String {
    percent_encoding::percent_decode_str(v)
        .decode_utf8_lossy()
        .into_owned()
}

#[derive(Serialize)]
struct SessionAndUser {
    session: Value,
    user: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HasPermissionBody {
    permissions: Option<Permissions>,
    /// Deprecated in Better-Auth: validates, then is refused.
    permission: Option<Value>,
}

#[derive(Serialize)]
struct PermissionAnswer {
    error: Option<String>,
    success: bool,
}

/// `POST /admin/has-permission`: whether the signed-in user's role grants
/// the permissions. The session user is always the subject.
pub async fn has_permission(
    State(auth): State<Auth>,
    SessionUser(who): SessionUser,
    Body(b): Body<HasPermissionBody>,
) -> AuthResult<Reply> {
    let permissions = match (b.permissions, b.permission) {
        (Some(_), Some(_)) => {
            return Err(AuthError::validation(
                "[body] Invalid input: more than one option matched",
            ));
        }
        (None, None) => return Err(AuthError::validation("[body] Invalid input")),
        (None, Some(_)) => {
            return Err(AuthError::message(
                Kind::Invalid,
                "invalid permission check. no permission(s) were passed.",
            ));
        }
        (Some(p), None) => p,
    };
    let success = crate::access::has_permission(auth.acting_role(&who), &permissions);
    Ok(Reply::serialize(&PermissionAnswer {
        error: None,
        success,
    }))
}
