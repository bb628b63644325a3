//! Social sign-in routes: start at `/sign-in/social`, come back to `/callback/:provider`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::Auth;
use crate::cookies::{self, sign};
use crate::error::AuthResult;
use crate::http::extract::{Body, Cookies, SessionUser};
use crate::http::reply::Reply;
use crate::http::request::{Meta, check_callback_url, check_redirect, parse_body};
use crate::social::{Finished, Started, StateData};

const STATE_COOKIE: &str = "state";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocialBody {
    provider: String,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
    #[serde(rename = "errorCallbackURL")]
    error_callback_url: Option<String>,
    #[serde(rename = "newUserCallbackURL")]
    new_user_callback_url: Option<String>,
    disable_redirect: Option<bool>,
}

impl SocialBody {
    /// `callbackURL` and `errorCallbackURL` must be ours (see `check_redirect`).
    fn check_return_urls(&self, auth: &Auth) -> AuthResult<()> {
        check_callback_url(auth, self.callback_url.as_deref())?;
        check_redirect(
            auth,
            self.error_callback_url.as_deref(),
            "INVALID_ERROR_CALLBACK_URL",
            "errorCallbackURL",
        )
    }

    /// Starts the provider's authorization; the state row keeps where to
    /// return and, for a link, whose account it adds to.
    async fn start(
        &self,
        auth: &Auth,
        new_user_url: Option<String>,
        link_user_id: Option<String>,
    ) -> AuthResult<Started> {
        auth.start_social(&self.provider, |code_verifier| StateData {
            provider: self.provider.clone(),
            callback_url: self.callback_url.clone().unwrap_or_else(|| "/".into()),
            error_url: self.error_callback_url.clone(),
            new_user_url,
            code_verifier,
            link_user_id,
            nonce: None,
        })
        .await
    }
}

/// The provider's authorization URL, and the signed state (five minutes)
/// the callback checks.
fn started_reply(auth: &Auth, started: &Started, redirect: bool) -> Reply {
    let mut reply = Reply::json(json!({"url": started.url, "redirect": redirect}));
    reply.cookie(auth.cookies.set(
        STATE_COOKIE,
        &sign(auth.secret(), &started.state),
        Some(chrono::Duration::seconds(300)),
    ));
    reply
}

pub async fn sign_in(State(auth): State<Auth>, Body(b): Body<SocialBody>) -> AuthResult<Reply> {
    b.check_return_urls(&auth)?;
    check_redirect(
        &auth,
        b.new_user_callback_url.as_deref(),
        "INVALID_NEW_USER_CALLBACK_URL",
        "newUserCallbackURL",
    )?;
    let started = b
        .start(&auth, b.new_user_callback_url.clone(), None)
        .await?;
    let redirect = !b.disable_redirect.unwrap_or(false);
    let mut reply = started_reply(&auth, &started, redirect);
    if redirect {
        reply.header(header::LOCATION, &started.url);
    }
    Ok(reply)
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

fn error_redirect(auth: &Auth, error_url: Option<&str>, code: &str) -> Reply {
    let base = error_url
        .map(str::to_string)
        .unwrap_or_else(|| auth.auth_url("/error"));
    let sep = if base.contains('?') { '&' } else { '?' };
    Reply::redirect(&format!("{base}{sep}error={}", cookies::encode(code)))
}

pub async fn callback(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Path(provider): Path<String>,
    cookies: Cookies,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Some(state) = q.state.filter(|s| !s.is_empty()) else {
        return error_redirect(&auth, None, "state_not_found").into_response();
    };
    if let Some(err) = q.error.filter(|e| !e.is_empty()) {
        let safe: String = err
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return error_redirect(&auth, None, &safe)
            .clearing_cookie(&auth, STATE_COOKIE)
            .into_response();
    }
    let cookie_state = cookies.signed(STATE_COOKIE);
    let code = q.code.unwrap_or_default();
    if code.is_empty() {
        return error_redirect(&auth, None, "no_code").into_response();
    }
    match auth
        .finish_social(
            &provider,
            &state,
            cookie_state.as_deref(),
            &code,
            q.iss.as_deref(),
            &meta,
        )
        .await
    {
        Ok(Finished::Linked { state }) => Reply::redirect(&state.callback_url)
            .clearing_cookie(&auth, STATE_COOKIE)
            .into_response(),
        Ok(Finished::SignedIn {
            auth: signed,
            created,
            state,
        }) => {
            let target = match (created, &state.new_user_url) {
                (true, Some(u)) => u.clone(),
                _ => state.callback_url.clone(),
            };
            Reply::redirect(&target)
                .with_session(&auth, &signed.session)
                .clearing_cookie(&auth, STATE_COOKIE)
                .into_response()
        }
        Err(e) => error_redirect(&auth, e.error_url.as_deref(), e.code)
            .clearing_cookie(&auth, STATE_COOKIE)
            .into_response(),
    }
}

#[derive(Deserialize)]
pub struct ErrorQuery {
    error: Option<String>,
}

/// The default landing place for OAuth errors.
pub async fn error_page(Query(q): Query<ErrorQuery>) -> impl IntoResponse {
    let code: String = q
        .error
        .unwrap_or_else(|| "unknown".into())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in error</title></head><body style=\"font-family:system-ui,sans-serif\"><h1>Sign-in did not complete</h1><p>Error: <code>{code}</code></p><p><a href=\"/\">Back</a></p></body></html>"
    ))
}

/// `POST /link-social`: the signed-in user adds a provider to their account.
pub async fn link(
    State(auth): State<Auth>,
    SessionUser(current): SessionUser,
    Body(b): Body<SocialBody>,
) -> AuthResult<Reply> {
    b.check_return_urls(&auth)?;
    let started = b.start(&auth, None, Some(current.user.id)).await?;
    Ok(started_reply(&auth, &started, true))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnlinkBody {
    account_id: Option<String>,
    provider_id: Option<String>,
}

/// `POST /unlink-account`: `{accountId}` (Better-Auth 1.7) or `{providerId, accountId?}` (1.6).
pub async fn unlink(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(current): SessionUser,
    headers: HeaderMap,
    body: Bytes,
) -> AuthResult<Reply> {
    // An unfresh session is refused before its body is read.
    if !auth.is_fresh(&current.session) {
        return Err(crate::error::AuthError::forbidden(
            "SESSION_NOT_FRESH",
            "Session is not fresh",
        ));
    }
    let b: UnlinkBody = parse_body(&headers, &body, false)?;
    auth.unlink_account(
        &current.user,
        b.account_id.as_deref(),
        b.provider_id.as_deref(),
        &meta,
    )
    .await?;
    Ok(Reply::json(json!({"status": true})))
}
