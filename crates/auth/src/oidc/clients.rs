//! Registered relying parties: registration (RFC 7591), redirect URI rules,
//! client authentication at the token endpoint, and admin management.
//! Client secrets are stored only as SHA-256 hashes.

use chrono::{DateTime, Utc};
use common::{Db, on_db};
use serde::Deserialize;
use serde_json::{Value, json};
use url::{Host, Url};

use super::SUPPORTED_SCOPES;
use crate::Auth;
use crate::audit::{Entry, Event, RequestMeta};
use crate::crypto::{ct_eq, token_hash};
use crate::error::{AuthError, AuthResult};

pub const AUTH_NONE: &str = "none";
pub const AUTH_BASIC: &str = "client_secret_basic";
pub const AUTH_POST: &str = "client_secret_post";
pub const GRANTS: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub name: String,
    pub uri: Option<String>,
    pub icon: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub application_type: String,
    pub skip_consent: bool,
    pub require_pkce: bool,
    pub enable_end_session: bool,
    pub disabled: bool,
    pub user_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == AUTH_NONE
    }

    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// Exact match, except that a native client's loopback redirect may use
    /// any port (RFC 8252 §7.3): the port is chosen when the app starts.
    pub fn redirect_allowed(&self, candidate: &str) -> bool {
        if self.redirect_uris.iter().any(|r| r == candidate) {
            return true;
        }
        if self.application_type != "native" {
            return false;
        }
        let Ok(wanted) = Url::parse(candidate) else {
            return false;
        };
        if wanted.scheme() != "http" || !is_loopback_ip(&wanted) {
            return false;
        }
        self.redirect_uris.iter().any(|r| {
            Url::parse(r).is_ok_and(|reg| {
                reg.scheme() == "http"
                    && is_loopback_ip(&reg)
                    && reg.host() == wanted.host()
                    && reg.path() == wanted.path()
                    && reg.query() == wanted.query()
            })
        })
    }

    /// The RFC 7591 view of a client (never the secret).
    pub fn view(&self) -> Value {
        json!({
            "client_id": self.client_id,
            "client_name": self.name,
            "client_uri": self.uri,
            "logo_uri": self.icon,
            "redirect_uris": self.redirect_uris,
            "post_logout_redirect_uris": self.post_logout_redirect_uris,
            "grant_types": self.grant_types,
            "response_types": ["code"],
            "scope": self.scopes.join(" "),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "application_type": self.application_type,
            "skip_consent": self.skip_consent,
            "require_pkce": self.require_pkce,
            "enable_end_session": self.enable_end_session,
            "disabled": self.disabled,
            "user_id": self.user_id,
            "client_id_issued_at": self.created_at.timestamp(),
            "client_secret_expires_at": 0,
        })
    }
}

