//! Middleware in front of every auth route: the Origin/CSRF check for
//! state-changing requests and the per-IP rate limits.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::request::meta_of;
use crate::Auth;
use crate::audit::{self, Entry, Event};
use crate::error::AuthError;
use crate::ratelimit;

pub async fn guard(State(auth): State<Auth>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    // Path relative to /api/auth.
    let path = parts
        .uri
        .path()
        .strip_prefix("/api/auth")
        .unwrap_or(parts.uri.path())
        .to_owned();

    if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS)
        && let Err(err) = check_origin(&auth, &parts.headers, &path)
    {
        return err.into_response();
    }

    if auth.config.auth.rate_limit_enabled
        && parts.method == Method::POST
        && let Some(rule) = ratelimit::rule_for(&path)
    {
        let meta = meta_of(&parts, &auth);
        let ip = meta.ip.clone().unwrap_or_else(|| "unknown".into());
        match ratelimit::hit(&auth.db, rule, &ip, auth.clock.now()).await {
            Ok(Ok(())) => {}
            Ok(Err(retry_after_secs)) => {
                let _ = audit::record(
                    &auth.db,
                    &meta,
                    Entry::new(Event::RateLimited)
                        .details(serde_json::json!({"rule": rule.name, "path": path})),
                    auth.clock.now(),
                )
                .await;
                return AuthError::RateLimited { retry_after_secs }.into_response();
            }
            Err(err) => return AuthError::from(err).into_response(),
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Better-Auth's rules: requests that carry cookies must come from a trusted
/// origin; sign-in and sign-up also refuse cross-site navigations and check
/// any origin a browser declares. Bearer-only requests carry no ambient
/// credential and pass.
fn check_origin(auth: &Auth, headers: &HeaderMap, path: &str) -> Result<(), AuthError> {
    let has_cookie = headers.contains_key(header::COOKIE);
    let is_form_route = path == "/sign-in/email" || path == "/sign-up/email";
    if has_cookie {
        return validate_origin(auth, headers);
    }
    if !is_form_route {
        return Ok(());
    }
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let mode = headers.get("sec-fetch-mode").and_then(|v| v.to_str().ok());
    if site == Some("cross-site") && mode == Some("navigate") {
        return Err(AuthError::forbidden(
            "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED",
            "Cross-site navigation login blocked. This request appears to be a CSRF attack.",
        ));
    }
    let declares = site.is_some()
        || headers.contains_key(header::ORIGIN)
        || headers.contains_key(header::REFERER);
    if declares {
        return validate_origin(auth, headers);
    }
    Ok(())
}

fn validate_origin(auth: &Auth, headers: &HeaderMap) -> Result<(), AuthError> {
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .filter(|o| !o.is_empty() && *o != "null");
    let origin = match origin {
        Some(o) => o.to_owned(),
        None if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
            == Some("same-origin") =>
        {
            common::config::origin_of(&auth.config.base_url)
        }
        None => {
            return Err(AuthError::forbidden(
                "MISSING_OR_NULL_ORIGIN",
                "Missing or null Origin",
            ));
        }
    };
    if common::origins::is_trusted(&auth.config.trusted_origins, &origin) {
        Ok(())
    } else {
        Err(AuthError::forbidden("INVALID_ORIGIN", "Invalid origin"))
    }
}
