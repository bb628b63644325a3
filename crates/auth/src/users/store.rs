//! Storage of users and accounts.

use chrono::{DateTime, Utc};
use common::{Db, on_db};

use super::{Account, CREDENTIAL, User};

pub struct NewUser<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub email_verified: bool,
    pub image: Option<&'a str>,
    pub role: &'a str,
    pub now: DateTime<Utc>,
}

/// Creates a user and, when a hash is given, its credential account, in one
/// transaction. `Ok(false)` when the email is taken.
pub async fn create_with_password(
    db: &Db,
    user: &NewUser<'_>,
    password_hash: Option<&str>,
) -> sqlx::Result<bool> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let inserted = sqlx::query(
            r#"INSERT INTO "user" (id, name, email, email_verified, image, role, banned, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $7) ON CONFLICT (email) DO NOTHING"#,
        )
        .bind(user.id)
        .bind(user.name)
        .bind(user.email)
        .bind(user.email_verified)
        .bind(user.image)
        .bind(user.role)
        .bind(user.now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(hash) = password_hash {
            sqlx::query(
                r#"INSERT INTO account (id, account_id, provider_id, user_id, password, created_at, updated_at)
                   VALUES ($1, $2, $3, $2, $4, $5, $5)"#,
            )
            .bind(common::ids::new_id())
            .bind(user.id)
            .bind(CREDENTIAL)
            .bind(hash)
            .bind(user.now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    })
}

/// What a sign-up found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    Created,
    /// The address has an account (`owner`: its id and name, when the lookup
    /// saw it); `unverified` when it was never verified and a fresh link was
    /// stored for it.
    Existing {
        owner: Option<(String, String)>,
        unverified: bool,
    },
}

