//! The audit log: one row in `auth_event_log` for every auth event. Callers
//! pass only identifiers and reasons — never passwords, tokens or hashes.

use chrono::{DateTime, Utc};
use common::{Db, SharedClock, on_db};
use serde_json::{Value, json};

use crate::error::AuthResult;
use crate::users::User;

/// The audit log as every crate uses it: record an event, read events back.
/// Only this module touches `auth_event_log`.
#[derive(Clone)]
pub struct AuditLog {
    db: Db,
    clock: SharedClock,
}

impl AuditLog {
    pub fn new(db: Db, clock: SharedClock) -> Self {
        AuditLog { db, clock }
    }

    /// Records an event as of now. An audit failure must not turn a
    /// completed action into an error, but it must be visible: it is logged.
    pub async fn record(&self, meta: &RequestMeta, entry: Entry<'_>) {
        let event = entry.event.as_str();
        if let Err(err) = record(&self.db, meta, entry, self.clock.now()).await {
            tracing::error!(error = %err, event, "audit log write failed");
        }
    }

    /// Newest first, with the total that match.
    pub async fn list(&self, q: &EventQuery) -> AuthResult<(Vec<StoredEvent>, i64)> {
        Ok(list(&self.db, q).await?)
    }

    /// The event types the log holds, by name: what the admin page's filter offers.
    pub async fn event_types(&self) -> AuthResult<Vec<String>> {
        Ok(event_types(&self.db).await?)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Register,
    VerificationSent,
    /// An anonymous request for a verification mail that sent none.
    VerificationSkipped,
    /// A sign-up for an address that already has an account.
    SignUpExisting,
    EmailVerified,
    LoginSuccess,
    LoginFailed,
    AccountLocked,
    Logout,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    RoleChanged,
    UserBanned,
    UserUnbanned,
    UserCreated,
    UserRemoved,
    SessionRevoked,
    KeyRotated,
    RateLimited,
    ThreadCreate,
    MessageSend,
    OAuthLink,
    OAuthUnlink,
    OidcConsent,
    OidcConsentRevoked,
    OidcTokenIssued,
    OidcTokenReuse,
    OidcTokenRevoked,
    OidcClientRegistered,
    OidcClientUpdated,
    OidcClientDeleted,
    OidcLogout,
    ImpersonationStarted,
    ImpersonationStopped,
    EmailChangeRequested,
    EmailChanged,
    TwoFactorChallenged,
    TwoFactorEnabled,
    TwoFactorDisabled,
    TwoFactorVerified,
    TwoFactorFailed,
    TwoFactorLocked,
    BackupCodesGenerated,
    BackupCodeUsed,
    PasskeyAdded,
    PasskeyRemoved,
    PasskeyRenamed,
    KeyRetired,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Register => "register",
            Event::VerificationSent => "verification_sent",
            Event::VerificationSkipped => "verification_skipped",
            Event::SignUpExisting => "sign_up_existing_email",
            Event::EmailVerified => "email_verified",
            Event::LoginSuccess => "login_success",
            Event::LoginFailed => "login_failed",
            Event::AccountLocked => "account_locked",
            Event::Logout => "logout",
            Event::PasswordChanged => "password_changed",
            Event::PasswordResetRequested => "password_reset_requested",
            Event::PasswordReset => "password_reset",
            Event::RoleChanged => "role_changed",
            Event::UserBanned => "user_banned",
            Event::UserUnbanned => "user_unbanned",
            Event::UserCreated => "user_created",
            Event::UserRemoved => "user_removed",
            Event::SessionRevoked => "session_revoked",
            Event::KeyRotated => "key_rotated",
            Event::RateLimited => "rate_limited",
            Event::ThreadCreate => "thread_create",
            Event::MessageSend => "message_send",
            Event::OAuthLink => "oauth_link",
            Event::OAuthUnlink => "oauth_unlink",
            Event::OidcConsent => "oidc_consent",
            Event::OidcConsentRevoked => "oidc_consent_revoked",
            Event::OidcTokenIssued => "oidc_token_issued",
            Event::OidcTokenReuse => "oidc_token_reuse",
            Event::OidcTokenRevoked => "oidc_token_revoked",
            Event::OidcClientRegistered => "oidc_client_registered",
            Event::OidcClientUpdated => "oidc_client_updated",
            Event::OidcClientDeleted => "oidc_client_deleted",
            Event::OidcLogout => "oidc_logout",
            Event::ImpersonationStarted => "impersonation_started",
            Event::ImpersonationStopped => "impersonation_stopped",
            Event::EmailChangeRequested => "email_change_requested",
            Event::EmailChanged => "email_changed",
            Event::TwoFactorChallenged => "two_factor_challenged",
            Event::TwoFactorEnabled => "two_factor_enabled",
            Event::TwoFactorDisabled => "two_factor_disabled",
            Event::TwoFactorVerified => "two_factor_verified",
            Event::TwoFactorFailed => "two_factor_failed",
            Event::TwoFactorLocked => "two_factor_locked",
            Event::BackupCodesGenerated => "backup_codes_generated",
            Event::BackupCodeUsed => "backup_code_used",
            Event::PasskeyAdded => "passkey_added",
            Event::PasskeyRemoved => "passkey_removed",
            Event::PasskeyRenamed => "passkey_renamed",
            Event::KeyRetired => "key_retired",
        }
    }
}

