//! Password policy and hashing. New hashes are argon2id (OWASP parameters);
//! imported scrypt (Better-Auth) and bcrypt (passlib) hashes still verify and
//! are flagged for re-hashing. Hashing runs on the blocking pool with bounded
//! concurrency, so a burst of sign-ins cannot exhaust memory.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::Serialize;
use tokio::sync::Semaphore;
use unicode_normalization::UnicodeNormalization;

use crate::crypto::{ct_eq, hex, unhex};
use crate::error::{AuthError, AuthResult};

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// One rule of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    MinLength,
    MaxLength,
    Uppercase,
    Lowercase,
    Digit,
    Special,
}

impl Rule {
    pub fn describe(self) -> &'static str {
        match self {
            Rule::MinLength => "at least 12 characters",
            Rule::MaxLength => "at most 128 characters",
            Rule::Uppercase => "an uppercase letter",
            Rule::Lowercase => "a lowercase letter",
            Rule::Digit => "a digit",
            Rule::Special => "a special character",
        }
    }
}

/// Every rule a password failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyViolation(pub Vec<Rule>);

impl PolicyViolation {
    pub fn code(&self) -> &'static str {
        if self.0.contains(&Rule::MinLength) {
            "PASSWORD_TOO_SHORT"
        } else if self.0.contains(&Rule::MaxLength) {
            "PASSWORD_TOO_LONG"
        } else {
            "PASSWORD_TOO_WEAK"
        }
    }

    pub fn message(&self) -> String {
        let rules: Vec<_> = self.0.iter().map(|r| r.describe()).collect();
        format!("Password must have {}", rules.join(", "))
    }
}

/// Checks the policy. Length counts characters, not bytes.
pub fn check_policy(password: &str) -> Result<(), PolicyViolation> {
    let mut failed = Vec::new();
    let len = password.chars().count();
    if len < MIN_LEN {
        failed.push(Rule::MinLength);
    }
    if len > MAX_LEN {
        failed.push(Rule::MaxLength);
    }
    if !password.chars().any(char::is_uppercase) {
        failed.push(Rule::Uppercase);
    }
    if !password.chars().any(char::is_lowercase) {
        failed.push(Rule::Lowercase);
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        failed.push(Rule::Digit);
    }
    if !password
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
    {
        failed.push(Rule::Special);
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(PolicyViolation(failed))
    }
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Mismatch,
    Match,
    /// Correct, but stored with an older algorithm: store a new argon2id hash.
    MatchNeedsRehash,
}

#[derive(Clone)]
pub struct Hasher {
    limit: Arc<Semaphore>,
    params: Params,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new(Params::new(19 * 1024, 2, 1, None).unwrap_or_default())
    }
}

impl Hasher {
    /// OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    pub fn new(params: Params) -> Self {
        let permits = std::thread::available_parallelism()
            .map(|n| n.get() * 2)
            .unwrap_or(4);
        Hasher {
            limit: Arc::new(Semaphore::new(permits)),
            params,
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub async fn hash(&self, password: &str) -> AuthResult<String> {
        let _permit = self.limit.acquire().await.map_err(AuthError::internal)?;
        let argon = self.argon2();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(AuthError::internal)
        })
        .await
        .map_err(AuthError::internal)?
    }

    /// Verifies against argon2, scrypt (`hexsalt:hexkey`) or bcrypt hashes.
    pub async fn verify(&self, password: &str, stored: &str) -> AuthResult<Verdict> {
        let _permit = self.limit.acquire().await.map_err(AuthError::internal)?;
        let argon = self.argon2();
        let password = password.to_owned();
        let stored = stored.to_owned();
        tokio::task::spawn_blocking(move || verify_blocking(&argon, &password, &stored))
            .await
            .map_err(AuthError::internal)
    }

    /// Does the work of a verification against nothing, so that an unknown
    /// account costs as much time as a known one.
    pub async fn dummy_verify(&self, password: &str) {
        let _ = self.hash(password).await;
    }
}

fn verify_blocking(argon: &Argon2<'static>, password: &str, stored: &str) -> Verdict {
    if stored.starts_with("$argon2") {
        return match PasswordHash::new(stored) {
            Ok(parsed) if argon.verify_password(password.as_bytes(), &parsed).is_ok() => {
                if parsed.algorithm.as_str() == "argon2id" {
                    Verdict::Match
                } else {
                    Verdict::MatchNeedsRehash
                }
            }
            _ => Verdict::Mismatch,
        };
    }
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verdict::MatchNeedsRehash,
            _ => Verdict::Mismatch,
        };
    }
    if let Some((salt, key)) = stored.split_once(':') {
        return if verify_scrypt(password, salt, key) {
            Verdict::MatchNeedsRehash
        } else {
            Verdict::Mismatch
        };
    }
    Verdict::Mismatch
}