fn is_loopback_ip(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// The client metadata a registration or an update may carry (RFC 7591 names,
/// plus our first-party switches, which only admins may set).
#[derive(Debug, Default, Deserialize)]
pub struct Metadata {
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub scope: Option<String>,
    pub application_type: Option<String>,
    pub skip_consent: Option<bool>,
    pub require_pkce: Option<bool>,
    pub enable_end_session: Option<bool>,
    pub disabled: Option<bool>,
}

fn invalid_metadata(msg: impl Into<String>) -> AuthError {
    AuthError::oauth("invalid_client_metadata", msg)
}

/// A redirect URI must be absolute, without a fragment; web clients use
/// https (http only on loopback), native ones loopback http or a private
/// scheme.
pub fn check_redirect_uri(uri: &str, application_type: &str) -> AuthResult<()> {
    let url = Url::parse(uri).map_err(|_| {
        AuthError::oauth(
            "invalid_redirect_uri",
            format!("{uri} is not an absolute URI"),
        )
    })?;
    if url.fragment().is_some() {
        return Err(AuthError::oauth(
            "invalid_redirect_uri",
            "redirect URIs must not contain a fragment",
        ));
    }
    let loopback = is_loopback_ip(&url) || url.host_str() == Some("localhost");
    let ok = match (application_type, url.scheme()) {
        (_, "https") => true,
        (_, "http") => loopback,
        ("native", scheme) => {
            scheme.contains('.')
                || scheme.len() > 2
                    && scheme != "javascript"
                    && scheme != "data"
                    && scheme != "file"
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AuthError::oauth(
            "invalid_redirect_uri",
            format!("{uri} is not allowed: use https, or http on a loopback address"),
        ))
    }
}

fn check_scopes(scope: &str) -> AuthResult<Vec<String>> {
    let scopes: Vec<String> = scope.split_whitespace().map(str::to_string).collect();
    if let Some(bad) = scopes
        .iter()
        .find(|s| !SUPPORTED_SCOPES.contains(&s.as_str()))
    {
        return Err(invalid_metadata(format!("unsupported scope {bad}")));
    }
    Ok(scopes)
}

/// What registration hands back once: the client and its secret.
pub struct Registered {
    pub client: Client,
    pub secret: Option<String>,
}

impl Auth {
    /// Registers a client. `by_admin` allows first-party switches and
    /// confidential clients; anonymous registration creates public clients.
    pub async fn register_client(
        &self,
        m: Metadata,
        owner: Option<&str>,
        by_admin: bool,
        meta: &RequestMeta,
    ) -> AuthResult<Registered> {
        let application_type = m.application_type.unwrap_or_else(|| "web".into());
        if !matches!(application_type.as_str(), "web" | "native") {
            return Err(invalid_metadata("application_type must be web or native"));
        }
        let redirect_uris = m.redirect_uris.unwrap_or_default();
        if redirect_uris.is_empty() {
            return Err(AuthError::oauth(
                "invalid_redirect_uri",
                "redirect_uris is required",
            ));
        }
        for uri in &redirect_uris {
            check_redirect_uri(uri, &application_type)?;
        }
        let post_logout = m.post_logout_redirect_uris.unwrap_or_default();
        for uri in &post_logout {
            check_redirect_uri(uri, &application_type)?;
        }
        let method = m
            .token_endpoint_auth_method
            .unwrap_or_else(|| AUTH_BASIC.into());
        if ![AUTH_NONE, AUTH_BASIC, AUTH_POST].contains(&method.as_str()) {
            return Err(invalid_metadata(format!(
                "token_endpoint_auth_method {method} is not supported"
            )));
        }
        if !by_admin && method != AUTH_NONE {
            return Err(invalid_metadata(
                "anonymous registration creates public clients only (token_endpoint_auth_method none)",
            ));
        }
        let grant_types = m
            .grant_types
            .unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]);
        if let Some(bad) = grant_types.iter().find(|g| !GRANTS.contains(&g.as_str())) {
            return Err(invalid_metadata(format!(
                "grant type {bad} is not supported"
            )));
        }
        if method == AUTH_NONE && grant_types.iter().any(|g| g == "client_credentials") {
            return Err(invalid_metadata(
                "public clients cannot use client_credentials",
            ));
        }
        if let Some(types) = &m.response_types
            && types.iter().any(|t| t != "code")
        {
            return Err(invalid_metadata("only the code response type is supported"));
        }
        let scopes = match m.scope.as_deref() {
            Some(s) => check_scopes(s)?,
            None => SUPPORTED_SCOPES.iter().map(|s| s.to_string()).collect(),
        };
        let secret = (method != AUTH_NONE).then(|| common::ids::random_alphanumeric(48));
        let now = self.clock.now();
        let client = Client {
            client_id: common::ids::random_alphanumeric(32),
            secret_hash: secret.as_deref().map(token_hash),
            name: m
                .client_name
                .unwrap_or_else(|| "Unnamed application".into()),
            uri: m.client_uri,
            icon: m.logo_uri,
            redirect_uris,
            post_logout_redirect_uris: post_logout,
            grant_types,
            scopes,
            token_endpoint_auth_method: method,
            application_type,
            skip_consent: by_admin && m.skip_consent.unwrap_or(false),
            // PKCE is always required of public clients; confidential ones
            // may be exempted by an admin.
            require_pkce: !by_admin || m.require_pkce.unwrap_or(true),
            enable_end_session: m.enable_end_session.unwrap_or(false),
            disabled: false,
            user_id: owner.map(str::to_string),
            created_at: now,
            updated_at: now,
        };
        store::insert(&self.db, &client).await?;
        self.audit(
            meta,
            Entry::new(Event::OidcClientRegistered)
                .user(owner.unwrap_or_default())
                .details(json!({"client_id": client.client_id, "name": client.name})),
        )
        .await;
        Ok(Registered { client, secret })
    }

    pub async fn find_client(&self, client_id: &str) -> AuthResult<Option<Client>> {
        Ok(store::find(&self.db, client_id).await?)
    }

    pub async fn list_clients(&self) -> AuthResult<Vec<Client>> {
        Ok(store::list(&self.db).await?)
    }

    /// Applies an admin's changes; redirect URIs are checked as at registration.
    pub async fn update_client(
        &self,
        client_id: &str,
        m: Metadata,
        actor: &str,
        meta: &RequestMeta,
    ) -> AuthResult<Client> {
        let mut c = self
            .find_client(client_id)
            .await?
            .ok_or_else(|| AuthError::not_found("CLIENT_NOT_FOUND", "Client not found"))?;
        if let Some(uris) = m.redirect_uris {
            if uris.is_empty() {
                return Err(AuthError::oauth(
                    "invalid_redirect_uri",
                    "redirect_uris may not be empty",
                ));
            }
            for uri in &uris {
                check_redirect_uri(uri, &c.application_type)?;
            }
            c.redirect_uris = uris;
        }
        if let Some(uris) = m.post_logout_redirect_uris {
            for uri in &uris {
                check_redirect_uri(uri, &c.application_type)?;
            }
            c.post_logout_redirect_uris = uris;
        }
        if let Some(scope) = m.scope {
            c.scopes = check_scopes(&scope)?;
        }
        if let Some(name) = m.client_name {
            c.name = name;
        }
        c.uri = m.client_uri.or(c.uri);
        c.icon = m.logo_uri.or(c.icon);
        c.skip_consent = m.skip_consent.unwrap_or(c.skip_consent);
        c.enable_end_session = m.enable_end_session.unwrap_or(c.enable_end_session);
        c.disabled = m.disabled.unwrap_or(c.disabled);
        if !c.is_public() {
            c.require_pkce = m.require_pkce.unwrap_or(c.require_pkce);
        }
        c.updated_at = self.clock.now();
        store::update(&self.db, &c).await?;
        self.audit(
            meta,
            Entry::new(Event::OidcClientUpdated)
                .user(actor)
                .details(json!({"client_id": c.client_id})),
        )
        .await;
        Ok(c)
    }

    /// Replaces a confidential client's secret; the old one stops working.
    pub async fn rotate_client_secret(
        &self,
        client_id: &str,
        actor: &str,
        meta: &RequestMeta,
    ) -> AuthResult<String> {
        let c = self
            .find_client(client_id)
            .await?
            .ok_or_else(|| AuthError::not_found("CLIENT_NOT_FOUND", "Client not found"))?;
        if c.is_public() {
            return Err(AuthError::invalid(
                "PUBLIC_CLIENT",
                "Public clients have no secret",
            ));
        }
        let secret = common::ids::random_alphanumeric(48);
        store::set_secret(&self.db, client_id, &token_hash(&secret), self.clock.now()).await?;
        self.audit(
            meta,
            Entry::new(Event::OidcClientUpdated)
                .user(actor)
                .details(json!({"client_id": client_id, "secret_rotated": true})),
        )
        .await;
        Ok(secret)
    }

    pub async fn delete_client(
        &self,
        client_id: &str,
        actor: &str,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        if !store::delete(&self.db, client_id).await? {
            return Err(AuthError::not_found("CLIENT_NOT_FOUND", "Client not found"));
        }
        self.audit(
            meta,
            Entry::new(Event::OidcClientDeleted)
                .user(actor)
                .details(json!({"client_id": client_id})),
        )
        .await;
        Ok(())
    }

    /// Authenticates the caller of the token, introspection and revocation
    /// endpoints with the method the client registered, and no other.
    pub async fn authenticate_client(&self, creds: &ClientCredentials) -> AuthResult<Client> {
        let (client_id, secret, method) = match (&creds.basic, &creds.post_id) {
            (Some(_), Some(_)) if creds.post_secret.is_some() => {
                return Err(AuthError::oauth(
                    "invalid_request",
                    "use one client authentication method",
                ));
            }
            (Some((id, secret)), _) => (id.as_str(), Some(secret.as_str()), AUTH_BASIC),
            (None, Some(id)) => match &creds.post_secret {
                Some(secret) => (id.as_str(), Some(secret.as_str()), AUTH_POST),
                None => (id.as_str(), None, AUTH_NONE),
            },
            (None, None) => {
                return Err(AuthError::oauth(
                    "invalid_client",
                    "client authentication is required",
                ));
            }
        };
        let unknown = || AuthError::oauth("invalid_client", "client authentication failed");
        let client = self
            .find_client(client_id)
            .await?
            .filter(|c| !c.disabled)
            .ok_or_else(unknown)?;
        if client.token_endpoint_auth_method != method {
            return Err(AuthError::oauth(
                "invalid_client",
                format!(
                    "client registered for {} cannot use {method}",
                    client.token_endpoint_auth_method
                ),
            ));
        }
        if let (Some(secret), Some(stored)) = (secret, &client.secret_hash) {
            if !ct_eq(token_hash(secret).as_bytes(), stored.as_bytes()) {
                return Err(unknown());
            }
        } else if method != AUTH_NONE {
            return Err(unknown());
        }
        Ok(client)
    }
}

