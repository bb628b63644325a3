//! Session routes: get-session, sign-out, list and revoke.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, header};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Auth;
use crate::error::{AuthError, AuthResult};
use crate::http::extract::{Body, SessionUser};
use crate::http::reply::Reply;
use crate::http::request::{Meta, check_callback_url, parse_body, session_token};
use crate::http::views;
use crate::session_ops::SessionRead;

pub async fn get_session(State(auth): State<Auth>, headers: HeaderMap) -> AuthResult<Reply> {
    let read = match session_token(&headers, &auth) {
        Some(token) => auth.read_session(&token).await?,
        None => SessionRead::None,
    };
    let mut reply = match read {
        SessionRead::None => Reply::json(Value::Null),
        SessionRead::Expired => Reply::json(Value::Null).clearing_session(&auth),
        SessionRead::Valid { auth: a, refreshed } => {
            let jwt = auth.issue_session_jwt(&a).await?;
            let mut r = Reply::json(
                json!({"session": views::session(&a.session), "user": views::user(&a.user)}),
            );
            if refreshed {
                r = r.with_session(&auth, &a.session);
            }
            r.with_header(HeaderName::from_static("set-auth-jwt"), &jwt)
        }
    };
    reply.header(header::CACHE_CONTROL, "no-store");
    reply.header(header::PRAGMA, "no-cache");
    Ok(reply)
}

#[derive(Deserialize, Default)]
struct SignOutBody {
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
}

pub async fn sign_out(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> AuthResult<Reply> {
    let b: SignOutBody = parse_body(&headers, &body, false)?;
    check_callback_url(&auth, b.callback_url.as_deref())?;
    if let Some(token) = session_token(&headers, &auth) {
        auth.sign_out(&token, &meta).await?;
    }
    Ok(Reply::json(json!({"success": true})).clearing_session(&auth))
}

pub async fn list_sessions(
    State(auth): State<Auth>,
    SessionUser(current): SessionUser,
) -> AuthResult<Reply> {
    if !auth.is_fresh(&current.session) {
        return Err(AuthError::forbidden(
            "SESSION_NOT_FRESH",
            "Session is not fresh",
        ));
    }
    let sessions = auth.list_sessions(&current.user.id).await?;
    Ok(Reply::json(Value::Array(
        sessions.iter().map(views::session).collect(),
    )))
}

#[derive(Deserialize)]
pub struct RevokeBody {
    token: String,
}

pub async fn revoke_session(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(current): SessionUser,
    Body(b): Body<RevokeBody>,
) -> AuthResult<Reply> {
    auth.revoke_session(&current, &b.token, &meta).await?;
    let reply = Reply::json(json!({"status": true}));
    Ok(if b.token == current.session.token {
        reply.clearing_session(&auth)
    } else {
        reply
    })
}

pub async fn revoke_sessions(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(current): SessionUser,
) -> AuthResult<Reply> {
    auth.revoke_sessions(&current, false, &meta).await?;
    Ok(Reply::json(json!({"status": true})).clearing_session(&auth))
}

pub async fn revoke_other_sessions(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(current): SessionUser,
) -> AuthResult<Reply> {
    auth.revoke_sessions(&current, true, &meta).await?;
    Ok(Reply::json(json!({"status": true})))
}
