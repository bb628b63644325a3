//! Reading requests: client address, bodies (JSON or form, with Better-Auth's
//! 415/400 answers), the session from a cookie or a bearer token, and the
//! checks on redirect targets.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::Auth;
use crate::audit::RequestMeta;
use crate::cookies::{self, SESSION_TOKEN};
use crate::error::{AuthError, AuthResult, Kind};
use crate::session_ops::SessionRead;
use crate::sessions::Authenticated;

/// The client address: the peer, or — only when the peer is a trusted proxy —
/// the right-most untrusted hop of `X-Forwarded-For`.
pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    trusted: &[ipnet::IpNet],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.iter().any(|n| n.contains(&peer)) {
        return Some(peer);
    }
    let chain = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut hop = peer;
    for raw in chain.rsplit(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Ok(ip) = raw.parse::<IpAddr>() else { break };
        hop = ip;
        if !trusted.iter().any(|n| n.contains(&ip)) {
            break;
        }
    }
    Some(hop)
}

/// Who is asking, for rate limits and the audit log.
pub struct Meta(pub RequestMeta);

impl FromRequestParts<Auth> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, auth: &Auth) -> Result<Self, Self::Rejection> {
        Ok(Meta(meta_of(parts, auth)))
    }
}

pub fn meta_of(parts: &Parts, auth: &Auth) -> RequestMeta {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip =
        client_ip(&parts.headers, peer, &auth.settings.trusted_proxies).map(|ip| ip.to_string());
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(512).collect());
    RequestMeta { ip, user_agent }
}

/// Parses a request body as JSON — or, where `allow_form`, as a form — with
/// Better-Auth's errors. An empty body reads as `{}`.
pub fn parse_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    allow_form: bool,
) -> AuthResult<T> {
    let allowed = if allow_form {
        "application/x-www-form-urlencoded, application/json"
    } else {
        "application/json"
    };
    if body.is_empty() {
        return serde_json::from_str("{}").map_err(|e| AuthError::validation(e.to_string()));
    }
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(AuthError::coded(
            Kind::Unsupported,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("Content-Type is required. Allowed types: {allowed}"),
        ));
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|_| AuthError::invalid("BAD_REQUEST", "Invalid JSON in request body"))?;
            if !value.is_object() {
                return Err(AuthError::invalid(
                    "BODY_MUST_BE_AN_OBJECT",
                    "Body must be an object",
                ));
            }
            serde_json::from_value(value).map_err(|e| AuthError::validation(format!("[body] {e}")))
        }
        "application/x-www-form-urlencoded" if allow_form => {
            let pairs: Vec<(String, String)> =
                url::form_urlencoded::parse(body).into_owned().collect();
            let mut map = serde_json::Map::new();
            for (k, v) in pairs {
                // Forms carry strings only; booleans arrive as "true"/"false".
                let value = match v.as_str() {
                    "true" | "on" => serde_json::Value::Bool(true),
                    "false" | "off" => serde_json::Value::Bool(false),
                    _ => serde_json::Value::String(v),
                };
                map.insert(k, value);
            }
            serde_json::from_value(serde_json::Value::Object(map))
                .map_err(|e| AuthError::validation(format!("[body] {e}")))
        }
        _ => Err(AuthError::coded(
            Kind::Unsupported,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("Content-Type \"{essence}\" is not allowed. Allowed types: {allowed}"),
        )),
    }
}

/// The session token the request carries: the signed cookie, else a bearer
/// token (signed, or the raw token as Better-Auth's bearer plugin accepts).
pub fn session_token(headers: &HeaderMap, auth: &Auth) -> Option<String> {
    let name = auth.cookies.name(SESSION_TOKEN);
    if let Some(raw) = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| cookies::find(h, &name))
    {
        return cookies::verify(auth.secret(), raw);
    }
    let bearer = authorization(headers, "bearer ")?;
    if bearer.contains('.') {
        cookies::verify(auth.secret(), bearer)
    } else if bearer.len() == 32 && bearer.chars().all(|c| c.is_ascii_alphanumeric()) {
        Some(bearer.to_owned())
    } else {
        None
    }
}

/// What an `Authorization: <scheme> <credentials>` header carries, trimmed;
/// `scheme` is given lower-case with its space and matches in any case.
pub fn authorization<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .get(..scheme.len())
        .filter(|p| p.eq_ignore_ascii_case(scheme))
        .map(|_| value[scheme.len()..].trim())
}

/// The current session, if any.
pub async fn current(headers: &HeaderMap, auth: &Auth) -> AuthResult<Option<Authenticated>> {
    let Some(token) = session_token(headers, auth) else {
        return Ok(None);
    };
    Ok(match auth.read_session(&token).await? {
        SessionRead::Valid { auth, .. } => Some(auth),
        _ => None,
    })
}

/// `callbackURL`, checked as [`check_redirect`] checks any redirect target.
pub fn check_callback_url(auth: &Auth, value: Option<&str>) -> AuthResult<()> {
    check_redirect(auth, value, "INVALID_CALLBACK_URL", "callbackURL")
}

/// A redirect target must be a relative path on this site or lie within the
/// trusted origins; anything else would make us an open redirect. The rule is
/// `common::redirect`, shared with the web role's `next`.
pub fn check_redirect(
    auth: &Auth,
    value: Option<&str>,
    code: &'static str,
    label: &str,
) -> AuthResult<()> {
    let Some(url) = value else { return Ok(()) };
    if common::redirect::is_allowed(&auth.config.trusted_origins, url) {
        return Ok(());
    }
    Err(AuthError::forbidden(code, format!("Invalid {label}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.0.0.2".parse().unwrap());
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_ip(&h, Some(proxy), &trusted),
            Some("203.0.113.9".parse().unwrap())
        );
        assert_eq!(
            client_ip(&h, Some(proxy), &[]),
            Some(proxy),
            "untrusted peers cannot spoof"
        );
        let stranger: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(client_ip(&h, Some(stranger), &trusted), Some(stranger));
    }
}
