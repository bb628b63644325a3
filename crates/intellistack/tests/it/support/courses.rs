//! Small courses written by a test, imported into the test server, and a
//! student enrolled in one.

use std::sync::Arc;

use api::content::loader::{CourseDoc, LessonDoc, StageDoc};

use super::TestServer;
use super::api::{api_get, token};
use super::auth::verified_user;

/// A lesson at position 1 without exercises.
pub fn lesson(slug: &str, title: &str, body: &str) -> LessonDoc {
    LessonDoc {
        slug: slug.into(),
        title: title.into(),
        position: 1,
        body: body.into(),
        exercises: vec![],
    }
}

pub fn stage(slug: &str, title: &str, position: i64, lessons: Vec<LessonDoc>) -> StageDoc {
    StageDoc {
        slug: slug.into(),
        title: title.into(),
        summary: "".into(),
        position,
        lessons,
    }
}

pub fn course(slug: &str, title: &str, stages: Vec<StageDoc>) -> CourseDoc {
    CourseDoc {
        slug: slug.into(),
        title: title.into(),
        summary: "".into(),
        stages,
    }
}

/// The two-stage course of the tutor tests: stage "flight" (lesson `lift`)
/// is open to a new student, stage "secrets" (lesson `hidden`) is locked
/// behind it.
pub fn drones(lift: LessonDoc, hidden: LessonDoc) -> CourseDoc {
    course(
        "drones",
        "Drones",
        vec![
            stage("flight", "Flight", 1, vec![lift]),
            stage("secrets", "Secrets", 2, vec![hidden]),
        ],
    )
}

pub async fn import(server: &TestServer, doc: CourseDoc) {
    let clock: common::SharedClock = Arc::new(server.clock.clone());
    api::seed::import(&server.db, &clock, &[doc]).await.unwrap();
}

/// Signs up a verified student, enrols them in course `slug` and returns
/// their API token.
pub async fn enrolled_student(server: &TestServer, email: &str, slug: &str) -> String {
    let b = verified_user(server, email).await;
    let t = token(&b, server).await;
    let res = reqwest::Client::new()
        .post(server.at(&format!("/api/v1/courses/{slug}/enrol")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    t
}

/// The id of lesson `stage`/`lesson` of course `course`, read as `t` sees it.
pub async fn lesson_id(
    server: &TestServer,
    t: &str,
    course: &str,
    stage: &str,
    lesson: &str,
) -> String {
    let (s, v) = api_get(
        server,
        &format!("/api/v1/courses/{course}/lessons/{stage}/{lesson}"),
        t,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// Replaces a lesson's Markdown body through the API.
pub async fn edit_body(server: &TestServer, t: &str, id: &str, body: &str) {
    let res = reqwest::Client::new()
        .patch(server.at(&format!("/api/v1/lessons/{id}")))
        .bearer_auth(t)
        .json(&serde_json::json!({ "body": body }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// Deletes a lesson through the API.
pub async fn delete_lesson(server: &TestServer, t: &str, id: &str) {
    let res = reqwest::Client::new()
        .delete(server.at(&format!("/api/v1/lessons/{id}")))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
}
