//! Request guards: who is calling (from a verified JWT), and what they may do.
//! The caller itself is a domain type (`crate::caller`); this module only
//! reads it from a request.

use std::marker::PhantomData;

use crate::ApiState;
use crate::caller::{AuthenticatedUser, lesser_role};
use crate::error::ApiError;
use crate::jwks::VerifyError;
use auth::standing::Standing;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

impl FromRequestParts<ApiState> for AuthenticatedUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.get(..7)
                    .filter(|p| p.eq_ignore_ascii_case("bearer "))
                    .map(|_| v[7..].trim().to_owned())
            })
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthenticated {
                message: "A bearer token from /api/auth/token is required".into(),
                invalid_token: false,
            })?;
        match state.verifier.verify(&token).await {
            Ok(c) => match state.auth.standing(&c.sub).await {
                Ok(Standing::Active(u)) => Ok(AuthenticatedUser {
                    role: lesser_role(u.role, &c.role),
                    id: u.id,
                    email: u.email,
                    name: u.name,
                    email_verified: u.email_verified,
                }),
                Ok(Standing::Banned) => Err(ApiError::forbidden(
                    "BANNED_USER",
                    "This account is suspended",
                )),
                Ok(Standing::Gone) => Err(ApiError::Unauthenticated {
                    message: "The account this token was issued for no longer exists".into(),
                    invalid_token: true,
                }),
                Err(e) => Err(e.into()),
            },
            Err(VerifyError::Invalid(reason)) => {
                tracing::debug!(%reason, "rejected bearer token");
                Err(ApiError::Unauthenticated {
                    message: "The bearer token is invalid or expired".into(),
                    invalid_token: true,
                })
            }
            Err(VerifyError::Unavailable) => Err(ApiError::Unavailable {
                message: "Sign-in keys are temporarily unavailable; try again shortly".into(),
                retry_after_secs: 30,
            }),
        }
    }
}

/// The permission a [`RequireRole`] guard asks of the caller's role, as an
/// access-control statement (`auth::access`).
pub trait RoleSet: Send + Sync + 'static {
    const PERMISSION: (&'static str, &'static str);
    const DESCRIPTION: &'static str;
}

/// Whoever may author lessons: instructors and admins.
pub struct Staff;
impl RoleSet for Staff {
    const PERMISSION: (&'static str, &'static str) = ("course", "author");
    const DESCRIPTION: &'static str = "This needs the instructor or admin role";
}

/// Whoever may read the audit log and manage users: admins.
pub struct Admins;
impl RoleSet for Admins {
    const PERMISSION: (&'static str, &'static str) = ("audit-log", "read");
    const DESCRIPTION: &'static str = "This needs the admin role";
}

/// Passes callers whose role grants `R`'s permission; 403 `FORBIDDEN_ROLE` otherwise.
pub struct RequireRole<R: RoleSet>(pub AuthenticatedUser, pub PhantomData<R>);

impl<R: RoleSet> FromRequestParts<ApiState> for RequireRole<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let user = AuthenticatedUser::from_request_parts(parts, state).await?;
        let (resource, action) = R::PERMISSION;
        if user.can(resource, action) {
            Ok(RequireRole(user, PhantomData))
        } else {
            Err(ApiError::forbidden("FORBIDDEN_ROLE", R::DESCRIPTION))
        }
    }
}

/// Passes callers whose email is verified; 403 `EMAIL_NOT_VERIFIED` otherwise.
pub struct RequireVerifiedEmail(pub AuthenticatedUser);

impl FromRequestParts<ApiState> for RequireVerifiedEmail {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let user = AuthenticatedUser::from_request_parts(parts, state).await?;
        if user.email_verified {
            Ok(RequireVerifiedEmail(user))
        } else {
            Err(ApiError::forbidden(
                "EMAIL_NOT_VERIFIED",
                "Verify your email address first",
            ))
        }
    }
}
