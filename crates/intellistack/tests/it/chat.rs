//! The ChatKit endpoint: protocol behaviour, persistence, isolation, daily
//! limits, usage, disconnects, and the retrieval-only tutor.

use chrono::Duration;
use common::Clock;
use serde_json::{Value, json};

use crate::support::api::{code, token, verified_token};
use crate::support::auth::*;
use crate::support::chat::*;
use crate::support::{Options, TestServer};

fn echo() -> Options {
    Options::default().var("CHATKIT_RESPONDER", "echo")
}

crate::per_database! {
    async fn a_turn_streams_in_order_and_everything_is_saved(backend) {
        let server = TestServer::start_with(backend, echo()).await;
        let t = verified_token(&server, "chat@example.com").await;
        let res = send(&server, &t, create("What is a gyroscope?")).await;
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let ev = events(res).await;
        let kinds: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            &kinds[..3],
            &["thread.created", "thread.item.done", "stream_options"]
        );
        assert_eq!(ev[1]["item"]["type"], "user_message");
        assert_eq!(kinds.iter().filter(|k| **k == "stream_options").count(), 1);
        assert!(
            kinds.contains(&"thread.updated"),
            "the title is set from the first message"
        );
        let streamed = assistant_text(&ev);
        let done = ev
            .iter()
            .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
            .unwrap();
        assert_eq!(
            done["item"]["content"][0]["text"].as_str().unwrap(),
            streamed
        );
        assert!(
            ev[0]["thread"]["created_at"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
        assert_eq!(ev[0]["thread"]["metadata"], json!({}));
        let thread = ev[0]["thread"]["id"].as_str().unwrap().to_string();
        assert!(thread.starts_with("thr_") && thread.len() > 20);

        let ev2 = turn_events(&server, &t, add(&thread, "And an encoder?")).await;
        assert_eq!(ev2[0]["type"], "thread.item.done");

        let got = send_json(&server, &t, get_thread(&thread)).await;
        assert_eq!(got["title"], "What is a gyroscope?");
        let items = got["items"]["data"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(
            items
                .iter()
                .map(|i| i["type"].as_str().unwrap())
                .collect::<Vec<_>>(),
            [
                "user_message",
                "assistant_message",
                "user_message",
                "assistant_message"
            ]
        );
        assert_eq!(
            items[1]["content"][0]["text"].as_str().unwrap(),
            streamed,
            "stored text equals streamed text"
        );

        // Paging items one at a time visits each once.
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let page = send_json(&server, &t, json!({"type": "items.list", "params": {"thread_id": thread, "limit": 1, "order": "asc", "after": after}})).await;
            for i in page["data"].as_array().unwrap() {
                seen.push(i["id"].as_str().unwrap().to_string());
            }
            if page["has_more"] != true {
                break;
            }
            after = page["after"].clone();
        }
        assert_eq!(seen.len(), 4);

        // Rename, feedback, list, retry, delete.
        let renamed = send_json(
            &server,
            &t,
            json!({"type": "threads.update", "params": {"thread_id": thread, "title": "Sensors"}}),
        )
        .await;
        assert_eq!(renamed["title"], "Sensors");
        let rated = send_json(&server, &t, json!({"type": "items.feedback", "params": {"thread_id": thread, "item_ids": [items[1]["id"]], "kind": "positive"}})).await;
        assert_eq!(rated, json!({}));
        let retry = turn_events(
            &server,
            &t,
            json!({"type": "threads.retry_after_item", "params": {"thread_id": thread, "item_id": items[0]["id"]}}),
        )
        .await;
        assert_eq!(retry[0]["type"], "stream_options");
        let after_retry = send_json(
            &server,
            &t,
            json!({"type": "items.list", "params": {"thread_id": thread, "order": "asc"}}),
        )
        .await;
        let kinds: Vec<_> = after_retry["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["type"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            kinds,
            vec!["user_message", "assistant_message"],
            "retry replaces what followed, with no duplicates"
        );

        server.clock.advance(Duration::seconds(1));
        let (second, _) = new_thread(&server, &t, "Second thread").await;
        let page = send_json(
            &server,
            &t,
            json!({"type": "threads.list", "params": {"limit": 1}}),
        )
        .await;
        assert_eq!(
            page["data"][0]["id"],
            second.as_str(),
            "newest activity first"
        );
        assert_eq!(page["has_more"], true);
        assert_eq!(
            page["data"][0]["items"],
            json!({"data": [], "has_more": false})
        );
        // Activity moves a thread to the top.
        server.clock.advance(Duration::seconds(1));
        turn_events(&server, &t, add(&thread, "back to the first")).await;
        let page = send_json(&server, &t, json!({"type": "threads.list", "params": {}})).await;
        assert_eq!(page["data"][0]["id"], thread.as_str());

        let deleted = send_json(
            &server,
            &t,
            json!({"type": "threads.delete", "params": {"thread_id": thread}}),
        )
        .await;
        assert_eq!(deleted, json!({}));
        let res = send(&server, &t, get_thread(&thread)).await;
        assert_eq!(res.status(), 404);
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM chatkit_thread_item WHERE thread_id = $1").bind(&thread).fetch_one(pool).await.unwrap());
        assert_eq!(n, 0, "items go with their thread");
        server.stop().await;
    }
}

crate::per_database! {
    async fn threads_belong_to_their_user_only(backend) {
        let server = TestServer::start_with(backend, echo()).await;
        let a = verified_user(&server, "alice@example.com").await;
        let m = verified_user(&server, "mallory@example.com").await;
        let ta = token(&a, &server).await;
        let tm = token(&m, &server).await;
        let (thread, ev) = new_thread(&server, &ta, "private question").await;
        let item = ev[1]["item"]["id"].clone();
        for body in [
            get_thread(&thread),
            json!({"type": "threads.update", "params": {"thread_id": thread, "title": "pwned"}}),
            json!({"type": "threads.delete", "params": {"thread_id": thread}}),
            json!({"type": "items.list", "params": {"thread_id": thread}}),
            json!({"type": "items.feedback", "params": {"thread_id": thread, "item_ids": [item], "kind": "negative"}}),
            add(&thread, "hi"),
            json!({"type": "threads.retry_after_item", "params": {"thread_id": thread, "item_id": item}}),
        ] {
            let res = send(&server, &tm, body.clone()).await;
            assert_eq!(res.status(), 404, "{body}");
            let err: Value = res.json().await.unwrap();
            assert_eq!(err["error"]["code"], "not_found");
        }
        let listed = send_json(&server, &tm, json!({"type": "threads.list", "params": {}})).await;
        assert_eq!(listed["data"], json!([]));
        let t = send_json(&server, &ta, get_thread(&thread)).await;
        assert_eq!(
            t["title"], "private question",
            "untouched by the other user"
        );
        assert_eq!(t["items"]["data"].as_array().unwrap().len(), 2);
        server.stop().await;
    }
}

crate::per_database! {
    async fn fifty_concurrent_sends_by_one_student_are_accepted_exactly_twenty_times(backend) {
        let server = TestServer::start_with(backend, echo()).await;
        let t = verified_token(&server, "burst@example.com").await;
        let sends = (0..50).map(|i| {
            let t = t.clone();
            let url = server.at("/api/v1/chatkit");
            async move {
                let res = reqwest::Client::new()
                    .post(url)
                    .bearer_auth(&t)
                    .json(&create(&format!("message {i}")))
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let _ = res.bytes().await;
                status
            }
        });
        let statuses = futures_util::future::join_all(sends).await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            20,
            "{statuses:?}"
        );
        assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 30);
        let (threads,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as("SELECT COUNT(*) FROM chatkit_thread").fetch_one(pool).await.unwrap());
        assert_eq!(threads, 20, "refused requests wrote nothing");
        server.stop().await;
    }
}