/// Who did it and from where.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub event: Event,
    pub user_id: Option<&'a str>,
    pub email: Option<&'a str>,
    pub details: Value,
}

impl<'a> Entry<'a> {
    pub fn new(event: Event) -> Self {
        Entry {
            event,
            user_id: None,
            email: None,
            details: json!({}),
        }
    }
    /// An event about `user`, named by id and address.
    pub fn about(event: Event, user: &'a User) -> Self {
        Entry::new(event).user(&user.id).email(&user.email)
    }
    pub fn user(mut self, id: &'a str) -> Self {
        self.user_id = Some(id);
        self
    }
    pub fn email(mut self, email: &'a str) -> Self {
        self.email = Some(email);
        self
    }
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

pub(crate) async fn record(
    db: &Db,
    meta: &RequestMeta,
    entry: Entry<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let details = entry.details.to_string();
    on_db!(db, pool => sqlx::query(
        r#"INSERT INTO auth_event_log (id, event_type, user_id, email, ip_address, user_agent, details, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"#)
        .bind(common::ids::new_id()).bind(entry.event.as_str()).bind(entry.user_id).bind(entry.email)
        .bind(&meta.ip).bind(&meta.user_agent).bind(details).bind(now)
        .execute(pool).await.map(|_| ()))
}

/// `INSERT` for `rows` rows of eight columns, numbered from `$first`.
pub(crate) fn insert_sql(rows: usize, first: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let p: Vec<String> = (0..8).map(|c| format!("${}", first + r * 8 + c)).collect();
            format!("({})", p.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO auth_event_log (id, event_type, user_id, email, ip_address, user_agent, details, created_at) VALUES {}",
        values.join(", ")
    )
}

/// One row of the log: as read back, or built ahead to be written inside a
/// caller's transaction, so that work whose timing must not depend on the
/// outcome commits once.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct StoredEvent {
    pub id: String,
    pub event_type: String,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub details: String,
    pub created_at: DateTime<Utc>,
}

impl StoredEvent {
    pub fn new(meta: &RequestMeta, entry: Entry<'_>, now: DateTime<Utc>) -> Self {
        StoredEvent {
            id: common::ids::new_id(),
            event_type: entry.event.as_str().to_string(),
            user_id: entry.user_id.map(str::to_string),
            email: entry.email.map(str::to_string),
            ip_address: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            details: entry.details.to_string(),
            created_at: now,
        }
    }
}

/// Filters for reading the log back.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub event_type: Option<String>,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

pub(crate) async fn event_types(db: &Db) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = on_db!(db, pool => sqlx::query_as(
        "SELECT DISTINCT event_type FROM auth_event_log ORDER BY event_type")
        .fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Newest first, with the total that match.
pub(crate) async fn list(db: &Db, q: &EventQuery) -> sqlx::Result<(Vec<StoredEvent>, i64)> {
    const FILTER: &str = "($1 IS NULL OR event_type = $1) AND ($2 IS NULL OR user_id = $2) AND ($3 IS NULL OR email = $3) \
                          AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5)";
    let list_sql = format!(
        "SELECT * FROM auth_event_log WHERE {FILTER} ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7"
    );
    let count_sql = format!("SELECT COUNT(*) FROM auth_event_log WHERE {FILTER}");
    on_db!(db, pool => {
        let rows = sqlx::query_as::<_, StoredEvent>(sqlx::AssertSqlSafe(list_sql))
            .bind(&q.event_type).bind(&q.user_id).bind(&q.email).bind(q.since).bind(q.until)
            .bind(q.limit).bind(q.offset)
            .fetch_all(pool).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql))
            .bind(&q.event_type).bind(&q.user_id).bind(&q.email).bind(q.since).bind(q.until)
            .fetch_one(pool).await?;
        Ok((rows, total))
    })
}
