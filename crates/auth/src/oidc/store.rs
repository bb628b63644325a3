//! Storage of authorization codes, access and refresh tokens, and consents.
//! Codes and tokens are kept only as SHA-256 hashes. Consuming a code and
//! rotating a refresh token are single conditional updates, so a replay
//! racing the first use still loses.

use chrono::{DateTime, Utc};
use common::{Db, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CodeRow {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub session_id: Option<String>,
    pub redirect_uri: String,
    pub scopes: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub struct NewCode<'a> {
    pub hash: &'a str,
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub session_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a str,
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub auth_time: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

pub async fn insert_code(db: &Db, c: &NewCode<'_>) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO oauth_authorization_code (id, code_hash, client_id, user_id, session_id, redirect_uri, scopes, nonce, code_challenge, code_challenge_method, auth_time, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
        .bind(common::ids::new_id()).bind(c.hash).bind(c.client_id).bind(c.user_id).bind(c.session_id)
        .bind(c.redirect_uri).bind(c.scopes).bind(c.nonce).bind(c.code_challenge)
        .bind(c.code_challenge.map(|_| "S256")).bind(c.auth_time).bind(c.expires_at).bind(c.now)
        .execute(pool).await.map(|_| ()))
}

pub async fn find_code(db: &Db, hash: &str) -> sqlx::Result<Option<CodeRow>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, client_id, user_id, session_id, redirect_uri, scopes, nonce, code_challenge, auth_time, expires_at, consumed_at FROM oauth_authorization_code WHERE code_hash = $1")
        .bind(hash).fetch_optional(pool).await)
}

/// Marks a code used; false when it already was.
pub async fn consume_code(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query(
        "UPDATE oauth_authorization_code SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL")
        .bind(now).bind(id).execute(pool).await.map(|r| r.rows_affected() == 1))
}

/// Revokes every token issued from a code (after the code was replayed).
pub async fn revoke_from_code(db: &Db, code_id: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let families: Vec<(String,)> = on_db!(db, pool => sqlx::query_as(
        "SELECT DISTINCT family_id FROM oauth_refresh_token WHERE authorization_code_id = $1")
        .bind(code_id).fetch_all(pool).await)?;
    let mut n = 0;
    for (family,) in families {
        n += revoke_family(db, &family, now).await?;
    }
    n += on_db!(db, pool => sqlx::query(
        "UPDATE oauth_access_token SET revoked_at = $1 WHERE authorization_code_id = $2 AND revoked_at IS NULL")
        .bind(now).bind(code_id).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(n)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccessRow {
    pub id: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub scopes: String,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub struct NewAccess<'a> {
    pub hash: &'a str,
    pub client_id: &'a str,
    pub user_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub refresh_token_id: Option<&'a str>,
    pub code_id: Option<&'a str>,
    pub scopes: &'a str,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

pub async fn insert_access(db: &Db, a: &NewAccess<'_>) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO oauth_access_token (id, token_hash, client_id, user_id, session_id, refresh_token_id, authorization_code_id, scopes, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(common::ids::new_id()).bind(a.hash).bind(a.client_id).bind(a.user_id).bind(a.session_id)
        .bind(a.refresh_token_id).bind(a.code_id).bind(a.scopes).bind(a.expires_at).bind(a.now)
        .execute(pool).await.map(|_| ()))
}

pub async fn find_access(db: &Db, hash: &str) -> sqlx::Result<Option<AccessRow>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, client_id, user_id, session_id, scopes, expires_at, revoked_at, created_at FROM oauth_access_token WHERE token_hash = $1")
        .bind(hash).fetch_optional(pool).await)
}

pub async fn revoke_access(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("UPDATE oauth_access_token SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now).bind(id).execute(pool).await.map(|_| ()))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshRow {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub session_id: Option<String>,
    pub family_id: String,
    pub authorization_code_id: Option<String>,
    pub scopes: String,
    pub auth_time: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub struct NewRefresh<'a> {
    pub id: &'a str,
    pub hash: &'a str,
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub session_id: Option<&'a str>,
    pub family_id: &'a str,
    pub code_id: Option<&'a str>,
    pub scopes: &'a str,
    pub auth_time: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

pub async fn insert_refresh(db: &Db, r: &NewRefresh<'_>) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO oauth_refresh_token (id, token_hash, client_id, user_id, session_id, family_id, authorization_code_id, scopes, auth_time, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .bind(r.id).bind(r.hash).bind(r.client_id).bind(r.user_id).bind(r.session_id).bind(r.family_id)
        .bind(r.code_id).bind(r.scopes).bind(r.auth_time).bind(r.expires_at).bind(r.now)
        .execute(pool).await.map(|_| ()))
}

pub async fn find_refresh(db: &Db, hash: &str) -> sqlx::Result<Option<RefreshRow>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, client_id, user_id, session_id, family_id, authorization_code_id, scopes, auth_time, expires_at, rotated_at, revoked_at, created_at FROM oauth_refresh_token WHERE token_hash = $1")
        .bind(hash).fetch_optional(pool).await)
}

