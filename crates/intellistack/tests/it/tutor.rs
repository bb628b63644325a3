//! The tutor's retrieval-only mode (no language model configured).

use serde_json::{Value, json};

use crate::support::api::token;
use crate::support::auth::*;
use crate::support::chat::*;
use crate::support::courses::{drones, enrolled_student, import, lesson};
use crate::support::{Backend, TestServer};

async fn with_course(server: &TestServer) {
    let course = drones(
        lesson(
            "lift",
            "Lift",
            "## Propellers\n\nA propeller pushes air down so the drone is pushed up; thrust grows with the square of rotor speed.\n\n## Hovering\n\nHovering means thrust equals weight.\n",
        ),
        lesson(
            "hidden",
            "Hidden",
            "## Zebracorn manoeuvre\n\nThe zebracorn manoeuvre flips the drone using differential thrust.\n",
        ),
    );
    import(server, course).await;
}

async fn ask(server: &TestServer, t: &str, text: &str) -> (String, Vec<Value>) {
    let body = json!({"type": "threads.create", "params": {"input": message(text)}, "metadata": {"page": {"course": "drones"}}});
    let ev = turn_events(server, t, body).await;
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

crate::per_database! {
    async fn retrieval_only_answers_cite_unlocked_lessons_and_say_what_they_are(backend) {
        let server = TestServer::start(backend).await;
        with_course(&server).await;
        let t = enrolled_student(&server, "pilot@example.com", "drones").await;

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
