//! The OpenID Connect provider: other applications sign their users in with
//! IntelliStack accounts. Authorization code flow with PKCE (S256 only),
//! rotating refresh tokens, client credentials, userinfo, introspection
//! (RFC 7662), revocation (RFC 7009), RP-initiated logout and dynamic client
//! registration (RFC 7591), on Better-Auth's `/oauth2/*` paths.

pub mod authorize;
pub mod clients;
pub mod consents;
pub mod grants;
pub mod signed_query;
pub(crate) mod store;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Value, json};

use crate::Auth;
use crate::audit::{Entry, Event, RequestMeta};
use crate::crypto::token_hash;
use crate::error::{AuthError, AuthResult};
use crate::users::{User, store as user_store};
use clients::Client;

pub const SUPPORTED_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
pub const ACCESS_TTL: Duration = Duration::hours(1);
pub const REFRESH_TTL: Duration = Duration::days(30);
/// As long as our access JWTs, so a retired key stays published for as long
/// as an ID token it signed can be checked.
pub const ID_TOKEN_TTL: Duration = crate::keys::TOKEN_TTL;

pub struct IdTokenInput<'a> {
    pub user: &'a User,
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub nonce: Option<&'a str>,
    pub auth_time: Option<DateTime<Utc>>,
    pub session_id: Option<&'a str>,
    pub access_token: &'a str,
}

/// Claims about the user that the granted scopes allow.
fn user_claims(user: &User, scopes: &[String], out: &mut serde_json::Map<String, Value>) {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    out.insert("sub".into(), json!(user.id));
    // The role is what relying parties inside the platform authorize on.
    out.insert("role".into(), json!(user.role));
    if has("profile") {
        out.insert("name".into(), json!(user.name));
        if let Some(img) = &user.image {
            out.insert("picture".into(), json!(img));
        }
    }
    if has("email") {
        out.insert("email".into(), json!(user.email));
        out.insert("email_verified".into(), json!(user.email_verified));
    }
}

/// Which token a presented string is, with its row.
enum Found {
    Access(store::AccessRow),
    Refresh(store::RefreshRow),
}

