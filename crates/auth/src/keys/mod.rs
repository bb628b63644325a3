//! JWT signing keys: RS256 by default, EdDSA available. Private keys are
//! stored encrypted under a key derived from the secret. Rotation retires the
//! current key; retired public keys stay in the JWKS until every token they
//! signed has expired.

pub mod store;

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use common::{Db, JwtAlg, SharedClock};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::RwLock;

use crate::crypto::{b64url, decrypt, encrypt};
use crate::error::{AuthError, AuthResult};
use store::KeyRow;

/// Lifetime of the JWTs we issue.
pub const TOKEN_TTL: Duration = Duration::minutes(15);
/// How long a loaded signing key is trusted before the store is read again,
/// so a rotation done by another process is picked up quickly.
const CACHE_TTL: Duration = Duration::seconds(5);

/// The claims of an IntelliStack access JWT.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub email_verified: bool,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// The private part as we keep it (inside the encryption).
#[derive(Serialize, Deserialize)]
struct PrivatePart {
    /// PKCS#8 DER, base64.
    pkcs8: String,
}

struct Loaded {
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
    created_at: DateTime<Utc>,
    loaded_at: DateTime<Utc>,
}

/// How long a token just issued is handed out again for the same claims.
/// Signing (RSA especially) dominates `get-session`; five seconds of reuse
/// removes that cost under load and keeps role changes visible at once,
/// because the role is part of what must match.
const REUSE: Duration = Duration::seconds(5);
const REUSE_MAX_ENTRIES: usize = 50_000;

/// Recently issued tokens by claims and key, with when they were issued.
type IssuedTokens = std::collections::HashMap<String, (String, DateTime<Utc>)>;

#[derive(Clone)]
pub struct KeyStore {
    db: Db,
    clock: SharedClock,
    secret: Arc<str>,
    alg: JwtAlg,
    rotation: Option<Duration>,
    cache: Arc<RwLock<Option<Loaded>>>,
    issued: Arc<std::sync::Mutex<IssuedTokens>>,
}

impl KeyStore {
    pub fn new(
        db: Db,
        clock: SharedClock,
        secret: &str,
        alg: JwtAlg,
        rotation: Option<Duration>,
    ) -> Self {
        KeyStore {
            db,
            clock,
            secret: secret.into(),
            alg,
            rotation,
            cache: Arc::new(RwLock::new(None)),
            issued: Arc::default(),
        }
    }

    /// Like [`sign`](Self::sign), but hands out a token issued for the same
    /// claims and key within the last few seconds.
    pub async fn sign_reusing(&self, claims: &Claims) -> AuthResult<String> {
        let now = self.clock.now();
        let kid = {
            let cache = self.cache.read().await;
            cache
                .as_ref()
                .filter(|k| now - k.loaded_at < CACHE_TTL && !self.due(k.created_at, now))
                .map(|k| k.kid.clone())
        };
        let Some(kid) = kid else {
            return self.sign(claims).await;
        };
        let key = format!(
            "{kid}|{}|{}|{}|{}|{}|{}|{}",
            claims.sub,
            claims.email,
            claims.name,
            claims.role,
            claims.email_verified,
            claims.iss,
            claims.aud
        );
        if let Some((token, at)) = self
            .issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            && now - *at < REUSE
            && *at <= now
        {
            return Ok(token.clone());
        }
        let token = self.sign(claims).await?;
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        if issued.len() >= REUSE_MAX_ENTRIES {
            issued.clear();
        }
        issued.insert(key, (token.clone(), now));
        Ok(token)
    }

    /// Signs claims with the current key, creating or rotating it as needed.
    pub async fn sign(&self, claims: &Claims) -> AuthResult<String> {
        self.sign_claims(claims).await
    }

    /// Signs any claim set (ID tokens, logout tokens) with the current key.
    pub async fn sign_claims<C: Serialize>(&self, claims: &C) -> AuthResult<String> {
        let now = self.clock.now();
        {
            let cache = self.cache.read().await;
            if let Some(k) = cache
                .as_ref()
                .filter(|k| now - k.loaded_at < CACHE_TTL && !self.due(k.created_at, now))
            {
                return encode(k, claims);
            }
        }
        let mut cache = self.cache.write().await;
        let row = self.current_or_create(now).await?;
        let loaded = self.load(&row, now)?;
        let token = encode(&loaded, claims);
        *cache = Some(loaded);
        token
    }

    fn due(&self, created_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.rotation.is_some_and(|every| created_at + every <= now)
    }

    async fn current_or_create(&self, now: DateTime<Utc>) -> AuthResult<KeyRow> {
        if let Some(row) = store::current(&self.db, self.alg.as_str()).await? {
            if !self.due(row.created_at, now) {
                return Ok(row);
            }
            // Only the instance that retires the key mints the next one.
            if store::retire(&self.db, &row.id, now).await? {
                tracing::info!(kid = %row.id, "signing key reached its rotation interval; rotating");
                return self.create(now).await;
            }
            if let Some(row) = store::current(&self.db, self.alg.as_str()).await? {
                return Ok(row);
            }
        }
        self.create(now).await
    }

    /// Retires the current key and creates a new one. Returns the new `kid`.
    pub async fn rotate(&self) -> AuthResult<String> {
        let now = self.clock.now();
        store::retire_current(&self.db, self.alg.as_str(), now).await?;
        let row = self.create(now).await?;
        *self.cache.write().await = None;
        self.issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(row.id)
    }

