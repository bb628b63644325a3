//! What a chat request may cost and carry: retries against the daily limit,
//! refusals before anything is stored or counted, item positions under
//! concurrency, retention of threads started after leaving, and the cap on
//! feedback ids.

use chrono::Duration;
use serde_json::{Value, json};

use crate::support::api::{api_post, token};
use crate::support::auth::*;
use crate::support::chat::*;
use crate::support::{Options, TestServer};

const COURSE: &str = "physical-ai";

fn echo() -> Options {
    Options::default().var("CHATKIT_RESPONDER", "echo")
}

async fn count(server: &TestServer, sql: &str) -> i64 {
    let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool).await.unwrap());
    n
}

/// Rows of the quota log: the messages charged against the daily limit.
async fn charged(server: &TestServer) -> i64 {
    count(server, "SELECT COUNT(*) FROM chatkit_quota_event").await
}

async fn threads(server: &TestServer) -> i64 {
    count(server, "SELECT COUNT(*) FROM chatkit_thread").await
}

async fn items(server: &TestServer) -> i64 {
    count(server, "SELECT COUNT(*) FROM chatkit_thread_item").await
}

async fn answers(server: &TestServer) -> i64 {
    count(
        server,
        "SELECT COUNT(*) FROM chatkit_thread_item WHERE type = 'assistant_message'",
    )
    .await
}

/// A verified student's API token.
async fn student(server: &TestServer, email: &str) -> String {
    let b = verified_user(server, email).await;
    token(&b, server).await
}

/// Enrols in the course or leaves it (`action` "enrol" or "leave"); the status.
async fn course_action(server: &TestServer, t: &str, action: &str) -> u16 {
    let (s, _) = api_post(
        server,
        &format!("/api/v1/courses/{COURSE}/{action}"),
        t,
        json!({}),
    )
    .await;
    s
}

fn retry(thread: &str, item: &str) -> Value {
    json!({"type": "threads.retry_after_item", "params": {"thread_id": thread, "item_id": item}})
}

crate::per_database! {
    async fn retries_count_against_the_daily_limit_and_past_it_get_429(backend) {
        let server = TestServer::start_with(backend, echo().var("CHAT_DAILY_LIMIT", "3")).await;
        let t = student(&server, "retrier@example.com").await;
        let (thread, ev) = new_thread(&server, &t, "first question").await;
        let user_item = ev[1]["item"]["id"].as_str().unwrap().to_string();
        for remaining in ["1", "0"] {
            let res = send(&server, &t, retry(&thread, &user_item)).await;
            assert_eq!(res.status(), 200);
            assert_eq!(
                res.headers()["x-ratelimit-remaining"],
                remaining,
                "a retry is counted"
            );
            let ev = events(res).await;
            assert!(ev.iter().any(|e| e["type"] == "thread.item.done"));
        }
        let before = answers(&server).await;
        for _ in 0..5 {
            let res = send(&server, &t, retry(&thread, &user_item)).await;
            assert_eq!(res.status(), 429, "past the limit a retry is refused");
            assert_eq!(res.headers()["x-ratelimit-remaining"], "0");
            assert_eq!(res.headers()["content-type"], "application/json");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "RATE_LIMITED");
        }
        assert_eq!(
            answers(&server).await,
            before,
            "a refused retry removed nothing and answered nothing"
        );
        assert_eq!(charged(&server).await, 3);
        server.stop().await;
    }
}

crate::per_database! {
    async fn a_one_megabyte_message_stores_nothing_and_charges_nothing(backend) {
        let server = TestServer::start_with(backend, echo()).await;
        let t = student(&server, "verbose@example.com").await;
        let huge = "a".repeat(1_000_000);
        let res = send(&server, &t, create(&huge)).await;
        assert_eq!(res.status(), 422);
        assert_eq!(res.headers()["x-ratelimit-remaining"], "20");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "message_too_long", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("4000 characters")
        );
        assert_eq!(threads(&server).await, 0);
        assert_eq!(items(&server).await, 0);
        assert_eq!(charged(&server).await, 0);

        // Into an existing thread: refused before the message is stored.
        let (thread, _) = new_thread(&server, &t, "a short one").await;
        let items_before = items(&server).await;
        let res = send(&server, &t, add(&thread, &"b".repeat(900_000))).await;
        assert_eq!(res.status(), 422);
        assert_eq!(res.headers()["x-ratelimit-remaining"], "19");
        assert_eq!(items(&server).await, items_before);
        assert_eq!(charged(&server).await, 1);
        // A quoted passage is bounded too, and control characters are refused.
        let mut input = message("what does this mean?");
        input["quoted_text"] = json!("q".repeat(4001));
        let res = send(
            &server,
            &t,
            json!({"type": "threads.add_user_message", "params": {"thread_id": thread, "input": input}}),
        )
        .await;
        assert_eq!(res.status(), 422);
        let res = send(&server, &t, add(&thread, "bell \u{7} inside")).await;
        assert_eq!(res.status(), 400);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["code"],
            "INVALID_CHARACTERS"
        );
        assert_eq!(charged(&server).await, 1);
        server.stop().await;
    }
}

