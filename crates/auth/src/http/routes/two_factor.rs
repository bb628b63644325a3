//! Better-Auth's `twoFactor` plugin routes (`/two-factor/*`, all POST) and
//! the second-step answer of `/sign-in/email`.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Auth;
use crate::cookies::{self, DONT_REMEMBER, SESSION_TOKEN};
use crate::error::AuthResult;
use crate::http::extract::{Body, Cookies, MaybeSession, SessionUser};
use crate::http::reply::Reply;
use crate::http::request::Meta;
use crate::http::views;
use crate::sessions::Authenticated;
use crate::two_factor::{self as domain, Challenge, Enabled, Passed, Step};

/// The signed challenge of a sign-in waiting for its second step.
pub const TWO_FACTOR: &str = "two_factor";
/// The signed "this device is trusted" value.
pub const TRUST_DEVICE: &str = "trust_device";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChallengeView {
    two_factor_redirect: bool,
    two_factor_methods: Vec<&'static str>,
}

/// `/sign-in/email`'s answer when a second step is needed: no session, and
/// the challenge in a signed cookie for ten minutes.
pub fn challenge_reply(auth: &Auth, challenge: &Challenge) -> Reply {
    let mut reply = Reply::serialize(&ChallengeView {
        two_factor_redirect: true,
        two_factor_methods: challenge.methods.clone(),
    });
    reply.cookie(auth.cookies.delete(SESSION_TOKEN));
    reply.cookie(auth.cookies.delete("session_data"));
    reply.cookie(auth.cookies.set(
        TWO_FACTOR,
        &cookies::sign(auth.secret(), &challenge.token),
        Some(domain::CHALLENGE_TTL),
    ));
    reply
}

/// Adds the trusted-device cookie (30 days) when there is one to set.
pub fn with_trust(auth: &Auth, mut reply: Reply, trust: Option<&str>) -> Reply {
    if let Some(value) = trust {
        reply.cookie(auth.cookies.set(
            TRUST_DEVICE,
            &cookies::sign(auth.secret(), value),
            Some(domain::TRUST_TTL),
        ));
    }
    reply
}

#[derive(Serialize)]
struct TokenAndUser {
    token: Option<String>,
    user: Value,
    /// Set when the sign-in continues an OpenID Connect authorization.
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect: Option<bool>,
}

/// The answer to a second step that passed: `{token, user}`, the session
/// cookie when a session was opened or rotated, the trust cookie, and the
/// challenge cookie removed.
async fn passed_reply(auth: &Auth, passed: Passed, sign_in: bool) -> AuthResult<Reply> {
    let mut url = None;
    if let (Some(query), Some(session)) = (&passed.resume.oauth_query, &passed.session) {
        let who = Authenticated {
            session: session.clone(),
            user: passed.user.clone(),
        };
        url = Some(auth.resume_authorization(&who, query).await?);
    }
    let body = TokenAndUser {
        token: passed.token.clone(),
        user: views::user(&passed.user),
        redirect: url.as_ref().map(|_| true),
        url,
    };
    let mut reply = Reply::serialize(&body);
    if let Some(session) = &passed.session {
        reply = reply.with_session(auth, session);
    }
    if sign_in {
        reply = reply.clearing_cookie(auth, TWO_FACTOR);
    }
    if passed.trust.is_some() {
        // A trusted device is a remembered one.
        reply = reply.clearing_cookie(auth, DONT_REMEMBER);
    }
    Ok(with_trust(auth, reply, passed.trust.as_deref()))
}

