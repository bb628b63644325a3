//! Instructor authoring and the role guard.

use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::api::*;
use crate::support::auth::*;

/// Asks to add a stage "extra" to the sample course.
async fn add_extra_stage(server: &TestServer, token: &str) -> (u16, Value) {
    api_post(
        server,
        "/api/v1/courses/physical-ai/stages",
        token,
        json!({"slug": "extra", "title": "Extra"}),
    )
    .await
}

/// Asks to give user `id` the role `role`.
async fn set_role(server: &TestServer, token: &str, id: &str, role: &str) -> (u16, Value) {
    api_post(
        server,
        &format!("/api/v1/admin/users/{id}/role"),
        token,
        json!({"role": role}),
    )
    .await
}

crate::per_database! {
    async fn a_new_role_opens_authoring_on_the_next_token_without_signing_in_again(backend) {
        let server = TestServer::start(backend).await;
        let boss = admin(&server, "boss@example.com").await;
        let boss_t = token(&boss, &server).await;
        let b = verified_user(&server, "soon-instructor@example.com").await;
        let t = token(&b, &server).await;
        let (s, body) = add_extra_stage(&server, &t).await;
        assert_eq!((s, code(&body)), (403, "FORBIDDEN_ROLE"));

        let (_, me) = api_get(&server, "/api/v1/me", &t).await;
        let id = me["id"].as_str().unwrap();
        let (s, body) = set_role(&server, &t, id, "instructor").await;
        assert_eq!(
            (s, code(&body)),
            (403, "FORBIDDEN_ROLE"),
            "students cannot promote themselves"
        );
        let (s, body) = set_role(&server, &boss_t, id, "wizard").await;
        assert_eq!((s, code(&body)), (422, "INVALID_ROLE"));
        let (s, body) = set_role(&server, &boss_t, "nobody", "instructor").await;
        assert_eq!((s, code(&body)), (404, "USER_NOT_FOUND"));
        let (s, body) = set_role(&server, &boss_t, id, "instructor").await;
        assert_eq!((s, body["role"].as_str()), (200, Some("instructor")));

        // The old token still says student; the next one says instructor.
        let (s, _) = add_extra_stage(&server, &t).await;
        assert_eq!(s, 403);
        let t2 = token(&b, &server).await;
        let (s, body) = add_extra_stage(&server, &t2).await;
        assert_eq!(
            (s, code(&body)),
            (403, "NOT_COURSE_STAFF"),
            "an instructor authors the courses they teach"
        );
        let (s, body) = api_post(
            &server,
            "/api/v1/courses/physical-ai/staff",
            &boss_t,
            json!({"email": "soon-instructor@example.com"}),
        )
        .await;
        assert_eq!(s, 201, "{body}");
        let (s, body) = add_extra_stage(&server, &t2).await;
        assert_eq!(s, 201, "{body}");

        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM auth_event_log WHERE event_type = 'role_changed' AND user_id = $1").bind(id).fetch_one(pool).await.unwrap());
        assert_eq!(n, 1);
        server.stop().await;
    }
}

