//! Better-Auth's passkey plugin routes (`/passkey/*`).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Auth;
use crate::cookies;
use crate::error::{AuthError, AuthResult, Kind};
use crate::http::extract::{Body, Cookies, SessionUser};
use crate::http::reply::Reply;
use crate::http::request::Meta;
use crate::http::views;
use crate::passkeys::{CEREMONY_TTL, Ceremony, Passkey};
use crate::sessions::Authenticated;

/// The signed cookie naming the ceremony in progress (Better-Auth's name).
pub const CEREMONY_COOKIE: &str = "better-auth-passkey";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyView {
    id: String,
    name: Option<String>,
    public_key: String,
    user_id: String,
    #[serde(rename = "credentialID")]
    credential_id: String,
    counter: i64,
    device_type: String,
    backed_up: bool,
    transports: Option<String>,
    created_at: String,
    aaguid: Option<String>,
}

impl From<Passkey> for PasskeyView {
    fn from(p: Passkey) -> Self {
        PasskeyView {
            created_at: common::clock::to_iso(&p.created_at),
            id: p.id,
            name: p.name,
            public_key: p.public_key,
            user_id: p.user_id,
            credential_id: p.credential_id,
            counter: p.counter,
            device_type: p.device_type,
            backed_up: p.backed_up,
            transports: p.transports,
            aaguid: p.aaguid,
        }
    }
}

/// Registration needs a session younger than a day, as Better-Auth's `freshSessionMiddleware`.
fn fresh(auth: &Auth, who: &Authenticated) -> AuthResult<()> {
    if auth.is_fresh(&who.session) {
        Ok(())
    } else {
        Err(AuthError::forbidden(
            "SESSION_NOT_FRESH",
            "Session is not fresh",
        ))
    }
}

fn with_ceremony(auth: &Auth, ceremony: Ceremony) -> Reply {
    let mut reply = Reply::json(ceremony.options);
    reply.cookie(auth.cookies.set(
        CEREMONY_COOKIE,
        &cookies::sign(auth.secret(), &ceremony.token),
        Some(CEREMONY_TTL),
    ));
    reply
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterQuery {
    authenticator_attachment: Option<String>,
    name: Option<String>,
}

/// `GET /passkey/generate-register-options`.
pub async fn generate_register_options(
    State(auth): State<Auth>,
    SessionUser(who): SessionUser,
    Query(q): Query<RegisterQuery>,
) -> AuthResult<Reply> {
    fresh(&auth, &who)?;
    let ceremony = auth
        .passkey_registration_options(
            &who,
            q.name.as_deref(),
            q.authenticator_attachment.as_deref(),
        )
        .await?;
    Ok(with_ceremony(&auth, ceremony))
}

#[derive(Deserialize)]
pub struct VerifyRegistrationBody {
    response: Value,
    name: Option<String>,
}

/// `POST /passkey/verify-registration`: answers the stored passkey.
pub async fn verify_registration(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(who): SessionUser,
    cookies: Cookies,
    Body(b): Body<VerifyRegistrationBody>,
) -> AuthResult<Reply> {
    fresh(&auth, &who)?;
    let ceremony = cookies.signed(CEREMONY_COOKIE);
    let passkey = auth
        .passkey_register(
            &who,
            ceremony.as_deref(),
            &b.response,
            b.name.as_deref(),
            &meta,
        )
        .await?;
    Ok(Reply::serialize(&PasskeyView::from(passkey)))
}

/// `GET /passkey/generate-authenticate-options`: no session needed.
pub async fn generate_authenticate_options(State(auth): State<Auth>) -> AuthResult<Reply> {
    let ceremony = auth.passkey_authentication_options().await?;
    Ok(with_ceremony(&auth, ceremony))
}

#[derive(Deserialize)]
pub struct VerifyAuthenticationBody {
    response: Value,
}

#[derive(Serialize)]
struct SessionAndUser {
    session: Value,
    user: Value,
}

/// `POST /passkey/verify-authentication`: signs in, both factors at once.
pub async fn verify_authentication(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    headers: HeaderMap,
    cookies: Cookies,
    Body(b): Body<VerifyAuthenticationBody>,
) -> AuthResult<Reply> {
    if !headers.contains_key(header::ORIGIN) {
        return Err(AuthError::message(Kind::Invalid, "origin missing"));
    }
    let ceremony = cookies.signed(CEREMONY_COOKIE);
    let a = auth
        .passkey_sign_in(ceremony.as_deref(), &b.response, &meta)
        .await?;
    Ok(Reply::serialize(&SessionAndUser {
        session: views::session(&a.session),
        user: views::user(&a.user),
    })
    .with_session(&auth, &a.session))
}

/// `GET /passkey/list-user-passkeys`: a bare array.
pub async fn list_user_passkeys(
    State(auth): State<Auth>,
    SessionUser(who): SessionUser,
) -> AuthResult<Reply> {
    let list: Vec<PasskeyView> = auth
        .passkeys_of(&who.user.id)
        .await?
        .into_iter()
        .map(PasskeyView::from)
        .collect();
    Ok(Reply::serialize(&list))
}

#[derive(Deserialize)]
pub struct IdBody {
    id: String,
}

#[derive(Serialize)]
struct Status {
    status: bool,
}

/// `POST /passkey/delete-passkey`.
pub async fn delete_passkey(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(who): SessionUser,
    Body(b): Body<IdBody>,
) -> AuthResult<Reply> {
    auth.delete_passkey(&who.user, &b.id, &meta).await?;
    Ok(Reply::serialize(&Status { status: true }))
}

#[derive(Deserialize)]
pub struct UpdateBody {
    id: String,
    name: String,
}

#[derive(Serialize)]
struct Updated {
    passkey: PasskeyView,
}

/// `POST /passkey/update-passkey`: renames.
pub async fn update_passkey(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(who): SessionUser,
    Body(b): Body<UpdateBody>,
) -> AuthResult<Reply> {
    let passkey = auth
        .rename_passkey(&who.user, &b.id, &b.name, &meta)
        .await?;
    Ok(Reply::serialize(&Updated {
        passkey: passkey.into(),
    }))
}
