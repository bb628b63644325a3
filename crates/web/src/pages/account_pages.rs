//! Sign-up, sign-in, verification, password reset, OIDC consent, and the
//! account page. The forms post to `/api/auth` from `auth.js`.

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Chrome, render, safe_next};
use crate::WebState;
use crate::error::WebError;
use crate::session::{require, viewer};

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    error: Option<String>,
    sig: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    next: String,
    error: Option<String>,
    /// A confirmation from the step before (a password just reset).
    notice: Option<&'static str>,
    providers: Vec<(String, String)>,
    /// The signed authorization request when another application asked us to sign in.
    oauth_query: String,
}

fn provider_label(id: &str) -> String {
    match id {
        "github" => "GitHub".into(),
        "google" => "Google".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    }
}

/// Social-callback errors, in words.
fn describe(code: &str) -> String {
    match code {
        "account_not_linked" => "An account with this email already exists. Sign in with your password, then link the provider from your account page.".into(),
        "email_not_found" => "The provider did not share an email address.".into(),
        "state_mismatch" | "state_not_found" | "state_invalid" => "The sign-in took too long or was started elsewhere. Please try again.".into(),
        "BANNED_USER" => "This account is suspended.".into(),
        other => format!("Sign-in did not complete ({other}). Please try again."),
    }
}

pub async fn login(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let v = viewer(&state, &headers).await?;
    let oauth_query = if q.sig.is_some() {
        raw.unwrap_or_default()
    } else {
        String::new()
    };
    if v.is_some() && oauth_query.is_empty() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    render(&LoginPage {
        chrome: Chrome::of(v.as_ref()),
        next: safe_next(q.next.as_deref()),
        error: q.error.as_deref().map(describe),
        notice: match q.notice.as_deref() {
            Some("password-reset") => {
                Some("Your password has been reset. Sign in with the new password.")
            }
            _ => None,
        },
        providers: state
            .auth
            .configured_providers()
            .into_iter()
            .map(|p| {
                let label = provider_label(&p);
                (p, label)
            })
            .collect(),
        oauth_query,
    })
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    chrome: Chrome,
}

pub async fn register(
    State(state): State<WebState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if viewer(&state, &headers).await?.is_some() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    render(&RegisterPage {
        chrome: Chrome::of(None),
    })
}

#[derive(Deserialize)]
pub struct VerifyQuery {
    email: Option<String>,
    error: Option<String>,
    verified: Option<String>,
}

#[derive(Template)]
#[template(path = "verify_email.html")]
struct VerifyPage {
    chrome: Chrome,
    email: String,
    error: Option<String>,
    verified: bool,
}

pub async fn verify_email(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<VerifyQuery>,
) -> Result<Response, WebError> {
    let v = viewer(&state, &headers).await?;
    let email = q
        .email
        .or_else(|| v.as_ref().map(|v| v.user().email.clone()))
        .unwrap_or_default();
    render(&VerifyPage {
        chrome: Chrome::of(v.as_ref()),
        email,
        error: q.error.map(|e| match e.as_str() {
            "TOKEN_EXPIRED" | "INVALID_TOKEN" => {
                "This verification link has expired or was already used. Send a new one below."
                    .to_string()
            }
            other => format!("Verification failed ({other})."),
        }),
        verified: q.verified.is_some(),
    })
}

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage {
    chrome: Chrome,
}

pub async fn forgot_password(
    State(state): State<WebState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&state, &headers).await?;
    render(&ForgotPage {
        chrome: Chrome::of(v.as_ref()),
    })
}

#[derive(Deserialize)]
pub struct ResetQuery {
    token: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    chrome: Chrome,
    token: String,
    expired: bool,
}

pub async fn reset_password(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<ResetQuery>,
) -> Result<Response, WebError> {
    let v = viewer(&state, &headers).await?;
    render(&ResetPage {
        chrome: Chrome::of(v.as_ref()),
        expired: q.error.is_some() || q.token.as_deref().is_none_or(str::is_empty),
        token: q.token.unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    chrome: Chrome,
    client_name: String,
    scopes: Vec<&'static str>,
    oauth_query: String,
}

fn scope_text(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "openid" => "Confirm who you are",
        "profile" => "See your name and picture",
        "email" => "See your email address",
        "offline_access" => "Stay connected while you are away",
        _ => return None,
    })
}

