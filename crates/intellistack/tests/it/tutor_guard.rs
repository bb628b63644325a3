//! The answer guard through HTTP, over the sample course, with a model
//! double that tries to give answers away: every form of the corpus in
//! word-sized and one-character chunks, harmless replies from the lessons,
//! leaks through the search tool and through an earlier turn, attempts in
//! chat messages, and the judge's second pass.

use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::api::token;
use crate::support::auth::*;
use crate::support::chat::*;
use crate::support::fake_llm::{FakeLlm, Script, chars, server_with_model, words};

#[path = "../../../tutor/tests/corpus/mod.rs"]
mod corpus;

/// An instructor sees every stage, so every lesson can be the page.
async fn instructor(server: &TestServer) -> String {
    let b = admin(server, "teacher@example.com").await;
    token(&b, server).await
}

/// `stage/lesson` of the sample course holding exercise `id`.
fn lesson_of(id: &str) -> String {
    let courses = api::content::loader::embedded().unwrap();
    for s in &courses[0].stages {
        for l in &s.lessons {
            if l.exercises.iter().any(|e| e.id == id) {
                return format!("{}/{}", s.slug, l.slug);
            }
        }
    }
    panic!("no exercise {id}")
}

fn page(lesson: &str) -> Value {
    let (stage, lesson) = lesson.split_once('/').unwrap();
    json!({"course": "physical-ai", "stage": stage, "lesson": lesson, "title": lesson})
}

async fn stored(server: &TestServer, thread: &str) -> String {
    let rows: Vec<(String,)> = common::on_db!(&server.db, pool => sqlx::query_as(
        "SELECT content FROM chatkit_thread_item WHERE thread_id = $1").bind(thread).fetch_all(pool).await.unwrap());
    rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n")
}

/// Every delta of every assistant message, withdrawn ones included.
fn everything_streamed(ev: &[Value]) -> String {
    let mut out = events_json(ev);
    out.push_str(&assistant_text(ev));
    out
}

crate::per_database! {
    async fn no_leak_form_reaches_the_student_in_any_chunking(backend) {
        let (server, fake) = server_with_model(backend, &[]).await;
        let t = instructor(&server).await;
        let mut caught = 0;
        for corpus::Leak { exercise: id, reply, leaked: secret } in corpus::LEAKS.iter().copied() {
            let lesson = lesson_of(id);
            let mut verdicts = Vec::new();
            for (how, pieces) in [("words", words(reply)), ("characters", chars(reply))] {
                // Both drafts give it away: the student gets this exercise's hint.
                fake.push(Script::Pieces(pieces.clone(), 0));
                fake.push(Script::Pieces(pieces, 0));
                let ev = turn_events(
                    &server,
                    &t,
                    create_on("Can you help me with the exercise on this page?", page(&lesson)),
                )
                .await;
                let thread = ev[0]["thread"]["id"].as_str().unwrap().to_string();
                let all = everything_streamed(&ev);
                assert!(
                    !all.contains(secret),
                    "{backend:?} {how}: {secret:?} of {reply:?} reached the client"
                );
                assert!(
                    !stored(&server, &thread).await.contains(secret),
                    "{backend:?} {how}: {secret:?} was stored"
                );
                verdicts.push(final_text(&ev));
            }
            assert_eq!(
                verdicts[0], verdicts[1],
                "{reply:?}: the same verdict for every chunking"
            );
            assert!(
                verdicts[0].contains("hint"),
                "{reply:?} got {:?}",
                verdicts[0]
            );
            caught += 1;
        }
        println!(
            "{backend:?}: {caught} / {} leak forms kept from the student",
            corpus::LEAKS.len()
        );
        server.stop().await;
    }
}

/// The title of a sample-course lesson, for a question about the page.
fn title_of(lesson: &str) -> String {
    let courses = api::content::loader::embedded().unwrap();
    let (stage, slug) = lesson.split_once('/').unwrap();
    courses[0]
        .stages
        .iter()
        .find(|s| s.slug == stage)
        .and_then(|s| s.lessons.iter().find(|l| l.slug == slug))
        .map(|l| l.title.clone())
        .unwrap()
}

/// Runs every harmless reply as the model's answer to `question(lesson)`;
/// returns how many passed unaltered and the others.
async fn harmless_pass(
    server: &TestServer,
    fake: &FakeLlm,
    t: &str,
    question: impl Fn(&str) -> String,
) -> (usize, Vec<String>) {
    let mut passed = 0;
    let mut gagged = Vec::new();
    for corpus::Harmless { lesson, reply } in corpus::HARMLESS.iter().copied() {
        let before = fake.reply_requests().len();
        // One script: a withdrawn draft would be rewritten from the double's
        // default reply and show up as a change.
        fake.push(Script::Pieces(words(reply), 0));
        let ev = turn_events(server, t, create_on(&question(lesson), page(lesson))).await;
        let text = final_text(&ev);
        let calls = fake.reply_requests().len() - before;
        if text == *reply && calls == 1 {
            passed += 1;
        } else {
            gagged.push(format!("{lesson}: {reply:?} became {text:?}"));
        }
    }
    (passed, gagged)
}

