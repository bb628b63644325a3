//! Core account routes the Better-Auth client calls beyond sign-in:
//! change-email, update-session, verify-password, and the linked social
//! accounts' tokens (get-access-token, refresh-token, account-info).

use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use common::clock::to_iso;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Auth;
use crate::error::{AuthError, AuthResult};
use crate::http::extract::{Body, SessionUser};
use crate::http::reply::Reply;
use crate::http::request::{Meta, check_callback_url};
use crate::provider_tokens::AccountSelector;

#[derive(Serialize)]
struct Status {
    status: bool,
}

const OK: Status = Status { status: true };

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEmailBody {
    new_email: String,
    #[serde(rename = "callbackURL")]
    callback_url: Option<String>,
}

/// `POST /change-email`: mails a confirmation link to the new address.
pub async fn change_email(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(who): SessionUser,
    Body(b): Body<ChangeEmailBody>,
) -> AuthResult<Reply> {
    check_callback_url(&auth, b.callback_url.as_deref())?;
    auth.request_email_change(&who, &b.new_email, b.callback_url.as_deref(), &meta)
        .await?;
    Ok(Reply::serialize(&OK))
}

/// Session fields that are the server's to set.
const SERVER_SESSION_FIELDS: [&str; 1] = ["impersonatedBy"];

/// `POST /update-session`: sets additional session fields. IntelliStack's
/// sessions have none a client may write, so (as Better-Auth with no
/// additional fields) a protected field is refused and anything else leaves
/// nothing to update.
pub async fn update_session(
    SessionUser(_who): SessionUser,
    Body(fields): Body<Map<String, Value>>,
) -> AuthResult<Reply> {
    if let Some(field) = SERVER_SESSION_FIELDS
        .iter()
        .find(|f| fields.get(**f).is_some_and(truthy))
    {
        return Err(AuthError::invalid(
            "FIELD_NOT_ALLOWED",
            format!("{field} is not allowed to be set"),
        ));
    }
    // No writable session field exists: whatever was sent is dropped.
    Err(AuthError::NoFields)
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
        && v.as_str() != Some("")
        && v.as_i64() != Some(0)
}

#[derive(Deserialize)]
pub struct PasswordBody {
    password: String,
}

/// `POST /verify-password`: re-checks the signed-in user's password.
pub async fn verify_password(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(who): SessionUser,
    Body(b): Body<PasswordBody>,
) -> AuthResult<Reply> {
    auth.check_password(&who.user, &b.password, &meta).await?;
    Ok(Reply::serialize(&OK))
}

/// Which linked account: Better-Auth 1.7's `{accountId}` (the local id) or
/// 1.6's `{providerId, accountId?}`. Other keys are refused, as its strict
/// schema does.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountBody {
    account_id: Option<String>,
    provider_id: Option<String>,
    use_account_cookie: Option<bool>,
    /// Ignored over HTTP: the session's user is the subject.
    #[allow(dead_code)]
    user_id: Option<String>,
}

impl AccountBody {
    fn selector(self) -> AuthResult<AccountSelector> {
        match (self.account_id, self.provider_id, self.use_account_cookie) {
            (account_id, Some(provider_id), None) => Ok(AccountSelector::Provider {
                provider_id,
                account_id,
            }),
            (Some(id), None, None) => Ok(AccountSelector::Id(id)),
            // No account cookie is kept: nothing to select with it.
            (None, None, Some(true)) => {
                Err(AuthError::invalid("ACCOUNT_NOT_FOUND", "Account not found"))
            }
            _ => Err(AuthError::validation("[body] Invalid input")),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccessTokenView {
    access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token_expires_at: Option<String>,
    scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

/// `POST /get-access-token`: a valid provider access token, refreshed when it
/// has expired.
pub async fn get_access_token(
    State(auth): State<Auth>,
    SessionUser(who): SessionUser,
    Body(b): Body<AccountBody>,
) -> AuthResult<Reply> {
    let t = auth
        .provider_access_token(&who.user, &b.selector()?)
        .await?;
    Ok(Reply::serialize(&AccessTokenView {
        access_token: t.access_token,
        access_token_expires_at: t.access_token_expires_at.as_ref().map(to_iso),
        scopes: t.scopes,
        id_token: t.id_token,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefreshedView {
    access_token: String,
    refresh_token: Option<String>,
    access_token_expires_at: Option<String>,
    refresh_token_expires_at: Option<String>,
    scope: Option<String>,
    id_token: Option<String>,
    provider_id: String,
    account_id: String,
}

fn iso(t: Option<DateTime<Utc>>) -> Option<String> {
    t.as_ref().map(to_iso)
}

/// `POST /refresh-token`: refreshes the provider's tokens now.
pub async fn refresh_token(
    State(auth): State<Auth>,
    SessionUser(who): SessionUser,
    Body(b): Body<AccountBody>,
) -> AuthResult<Reply> {
    let (account, t) = auth
        .refresh_provider_token(&who.user, &b.selector()?)
        .await?;
    Ok(Reply::serialize(&RefreshedView {
        access_token: t.access_token,
        refresh_token: t.refresh_token,
        access_token_expires_at: iso(t.access_token_expires_at),
        refresh_token_expires_at: iso(t.refresh_token_expires_at),
        scope: t.scope,
        id_token: t.id_token,
        provider_id: account.provider_id,
        account_id: account.id,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountInfoQuery {
    account_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderUserView {
    id: String,
    name: Option<String>,
    email: Option<String>,
    image: Option<String>,
    email_verified: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkedAccountView {
    id: String,
    provider_id: String,
    account_id: String,
}

#[derive(Serialize)]
struct AccountInfoView {
    user: ProviderUserView,
    data: Value,
    account: LinkedAccountView,
}

/// `GET /account-info?accountId=`: what the provider says about the linked account.
pub async fn account_info(
    State(auth): State<Auth>,
    SessionUser(who): SessionUser,
    query: Result<Query<AccountInfoQuery>, axum::extract::rejection::QueryRejection>,
) -> AuthResult<Reply> {
    let Query(q) = query.map_err(|_| AuthError::validation("[query] Invalid input"))?;
    let (account, p) = auth.provider_account_info(&who.user, &q.account_id).await?;
    Ok(Reply::serialize(&AccountInfoView {
        user: ProviderUserView {
            id: p.id,
            name: p.name,
            email: p.email,
            image: p.image,
            email_verified: p.email_verified,
        },
        data: p.raw,
        account: LinkedAccountView {
            id: account.id,
            provider_id: account.provider_id,
            account_id: account.account_id,
        },
    }))
}
