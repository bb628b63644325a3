//! Opaque identifiers and random tokens.

use rand::Rng;
use rand::distr::Alphanumeric;

/// A new row id: 32 characters of `[A-Za-z0-9]`, the shape Better-Auth uses,
/// so imported and native ids look alike.
pub fn new_id() -> String {
    random_alphanumeric(32)
}

/// A random string of `[A-Za-z0-9]` from the operating system's CSPRNG.
pub fn random_alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Random bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rng().fill(&mut out[..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_alphanumerics_and_differ() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
