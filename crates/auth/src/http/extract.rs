//! Axum extractors for the auth routes: the session (required or optional),
//! an admin session with one permission, the request's signed cookies, and
//! a Better-Auth body (JSON, or JSON and forms, with its 415/400 answers). A handler that names
//! [`SessionUser`] or [`Admin`] cannot forget the check.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::request::{current, parse_body};
use crate::Auth;
use crate::cookies;
use crate::error::AuthError;
use crate::sessions::Authenticated;

/// The signed-in session, or 401 `UNAUTHORIZED`.
pub struct SessionUser(pub Authenticated);

impl FromRequestParts<Auth> for SessionUser {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, auth: &Auth) -> Result<Self, Self::Rejection> {
        current(&parts.headers, auth)
            .await?
            .map(SessionUser)
            .ok_or(AuthError::Unauthorized)
    }
}

/// A permission an admin route asks of the session's role, with the code and
/// message Better-Auth refuses it with. Declared with [`admin_permissions`].
pub trait AdminPermission: Send + Sync + 'static {
    const PERMISSION: (&'static str, &'static str);
    const CODE: &'static str;
    const MESSAGE: &'static str;
}

/// The session, if its role grants `P` (checked against the database row);
/// 401 without a session, 403 with `P`'s code otherwise.
pub struct Admin<P>(pub Authenticated, pub PhantomData<P>);

impl<P: AdminPermission> FromRequestParts<Auth> for Admin<P> {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, auth: &Auth) -> Result<Self, Self::Rejection> {
        let who = current(&parts.headers, auth)
            .await?
            .ok_or(AuthError::Unauthorized)?;
        auth.require_permission(&who, P::PERMISSION, P::CODE, P::MESSAGE)?;
        Ok(Admin(who, PhantomData))
    }
}

/// `Name = ("resource", "action"), "CODE", "message";` declares one
/// [`AdminPermission`] per line.
macro_rules! admin_permissions {
    ($($name:ident = ($res:literal, $act:literal), $code:literal, $msg:literal;)*) => {$(
        pub struct $name;
        impl $crate::http::extract::AdminPermission for $name {
            const PERMISSION: (&'static str, &'static str) = ($res, $act);
            const CODE: &'static str = $code;
            const MESSAGE: &'static str = $msg;
        }
    )*};
}
pub(crate) use admin_permissions;

/// The session if there is one.
pub struct MaybeSession(pub Option<Authenticated>);

impl FromRequestParts<Auth> for MaybeSession {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, auth: &Auth) -> Result<Self, Self::Rejection> {
        Ok(MaybeSession(current(&parts.headers, auth).await?))
    }
}

/// The request's cookies, read through their signatures.
pub struct Cookies {
    headers: HeaderMap,
    spec: cookies::CookieJarSpec,
    secret: String,
}

impl Cookies {
    /// The raw value of cookie `short` (`better-auth.<short>`), URL-decoding left to the caller.
    pub fn raw(&self, short: &str) -> Option<&str> {
        let name = self.spec.name(short);
        self.headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| cookies::find(h, &name))
    }

    /// The value of a signed cookie, if its signature holds.
    pub fn signed(&self, short: &str) -> Option<String> {
        self.raw(short)
            .and_then(|v| cookies::verify(&self.secret, v))
    }
}

impl FromRequestParts<Auth> for Cookies {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, auth: &Auth) -> Result<Self, Self::Rejection> {
        Ok(Cookies {
            headers: parts.headers.clone(),
            spec: auth.cookies.clone(),
            secret: auth.secret().to_string(),
        })
    }
}

/// A JSON body parsed with Better-Auth's rules (an empty body reads as `{}`);
/// with `FORM`, a form body too (see [`FormBody`]).
pub struct Body<T, const FORM: bool = false>(pub T);

/// A body that may also come as a form: the routes a browser form posts to.
pub type FormBody<T> = Body<T, true>;

impl<T: DeserializeOwned, const FORM: bool> FromRequest<Auth> for Body<T, FORM> {
    type Rejection = AuthError;

    async fn from_request(req: Request, auth: &Auth) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, auth)
            .await
            .map_err(|e| AuthError::validation(e.body_text()))?;
        parse_body(&headers, &bytes, FORM).map(Body)
    }
}
