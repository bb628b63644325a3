//! Social sign-in over OAuth 2 with PKCE (S256). The state is a one-time
//! token kept (hashed) in `verification` and echoed in a signed cookie; the
//! callback must present both. Accounts link to an existing user only when
//! the provider vouches for the email and the local email is verified (or
//! the provider is trusted).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Auth;
use crate::audit::{Entry, Event, RequestMeta};
use crate::crypto::sha256;
use crate::error::{AuthError, AuthResult};
use crate::provider_tokens::ProviderTokens;
use crate::sessions::Authenticated;
use crate::tokens::{self, Lookup};
use crate::users::{self, User, store as user_store};

pub const STATE_PURPOSE: &str = "auth-state";
pub const STATE_TTL: Duration = Duration::minutes(10);

/// Where to go after the provider, kept with the state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateData {
    pub provider: String,
    pub callback_url: String,
    pub error_url: Option<String>,
    pub new_user_url: Option<String>,
    pub code_verifier: String,
    /// Set when a signed-in user links this provider to their account.
    #[serde(default)]
    pub link_user_id: Option<String>,
    /// The OpenID Connect nonce the ID token must carry.
    #[serde(default)]
    pub nonce: Option<String>,
}

/// The redirect to the provider and the state to put in the cookie.
pub struct Started {
    pub url: String,
    pub state: String,
}

/// What the provider says about the person.
#[derive(Debug, Clone)]
pub struct Profile {
    pub account_id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: String,
    pub image: Option<String>,
    /// What the token endpoint gave us, stored (encrypted) on the account.
    pub tokens: crate::provider_tokens::ProviderTokens,
}

#[allow(clippy::large_enum_variant)] // one per request, never stored
pub enum Finished {
    SignedIn {
        auth: Authenticated,
        created: bool,
        state: StateData,
    },
    /// A provider was added to the signed-in user's account.
    Linked { state: StateData },
}

/// A failure to report on the error page, with Better-Auth's codes.
#[derive(Debug, Clone)]
pub struct CallbackError {
    pub code: &'static str,
    pub error_url: Option<String>,
}

/// Sends a request to a provider and reads its JSON answer; any failure is
/// `failure`, the error code the callback redirects with.
pub(crate) async fn json_answer<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    failure: &'static str,
) -> Result<T, &'static str> {
    request
        .send()
        .await
        .map_err(|_| failure)?
        .json()
        .await
        .map_err(|_| failure)
}

impl Auth {
    pub(crate) fn provider_configured(&self, provider: &str) -> bool {
        (provider == "github" && self.settings.github.is_some())
            || self.oidc_provider(provider).is_some()
    }

    /// The social providers that are configured, for sign-in pages.
    pub fn configured_providers(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .settings
            .github
            .iter()
            .map(|_| "github".to_string())
            .collect();
        out.extend(self.settings.oidc_providers.iter().map(|p| p.id.clone()));
        out
    }

    pub(crate) fn oidc_provider(
        &self,
        provider: &str,
    ) -> Option<&crate::settings::OidcRelyingParty> {
        self.settings
            .oidc_providers
            .iter()
            .find(|p| p.id == provider)
    }

