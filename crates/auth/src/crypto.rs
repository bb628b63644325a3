//! Small cryptographic helpers over aws-lc-rs and RustCrypto: HMAC signatures,
//! hashing of stored tokens, constant-time comparison, and the authenticated
//! encryption of secrets at rest (Better-Auth's format, so imported rows work).

use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use subtle::ConstantTimeEq;

/// `base64(HMAC-SHA256(key, msg))`, standard alphabet with padding.
pub fn hmac_b64(key: &[u8], msg: &[u8]) -> String {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    STANDARD.encode(hmac::sign(&k, msg).as_ref())
}

/// Compares two byte strings in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// `base64url(SHA-256(value))`: how one-time tokens are stored, so a copy of
/// the database does not hand out working links.
pub fn token_hash(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, value.as_bytes()).as_ref())
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

#[derive(Debug, thiserror::Error)]
#[error("cannot decrypt a stored secret: wrong BETTER_AUTH_SECRET or damaged data")]
pub struct DecryptError;

/// XChaCha20-Poly1305 under `SHA-256(secret)`; hex of `nonce ‖ ciphertext ‖ tag`.
pub fn encrypt(secret: &str, plaintext: &[u8]) -> String {
    let cipher = XChaCha20Poly1305::new(&sha256(secret.as_bytes()).into());
    let nonce_bytes: [u8; 24] = common::ids::random_bytes();
    let nonce = XNonce::from(nonce_bytes);
    // Encryption with a fresh nonce and an in-memory buffer cannot fail.
    let ct = cipher.encrypt(&nonce, plaintext).unwrap_or_default();
    let mut out = Vec::with_capacity(24 + ct.len());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&ct);
    hex(&out)
}

pub fn decrypt(secret: &str, hex_data: &str) -> Result<Vec<u8>, DecryptError> {
    let raw = unhex(hex_data).ok_or(DecryptError)?;
    if raw.len() < 24 + 16 {
        return Err(DecryptError);
    }
    let cipher = XChaCha20Poly1305::new(&sha256(secret.as_bytes()).into());
    let mut nonce = XNonce::default();
    nonce.copy_from_slice(&raw[..24]);
    cipher.decrypt(&nonce, &raw[24..]).map_err(|_| DecryptError)
}

pub fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_round_trips_and_detects_the_wrong_secret() {
        let sealed = encrypt("secret-one", b"private key");
        assert_eq!(decrypt("secret-one", &sealed).unwrap(), b"private key");
        assert!(decrypt("secret-two", &sealed).is_err());
        assert!(decrypt("secret-one", "zz").is_err());
    }

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
    }
}
