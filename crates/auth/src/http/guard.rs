//! Middleware in front of every auth route: the Origin/CSRF check for
//! state-changing requests and the per-IP rate limits.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::request::meta_of;
use crate::Auth;
use crate::audit::{Entry, Event};
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

    if parts.method == Method::POST
        && let Some(rule) = ratelimit::rule_for(&path)
        && let Err(err) = count_hit(&auth, rule, &parts, &path).await
    {
        return err.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Counts a request against `rule` for its client address.
async fn count_hit(
    auth: &Auth,
    rule: ratelimit::Rule,
    parts: &axum::http::request::Parts,
    path: &str,
) -> Result<(), AuthError> {
    if !auth.config.auth.rate_limit_enabled {
        return Ok(());
    }
    let meta = meta_of(parts, auth);
    let ip = meta.ip.clone().unwrap_or_else(|| "unknown".into());
    match ratelimit::hit(&auth.db, rule, &ip, auth.clock.now()).await? {
        Ok(()) => Ok(()),
        Err(retry_after_secs) => {
            auth.audit(
                &meta,
                Entry::new(Event::RateLimited)
                    .details(serde_json::json!({"rule": rule.name, "path": path})),
            )
            .await;
            Err(AuthError::RateLimited { retry_after_secs })
        }
    }
}

type LimitFn = fn(
    State<(Auth, ratelimit::Rule)>,
    Request,
    Next,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>;

/// The layer [`limit`] makes.
pub type RateLimitLayer = axum::middleware::FromFnLayer<
    LimitFn,
    (Auth, ratelimit::Rule),
    (State<(Auth, ratelimit::Rule)>, Request),
>;

/// A rate limit declared where a route is registered:
/// `post(handler).route_layer(guard::limit(&auth, ratelimit::TWO_FACTOR))`.
pub fn limit(auth: &Auth, rule: ratelimit::Rule) -> RateLimitLayer {
    fn run(
        State((auth, rule)): State<(Auth, ratelimit::Rule)>,
        req: Request,
        next: Next,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>> {
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let path = parts.uri.path().to_owned();
            if let Err(err) = count_hit(&auth, rule, &parts, &path).await {
                return err.into_response();
            }
            next.run(Request::from_parts(parts, body)).await
        })
    }
    axum::middleware::from_fn_with_state((auth.clone(), rule), run as LimitFn)
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
