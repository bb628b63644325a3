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
/// Rows per page of the event log and of the user list.
const EVENTS_PER_PAGE: i64 = 50;
const USERS_PER_PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct EventFilter {
    event: Option<String>,
    email: Option<String>,
    /// The event log's page, from 1.
    page: Option<i64>,
    /// Users whose email or name contains this.
    q: Option<String>,
    /// The user list's page, from 1.
    upage: Option<i64>,
}

/// "Showing 51–55 of 55" and the pages before and after, as links.
struct Paging {
    from: i64,
    to: i64,
    total: i64,
    previous: Option<String>,
    next: Option<String>,
}

fn paging(page: i64, per: i64, shown: usize, total: i64, link: impl Fn(i64) -> String) -> Paging {
    let from = if shown == 0 { 0 } else { (page - 1) * per + 1 };
    let to = (page - 1) * per + shown as i64;
    Paging {
        from,
        to,
        total,
        previous: (page > 1).then(|| link(page - 1)),
        next: (to < total).then(|| link(page + 1)),
    }
}

impl EventFilter {
    fn page(&self) -> i64 {
        self.page.unwrap_or(1).clamp(1, 100_000)
    }

    fn user_page(&self) -> i64 {
        self.upage.unwrap_or(1).clamp(1, 100_000)
    }

    /// The admin page's address with these filters and the given pages.
    fn link(&self, page: i64, upage: i64) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("event", &self.event),
            ("email", &self.email),
            ("q", &self.q),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
                q.append_pair(k, v);
            }
        }
        if page > 1 {
            q.append_pair("page", &page.to_string());
        }
        if upage > 1 {
            q.append_pair("upage", &upage.to_string());
        }
        format!("/admin?{}", q.finish())
    }

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
            offset: if limit == EVENTS_PER_PAGE {
                (self.page() - 1) * limit
            } else {
                0
            },
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
    user_paging: Paging,
    events: Vec<EventRow>,
    event_paging: Paging,
    event_types: Vec<String>,
    filter_event: String,
    filter_email: String,
    filter_q: String,
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
    let search =
        f.q.as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_string);
    let user_offset = (f.user_page() - 1) * USERS_PER_PAGE;
    let auth = &state.auth;
    let list_users = |field| {
        let search = search.clone();
        async move {
            auth.list_users(&auth::users::UserQuery {
                search,
                search_field: field,
                limit: USERS_PER_PAGE,
                offset: user_offset,
                ..Default::default()
            })
            .await
        }
    };
    // One search box finds an email or, failing that, a name.
    let (mut users, mut user_total) = list_users(auth::users::SearchField::Email).await?;
    if search.is_some() && user_total == 0 {
        (users, user_total) = list_users(auth::users::SearchField::Name).await?;
    }
    let audit = state.auth.audit_log();
    let (rows, event_total) = audit.list(&f.query(EVENTS_PER_PAGE)).await?;
    let event_types = audit.event_types().await?;
    let event_paging = paging(f.page(), EVENTS_PER_PAGE, rows.len(), event_total, |p| {
        f.link(p, f.user_page())
    });
    let user_paging = paging(
        f.user_page(),
        USERS_PER_PAGE,
        users.len(),
        user_total,
        |p| f.link(f.page(), p),
    );
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
            d.0 += r.counts.message_count;
            d.1 += r.counts.total_response_time_ms;
            d.2 += r.counts.error_count;
        }
        *per_user
            .entry(r.email.clone().unwrap_or_else(|| r.user_id.clone()))
            .or_default() += r.counts.message_count;
    }
    let labels: Vec<String> = days.iter().map(|d| d.format("%b %d").to_string()).collect();
    let messages: Vec<f64> = per_day.values().map(|d| d.0 as f64).collect();
    let latency: Vec<f64> = per_day
        .values()
        .map(|d| {
            if d.0 > 0 {
                d.1 as f64 / d.0 as f64
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
        user_paging,
        events,
        event_paging,
        event_types,
        filter_event: f.event.clone().unwrap_or_default(),
        filter_email: f.email.clone().unwrap_or_default(),
        filter_q: f.q.clone().unwrap_or_default(),
        csv_query,
        totals,
        messages_chart: charts::bars("Tutor messages per day", &labels, &messages, ""),
        latency_chart: charts::bars("Average response time per day", &labels, &latency, " ms"),
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
