//! Admin routes: roles, the auth audit trail (also as CSV and JSON Lines),
//! AI usage, and thread retention.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::ApiState;
use crate::admin::{UsageRow, UsageTotals};
use crate::error::{ApiError, ApiResult};
use crate::http::body::Body;
use crate::http::download;
use crate::http::extract::{Admins, RequireRole};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RoleChange {
    pub role: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleChanged {
    pub id: String,
    pub email: String,
    pub role: String,
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/role", tag = "admin", request_body = RoleChange,
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = RoleChanged), (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE"),
        (status = 404, description = "USER_NOT_FOUND"), (status = 422, description = "INVALID_ROLE")),
    security(("bearer" = [])))]
pub async fn set_role(
    State(s): State<ApiState>,
    RequireRole(admin, _): RequireRole<Admins>,
    Path(id): Path<String>,
    Body(change): Body<RoleChange>,
) -> ApiResult<Json<RoleChanged>> {
    if !auth::users::is_role(&change.role) {
        return Err(ApiError::invalid(
            "INVALID_ROLE",
            "Use student, instructor or admin",
        ));
    }
    let meta = auth::audit::RequestMeta::default();
    let user = s
        .auth
        .set_role(Some(&admin.id), &id, &change.role, &meta)
        .await
        .map_err(|e| match e.kind() {
            auth::error::Kind::NotFound => ApiError::not_found("USER_NOT_FOUND", "No such user"),
            // The caller stopped being an admin while the request was on its way.
            auth::error::Kind::Forbidden => {
                ApiError::forbidden("FORBIDDEN_ROLE", "This needs the admin role")
            }
            _ => e.into(),
        })?;
    Ok(Json(RoleChanged {
        id: user.id,
        email: user.email,
        role: user.role,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct EventFilter {
    /// Event type, e.g. `login_failed`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub user_id: Option<String>,
    pub email: Option<String>,
    /// ISO 8601, inclusive.
    pub since: Option<String>,
    /// ISO 8601, exclusive.
    pub until: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    /// `csv` or `jsonl` (export route only).
    pub format: Option<String>,
}

fn parse_time(field: &str, v: &Option<String>) -> ApiResult<Option<DateTime<Utc>>> {
    v.as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::invalid(
                        "VALIDATION_ERROR",
                        format!("`{field}` must be an ISO 8601 time such as 2026-11-24T00:00:00Z"),
                    )
                })
        })
        .transpose()
}

fn event_query(f: &EventFilter, max: i64) -> ApiResult<auth::audit::EventQuery> {
    let limit = f.limit.unwrap_or(50);
    if !(1..=max).contains(&limit) || f.offset.is_some_and(|o| o < 0) {
        return Err(ApiError::invalid(
            "VALIDATION_ERROR",
            format!("`limit` is 1 to {max} and `offset` is 0 or more"),
        ));
    }
    Ok(auth::audit::EventQuery {
        event_type: f.event_type.clone(),
        user_id: f.user_id.clone(),
        email: f.email.clone().map(|e| e.to_lowercase()),
        since: parse_time("since", &f.since)?,
        until: parse_time("until", &f.until)?,
        limit,
        offset: f.offset.unwrap_or(0),
    })
}

fn event_json(e: &auth::audit::StoredEvent) -> Value {
    json!({
        "id": e.id,
        "type": e.event_type,
        "userId": e.user_id,
        "email": e.email,
        "ipAddress": e.ip_address,
        "userAgent": e.user_agent,
        "details": serde_json::from_str::<Value>(&e.details).unwrap_or(Value::Null),
        "createdAt": common::clock::to_iso(&e.created_at),
    })
}

#[utoipa::path(get, path = "/api/v1/admin/auth-events", tag = "admin", params(EventFilter),
    responses((status = 200, description = "`{events, total, limit, offset}`, newest first"), (status = 401, description = "No or invalid token"),
        (status = 403, description = "FORBIDDEN_ROLE"), (status = 422, description = "VALIDATION_ERROR")),
    security(("bearer" = [])))]
