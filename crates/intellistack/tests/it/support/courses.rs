//! Small courses written by a test, imported into the test server, and a
//! student enrolled in one.

use std::sync::Arc;

use api::content::loader::{CourseDoc, LessonDoc, StageDoc};

use super::TestServer;
use super::api::token;
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
