//! `/oauth2/authorize` and consent: decides whether the browser goes to the
//! login page, the consent page, or back to the client with a code. Every
//! outcome is a URL; errors found before the redirect URI is trusted go to
//! our own error page, never to the client.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use url::Url;

use super::clients::Client;
use super::signed_query::{self, SignatureError};
use super::{SUPPORTED_SCOPES, store};
use crate::Auth;
use crate::audit::{Entry, Event, RequestMeta};
use crate::crypto::token_hash;
use crate::error::{AuthError, AuthResult};
use crate::sessions::Authenticated;

/// Appends query parameters to a URL that may already have a query.
pub fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    match Url::parse(base) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs.iter());
            url.to_string()
        }
        Err(_) => {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter())
                .finish();
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}{q}")
        }
    }
}

/// An authorization request whose client and redirect URI are trusted.
struct Checked {
    client: Client,
    redirect_uri: String,
    state: Option<String>,
    scopes: Vec<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    prompt: Vec<String>,
    max_age: Option<i64>,
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Where the browser goes next.
enum Invalid {
    /// Before the redirect URI is known to be the client's.
    Untrusted(&'static str, String),
    /// Reported to the client at its redirect URI.
    ToClient(&'static str, String),
}

impl Auth {
    /// Our issuer: the auth base URL, as Better-Auth's provider uses.
    pub fn oidc_issuer(&self) -> String {
        self.auth_url("")
    }

    fn error_page(&self, error: &str, description: &str) -> String {
        with_query(
            &self.auth_url("/error"),
            &[("error", error), ("error_description", description)],
        )
    }

    fn client_error(
        &self,
        redirect_uri: &str,
        state: Option<&str>,
        error: &str,
        description: &str,
    ) -> String {
        let iss = self.oidc_issuer();
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(s) = state {
            pairs.push(("state", s));
        }
        pairs.push(("iss", &iss));
        with_query(redirect_uri, &pairs)
    }

    fn page(&self, page: &str, params: &[(String, String)]) -> String {
        let base = if page.starts_with('/') {
            format!("{}{page}", common::config::origin_of(&self.config.base_url))
        } else {
            page.to_string()
        };
        let q = signed_query::sign(self.secret(), params, self.clock.now());
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}{q}")
    }

    async fn check(&self, params: &[(String, String)]) -> AuthResult<Result<Checked, Invalid>> {
        let Some(client_id) = param(params, "client_id") else {
            return Ok(Err(Invalid::Untrusted(
                "invalid_request",
                "client_id is required".into(),
            )));
        };
        let Some(client) = self.find_client(client_id).await?.filter(|c| !c.disabled) else {
            return Ok(Err(Invalid::Untrusted(
                "invalid_client",
                "unknown or disabled client".into(),
            )));
        };
        let Some(redirect_uri) = param(params, "redirect_uri") else {
            return Ok(Err(Invalid::Untrusted(
                "invalid_request",
                "redirect_uri is required".into(),
            )));
        };
        if !client.redirect_allowed(redirect_uri) {
            return Ok(Err(Invalid::Untrusted(
                "invalid_request",
                "redirect_uri is not registered for this client".into(),
            )));
        }
        let redirect_uri = redirect_uri.to_string();
        let to_client = |e: &'static str, d: &str| Ok(Err(Invalid::ToClient(e, d.into())));
        if param(params, "request").is_some() || param(params, "request_uri").is_some() {
            return to_client("request_not_supported", "request objects are not supported");
        }
        if param(params, "response_type") != Some("code") {
            return to_client(
                "unsupported_response_type",
                "only response_type=code is supported",
            );
        }
        let scopes: Vec<String> = param(params, "scope")
            .unwrap_or("openid")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if let Some(bad) = scopes.iter().find(|s| {
            !SUPPORTED_SCOPES.contains(&s.as_str()) || !client.scopes.iter().any(|c| c == *s)
        }) {
            return to_client("invalid_scope", &format!("scope {bad} is not allowed"));
        }
        let challenge = param(params, "code_challenge");
        match param(params, "code_challenge_method") {
            None if challenge.is_some() => {
                return to_client("invalid_request", "code_challenge_method must be S256");
            }
            Some(m) if m != "S256" => {
                return to_client(
                    "invalid_request",
                    "code_challenge_method must be S256; plain is not supported",
                );
            }
            _ => {}
        }
        if let Some(c) = challenge
            && !(43..=128).contains(&c.len())
        {
            return to_client("invalid_request", "code_challenge has the wrong length");
        }
        if challenge.is_none() && (client.is_public() || client.require_pkce) {
            return to_client(
                "invalid_request",
                "pkce is required: send code_challenge with S256",
            );
        }
        let prompt: Vec<String> = param(params, "prompt")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if let Some(bad) = prompt
            .iter()
            .find(|p| !matches!(p.as_str(), "none" | "login" | "consent" | "select_account"))
        {
            return to_client("invalid_request", &format!("prompt {bad} is not supported"));
        }
        if prompt.iter().any(|p| p == "none") && prompt.len() > 1 {
            return to_client("invalid_request", "prompt=none cannot be combined");
        }
        let max_age = match param(params, "max_age") {
            None => None,
            Some(raw) => match raw.parse::<i64>() {
                Ok(v) if v >= 0 => Some(v),
                _ => return to_client("invalid_request", "max_age must be a whole number"),
            },
        };
        Ok(Ok(Checked {
            client,
            redirect_uri,
            state: param(params, "state").map(str::to_string),
            scopes,
            nonce: param(params, "nonce").map(str::to_string),
            code_challenge: challenge.map(str::to_string),
            prompt,
            max_age,
        }))
    }

    /// Handles an authorization request. `login_started` is set when the
    /// request comes back from the login page: a session created after it
    /// satisfies `prompt=login` and `max_age`.
    pub async fn authorize(
        &self,
        params: &[(String, String)],
        session: Option<&Authenticated>,
        login_started: Option<DateTime<Utc>>,
    ) -> AuthResult<String> {
        let c = match self.check(params).await? {
            Ok(c) => c,
            Err(Invalid::Untrusted(e, d)) => return Ok(self.error_page(e, &d)),
            Err(Invalid::ToClient(e, d)) => {
                let state = param(params, "state");
                let uri = param(params, "redirect_uri").unwrap_or_default();
                return Ok(self.client_error(uri, state, e, &d));
            }
        };
        let now = self.clock.now();
        let prompt_none = c.prompt.iter().any(|p| p == "none");
        let fresh = |s: &Authenticated| {
            login_started.is_some_and(|t| s.session.created_at >= t - Duration::seconds(1))
        };
        let needs_login = match session {
            None => true,
            Some(s) if fresh(s) => false,
            Some(s) => {
                c.prompt.iter().any(|p| p == "login")
                    || c.max_age
                        .is_some_and(|age| now - s.session.created_at > Duration::seconds(age))
            }
        };
        if needs_login {
            if prompt_none {
                return Ok(self.client_error(
                    &c.redirect_uri,
                    c.state.as_deref(),
                    "login_required",
                    "the user is not signed in",
                ));
            }
            return Ok(self.page(&self.settings.oidc.login_page, params));
        }
        let Some(s) = session else {
            return Err(AuthError::internal("authorization without a session"));
        };
        if s.user.is_banned(now) {
            return Ok(self.client_error(
                &c.redirect_uri,
                c.state.as_deref(),
                "access_denied",
                "the account is banned",
            ));
        }
        if !c.client.skip_consent {
            let granted = store::consent(&self.db, &c.client.client_id, &s.user.id).await?;
            let covered = granted.is_some_and(|g| {
                let g: Vec<&str> = g.split_whitespace().collect();
                c.scopes.iter().all(|s| g.contains(&s.as_str()))
            });
            if c.prompt.iter().any(|p| p == "consent") || !covered {
                if prompt_none {
                    return Ok(self.client_error(
                        &c.redirect_uri,
                        c.state.as_deref(),
                        "consent_required",
                        "the user has not consented",
                    ));
                }
                return Ok(self.page(&self.settings.oidc.consent_page, params));
            }
        }
        self.issue_code(&c, s).await
    }

    async fn issue_code(&self, c: &Checked, s: &Authenticated) -> AuthResult<String> {
        let now = self.clock.now();
        let code = common::ids::random_alphanumeric(32);
        let hash = token_hash(&code);
        let scopes = c.scopes.join(" ");
        store::insert_code(
            &self.db,
            &store::NewCode {
                hash: &hash,
                client_id: &c.client.client_id,
                user_id: &s.user.id,
                session_id: &s.session.id,
                redirect_uri: &c.redirect_uri,
                scopes: &scopes,
                nonce: c.nonce.as_deref(),
                code_challenge: c.code_challenge.as_deref(),
                auth_time: s.session.created_at,
                expires_at: now + self.settings.oidc.code_ttl,
                now,
            },
        )
        .await?;
        let iss = self.oidc_issuer();
        let mut pairs = vec![("code", code.as_str())];
        if let Some(state) = c.state.as_deref() {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &iss));
        Ok(with_query(&c.redirect_uri, &pairs))
    }