pub async fn consent(
    State(state): State<WebState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let raw = raw.unwrap_or_default();
    let v = require(&state, &headers, &format!("/consent?{raw}")).await?;
    let verified =
        auth::oidc::signed_query::verify(state.auth.secret(), &raw, state.auth.clock.now())
            .map_err(|_| WebError::NotFound)?;
    let get = |k: &str| {
        verified
            .params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let client = state
        .auth
        .find_client(&get("client_id"))
        .await?
        .ok_or(WebError::NotFound)?;
    let scope = get("scope");
    render(&ConsentPage {
        chrome: Chrome::of(Some(&v)),
        client_name: client.name,
        scopes: scope.split_whitespace().filter_map(scope_text).collect(),
        oauth_query: raw,
    })
}

/// One row of the sessions table.
struct SessionRow {
    token: String,
    device: String,
    /// The full header, shown as a tooltip.
    user_agent: String,
    ip: String,
    created: String,
    current: bool,
}

/// An application the user let sign them in.
struct AppRow {
    id: String,
    name: String,
    granted: String,
    /// What its scopes allow, in words.
    can: String,
}

/// A passkey on the account page.
struct PasskeyRow {
    id: String,
    name: String,
    added: String,
    used: Option<String>,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    #[serde(rename = "two-factor")]
    two_factor: Option<String>,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    email: String,
    email_verified: bool,
    sessions: Vec<SessionRow>,
    accounts: Vec<(String, String)>,
    linkable: Vec<(String, String)>,
    apps: Vec<AppRow>,
    two_factor_on: bool,
    two_factor_just_on: bool,
    has_totp: bool,
    backup_codes_left: usize,
    needs_second_factor: bool,
    passkeys: Vec<PasskeyRow>,
}

pub async fn account(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<AccountQuery>,
) -> Result<Response, WebError> {
    let v = require(&state, &headers, "/account").await?;
    let sessions = state
        .auth
        .list_sessions(&v.user().id)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            current: s.id == v.session.session.id,
            device: crate::device::describe(s.user_agent.as_deref()),
            user_agent: s.user_agent.clone().unwrap_or_default(),
            ip: s.ip_address.clone().unwrap_or_default(),
            created: s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            token: s.token,
        })
        .collect();
    let linked = auth::users::store::accounts_of(&state.auth.db, &v.user().id)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let accounts: Vec<(String, String)> = linked
        .iter()
        .map(|a| {
            let label = if a.provider_id == "credential" {
                "Password".to_string()
            } else {
                provider_label(&a.provider_id)
            };
            (a.provider_id.clone(), label)
        })
        .collect();
    let linkable = state
        .auth
        .configured_providers()
        .into_iter()
        .filter(|p| !linked.iter().any(|a| &a.provider_id == p))
        .map(|p| {
            let label = provider_label(&p);
            (p, label)
        })
        .collect();
    let apps = state
        .auth
        .list_consents(&v.user().id)
        .await?
        .into_iter()
        .map(|c| AppRow {
            can: c
                .scopes
                .split_whitespace()
                .filter_map(scope_text)
                .collect::<Vec<_>>()
                .join("; "),
            granted: c.created_at.format("%Y-%m-%d").to_string(),
            name: c.client_name,
            id: c.id,
        })
        .collect();
    let passkeys = state
        .auth
        .passkeys_of(&v.user().id)
        .await?
        .into_iter()
        .map(|p| PasskeyRow {
            name: p.name.unwrap_or_else(|| "Passkey".into()),
            added: p.created_at.format("%Y-%m-%d").to_string(),
            used: p.last_used_at.map(|t| t.format("%Y-%m-%d").to_string()),
            id: p.id,
        })
        .collect();
    render(&AccountPage {
        chrome: Chrome::of(Some(&v)),
        email: v.user().email.clone(),
        email_verified: v.user().email_verified,
        sessions,
        accounts,
        linkable,
        apps,
        two_factor_on: v.user().two_factor_enabled,
        two_factor_just_on: q.two_factor.as_deref() == Some("on"),
        has_totp: state.auth.has_totp(v.user()).await?,
        backup_codes_left: state.auth.backup_codes_left(v.user()).await?,
        needs_second_factor: v.needs_second_factor(),
        passkeys,
    })
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "two_factor.html")]
struct TwoFactorPage {
    chrome: Chrome,
    next: String,
    methods: Vec<&'static str>,
    totp: bool,
}

/// `/two-factor`: the second step of a sign-in, for the challenge in the
/// browser's `two_factor` cookie.
pub async fn two_factor(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    let v = viewer(&state, &headers).await?;
    if v.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    let cookies = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let methods = match state.auth.cookie_value(cookies, "two_factor") {
        Some(token) => state
            .auth
            .challenge_methods(&token)
            .await?
            .unwrap_or_default(),
        None => Vec::new(),
    };
    render(&TwoFactorPage {
        chrome: Chrome::of(None),
        next: safe_next(q.next.as_deref()),
        totp: methods.contains(&"totp"),
        methods,
    })
}

#[derive(Template)]
#[template(path = "totp_setup.html")]
struct TotpSetupPage {
    chrome: Chrome,
    qr_svg: Option<String>,
    key: String,
}

/// `/account/two-factor`: the QR code (drawn here, as SVG) of the
/// authenticator set-up in progress, and the form that confirms it.
pub async fn totp_setup(
    State(state): State<WebState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = require(&state, &headers, "/account/two-factor").await?;
    let pending = state.auth.pending_totp(v.user()).await?;
    let (qr_svg, key) = match pending {
        Some((uri, key)) => (Some(crate::qr::svg(&uri)?), key),
        None => (None, String::new()),
    };
    let mut res = render(&TotpSetupPage {
        chrome: Chrome::of(Some(&v)),
        qr_svg,
        key,
    })?;
    // The page carries a secret: never cached.
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
