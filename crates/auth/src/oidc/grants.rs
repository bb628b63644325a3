//! The token endpoint's grants: authorization_code (with PKCE),
//! refresh_token (rotating, with family revocation on reuse) and
//! client_credentials.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::clients::Client;
use super::{ACCESS_TTL, REFRESH_TTL, store};
use crate::Auth;
use crate::audit::{Entry, Event, RequestMeta};
use crate::crypto::{ct_eq, sha256, token_hash};
use crate::error::{AuthError, AuthResult};
use crate::users::store as user_store;

/// The form fields of a token request.
#[derive(Debug, Default, serde::Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

fn grant_error(description: &str) -> AuthError {
    AuthError::oauth("invalid_grant", description)
}

/// Who the tokens are for and what they carry.
struct Issue<'a> {
    client: &'a Client,
    /// The user the grant was for; they must still be allowed to sign in.
    user_id: &'a str,
    session_id: Option<&'a str>,
    scopes: &'a [String],
    nonce: Option<&'a str>,
    auth_time: Option<DateTime<Utc>>,
    code_id: Option<&'a str>,
    /// The refresh-token family to continue, or None to start one.
    family: Option<&'a str>,
}

impl Auth {
    pub async fn token_grant(
        &self,
        client: &Client,
        p: TokenParams,
        meta: &RequestMeta,
    ) -> AuthResult<Value> {
        let grant = p.grant_type.as_deref().unwrap_or_default();
        if grant.is_empty() {
            return Err(AuthError::oauth(
                "invalid_request",
                "grant_type is required",
            ));
        }
        if !super::clients::GRANTS.contains(&grant) {
            return Err(AuthError::oauth(
                "unsupported_grant_type",
                format!("grant_type {grant} is not supported"),
            ));
        }
        if !client.allows_grant(grant) {
            return Err(AuthError::oauth(
                "unauthorized_client",
                format!("this client may not use {grant}"),
            ));
        }
        match grant {
            "authorization_code" => self.code_grant(client, p, meta).await,
            "refresh_token" => self.refresh_grant(client, p, meta).await,
            _ => self.client_credentials_grant(client, p).await,
        }
    }