#[derive(Deserialize)]
pub struct EnableBody {
    password: String,
    method: Option<String>,
    issuer: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TotpEnabledView {
    method: &'static str,
    #[serde(rename = "totpURI")]
    totp_uri: String,
    backup_codes: Vec<String>,
}

#[derive(Serialize)]
struct MethodView {
    method: &'static str,
}

/// `POST /two-factor/enable`: TOTP returns the URI and backup codes (on
/// once a code is verified); OTP turns two factors on at once.
pub async fn enable(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(who): SessionUser,
    Body(b): Body<EnableBody>,
) -> AuthResult<Reply> {
    let method = b.method.as_deref().unwrap_or("totp");
    Ok(
        match auth
            .enable_two_factor(&who, &b.password, method, b.issuer.as_deref(), &meta)
            .await?
        {
            Enabled::Totp { uri, backup_codes } => Reply::serialize(&TotpEnabledView {
                method: "totp",
                totp_uri: uri,
                backup_codes,
            }),
            Enabled::Otp { session } => {
                Reply::serialize(&MethodView { method: "otp" }).with_session(&auth, &session)
            }
        },
    )
}

#[derive(Deserialize)]
pub struct PasswordBody {
    password: String,
}

#[derive(Serialize)]
struct Status {
    status: bool,
}

/// `POST /two-factor/disable`.
pub async fn disable(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(who): SessionUser,
    cookies: Cookies,
    Body(b): Body<PasswordBody>,
) -> AuthResult<Reply> {
    let trust = cookies.signed(TRUST_DEVICE);
    let session = auth
        .disable_two_factor(&who, &b.password, trust.as_deref(), &meta)
        .await?;
    Ok(Reply::serialize(&Status { status: true })
        .with_session(&auth, &session)
        .clearing_cookie(&auth, TRUST_DEVICE))
}

#[derive(Serialize)]
struct TotpUriView {
    #[serde(rename = "totpURI")]
    totp_uri: String,
}

/// `POST /two-factor/get-totp-uri`.
pub async fn get_totp_uri(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(who): SessionUser,
    Body(b): Body<PasswordBody>,
) -> AuthResult<Reply> {
    let uri = auth.totp_uri_of(&who, &b.password, &meta).await?;
    Ok(Reply::serialize(&TotpUriView { totp_uri: uri }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeBody {
    code: String,
    trust_device: Option<bool>,
    disable_session: Option<bool>,
}

/// Which second factor a `/two-factor/verify-*` route checks codes
/// against; the router names one per route (`verify::<Totp>`).
pub trait CodeFactor: Send + Sync + 'static {
    const FACTOR: Factor;
}

pub enum Factor {
    Totp,
    Otp,
    BackupCode,
}

pub struct Totp;
impl CodeFactor for Totp {
    const FACTOR: Factor = Factor::Totp;
}
pub struct Otp;
impl CodeFactor for Otp {
    const FACTOR: Factor = Factor::Otp;
}
pub struct BackupCode;
impl CodeFactor for BackupCode {
    const FACTOR: Factor = Factor::BackupCode;
}

/// `POST /two-factor/verify-totp`, `/verify-otp` and `/verify-backup-code`
/// share one shape: the step (a sign-in in progress or the session), the
/// code, then the reply.
pub async fn verify<F: CodeFactor>(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    MaybeSession(session): MaybeSession,
    cookies: Cookies,
    Body(b): Body<CodeBody>,
) -> AuthResult<Reply> {
    let challenge = cookies.signed(TWO_FACTOR);
    let step = Step::of(session.as_ref(), challenge.as_deref())?;
    let sign_in = matches!(step, Step::SignIn(_));
    let trust = b.trust_device.unwrap_or(false);
    let (passed, sign_in) = match F::FACTOR {
        Factor::Totp => (
            auth.verify_totp(step, &b.code, trust, &meta).await?,
            sign_in,
        ),
        Factor::Otp => (auth.verify_otp(step, &b.code, trust, &meta).await?, sign_in),
        Factor::BackupCode => {
            let disable_session = b.disable_session.unwrap_or(false);
            let passed = auth
                .verify_backup_code(step, &b.code, trust, disable_session, &meta)
                .await?;
            (passed, sign_in && !disable_session)
        }
    };
    passed_reply(&auth, passed, sign_in).await
}

/// `POST /two-factor/send-otp`: mails a code to the account's address.
pub async fn send_otp(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    MaybeSession(session): MaybeSession,
    cookies: Cookies,
) -> AuthResult<Reply> {
    let challenge = cookies.signed(TWO_FACTOR);
    auth.send_otp(Step::of(session.as_ref(), challenge.as_deref())?, &meta)
        .await?;
    Ok(Reply::serialize(&Status { status: true }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackupCodesView {
    status: bool,
    backup_codes: Vec<String>,
}

/// `POST /two-factor/generate-backup-codes`: a new set replaces the old.
pub async fn generate_backup_codes(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(who): SessionUser,
    Body(b): Body<PasswordBody>,
) -> AuthResult<Reply> {
    let codes = auth.generate_backup_codes(&who, &b.password, &meta).await?;
    Ok(Reply::serialize(&BackupCodesView {
        status: true,
        backup_codes: codes,
    }))
}