    pub async fn start_social(
        &self,
        provider: &str,
        state_data: impl FnOnce(String) -> StateData,
    ) -> AuthResult<Started> {
        let not_found = || AuthError::not_found("PROVIDER_NOT_FOUND", "Provider not found");
        // (authorize endpoint, client id, scope) for the provider.
        let (mut url, client_id, scope, oidc) = if provider == "github" {
            let gh = self.settings.github.as_ref().ok_or_else(not_found)?;
            (
                gh.authorize_url.clone(),
                gh.client_id.clone(),
                "read:user user:email",
                false,
            )
        } else {
            let rp = self.oidc_provider(provider).ok_or_else(not_found)?;
            let doc = self.discovery.get(rp).await.map_err(|code| {
                tracing::warn!(provider, code, "OpenID Connect discovery failed");
                AuthError::coded(
                    crate::error::Kind::Unprocessable,
                    "PROVIDER_UNAVAILABLE",
                    "The sign-in provider cannot be reached; try again later",
                )
            })?;
            let url = url::Url::parse(&doc.authorization_endpoint).map_err(AuthError::internal)?;
            (
                url,
                rp.client_id.clone(),
                // Ask for a refresh token where the issuer offers one, so
                // get-access-token keeps working after the first hour.
                if doc.scopes_supported.iter().any(|s| s == "offline_access") {
                    "openid email profile offline_access"
                } else {
                    "openid email profile"
                },
                true,
            )
        };
        let verifier = common::ids::random_alphanumeric(64);
        let challenge = URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()));
        let mut data = state_data(verifier);
        let nonce = oidc.then(|| common::ids::random_alphanumeric(32));
        data.nonce = nonce.clone();
        let value = serde_json::to_string(&data).map_err(AuthError::internal)?;
        let state =
            tokens::issue(&self.db, STATE_PURPOSE, &value, self.clock.now(), STATE_TTL).await?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &client_id)
                .append_pair("state", &state)
                .append_pair("scope", scope)
                .append_pair(
                    "redirect_uri",
                    &self.auth_url(&format!("/callback/{provider}")),
                )
                .append_pair("code_challenge_method", "S256")
                .append_pair("code_challenge", &challenge);
            if let Some(n) = &nonce {
                q.append_pair("nonce", n);
            }
        }
        Ok(Started {
            url: url.to_string(),
            state,
        })
    }

    /// Completes the flow: checks the state, exchanges the code, finds,
    /// links or creates the user, and opens a session.
    pub async fn finish_social(
        &self,
        provider: &str,
        state: &str,
        cookie_state: Option<&str>,
        code: &str,
        iss: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Finished, CallbackError> {
        let fail =
            |code: &'static str, error_url: Option<String>| CallbackError { code, error_url };
        // A storage failure becomes a redirect that names only a code: log it.
        let failed = |code: &'static str, error_url: &Option<String>| {
            let error_url = error_url.clone();
            move |e: sqlx::Error| {
                tracing::error!(error = %e, code, "social sign-in step failed");
                CallbackError { code, error_url }
            }
        };
        if cookie_state != Some(state) {
            return Err(fail("state_mismatch", None));
        }
        let now = self.clock.now();
        let data: StateData = match tokens::consume(&self.db, STATE_PURPOSE, state, now).await {
            Ok(Lookup::Valid(v)) => {
                serde_json::from_str(&v).map_err(|_| fail("state_invalid", None))?
            }
            Ok(_) => return Err(fail("state_mismatch", None)),
            Err(_) => return Err(fail("internal_server_error", None)),
        };
        let err_url = data.error_url.clone();
        if data.provider != provider {
            return Err(fail("state_mismatch", err_url));
        }
        let profile = match self.oidc_provider(provider) {
            None => {
                self.github_profile(code, &data.code_verifier, provider)
                    .await
            }
            Some(rp) => match self.discovery.get(rp).await {
                // RFC 9207: a response naming another issuer is a mix-up attack.
                Ok(doc) if iss.is_some_and(|i| i != doc.issuer) => Err("issuer_mismatch"),
                Ok(doc) => {
                    crate::social_oidc::profile(
                        rp,
                        &doc,
                        code,
                        &data.code_verifier,
                        &self.auth_url(&format!("/callback/{provider}")),
                        data.nonce.as_deref(),
                        now,
                    )
                    .await
                }
                Err(e) => Err(e),
            },
        }
        .map_err(|c| fail(c, err_url.clone()))?;
        let Some(email) = profile.email.as_deref().and_then(users::normalize_email) else {
            return Err(fail("email_not_found", err_url));
        };
        let sealed = &profile.tokens;
        let existing = self
            .account_by_key(provider, &profile.account_id)
            .await
            .map_err(failed("internal_server_error", &err_url))?;
        if let Some(link_to) = data.link_user_id.clone() {
            let owner = user_store::find_by_id(&self.db, &link_to)
                .await
                .ok()
                .flatten()
                .ok_or_else(|| fail("unable_to_link_account", err_url.clone()))?;
            match existing {
                Some(other) if other != owner.id => {
                    return Err(fail("account_already_linked_to_different_user", err_url));
                }
                Some(_) => {
                    // Linking again still succeeds with the old tokens; the
                    // failure to refresh them is logged.
                    if let Err(e) = self
                        .update_tokens(provider, &profile.account_id, sealed)
                        .await
                    {
                        tracing::warn!(error = %e, provider, "cannot store the provider's new tokens");
                    }
                }
                None => {
                    let trusted = self
                        .settings
                        .trusted_providers
                        .iter()
                        .any(|p| p == provider);
                    if !(profile.email_verified || trusted) {
                        return Err(fail("unable_to_link_account", err_url));
                    }
                    if email != owner.email {
                        return Err(fail("email_does_not_match", err_url));
                    }
                    self.link(&owner, provider, &profile.account_id, sealed, meta)
                        .await
                        .map_err(failed("unable_to_link_account", &err_url))?;
                }
            }
            return Ok(Finished::Linked { state: data });
        }
        let (user, created) = match existing {
            Some(user_id) => {
                let u = user_store::find_by_id(&self.db, &user_id)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, provider, "cannot read the linked user");
                        fail("internal_server_error", err_url.clone())
                    })?
                    .ok_or_else(|| fail("unable_to_link_account", err_url.clone()))?;
                if let Err(e) = self
                    .update_tokens(provider, &profile.account_id, sealed)
                    .await
                {
                    tracing::warn!(error = %e, provider, "cannot store the provider's new tokens");
                }
                (u, false)
            }
            None => match user_store::find_by_email(&self.db, &email)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, provider, "cannot look up the provider's email");
                    fail("internal_server_error", err_url.clone())
                })? {
                Some(u) => {
                    let trusted = self
                        .settings
                        .trusted_providers
                        .iter()
                        .any(|p| p == provider);
                    if !profile.email_verified || !(u.email_verified || trusted) {
                        return Err(fail("account_not_linked", err_url));
                    }
                    self.link(&u, provider, &profile.account_id, sealed, meta)
                        .await
                        .map_err(failed("unable_to_link_account", &err_url))?;
                    if !u.email_verified {
                        if let Err(e) = user_store::mark_verified(&self.db, &u.id, now).await {
                            tracing::warn!(error = %e, provider, "cannot mark the linked email verified");
                        }
                        self.forget_standing(&u.id);
                    }
                    (u, false)
                }
                None => {
                    let id = common::ids::new_id();
                    // A provider's name is taken as given, made fit to show.
                    let name = match users::clean_name(&profile.name) {
                        n if n.is_empty() => email.split('@').next().unwrap_or("user").to_string(),
                        n => n,
                    };
                    let new = user_store::NewUser {
                        id: &id,
                        name: &name,
                        email: &email,
                        email_verified: profile.email_verified,
                        image: profile.image.as_deref(),
                        role: "student",
                        now,
                    };
                    if !user_store::create_with_password(&self.db, &new, None)
                        .await
                        .map_err(failed("unable_to_create_user", &err_url))?
                    {
                        return Err(fail("unable_to_create_user", err_url));
                    }
                    self.insert_account(&id, provider, &profile.account_id, sealed)
                        .await
                        .map_err(failed("unable_to_create_user", &err_url))?;
                    self.audit(
                        meta,
                        Entry::new(Event::Register)
                            .user(&id)
                            .email(&email)
                            .details(json!({"provider": provider})),
                    )
                    .await;
                    let u = user_store::find_by_id(&self.db, &id)
                        .await
                        .ok()
                        .flatten()
                        .ok_or_else(|| fail("unable_to_create_user", err_url.clone()))?;
                    (u, true)
                }
            },
        };
        let session = match self.create_session(&user, true, meta).await {
            Ok(s) => s,
            Err(AuthError::Coded {
                code: "BANNED_USER",
                ..
            }) => return Err(fail("BANNED_USER", err_url)),
            Err(_) => return Err(fail("unable_to_create_session", err_url)),
        };
        self.audit(
            meta,
            Entry::about(Event::LoginSuccess, &user).details(json!({"method": provider})),
        )
        .await;
        Ok(Finished::SignedIn {
            auth: Authenticated { session, user },
            created,
            state: data,
        })
    }

    async fn github_profile(
        &self,
        code: &str,
        verifier: &str,
        provider: &str,
    ) -> Result<Profile, &'static str> {
        let gh = self
            .settings
            .github
            .as_ref()
            .ok_or("oauth_provider_not_found")?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .user_agent("IntelliStack")
            .build()
            .map_err(|_| "internal_server_error")?;
        let redirect = self.auth_url(&format!("/callback/{provider}"));
        let exchange = http
            .post(gh.token_url.clone())
            .header("accept", "application/json")
            .form(&[
                ("client_id", gh.client_id.as_str()),
                ("client_secret", gh.client_secret.expose()),
                ("code", code),
                ("redirect_uri", redirect.as_str()),
                ("code_verifier", verifier),
            ]);
        let token: serde_json::Value = json_answer(exchange, "invalid_code").await?;
        let access = token["access_token"]
            .as_str()
            .ok_or("invalid_code")?
            .to_string();
        let api = |path: &str| -> Result<_, &'static str> {
            let url = gh.api_url.join(path).map_err(|_| "internal_server_error")?;
            Ok(http
                .get(url)
                .bearer_auth(&access)
                .header("accept", "application/vnd.github+json"))
        };
        let user: serde_json::Value = json_answer(api("user")?, "unable_to_get_user_info").await?;
        // The address list is optional: without it the profile's own address is used.
        let emails: Vec<serde_json::Value> = api("user/emails")?
            .send()
            .await
            .map_err(|_| "unable_to_get_user_info")?
            .json()
            .await
            .unwrap_or_default();
        let primary = emails.iter().find(|e| e["primary"] == true);
        let id = match &user["id"] {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.clone(),
            _ => return Err("unable_to_get_user_info"),
        };
        Ok(Profile {
            account_id: id,
            email: primary
                .and_then(|e| e["email"].as_str())
                .or(user["email"].as_str())
                .map(str::to_string),
            email_verified: primary.is_some_and(|e| e["verified"] == true),
            name: user["name"]
                .as_str()
                .or(user["login"].as_str())
                .unwrap_or("GitHub user")
                .to_string(),
            image: user["avatar_url"].as_str().map(str::to_string),
            tokens: ProviderTokens::from_response(&token, self.clock.now())
                .ok_or("invalid_code")?,
        })
    }

    async fn account_by_key(
        &self,
        provider: &str,
        account_id: &str,
    ) -> sqlx::Result<Option<String>> {
        let row: Option<(String,)> = common::on_db!(&self.db, pool => sqlx::query_as(
            "SELECT user_id FROM account WHERE provider_id = $1 AND account_id = $2")
            .bind(provider).bind(account_id).fetch_optional(pool).await)?;
        Ok(row.map(|r| r.0))
    }

    async fn insert_account(
        &self,
        user_id: &str,
        provider: &str,
        account_id: &str,
        tokens: &ProviderTokens,
    ) -> sqlx::Result<()> {
        let now = self.clock.now();
        let id = common::ids::new_id();
        let default_scope = if provider == "github" {
            "read:user,user:email"
        } else {
            "openid,email,profile"
        };
        common::on_db!(&self.db, pool => sqlx::query(
            "INSERT INTO account (id, account_id, provider_id, user_id, scope, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)")
            .bind(&id).bind(account_id).bind(provider).bind(user_id).bind(default_scope).bind(now)
            .execute(pool).await.map(|_| ()))?;
        self.store_provider_tokens(&id, tokens).await
    }

    /// Links the provider's account to `user` and records the link.
    async fn link(
        &self,
        user: &User,
        provider: &str,
        account_id: &str,
        tokens: &ProviderTokens,
        meta: &RequestMeta,
    ) -> sqlx::Result<()> {
        self.insert_account(&user.id, provider, account_id, tokens)
            .await?;
        self.audit(
            meta,
            Entry::about(Event::OAuthLink, user).details(json!({"provider": provider})),
        )
        .await;
        Ok(())
    }

    async fn update_tokens(
        &self,
        provider: &str,
        account_id: &str,
        tokens: &ProviderTokens,
    ) -> sqlx::Result<()> {
        let row: Option<(String,)> = common::on_db!(&self.db, pool => sqlx::query_as(
            "SELECT id FROM account WHERE provider_id = $1 AND account_id = $2")
            .bind(provider).bind(account_id).fetch_optional(pool).await)?;
        match row {
            Some((id,)) => self.store_provider_tokens(&id, tokens).await,
            None => Ok(()),
        }
    }
}