crate::per_database! {
    async fn sixty_concurrent_messages_into_one_thread_all_succeed(backend) {
        let server = TestServer::start_with(backend, echo().var("CHAT_DAILY_LIMIT", "500")).await;
        let t = student(&server, "crowd@example.com").await;
        let (thread, _) = new_thread(&server, &t, "opening").await;
        let sends = (0..60).map(|i| {
            let t = t.clone();
            let url = server.at("/api/v1/chatkit");
            let body = add(&thread, &format!("message {i}"));
            async move {
                let res = reqwest::Client::new()
                    .post(url)
                    .bearer_auth(&t)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let ev = if status == 200 {
                    events(res).await
                } else {
                    Vec::new()
                };
                (status, ev)
            }
        });
        let results = futures_util::future::join_all(sends).await;
        for (status, ev) in &results {
            assert_eq!(*status, 200, "{backend:?}: {results:?}");
            assert!(
                !ev.iter().any(|e| e["type"] == "error"),
                "{backend:?}: {ev:?}"
            );
        }
        let seqs: Vec<(i64,)> = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT seq FROM chatkit_thread_item WHERE thread_id = $1 ORDER BY seq")
            .bind(&thread).fetch_all(pool).await.unwrap());
        assert_eq!(seqs.len(), 122, "61 messages and 61 replies");
        let mut unique: Vec<i64> = seqs.iter().map(|s| s.0).collect();
        unique.dedup();
        assert_eq!(unique.len(), 122, "every item has its own position");
        server.stop().await;
    }
}

crate::per_database! {
    async fn a_thread_started_after_leaving_is_deleted_thirty_days_later(backend) {
        let server = TestServer::start_with(backend, echo()).await;
        let t = student(&server, "alumnus@example.com").await;
        assert_eq!(course_action(&server, &t, "enrol").await, 201);
        let on_course = |text: &str| create_on(text, json!({"course": COURSE}));
        // A course-less thread while enrolled: kept while an enrolment is current.
        let (loose, _) = new_thread(&server, &t, "a question from the dashboard").await;
        assert_eq!(course_action(&server, &t, "leave").await, 200);
        let after = turn_events(&server, &t, on_course("back on the lesson page")).await;
        let late = after[0]["thread"]["id"].as_str().unwrap().to_string();
        let (stray, _) = new_thread(&server, &t, "another from the dashboard").await;
        let stamped: Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT id, enrollment_ended_at FROM chatkit_thread ORDER BY id")
            .fetch_all(pool).await.unwrap());
        assert!(
            stamped.iter().all(|(_, at)| at.is_some()),
            "every thread carries the retention stamp: {stamped:?}"
        );

        let now = common::Clock::now(&server.clock);
        assert_eq!(
            api::admin::run_retention(&server.db, now + Duration::days(29))
                .await
                .unwrap(),
            0,
            "kept for 30 days"
        );
        assert_eq!(
            api::admin::run_retention(&server.db, now + Duration::days(31))
                .await
                .unwrap(),
            3
        );
        for id in [&loose, &late, &stray] {
            assert_eq!(
                count(
                    &server,
                    &format!("SELECT COUNT(*) FROM chatkit_thread WHERE id = '{id}'")
                )
                .await,
                0
            );
        }

        // Enrolling again clears the stamps of the threads that remain.
        let (kept, _) = new_thread(&server, &t, "while away").await;
        assert_eq!(course_action(&server, &t, "enrol").await, 201);
        let (at,): (Option<chrono::DateTime<chrono::Utc>>,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT enrollment_ended_at FROM chatkit_thread WHERE id = $1").bind(&kept).fetch_one(pool).await.unwrap());
        assert_eq!(at, None);
        server.stop().await;
    }
}

crate::per_database! {
    async fn feedback_names_at_most_a_hundred_items(backend) {
        let server = TestServer::start_with(backend, echo()).await;
        let t = student(&server, "critic@example.com").await;
        let (thread, ev) = new_thread(&server, &t, "hello").await;
        let reply = ev
            .iter()
            .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
            .unwrap()["item"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let feedback = |ids: Vec<String>| json!({"type": "items.feedback", "params": {"thread_id": thread, "item_ids": ids, "kind": "positive"}});
        let many: Vec<String> = (0..30_000).map(|i| format!("msg_{i}")).collect();
        let res = send(&server, &t, feedback(many)).await;
        assert_eq!(res.status(), 422);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["code"],
            "too_many_items"
        );
        let mut hundred: Vec<String> = (0..99).map(|i| format!("msg_{i}")).collect();
        hundred.push(reply.clone());
        let res = send(&server, &t, feedback(hundred)).await;
        assert_eq!(res.status(), 200);
        let (meta,): (String,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT metadata FROM chatkit_thread_item WHERE id = $1").bind(&reply).fetch_one(pool).await.unwrap());
        assert!(meta.contains("positive"), "{meta}");
        server.stop().await;
    }
}