    /// The parameters of an authorization request this provider signed
    /// (the consent page reads them), if the signature holds and is fresh.
    pub fn verify_oauth_query(&self, oauth_query: &str) -> AuthResult<signed_query::Verified> {
        signed_query::verify(self.secret(), oauth_query, self.clock.now()).map_err(|e| match e {
            SignatureError::Invalid => AuthError::oauth("invalid_signature", e.to_string()),
            SignatureError::Expired => AuthError::oauth("invalid_request", e.to_string()),
        })
    }

    /// After a sign-in that carried `oauth_query`: continue the authorization.
    pub async fn resume_authorization(
        &self,
        session: &Authenticated,
        oauth_query: &str,
    ) -> AuthResult<String> {
        let v = self.verify_oauth_query(oauth_query)?;
        self.authorize(&v.params, Some(session), Some(v.issued_at))
            .await
    }

    /// The consent page's answer. `scope` may narrow what was asked.
    pub async fn answer_consent(
        &self,
        session: &Authenticated,
        oauth_query: &str,
        accept: bool,
        scope: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthResult<String> {
        let v = self.verify_oauth_query(oauth_query)?;
        let mut c = match self.check(&v.params).await? {
            Ok(c) => c,
            Err(Invalid::Untrusted(e, d)) | Err(Invalid::ToClient(e, d)) => {
                return Err(AuthError::oauth(e, d));
            }
        };
        if !accept {
            return Ok(self.client_error(
                &c.redirect_uri,
                c.state.as_deref(),
                "access_denied",
                "User denied access",
            ));
        }
        if let Some(narrowed) = scope {
            let wanted: Vec<String> = narrowed.split_whitespace().map(str::to_string).collect();
            if wanted.iter().any(|w| !c.scopes.contains(w)) {
                return Err(AuthError::oauth(
                    "invalid_scope",
                    "consent may only narrow the requested scopes",
                ));
            }
            c.scopes = wanted;
        }
        let now = self.clock.now();
        let previous = store::consent(&self.db, &c.client.client_id, &session.user.id)
            .await?
            .unwrap_or_default();
        let mut all: Vec<String> = previous.split_whitespace().map(str::to_string).collect();
        for s in &c.scopes {
            if !all.contains(s) {
                all.push(s.clone());
            }
        }
        store::save_consent(
            &self.db,
            &c.client.client_id,
            &session.user.id,
            &all.join(" "),
            now,
        )
        .await?;
        self.audit(
            meta,
            Entry::about(Event::OidcConsent, &session.user)
                .details(json!({"client_id": c.client.client_id, "scopes": c.scopes.join(" ")})),
        )
        .await;
        self.issue_code(&c, session).await
    }
}
