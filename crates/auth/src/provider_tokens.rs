//! The tokens a social provider gave us for a linked account, kept
//! encrypted at rest: handing out a valid access token (refreshing it when it
//! has run out), refreshing on demand, and reading the provider's profile —
//! Better-Auth's `get-access-token`, `refresh-token` and `account-info`.

use chrono::{DateTime, Duration, Utc};
use common::on_db;
use serde_json::Value;

use crate::Auth;
use crate::crypto::{decrypt, encrypt};
use crate::error::{AuthError, AuthResult};
use crate::settings::OidcRelyingParty;
use crate::social_oidc::Discovered;
use crate::users::{Account, CREDENTIAL, User, store as user_store};

/// A token that expires within this is refreshed before it is handed out.
const REFRESH_MARGIN: Duration = Duration::seconds(5);

/// What a provider's token endpoint answered.
#[derive(Debug, Clone, Default)]
pub struct ProviderTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// Comma-separated, as Better-Auth stores scopes.
    pub scope: Option<String>,
}

impl ProviderTokens {
    /// Reads an RFC 6749 token response (GitHub's is the same shape).
    pub fn from_response(v: &Value, now: DateTime<Utc>) -> Option<Self> {
        let secs = |k: &str| {
            v[k].as_i64()
                .or_else(|| v[k].as_str().and_then(|s| s.parse().ok()))
                .filter(|s| *s > 0)
                .map(|s| now + Duration::seconds(s))
        };
        let text = |k: &str| v[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
        Some(ProviderTokens {
            access_token: text("access_token")?,
            refresh_token: text("refresh_token"),
            id_token: text("id_token"),
            access_token_expires_at: secs("expires_in"),
            refresh_token_expires_at: secs("refresh_token_expires_in"),
            scope: text("scope").map(|s| {
                s.split([' ', ','])
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        })
    }
}

/// Which linked account a request means.
#[derive(Debug, Clone)]
pub enum AccountSelector {
    /// The local `account.id` (Better-Auth 1.7).
    Id(String),
    /// The provider, and optionally its subject (Better-Auth 1.6 clients).
    Provider {
        provider_id: String,
        account_id: Option<String>,
    },
}

/// What `get-access-token` answers.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub access_token: String,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
    pub id_token: Option<String>,
}

/// The provider's view of the person, for `account-info`.
#[derive(Debug, Clone)]
pub struct ProviderProfile {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub image: Option<String>,
    pub email_verified: bool,
    /// The provider's answer as it came.
    pub raw: Value,
}

fn http() -> AuthResult<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .user_agent("IntelliStack")
        .build()
        .map_err(AuthError::internal)
}

fn failed_access() -> AuthError {
    AuthError::invalid(
        "FAILED_TO_GET_ACCESS_TOKEN",
        "Failed to get a valid access token",
    )
}

fn failed_refresh() -> AuthError {
    AuthError::invalid(
        "FAILED_TO_REFRESH_ACCESS_TOKEN",
        "Failed to refresh access token",
    )
}

impl Auth {
    /// The OpenID Connect provider of `account`, with its discovery document.
    async fn discovered_provider(
        &self,
        account: &Account,
    ) -> Option<(&OidcRelyingParty, Discovered)> {
        let rp = self.oidc_provider(&account.provider_id)?;
        let doc = self.discovery.get(rp).await.ok()?;
        Some((rp, doc))
    }

    fn seal(&self, value: &str) -> String {
        encrypt(self.secret(), value.as_bytes())
    }

    fn unseal(&self, sealed: &str) -> Option<String> {
        decrypt(self.secret(), sealed)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    }

