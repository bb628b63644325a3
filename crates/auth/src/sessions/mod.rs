//! Sessions: 7 days, sliding by a day on use; one day without "remember me".

pub(crate) mod store;

use chrono::{DateTime, Duration, Utc};

use crate::users::User;

pub const LIFETIME: Duration = Duration::days(7);
pub const UPDATE_AGE: Duration = Duration::days(1);
pub const SHORT_LIFETIME: Duration = Duration::days(1);
/// Sessions younger than this are "fresh" (required to list sessions).
pub const FRESH_AGE: Duration = Duration::days(1);

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub id: String,
    pub token: String,
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub impersonated_by: Option<String>,
    pub remember_me: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The second factor the sign-in proved, if any (see [`SecondFactor`]).
    #[sqlx(default)]
    pub second_factor: Option<String>,
}

/// How a session's sign-in proved more than a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    Otp,
    BackupCode,
    TrustedDevice,
    /// A passkey is possession and (on the device) presence: both factors.
    Passkey,
    /// An admin acting as someone; the admin's own session was checked.
    Impersonation,
}

impl SecondFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactor::Totp => "totp",
            SecondFactor::Otp => "otp",
            SecondFactor::BackupCode => "backup_code",
            SecondFactor::TrustedDevice => "trusted_device",
            SecondFactor::Passkey => "passkey",
            SecondFactor::Impersonation => "impersonation",
        }
    }
}

impl Session {
    /// A remembered session is extended once a day of its week has passed.
    pub fn needs_refresh(&self, now: DateTime<Utc>) -> bool {
        self.remember_me && self.expires_at - LIFETIME + UPDATE_AGE <= now
    }
}

/// A session together with its user, as read on every authenticated request.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub session: Session,
    pub user: User,
}
