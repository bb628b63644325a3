//! The admin page: users (role change, ban), the auth event log with filters
//! and CSV export, and AI usage charts.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use serde::Deserialize;

use super::{Chrome, render};
use crate::WebState;
use crate::charts;
use crate::error::WebError;
use crate::session::{Viewer, require};

/// The days the usage charts cover.
const USAGE_DAYS: i64 = 14;

#[derive(Deserialize, Default)]
pub struct EventFilter {
    event: Option<String>,
    email: Option<String>,
}

impl EventFilter {
    fn query(&self, limit: i64) -> auth::audit::EventQuery {
        let clean = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        auth::audit::EventQuery {
            event_type: clean(&self.event),
            email: clean(&self.email).map(|e| e.to_lowercase()),
            limit,
            ..Default::default()
        }
    }
}

async fn admin_only(state: &WebState, headers: &HeaderMap, here: &str) -> Result<Viewer, WebError> {
    let v = require(state, headers, here).await?;
    if !v.is_admin() {
        return Err(WebError::Forbidden);
    }
    Ok(v)
}

struct EventRow {
    when: String,
    event: String,
    email: String,
    /// What the entry records beyond who: `key: value` pairs, in words where we have them.
    details: String,
    ip: String,
}

/// The details of an audit entry for a table cell; impersonation says who acted as whom.
fn describe_details(event: &str, raw: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(raw).unwrap_or_default();
    let text = |k: &str| value[k].as_str().unwrap_or_default().to_string();
    match event {
        "impersonation_started" => format!("acted as {}", text("target_email")),
        "impersonation_stopped" => format!("stopped acting as {}", text("target_email")),
        _ => value
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => format!("{k}: {s}"),
                        other => format!("{k}: {other}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    chrome: Chrome,
    me: String,
    users: Vec<auth::users::User>,
    user_total: i64,
    events: Vec<EventRow>,
    event_total: i64,
    filter_event: String,
    filter_email: String,
    csv_query: String,
    totals: api::admin::UsageTotals,
    messages_chart: String,
    latency_chart: String,
    errors_chart: String,
    top_users_chart: String,
}

pub async fn admin(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(f): Query<EventFilter>,
) -> Result<Response, WebError> {
    let v = admin_only(&state, &headers, "/admin").await?;
    let (users, user_total) = state
        .auth
        .list_users(&auth::users::UserQuery {
            limit: 100,
            ..Default::default()
        })
        .await?;
    let (rows, event_total) = state.auth.audit_log().list(&f.query(50)).await?;
    let events = rows
        .into_iter()
        .map(|e| EventRow {
            when: e.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            details: describe_details(&e.event_type, &e.details),
            event: e.event_type,
            email: e.email.unwrap_or_default(),
            ip: e.ip_address.unwrap_or_default(),
        })
        .collect();

    let today = state.auth.clock.now().date_naive();
    let from = today - Duration::days(USAGE_DAYS - 1);
    let (usage, totals) = api::admin::usage(&state.api.db, from, today).await?;
    let days: Vec<NaiveDate> = (0..USAGE_DAYS).map(|i| from + Duration::days(i)).collect();
    let mut per_day: BTreeMap<String, (i64, i64, i64)> =
        days.iter().map(|d| (d.to_string(), (0, 0, 0))).collect();
    let mut per_user: BTreeMap<String, i64> = BTreeMap::new();
    for r in &usage {
        if let Some(d) = per_day.get_mut(&r.date) {
            d.0 += r.message_count;
            d.1 += r.total_response_time_ms;
            d.2 += r.error_count;
        }
        *per_user
            .entry(r.email.clone().unwrap_or_else(|| r.user_id.clone()))
            .or_default() += r.message_count;
    }
    let labels: Vec<String> = days.iter().map(|d| d.format("%b %d").to_string()).collect();
    let messages: Vec<f64> = per_day.values().map(|d| d.0 as f64).collect();
    let latency: Vec<f64> = per_day
        .values()
        .map(|d| {
            if d.0 > 0 {
                d.1 as f64 / d.0 as f64 / 1000.0
            } else {
                0.0
            }
        })
        .collect();
    let errors: Vec<f64> = per_day.values().map(|d| d.2 as f64).collect();
    let mut top: Vec<(String, f64)> = per_user.into_iter().map(|(k, v)| (k, v as f64)).collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(10);

    let csv_query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("event", f.event.as_deref().unwrap_or_default())
        .append_pair("email", f.email.as_deref().unwrap_or_default())
        .finish();
    render(&AdminPage {
        chrome: Chrome::of(Some(&v)),
        me: v.user().id.clone(),
        users,
        user_total,
        events,
        event_total,
        filter_event: f.event.clone().unwrap_or_default(),
        filter_email: f.email.clone().unwrap_or_default(),
        csv_query,
        totals,
        messages_chart: charts::bars("Tutor messages per day", &labels, &messages, ""),
        latency_chart: charts::bars("Average response time per day", &labels, &latency, " s"),
        errors_chart: charts::bars("Tutor errors per day", &labels, &errors, ""),
        top_users_chart: if top.is_empty() {
            String::new()
        } else {
            charts::ranking("Top users by messages", &top, "")
        },
    })
}

/// The filtered event log as CSV.
pub async fn events_csv(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(f): Query<EventFilter>,
) -> Result<Response, WebError> {
    admin_only(&state, &headers, "/admin").await?;
    let (rows, _) = state.auth.audit_log().list(&f.query(100_000)).await?;
    Ok(api::events_csv_download(&rows)?)
}