    /// Stores a token response on the account; a missing refresh token keeps the old one.
    pub(crate) async fn store_provider_tokens(
        &self,
        account_row_id: &str,
        t: &ProviderTokens,
    ) -> sqlx::Result<()> {
        let now = self.clock.now();
        let access = self.seal(&t.access_token);
        let refresh = t.refresh_token.as_deref().map(|r| self.seal(r));
        let id_token = t.id_token.as_deref().map(|r| self.seal(r));
        on_db!(&self.db, pool => sqlx::query(
            "UPDATE account SET access_token = $1, refresh_token = COALESCE($2, refresh_token),
                    id_token = COALESCE($3, id_token), access_token_expires_at = $4,
                    refresh_token_expires_at = COALESCE($5, refresh_token_expires_at),
                    scope = COALESCE($6, scope), updated_at = $7
             WHERE id = $8")
            .bind(access).bind(refresh).bind(id_token).bind(t.access_token_expires_at)
            .bind(t.refresh_token_expires_at).bind(&t.scope).bind(now).bind(account_row_id)
            .execute(pool).await.map(|_| ()))
    }

    /// The user's account that `selector` names.
    async fn linked_account(&self, user: &User, selector: &AccountSelector) -> AuthResult<Account> {
        let accounts = user_store::accounts_of(&self.db, &user.id).await?;
        accounts
            .into_iter()
            .find(|a| match selector {
                AccountSelector::Id(id) => &a.id == id,
                AccountSelector::Provider {
                    provider_id,
                    account_id,
                } => {
                    &a.provider_id == provider_id
                        && account_id.as_ref().is_none_or(|id| &a.account_id == id)
                }
            })
            .ok_or_else(|| AuthError::invalid("ACCOUNT_NOT_FOUND", "Account not found"))
    }

    fn provider_supported(&self, account: &Account) -> AuthResult<()> {
        if account.provider_id != CREDENTIAL && self.provider_configured(&account.provider_id) {
            Ok(())
        } else {
            Err(AuthError::invalid(
                "PROVIDER_NOT_SUPPORTED",
                format!("Provider {} is not supported.", account.provider_id),
            ))
        }
    }

    /// Asks the provider for fresh tokens with the stored refresh token.
    async fn refresh_at_provider(&self, account: &Account) -> AuthResult<ProviderTokens> {
        let refresh = account
            .refresh_token
            .as_deref()
            .and_then(|s| self.unseal(s))
            .ok_or_else(|| {
                AuthError::invalid("REFRESH_TOKEN_NOT_FOUND", "Refresh token not found")
            })?;
        let http = http()?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        let response: Value = if account.provider_id == "github" {
            let gh = self.settings.github.as_ref().ok_or_else(failed_refresh)?;
            let mut with_client = form.to_vec();
            with_client.push(("client_id", &gh.client_id));
            with_client.push(("client_secret", gh.client_secret.expose()));
            http.post(gh.token_url.clone())
                .header("accept", "application/json")
                .form(&with_client)
                .send()
                .await
                .map_err(|_| failed_refresh())?
                .json()
                .await
                .map_err(|_| failed_refresh())?
        } else {
            let (rp, doc) = self
                .discovered_provider(account)
                .await
                .ok_or_else(failed_refresh)?;
            crate::social_oidc::token_request(&http, rp, &doc, &form)
                .await
                .map_err(|_| failed_refresh())?
        };
        let now = self.clock.now();
        let tokens = ProviderTokens::from_response(&response, now).ok_or_else(|| {
            tracing::warn!(provider = %account.provider_id, error = %response["error"], "token refresh refused");
            failed_refresh()
        })?;
        self.store_provider_tokens(&account.id, &tokens).await?;
        Ok(tokens)
    }

    /// A valid access token for the linked account, refreshed first when it
    /// has expired (or is about to) and a refresh token is stored.
    pub async fn provider_access_token(
        &self,
        user: &User,
        selector: &AccountSelector,
    ) -> AuthResult<AccessToken> {
        let account = self.linked_account(user, selector).await?;
        self.provider_supported(&account)?;
        let now = self.clock.now();
        let expiring = account
            .access_token_expires_at
            .is_some_and(|at| at - now < REFRESH_MARGIN);
        let (token, expires_at, id_token) = if expiring && account.refresh_token.is_some() {
            let fresh = self
                .refresh_at_provider(&account)
                .await
                .map_err(|_| failed_access())?;
            (
                fresh.access_token,
                fresh.access_token_expires_at,
                fresh.id_token,
            )
        } else {
            (
                account
                    .access_token
                    .as_deref()
                    .and_then(|s| self.unseal(s))
                    .ok_or_else(failed_access)?,
                account.access_token_expires_at,
                account.id_token.as_deref().and_then(|s| self.unseal(s)),
            )
        };
        if expires_at.is_some_and(|at| at <= now) {
            // Expired and nothing to refresh it with.
            return Err(failed_access());
        }
        Ok(AccessToken {
            access_token: token,
            access_token_expires_at: expires_at,
            scopes: account
                .scope
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            id_token: id_token.or_else(|| account.id_token.as_deref().and_then(|s| self.unseal(s))),
        })
    }

    /// Refreshes the linked account's tokens now; returns them with the account.
    pub async fn refresh_provider_token(
        &self,
        user: &User,
        selector: &AccountSelector,
    ) -> AuthResult<(Account, ProviderTokens)> {
        let account = self.linked_account(user, selector).await?;
        self.provider_supported(&account)?;
        let mut fresh = self.refresh_at_provider(&account).await?;
        let stored = self
            .linked_account(user, &AccountSelector::Id(account.id.clone()))
            .await?;
        // Answer with what is stored now: the old refresh token when none came back.
        fresh.refresh_token = stored.refresh_token.as_deref().and_then(|s| self.unseal(s));
        fresh.refresh_token_expires_at = stored.refresh_token_expires_at;
        fresh.scope = stored.scope.clone();
        fresh.id_token = fresh
            .id_token
            .or_else(|| stored.id_token.as_deref().and_then(|s| self.unseal(s)));
        Ok((stored, fresh))
    }

    /// The provider's profile of the linked account, read with a valid access token.
    pub async fn provider_account_info(
        &self,
        user: &User,
        account_row_id: &str,
    ) -> AuthResult<(Account, ProviderProfile)> {
        let selector = AccountSelector::Id(account_row_id.to_string());
        let account = self.linked_account(user, &selector).await?;
        if account.provider_id == CREDENTIAL || !self.provider_configured(&account.provider_id) {
            return Err(AuthError::invalid(
                "PROVIDER_NOT_CONFIGURED",
                "Account is not associated with a configured social provider.",
            ));
        }
        let token = self.provider_access_token(user, &selector).await?;
        if token.access_token.is_empty() {
            return Err(AuthError::invalid(
                "ACCESS_TOKEN_NOT_FOUND",
                "Access token not found",
            ));
        }
        let info_failed = || {
            AuthError::coded(
                crate::error::Kind::Unauthenticated,
                "FAILED_TO_GET_USER_INFO",
                "Failed to get user info",
            )
        };
        let http = http()?;
        let get = |url: String| {
            let http = http.clone();
            let bearer = token.access_token.clone();
            async move {
                let res = http
                    .get(url)
                    .bearer_auth(bearer)
                    .header("accept", "application/json")
                    .send()
                    .await
                    .ok()?;
                if !res.status().is_success() {
                    return None;
                }
                res.json::<Value>().await.ok()
            }
        };
        let profile = if account.provider_id == "github" {
            let gh = self.settings.github.as_ref().ok_or_else(info_failed)?;
            let at = |p: &str| gh.api_url.join(p).map(|u| u.to_string());
            let raw = get(at("user").map_err(AuthError::internal)?)
                .await
                .ok_or_else(info_failed)?;
            let emails = get(at("user/emails").map_err(AuthError::internal)?)
                .await
                .unwrap_or_default();
            let primary = emails
                .as_array()
                .and_then(|l| l.iter().find(|e| e["primary"] == true).cloned());
            ProviderProfile {
                id: match &raw["id"] {
                    Value::Number(n) => n.to_string(),
                    other => other.as_str().unwrap_or_default().to_string(),
                },
                name: raw["name"]
                    .as_str()
                    .or(raw["login"].as_str())
                    .map(str::to_string),
                email: primary
                    .as_ref()
                    .and_then(|e| e["email"].as_str())
                    .or(raw["email"].as_str())
                    .map(str::to_string),
                image: raw["avatar_url"].as_str().map(str::to_string),
                email_verified: primary.is_some_and(|e| e["verified"] == true),
                raw,
            }
        } else {
            let (_, doc) = self
                .discovered_provider(&account)
                .await
                .ok_or_else(info_failed)?;
            let endpoint = doc.userinfo_endpoint.clone().ok_or_else(info_failed)?;
            let raw = get(endpoint).await.ok_or_else(info_failed)?;
            ProviderProfile {
                id: raw["sub"].as_str().unwrap_or_default().to_string(),
                name: raw["name"].as_str().map(str::to_string),
                email: raw["email"].as_str().map(str::to_string),
                image: raw["picture"].as_str().map(str::to_string),
                email_verified: raw["email_verified"] == true || raw["email_verified"] == "true",
                raw,
            }
        };
        Ok((account, profile))
    }
}
