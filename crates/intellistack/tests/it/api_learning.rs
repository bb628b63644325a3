//! Courses, enrolment, lessons and stage unlocking.

use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::api::*;
use crate::support::auth::*;
use crate::support::server::start_with_var;

const COURSE: &str = "/api/v1/courses/physical-ai";

fn stage(outline: &Value, i: usize) -> &Value {
    &outline["stages"][i]
}

fn lesson_path(outline: &Value, s: usize, l: usize) -> String {
    let st = stage(outline, s);
    format!(
        "{COURSE}/lessons/{}/{}",
        st["slug"].as_str().unwrap(),
        st["lessons"][l]["slug"].as_str().unwrap()
    )
}

crate::per_database! {
    async fn finishing_a_stage_unlocks_the_next(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "learner@example.com").await;
        let t = token(&b, &server).await;

        let (s, courses) = api_get(&server, "/api/v1/courses", &t).await;
        assert_eq!(s, 200);
        let course = courses
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["slug"] == "physical-ai")
            .expect("the sample course is loaded");
        assert!(course["stageCount"].as_u64().unwrap() >= 3);
        assert_eq!(course["enrolled"], false);

        let (_, outline) = api_get(&server, COURSE, &t).await;
        let first_lesson = lesson_path(&outline, 0, 0);
        let (s, body) = api_get(&server, &first_lesson, &t).await;
        assert_eq!((s, code(&body)), (403, "NOT_ENROLLED"));

        let (s, _) = api_post(&server, &format!("{COURSE}/enrol"), &t, json!({})).await;
        assert_eq!(s, 201);
        let (s, _) = api_post(&server, &format!("{COURSE}/enrol"), &t, json!({})).await;
        assert_eq!(s, 200, "enrolling twice is harmless");

        let (_, outline) = api_get(&server, COURSE, &t).await;
        assert_eq!(outline["enrolled"], true);
        assert_eq!(stage(&outline, 0)["locked"], false);
        assert_eq!(stage(&outline, 1)["locked"], true);
        assert_eq!(stage(&outline, 2)["locked"], true);

        // A lesson: sanitized HTML with anchors, exercises without answers.
        let (s, lesson) = api_get(&server, &first_lesson, &t).await;
        assert_eq!(s, 200, "{lesson}");
        assert!(lesson["html"].as_str().unwrap().contains("<h2 id=\""));
        assert!(!lesson["headings"].as_array().unwrap().is_empty());
        let ex = &lesson["exercises"][0];
        assert!(ex["prompt"].is_string());
        assert!(
            ex.get("answer").is_none(),
            "answers never reach the browser"
        );
        assert!(!lesson.to_string().contains("\"answer\""));

        // The second stage is locked until every lesson of the first is done.
        let locked = lesson_path(&outline, 1, 0);
        let (s, body) = api_get(&server, &locked, &t).await;
        assert_eq!((s, code(&body)), (403, "STAGE_LOCKED"));
        let (s, body) = api_post(&server, &format!("{locked}/complete"), &t, json!({})).await;
        assert_eq!(
            (s, code(&body)),
            (403, "STAGE_LOCKED"),
            "cannot complete a locked lesson"
        );

        // Lessons with exercises complete by answering them, not by a button.
        let (s, body) = api_post(&server, &format!("{first_lesson}/complete"), &t, json!({})).await;
        assert_eq!((s, code(&body)), (409, "EXERCISES_PENDING"));
        let n = stage(&outline, 0)["lessons"].as_array().unwrap().len();
        for i in 0..n {
            let body =
                crate::support::exercises::solve(&server, &t, &lesson_path(&outline, 0, i)).await;
            assert_eq!(body["lessonCompleted"], true, "{body}");
            if i + 1 < n {
                assert_eq!(body["unlockedStage"], Value::Null);
            } else {
                assert_eq!(body["stageCompleted"], true);
                assert_eq!(body["unlockedStage"], stage(&outline, 1)["slug"]);
            }
        }
        let (s, _) = api_get(&server, &locked, &t).await;
        assert_eq!(s, 200, "stage 2 is open now");
        let (_, outline) = api_get(&server, COURSE, &t).await;
        assert_eq!(stage(&outline, 1)["locked"], false);
        assert_eq!(stage(&outline, 2)["locked"], true);
        assert_eq!(outline["completedCount"].as_u64().unwrap(), n as u64);
        assert!(
            stage(&outline, 0)["lessons"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["completed"] == true)
        );

        // Completing again changes nothing.
        let (s, body) = api_post(
            &server,
            &format!("{}/complete", lesson_path(&outline, 0, 0)),
            &t,
            json!({}),
        )
        .await;
        assert_eq!((s, &body["unlockedStage"]), (200, &Value::Null));

        // Unknown things are 404.
        let (s, body) = api_get(&server, "/api/v1/courses/nope", &t).await;
        assert_eq!((s, code(&body)), (404, "COURSE_NOT_FOUND"));
        let (s, body) = api_get(&server, &format!("{COURSE}/lessons/nope/nope"), &t).await;
        assert_eq!((s, code(&body)), (404, "LESSON_NOT_FOUND"));
        let (s, body) = api_get(&server, "/api/v1/nothing-here", &t).await;
        assert_eq!((s, code(&body)), (404, "NOT_FOUND"));
        server.stop().await;
    }
}