impl Auth {
    /// Removes one of the caller's sign-in methods, never the last one.
    pub async fn unlink_account(
        &self,
        user: &crate::users::User,
        account_id: Option<&str>,
        provider_id: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        let accounts = user_store::accounts_of(&self.db, &user.id).await?;
        let target = accounts
            .iter()
            .find(|a| match (account_id, provider_id) {
                (Some(id), _) => {
                    a.id == id
                        || (provider_id == Some(a.provider_id.as_str()) && a.account_id == id)
                }
                (None, Some(p)) => a.provider_id == p,
                (None, None) => false,
            })
            .ok_or_else(|| AuthError::invalid("ACCOUNT_NOT_FOUND", "Account not found"))?;
        if accounts.len() <= 1 {
            return Err(AuthError::invalid(
                "FAILED_TO_UNLINK_LAST_ACCOUNT",
                "You can't unlink your last account",
            ));
        }
        common::on_db!(&self.db, pool => sqlx::query("DELETE FROM account WHERE id = $1 AND user_id = $2")
            .bind(&target.id).bind(&user.id).execute(pool).await.map(|_| ()))?;
        self.audit(
            meta,
            Entry::about(Event::OAuthUnlink, user).details(json!({"provider": target.provider_id})),
        )
        .await;
        Ok(())
    }
}
