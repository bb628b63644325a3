//! JWT signing keys: RS256 by default, EdDSA available. Private keys are
//! stored encrypted under a key derived from the secret.
//!
//! Rotation has no gap for verifiers that cache the JWKS: a new key is
//! published for a lead time (`JWT_KEY_PUBLISH_LEAD_SECS`, long enough for a
//! cache that keeps the set five minutes and refetches unknown kids at most
//! every 30 s) before it signs, and the key it replaces stops signing at that
//! same instant, which is stored, so every process switches together. Each
//! signature first checks its key in the store (a retired key never signs
//! again, in any process) and reserves the token's expiry on the key row
//! (`signed_until`) before signing: a retired key stays published until the
//! last token it signed has expired, as recorded rather than assumed.

pub(crate) mod store;

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use common::{Db, SharedClock};

use crate::settings::JwtAlg;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::RwLock;

use crate::crypto::{b64url, decrypt, encrypt};
use crate::error::{AuthError, AuthResult};
use store::KeyRow;

/// Lifetime of the JWTs we issue.
pub const TOKEN_TTL: Duration = Duration::minutes(15);
/// A reservation covers the token being signed and this much more, so a
/// busy key writes its row about once a minute, not once a token.
const RESERVE_AHEAD: Duration = Duration::seconds(60);

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

/// A decoded signing key (decoding RSA keys is costly, so it is kept).
struct Loaded {
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
}

/// How long a token just issued is handed out again for the same claims.
/// Signing (RSA especially) dominates `get-session`; five seconds of reuse
/// removes that cost under load and keeps role changes visible at once,
/// because the role is part of what must match.
const REUSE: Duration = Duration::seconds(5);
const REUSE_MAX_ENTRIES: usize = 50_000;

/// Recently issued tokens by claims and key, with when they were issued.
type IssuedTokens = std::collections::HashMap<String, (String, DateTime<Utc>)>;

/// A rotation that was scheduled: the next key and when it starts signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub kid: String,
    pub activates_at: DateTime<Utc>,
    /// False when a rotation was already scheduled and this one is it.
    pub created: bool,
}

/// The state of one stored key, for `keys list` and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not yet signing.
    Pending,
    Signing,
    /// No longer signing; published while tokens it signed may be live.
    Retired,
}

