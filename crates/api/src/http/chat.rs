//! `POST /api/v1/chatkit`: the ChatKit protocol endpoint. Identity and role
//! come from the JWT; page context from request metadata. What a request
//! carries is checked first; then students are held to their daily limit
//! (new messages and retries alike) before any stream opens, and every answer
//! carries the `X-RateLimit-*` headers.

use std::convert::Infallible;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chatkit::{Outcome, ParseError};
use futures_util::StreamExt;
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;

use crate::ApiState;
use crate::chat::quota::{self, Decision, QuotaState};
use crate::chat::{ChatContext, PageContext};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::RequireVerifiedEmail;

fn rate_headers(headers: &mut HeaderMap, q: &QuotaState) {
    let mut put = |name: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.insert(name, v);
        }
    };
    put("x-ratelimit-limit", q.limit.to_string());
    put("x-ratelimit-remaining", q.remaining().to_string());
    put("x-ratelimit-reset", q.reset_at.timestamp().to_string());
}

async fn audit(
    s: &ApiState,
    event: auth::audit::Event,
    ctx: &ChatContext,
    details: serde_json::Value,
) {
    let entry = auth::audit::Entry::new(event)
        .user(&ctx.user.id)
        .email(&ctx.user.email)
        .details(details);
    s.auth
        .audit_log()
        .record(&auth::audit::RequestMeta::default(), entry)
        .await;
}

/// A refusal before any stream opens, with the quota as it stands.
fn process_error(e: chatkit::ProcessError, state: &QuotaState) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (
        status,
        Json(json!({"error": {"code": e.code, "message": e.message}})),
    )
        .into_response();
    rate_headers(res.headers_mut(), state);
    res
}

#[utoipa::path(post, path = "/api/v1/chatkit", tag = "chat",
    request_body(content = Object, description = "A ChatKit request: `{type, params, metadata?}`"),
    responses(
        (status = 200, description = "JSON for reads, `text/event-stream` for message turns; carries X-RateLimit-Limit/Remaining/Reset"),
        (status = 400, description = "MALFORMED_JSON or unsupported request"),
        (status = 401, description = "No or invalid token"),
        (status = 403, description = "EMAIL_NOT_VERIFIED"),
        (status = 404, description = "Unknown thread or item (including other users' threads)"),
        (status = 413, description = "PAYLOAD_TOO_LARGE: the body is over the size limit"),
        (status = 422, description = "VALIDATION_ERROR, message_too_long (checked before anything is stored or counted), too_many_items"),
        (status = 429, description = "RATE_LIMITED: the daily limit (new messages and retries), with its reset time"),
    ),
    security(("bearer" = [])))]
pub async fn chatkit(
    State(s): State<ApiState>,
    RequireVerifiedEmail(user): RequireVerifiedEmail,
    body: Bytes,
) -> ApiResult<Response> {
    let envelope = chatkit::parse(&body).map_err(|e| match e {
        ParseError::Malformed => {
            ApiError::bad_request("MALFORMED_JSON", "The body is not valid JSON")
        }
        ParseError::UnknownType(t) => {
            ApiError::bad_request("UNSUPPORTED_REQUEST", format!("Unknown request type `{t}`"))
        }
        ParseError::Invalid(msg) => ApiError::invalid("VALIDATION_ERROR", msg),
    })?;
    let ctx = ChatContext {
        page: PageContext::from_metadata(&envelope.metadata),
        user,
    };
    let now = s.clock.now();
    // Lengths and characters are checked before anything is counted or stored.
    if let Err(e) = s.chat.check(&envelope.request) {
        let state = quota::peek(&s.db, &ctx.user.id, s.chat_daily_limit, now).await?;
        return Ok(process_error(e, &state));
    }
    // A retry costs a model turn like a new message, so it counts too.
    let counts = envelope.request.starts_turn();
    let adds_message = envelope.request.adds_user_message();
    let creates = matches!(envelope.request, chatkit::Request::CreateThread { .. });
    let (state, counted) = if counts {
        match quota::consume(
            &s.db,
            &ctx.user.id,
            s.chat_daily_limit,
            ctx.user.is_staff(),
            now,
        )
        .await?
        {
            Decision::Allowed { state, event_id } => (state, Some(event_id)),
            Decision::Denied(state) => {
                audit(
                    &s,
                    auth::audit::Event::RateLimited,
                    &ctx,
                    json!({"scope": "chat", "limit": state.limit}),
                )
                .await;
                let secs = (state.reset_at - now).num_seconds().max(1);
                let mut res = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({"error": {
                        "code": "RATE_LIMITED",
                        "message": format!("You've reached your daily message limit ({}/{}).", state.used, state.limit),
                        "resetAt": common::clock::to_iso(&state.reset_at),
                    }})),
                )
                    .into_response();
                rate_headers(res.headers_mut(), &state);
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return Ok(res);
            }
        }
    } else {
        (
            quota::peek(&s.db, &ctx.user.id, s.chat_daily_limit, now).await?,
            None,
        )
    };

    let outcome = match s.chat.process(envelope, ctx.clone()).await {
        Ok(o) => o,
        Err(e) => {
            // The message was never stored: it does not count.
            if let Some(id) = &counted {
                quota::refund(&s.db, id).await?;
            }
            let state = quota::peek(&s.db, &ctx.user.id, s.chat_daily_limit, now).await?;
            return Ok(process_error(e, &state));
        }
    };
    if adds_message {
        if creates {
            audit(&s, auth::audit::Event::ThreadCreate, &ctx, json!({})).await;
        }
        audit(
            &s,
            auth::audit::Event::MessageSend,
            &ctx,
            json!({"course": ctx.page.course, "lesson": ctx.page.lesson}),
        )
        .await;
    }
    let mut res = match outcome {
        Outcome::Json(v) => Json(v).into_response(),
        Outcome::Stream(rx) => {
            let body = Body::from_stream(
                ReceiverStream::new(rx).map(|frame| Ok::<_, Infallible>(Bytes::from(frame))),
            );
            let mut r = Response::new(body);
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert("x-accel-buffering", HeaderValue::from_static("no"));
            r
        }
    };
    rate_headers(res.headers_mut(), &state);
    Ok(res)
}
