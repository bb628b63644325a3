//! The tutor's retrieval-only mode (no language model configured).

use serde_json::{Value, json};

use crate::support::api::token;
use crate::support::auth::*;
use crate::support::chat::*;
use crate::support::{Backend, TestServer};
use api::content::loader::{CourseDoc, LessonDoc, StageDoc};

fn lesson(slug: &str, title: &str, body: &str) -> LessonDoc {
    LessonDoc {
        slug: slug.into(),
        title: title.into(),
        position: 1,
        body: body.into(),
        exercises: vec![],
    }
}

async fn with_course(server: &TestServer) {
    let course = CourseDoc {
        slug: "drones".into(),
        title: "Drones".into(),
        summary: "".into(),
        stages: vec![
            StageDoc {
                slug: "flight".into(),
                title: "Flight".into(),
                summary: "".into(),
                position: 1,
                lessons: vec![lesson(
                    "lift",
                    "Lift",
                    "## Propellers\n\nA propeller pushes air down so the drone is pushed up; thrust grows with the square of rotor speed.\n\n## Hovering\n\nHovering means thrust equals weight.\n",
                )],
            },
            StageDoc {
                slug: "secrets".into(),
                title: "Secrets".into(),
                summary: "".into(),
                position: 2,
                lessons: vec![lesson(
                    "hidden",
                    "Hidden",
                    "## Zebracorn manoeuvre\n\nThe zebracorn manoeuvre flips the drone using differential thrust.\n",
                )],
            },
        ],
    };
    let clock: common::SharedClock = std::sync::Arc::new(server.clock.clone());
    api::seed::import(&server.db, &clock, &[course])
        .await
        .unwrap();
}

async fn ask(server: &TestServer, t: &str, text: &str) -> (String, Vec<Value>) {
    let body = json!({"type": "threads.create", "params": {"input": message(text)}, "metadata": {"page": {"course": "drones"}}});
    let ev = events(send(server, t, body).await).await;
    let done = ev
        .iter()
        .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .expect("an answer")
        .clone();
    let anns = done["item"]["content"][0]["annotations"]
        .as_array()
        .unwrap()
        .clone();
    (
        done["item"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_string(),
        anns,
    )
}

#[tokio::test]
async fn retrieval_only_answers_cite_unlocked_lessons_and_say_what_they_are() {
    for backend in Backend::ALL {
        let server = TestServer::start(backend).await;
        with_course(&server).await;
        let b = verified_user(&server, "pilot@example.com").await;
        let t = token(&b, &server).await;
        let res = reqwest::Client::new()
            .post(server.at("/api/v1/courses/drones/enrol"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);

        let (text, anns) = ask(&server, &t, "why does propeller speed matter for thrust?").await;
        assert!(
            text.starts_with("*Retrieval-only mode"),
            "clearly labelled: {text}"
        );
        assert!(text.contains("square of rotor speed"), "{text}");
        assert!(
            text.contains("**Your turn:**") || text.contains("**Try this:**"),
            "one guiding question: {text}"
        );
        assert_eq!(anns[0]["source"]["url"], "/learn/flight/lift#propellers");
        assert!(anns.iter().all(|a| {
            a["source"]["url"]
                .as_str()
                .unwrap()
                .starts_with("/learn/flight/")
        }));

        // Locked content never reaches an answer or a citation: the stage is named.
        let (text, anns) = ask(&server, &t, "explain the zebracorn manoeuvre").await;
        assert!(text.contains("stage 2, *Secrets*"), "{text}");
        assert!(text.contains("stage 1, *Flight*"), "{text}");
        assert!(
            !text.to_lowercase().contains("zebracorn manoeuvre flips"),
            "{text}"
        );
        assert!(
            anns.iter()
                .all(|a| !a["source"]["url"].as_str().unwrap().contains("secrets")),
            "{anns:?}"
        );

        // Staff see every stage.
        let boss = admin(&server, "boss@example.com").await;
        let bt = token(&boss, &server).await;
        let (text, anns) = ask(&server, &bt, "explain the zebracorn manoeuvre").await;
        assert!(text.contains("differential thrust"), "{text}");
        assert_eq!(
            anns[0]["source"]["url"],
            "/learn/secrets/hidden#zebracorn-manoeuvre"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn an_authoring_edit_is_searchable_at_once() {
    let server = TestServer::start(Backend::Sqlite).await;
    with_course(&server).await;
    let boss = admin(&server, "boss@example.com").await;
    let t = token(&boss, &server).await;
    let (text, _) = ask(&server, &t, "gimbal stabilisation").await;
    assert!(text.contains("couldn't find"), "{text}");
    let (_, outline) = crate::support::api::api_get(&server, "/api/v1/courses/drones", &t).await;
    let stage = outline["stages"][0]["id"].as_str().unwrap();
    let (s, _) = crate::support::api::api_post(&server, &format!("/api/v1/stages/{stage}/lessons"), &t,
        json!({"slug": "gimbals", "title": "Gimbals", "body": "## Stabilisation\n\nA gimbal stabilisation loop keeps the camera level.\n"})).await;
    assert_eq!(s, 201);
    let (text, anns) = ask(&server, &t, "gimbal stabilisation").await;
    assert!(text.contains("keeps the camera level"), "{text}");
    assert_eq!(
        anns[0]["source"]["url"],
        "/learn/flight/gimbals#stabilisation"
    );
}
