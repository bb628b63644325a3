//! The authorization request travels through the login and consent pages as
//! a signed query string (`…&exp=…&ba_iat=…&sig=…`), the way Better-Auth's
//! provider does it: pages hand it back as `oauth_query` and we trust only
//! what the signature covers.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::crypto::{ct_eq, hmac_b64};

/// How long a page may take before the user must start again.
pub const LIFETIME: Duration = Duration::minutes(30);

const SIG: &str = "sig";
const EXP: &str = "exp";
const ISSUED: &str = "ba_iat";

fn canonical(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != SIG).collect();
    sorted.sort();
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(sorted.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish()
}

/// The query string for `params`, stamped and signed.
pub fn sign(secret: &str, params: &[(String, String)], now: DateTime<Utc>) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != SIG && k != EXP && k != ISSUED)
        .cloned()
        .collect();
    pairs.push((EXP.into(), (now + LIFETIME).timestamp().to_string()));
    pairs.push((ISSUED.into(), now.timestamp_millis().to_string()));
    let sig = hmac_b64(secret.as_bytes(), canonical(&pairs).as_bytes());
    pairs.push((SIG.into(), sig));
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish()
}

/// A verified query: the original parameters and when the hop began.
#[derive(Debug, Clone)]
pub struct Verified {
    pub params: Vec<(String, String)>,
    pub issued_at: DateTime<Utc>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the authorization request is not signed by this server")]
    Invalid,
    #[error("the authorization request has expired; start again")]
    Expired,
}

pub fn verify(secret: &str, query: &str, now: DateTime<Utc>) -> Result<Verified, SignatureError> {
    let query = query.trim_start_matches('?');
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let sig = pairs
        .iter()
        .find(|(k, _)| k == SIG)
        .map(|(_, v)| v.as_str())
        .ok_or(SignatureError::Invalid)?;
    let expected = hmac_b64(secret.as_bytes(), canonical(&pairs).as_bytes());
    if !ct_eq(sig.as_bytes(), expected.as_bytes()) {
        return Err(SignatureError::Invalid);
    }
    let num = |key: &str| -> Option<i64> {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse().ok())
    };
    let exp = num(EXP).ok_or(SignatureError::Invalid)?;
    let issued = num(ISSUED)
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        .ok_or(SignatureError::Invalid)?;
    if exp <= now.timestamp() {
        return Err(SignatureError::Expired);
    }
    Ok(Verified {
        params: pairs
            .into_iter()
            .filter(|(k, _)| k != SIG && k != EXP && k != ISSUED)
            .collect(),
        issued_at: issued,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<(String, String)> {
        vec![
            ("client_id".into(), "abc".into()),
            ("scope".into(), "openid email".into()),
            (
                "redirect_uri".into(),
                "https://rp.example/cb?x=1&y=2".into(),
            ),
        ]
    }

    #[test]
    fn round_trips_and_refuses_tampering() {
        let now = Utc::now();
        let q = sign("s3cret", &params(), now);
        let v = verify("s3cret", &q, now).unwrap();
        assert_eq!(v.params, params());
        assert_eq!(v.issued_at.timestamp_millis(), now.timestamp_millis());
        let tampered = q.replace("openid+email", "openid+email+offline_access");
        assert_ne!(tampered, q);
        assert_eq!(
            verify("s3cret", &tampered, now).unwrap_err(),
            SignatureError::Invalid
        );
        assert_eq!(
            verify("other", &q, now).unwrap_err(),
            SignatureError::Invalid
        );
        assert_eq!(
            verify("s3cret", &q, now + LIFETIME + Duration::seconds(1)).unwrap_err(),
            SignatureError::Expired
        );
    }
}