/// Marks a refresh token as used; false when it was used or revoked already.
pub async fn rotate_refresh(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query(
        "UPDATE oauth_refresh_token SET rotated_at = $1 WHERE id = $2 AND rotated_at IS NULL AND revoked_at IS NULL")
        .bind(now).bind(id).execute(pool).await.map(|r| r.rows_affected() == 1))
}

/// Revokes a refresh-token family and every access token issued from it.
pub async fn revoke_family(db: &Db, family_id: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let tokens = on_db!(db, pool => sqlx::query(
        "UPDATE oauth_access_token SET revoked_at = $1 WHERE revoked_at IS NULL AND refresh_token_id IN (SELECT id FROM oauth_refresh_token WHERE family_id = $2)")
        .bind(now).bind(family_id).execute(pool).await.map(|r| r.rows_affected()))?;
    let refresh = on_db!(db, pool => sqlx::query(
        "UPDATE oauth_refresh_token SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
        .bind(now).bind(family_id).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(tokens + refresh)
}

/// The scopes a user has granted a client, if any.
pub async fn consent(db: &Db, client_id: &str, user_id: &str) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> = on_db!(db, pool => sqlx::query_as(
        "SELECT scopes FROM oauth_consent WHERE client_id = $1 AND user_id = $2")
        .bind(client_id).bind(user_id).fetch_optional(pool).await)?;
    Ok(row.map(|r| r.0))
}

pub async fn save_consent(
    db: &Db,
    client_id: &str,
    user_id: &str,
    scopes: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO oauth_consent (id, client_id, user_id, scopes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (client_id, user_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at")
        .bind(common::ids::new_id()).bind(client_id).bind(user_id).bind(scopes).bind(now)
        .execute(pool).await.map(|_| ()))
}

/// A consent as the account page lists it, with the client's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsentRow {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub user_id: String,
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Every consent a user has given, newest first.
pub async fn consents_of(db: &Db, user_id: &str) -> sqlx::Result<Vec<ConsentRow>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT c.id, c.client_id, a.name AS client_name, c.user_id, c.scopes, c.created_at, c.updated_at
         FROM oauth_consent c JOIN oauth_client a ON a.client_id = c.client_id
         WHERE c.user_id = $1 ORDER BY c.updated_at DESC, c.id")
        .bind(user_id).fetch_all(pool).await)
}

/// Withdraws one of `user_id`'s consents and everything its client holds for
/// the user: unused codes, access tokens and refresh tokens. One transaction,
/// so a failure leaves the grant whole rather than half-revoked. Returns the
/// client's id, or `None` when the user has no consent with that id.
pub async fn withdraw_consent(
    db: &Db,
    id: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<String>> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let client: Option<(String,)> = sqlx::query_as(
            "DELETE FROM oauth_consent WHERE id = $1 AND user_id = $2 RETURNING client_id")
            .bind(id).bind(user_id).fetch_optional(&mut *tx).await?;
        if let Some((client_id,)) = &client {
            sqlx::query("UPDATE oauth_access_token SET revoked_at = $1 WHERE client_id = $2 AND user_id = $3 AND revoked_at IS NULL")
                .bind(now).bind(client_id).bind(user_id).execute(&mut *tx).await?;
            sqlx::query("UPDATE oauth_refresh_token SET revoked_at = $1 WHERE client_id = $2 AND user_id = $3 AND revoked_at IS NULL")
                .bind(now).bind(client_id).bind(user_id).execute(&mut *tx).await?;
            // Unused codes go: redeeming one then fails as unknown, not as a replay.
            sqlx::query("DELETE FROM oauth_authorization_code WHERE client_id = $1 AND user_id = $2 AND consumed_at IS NULL")
                .bind(client_id).bind(user_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(client.map(|(c,)| c))
    })
}
