//! Axum extractors for the auth routes: the session (required or optional),
//! the request's signed cookies, and a Better-Auth body (JSON, with its
//! 415/400 answers). A handler that names [`SessionUser`] cannot forget the
//! session check.

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

/// A JSON body parsed with Better-Auth's rules (an empty body reads as `{}`).
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Auth> for Body<T> {
    type Rejection = AuthError;

    async fn from_request(req: Request, auth: &Auth) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, auth)
            .await
            .map_err(|e| AuthError::validation(e.body_text()))?;
        parse_body(&headers, &bytes, false).map(Body)
    }
}
