//! `/api/v1` follows the caller's role and ban as they are now, not as the
//! token said when it was issued: demoted, banned and deleted accounts lose
//! their power at once on the instance that changed them, and within the
//! standing cache's bound everywhere else.

use chrono::Duration;
use serde_json::{Value, json};

use crate::support::api::*;
use crate::support::auth::*;
use crate::support::chat::{create, send};
use crate::support::{Options, TestServer};

async fn user_id(client: &reqwest::Client, server: &TestServer) -> String {
    session_user(client, server).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn role_in_db(server: &TestServer, id: &str) -> String {
    let (role,): (String,) = common::on_db!(&server.db, pool => sqlx::query_as(
        r#"SELECT role FROM "user" WHERE id = $1"#).bind(id).fetch_one(pool).await.unwrap());
    role
}

crate::per_database! {
    async fn a_demoted_admin_cannot_restore_its_role_with_an_earlier_token(backend) {
        let server = TestServer::start(backend).await;
        let demoted = admin(&server, "was-admin@example.com").await;
        let old_token = token(&demoted, &server).await;
        let demoted_id = user_id(&demoted, &server).await;
        let boss = admin(&server, "boss@example.com").await;
        let boss_token = token(&boss, &server).await;
        // The earlier token works while the role stands.
        let (s, _) = api_get(&server, "/api/v1/admin/ai-usage", &old_token).await;
        assert_eq!(s, 200);

        let (s, body) = api_post(
            &server,
            &format!("/api/v1/admin/users/{demoted_id}/role"),
            &boss_token,
            json!({"role": "student"}),
        )
        .await;
        assert_eq!(s, 200, "{body}");

        let (s, body) = api_post(
            &server,
            &format!("/api/v1/admin/users/{demoted_id}/role"),
            &old_token,
            json!({"role": "admin"}),
        )
        .await;
        assert_eq!(s, 403, "{body}");
        assert_eq!(code(&body), "FORBIDDEN_ROLE");
        assert_eq!(role_in_db(&server, &demoted_id).await, "student");
        let (s, body) = api_get(&server, "/api/v1/admin/auth-events", &old_token).await;
        assert_eq!((s, code(&body)), (403, "FORBIDDEN_ROLE"), "admin reads too");
        let (s, me) = api_get(&server, "/api/v1/me", &old_token).await;
        assert_eq!(s, 200);
        assert_eq!(me["role"], "student", "the role as it is now: {me}");
        server.stop().await;
    }
}

crate::per_database! {
    async fn a_banned_admins_token_promotes_nobody_and_banned_users_are_refused(backend) {
        let server = TestServer::start(backend).await;
        let rogue = admin(&server, "rogue@example.com").await;
        let rogue_token = token(&rogue, &server).await;
        let rogue_id = user_id(&rogue, &server).await;
        let boss = admin(&server, "boss@example.com").await;
        let student = verified_user(&server, "pupil@example.com").await;
        let student_token = token(&student, &server).await;
        let student_id = user_id(&student, &server).await;

        let (s, body, _) = post(
            &boss,
            &server,
            "/api/auth/admin/ban-user",
            json!({"userId": rogue_id, "banReason": "compromised"}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        let (s, body) = api_post(
            &server,
            &format!("/api/v1/admin/users/{student_id}/role"),
            &rogue_token,
            json!({"role": "admin"}),
        )
        .await;
        assert_eq!(s, 403, "{body}");
        assert_eq!(code(&body), "BANNED_USER");
        assert_eq!(role_in_db(&server, &student_id).await, "student");

        // A banned student can neither enrol nor chat with an earlier token.
        post(
            &boss,
            &server,
            "/api/auth/admin/ban-user",
            json!({"userId": student_id}),
        )
        .await;
        let (s, body) = api_post(
            &server,
            "/api/v1/courses/physical-ai/enrol",
            &student_token,
            json!({}),
        )
        .await;
        assert_eq!((s, code(&body)), (403, "BANNED_USER"), "{body}");
        let res = send(&server, &student_token, create("hello")).await;
        assert_eq!(res.status(), 403);
        let body: Value = res.json().await.unwrap();
        assert_eq!(code(&body), "BANNED_USER");
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM chatkit_thread").fetch_one(pool).await.unwrap());
        assert_eq!(n, 0);

        // Lifting the ban restores access.
        post(
            &boss,
            &server,
            "/api/auth/admin/unban-user",
            json!({"userId": student_id}),
        )
        .await;
        let (s, _) = api_post(
            &server,
            "/api/v1/courses/physical-ai/enrol",
            &student_token,
            json!({}),
        )
        .await;
        assert_eq!(s, 201);
        server.stop().await;
    }
}

crate::per_database! {
    async fn a_deleted_users_token_is_refused_with_401_not_500(backend) {
        let server = TestServer::start(backend).await;
        let boss = admin(&server, "boss@example.com").await;
        let gone = verified_user(&server, "gone@example.com").await;
        let gone_token = token(&gone, &server).await;
        let gone_id = user_id(&gone, &server).await;
        let (s, _) = api_get(&server, "/api/v1/me", &gone_token).await;
        assert_eq!(s, 200);
        let (s, body, _) = post(
            &boss,
            &server,
            "/api/auth/admin/remove-user",
            json!({"userId": gone_id}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        for (method, path) in [
            (reqwest::Method::POST, "/api/v1/courses/physical-ai/enrol"),
            (reqwest::Method::GET, "/api/v1/me"),
            (reqwest::Method::GET, "/api/v1/courses"),
        ] {
            let (s, body, headers) =
                call(&server, method, path, Some(&gone_token), Some(json!({}))).await;
            assert_eq!(s, 401, "{path}: {body}");
            assert_eq!(code(&body), "UNAUTHENTICATED");
            assert!(headers.contains_key("www-authenticate"));
        }
        let res = send(&server, &gone_token, create("still here?")).await;
        assert_eq!(res.status(), 401);
        server.stop().await;
    }
}

crate::per_database! {
    async fn another_instance_follows_within_the_cache_bound_and_never_undoes_a_demotion(backend) {
        let first = TestServer::start(backend).await;
        let second = TestServer::start_with(
            backend,
            Options {
                database_url: Some(first.database_url.clone()),
                ..Options::default()
            }
            .var("BETTER_AUTH_URL", first.url.clone()),
        )
        .await;
        let demoted = admin(&first, "was-admin@example.com").await;
        let old_token = token(&demoted, &first).await;
        let demoted_id = user_id(&demoted, &first).await;
        let boss = admin(&first, "boss@example.com").await;
        let student = verified_user(&first, "pupil@example.com").await;
        let student_token = token(&student, &first).await;
        let student_id = user_id(&student, &first).await;
        // The second instance has both callers in its cache.
        let (s, _) = api_get(&second, "/api/v1/admin/ai-usage", &old_token).await;
        assert_eq!(s, 200);
        let (s, _) = api_get(&second, "/api/v1/me", &student_token).await;
        assert_eq!(s, 200);

        // The first instance demotes one and bans the other.
        let (s, _, _) = post(
            &boss,
            &first,
            "/api/auth/admin/set-role",
            json!({"userId": demoted_id, "role": "student"}),
        )
        .await;
        assert_eq!(s, 200);
        let (s, _, _) = post(
            &boss,
            &first,
            "/api/auth/admin/ban-user",
            json!({"userId": student_id}),
        )
        .await;
        assert_eq!(s, 200);

        // Inside the bound the second instance's cache still says admin, but
        // the write itself checks the database: the demotion stands.
        let (s, body) = api_post(
            &second,
            &format!("/api/v1/admin/users/{demoted_id}/role"),
            &old_token,
            json!({"role": "admin"}),
        )
        .await;
        assert_eq!(s, 403, "{body}");
        assert_eq!(role_in_db(&first, &demoted_id).await, "student");

        // Past the bound, reads follow too.
        second
            .clock
            .advance(auth::standing::TTL + Duration::milliseconds(1));
        let (s, body) = api_get(&second, "/api/v1/admin/ai-usage", &old_token).await;
        assert_eq!((s, code(&body)), (403, "FORBIDDEN_ROLE"));
        let (s, body) = api_get(&second, "/api/v1/me", &student_token).await;
        assert_eq!((s, code(&body)), (403, "BANNED_USER"));
        second.stop().await;
        first.stop().await;
    }
}
