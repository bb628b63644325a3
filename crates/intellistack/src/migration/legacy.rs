//! The previous IntelliStack auth schema (documented in docs/MIGRATION.md):
//! `users`, `user_roles`, `oauth_accounts`, `user_sessions`, `login_attempts`.

use std::collections::{HashMap, HashSet};

use auth::sessions::Session;
use auth::users::Account;
use chrono::{DateTime, Utc};
use common::{Db, on_db};
use serde_json::json;

use super::{
    BATCH, MigrateError, Report, Row, email_taken, flatten_roles, seal_token, user_email, write_all,
};

/// What to do with a second account whose email differs only in case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Duplicates {
    /// Keep the older account; skip the newer one and everything it owns.
    Refuse,
    /// Keep the older account and move the newer one's sign-in methods and sessions to it.
    Merge,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct User {
    id: String,
    email: String,
    hashed_password: Option<String>,
    full_name: Option<String>,
    is_active: bool,
    is_verified: bool,
    created_at: DateTime<Utc>,
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct OAuth {
    id: String,
    user_id: String,
    provider: String,
    provider_account_id: String,
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Sess {
    id: String,
    user_id: String,
    session_token: String,
    expires_at: DateTime<Utc>,
    ip_address: Option<String>,
    user_agent: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Attempt {
    id: String,
    email: Option<String>,
    ip_address: Option<String>,
    success: bool,
    failure_reason: Option<String>,
    attempted_at: DateTime<Utc>,
}

/// PostgreSQL keeps ids as UUIDs and addresses as `inet`: read both as text.
fn sql(db: &Db, sqlite: &'static str, postgres: &'static str) -> &'static str {
    match db {
        Db::Sqlite(_) => sqlite,
        Db::Postgres(_) => postgres,
    }
}

async fn read<T>(
    db: &Db,
    sqlite: &'static str,
    postgres: &'static str,
) -> Result<Vec<T>, MigrateError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let q = sql(db, sqlite, postgres);
    on_db!(db, pool => sqlx::query_as::<_, T>(q).fetch_all(pool).await).map_err(MigrateError::Read)
}

fn clean_ip(ip: Option<String>) -> Option<String> {
    ip.map(|s| {
        s.strip_suffix("/32")
            .or_else(|| s.strip_suffix("/128"))
            .unwrap_or(&s)
            .to_string()
    })
    .filter(|s| !s.is_empty())
}

/// Everything an import would write, and what it leaves out.
pub struct Plan {
    /// User batches, each with the rows that depend on its users.
    pub batches: Vec<Vec<Row>>,
    pub events: Vec<Row>,
    pub report: Report,
    /// The role each imported user should end with, for validation.
    pub roles: HashMap<String, &'static str>,
}

pub async fn plan(
    source: &Db,
    target: &Db,
    secret: &str,
    duplicates: Duplicates,
    now: DateTime<Utc>,
) -> Result<Plan, MigrateError> {
    let users: Vec<User> = read(
        source,
        "SELECT id, email, hashed_password, full_name, is_active, is_verified, created_at, updated_at FROM users ORDER BY created_at, id",
        "SELECT id::text AS id, email, hashed_password, full_name, is_active, is_verified, created_at::timestamptz AS created_at, updated_at::timestamptz AS updated_at FROM users ORDER BY created_at, id",
    )
    .await?;
    let role_rows: Vec<(String, String)> = read(
        source,
        "SELECT user_id, role FROM user_roles",
        "SELECT user_id::text, role FROM user_roles",
    )
    .await?;
    let oauth: Vec<OAuth> = read(
        source,
        "SELECT id, user_id, provider, provider_account_id, access_token, refresh_token, expires_at FROM oauth_accounts ORDER BY id",
        "SELECT id::text AS id, user_id::text AS user_id, provider, provider_account_id, access_token, refresh_token, expires_at::timestamptz AS expires_at FROM oauth_accounts ORDER BY id",
    )
    .await?;
    let sessions: Vec<Sess> = read(
        source,
        "SELECT id, user_id, session_token, expires_at, ip_address, user_agent, created_at FROM user_sessions ORDER BY id",
        "SELECT id::text AS id, user_id::text AS user_id, session_token, expires_at::timestamptz AS expires_at, ip_address::text AS ip_address, user_agent, created_at::timestamptz AS created_at FROM user_sessions ORDER BY id",
    )
    .await?;
    let attempts: Vec<Attempt> = read(
        source,
        "SELECT id, email, ip_address, success, failure_reason, attempted_at FROM login_attempts ORDER BY attempted_at, id",
        "SELECT id::text AS id, email, ip_address::text AS ip_address, success, failure_reason, attempted_at::timestamptz AS attempted_at FROM login_attempts ORDER BY attempted_at, id",
    )
    .await?;

    let mut report = Report::default();
    report.source("user", users.len() as u64);
    report.source(
        "account",
        (users
            .iter()
            .filter(|u| u.hashed_password.as_deref().is_some_and(|h| !h.is_empty()))
            .count()
            + oauth.len()) as u64,
    );
    report.source("session", sessions.len() as u64);
    report.source("auth_event_log", attempts.len() as u64);

    let mut roles_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (uid, role) in &role_rows {
        roles_of
            .entry(uid.as_str())
            .or_default()
            .push(role.as_str());
    }

    // Who each source user becomes: themselves, the older account with the
    // same email (merge), or nobody (skipped).
    let mut owner: HashMap<String, Option<String>> = HashMap::new();
    let mut by_email: HashMap<String, String> = HashMap::new();
    let mut kept: Vec<&User> = Vec::new();
    for u in &users {
        let Some(email) = user_email(&mut report, &u.id, &u.email) else {
            owner.insert(u.id.clone(), None);
            continue;
        };
        if let Some(first) = by_email.get(&email) {
            match duplicates {
                Duplicates::Refuse => {
                    report.skip("user", &u.id, format!("email {email} already belongs to user {first} (differs only in case); refused (use --duplicates merge to merge)"));
                    owner.insert(u.id.clone(), None);
                }
                Duplicates::Merge => {
                    report.skip("user", &u.id, format!("email {email} already belongs to user {first}; merged into it (its password is not kept)"));
                    owner.insert(u.id.clone(), Some(first.clone()));
                }
            }
            continue;
        }
        if email_taken(target, &mut report, &u.id, &email).await? {
            owner.insert(u.id.clone(), None);
            continue;
        }
        by_email.insert(email, u.id.clone());
        owner.insert(u.id.clone(), Some(u.id.clone()));
        kept.push(u);
    }

    // Roles: the highest held by the user and any account merged into it.
    let mut merged_roles: HashMap<String, Vec<&str>> = HashMap::new();
    for u in &users {
        if let Some(Some(to)) = owner.get(&u.id) {
            merged_roles
                .entry(to.clone())
                .or_default()
                .extend(roles_of.get(u.id.as_str()).cloned().unwrap_or_default());
        }
    }
    let mut roles = HashMap::new();
    let mut per_user: HashMap<String, Vec<Row>> = HashMap::new();
    for u in &kept {
        let email = auth::users::normalize_email(&u.email).unwrap_or_default();
        let role = flatten_roles(merged_roles.get(&u.id).cloned().unwrap_or_default());
        roles.insert(u.id.clone(), role);
        let updated = u.updated_at.unwrap_or(u.created_at);
        let mut rows = vec![Row::User {
            id: u.id.clone(),
            name: u
                .full_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string()),
            email: email.clone(),
            email_verified: u.is_verified,
            image: None,
            role: role.to_string(),
            banned: !u.is_active,
            ban_reason: (!u.is_active)
                .then(|| "Inactive in the previous IntelliStack (imported)".to_string()),
            ban_expires: None,
            created_at: u.created_at,
            updated_at: updated,
        }];
        match u.hashed_password.as_deref().filter(|h| !h.is_empty()) {
            Some(hash) if auth::password::algorithm_of(hash).is_some() => {
                rows.push(Row::Account(Account {
                    id: format!("{}-credential", u.id),
                    account_id: u.id.clone(),
                    provider_id: "credential".into(),
                    user_id: u.id.clone(),
                    access_token: None,
                    refresh_token: None,
                    id_token: None,
                    access_token_expires_at: None,
                    refresh_token_expires_at: None,
                    scope: None,
                    password: Some(hash.to_string()),
                    created_at: u.created_at,
                    updated_at: updated,
                }))
            }
            Some(_) => report.skip(
                "account",
                &format!("{}-credential", u.id),
                "password hash in an unsupported format; the user must reset their password",
            ),
            None => {}
        }
        per_user.insert(u.id.clone(), rows);
    }
    let known: HashSet<&str> = ["google", "github"].into_iter().collect();
    for o in &oauth {
        let Some(Some(to)) = owner.get(&o.user_id) else {
            report.orphan("account", &o.id, &o.user_id);
            continue;
        };
        let provider = o.provider.trim().to_ascii_lowercase();
        if !known.contains(provider.as_str()) {
            report.skip(
                "account",
                &o.id,
                format!("unknown provider `{}`", o.provider),
            );
            continue;
        }
        if let Some(rows) = per_user.get_mut(to) {
            rows.push(Row::Account(Account {
                id: o.id.clone(),
                account_id: o.provider_account_id.clone(),
                provider_id: provider,
                user_id: to.clone(),
                access_token: seal_token(secret, &o.access_token),
                refresh_token: seal_token(secret, &o.refresh_token),
                id_token: None,
                access_token_expires_at: o.expires_at,
                refresh_token_expires_at: None,
                scope: None,
                password: None,
                created_at: now,
                updated_at: now,
            }));
        }
    }
    for s in &sessions {
        let Some(Some(to)) = owner.get(&s.user_id) else {
            report.orphan("session", &s.id, &s.user_id);
            continue;
        };
        if s.expires_at <= now {
            report.skip("session", &s.id, "expired");
            continue;
        }
        if let Some(rows) = per_user.get_mut(to) {
            rows.push(Row::Session(Session {
                id: s.id.clone(),
                token: s.session_token.clone(),
                user_id: to.clone(),
                expires_at: s.expires_at,
                ip_address: clean_ip(s.ip_address.clone()),
                user_agent: s.user_agent.clone(),
                // Remembered, and counting as updated when created.
                impersonated_by: None,
                remember_me: true,
                created_at: s.created_at,
                updated_at: s.created_at,
                second_factor: None,
            }));
        }
    }
    let mut batches = Vec::new();
    for chunk in kept.chunks(BATCH) {
        let mut batch = Vec::new();
        for u in chunk {
            batch.extend(per_user.remove(&u.id).unwrap_or_default());
        }
        batches.push(batch);
    }
    let events = attempts
        .iter()
        .map(|a| {
            let email = a.email.as_deref().and_then(auth::users::normalize_email);
            let user_id = email.as_ref().and_then(|e| by_email.get(e)).cloned();
            Row::Event {
                id: a.id.clone(),
                event_type: if a.success {
                    "login_success"
                } else {
                    "login_failed"
                }
                .into(),
                user_id,
                email,
                ip_address: clean_ip(a.ip_address.clone()),
                user_agent: None,
                details: json!({"source": "legacy", "reason": a.failure_reason}).to_string(),
                created_at: a.attempted_at,
            }
        })
        .collect();
    Ok(Plan {
        batches,
        events,
        report,
        roles,
    })
}

/// Imports the legacy tables into `target`.
pub async fn import(
    source: &Db,
    target: &Db,
    secret: &str,
    duplicates: Duplicates,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<Report, MigrateError> {
    let Plan {
        batches,
        events,
        mut report,
        ..
    } = plan(source, target, secret, duplicates, now).await?;
    report.dry_run = dry_run;
    let total = batches.iter().map(|b| b.len()).sum::<usize>() + events.len();
    // A dry run cannot commit users, so their accounts and sessions must
    // share one transaction with them to satisfy foreign keys.
    let groups: Vec<Vec<Row>> = if dry_run {
        vec![batches.into_iter().flatten().collect()]
    } else {
        batches
    };
    let groups = groups
        .iter()
        .map(Vec::as_slice)
        .chain(events.chunks(BATCH * 4));
    write_all(target, groups, total, dry_run, &mut report).await?;
    Ok(report)
}
