//! Verifies the auth role's JWTs. Keys come from the JWKS URL — or, when the
//! auth role runs in this process, straight from its key store — and are
//! cached for five minutes. An unknown `kid` triggers one refetch (over HTTP
//! at most every ten seconds; from the key store in this process at once,
//! since that is a lookup of one row); a failed fetch keeps the last good
//! keys; with no key at all the caller gets 503 with `Retry-After`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use common::SharedClock;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};
use url::Url;

pub const CACHE_TTL: Duration = Duration::minutes(5);
const REFETCH_MIN_INTERVAL: Duration = Duration::seconds(10);
const LEEWAY_SECS: i64 = 30;
/// Only asymmetric algorithms: `none` and HMAC are never accepted.
const ALLOWED: [Algorithm; 2] = [Algorithm::RS256, Algorithm::EdDSA];

#[derive(Clone)]
pub enum KeySource {
    /// The auth role's key store, in this process.
    Local(auth::keys::KeyStore),
    Remote {
        url: Url,
        http: reqwest::Client,
    },
}

/// The claims of the auth role's tokens, read as it writes them.
pub use auth::keys::Claims;

/// A token's payload: the auth role's claims, and a `nbf` if one is set.
#[derive(Deserialize)]
struct Payload {
    #[serde(flatten)]
    claims: Claims,
    #[serde(default)]
    nbf: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("signing keys are unavailable")]
    Unavailable,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, (Algorithm, DecodingKey)>,
    fetched_at: Option<DateTime<Utc>>,
    last_attempt: Option<DateTime<Utc>>,
}

#[derive(Clone)]
pub struct JwksVerifier {
    source: KeySource,
    clock: SharedClock,
    issuer: String,
    audience: String,
    cache: Arc<RwLock<Cache>>,
    refetch: Arc<Mutex<()>>,
}

impl JwksVerifier {
    pub fn new(source: KeySource, clock: SharedClock, issuer: String, audience: String) -> Self {
        JwksVerifier {
            source,
            clock,
            issuer,
            audience,
            cache: Arc::default(),
            refetch: Arc::default(),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| VerifyError::Invalid(e.to_string()))?;
        if !ALLOWED.contains(&header.alg) {
            return Err(VerifyError::Invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| VerifyError::Invalid("no key id".into()))?;
        let now = self.clock.now();

        let stale = {
            let cache = self.cache.read().await;
            cache.fetched_at.is_none_or(|t| now - t >= CACHE_TTL)
        };
        if stale {
            self.refresh(now, false).await;
        }
        let mut key = self.lookup(&kid).await;
        if key.is_none() {
            match &self.source {
                // The store in this process answers for one kid directly: a
                // key published a moment ago verifies at once.
                KeySource::Local(store) => match store.verification_key(&kid).await {
                    Ok(Some((kid, alg, found))) => {
                        self.cache
                            .write()
                            .await
                            .keys
                            .insert(kid, (alg, found.clone()));
                        key = Some((alg, found));
                    }
                    Ok(None) => {}
                    Err(err) => tracing::warn!(error = %err, "cannot read the key store"),
                },
                KeySource::Remote { .. } => {
                    self.refresh(now, true).await;
                    key = self.lookup(&kid).await;
                }
            }
        }
        let Some((alg, key)) = key else {
            if self.cache.read().await.keys.is_empty() {
                return Err(VerifyError::Unavailable);
            }
            return Err(VerifyError::Invalid("unknown key id".into()));
        };
        if alg != header.alg {
            return Err(VerifyError::Invalid(
                "algorithm does not match the key".into(),
            ));
        }
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Time is checked below against our clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let Payload { claims, nbf } = jsonwebtoken::decode::<Payload>(token, &key, &validation)
            .map_err(|e| VerifyError::Invalid(e.to_string()))?
            .claims;
        let ts = now.timestamp();
        if claims.exp + LEEWAY_SECS < ts {
            return Err(VerifyError::Invalid("token expired".into()));
        }
        if nbf.is_some_and(|nbf| nbf - LEEWAY_SECS > ts) {
            return Err(VerifyError::Invalid("token not yet valid".into()));
        }
        Ok(claims)
    }

    async fn lookup(&self, kid: &str) -> Option<(Algorithm, DecodingKey)> {
        self.cache.read().await.keys.get(kid).cloned()
    }

    /// Fetches keys. `forced` refetches (for an unknown kid) are rate-limited.
    async fn refresh(&self, now: DateTime<Utc>, forced: bool) {
        let _one_at_a_time = self.refetch.lock().await;
        {
            let cache = self.cache.read().await;
            if let Some(last) = cache.last_attempt {
                if forced && now - last < REFETCH_MIN_INTERVAL {
                    return;
                }
                // Someone else refreshed while we waited for the lock.
                if !forced && cache.fetched_at.is_some_and(|t| now - t < CACHE_TTL) {
                    return;
                }
                // After a failure, do not hammer the source on every request.
                if !forced && !cache.keys.is_empty() && now - last < REFETCH_MIN_INTERVAL {
                    return;
                }
            }
        }
        let result = self.fetch().await;
        let mut cache = self.cache.write().await;
        cache.last_attempt = Some(now);
        match result {
            Ok(keys) => {
                cache.keys = keys;
                cache.fetched_at = Some(now);
            }
            Err(err) if cache.keys.is_empty() => {
                tracing::warn!(error = %err, "cannot fetch signing keys and none are cached");
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot refresh signing keys; keeping the last good ones");
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, (Algorithm, DecodingKey)>, String> {
        let set: JwkSet = match &self.source {
            KeySource::Local(store) => {
                let doc = store.jwks().await.map_err(|e| e.to_string())?;
                serde_json::from_value(doc).map_err(|e| e.to_string())?
            }
            KeySource::Remote { url, http } => {
                let res = http
                    .get(url.clone())
                    .send()
                    .await
                    .map_err(|e| e.without_url().to_string())?;
                if !res.status().is_success() {
                    return Err(format!("JWKS answered {}", res.status()));
                }
                res.json().await.map_err(|e| e.without_url().to_string())?
            }
        };
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let alg = match &jwk.algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
                _ => continue,
            };
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, (alg, key));
            }
        }
        Ok(keys)
    }
}