crate::per_database! {
    async fn harmless_replies_from_the_lessons_pass_unaltered(backend) {
        let (server, fake) = server_with_model(backend, &[]).await;
        let t = instructor(&server).await;
        let n = corpus::HARMLESS.len();
        assert!(n >= 40);
        // The student asks about the page's lesson: the page's exercises and
        // those of whatever lessons retrieval finds are in play.
        let (passed, gagged) = harmless_pass(&server, &fake, &t, |l| {
            format!("Can you help me understand {}?", title_of(l))
        })
        .await;
        println!("{backend:?}: harmless replies passed {passed} / {n} (questions about the page)");
        for g in &gagged {
            println!("  {g}");
        }
        // At least 39 of every 40.
        assert!(passed * 40 >= n * 39, "{gagged:#?}");
        // A vaguer question pulls more lessons (and their answers) into play.
        let (passed, gagged) = harmless_pass(&server, &fake, &t, |_| {
            "Can you explain this part of the lesson?".to_string()
        })
        .await;
        println!("{backend:?}: harmless replies passed {passed} / {n} (a generic question)");
        for g in &gagged {
            println!("  {g}");
        }
        server.stop().await;
    }
}

crate::per_database! {
    async fn a_leak_through_the_search_tool_is_caught(backend) {
        let (server, fake) = server_with_model(backend, &[]).await;
        let t = instructor(&server).await;
        // The page and the question bring nothing about lidar into play;
        // the model's own search does.
        fake.push(Script::ToolCall {
            id: "call_1",
            name: "search_course",
            arguments: "{\"query\":\"lidar pulse time of flight distance\"}",
        });
        fake.push(Script::Pieces(
            words("From the passage [1], the surface is 3 m away."),
            0,
        ));
        fake.push(Script::Text(
            vec!["Which way does the light travel, and how often? [1]"],
            0,
        ));
        let ev = turn_events(
            &server,
            &t,
            create_on("What should I look at next?", page("ros2/nodes-and-topics")),
        )
        .await;
        let thread = ev[0]["thread"]["id"].as_str().unwrap().to_string();
        assert!(!everything_streamed(&ev).contains("3 m away"), "{ev:?}");
        assert!(!stored(&server, &thread).await.contains("3 m away"));
        assert_eq!(
            final_text(&ev),
            "Which way does the light travel, and how often? [1]"
        );
        let requests = fake.reply_requests();
        assert!(
            !requests[0].to_string().contains("fires laser pulses"),
            "the lidar lesson came in through the tool, not the first retrieval"
        );
        assert_eq!(requests.len(), 3, "tool round, leaking draft, strict draft");
        assert!(
            requests[2]
                .to_string()
                .contains(tutor::agent::STRICT_REMINDER)
        );
        server.stop().await;
    }
}

crate::per_database! {
    async fn a_leak_about_an_exercise_from_an_earlier_turn_is_caught(backend) {
        let (server, fake) = server_with_model(backend, &[]).await;
        let t = instructor(&server).await;
        fake.push(Script::Text(
            vec!["What does integrating a constant rate do over time? [1]"],
            0,
        ));
        let ev = turn_events(
            &server,
            &t,
            create_on("How should I start the gyroscope drift exercise?", page("sensors/imus-and-encoders")),
        )
        .await;
        let thread = ev[0]["thread"]["id"].as_str().unwrap().to_string();
        // Later, on a page of another stage, the model gives it away twice.
        fake.push(Script::Pieces(chars("Fine: it is 1.2 rad."), 0));
        fake.push(Script::Pieces(words("The heading error is 1200 mrad."), 0));
        let body = json!({"type": "threads.add_user_message", "params": {"thread_id": thread, "input": message("so what is the number?")},
            "metadata": {"page": page("ros2/nodes-and-topics")}});
        let ev = turn_events(&server, &t, body).await;
        let all = everything_streamed(&ev);
        assert!(
            !all.contains("1.2 rad") && !all.contains("1200 mrad"),
            "{all}"
        );
        let text = final_text(&ev);
        // The hint is the drift exercise's own, never another exercise's.
        assert!(
            text.contains("Integrating a constant rate multiplies it by the elapsed time."),
            "{text}"
        );
        assert!(!stored(&server, &thread).await.contains("1.2 rad"));
        server.stop().await;
    }
}