crate::per_database! {
    async fn rate_limit_headers_and_the_429_before_any_stream(backend) {
        let server = TestServer::start_with(backend, echo().var("CHAT_DAILY_LIMIT", "3")).await;
        let b = verified_user(&server, "quota@example.com").await;
        let t = token(&b, &server).await;
        let res = send(&server, &t, json!({"type": "threads.list", "params": {}})).await;
        assert_eq!(res.headers()["x-ratelimit-limit"], "3");
        assert_eq!(
            res.headers()["x-ratelimit-remaining"],
            "3",
            "reads do not count"
        );
        let start = server.clock.now().timestamp();
        let mut thread = String::new();
        for remaining in ["2", "1", "0"] {
            let res = if thread.is_empty() {
                send(&server, &t, create("one")).await
            } else {
                send(&server, &t, add(&thread, "more")).await
            };
            assert_eq!(res.headers()["x-ratelimit-remaining"], remaining);
            let reset: i64 = res.headers()["x-ratelimit-reset"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(
                reset,
                start + 24 * 3600,
                "the window rolls from the oldest message"
            );
            let ev = events(res).await;
            if thread.is_empty() {
                thread = ev[0]["thread"]["id"].as_str().unwrap().to_string();
            }
        }
        let res = send(&server, &t, add(&thread, "one too many")).await;
        assert_eq!(res.status(), 429);
        assert_eq!(
            res.headers()["content-type"],
            "application/json",
            "no stream is opened"
        );
        assert_eq!(res.headers()["x-ratelimit-remaining"], "0");
        assert!(res.headers().contains_key("retry-after"));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "RATE_LIMITED");
        assert!(body["error"]["message"].as_str().unwrap().contains("(3/3)"));
        assert!(body["error"]["resetAt"].as_str().unwrap().ends_with('Z'));
        // Rolling window: a day later, the slots come back.
        server
            .clock
            .advance(Duration::hours(24) + Duration::seconds(1));
        let fresh = token(&verified_user_again(&server, &b).await, &server).await;
        let res = send(&server, &fresh, add(&thread, "next day")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-ratelimit-remaining"], "2");
        // Staff are exempt.
        let boss = admin(&server, "boss@example.com").await;
        let bt = token(&boss, &server).await;
        for _ in 0..4 {
            let res = send(&server, &bt, create("staff question")).await;
            assert_eq!(res.status(), 200);
            let _ = res.bytes().await;
        }
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM auth_event_log WHERE event_type = 'rate_limited' AND email = 'quota@example.com'").fetch_one(pool).await.unwrap());
        assert_eq!(n, 1);
        server.stop().await;
    }
}

/// The browser's session outlives the clock jump only if it is still valid; sign in again when not.
async fn verified_user_again(server: &TestServer, b: &reqwest::Client) -> reqwest::Client {
    let (_, s, _) = get(b, server, "/api/auth/get-session").await;
    if s.is_null() {
        let c = browser(server);
        post(
            &c,
            server,
            "/api/auth/sign-in/email",
            json!({"email": "quota@example.com", "password": PASSWORD}),
        )
        .await;
        c
    } else {
        b.clone()
    }
}

crate::per_database! {
    async fn a_disconnect_mid_stream_keeps_the_user_item_and_the_partial_reply(backend) {
        let server =
            TestServer::start_with(backend, echo().var("CHATKIT_ECHO_DELAY_MS", "40")).await;
        let t = verified_token(&server, "leaver@example.com").await;
        let long = (0..60)
            .map(|i| format!("word{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut res = send(&server, &t, create(&long)).await;
        let mut seen = String::new();
        // Read until a few deltas arrived, then hang up.
        while seen.matches("text_delta").count() < 5 {
            let chunk = res.chunk().await.unwrap().expect("stream still open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        let thread_id = seen
            .split("\"thr_")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        drop(res);
        let thread = format!("thr_{thread_id}");
        // Wait (bounded) for the server to notice and save.
        let mut rows: Vec<(String, String)> = Vec::new();
        for _ in 0..100 {
            rows = common::on_db!(&server.db, pool => sqlx::query_as(
                "SELECT type, content FROM chatkit_thread_item WHERE thread_id = $1 ORDER BY seq").bind(&thread).fetch_all(pool).await.unwrap());
            if rows.iter().any(|r| r.0 == "sdk_hidden_context") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let kinds: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            kinds,
            vec!["user_message", "assistant_message", "sdk_hidden_context"]
        );
        let partial: Value = serde_json::from_str(&rows[1].1).unwrap();
        let text = partial["content"][0]["text"].as_str().unwrap();
        assert!(text.starts_with("Echo: word0"), "{text}");
        assert!(
            text.len() < long.len(),
            "only what was generated before the disconnect"
        );
        // Coming back shows the whole history, without the hidden marker.
        let got = send_json(&server, &t, get_thread(&thread)).await;
        assert_eq!(got["items"]["data"].as_array().unwrap().len(), 2);
        server.stop().await;
    }
}

crate::per_database! {
    async fn errors_before_a_stream_are_json_with_a_status(backend) {
        let server = TestServer::start_with(backend, echo()).await;
        let t = verified_token(&server, "err@example.com").await;
        let res = reqwest::Client::new()
            .post(server.at("/api/v1/chatkit"))
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body("{oops")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["code"],
            "MALFORMED_JSON"
        );
        let res = send(
            &server,
            &t,
            json!({"type": "threads.explode", "params": {}}),
        )
        .await;
        assert_eq!(res.status(), 400);
        let res = send(
            &server,
            &t,
            json!({"type": "threads.get_by_id", "params": {}}),
        )
        .await;
        assert_eq!(res.status(), 422);
        let res = send(&server, &t, json!({"type": "attachments.create", "params": {"name": "a", "size": 1, "mime_type": "text/plain"}})).await;
        assert_eq!(res.status(), 400);
        let res = send(&server, &t, create("   ")).await;
        assert_eq!(res.status(), 422, "an empty message is refused");
        assert_eq!(
            res.headers()["x-ratelimit-remaining"],
            "20",
            "and not counted"
        );
        let res = send(&server, &t, add("thr_missing", "hello")).await;
        assert_eq!(res.status(), 404);
        assert_eq!(
            res.headers()["x-ratelimit-remaining"],
            "20",
            "a refused message is given back"
        );
        let res = reqwest::Client::new()
            .post(server.at("/api/v1/chatkit"))
            .json(&create("x"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
}

crate::per_database! {
    async fn unverified_emails_cannot_chat(backend) {
        let server = TestServer::start_with(
            backend,
            echo().var("AUTH_REQUIRE_EMAIL_VERIFICATION", "false"),
        )
        .await;
        let b = unverified_user(&server, "U", "unverified@example.com").await;
        let t = token(&b, &server).await;
        let res = send(&server, &t, create("hello")).await;
        assert_eq!(res.status(), 403);
        let body: Value = res.json().await.unwrap();
        assert_eq!(code(&body), "EMAIL_NOT_VERIFIED");
    }
}

crate::per_database! {
    async fn usage_and_audit_are_recorded(backend) {
        let server = TestServer::start_with(backend, echo()).await;
        let t = verified_token(&server, "usage@example.com").await;
        let (thread, _) = new_thread(&server, &t, "first").await;
        turn_events(&server, &t, add(&thread, "second")).await;
        let mut row = (0i64, 0i64);
        for _ in 0..50 {
            row = common::on_db!(&server.db, pool => sqlx::query_as(
                "SELECT m.message_count, m.error_count FROM ai_usage_metric m JOIN \"user\" u ON u.id = m.user_id WHERE u.email = 'usage@example.com'")
                .fetch_optional(pool).await.unwrap()).unwrap_or((0, 0));
            if row.0 == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(row, (2, 0));
        let events: Vec<(String,)> = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT event_type FROM auth_event_log WHERE email = 'usage@example.com' AND event_type IN ('thread_create', 'message_send') ORDER BY event_type").fetch_all(pool).await.unwrap());
        assert_eq!(
            events.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
            vec!["message_send", "message_send", "thread_create"]
        );
        server.stop().await;
    }
}

crate::per_database! {
    async fn retention_runs_on_one_instance_at_a_time(backend) {
        let server = TestServer::start(backend).await;
        let now = chrono::Utc::now();
        let b = verified_user(&server, "ret@example.com").await;
        let (_, me, _) = get(&b, &server, "/api/auth/get-session").await;
        let uid = me["user"]["id"].as_str().unwrap().to_string();
        common::on_db!(&server.db, pool => sqlx::query(
            "INSERT INTO chatkit_thread (id, user_id, created_at, updated_at, enrollment_ended_at) VALUES ('old', $1, $2, $2, $3)")
            .bind(&uid).bind(now).bind(now - Duration::days(40)).execute(pool).await.unwrap().rows_affected());
        // Past the lease this server's own job took at start-up.
        let later = now + Duration::hours(24);
        let first = api::admin::retention_tick(&server.db, "instance-a", later)
            .await
            .unwrap();
        let second = api::admin::retention_tick(&server.db, "instance-b", later)
            .await
            .unwrap();
        assert_eq!(first, Some(1));
        assert_eq!(second, None, "the lease keeps the other instance out");
        let next_day =
            api::admin::retention_tick(&server.db, "instance-b", later + Duration::hours(24))
                .await
                .unwrap();
        assert_eq!(next_day, Some(0));
    }
}