/// Client credentials as presented: HTTP Basic and/or form fields.
#[derive(Debug, Default)]
pub struct ClientCredentials {
    pub basic: Option<(String, String)>,
    pub post_id: Option<String>,
    pub post_secret: Option<String>,
}

pub(crate) mod store {
    use super::*;

    #[derive(sqlx::FromRow)]
    struct Row {
        client_id: String,
        client_secret: Option<String>,
        name: String,
        uri: Option<String>,
        icon: Option<String>,
        redirect_uris: String,
        post_logout_redirect_uris: String,
        grant_types: String,
        scopes: String,
        token_endpoint_auth_method: String,
        application_type: String,
        skip_consent: bool,
        require_pkce: bool,
        enable_end_session: bool,
        disabled: bool,
        user_id: Option<String>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }

    macro_rules! columns {
        () => {
            "client_id, client_secret, name, uri, icon, redirect_uris, post_logout_redirect_uris, grant_types, scopes, token_endpoint_auth_method, application_type, skip_consent, require_pkce, enable_end_session, disabled, user_id, created_at, updated_at"
        };
    }

    fn list_of(raw: &str) -> Vec<String> {
        serde_json::from_str(raw).unwrap_or_default()
    }

    fn to_json(v: &[String]) -> String {
        serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
    }