#[derive(Clone)]
pub struct KeyStore {
    db: Db,
    clock: SharedClock,
    secret: Arc<str>,
    alg: JwtAlg,
    rotation: Option<Duration>,
    lead: Duration,
    cache: Arc<RwLock<Option<Arc<Loaded>>>>,
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
            lead: Duration::seconds(360),
            cache: Arc::new(RwLock::new(None)),
            issued: Arc::default(),
        }
    }

    /// How long a new key is published before it signs.
    pub fn with_publish_lead(mut self, lead: Duration) -> Self {
        self.lead = lead;
        self
    }

    /// Like [`sign`](Self::sign), but hands out a token issued for the same
    /// claims and key within the last few seconds.
    pub async fn sign_reusing(&self, claims: &Claims) -> AuthResult<String> {
        let now = self.clock.now();
        // The key is checked first: a reused token is never one of a key
        // that has been retired since.
        let (key, _) = self.signing_key(now).await?;
        let reuse_key = format!(
            "{}|{}|{}|{}|{}|{}|{}|{}",
            key.kid,
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
            .get(&reuse_key)
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
        issued.insert(reuse_key, (token.clone(), now));
        Ok(token)
    }

    /// Signs claims with the current key, creating or rotating it as needed.
    pub async fn sign(&self, claims: &Claims) -> AuthResult<String> {
        self.sign_claims(claims).await
    }

    /// Signs any claim set (ID tokens, logout tokens) with the current key,
    /// after reserving its expiry on the key.
    pub async fn sign_claims<C: Serialize>(&self, claims: &C) -> AuthResult<String> {
        let now = self.clock.now();
        let value = serde_json::to_value(claims).map_err(AuthError::internal)?;
        let exp = value["exp"]
            .as_i64()
            .and_then(|e| DateTime::<Utc>::from_timestamp(e, 0))
            // Tokens without an expiry (logout tokens) are short-lived by use.
            .unwrap_or(now + TOKEN_TTL);
        // Twice at most: a key retired between the check and the reservation
        // is dropped and the next one is used.
        for _ in 0..2 {
            let (key, row) = self.signing_key(now).await?;
            if row.signed_until.is_none_or(|until| until < exp) {
                let reserved = exp.max(now) + RESERVE_AHEAD;
                if !store::reserve(&self.db, &key.kid, reserved, now).await? {
                    *self.cache.write().await = None;
                    continue;
                }
            }
            return encode(&key, &value);
        }
        Err(AuthError::internal(
            "the signing key kept being retired while signing",
        ))
    }

    /// The key that signs now, checked against the store on every call so a
    /// retirement anywhere takes effect at once.
    async fn signing_key(&self, now: DateTime<Utc>) -> AuthResult<(Arc<Loaded>, KeyRow)> {
        let cached = self.cache.read().await.clone();
        if let Some(key) = cached
            && let Some(row) = store::find(&self.db, &key.kid).await?
            && row.signs_at(now)
        {
            self.schedule_if_due(&row, now).await?;
            return Ok((key, row));
        }
        let mut cache = self.cache.write().await;
        let row = self.current_or_create(now).await?;
        let loaded = Arc::new(self.load(&row)?);
        *cache = Some(loaded.clone());
        drop(cache);
        self.schedule_if_due(&row, now).await?;
        Ok((loaded, row))
    }

    /// With automatic rotation on, publishes the next key a lead time before
    /// the current one reaches its age.
    async fn schedule_if_due(&self, row: &KeyRow, now: DateTime<Utc>) -> AuthResult<()> {
        let Some(every) = self.rotation else {
            return Ok(());
        };
        if row.expires_at.is_some() {
            return Ok(());
        }
        let due = row.starts_at() + every;
        if due - self.lead <= now {
            let at = due.max(now + self.lead);
            if let Some(r) = self.schedule(row, at, now).await? {
                tracing::info!(kid = %r.kid, activates_at = %r.activates_at, "signing key reached its rotation interval; the next key is published");
            }
        }
        Ok(())
    }

    /// Publishes a new key that signs from `at`, when `current` stops.
    /// `None` when another process scheduled one first.
    async fn schedule(
        &self,
        current: &KeyRow,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> AuthResult<Option<Rotation>> {
        // The next key is stored before the current one is given an end, so
        // there is never a moment with no key to sign with.
        let next = self.create(now, Some(at)).await?;
        if store::set_retirement(&self.db, &current.id, at).await? {
            Ok(Some(Rotation {
                kid: next.id,
                activates_at: at,
                created: true,
            }))
        } else {
            store::delete(&self.db, &next.id).await?;
            Ok(None)
        }
    }

    async fn current_or_create(&self, now: DateTime<Utc>) -> AuthResult<KeyRow> {
        if let Some(row) = store::signing(&self.db, self.alg.as_str(), now).await? {
            return Ok(row);
        }
        self.create(now, None).await
    }

    /// Schedules a rotation: the next key is published now and signs after
    /// the publish lead; the current key signs until then. If one is already
    /// scheduled, that one is returned.
    pub async fn rotate(&self) -> AuthResult<Rotation> {
        let now = self.clock.now();
        if let Some(pending) = store::pending(&self.db, self.alg.as_str(), now).await? {
            return Ok(Rotation {
                activates_at: pending.starts_at(),
                kid: pending.id,
                created: false,
            });
        }
        let current = self.current_or_create(now).await?;
        let at = now + self.lead;
        match self.schedule(&current, at, now).await? {
            Some(r) => Ok(r),
            // Lost to a concurrent rotation: report the winner.
            None => Box::pin(self.rotate()).await,
        }
    }

    /// Retires the current key at once and signs with a new one from now on
    /// (for a key that may be compromised). Verifiers that cached the JWKS
    /// refuse new tokens until they refetch it.
    pub async fn rotate_now(&self) -> AuthResult<String> {
        let now = self.clock.now();
        store::retire_all(&self.db, self.alg.as_str(), now).await?;
        let row = self.create(now, None).await?;
        *self.cache.write().await = None;
        self.issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(row.id)
    }

    /// Every stored key of every algorithm with its state now.
    pub async fn list(&self) -> AuthResult<Vec<(KeyRow, KeyState)>> {
        let now = self.clock.now();
        Ok(store::all(&self.db)
            .await?
            .into_iter()
            .map(|r| {
                let state = if r.starts_at() > now {
                    KeyState::Pending
                } else if r.signs_at(now) {
                    KeyState::Signing
                } else {
                    KeyState::Retired
                };
                (r, state)
            })
            .collect())
    }

    async fn create(
        &self,
        now: DateTime<Utc>,
        activates_at: Option<DateTime<Utc>>,
    ) -> AuthResult<KeyRow> {
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
            activates_at,
            signed_until: None,
        };
        store::insert(&self.db, &row).await?;
        Ok(row)
    }

    fn load(&self, row: &KeyRow) -> AuthResult<Loaded> {
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
        })
    }

    /// The algorithm new tokens are signed with.
    pub fn alg(&self) -> JwtAlg {
        self.alg
    }

    /// The public JWKS document: pending, signing, and retired keys whose
    /// tokens may still be live.
    pub async fn jwks(&self) -> AuthResult<Value> {
        let now = self.clock.now();
        if store::signing(&self.db, self.alg.as_str(), now)
            .await?
            .is_none()
        {
            // First use: make sure there is a key to publish.
            self.current_or_create(now).await?;
        }
        let rows = store::published(&self.db, now, TOKEN_TTL).await?;
        let keys: Vec<Value> = rows.iter().filter_map(public_jwk).collect();
        Ok(json!({ "keys": keys }))
    }

    /// Decoding keys for every published key, by `kid` (for in-process verification).
    pub async fn verification_keys(&self) -> AuthResult<Vec<(String, Algorithm, DecodingKey)>> {
        let now = self.clock.now();
        let rows = store::published(&self.db, now, TOKEN_TTL).await?;
        let mut out = Vec::new();
        for row in rows {
            if let Some(key) = decoding_key(&row)? {
                out.push(key);
            }
        }
        Ok(out)
    }

    /// The decoding key for one `kid`, if it is published now: what an
    /// in-process verifier asks on an unknown kid, with no refetch throttle.
    pub async fn verification_key(
        &self,
        kid: &str,
    ) -> AuthResult<Option<(String, Algorithm, DecodingKey)>> {
        let now = self.clock.now();
        match store::find(&self.db, kid).await? {
            Some(row) if row.published_at(now, TOKEN_TTL) => decoding_key(&row),
            _ => Ok(None),
        }
    }
}

fn decoding_key(row: &KeyRow) -> AuthResult<Option<(String, Algorithm, DecodingKey)>> {
    let Some(jwk) = public_jwk(row) else {
        return Ok(None);
    };
    let parsed: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(jwk).map_err(AuthError::internal)?;
    let key = DecodingKey::from_jwk(&parsed).map_err(AuthError::internal)?;
    let alg = if row.alg == "EdDSA" {
        Algorithm::EdDSA
    } else {
        Algorithm::RS256
    };
    Ok(Some((row.id.clone(), alg, key)))
}

fn encode(k: &Loaded, claims: &Value) -> AuthResult<String> {
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