crate::per_database! {
    async fn instructors_and_admins_see_every_stage(backend) {
        let server = TestServer::start(backend).await;
        let a = admin(&server, "boss@example.com").await;
        let t = token(&a, &server).await;
        let (_, outline) = api_get(&server, COURSE, &t).await;
        assert!(
            outline["stages"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["locked"] == false)
        );
        let last = outline["stages"].as_array().unwrap().len() - 1;
        let (s, _) = api_get(&server, &lesson_path(&outline, last, 0), &t).await;
        assert_eq!(s, 200);
    }
}

crate::per_database! {
    async fn requests_without_a_valid_token_get_401_with_a_challenge(backend) {
        let server = TestServer::start(backend).await;
        let (s, body, h) = call(&server, reqwest::Method::GET, "/api/v1/courses", None, None).await;
        assert_eq!((s, code(&body)), (401, "UNAUTHENTICATED"));
        assert_eq!(h["www-authenticate"], r#"Bearer realm="intellistack""#);
        let (s, _, h) = call(
            &server,
            reqwest::Method::GET,
            "/api/v1/courses",
            Some("not.a.jwt"),
            None,
        )
        .await;
        assert_eq!(s, 401);
        assert!(
            h["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
        // A Better-Auth session token is not a JWT.
        let b = verified_user(&server, "x@example.com").await;
        let (_, sess, _) = get(&b, &server, "/api/auth/get-session").await;
        let (s, _, _) = call(
            &server,
            reqwest::Method::GET,
            "/api/v1/courses",
            Some(sess["session"]["token"].as_str().unwrap()),
            None,
        )
        .await;
        assert_eq!(s, 401);
    }
}

crate::per_database! {
    async fn the_token_tells_the_api_whether_the_email_is_verified(backend) {
        let server = start_with_var(backend, "AUTH_REQUIRE_EMAIL_VERIFICATION", "false").await;
        let b = unverified_user(&server, "U", "u@example.com").await;
        let t = token(&b, &server).await;
        let (s, me) = api_get(&server, "/api/v1/me", &t).await;
        assert_eq!((s, &me["emailVerified"]), (200, &json!(false)));
        assert_eq!(me["email"], "u@example.com");
    }
}

/// When the enrolment behind a thread ended; `None` once the thread is gone.
async fn thread_ended(db: &common::Db, id: &str) -> Option<Option<chrono::DateTime<chrono::Utc>>> {
    let row: Option<(Option<chrono::DateTime<chrono::Utc>>,)> = common::on_db!(db, pool => sqlx::query_as(
        "SELECT enrollment_ended_at FROM chatkit_thread WHERE id = $1")
        .bind(id).fetch_optional(pool).await.unwrap());
    row.map(|r| r.0)
}

crate::per_database! {
    async fn leaving_closes_the_course_and_schedules_its_threads_for_deletion(backend) {
        use crate::support::chat::{events, message, send};
        use chrono::{Duration, Utc};
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "leaver@example.com").await;
        let t = token(&b, &server).await;
        let uid = session_user(&b, &server).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, _) = api_post(&server, &format!("{COURSE}/enrol"), &t, json!({})).await;
        assert_eq!(s, 201);
        let (_, outline) = api_get(&server, COURSE, &t).await;
        let first = lesson_path(&outline, 0, 0);
        crate::support::exercises::solve(&server, &t, &first).await;
        // A tutor thread started on this course, and one on another.
        let res = send(
            &server,
            &t,
            json!({"type": "threads.create", "params": {"input": message("What is a sensor?")},
                   "metadata": {"page": {"course": "physical-ai"}}}),
        )
        .await;
        assert_eq!(res.status(), 200);
        let course_thread = events(res).await[0]["thread"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let other = api::content::loader::CourseDoc {
            slug: "other-course".into(),
            title: "Other".into(),
            summary: "".into(),
            stages: vec![],
        };
        let clock: common::SharedClock = std::sync::Arc::new(server.clock.clone());
        api::seed::import(&server.db, &clock, &[other])
            .await
            .unwrap();
        let (s, _) = api_post(&server, "/api/v1/courses/other-course/enrol", &t, json!({})).await;
        assert_eq!(s, 201);
        common::on_db!(&server.db, pool => sqlx::query(
            "INSERT INTO chatkit_thread (id, user_id, course_id, created_at, updated_at) VALUES ('elsewhere', $1, 'other-course', $2, $2)")
            .bind(&uid).bind(Utc::now()).execute(pool).await.unwrap().rows_affected());
        let (s, body) = api_post(&server, &format!("{COURSE}/leave"), &t, json!({})).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(
            (
                &body["enrolled"],
                &body["left"],
                &body["threadRetentionDays"]
            ),
            (&json!(false), &json!(true), &json!(30))
        );
        let (s, again) = api_post(&server, &format!("{COURSE}/leave"), &t, json!({})).await;
        assert_eq!(
            (s, &again["left"]),
            (200, &json!(false)),
            "leaving twice is harmless"
        );
        let (s, body) = api_post(&server, "/api/v1/courses/no-such/leave", &t, json!({})).await;
        assert_eq!((s, code(&body)), (404, "COURSE_NOT_FOUND"));

        // The course is closed to them now.
        let (_, outline) = api_get(&server, COURSE, &t).await;
        assert_eq!(outline["enrolled"], false);
        assert!(stage(&outline, 0)["locked"].as_bool().unwrap());
        let (s, body) = api_get(&server, &first, &t).await;
        assert_eq!((s, code(&body)), (403, "NOT_ENROLLED"));
        let (s, body) = api_post(&server, &format!("{first}/complete"), &t, json!({})).await;
        assert_eq!((s, code(&body)), (403, "NOT_ENROLLED"));

        // Its threads are marked; the other course's are not.
        let when = thread_ended(&server.db, &course_thread)
            .await
            .flatten()
            .expect("marked");
        assert_eq!(thread_ended(&server.db, "elsewhere").await, Some(None));
        assert_eq!(
            api::admin::run_retention(&server.db, when + Duration::days(29))
                .await
                .unwrap(),
            0,
            "kept through the retention period"
        );

        // Coming back reopens the enrolment with its progress, and keeps the threads.
        let (s, _) = api_post(&server, &format!("{COURSE}/enrol"), &t, json!({})).await;
        assert_eq!(s, 201);
        let (_, outline) = api_get(&server, COURSE, &t).await;
        assert_eq!(
            (&outline["enrolled"], &outline["completedCount"]),
            (&json!(true), &json!(1))
        );
        assert_eq!(thread_ended(&server.db, &course_thread).await, Some(None));
        assert_eq!(
            api::admin::run_retention(&server.db, when + Duration::days(31))
                .await
                .unwrap(),
            0
        );

        // Leaving for good: the course's threads go after the period, the rest stay.
        let (s, _) = api_post(&server, &format!("{COURSE}/leave"), &t, json!({})).await;
        assert_eq!(s, 200);
        let when = thread_ended(&server.db, &course_thread)
            .await
            .flatten()
            .expect("marked again");
        assert_eq!(
            api::admin::run_retention(&server.db, when + Duration::days(31))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            thread_ended(&server.db, &course_thread).await,
            None,
            "deleted"
        );
        assert_eq!(
            thread_ended(&server.db, "elsewhere").await,
            Some(None),
            "kept"
        );
        server.stop().await;
    }
}
