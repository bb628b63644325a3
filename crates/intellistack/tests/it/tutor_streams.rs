//! What the tutor does with a model stream that misbehaves on the wire:
//! characters split between reads, and replies that stop without a finish.

use serde_json::{Value, json};

use crate::support::chat::*;
use crate::support::courses::{course, enrolled_student, import, lesson, stage};
use crate::support::fake_llm::{FakeLlm, Script, server_with_model};
use crate::support::{Backend, TestServer};

/// A server whose tutor talks to the model double, and an enrolled student.
async fn setup(backend: Backend) -> (TestServer, FakeLlm, String) {
    let (server, fake) = server_with_model(backend, &[("LLM_MAX_RETRIES", "0")]).await;
    let waves = course(
        "waves",
        "Waves",
        vec![stage(
            "basics",
            "Basics",
            1,
            vec![lesson(
                "phase",
                "Phase",
                "## Phase angle\n\nThe phase angle θ of a wave is measured in radians; a full turn is 2π.\n",
            )],
        )],
    );
    import(&server, waves).await;
    let t = enrolled_student(&server, "wave@example.com", "waves").await;
    (server, fake, t)
}

fn ask(text: &str) -> Value {
    json!({"type": "threads.create", "params": {"input": message(text)}, "metadata": {"page": {"course": "waves"}}})
}

async fn stored_items(server: &TestServer, thread: &str) -> Vec<(String, Value)> {
    let rows: Vec<(String, String)> = common::on_db!(&server.db, pool => sqlx::query_as(
        "SELECT type, content FROM chatkit_thread_item WHERE thread_id = $1 ORDER BY seq")
        .bind(thread).fetch_all(pool).await.unwrap());
    rows.into_iter()
        .map(|(k, c)| (k, serde_json::from_str(&c).unwrap()))
        .collect()
}

async fn usage_errors(server: &TestServer) -> i64 {
    let mut errors = 0;
    for _ in 0..100 {
        errors = common::on_db!(&server.db, pool => sqlx::query_as::<_, (i64,)>(
            "SELECT error_count FROM ai_usage_metric").fetch_optional(pool).await.unwrap())
        .map(|r| r.0)
        .unwrap_or(0);
        if errors > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    errors
}

crate::per_database! {
    async fn characters_split_between_reads_arrive_and_are_stored_whole(backend) {
        let (server, fake, t) = setup(backend).await;
        let pieces = vec![
            "What is θ × π ",
            "in radians — ",
            "and what does 2π mean? 😀",
        ];
        let whole: String = pieces.concat();
        fake.push(Script::SplitUtf8(pieces, 5));
        let ev = turn_events(&server, &t, ask("what is the phase angle of a wave?")).await;
        assert_eq!(assistant_text(&ev), whole, "{ev:?}");
        assert!(!assistant_text(&ev).contains('\u{FFFD}'));
        let thread = ev[0]["thread"]["id"].as_str().unwrap();
        let items = stored_items(&server, thread).await;
        let reply = items
            .iter()
            .find(|(k, _)| k == "assistant_message")
            .expect("the reply is stored");
        assert_eq!(reply.1["content"][0]["text"], whole.as_str());
        server.stop().await;
    }
}

crate::per_database! {
    async fn a_reply_that_stops_without_a_finish_is_an_error_and_keeps_the_partial_text(backend) {
        let (server, fake, t) = setup(backend).await;
        fake.push(Script::NoFinish(
            vec!["Let us think ", "about the phase ", "angle: what"],
            5,
        ));
        let ev = turn_events(&server, &t, ask("what is the phase angle of a wave?")).await;
        let last = ev.last().unwrap();
        assert_eq!(last["type"], "error", "{ev:?}");
        assert_eq!(last["allow_retry"], true);
        assert!(
            !ev.iter().any(
                |e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message"
            ),
            "never announced as a finished answer: {ev:?}"
        );
        assert_eq!(usage_errors(&server).await, 1, "usage counts an error");

        let thread = ev[0]["thread"]["id"].as_str().unwrap().to_string();
        let mut items = Vec::new();
        for _ in 0..100 {
            items = stored_items(&server, &thread).await;
            if items.len() >= 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let kinds: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            vec!["user_message", "assistant_message", "sdk_hidden_context"],
            "the partial reply is kept with a marker, as after a disconnect"
        );
        assert_eq!(
            items[1].1["content"][0]["text"],
            "Let us think about the phase angle: what"
        );
        // The student sees what they read, and no hidden item.
        let got = send_json(&server, &t, get_thread(&thread)).await;
        let shown = got["items"]["data"].as_array().unwrap();
        assert_eq!(shown.len(), 2, "{got}");
        server.stop().await;
    }
}