/// Better-Auth's scrypt: N=16384, r=16, p=1, 64-byte key; the salt is the hex
/// string's ASCII bytes and the password is NFKC-normalised.
fn verify_scrypt(password: &str, salt_hex: &str, key_hex: &str) -> bool {
    let Some(expected) = unhex(key_hex) else {
        return false;
    };
    let Ok(params) = scrypt::Params::new(14, 16, 1, 64) else {
        return false;
    };
    let normalized: String = password.nfkc().collect();
    let mut out = [0u8; 64];
    if scrypt::scrypt(
        normalized.as_bytes(),
        salt_hex.as_bytes(),
        &params,
        &mut out,
    )
    .is_err()
    {
        return false;
    }
    ct_eq(hex(&out).as_bytes(), hex(&expected).as_bytes())
}

/// Names the algorithm of a stored hash, or `None` when it is not one we can verify.
pub fn algorithm_of(stored: &str) -> Option<&'static str> {
    if stored.starts_with("$argon2id$") {
        Some("argon2id")
    } else if stored.starts_with("$argon2") {
        Some("argon2")
    } else if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$")
    {
        Some("bcrypt")
    } else if let Some((salt, key)) = stored.split_once(':') {
        (salt.len() == 32 && key.len() == 128 && unhex(salt).is_some() && unhex(key).is_some())
            .then_some("scrypt")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_every_failed_rule() {
        assert!(check_policy("Correct-Horse-42!").is_ok());
        let v = check_policy("short").unwrap_err();
        assert_eq!(
            v.0,
            vec![Rule::MinLength, Rule::Uppercase, Rule::Digit, Rule::Special]
        );
        assert_eq!(v.code(), "PASSWORD_TOO_SHORT");
        assert!(v.message().contains("at least 12 characters"));
        assert!(v.message().contains("a special character"));
        let v = check_policy("alllowercaseletters").unwrap_err();
        assert_eq!(v.code(), "PASSWORD_TOO_WEAK");
        let long = format!("Aa1!{}", "x".repeat(200));
        assert_eq!(check_policy(&long).unwrap_err().code(), "PASSWORD_TOO_LONG");
    }

    #[tokio::test]
    async fn argon2id_round_trip() {
        let h = Hasher::default();
        let stored = h.hash("Correct-Horse-42!").await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            h.verify("Correct-Horse-42!", &stored).await.unwrap(),
            Verdict::Match
        );
        assert_eq!(h.verify("wrong", &stored).await.unwrap(), Verdict::Mismatch);
    }

    #[tokio::test]
    async fn better_auth_scrypt_vectors_verify_and_ask_for_rehash() {
        let h = Hasher::default();
        let stored = "0123456789abcdef0123456789abcdef:e8b256b6f9f4b1641136a66d4a26ba41a47b6c8c9bad6aa4145559ffda45ece1f0f16dec8482a3e5545feada0ba62f2b05eeb943b750c9396874e1762c78d27d";
        assert_eq!(
            h.verify("password123", stored).await.unwrap(),
            Verdict::MatchNeedsRehash
        );
        assert_eq!(
            h.verify("password124", stored).await.unwrap(),
            Verdict::Mismatch
        );
        let captured = "89345f0946c133aad74dff19304fc052:8fd5f300018a4dcf1fdb0ae6201f293489c7be33067f2eb078c04e4400315aa02e950327f35b72434e2863f2664e4e6275a657097655dde511ddbf4269097df4";
        assert_eq!(
            h.verify("newpassword123", captured).await.unwrap(),
            Verdict::MatchNeedsRehash
        );
        assert_eq!(algorithm_of(captured), Some("scrypt"));
    }

    #[tokio::test]
    async fn bcrypt_hashes_verify() {
        let h = Hasher::default();
        let stored = bcrypt::hash("legacy-Pass-1!", 4)
            .unwrap()
            .replacen("$2y$", "$2b$", 1);
        assert_eq!(
            h.verify("legacy-Pass-1!", &stored).await.unwrap(),
            Verdict::MatchNeedsRehash
        );
        assert_eq!(h.verify("nope", &stored).await.unwrap(), Verdict::Mismatch);
        assert_eq!(algorithm_of(&stored), Some("bcrypt"));
        assert_eq!(algorithm_of("plain"), None);
    }
}