    fn from_row(r: Row) -> Client {
        Client {
            client_id: r.client_id,
            secret_hash: r.client_secret,
            name: r.name,
            uri: r.uri,
            icon: r.icon,
            redirect_uris: list_of(&r.redirect_uris),
            post_logout_redirect_uris: list_of(&r.post_logout_redirect_uris),
            grant_types: list_of(&r.grant_types),
            scopes: list_of(&r.scopes),
            token_endpoint_auth_method: r.token_endpoint_auth_method,
            application_type: r.application_type,
            skip_consent: r.skip_consent,
            require_pkce: r.require_pkce,
            enable_end_session: r.enable_end_session,
            disabled: r.disabled,
            user_id: r.user_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }

    pub async fn insert(db: &Db, c: &Client) -> sqlx::Result<()> {
        on_db!(db, pool => sqlx::query(
            "INSERT INTO oauth_client (id, client_id, client_secret, name, uri, icon, redirect_uris, post_logout_redirect_uris, grant_types, response_types, scopes, token_endpoint_auth_method, application_type, skip_consent, require_pkce, enable_end_session, disabled, user_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '[\"code\"]', $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)")
            .bind(common::ids::new_id()).bind(&c.client_id).bind(&c.secret_hash).bind(&c.name)
            .bind(&c.uri).bind(&c.icon).bind(to_json(&c.redirect_uris)).bind(to_json(&c.post_logout_redirect_uris))
            .bind(to_json(&c.grant_types)).bind(to_json(&c.scopes)).bind(&c.token_endpoint_auth_method)
            .bind(&c.application_type).bind(c.skip_consent).bind(c.require_pkce).bind(c.enable_end_session)
            .bind(c.disabled).bind(&c.user_id).bind(c.created_at)
            .execute(pool).await.map(|_| ()))
    }

    pub async fn find(db: &Db, client_id: &str) -> sqlx::Result<Option<Client>> {
        let row: Option<Row> = on_db!(db, pool => sqlx::query_as(
            concat!("SELECT ", columns!(), " FROM oauth_client WHERE client_id = $1"))
            .bind(client_id).fetch_optional(pool).await)?;
        Ok(row.map(from_row))
    }

    pub async fn list(db: &Db) -> sqlx::Result<Vec<Client>> {
        let rows: Vec<Row> = on_db!(db, pool => sqlx::query_as(
            concat!("SELECT ", columns!(), " FROM oauth_client ORDER BY created_at, client_id"))
            .fetch_all(pool).await)?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    pub async fn update(db: &Db, c: &Client) -> sqlx::Result<()> {
        on_db!(db, pool => sqlx::query(
            "UPDATE oauth_client SET name = $1, uri = $2, icon = $3, redirect_uris = $4, post_logout_redirect_uris = $5, scopes = $6, skip_consent = $7, require_pkce = $8, enable_end_session = $9, disabled = $10, updated_at = $11 WHERE client_id = $12")
            .bind(&c.name).bind(&c.uri).bind(&c.icon).bind(to_json(&c.redirect_uris))
            .bind(to_json(&c.post_logout_redirect_uris)).bind(to_json(&c.scopes)).bind(c.skip_consent)
            .bind(c.require_pkce).bind(c.enable_end_session).bind(c.disabled).bind(c.updated_at).bind(&c.client_id)
            .execute(pool).await.map(|_| ()))
    }

    pub async fn set_secret(
        db: &Db,
        client_id: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> sqlx::Result<()> {
        on_db!(db, pool => sqlx::query("UPDATE oauth_client SET client_secret = $1, updated_at = $2 WHERE client_id = $3")
            .bind(hash).bind(now).bind(client_id).execute(pool).await.map(|_| ()))
    }

    pub async fn delete(db: &Db, client_id: &str) -> sqlx::Result<bool> {
        on_db!(db, pool => sqlx::query("DELETE FROM oauth_client WHERE client_id = $1")
            .bind(client_id).execute(pool).await.map(|r| r.rows_affected() > 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(app: &str, uris: &[&str]) -> Client {
        let now = Utc::now();
        Client {
            client_id: "c".into(),
            secret_hash: None,
            name: "n".into(),
            uri: None,
            icon: None,
            redirect_uris: uris.iter().map(|s| s.to_string()).collect(),
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            scopes: vec!["openid".into()],
            token_endpoint_auth_method: AUTH_NONE.into(),
            application_type: app.into(),
            skip_consent: false,
            require_pkce: true,
            enable_end_session: false,
            disabled: false,
            user_id: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn web_clients_match_exactly() {
        let c = client("web", &["https://app.example.com/cb"]);
        assert!(c.redirect_allowed("https://app.example.com/cb"));
        assert!(!c.redirect_allowed("https://app.example.com/cb/"));
        assert!(!c.redirect_allowed("https://app.example.com/cb?x=1"));
        assert!(!c.redirect_allowed("https://evil.example.com/cb"));
    }

    #[test]
    fn native_loopback_redirects_may_use_any_port() {
        let c = client("native", &["http://127.0.0.1/cb", "http://[::1]:8000/cb"]);
        assert!(c.redirect_allowed("http://127.0.0.1:51234/cb"));
        assert!(c.redirect_allowed("http://[::1]:4000/cb"));
        assert!(!c.redirect_allowed("http://127.0.0.1:51234/other"));
        assert!(
            !c.redirect_allowed("http://localhost:51234/cb"),
            "names are not loopback literals"
        );
        assert!(!c.redirect_allowed("https://127.0.0.1:51234/cb"));
        let web = client("web", &["http://127.0.0.1/cb"]);
        assert!(!web.redirect_allowed("http://127.0.0.1:51234/cb"));
    }

    #[test]
    fn redirect_uri_rules() {
        assert!(check_redirect_uri("https://a.example/cb", "web").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:3000/cb", "web").is_ok());
        assert!(check_redirect_uri("http://a.example/cb", "web").is_err());
        assert!(check_redirect_uri("https://a.example/cb#x", "web").is_err());
        assert!(check_redirect_uri("com.example.app:/cb", "native").is_ok());
        assert!(check_redirect_uri("javascript:alert(1)", "native").is_err());
        assert!(check_redirect_uri("/relative", "web").is_err());
    }
}
