//! Storage of sessions.

use chrono::{DateTime, Utc};
use common::{Db, on_db};

use super::{Authenticated, Session};
use crate::users::User;

pub async fn insert(db: &Db, s: &Session) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        r#"INSERT INTO session (id, token, user_id, expires_at, ip_address, user_agent, impersonated_by, remember_me, created_at, updated_at, second_factor)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"#)
        .bind(&s.id).bind(&s.token).bind(&s.user_id).bind(s.expires_at).bind(&s.ip_address)
        .bind(&s.user_agent).bind(&s.impersonated_by).bind(s.remember_me).bind(s.created_at).bind(s.updated_at)
        .bind(&s.second_factor)
        .execute(pool).await.map(|_| ()))
}

#[derive(sqlx::FromRow)]
struct Joined {
    s_id: String,
    s_token: String,
    s_user_id: String,
    s_expires_at: DateTime<Utc>,
    s_ip_address: Option<String>,
    s_user_agent: Option<String>,
    s_impersonated_by: Option<String>,
    s_remember_me: bool,
    s_created_at: DateTime<Utc>,
    s_updated_at: DateTime<Utc>,
    s_second_factor: Option<String>,
    #[sqlx(flatten)]
    user: User,
}

/// The session with this token and its user, in one round trip.
pub async fn find_with_user(db: &Db, token: &str) -> sqlx::Result<Option<Authenticated>> {
    let row: Option<Joined> = on_db!(db, pool => sqlx::query_as(
        r#"SELECT s.id AS s_id, s.token AS s_token, s.user_id AS s_user_id, s.expires_at AS s_expires_at,
                  s.ip_address AS s_ip_address, s.user_agent AS s_user_agent, s.impersonated_by AS s_impersonated_by,
                  s.remember_me AS s_remember_me, s.created_at AS s_created_at, s.updated_at AS s_updated_at,
                  s.second_factor AS s_second_factor, u.*
           FROM session s JOIN "user" u ON u.id = s.user_id WHERE s.token = $1"#)
        .bind(token).fetch_optional(pool).await)?;
    Ok(row.map(|j| Authenticated {
        session: Session {
            id: j.s_id,
            token: j.s_token,
            user_id: j.s_user_id,
            expires_at: j.s_expires_at,
            ip_address: j.s_ip_address,
            user_agent: j.s_user_agent,
            impersonated_by: j.s_impersonated_by,
            remember_me: j.s_remember_me,
            created_at: j.s_created_at,
            updated_at: j.s_updated_at,
            second_factor: j.s_second_factor,
        },
        user: j.user,
    }))
}

pub async fn extend(
    db: &Db,
    id: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("UPDATE session SET expires_at = $1, updated_at = $2 WHERE id = $3")
        .bind(expires_at).bind(now).bind(id).execute(pool).await.map(|_| ()))
}

pub async fn list_active(db: &Db, user_id: &str, now: DateTime<Utc>) -> sqlx::Result<Vec<Session>> {
    on_db!(db, pool => sqlx::query_as::<_, Session>(
        "SELECT * FROM session WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, id")
        .bind(user_id).bind(now).fetch_all(pool).await)
}

pub async fn delete_by_token(db: &Db, token: &str) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("DELETE FROM session WHERE token = $1")
        .bind(token).execute(pool).await.map(|r| r.rows_affected()))
}

/// Deletes a session only if it belongs to `user_id`.
pub async fn delete_by_id(db: &Db, id: &str) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("DELETE FROM session WHERE id = $1")
        .bind(id).execute(pool).await.map(|r| r.rows_affected()))
}

pub async fn delete_owned(db: &Db, user_id: &str, token: &str) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("DELETE FROM session WHERE token = $1 AND user_id = $2")
        .bind(token).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))
}

pub async fn delete_all(db: &Db, user_id: &str) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("DELETE FROM session WHERE user_id = $1")
        .bind(user_id).execute(pool).await.map(|r| r.rows_affected()))
}

pub async fn delete_others(db: &Db, user_id: &str, keep_token: &str) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("DELETE FROM session WHERE user_id = $1 AND token <> $2")
        .bind(user_id).bind(keep_token).execute(pool).await.map(|r| r.rows_affected()))
}