    async fn code_grant(
        &self,
        client: &Client,
        p: TokenParams,
        meta: &RequestMeta,
    ) -> AuthResult<Value> {
        let code = p
            .code
            .as_deref()
            .ok_or_else(|| AuthError::oauth("invalid_request", "code is required"))?;
        let now = self.clock.now();
        let row = store::find_code(&self.db, &token_hash(code))
            .await?
            .ok_or_else(|| grant_error("invalid code"))?;
        if row.client_id != client.client_id {
            return Err(grant_error("invalid code"));
        }
        if !store::consume_code(&self.db, &row.id, now).await? {
            // A second use means the code leaked: whatever it bought is revoked.
            let revoked = store::revoke_from_code(&self.db, &row.id, now).await?;
            self.audit_reuse(meta, client, &row.user_id, "authorization_code", revoked)
                .await;
            return Err(grant_error("invalid code"));
        }
        if row.expires_at <= now {
            return Err(grant_error("code expired"));
        }
        if p.redirect_uri.as_deref() != Some(row.redirect_uri.as_str()) {
            return Err(grant_error(
                "redirect_uri does not match the authorization request",
            ));
        }
        match (&row.code_challenge, p.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) => {
                let computed = URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()));
                if !ct_eq(computed.as_bytes(), challenge.as_bytes()) {
                    return Err(grant_error(
                        "code_verifier does not match the code_challenge",
                    ));
                }
            }
            (Some(_), None) => return Err(grant_error("code_verifier is required")),
            (None, Some(_)) => {
                return Err(grant_error("code_verifier sent but no code_challenge was"));
            }
            (None, None) => {}
        }
        let scopes: Vec<String> = row.scopes.split_whitespace().map(str::to_string).collect();
        self.issue_tokens(
            Issue {
                client,
                user_id: &row.user_id,
                session_id: row.session_id.as_deref(),
                scopes: &scopes,
                nonce: row.nonce.as_deref(),
                auth_time: Some(row.auth_time),
                code_id: Some(&row.id),
                family: None,
            },
            meta,
        )
        .await
    }

    async fn refresh_grant(
        &self,
        client: &Client,
        p: TokenParams,
        meta: &RequestMeta,
    ) -> AuthResult<Value> {
        let token = p
            .refresh_token
            .as_deref()
            .ok_or_else(|| AuthError::oauth("invalid_request", "refresh_token is required"))?;
        let now = self.clock.now();
        let row = store::find_refresh(&self.db, &token_hash(token))
            .await?
            .filter(|r| r.client_id == client.client_id)
            .ok_or_else(|| grant_error("invalid refresh token"))?;
        if row.revoked_at.is_some() || !store::rotate_refresh(&self.db, &row.id, now).await? {
            // An old token came back: someone holds a copy. End the whole line.
            let revoked = store::revoke_family(&self.db, &row.family_id, now).await?;
            self.audit_reuse(meta, client, &row.user_id, "refresh_token", revoked)
                .await;
            return Err(grant_error(
                "refresh token was already used; its family is revoked",
            ));
        }
        if row.expires_at <= now {
            return Err(grant_error("refresh token expired"));
        }
        let granted: Vec<String> = row.scopes.split_whitespace().map(str::to_string).collect();
        let scopes = match p.scope.as_deref() {
            None => granted,
            Some(s) => {
                let wanted: Vec<String> = s.split_whitespace().map(str::to_string).collect();
                if wanted.iter().any(|w| !granted.contains(w)) {
                    return Err(AuthError::oauth(
                        "invalid_scope",
                        "a refresh may only narrow the granted scopes",
                    ));
                }
                wanted
            }
        };
        self.issue_tokens(
            Issue {
                client,
                user_id: &row.user_id,
                session_id: row.session_id.as_deref(),
                scopes: &scopes,
                nonce: None,
                auth_time: row.auth_time,
                code_id: row.authorization_code_id.as_deref(),
                family: Some(&row.family_id),
            },
            meta,
        )
        .await
    }

    async fn client_credentials_grant(&self, client: &Client, p: TokenParams) -> AuthResult<Value> {
        if client.is_public() {
            return Err(AuthError::oauth(
                "unauthorized_client",
                "public clients cannot use client_credentials",
            ));
        }
        // No user is involved, so user-facing scopes do not apply.
        let scopes: Vec<String> = p
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if let Some(bad) = scopes.iter().find(|s| {
            matches!(s.as_str(), "openid" | "offline_access") || !client.scopes.contains(s)
        }) {
            return Err(AuthError::oauth(
                "invalid_scope",
                format!("scope {bad} is not available to client_credentials"),
            ));
        }
        let now = self.clock.now();
        let access = common::ids::random_alphanumeric(32);
        let joined = scopes.join(" ");
        store::insert_access(
            &self.db,
            &store::NewAccess {
                hash: &token_hash(&access),
                client_id: &client.client_id,
                user_id: None,
                session_id: None,
                refresh_token_id: None,
                code_id: None,
                scopes: &joined,
                expires_at: now + ACCESS_TTL,
                now,
            },
        )
        .await?;
        Ok(json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL.num_seconds(),
            "expires_at": (now + ACCESS_TTL).timestamp(),
            "scope": joined,
        }))
    }

    /// A code or refresh token came back a second time; what it bought is revoked.
    async fn audit_reuse(
        &self,
        meta: &RequestMeta,
        client: &Client,
        user_id: &str,
        kind: &str,
        revoked: u64,
    ) {
        self.audit(
            meta,
            Entry::new(Event::OidcTokenReuse)
                .user(user_id)
                .details(json!({"client_id": client.client_id, "kind": kind, "revoked": revoked})),
        )
        .await;
    }

    async fn issue_tokens(&self, i: Issue<'_>, meta: &RequestMeta) -> AuthResult<Value> {
        let now = self.clock.now();
        let user = user_store::find_by_id(&self.db, i.user_id)
            .await?
            .filter(|u| !u.is_banned(now))
            .ok_or_else(|| grant_error("the user is no longer allowed to sign in"))?;
        let joined = i.scopes.join(" ");
        let has = |s: &str| i.scopes.iter().any(|x| x == s);
        let refresh = if has("offline_access") && i.client.allows_grant("refresh_token") {
            let token = common::ids::random_alphanumeric(32);
            let id = common::ids::new_id();
            let family = i.family.map(str::to_string).unwrap_or_else(|| id.clone());
            store::insert_refresh(
                &self.db,
                &store::NewRefresh {
                    id: &id,
                    hash: &token_hash(&token),
                    client_id: &i.client.client_id,
                    user_id: &user.id,
                    session_id: i.session_id,
                    family_id: &family,
                    code_id: i.code_id,
                    scopes: &joined,
                    auth_time: i.auth_time,
                    expires_at: now + REFRESH_TTL,
                    now,
                },
            )
            .await?;
            Some((id, token))
        } else {
            None
        };
        let access = common::ids::random_alphanumeric(32);
        store::insert_access(
            &self.db,
            &store::NewAccess {
                hash: &token_hash(&access),
                client_id: &i.client.client_id,
                user_id: Some(&user.id),
                session_id: i.session_id,
                refresh_token_id: refresh.as_ref().map(|(id, _)| id.as_str()),
                code_id: i.code_id,
                scopes: &joined,
                expires_at: now + ACCESS_TTL,
                now,
            },
        )
        .await?;
        let mut body = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL.num_seconds(),
            "expires_at": (now + ACCESS_TTL).timestamp(),
            "scope": joined,
        });
        if let Some((_, token)) = &refresh {
            body["refresh_token"] = json!(token);
        }
        if has("openid") {
            let id_token = self
                .id_token(super::IdTokenInput {
                    user: &user,
                    client_id: &i.client.client_id,
                    scopes: i.scopes,
                    nonce: i.nonce,
                    auth_time: i.auth_time,
                    session_id: i.session_id,
                    access_token: &access,
                })
                .await?;
            body["id_token"] = json!(id_token);
        }
        self.audit(
            meta,
            Entry::about(Event::OidcTokenIssued, &user).details(json!({
                "client_id": i.client.client_id,
                "scopes": joined,
                "refreshed": i.family.is_some(),
            })),
        )
        .await;
        Ok(body)
    }
}