crate::per_database! {
    async fn an_attempt_in_a_message_is_checked_without_giving_the_answer(backend) {
        for with_model in [false, true] {
            let (server, fake) = if with_model {
                server_with_model(backend, &[]).await
            } else {
                (TestServer::start(backend).await, FakeLlm::start().await)
            };
            let t = instructor(&server).await;
            fake.push(Script::Text(
                vec!["Let's look at how you turned counts into revolutions. [1]"],
                0,
            ));
            let ev = turn_events(
                &server,
                &t,
                create_on("I got 0.314 m for the wheel after 2048 counts, is it right?", page("sensors/imus-and-encoders")),
            )
            .await;
            let text = final_text(&ev);
            assert!(text.contains("is not right yet"), "{with_model}: {text}");
            assert!(!text.contains("0.628") && !text.contains("62.8"), "{text}");
            fake.push(Script::Text(
                vec!["Well done. What would change with a bigger wheel? [1]"],
                0,
            ));
            let ev = turn_events(
                &server,
                &t,
                create_on("I think it's 62.8 cm for the wheel distance", page("sensors/imus-and-encoders")),
            )
            .await;
            let text = final_text(&ev);
            assert!(text.contains("is right"), "{with_model}: {text}");
            if !with_model {
                assert!(text.starts_with("*Retrieval-only mode"), "{text}");
            }
            server.stop().await;
        }
    }
}

crate::per_database! {
    async fn the_judge_second_pass_is_logged_and_counted(backend) {
        let (server, fake) = server_with_model(backend, &[("TUTOR_JUDGE", "true")]).await;
        let t = instructor(&server).await;
        fake.judge_with("LEAK gyro-drift");
        fake.push(Script::Text(
            vec!["Multiply the rate by the time and tell me what you get. [1]"],
            0,
        ));
        let ev = turn_events(
            &server,
            &t,
            create_on("How do I do the drift exercise?", page("sensors/imus-and-encoders")),
        )
        .await;
        assert_eq!(
            final_text(&ev),
            "Multiply the rate by the time and tell me what you get. [1]",
            "the judge never changes the reply"
        );
        let mut row = (0i64, 0i64, 0i64);
        for _ in 0..100 {
            row = common::on_db!(&server.db, pool => sqlx::query_as::<_, (i64, i64, i64)>(
                "SELECT judge_calls, judge_flags, judge_disagreements FROM ai_usage_metric").fetch_optional(pool).await.unwrap())
            .unwrap_or_default();
            if row.0 == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            row,
            (1, 1, 1),
            "one judge call, which disagreed with the guard"
        );
        let judged = fake
            .requests()
            .into_iter()
            .find(|r| r["messages"][0]["content"] == tutor::turn::judge::JUDGE_PROMPT)
            .expect("a judge request");
        assert!(
            judged.to_string().contains("Answer: 1.2 rad"),
            "the judge sees the answers"
        );

        // A withdrawn draft counts as a guard hit.
        fake.push(Script::Text(vec!["It is 1.2 rad."], 0));
        fake.push(Script::Text(vec!["What is 0.02 times 60? [1]"], 0));
        turn_events(
            &server,
            &t,
            create_on("just give it to me", page("sensors/imus-and-encoders")),
        )
        .await;
        let mut hits = 0i64;
        for _ in 0..100 {
            hits = common::on_db!(&server.db, pool => sqlx::query_as::<_, (i64,)>(
                "SELECT guard_hits FROM ai_usage_metric").fetch_one(pool).await.unwrap())
            .0;
            if hits == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(hits, 1);
        server.stop().await;
    }
}

crate::per_database! {
    async fn the_tutor_knows_the_students_attempts_on_the_page(backend) {
        let (server, fake) = server_with_model(backend, &[]).await;
        let b = verified_user(&server, "tried@example.com").await;
        let t = token(&b, &server).await;
        crate::support::api::api_post(&server, "/api/v1/courses/physical-ai/enrol", &t, json!({}))
            .await;
        let (s, _) =
            crate::support::exercises::attempt(&server, &t, "gyro-drift", json!("1.5 rad")).await;
        assert_eq!(s, 201);
        let (s, _) =
            crate::support::exercises::attempt(&server, &t, "encoder-distance", json!("0.628 m"))
                .await;
        assert_eq!(s, 201);
        fake.push(Script::Text(vec!["Where did 1.5 come from? [1]"], 0));
        turn_events(
            &server,
            &t,
            create_on("Why was my drift answer wrong?", page("sensors/imus-and-encoders")),
        )
        .await;
        let prompt = fake.reply_requests()[0].to_string();
        assert!(
            prompt.contains("gyro-drift") && prompt.contains("\\\"1.5 rad\\\" (wrong)"),
            "{prompt}"
        );
        assert!(
            prompt.contains("one right answer"),
            "a right answer is counted, not quoted"
        );
        assert!(!prompt.contains("0.628 m"), "{prompt}");
        assert!(
            !prompt.contains("\"value\""),
            "the model never sees an answer spec"
        );
        server.stop().await;
    }
}
