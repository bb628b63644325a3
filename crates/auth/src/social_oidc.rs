//! Sign-in through an OpenID Connect issuer (Google, or any other): the
//! endpoints come from discovery, the ID token is checked against the
//! issuer's JWKS (signature, issuer, audience, expiry and our nonce), and
//! the profile comes from its claims, completed from userinfo when needed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::settings::OidcRelyingParty;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::social::{Profile, json_answer};

/// Discovery documents are kept this long; issuers change them rarely.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Deserialize)]
pub struct Discovered {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// Discovery documents by issuer, shared by every clone of `Auth`.
#[derive(Clone, Default)]
pub struct DiscoveryCache(Arc<Mutex<HashMap<String, (Instant, Discovered)>>>);

fn http() -> Result<reqwest::Client, &'static str> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .user_agent("IntelliStack")
        .build()
        .map_err(|_| "internal_server_error")
}

impl DiscoveryCache {
    pub async fn get(&self, rp: &OidcRelyingParty) -> Result<Discovered, &'static str> {
        let key = rp.issuer.to_string();
        if let Some((at, doc)) = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&key)
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(doc.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            key.trim_end_matches('/')
        );
        let doc: Discovered = http()?
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|_| "discovery_failed")?
            .json()
            .await
            .map_err(|_| "discovery_failed")?;
        // OIDC Discovery §4.3: the document must name the issuer we asked.
        if doc.issuer.trim_end_matches('/') != key.trim_end_matches('/') {
            return Err("issuer_mismatch");
        }
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (Instant::now(), doc.clone()));
        Ok(doc)
    }
}

/// Exchanges the code and turns the ID token (and userinfo) into a profile.
pub async fn profile(
    rp: &OidcRelyingParty,
    doc: &Discovered,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
    nonce: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Profile, &'static str> {
    let client = http()?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let tokens = token_request(&client, rp, doc, &form)
        .await
        .map_err(|_| "invalid_code")?;
    let id_token = tokens["id_token"].as_str().ok_or("invalid_code")?;
    let access = tokens["access_token"].as_str().ok_or("invalid_code")?;
    let claims = verify_id_token(&client, rp, doc, id_token, nonce).await?;
    let mut merged = claims.clone();
    if merged["email"].as_str().is_none()
        && let Some(endpoint) = &doc.userinfo_endpoint
    {
        let request = client.get(endpoint).bearer_auth(access);
        let info: Value = json_answer(request, "unable_to_get_user_info").await?;
        // userinfo must describe the same subject as the ID token (OIDC §5.3.2).
        if info["sub"] != claims["sub"] {
            return Err("unable_to_get_user_info");
        }
        if let (Some(m), Some(i)) = (merged.as_object_mut(), info.as_object()) {
            for (k, v) in i {
                m.entry(k.clone()).or_insert(v.clone());
            }
        }
    }
    let sub = merged["sub"].as_str().ok_or("unable_to_get_user_info")?;
    // Some issuers send email_verified as a string.
    let verified = match &merged["email_verified"] {
        Value::Bool(b) => *b,
        Value::String(s) => s == "true",
        _ => false,
    };
    Ok(Profile {
        account_id: sub.to_string(),
        email: merged["email"].as_str().map(str::to_string),
        email_verified: verified,
        name: merged["name"]
            .as_str()
            .or(merged["given_name"].as_str())
            .unwrap_or("New user")
            .to_string(),
        image: merged["picture"].as_str().map(str::to_string),
        tokens: crate::provider_tokens::ProviderTokens::from_response(&tokens, now)
            .ok_or("invalid_code")?,
    })
}

/// A request to the issuer's token endpoint with our client credentials
/// (client_secret_basic unless the issuer lists only client_secret_post).
pub async fn token_request(
    client: &reqwest::Client,
    rp: &OidcRelyingParty,
    doc: &Discovered,
    form: &[(&str, &str)],
) -> Result<Value, &'static str> {
    // client_secret_basic is the default when the issuer lists nothing.
    let basic = doc.token_endpoint_auth_methods_supported.is_empty()
        || doc
            .token_endpoint_auth_methods_supported
            .iter()
            .any(|m| m == "client_secret_basic");
    let req = client
        .post(&doc.token_endpoint)
        .header("accept", "application/json");
    let req = if basic {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        req.basic_auth(enc(&rp.client_id), Some(enc(rp.client_secret.expose())))
            .form(form)
    } else {
        let mut with_secret = form.to_vec();
        with_secret.push(("client_id", &rp.client_id));
        with_secret.push(("client_secret", rp.client_secret.expose()));
        req.form(&with_secret)
    };
    json_answer(req, "token_request_failed").await
}

async fn verify_id_token(
    client: &reqwest::Client,
    rp: &OidcRelyingParty,
    doc: &Discovered,
    token: &str,
    nonce: Option<&str>,
) -> Result<Value, &'static str> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| "invalid_id_token")?;
    // Asymmetric algorithms only: an HS256 token would be keyed by our own
    // client secret and prove nothing about the issuer's keys.
    if !matches!(
        header.alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::EdDSA
    ) {
        return Err("invalid_id_token");
    }
    let jwks: jsonwebtoken::jwk::JwkSet =
        json_answer(client.get(&doc.jwks_uri), "invalid_id_token").await?;
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or("invalid_id_token")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "invalid_id_token")?;
    let mut v = Validation::new(header.alg);
    v.set_audience(&[&rp.client_id]);
    v.set_issuer(&[&doc.issuer]);
    v.leeway = 30;
    v.set_required_spec_claims(&["iss", "sub", "aud", "exp"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &v)
        .map_err(|_| "invalid_id_token")?
        .claims;
    if nonce.is_some() && claims["nonce"].as_str() != nonce {
        return Err("invalid_nonce");
    }
    Ok(claims)
}