pub async fn events(
    State(s): State<ApiState>,
    _: RequireRole<Admins>,
    Query(f): Query<EventFilter>,
) -> ApiResult<Json<Value>> {
    let q = event_query(&f, 500)?;
    let (rows, total) = s.auth.audit_log().list(&q).await?;
    Ok(Json(json!({
        "events": rows.iter().map(event_json).collect::<Vec<_>>(),
        "total": total,
        "limit": q.limit,
        "offset": q.offset,
    })))
}

#[utoipa::path(get, path = "/api/v1/admin/auth-events/export", tag = "admin", params(EventFilter),
    responses((status = 200, description = "text/csv or application/x-ndjson"), (status = 401, description = "No or invalid token"),
        (status = 403, description = "FORBIDDEN_ROLE"), (status = 422, description = "VALIDATION_ERROR")),
    security(("bearer" = [])))]
pub async fn export(
    State(s): State<ApiState>,
    _: RequireRole<Admins>,
    Query(mut f): Query<EventFilter>,
) -> ApiResult<Response> {
    f.limit = Some(f.limit.unwrap_or(100_000));
    let q = event_query(&f, 100_000)?;
    let (rows, _) = s.auth.audit_log().list(&q).await?;
    match f.format.as_deref().unwrap_or("csv") {
        "csv" => events_csv_download(&rows),
        "jsonl" => {
            let mut body = String::new();
            for e in &rows {
                body.push_str(&event_json(e).to_string());
                body.push('\n');
            }
            Ok(download("application/x-ndjson", "auth-events.jsonl", body))
        }
        other => Err(ApiError::invalid(
            "VALIDATION_ERROR",
            format!("format `{other}` is not csv or jsonl"),
        )),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UsageRange {
    /// First day, YYYY-MM-DD (default: 30 days ago).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today).
    pub to: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    pub from: String,
    pub to: String,
    pub days: Vec<UsageRow>,
    pub totals: UsageTotals,
}

#[utoipa::path(get, path = "/api/v1/admin/ai-usage", tag = "admin", params(UsageRange),
    responses((status = 200, body = UsageReport), (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE"), (status = 422, description = "VALIDATION_ERROR")),
    security(("bearer" = [])))]
pub async fn usage(
    State(s): State<ApiState>,
    _: RequireRole<Admins>,
    Query(r): Query<UsageRange>,
) -> ApiResult<Json<UsageReport>> {
    let today = s.clock.now().date_naive();
    let day = |field: &str, v: &Option<String>, default: NaiveDate| -> ApiResult<NaiveDate> {
        match v {
            None => Ok(default),
            Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                ApiError::invalid(
                    "VALIDATION_ERROR",
                    format!("`{field}` must be a date such as 2026-11-24"),
                )
            }),
        }
    };
    let to = day("to", &r.to, today)?;
    let from = day("from", &r.from, to - chrono::Duration::days(29))?;
    if from > to {
        return Err(ApiError::invalid(
            "VALIDATION_ERROR",
            "`from` is after `to`",
        ));
    }
    let (days, totals) = crate::admin::usage(&s.db, from, to).await?;
    Ok(Json(UsageReport {
        from: from.to_string(),
        to: to.to_string(),
        days,
        totals,
    }))
}

#[utoipa::path(delete, path = "/api/v1/admin/chatkit/cleanup", tag = "admin",
    responses((status = 200, description = "`{deleted}`: threads removed by retention"), (status = 401, description = "No or invalid token"), (status = 403, description = "FORBIDDEN_ROLE")),
    security(("bearer" = [])))]
pub async fn cleanup(State(s): State<ApiState>, _: RequireRole<Admins>) -> ApiResult<Json<Value>> {
    let deleted = crate::admin::run_retention(&s.db, s.clock.now()).await?;
    Ok(Json(json!({"deleted": deleted})))
}

/// The audit trail as a CSV download; the admin page offers the same file.
pub fn events_csv_download(rows: &[auth::audit::StoredEvent]) -> ApiResult<Response> {
    Ok(download(
        "text/csv; charset=utf-8",
        "auth-events.csv",
        crate::admin::events_csv(rows)?,
    ))
}