crate::per_database! {
    async fn instructors_create_edit_reorder_and_delete_with_reindexing(backend) {
        let server = TestServer::start(backend).await;
        let boss = admin(&server, "boss@example.com").await;
        let t = token(&boss, &server).await;
        let course = "/api/v1/courses/physical-ai";

        let (s, stage) = api_post(
            &server,
            &format!("{course}/stages"),
            &t,
            json!({"slug": "safety", "title": "Safety", "summary": "Working safely"}),
        )
        .await;
        assert_eq!(s, 201, "{stage}");
        let stage_id = stage["id"].as_str().unwrap().to_string();
        for (stage, want) in [
            (json!({"slug": "safety", "title": "Again"}), (409, "SLUG_TAKEN")),
            (json!({"slug": "Bad Slug", "title": "X"}), (422, "INVALID_SLUG")),
            (json!({"title": "no slug"}), (422, "VALIDATION_ERROR")),
        ] {
            let (s, body) = api_post(&server, &format!("{course}/stages"), &t, stage.clone()).await;
            assert_eq!((s, code(&body)), want, "{stage}");
        }
        let (s, body, _) = call(
            &server,
            reqwest::Method::POST,
            &format!("{course}/stages"),
            Some(&t),
            None,
        )
        .await;
        assert_eq!((s, code(&body)), (400, "UNSUPPORTED_MEDIA_TYPE"));
        let res = reqwest::Client::new()
            .post(server.at(&format!("{course}/stages")))
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        let (s, body, _) = split(res).await;
        assert_eq!((s, code(&body)), (400, "MALFORMED_JSON"));

        let body_md = "Intro.\n\n## Emergency stops\n\nAn e-stop cuts motor power.\n\n## Pinch points\n\nKeep hands clear.\n";
        let (s, lesson) = api_post(
            &server,
            &format!("/api/v1/stages/{stage_id}/lessons"),
            &t,
            json!({"slug": "basics", "title": "Safety basics", "body": body_md,
                   "exercises": [{"id": "e1", "kind": "text", "prompt": "What does an e-stop cut?", "answer": "motor power", "hints": ["Think power."]}]}),
        )
        .await;
        assert_eq!(s, 201, "{lesson}");
        assert_eq!(lesson["chunks"], 3, "indexed for retrieval at once");
        assert_eq!(
            lesson["exercises"][0]["answer"],
            json!(["motor power"]),
            "staff see answers in the editor"
        );
        let lesson_id = lesson["id"].as_str().unwrap().to_string();
        let (s, body) = api_post(&server, &format!("/api/v1/stages/{stage_id}/lessons"), &t, json!({"slug": "x", "title": "X", "body": "b", "exercises": [{"id": "", "prompt": "", "answer": ""}]})).await;
        assert_eq!((s, code(&body)), (422, "INVALID_EXERCISE"));

        // Edit: the chunks follow the new text.
        let (s, edited) = api_patch(
            &server,
            &format!("/api/v1/lessons/{lesson_id}"),
            &t,
            json!({"body": "## Only one section\n\nLockout tagout procedures.\n"}),
        )
        .await;
        assert_eq!(s, 200, "{edited}");
        assert_eq!(edited["chunks"], 1);
        let texts: Vec<(String,)> = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT text FROM content_chunk WHERE lesson_id = $1").bind(&lesson_id).fetch_all(pool).await.unwrap());
        assert_eq!(texts[0].0, "Lockout tagout procedures.");

        // Markdown is sanitized when rendered.
        let (s, _) = api_patch(&server, &format!("/api/v1/lessons/{lesson_id}"), &t,
            json!({"body": "## Hi\n\nLockout tagout first.\n\n<script>alert(1)</script><a href=\"javascript:alert(1)\">x</a>"})).await;
        assert_eq!(s, 200);
        let (s, page) = api_get(
            &server,
            "/api/v1/courses/physical-ai/lessons/safety/basics",
            &t,
        )
        .await;
        assert_eq!(s, 200, "{page}");
        let html = page["html"].as_str().unwrap();
        assert!(
            !html.contains("<script") && !html.contains("javascript:"),
            "{html}"
        );

        // Reorder: the new stage first.
        let (_, outline) = api_get(&server, course, &t).await;
        let mut ids: Vec<String> = outline["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        let (s, body) = api_post(
            &server,
            &format!("{course}/stages/order"),
            &t,
            json!({"ids": ids[1..].to_vec()}),
        )
        .await;
        assert_eq!((s, code(&body)), (422, "INVALID_ORDER"));
        ids.retain(|i| *i != stage_id);
        ids.insert(0, stage_id.clone());
        let (s, body) = api_post(
            &server,
            &format!("{course}/stages/order"),
            &t,
            json!({"ids": ids}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body[0]["slug"], "safety");
        assert_eq!(body[0]["position"], 1);
        let (pos,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT DISTINCT stage_position FROM content_chunk WHERE lesson_id = $1").bind(&lesson_id).fetch_one(pool).await.unwrap());
        assert_eq!(pos, 1, "retrieval's stage filter follows the reorder");

        // Patch and delete.
        let (s, body) = api_patch(
            &server,
            &format!("/api/v1/stages/{stage_id}"),
            &t,
            json!({"title": "Safety first"}),
        )
        .await;
        assert_eq!((s, body["title"].as_str()), (200, Some("Safety first")));
        let lesson_path = format!("/api/v1/lessons/{lesson_id}");
        let (s, _) = api_delete(&server, &lesson_path, &t).await;
        assert_eq!(s, 204);
        let (s, body) = api_delete(&server, &lesson_path, &t).await;
        assert_eq!((s, code(&body)), (404, "LESSON_NOT_FOUND"));
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM content_chunk WHERE lesson_id = $1").bind(&lesson_id).fetch_one(pool).await.unwrap());
        assert_eq!(n, 0, "chunks go with the lesson");
        let (s, _) = api_delete(&server, &format!("/api/v1/stages/{stage_id}"), &t).await;
        assert_eq!(s, 204);
        let (_, outline) = api_get(&server, course, &t).await;
        let positions: Vec<i64> = outline["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["position"].as_i64().unwrap())
            .collect();
        assert_eq!(
            positions,
            (1..=positions.len() as i64).collect::<Vec<_>>(),
            "positions stay contiguous"
        );

        // Students are refused every authoring route.
        let st = verified_user(&server, "student@example.com").await;
        let st_t = token(&st, &server).await;
        for (m, p) in [
            (reqwest::Method::POST, format!("{course}/stages")),
            (reqwest::Method::POST, format!("{course}/stages/order")),
            (reqwest::Method::PATCH, "/api/v1/stages/x".to_string()),
            (reqwest::Method::DELETE, "/api/v1/stages/x".to_string()),
            (
                reqwest::Method::POST,
                "/api/v1/stages/x/lessons".to_string(),
            ),
            (
                reqwest::Method::POST,
                "/api/v1/stages/x/lessons/order".to_string(),
            ),
            (reqwest::Method::GET, "/api/v1/lessons/x/source".to_string()),
            (reqwest::Method::PATCH, "/api/v1/lessons/x".to_string()),
            (reqwest::Method::DELETE, "/api/v1/lessons/x".to_string()),
        ] {
            let (s, body, _) = call(&server, m.clone(), &p, Some(&st_t), Some(json!({}))).await;
            assert_eq!((s, code(&body)), (403, "FORBIDDEN_ROLE"), "{m} {p}");
        }
        server.stop().await;
    }
}
