//! Users and their sign-in methods (`account` rows).

pub mod store;

use chrono::{DateTime, Utc};

/// The roles of IntelliStack, lowest to highest.
pub const ROLES: [&str; 3] = ["student", "instructor", "admin"];

pub fn is_role(role: &str) -> bool {
    ROLES.contains(&role)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub role: String,
    pub banned: bool,
    pub ban_reason: Option<String>,
    pub ban_expires: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set once a second factor (TOTP or one-time codes by mail) is on.
    #[sqlx(default)]
    pub two_factor_enabled: bool,
}

impl User {
    /// A ban is in force when set and not yet expired.
    pub fn is_banned(&self, now: DateTime<Utc>) -> bool {
        self.banned && self.ban_expires.is_none_or(|until| until > now)
    }
}

/// A way to sign in: `credential` (password) or a social provider.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub id: String,
    pub account_id: String,
    pub provider_id: String,
    pub user_id: String,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub scope: Option<String>,
    pub password: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const CREDENTIAL: &str = "credential";

/// Lower-cases and trims an email; `None` when it is not plausibly an address.
pub fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && email.matches('@').count() == 1
        && email.len() <= 254;
    ok.then_some(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            normalize_email(" Ada@Example.COM ").as_deref(),
            Some("ada@example.com")
        );
        assert!(normalize_email("no-at-sign").is_none());
        assert!(normalize_email("a@b").is_none());
        assert!(normalize_email("a b@c.d").is_none());
    }
}
