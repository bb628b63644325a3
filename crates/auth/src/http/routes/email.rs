//! Email and password routes: sign-up, sign-in, verification.

use axum::extract::{Query, State};
use axum::http::header;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::Auth;
use crate::accounts::{SignIn, SignInOutcome, SignUp, SignUpOutcome};
use crate::error::{AuthError, AuthResult};
use crate::http::extract::{Body, Cookies, FormBody, MaybeSession};
use crate::http::reply::Reply;
use crate::http::request::{Meta, check_callback_url};
use crate::http::routes::two_factor;
use crate::http::views;

/// Fields a client may not set on itself.
const PROTECTED: [&str; 6] = [
    "role",
    "emailVerified",
    "banned",
    "banReason",
    "banExpires",
    "id",
];

fn refuse_protected(extra: &Map<String, Value>) -> AuthResult<()> {
    match PROTECTED.iter().find(|f| extra.contains_key(**f)) {
        Some(f) => Err(AuthError::invalid(
            "FIELD_NOT_ALLOWED",
            format!("{f} is not allowed to be set"),
        )),
        None => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignUpBody {
    name: String,
    email: String,
    password: String,
    image: Option<String>,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
    remember_me: Option<bool>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

pub async fn sign_up(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Body(b): FormBody<SignUpBody>,
) -> AuthResult<Reply> {
    refuse_protected(&b.extra)?;
    check_callback_url(&auth, b.callback_url.as_deref())?;
    let outcome = auth
        .sign_up(
            SignUp {
                name: b.name,
                email: b.email,
                password: b.password,
                image: b.image,
                callback_url: b.callback_url,
                remember_me: b.remember_me.unwrap_or(true),
            },
            &meta,
        )
        .await?;
    Ok(match outcome {
        SignUpOutcome::PendingVerification(user) => {
            Reply::json(json!({"token": null, "user": views::user(&user)}))
        }
        SignUpOutcome::SignedIn(a) => {
            Reply::json(json!({"token": a.session.token, "user": views::user(&a.user)}))
                .with_session(&auth, &a.session)
        }
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInBody {
    email: String,
    password: String,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
    remember_me: Option<bool>,
    /// Set by the login page of an OpenID Connect authorization in progress.
    #[serde(rename = "oauth_query")]
    oauth_query: Option<String>,
}

pub async fn sign_in(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    cookies: Cookies,
    Body(b): FormBody<SignInBody>,
) -> AuthResult<Reply> {
    check_callback_url(&auth, b.callback_url.as_deref())?;
    let outcome = auth
        .sign_in(
            SignIn {
                email: b.email,
                password: b.password,
                remember_me: b.remember_me.unwrap_or(true),
                callback_url: b.callback_url.clone(),
                trusted_device: cookies.signed(two_factor::TRUST_DEVICE),
                oauth_query: b.oauth_query.clone(),
            },
            &meta,
        )
        .await?;
    let (a, trust) = match outcome {
        SignInOutcome::SignedIn { auth, trust } => (auth, trust),
        SignInOutcome::SecondFactor(challenge) => {
            return Ok(two_factor::challenge_reply(&auth, &challenge));
        }
    };
    let mut body =
        json!({"redirect": false, "token": a.session.token, "user": views::user(&a.user)});
    let mut reply_location = None;
    if let Some(query) = b.oauth_query.as_deref() {
        // Signed in for another application: go on to consent or back to it.
        let url = auth.resume_authorization(&a, query).await?;
        body["redirect"] = json!(true);
        body["url"] = json!(url);
        let reply = Reply::json(body).with_session(&auth, &a.session);
        return Ok(two_factor::with_trust(&auth, reply, trust.as_deref()));
    }
    if let Some(url) = b.callback_url {
        body["redirect"] = json!(true);
        body["url"] = json!(url);
        reply_location = Some(url);
    }
    let mut reply = Reply::json(body).with_session(&auth, &a.session);
    if let Some(url) = reply_location {
        reply.header(header::LOCATION, &url);
    }
    Ok(two_factor::with_trust(&auth, reply, trust.as_deref()))
}

#[derive(Deserialize)]
pub struct SendVerificationBody {
    email: String,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
}

pub async fn send_verification_email(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    MaybeSession(session): MaybeSession,
    Body(b): Body<SendVerificationBody>,
) -> AuthResult<Reply> {
    check_callback_url(&auth, b.callback_url.as_deref())?;
    match session {
        Some(session) => {
            let requested = crate::users::normalize_email(&b.email);
            if requested.as_deref() != Some(session.user.email.as_str()) {
                return Err(AuthError::invalid("EMAIL_MISMATCH", "Email mismatch"));
            }
            if session.user.email_verified {
                return Err(AuthError::invalid(
                    "EMAIL_ALREADY_VERIFIED",
                    "Email is already verified",
                ));
            }
            auth.send_verification(&session.user, b.callback_url.as_deref(), &meta)
                .await?;
        }
        None => {
            auth.resend_verification_anonymous(&b.email, b.callback_url.as_deref(), &meta)
                .await?
        }
    }
    Ok(Reply::json(json!({"status": true})))
}

#[derive(Deserialize)]
pub struct VerifyQuery {
    token: String,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
}

/// Follows a verification link: redirects to `callbackURL` (with `?error=` on
/// failure) when one is given, else answers JSON.
pub async fn verify_email(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Query(q): Query<VerifyQuery>,
) -> AuthResult<Reply> {
    check_callback_url(&auth, q.callback_url.as_deref())?;
    let result = auth.verify_email(&q.token, &meta).await;
    match (result, q.callback_url) {
        (Ok(_), Some(cb)) => Ok(Reply::redirect(&cb)),
        (Ok(_), None) => Ok(Reply::json(json!({"status": true, "user": null}))),
        (Err(AuthError::Coded { code, .. }), Some(cb)) => {
            let sep = if cb.contains('?') { '&' } else { '?' };
            Ok(Reply::redirect(&format!("{cb}{sep}error={code}")))
        }
        (Err(e), _) => Err(e),
    }
}
