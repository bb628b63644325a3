//! Better-Auth's signed cookies: `value.base64(HMAC-SHA256(secret, value))`,
//! URL-encoded on the wire, `__Secure-` prefixed on https.

use chrono::Duration;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::crypto::{ct_eq, hmac_b64};

pub const PREFIX: &str = "better-auth";
pub const SESSION_TOKEN: &str = "session_token";
pub const DONT_REMEMBER: &str = "dont_remember";

/// What `encodeURIComponent` leaves alone.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `value.signature`, not yet URL-encoded.
pub fn sign(secret: &str, value: &str) -> String {
    format!("{value}.{}", hmac_b64(secret.as_bytes(), value.as_bytes()))
}

/// Checks a signed value (URL-decoding it first) and returns the inner value.
pub fn verify(secret: &str, signed: &str) -> Option<String> {
    let decoded = if signed.contains('%') {
        percent_decode_str(signed).decode_utf8().ok()?.into_owned()
    } else {
        signed.to_owned()
    };
    let (value, sig) = decoded.rsplit_once('.')?;
    if sig.len() != 44 || !sig.ends_with('=') {
        return None;
    }
    let expected = hmac_b64(secret.as_bytes(), value.as_bytes());
    ct_eq(expected.as_bytes(), sig.as_bytes()).then(|| value.to_owned())
}

pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, URI_COMPONENT).to_string()
}

/// Cookie naming and attributes for one deployment.
#[derive(Debug, Clone)]
pub struct CookieJarSpec {
    pub secure: bool,
}

impl CookieJarSpec {
    pub fn name(&self, short: &str) -> String {
        if self.secure {
            format!("__Secure-{PREFIX}.{short}")
        } else {
            format!("{PREFIX}.{short}")
        }
    }

    /// A `Set-Cookie` value. `max_age: None` makes a browser-session cookie.
    pub fn set(&self, short: &str, value: &str, max_age: Option<Duration>) -> String {
        let mut out = format!("{}={}", self.name(short), encode(value));
        if let Some(age) = max_age {
            out.push_str(&format!("; Max-Age={}", age.num_seconds().max(0)));
        }
        out.push_str("; Path=/; HttpOnly");
        if self.secure {
            out.push_str("; Secure");
        }
        out.push_str("; SameSite=Lax");
        out
    }

    pub fn delete(&self, short: &str) -> String {
        self.set(short, "", Some(Duration::zero()))
    }
}

/// The value of cookie `name` in a `Cookie` request header.
pub fn find<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vector captured from Better-Auth 1.7.25.
    const SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "ILnSBG4Z2P1mLmAAvRUWdclz95F8Azrg";
    const SIGNED: &str =
        "ILnSBG4Z2P1mLmAAvRUWdclz95F8Azrg.nXj48mRMWw2oHhooWXB+Z+95VBDRsbidSA6VrNPkONg=";

    #[test]
    fn matches_better_auth_signature() {
        assert_eq!(sign(SECRET, TOKEN), SIGNED);
        assert_eq!(
            encode(SIGNED),
            "ILnSBG4Z2P1mLmAAvRUWdclz95F8Azrg.nXj48mRMWw2oHhooWXB%2BZ%2B95VBDRsbidSA6VrNPkONg%3D"
        );
        assert_eq!(verify(SECRET, &encode(SIGNED)).as_deref(), Some(TOKEN));
        assert_eq!(verify(SECRET, SIGNED).as_deref(), Some(TOKEN));
    }

    #[test]
    fn rejects_tampering_and_other_secrets() {
        assert!(verify("another-secret", SIGNED).is_none());
        let tampered = SIGNED.replacen("ILn", "XLn", 1);
        assert!(verify(SECRET, &tampered).is_none());
        assert!(verify(SECRET, TOKEN).is_none());
    }

    #[test]
    fn cookie_attributes_follow_the_scheme() {
        let plain = CookieJarSpec { secure: false };
        assert_eq!(
            plain.set(SESSION_TOKEN, "a.b=", Some(Duration::days(7))),
            "better-auth.session_token=a.b%3D; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"
        );
        let secure = CookieJarSpec { secure: true };
        assert_eq!(
            secure.set(SESSION_TOKEN, "x", None),
            "__Secure-better-auth.session_token=x; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
        assert_eq!(
            find(
                "a=1; better-auth.session_token=abc; b=2",
                "better-auth.session_token"
            ),
            Some("abc")
        );
    }
}
