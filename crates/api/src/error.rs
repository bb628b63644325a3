//! The api role's errors. `http::error` turns them into
//! `{error: {code, message}}` responses in one place; internal details are
//! logged, never sent.

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No usable bearer token.
    #[error("{message}")]
    Unauthenticated {
        message: String,
        invalid_token: bool,
    },
    #[error("{code}: {message}")]
    Forbidden { code: &'static str, message: String },
    /// The lesson's stage is not unlocked for this student yet.
    #[error("STAGE_LOCKED: {message}")]
    StageLocked { message: String },
    #[error("{code}: {message}")]
    NotFound { code: &'static str, message: String },
    #[error("{code}: {message}")]
    Conflict { code: &'static str, message: String },
    #[error("{code}: {message}")]
    Invalid { code: &'static str, message: String },
    #[error("{code}: {message}")]
    BadRequest { code: &'static str, message: String },
    /// The body is over the size limit.
    #[error("the body is too large")]
    TooLarge,
    /// A dependency (the key source) cannot be reached and nothing is cached.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_secs: u64,
    },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A failure of the identity service, with its kind: a missing user is
    /// still "not found" here.
    #[error("identity service: {0}")]
    Auth(#[from] auth::AuthError),
    /// Anything else that stopped the request, with what it was doing.
    #[error("{context}: {source}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Why a request was refused, for callers that show their own page for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The caller's role does not allow it (`FORBIDDEN_ROLE`).
    Role,
    /// The caller does not teach this course (`NOT_COURSE_STAFF`).
    NotCourseStaff,
}

impl ApiError {
    /// The kind of a 403, read from its code here so no caller matches codes.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            ApiError::Forbidden {
                code: "FORBIDDEN_ROLE",
                ..
            } => Some(Refusal::Role),
            ApiError::Forbidden {
                code: "NOT_COURSE_STAFF",
                ..
            } => Some(Refusal::NotCourseStaff),
            _ => None,
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            message: message.into(),
        }
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::NotFound {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }
    /// A failure while `context`, keeping the error as its source.
    pub fn internal<E: std::error::Error + Send + Sync + 'static>(
        context: &'static str,
    ) -> impl FnOnce(E) -> Self {
        move |source| ApiError::Internal {
            context,
            source: Box::new(source),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
