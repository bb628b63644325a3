//! Operational endpoints: liveness, readiness and Prometheus metrics, plus the
//! middleware that records per-route request counts and latencies.

use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::app::AppState;

const READY_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
}

/// 200 while the process lives; deliberately touches nothing else.
async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// 200 when the database answers, 503 with the reason when it does not.
/// `search` tells whether the tutor's index is `warming` (its first build
/// runs; the tutor says so to students), `ready`, `failed` (retried), or
/// `off` (this process answers no chat turns). A warming index does not make
/// the instance unready: everything else is served, and turns never wait.
async fn ready(State(state): State<AppState>) -> Response {
    let search = state.api.search.status().await;
    match state.db.ping(READY_PROBE_TIMEOUT).await {
        Ok(()) => Json(json!({ "status": "ready", "search": search })).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            let reason = match err {
                common::DbError::Timeout(_) => "database did not answer in time",
                _ => "database unreachable",
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "reason": reason })),
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// Records `http_requests_total` and `http_request_duration_seconds` labelled
/// by method, route template (never the raw path, which may carry tokens) and status.
pub async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
