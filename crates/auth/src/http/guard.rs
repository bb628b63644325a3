//! Middleware in front of every auth route: the Origin/CSRF check for
//! state-changing requests that carry cookies. What a route adds — a rate
//! limit, the sign-in form's stricter origin rules — is a [`Policy`]
//! declared where the route is registered, never chosen by its path.

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
    if !matches!(
        req.method(),
        &Method::GET | &Method::HEAD | &Method::OPTIONS
    ) && req.headers().contains_key(header::COOKIE)
        && let Err(err) = validate_origin(&auth, req.headers())
    {
        return err.into_response();
    }
    next.run(req).await
}

/// What a route adds to the guard, declared where it is registered:
/// `post(handler).route_layer(guard::policy(&auth, Policy::limit(ratelimit::SIGN_IN).form()))`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// Counted per client address against this rule.
    pub limit: Option<ratelimit::Rule>,
    /// A sign-in or sign-up form: refuses cross-site navigations and checks
    /// any origin a browser declares, cookies or not.
    pub form: bool,
}

impl Policy {
    pub fn limit(rule: ratelimit::Rule) -> Self {
        Policy {
            limit: Some(rule),
            form: false,
        }
    }

    pub fn form(self) -> Self {
        Policy { form: true, ..self }
    }
}

/// Counts a request against `rule` for its client address.
async fn count_hit(
    auth: &Auth,
    rule: ratelimit::Rule,
    parts: &axum::http::request::Parts,
    path: &str,
) -> Result<(), AuthError> {
    if !auth.settings.rate_limit_enabled {
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

type PolicyFn = fn(
    State<(Auth, Policy)>,
    Request,
    Next,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>;

/// The layer [`policy`] makes.
pub type PolicyLayer =
    axum::middleware::FromFnLayer<PolicyFn, (Auth, Policy), (State<(Auth, Policy)>, Request)>;

/// The route layer that applies `policy`: the form's origin rules first,
/// then the rate limit, so a refused cross-site request is not counted.
pub fn policy(auth: &Auth, policy: Policy) -> PolicyLayer {
    fn run(
        State((auth, policy)): State<(Auth, Policy)>,
        req: Request,
        next: Next,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>> {
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            if policy.form
                && let Err(err) = check_form_origin(&auth, &parts.headers)
            {
                return err.into_response();
            }
            if let Some(rule) = policy.limit {
                // Inside the nested router the path is relative to /api/auth.
                let path = parts.uri.path().to_owned();
                if let Err(err) = count_hit(&auth, rule, &parts, &path).await {
                    return err.into_response();
                }
            }
            next.run(Request::from_parts(parts, body)).await
        })
    }
    axum::middleware::from_fn_with_state((auth.clone(), policy), run as PolicyFn)
}

/// A rate limit alone: `policy(auth, Policy::limit(rule))`.
pub fn limit(auth: &Auth, rule: ratelimit::Rule) -> PolicyLayer {
    policy(auth, Policy::limit(rule))
}

/// Better-Auth's rules for the sign-in and sign-up forms: requests that
/// carry cookies were checked by [`guard`]; the rest are refused as
/// cross-site navigations, and any origin a browser declares must be
/// trusted. Elsewhere bearer-only requests carry no ambient credential and pass.
fn check_form_origin(auth: &Auth, headers: &HeaderMap) -> Result<(), AuthError> {
    if headers.contains_key(header::COOKIE) {
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
