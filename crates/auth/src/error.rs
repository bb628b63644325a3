//! The auth role's error type. Domain code returns these; `http::error` turns
//! them into responses in one place.

use chrono::{DateTime, Utc};

use crate::password::PolicyViolation;

/// The category of a failure, independent of transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invalid,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    Unprocessable,
    Locked,
    RateLimited,
    Unsupported,
    /// The server could not complete a step it needed (Better-Auth answers 500 with a message).
    Server,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A failure the client can act on, with a stable machine-readable code.
    #[error("{code}: {message}")]
    Coded {
        kind: Kind,
        code: &'static str,
        message: String,
    },
    #[error("password rejected by policy")]
    WeakPassword(PolicyViolation),
    #[error("sign-in locked until {until}")]
    Locked {
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    /// An update that named nothing to change.
    #[error("no fields to update")]
    NoFields,
    /// A failure Better-Auth reports with a message and no code.
    #[error("{message}")]
    Message { kind: Kind, message: &'static str },
    /// An OAuth 2 / OpenID Connect endpoint failure, answered in RFC 6749's
    /// `{error, error_description}` shape.
    #[error("{error}: {description}")]
    OAuth {
        kind: Kind,
        error: &'static str,
        description: String,
    },
    /// No session, or an invalid one.
    #[error("unauthorized")]
    Unauthorized,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AuthError {
    /// What sort of failure this is, whatever the transport: other crates
    /// map it to their own responses by kind, never by code string.
    pub fn kind(&self) -> Kind {
        match self {
            AuthError::Coded { kind, .. }
            | AuthError::Message { kind, .. }
            | AuthError::OAuth { kind, .. } => *kind,
            AuthError::WeakPassword(_) | AuthError::NoFields => Kind::Invalid,
            AuthError::Locked { .. } => Kind::Locked,
            AuthError::RateLimited { .. } => Kind::RateLimited,
            AuthError::Unauthorized => Kind::Unauthenticated,
            AuthError::Db(_) | AuthError::Internal(_) => Kind::Server,
        }
    }

    /// The stable machine-readable code, where the failure has one.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            AuthError::Coded { code, .. } => Some(code),
            AuthError::OAuth { error, .. } => Some(error),
            AuthError::WeakPassword(v) => Some(v.code()),
            _ => None,
        }
    }

    /// What the client may be told (internal details stay in the logs).
    pub fn public_message(&self) -> String {
        match self {
            AuthError::Coded { message, .. } => message.clone(),
            AuthError::OAuth { description, .. } => description.clone(),
            AuthError::Message { message, .. } => message.to_string(),
            AuthError::WeakPassword(v) => v.message(),
            AuthError::Db(_) | AuthError::Internal(_) => "Something went wrong on our side".into(),
            other => other.to_string(),
        }
    }

    pub fn coded(kind: Kind, code: &'static str, message: impl Into<String>) -> Self {
        AuthError::Coded {
            kind,
            code,
            message: message.into(),
        }
    }
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::coded(Kind::Invalid, code, message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::coded(Kind::Forbidden, code, message)
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::coded(Kind::NotFound, code, message)
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::invalid("VALIDATION_ERROR", message)
    }
    pub fn message(kind: Kind, message: &'static str) -> Self {
        AuthError::Message { kind, message }
    }
    pub fn internal(message: impl std::fmt::Display) -> Self {
        AuthError::Internal(message.to_string())
    }

    /// RFC 6749 error; `invalid_client` answers 401, the rest 400.
    pub fn oauth(error: &'static str, description: impl Into<String>) -> Self {
        let kind = match error {
            "invalid_client" | "invalid_token" => Kind::Unauthenticated,
            "access_denied" | "insufficient_scope" => Kind::Forbidden,
            _ => Kind::Invalid,
        };
        AuthError::OAuth {
            kind,
            error,
            description: description.into(),
        }
    }

    pub fn invalid_credentials() -> Self {
        Self::coded(
            Kind::Unauthenticated,
            "INVALID_EMAIL_OR_PASSWORD",
            "Invalid email or password",
        )
    }
    pub fn email_not_verified() -> Self {
        Self::forbidden("EMAIL_NOT_VERIFIED", "Email not verified")
    }
    pub fn banned() -> Self {
        Self::forbidden(
            "BANNED_USER",
            "You have been banned from this application. Please contact support if you believe this is an error.",
        )
    }
    /// A refused display name.
    pub fn name(problem: crate::users::NameProblem) -> Self {
        use crate::users::{MAX_NAME_CHARS, NameProblem};
        match problem {
            NameProblem::Empty => Self::validation("[body.name] Name is required"),
            NameProblem::TooLong => Self::invalid(
                "NAME_TOO_LONG",
                format!("Name must be at most {MAX_NAME_CHARS} characters"),
            ),
            NameProblem::BadCharacters => Self::invalid(
                "INVALID_NAME",
                "Name must be one line, without control or bidi characters",
            ),
        }
    }
    pub fn user_not_found() -> Self {
        Self::not_found("USER_NOT_FOUND", "User not found")
    }
    pub fn invalid_token() -> Self {
        Self::invalid("INVALID_TOKEN", "Invalid token")
    }
    /// A link followed after its token expired.
    pub fn token_expired() -> Self {
        Self::coded(Kind::Unauthenticated, "TOKEN_EXPIRED", "Token expired")
    }
}

pub type AuthResult<T> = Result<T, AuthError>;
