//! JWTs for the api role and the JWKS that verifies them.

use axum::extract::State;
use axum::http::header;
use serde_json::json;

use crate::Auth;
use crate::error::AuthResult;
use crate::http::extract::SessionUser;
use crate::http::reply::Reply;

pub async fn token(
    State(auth): State<Auth>,
    SessionUser(current): SessionUser,
) -> AuthResult<Reply> {
    let jwt = auth.issue_session_jwt(&current).await?;
    Ok(Reply::json(json!({"token": jwt})).with_header(header::CACHE_CONTROL, "no-store"))
}

pub async fn jwks(State(auth): State<Auth>) -> AuthResult<Reply> {
    let doc = auth.keys.jwks().await?;
    // Short caching: verifiers refetch soon after a rotation.
    Ok(Reply::json(doc).with_header(header::CACHE_CONTROL, "public, max-age=60"))
}
