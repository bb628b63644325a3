//! The HTTP stack around every role: error shapes, request ids, tracing, body
//! limit, timeouts, CORS, the input guard, metrics, and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use axum::middleware;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::App;
use crate::{input, ops};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Headers browsers may read on credentialed cross-origin responses.
const EXPOSED: [&str; 8] = [
    "set-auth-token",
    "set-auth-jwt",
    "x-request-id",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-retry-after",
    "retry-after",
];

#[derive(Clone, Copy, Default)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&common::ids::random_alphanumeric(20))
            .ok()
            .map(RequestId::new)
    }
}

/// Wraps the roles' router in the shared middleware stack.
pub fn build_router(app: &App) -> Router {
    let config = &app.state.config;
    let trusted = config.trusted_origins.clone();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin
                .to_str()
                .is_ok_and(|o| common::origins::is_trusted(&trusted, o))
        }))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::ACCEPT,
            REQUEST_ID,
            HeaderName::from_static("x-requested-with"),
        ])
        .expose_headers(EXPOSED.map(HeaderName::from_static))
        .max_age(std::time::Duration::from_secs(600));

    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
        let id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", id, method = %req.method(), path = %redact_path(req.uri().path()))
    });

    app.router()
        .route_layer(middleware::from_fn(ops::record_metrics))
        // Inside the body limit, which bounds what the guard reads.
        .layer(middleware::from_fn(input::refuse_control_characters))
        .layer(
            ServiceBuilder::new()
                // Outermost, so what the layers below answer is shaped too.
                .layer(middleware::from_fn(input::shape_errors))
                .layer(RequestBodyLimitLayer::new(config.body_limit))
                .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
                .layer(trace)
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(cors)
                .layer(DefaultBodyLimit::max(config.body_limit))
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    config.request_timeout,
                )),
        )
}

/// Path segments that look like tokens (reset links, verification codes) are
/// replaced before the path reaches a log line. Query strings are never logged.
pub fn redact_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.len() >= 20
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                ":redacted"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Periodic jobs. Each tick is cheap; the database lease decides which
/// instance does the work.
fn spawn_jobs(app: &App) {
    if !app.state.roles.contains(&common::Role::Api) {
        return;
    }
    if app.state.searches {
        // Built in the background: requests are served meanwhile, and the
        // tutor says search is warming up until it is done.
        app.state.api.search.start();
    }
    let db = app.state.db.clone();
    let clock = app.state.clock.clone();
    let holder = common::ids::random_alphanumeric(16);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            match api::admin::retention_tick(&db, &holder, clock.now()).await {
                Ok(Some(n)) => tracing::info!(deleted = n, "daily thread retention done"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "thread retention failed; will retry"),
            }
        }
    });
}

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight
/// requests finish.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = build_router(&app);
    spawn_jobs(&app);
    // Streamed replies are many small writes: with Nagle's algorithm each one
    // after the first waits for the client's delayed ACK (about 40 ms).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set on a connection");
        }
    });
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    // Lets go of the search index folder for whoever starts next.
    app.state.api.search.close().await;
    served
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::redact_path;

    #[test]
    fn token_like_segments_are_redacted() {
        assert_eq!(
            redact_path("/api/auth/reset-password/6MoVRGVVoFlYvyPo3EISvvDP"),
            "/api/auth/reset-password/:redacted"
        );
        assert_eq!(redact_path("/learn/sensors/imu"), "/learn/sensors/imu");
    }
}
