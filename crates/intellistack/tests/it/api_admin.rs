//! Admin endpoints: audit trail with filters and exports, AI usage, retention, OpenAPI.

use chrono::Duration;
use common::Clock;
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::api::*;
use crate::support::auth::*;
use crate::support::http::json_of;

/// A new admin's API token and user id.
async fn admin_token_and_id(server: &TestServer) -> (String, String) {
    let boss = admin(server, "boss@example.com").await;
    let t = token(&boss, server).await;
    let (_, me) = api_get(server, "/api/v1/me", &t).await;
    (t, me["id"].as_str().unwrap().to_string())
}

/// The retention clean-up of finished threads.
async fn cleanup(server: &TestServer, token: &str) -> (u16, Value) {
    let (s, body, _) = call(
        server,
        reqwest::Method::DELETE,
        "/api/v1/admin/chatkit/cleanup",
        Some(token),
        None,
    )
    .await;
    (s, body)
}

crate::per_database! {
    async fn auth_events_filter_page_and_export(backend) {
        let server = TestServer::start(backend).await;
        let boss = admin(&server, "boss@example.com").await;
        let t = token(&boss, &server).await;
        let _ = verified_user(&server, "e1@example.com").await;
        for _ in 0..3 {
            email_sign_in(&plain(), &server, "e1@example.com", "Wrong-Password-1!").await;
        }
        let (s, body) = api_get(&server, "/api/v1/admin/auth-events?type=login_failed", &t).await;
        assert_eq!(s, 200);
        assert_eq!(body["total"], 3);
        assert!(
            body["events"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["type"] == "login_failed" && e["details"]["reason"] == "wrong_password")
        );
        let (_, body) = api_get(
            &server,
            "/api/v1/admin/auth-events?email=E1@example.com&limit=2&offset=0",
            &t,
        )
        .await;
        assert_eq!(body["events"].as_array().unwrap().len(), 2);
        assert!(
            body["total"].as_i64().unwrap() >= 5,
            "register, verification, verified, success, failures: {body}"
        );
        let user_id = body["events"][0]["userId"].as_str().unwrap().to_string();
        let (_, body) = api_get(
            &server,
            &format!("/api/v1/admin/auth-events?user_id={user_id}"),
            &t,
        )
        .await;
        assert!(
            body["events"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["userId"] == user_id.as_str())
        );
        let future = (chrono::Utc::now() + Duration::days(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let (_, body) = api_get(
            &server,
            &format!("/api/v1/admin/auth-events?since={future}"),
            &t,
        )
        .await;
        assert_eq!(body["total"], 0);
        let (s, body) = api_get(&server, "/api/v1/admin/auth-events?since=yesterday", &t).await;
        assert_eq!((s, code(&body)), (422, "VALIDATION_ERROR"));
        let (s, _) = api_get(&server, "/api/v1/admin/auth-events?limit=0", &t).await;
        assert_eq!(s, 422);

        let res = reqwest::Client::new()
            .get(server.at("/api/v1/admin/auth-events/export?format=csv&type=login_failed"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = res.text().await.unwrap();
        let lines: Vec<_> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "id,type,user_id,email,ip_address,user_agent,details,created_at"
        );
        assert_eq!(lines.len(), 4);
        let res = reqwest::Client::new()
            .get(server.at("/api/v1/admin/auth-events/export?format=jsonl&type=login_failed"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-type"], "application/x-ndjson");
        let text = res.text().await.unwrap();
        let rows: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 3);
        let (s, _) = api_get(&server, "/api/v1/admin/auth-events/export?format=xml", &t).await;
        assert_eq!(s, 422);

        let st = verified_user(&server, "nosy@example.com").await;
        let st_t = token(&st, &server).await;
        for p in [
            "/api/v1/admin/auth-events",
            "/api/v1/admin/auth-events/export",
            "/api/v1/admin/ai-usage",
        ] {
            let (s, body) = api_get(&server, p, &st_t).await;
            assert_eq!((s, code(&body)), (403, "FORBIDDEN_ROLE"), "{p}");
        }
        let (s, _) = cleanup(&server, &st_t).await;
        assert_eq!(s, 403);
        server.stop().await;
    }
}

crate::per_database! {
    async fn ai_usage_reports_per_user_per_day_with_totals(backend) {
        let server = TestServer::start(backend).await;
        let (t, id) = admin_token_and_id(&server).await;
        let today = server.clock.now().date_naive().to_string();
        let yesterday = (chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap()
            - Duration::days(1))
        .to_string();
        for (date, msgs, ms, errs) in [
            (today.clone(), 4i64, 4000i64, 1i64),
            (yesterday.clone(), 2, 1000, 0),
        ] {
            common::on_db!(&server.db, pool => sqlx::query(
                "INSERT INTO ai_usage_metric (user_id, date, message_count, total_response_time_ms, error_count) VALUES ($1, $2, $3, $4, $5)")
                .bind(&id).bind(&date).bind(msgs).bind(ms).bind(errs).execute(pool).await.unwrap().rows_affected());
        }
        let (s, body) = api_get(&server, "/api/v1/admin/ai-usage", &t).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["days"].as_array().unwrap().len(), 2);
        assert_eq!(body["days"][0]["date"], today.as_str());
        assert_eq!(body["days"][0]["email"], "boss@example.com");
        assert_eq!(body["totals"]["messageCount"], 6);
        assert_eq!(body["totals"]["errorCount"], 1);
        assert_eq!(body["totals"]["averageResponseTimeMs"], 833);
        assert_eq!(body["totals"]["users"], 1);
        let (_, body) = api_get(
            &server,
            &format!("/api/v1/admin/ai-usage?from={today}&to={today}"),
            &t,
        )
        .await;
        assert_eq!(body["totals"]["messageCount"], 4);
        let (s, body) = api_get(&server, "/api/v1/admin/ai-usage?from=2026-13-01", &t).await;
        assert_eq!((s, code(&body)), (422, "VALIDATION_ERROR"));
        server.stop().await;
    }
}

crate::per_database! {
    async fn cleanup_deletes_threads_past_retention(backend) {
        let server = TestServer::start(backend).await;
        let (t, id) = admin_token_and_id(&server).await;
        let now = server.clock.now();
        for (tid, ended) in [
            ("old", Some(now - Duration::days(31))),
            ("recent", Some(now - Duration::days(29))),
            ("active", None),
        ] {
            common::on_db!(&server.db, pool => sqlx::query(
                "INSERT INTO chatkit_thread (id, user_id, created_at, updated_at, enrollment_ended_at) VALUES ($1, $2, $3, $3, $4)")
                .bind(tid).bind(&id).bind(now).bind(ended).execute(pool).await.unwrap().rows_affected());
        }
        let (s, body) = cleanup(&server, &t).await;
        assert_eq!((s, body), (200, json!({"deleted": 1})));
        let left: Vec<(String,)> = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT id FROM chatkit_thread ORDER BY id").fetch_all(pool).await.unwrap());
        assert_eq!(
            left.into_iter().map(|r| r.0).collect::<Vec<_>>(),
            vec!["active", "recent"]
        );
        server.stop().await;
    }
}

crate::per_database! {
    async fn the_openapi_document_covers_every_route_and_its_errors(backend) {
        let server = TestServer::start(backend).await;
        let doc = json_of(reqwest::Client::new().get(server.at("/api/v1/openapi.json"))).await;
        let routes = [
            ("get", "/api/v1/me"),
            ("get", "/api/v1/courses"),
            ("get", "/api/v1/courses/{course}"),
            ("post", "/api/v1/courses/{course}/enrol"),
            ("post", "/api/v1/courses/{course}/leave"),
            ("get", "/api/v1/courses/{course}/lessons/{stage}/{lesson}"),
            (
                "post",
                "/api/v1/courses/{course}/lessons/{stage}/{lesson}/complete",
            ),
            ("post", "/api/v1/courses/{course}/stages"),
            ("post", "/api/v1/courses/{course}/stages/order"),
            ("patch", "/api/v1/stages/{id}"),
            ("delete", "/api/v1/stages/{id}"),
            ("post", "/api/v1/stages/{id}/lessons"),
            ("post", "/api/v1/stages/{id}/lessons/order"),
            ("get", "/api/v1/lessons/{id}/source"),
            ("patch", "/api/v1/lessons/{id}"),
            ("delete", "/api/v1/lessons/{id}"),
            ("post", "/api/v1/admin/users/{id}/role"),
            ("get", "/api/v1/admin/auth-events"),
            ("get", "/api/v1/admin/auth-events/export"),
            ("get", "/api/v1/admin/ai-usage"),
            ("delete", "/api/v1/admin/chatkit/cleanup"),
            ("post", "/api/v1/chatkit"),
            ("post", "/api/v1/exercises/{id}/attempts"),
            ("get", "/api/v1/exercises/{id}/attempts"),
            ("get", "/api/v1/courses/{course}/attempts"),
            ("get", "/api/v1/teaching/courses"),
            ("post", "/api/v1/courses"),
            ("patch", "/api/v1/courses/{course}"),
            ("get", "/api/v1/courses/{course}/staff"),
            ("post", "/api/v1/courses/{course}/staff"),
            ("delete", "/api/v1/courses/{course}/staff/{user}"),
            ("post", "/api/v1/preview"),
            ("get", "/api/v1/courses/{course}/insight"),
            ("get", "/api/v1/flagged-threads"),
            ("get", "/api/v1/student-threads/{id}"),
            ("get", "/api/v1/courses/{course}/export"),
            ("post", "/api/v1/courses/import"),
        ];
        for (method, path) in routes {
            let op = &doc["paths"][path][method];
            assert!(op.is_object(), "{method} {path} is documented");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("401"),
                "{method} {path} documents 401"
            );
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path} documents success"
            );
        }
        let count: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum();
        assert_eq!(
            count,
            routes.len(),
            "no undocumented extras, no missing routes"
        );
    }
}