impl Auth {
    /// The discovery document (OpenID Connect Discovery 1.0 / RFC 8414).
    pub fn discovery(&self) -> Value {
        let base = self.oidc_issuer();
        let alg = self.keys.alg().as_str();
        let mut doc = json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/oauth2/authorize"),
            "token_endpoint": format!("{base}/oauth2/token"),
            "userinfo_endpoint": format!("{base}/oauth2/userinfo"),
            "jwks_uri": format!("{base}/jwks"),
            "introspection_endpoint": format!("{base}/oauth2/introspect"),
            "revocation_endpoint": format!("{base}/oauth2/revoke"),
            "end_session_endpoint": format!("{base}/oauth2/end-session"),
            "scopes_supported": SUPPORTED_SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": clients::GRANTS,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [alg],
            "token_endpoint_auth_methods_supported": [clients::AUTH_BASIC, clients::AUTH_POST, clients::AUTH_NONE],
            "introspection_endpoint_auth_methods_supported": [clients::AUTH_BASIC, clients::AUTH_POST],
            "revocation_endpoint_auth_methods_supported": [clients::AUTH_BASIC, clients::AUTH_POST, clients::AUTH_NONE],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "role", "name", "picture", "email", "email_verified"],
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "authorization_response_iss_parameter_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        });
        if self.settings.oidc.registration != crate::settings::Registration::Off {
            doc["registration_endpoint"] = json!(format!("{base}/oauth2/register"));
        }
        doc
    }

    pub(crate) async fn id_token(&self, i: IdTokenInput<'_>) -> AuthResult<String> {
        let now = self.clock.now();
        let mut claims = serde_json::Map::new();
        user_claims(i.user, i.scopes, &mut claims);
        claims.insert("iss".into(), json!(self.oidc_issuer()));
        claims.insert("aud".into(), json!(i.client_id));
        claims.insert("azp".into(), json!(i.client_id));
        claims.insert("iat".into(), json!(now.timestamp()));
        claims.insert("exp".into(), json!((now + ID_TOKEN_TTL).timestamp()));
        if let Some(t) = i.auth_time {
            claims.insert("auth_time".into(), json!(t.timestamp()));
        }
        if let Some(n) = i.nonce {
            claims.insert("nonce".into(), json!(n));
        }
        if let Some(sid) = i.session_id {
            claims.insert("sid".into(), json!(sid));
        }
        claims.insert("at_hash".into(), json!(self.at_hash(i.access_token)));
        self.keys.sign_claims(&Value::Object(claims)).await
    }

    /// Left half of the access token's hash, by the signing algorithm.
    fn at_hash(&self, access_token: &str) -> String {
        use aws_lc_rs::digest;
        let alg = match self.keys.alg() {
            crate::settings::JwtAlg::Rs256 => &digest::SHA256,
            crate::settings::JwtAlg::EdDsa => &digest::SHA512,
        };
        let d = digest::digest(alg, access_token.as_bytes());
        let bytes = d.as_ref();
        URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
    }

    async fn find_token(&self, token: &str, hint: Option<&str>) -> AuthResult<Option<Found>> {
        let hash = token_hash(token);
        let access_first = hint != Some("refresh_token");
        for access in [access_first, !access_first] {
            if access {
                if let Some(row) = store::find_access(&self.db, &hash).await? {
                    return Ok(Some(Found::Access(row)));
                }
            } else if let Some(row) = store::find_refresh(&self.db, &hash).await? {
                return Ok(Some(Found::Refresh(row)));
            }
        }
        Ok(None)
    }

    /// `/oauth2/userinfo`: the claims an access token's scopes allow.
    pub async fn userinfo(&self, access_token: &str) -> AuthResult<Value> {
        let now = self.clock.now();
        let invalid =
            || AuthError::oauth("invalid_token", "the access token is invalid or expired");
        let row = store::find_access(&self.db, &token_hash(access_token))
            .await?
            .filter(|r| r.revoked_at.is_none() && r.expires_at > now)
            .ok_or_else(invalid)?;
        let scopes: Vec<String> = row.scopes.split_whitespace().map(str::to_string).collect();
        if !scopes.iter().any(|s| s == "openid") {
            return Err(AuthError::oauth(
                "insufficient_scope",
                "userinfo needs the openid scope",
            ));
        }
        let user_id = row.user_id.ok_or_else(invalid)?;
        let user = user_store::find_by_id(&self.db, &user_id)
            .await?
            .filter(|u| !u.is_banned(now))
            .ok_or_else(invalid)?;
        let mut claims = serde_json::Map::new();
        user_claims(&user, &scopes, &mut claims);
        Ok(Value::Object(claims))
    }

    /// RFC 7662. A client learns only about its own tokens.
    pub async fn introspect(
        &self,
        client: &Client,
        token: &str,
        hint: Option<&str>,
    ) -> AuthResult<Value> {
        let now = self.clock.now();
        let inactive = json!({"active": false});
        let (client_id, user_id, session_id, scopes, exp, iat, kind) =
            match self.find_token(token, hint).await? {
                Some(Found::Access(r)) if r.revoked_at.is_none() && r.expires_at > now => (
                    r.client_id,
                    r.user_id,
                    r.session_id,
                    r.scopes,
                    r.expires_at,
                    r.created_at,
                    "access_token",
                ),
                Some(Found::Refresh(r))
                    if r.revoked_at.is_none() && r.rotated_at.is_none() && r.expires_at > now =>
                {
                    (
                        r.client_id,
                        Some(r.user_id),
                        r.session_id,
                        r.scopes,
                        r.expires_at,
                        r.created_at,
                        "refresh_token",
                    )
                }
                _ => return Ok(inactive),
            };
        if client_id != client.client_id {
            return Ok(inactive);
        }
        let mut out = json!({
            "active": true,
            "iss": self.oidc_issuer(),
            "client_id": client_id,
            "aud": client_id,
            "scope": scopes,
            "exp": exp.timestamp(),
            "iat": iat.timestamp(),
            "token_type": kind,
        });
        match user_id {
            Some(uid) => {
                out["sub"] = json!(uid);
                if let Some(u) = user_store::find_by_id(&self.db, &uid).await? {
                    out["username"] = json!(u.email);
                    out["role"] = json!(u.role);
                }
            }
            None => out["sub"] = json!(client_id),
        }
        if let Some(sid) = session_id {
            out["sid"] = json!(sid);
        }
        Ok(out)
    }

    /// RFC 7009. Unknown tokens and other clients' tokens are ignored
    /// silently, so a caller cannot probe which tokens exist.
    pub async fn revoke_token(
        &self,
        client: &Client,
        token: &str,
        hint: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        let now = self.clock.now();
        let (user, kind) = match self.find_token(token, hint).await? {
            Some(Found::Access(r)) if r.client_id == client.client_id => {
                store::revoke_access(&self.db, &r.id, now).await?;
                (r.user_id, "access_token")
            }
            Some(Found::Refresh(r)) if r.client_id == client.client_id => {
                store::revoke_family(&self.db, &r.family_id, now).await?;
                (Some(r.user_id), "refresh_token")
            }
            _ => return Ok(()),
        };
        self.audit(
            meta,
            Entry::new(Event::OidcTokenRevoked)
                .user(user.as_deref().unwrap_or_default())
                .details(json!({"client_id": client.client_id, "kind": kind})),
        )
        .await;
        Ok(())
    }

    /// RP-initiated logout. The ID token names the client and the session;
    /// without one we do nothing, so a cross-site link cannot sign anyone out.
    /// Returns where to send the browser.
    pub async fn end_session(
        &self,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthResult<Option<String>> {
        let hint = id_token_hint
            .ok_or_else(|| AuthError::oauth("invalid_request", "id_token_hint is required"))?;
        let claims = self.verify_own_id_token(hint).await?;
        let aud = claims["aud"].as_str().unwrap_or_default().to_string();
        if client_id.is_some_and(|c| c != aud) {
            return Err(AuthError::oauth(
                "invalid_request",
                "client_id does not match the ID token",
            ));
        }
        let client = self
            .find_client(&aud)
            .await?
            .ok_or_else(|| AuthError::oauth("invalid_client", "unknown client"))?;
        if !client.enable_end_session {
            return Err(AuthError::oauth(
                "invalid_client",
                "The client is not allowed to initiate logout",
            ));
        }
        let target = match post_logout_redirect_uri {
            Some(uri) if client.post_logout_redirect_uris.iter().any(|u| u == uri) => {
                let mut pairs = vec![];
                if let Some(s) = state {
                    pairs.push(("state", s));
                }
                Some(authorize::with_query(uri, &pairs))
            }
            Some(_) => {
                return Err(AuthError::oauth(
                    "invalid_request",
                    "post_logout_redirect_uri is not registered for this client",
                ));
            }
            None => None,
        };
        if let Some(sid) = claims["sid"].as_str() {
            let n = crate::sessions::store::delete_by_id(&self.db, sid).await?;
            if n > 0 {
                self.audit(
                    meta,
                    Entry::new(Event::OidcLogout)
                        .user(claims["sub"].as_str().unwrap_or_default())
                        .details(json!({"client_id": aud})),
                )
                .await;
            }
        }
        Ok(target)
    }

    /// Verifies an ID token we issued; an expired one is still a valid hint.
    async fn verify_own_id_token(&self, token: &str) -> AuthResult<Value> {
        let invalid = || AuthError::oauth("invalid_request", "id_token_hint is not valid");
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        let kid = header.kid.ok_or_else(invalid)?;
        let keys = self.keys.verification_keys().await?;
        let (_, alg, key) = keys
            .iter()
            .find(|(k, _, _)| *k == kid)
            .ok_or_else(invalid)?;
        let mut v = Validation::new(*alg);
        v.validate_exp = false;
        v.validate_aud = false;
        v.set_issuer(&[self.oidc_issuer()]);
        v.set_required_spec_claims(&["iss", "sub", "aud"]);
        if !matches!(alg, Algorithm::RS256 | Algorithm::EdDSA) {
            return Err(invalid());
        }
        jsonwebtoken::decode::<Value>(token, key, &v)
            .map(|d| d.claims)
            .map_err(|_| invalid())
    }
}
