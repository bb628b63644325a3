//! Password recovery routes.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::json;

use crate::Auth;
use crate::error::{AuthError, AuthResult};
use crate::http::reply::Reply;
use crate::http::request::{Meta, check_callback_url, check_redirect, parse_body};
use crate::recovery::RESET_MESSAGE;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestBody {
    email: String,
    redirect_to: Option<String>,
}

/// `POST /request-password-reset` and its older alias `/forget-password`.
pub async fn request(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> AuthResult<Reply> {
    let b: RequestBody = parse_body(&headers, &body, false)?;
    check_redirect(
        &auth,
        b.redirect_to.as_deref(),
        "INVALID_REDIRECT_URL",
        "redirectURL",
    )?;
    auth.request_password_reset(&b.email, b.redirect_to.as_deref(), &meta)
        .await?;
    Ok(Reply::json(
        json!({"status": true, "message": RESET_MESSAGE}),
    ))
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
}

/// `GET /reset-password/:token`: the mailed link. Redirects to the app with
/// the token, or with `error=INVALID_TOKEN` when it is unknown or expired.
pub async fn follow_link(
    State(auth): State<Auth>,
    Path(token): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> AuthResult<Reply> {
    let Some(callback) = q.callback_url.filter(|c| !c.is_empty()) else {
        return Err(AuthError::validation(
            "[query.callbackURL] callbackURL is required",
        ));
    };
    check_callback_url(&auth, Some(&callback))?;
    let sep = if callback.contains('?') { '&' } else { '?' };
    let target = if auth.reset_token_status(&token).await? {
        format!("{callback}{sep}token={}", crate::cookies::encode(&token))
    } else {
        format!("{callback}{sep}error=INVALID_TOKEN")
    };
    Ok(Reply::redirect(&target))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetBody {
    new_password: String,
    token: Option<String>,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

pub async fn reset(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> AuthResult<Reply> {
    let b: ResetBody = parse_body(&headers, &body, false)?;
    let token = b.token.or(q.token).ok_or_else(AuthError::invalid_token)?;
    auth.reset_password(&token, &b.new_password, &meta).await?;
    Ok(Reply::json(json!({"status": true})))
}