    async fn create(&self, now: DateTime<Utc>) -> AuthResult<KeyRow> {
        let alg = self.alg;
        let (public_jwk, pkcs8) = tokio::task::spawn_blocking(move || generate(alg))
            .await
            .map_err(AuthError::internal)??;
        let row = KeyRow {
            id: common::ids::new_id(),
            public_key: public_jwk.to_string(),
            private_key: seal_private_key(&self.secret, &pkcs8)?,
            alg: alg.as_str().into(),
            crv: matches!(alg, JwtAlg::EdDsa).then(|| "Ed25519".into()),
            created_at: now,
            expires_at: None,
        };
        store::insert(&self.db, &row).await?;
        Ok(row)
    }

    fn load(&self, row: &KeyRow, now: DateTime<Utc>) -> AuthResult<Loaded> {
        let sealed: String = serde_json::from_str(&row.private_key).map_err(AuthError::internal)?;
        let plain = decrypt(&self.secret, &sealed).map_err(AuthError::internal)?;
        let part: PrivatePart = serde_json::from_slice(&plain).map_err(AuthError::internal)?;
        let der = STANDARD.decode(part.pkcs8).map_err(AuthError::internal)?;
        let (alg, key) = match row.alg.as_str() {
            "RS256" => {
                let pem = format!(
                    "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                    STANDARD.encode(&der)
                );
                (
                    Algorithm::RS256,
                    EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(AuthError::internal)?,
                )
            }
            "EdDSA" => (Algorithm::EdDSA, EncodingKey::from_ed_der(&der)),
            other => {
                return Err(AuthError::internal(format!(
                    "unsupported key algorithm {other}"
                )));
            }
        };
        Ok(Loaded {
            kid: row.id.clone(),
            alg,
            key,
            created_at: row.created_at,
            loaded_at: now,
        })
    }

    /// The algorithm new tokens are signed with.
    pub fn alg(&self) -> JwtAlg {
        self.alg
    }

    /// The public JWKS document.
    pub async fn jwks(&self) -> AuthResult<Value> {
        let now = self.clock.now();
        if store::current(&self.db, self.alg.as_str()).await?.is_none() {
            // First use: make sure there is a key to publish.
            let _ = self.sign_probe(now).await?;
        }
        let rows = store::published(&self.db, now - TOKEN_TTL).await?;
        let keys: Vec<Value> = rows.iter().filter_map(public_jwk).collect();
        Ok(json!({ "keys": keys }))
    }

    async fn sign_probe(&self, now: DateTime<Utc>) -> AuthResult<KeyRow> {
        self.current_or_create(now).await
    }

    /// Decoding keys for every published key, by `kid` (for in-process verification).
    pub async fn verification_keys(&self) -> AuthResult<Vec<(String, Algorithm, DecodingKey)>> {
        let now = self.clock.now();
        let rows = store::published(&self.db, now - TOKEN_TTL).await?;
        let mut out = Vec::new();
        for row in rows {
            if let Some(jwk) = public_jwk(&row) {
                let parsed: jsonwebtoken::jwk::Jwk =
                    serde_json::from_value(jwk).map_err(AuthError::internal)?;
                let key = DecodingKey::from_jwk(&parsed).map_err(AuthError::internal)?;
                let alg = if row.alg == "EdDSA" {
                    Algorithm::EdDSA
                } else {
                    Algorithm::RS256
                };
                out.push((row.id, alg, key));
            }
        }
        Ok(out)
    }
}

fn encode<C: Serialize>(k: &Loaded, claims: &C) -> AuthResult<String> {
    let mut header = Header::new(k.alg);
    header.kid = Some(k.kid.clone());
    header.typ = Some("JWT".into());
    jsonwebtoken::encode(&header, claims, &k.key).map_err(AuthError::internal)
}

/// The stored form of a private key (PKCS#8 DER): encrypted under the
/// secret and kept as a JSON string literal, as Better-Auth does.
pub fn seal_private_key(secret: &str, pkcs8_der: &[u8]) -> AuthResult<String> {
    let private = serde_json::to_string(&PrivatePart {
        pkcs8: STANDARD.encode(pkcs8_der),
    })
    .map_err(AuthError::internal)?;
    Ok(Value::String(encrypt(secret, private.as_bytes())).to_string())
}

/// The published form of a stored key: its public JWK with `alg`, `use`, `kid`.
fn public_jwk(row: &KeyRow) -> Option<Value> {
    let mut jwk: serde_json::Map<String, Value> = serde_json::from_str(&row.public_key).ok()?;
    jwk.insert("alg".into(), Value::String(row.alg.clone()));
    jwk.insert("use".into(), Value::String("sig".into()));
    jwk.insert("kid".into(), Value::String(row.id.clone()));
    Some(Value::Object(jwk))
}

/// Generates a key pair: (public JWK, private PKCS#8 DER).
fn generate(alg: JwtAlg) -> AuthResult<(Value, Vec<u8>)> {
    match alg {
        JwtAlg::Rs256 => {
            let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(AuthError::internal)?;
            let der = kp.as_der().map_err(AuthError::internal)?;
            let public = kp.public_key();
            let jwk = json!({
                "kty": "RSA",
                "n": b64url(public.modulus().big_endian_without_leading_zero()),
                "e": b64url(public.exponent().big_endian_without_leading_zero()),
            });
            Ok((jwk, der.as_ref().to_vec()))
        }
        JwtAlg::EdDsa => {
            let kp = Ed25519KeyPair::generate().map_err(AuthError::internal)?;
            let der = kp.to_pkcs8v1().map_err(AuthError::internal)?;
            let jwk = json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64url(kp.public_key().as_ref()),
            });
            Ok((jwk, der.as_ref().to_vec()))
        }
    }
}