/// A sign-up in one transaction whose statements are the same whether the
/// address is new or taken — the lookup, the user, the credential, the
/// verification token (for a new or never-verified account) and the audit
/// rows — so its timing does not tell who is registered.
pub async fn register(
    db: &Db,
    user: &NewUser<'_>,
    password_hash: &str,
    token_ident: &str,
    token_expires: DateTime<Utc>,
    audit_new: &[crate::audit::StoredEvent],
    audit_existing: impl Fn(Option<&str>, bool) -> Vec<crate::audit::StoredEvent>,
) -> sqlx::Result<Registered> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let existing: Option<(String, String, bool)> = sqlx::query_as(
            r#"SELECT id, name, email_verified FROM "user" WHERE email = $1"#)
            .bind(user.email).fetch_optional(&mut *tx).await?;
        let created = sqlx::query(
            r#"INSERT INTO "user" (id, name, email, email_verified, image, role, banned, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $7) ON CONFLICT (email) DO NOTHING"#)
            .bind(user.id).bind(user.name).bind(user.email).bind(user.email_verified)
            .bind(user.image).bind(user.role).bind(user.now)
            .execute(&mut *tx).await?.rows_affected() == 1;
        sqlx::query(
            r#"INSERT INTO account (id, account_id, provider_id, user_id, password, created_at, updated_at)
               SELECT $1, $2, $3, $2, $4, $5, $5 WHERE $6"#)
            .bind(common::ids::new_id()).bind(user.id).bind(CREDENTIAL).bind(password_hash).bind(user.now)
            .bind(created)
            .execute(&mut *tx).await?;
        let unverified = matches!((&existing, created), (Some((_, _, false)), false));
        let token_owner = match (&existing, created, unverified) {
            (_, true, _) => Some(user.id.to_string()),
            (Some((id, _, _)), false, true) => Some(id.clone()),
            _ => None,
        };
        sqlx::query(
            "INSERT INTO verification (id, identifier, value, expires_at, created_at, updated_at)
             SELECT $1, $2, $3, $4, $5, $5 WHERE $6")
            .bind(common::ids::new_id()).bind(token_ident).bind(token_owner.clone().unwrap_or_default())
            .bind(token_expires).bind(user.now).bind(token_owner.is_some())
            .execute(&mut *tx).await?;
        let events = if created {
            audit_new.to_vec()
        } else {
            audit_existing(existing.as_ref().map(|e| e.0.as_str()), unverified)
        };
        if !events.is_empty() {
            let sql = crate::audit::insert_sql(events.len(), 1);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for e in &events {
                q = q.bind(&e.id).bind(&e.event_type).bind(&e.user_id).bind(&e.email)
                    .bind(&e.ip_address).bind(&e.user_agent).bind(&e.details).bind(e.created_at);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(if created {
            Registered::Created
        } else {
            Registered::Existing { owner: existing.map(|(id, name, _)| (id, name)), unverified }
        })
    })
}

pub async fn find_by_email(db: &Db, email: &str) -> sqlx::Result<Option<User>> {
    on_db!(db, pool => sqlx::query_as::<_, User>(r#"SELECT * FROM "user" WHERE email = $1"#)
        .bind(email).fetch_optional(pool).await)
}

pub async fn find_by_id(db: &Db, id: &str) -> sqlx::Result<Option<User>> {
    on_db!(db, pool => sqlx::query_as::<_, User>(r#"SELECT * FROM "user" WHERE id = $1"#)
        .bind(id).fetch_optional(pool).await)
}

pub async fn credential_account(db: &Db, user_id: &str) -> sqlx::Result<Option<Account>> {
    on_db!(db, pool => sqlx::query_as::<_, Account>(
        "SELECT * FROM account WHERE user_id = $1 AND provider_id = $2 AND account_id = $1")
        .bind(user_id).bind(CREDENTIAL).fetch_optional(pool).await)
}

pub async fn accounts_of(db: &Db, user_id: &str) -> sqlx::Result<Vec<Account>> {
    on_db!(db, pool => sqlx::query_as::<_, Account>(
        "SELECT * FROM account WHERE user_id = $1 ORDER BY created_at, id")
        .bind(user_id).fetch_all(pool).await)
}

/// Sets the credential password, creating the credential account if needed.
pub async fn set_password(
    db: &Db,
    user_id: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_db!(db, pool => {
        let updated = sqlx::query(
            "UPDATE account SET password = $1, updated_at = $2 WHERE user_id = $3 AND provider_id = $4 AND account_id = $3")
            .bind(hash).bind(now).bind(user_id).bind(CREDENTIAL)
            .execute(pool).await?.rows_affected();
        if updated == 0 {
            sqlx::query(
                r#"INSERT INTO account (id, account_id, provider_id, user_id, password, created_at, updated_at)
                   VALUES ($1, $2, $3, $2, $4, $5, $5)"#)
                .bind(common::ids::new_id()).bind(user_id).bind(CREDENTIAL).bind(hash).bind(now)
                .execute(pool).await?;
        }
        Ok(())
    })
}

pub async fn mark_verified(db: &Db, user_id: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(
        r#"UPDATE "user" SET email_verified = TRUE, updated_at = $1 WHERE id = $2 AND email_verified = FALSE"#)
        .bind(now).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))
}

pub async fn update_profile(
    db: &Db,
    user_id: &str,
    name: Option<&str>,
    image: Option<Option<&str>>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_db!(db, pool => {
        if let Some(name) = name {
            sqlx::query(r#"UPDATE "user" SET name = $1, updated_at = $2 WHERE id = $3"#)
                .bind(name).bind(now).bind(user_id).execute(pool).await?;
        }
        if let Some(image) = image {
            sqlx::query(r#"UPDATE "user" SET image = $1, updated_at = $2 WHERE id = $3"#)
                .bind(image).bind(now).bind(user_id).execute(pool).await?;
        }
        Ok(())
    })
}

pub async fn set_role(db: &Db, user_id: &str, role: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(r#"UPDATE "user" SET role = $1, updated_at = $2 WHERE id = $3"#)
        .bind(role).bind(now).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))
}

/// Sets a role on behalf of `actor`, only while the actor is an admin and
/// not banned — checked in the same statement, so a demotion or a ban that
/// commits first cannot be undone by a request already on its way.
/// Returns the rows changed: 0 when the actor may not (or the user is gone).
pub async fn set_role_as_admin(
    db: &Db,
    actor_id: &str,
    user_id: &str,
    role: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(
        r#"UPDATE "user" SET role = $1, updated_at = $2 WHERE id = $3 AND EXISTS (
             SELECT 1 FROM "user" a WHERE a.id = $4 AND a.role = 'admin'
               AND (a.banned = FALSE OR (a.ban_expires IS NOT NULL AND a.ban_expires <= $2)))"#)
        .bind(role).bind(now).bind(user_id).bind(actor_id)
        .execute(pool).await.map(|r| r.rows_affected()))
}

pub async fn set_email(
    db: &Db,
    user_id: &str,
    email: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(r#"UPDATE "user" SET email = $1, updated_at = $2 WHERE id = $3"#)
        .bind(email).bind(now).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))
}

/// Bans a user and deletes their sessions, in one transaction.
pub async fn ban(
    db: &Db,
    user_id: &str,
    reason: &str,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let n = sqlx::query(
            r#"UPDATE "user" SET banned = TRUE, ban_reason = $1, ban_expires = $2, updated_at = $3 WHERE id = $4"#)
            .bind(reason).bind(until).bind(now).bind(user_id)
            .execute(&mut *tx).await?.rows_affected();
        sqlx::query("DELETE FROM session WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(n)
    })
}

pub async fn unban(db: &Db, user_id: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(
        r#"UPDATE "user" SET banned = FALSE, ban_reason = NULL, ban_expires = NULL, updated_at = $1 WHERE id = $2"#)
        .bind(now).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))
}

pub async fn delete(db: &Db, user_id: &str) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(r#"DELETE FROM "user" WHERE id = $1"#)
        .bind(user_id).execute(pool).await.map(|r| r.rows_affected()))
}

/// Filters for the admin user list.
#[derive(Debug, Default, Clone)]
pub struct UserQuery {
    /// Case-insensitive match on `search_field`.
    pub search: Option<String>,
    pub search_field: SearchField,
    pub search_operator: SearchOperator,
    pub role: Option<String>,
    pub banned: Option<bool>,
    pub limit: i64,
    pub offset: i64,
    pub sort_by: SortField,
    pub descending: bool,
}

#[derive(Debug, Default, Clone, Copy)]
pub enum SearchField {
    #[default]
    Email,
    Name,
}

#[derive(Debug, Default, Clone, Copy)]
pub enum SearchOperator {
    #[default]
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Default, Clone, Copy)]
pub enum SortField {
    #[default]
    CreatedAt,
    Email,
    Name,
}

/// One page of users and the total that match.
pub async fn list(db: &Db, q: &UserQuery) -> sqlx::Result<(Vec<User>, i64)> {
    // Column names and directions come from enums, never from input text.
    let field = match q.search_field {
        SearchField::Email => "email",
        SearchField::Name => "name",
    };
    let pattern = q.search.as_ref().map(|s| {
        let escaped = s
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        match q.search_operator {
            SearchOperator::Contains => format!("%{escaped}%"),
            SearchOperator::StartsWith => format!("{escaped}%"),
            SearchOperator::EndsWith => format!("%{escaped}"),
        }
    });
    let sort = match q.sort_by {
        SortField::CreatedAt => "created_at",
        SortField::Email => "email",
        SortField::Name => "name",
    };
    let dir = if q.descending { "DESC" } else { "ASC" };
    let filter = format!(
        r#"($1 IS NULL OR LOWER({field}) LIKE $1 ESCAPE '\') AND ($2 IS NULL OR role = $2) AND ($3 IS NULL OR banned = $3)"#
    );
    let list_sql = format!(
        r#"SELECT * FROM "user" WHERE {filter} ORDER BY {sort} {dir}, id LIMIT $4 OFFSET $5"#
    );
    let count_sql = format!(r#"SELECT COUNT(*) FROM "user" WHERE {filter}"#);
    on_db!(db, pool => {
        let users = sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(list_sql))
            .bind(pattern.clone()).bind(q.role.clone()).bind(q.banned).bind(q.limit).bind(q.offset)
            .fetch_all(pool).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql))
            .bind(pattern).bind(q.role.clone()).bind(q.banned)
            .fetch_one(pool).await?;
        Ok((users, total))
    })
}

/// Moves the account from `from` to `to`, marking `to` verified; only if the
/// address is still `from`.
pub async fn change_email(
    db: &Db,
    user_id: &str,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(
        r#"UPDATE "user" SET email = $1, email_verified = TRUE, updated_at = $2 WHERE id = $3 AND email = $4"#)
        .bind(to).bind(now).bind(user_id).bind(from).execute(pool).await.map(|r| r.rows_affected()))
}

pub async fn set_two_factor_enabled(
    db: &Db,
    user_id: &str,
    enabled: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(r#"UPDATE "user" SET two_factor_enabled = $1, updated_at = $2 WHERE id = $3"#)
        .bind(enabled).bind(now).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))
}
