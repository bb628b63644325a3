//! Admins acting as other users, and permission checks with Better-Auth's
//! access-control statements — one test per database.

use chrono::Duration;
use common::Clock as _;
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::auth::*;

fn cookie(h: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    h.get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .rfind(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

async fn user_id(server: &TestServer, b: &reqwest::Client) -> String {
    session_user(b, server).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

crate::per_database! {
    async fn an_admin_acts_as_a_student_and_comes_back(backend) {
        let server = TestServer::start(backend).await;
        let admin_b = admin(&server, "root@example.com").await;
        let admin_id = user_id(&server, &admin_b).await;
        let student = verified_user(&server, "stu@example.com").await;
        let student_id = user_id(&server, &student).await;

        let (s, body, h) = post(
            &admin_b,
            &server,
            "/api/auth/admin/impersonate-user",
            json!({"userId": student_id}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["user"]["id"], student_id.as_str());
        assert_eq!(body["session"]["impersonatedBy"], admin_id.as_str());
        let expires: chrono::DateTime<chrono::Utc> =
            body["session"]["expiresAt"].as_str().unwrap().parse().unwrap();
        assert!(expires <= server.clock.now() + Duration::hours(1));
        assert!(expires > server.clock.now() + Duration::minutes(59));
        let kept = cookie(&h, "better-auth.admin_session").expect("admin_session cookie");
        assert!(kept.contains("Max-Age=604800") && kept.contains("HttpOnly"), "{kept}");
        let token = cookie(&h, "better-auth.session_token").unwrap();
        assert!(!token.contains("Max-Age"), "a browser-session cookie: {token}");

        // The admin's browser is now the student, and says so.
        let (_, now, _) = get(&admin_b, &server, "/api/auth/get-session").await;
        assert_eq!(now["user"]["id"], student_id.as_str());
        assert_eq!(now["session"]["impersonatedBy"], admin_id.as_str());
        // The page shows a banner with the way back.
        let page = admin_b.get(server.at("/dashboard")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"acting-banner\""), "banner on the page");
        assert!(page.contains("data-action=\"stop-impersonating\""));
        assert!(page.contains("stu@example.com"));
        // The student does not see it among their own sessions.
        let (s, listed, _) = get(&student, &server, "/api/auth/list-sessions").await;
        assert_eq!(s, 200);
        assert!(listed.as_array().unwrap().iter().all(|s| s["impersonatedBy"].is_null()));
        // Acting as a student gives a student's rights only.
        let (s, _, _) = get(&admin_b, &server, "/api/auth/admin/list-users").await;
        assert_eq!(s, 403);

        let (s, back, h) = post(&admin_b, &server, "/api/auth/admin/stop-impersonating", json!({})).await;
        assert_eq!(s, 200, "{back}");
        assert_eq!(back["user"]["id"], admin_id.as_str());
        assert!(back["session"]["impersonatedBy"].is_null());
        assert!(cookie(&h, "better-auth.admin_session").unwrap().contains("Max-Age=0"));
        let (_, now, _) = get(&admin_b, &server, "/api/auth/get-session").await;
        assert_eq!(now["user"]["id"], admin_id.as_str());
        let (s, _, _) = get(&admin_b, &server, "/api/auth/admin/list-users").await;
        assert_eq!(s, 200, "admin rights are back");
        let (s, body, _) = post(&admin_b, &server, "/api/auth/admin/stop-impersonating", json!({})).await;
        assert_eq!((s, body["message"].as_str()), (400, Some("You are not impersonating anyone")));

        // The audit log shows who acted as whom, both ends.
        let started = audit_events(&server, "impersonation_started").await;
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].user_id.as_deref(), Some(admin_id.as_str()));
        assert_eq!(started[0].email.as_deref(), Some("root@example.com"));
        let details: Value = serde_json::from_str(&started[0].details).unwrap();
        assert_eq!(details["target_user_id"], student_id.as_str());
        assert_eq!(details["target_email"], "stu@example.com");
        let stopped = audit_events(&server, "impersonation_stopped").await;
        assert_eq!(stopped.len(), 1);
        assert_eq!(stopped[0].user_id.as_deref(), Some(admin_id.as_str()));
        let admin_page = admin_b.get(server.at("/admin")).send().await.unwrap().text().await.unwrap();
        assert!(admin_page.contains("acted as stu@example.com"), "the admin page names the target");
    }

    async fn impersonation_ends_after_an_hour(backend) {
        let server = TestServer::start(backend).await;
        let admin_b = admin(&server, "root@example.com").await;
        let student = verified_user(&server, "stu@example.com").await;
        let student_id = user_id(&server, &student).await;
        let (s, _, _) = post(&admin_b, &server, "/api/auth/admin/impersonate-user", json!({"userId": student_id})).await;
        assert_eq!(s, 200);
        server.clock.advance(Duration::minutes(61));
        let (_, now, _) = get(&admin_b, &server, "/api/auth/get-session").await;
        assert!(now.is_null(), "the impersonation session is gone: {now}");
    }

    async fn who_may_impersonate_whom(backend) {
        let server = TestServer::start(backend).await;
        let admin_b = admin(&server, "root@example.com").await;
        let other_admin = admin(&server, "second@example.com").await;
        let other_admin_id = user_id(&server, &other_admin).await;
        let instructor = with_role(&server, "teach@example.com", "instructor").await;
        let instructor_id = user_id(&server, &instructor).await;
        let student = verified_user(&server, "stu@example.com").await;
        let student_id = user_id(&server, &student).await;

        let (s, body, _) = post(&admin_b, &server, "/api/auth/admin/impersonate-user", json!({"userId": other_admin_id})).await;
        assert_eq!((s, body["code"].as_str()), (403, Some("YOU_CANNOT_IMPERSONATE_ADMINS")));
        for b in [&instructor, &student] {
            let (s, body, _) = post(b, &server, "/api/auth/admin/impersonate-user", json!({"userId": student_id})).await;
            assert_eq!(
                (s, body["code"].as_str()),
                (403, Some("YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS"))
            );
        }
        let (s, _, _) = post(&plain(), &server, "/api/auth/admin/impersonate-user", json!({"userId": student_id})).await;
        assert_eq!(s, 401);
        let (s, body, _) = post(&admin_b, &server, "/api/auth/admin/impersonate-user", json!({"userId": "nobody"})).await;
        assert_eq!((s, body["code"].as_str()), (404, Some("USER_NOT_FOUND")));
        // An admin may act as an instructor, but not chain to another user from there.
        let (s, _, _) = post(&admin_b, &server, "/api/auth/admin/impersonate-user", json!({"userId": instructor_id})).await;
        assert_eq!(s, 200);
        let (s, _, _) = post(&admin_b, &server, "/api/auth/admin/impersonate-user", json!({"userId": student_id})).await;
        assert_eq!(s, 403);
        assert!(audit_events(&server, "impersonation_started").await.len() == 1);
    }

    async fn has_permission_uses_the_role_statements(backend) {
        let server = TestServer::start(backend).await;
        let admin_b = admin(&server, "root@example.com").await;
        let instructor = with_role(&server, "teach@example.com", "instructor").await;
        let student = verified_user(&server, "stu@example.com").await;
        let check = |b: &reqwest::Client, permissions: Value| {
            let b = b.clone();
            let server = &server;
            async move {
                post(&b, server, "/api/auth/admin/has-permission", json!({"permissions": permissions})).await
            }
        };
        for (who, permissions, expected) in [
            (&admin_b, json!({"user": ["list"]}), true),
            (&admin_b, json!({"user": ["list", "ban"], "session": ["revoke"]}), true),
            (&admin_b, json!({"user": ["impersonate-admins"]}), false),
            (&admin_b, json!({"foo": ["bar"]}), false),
            (&admin_b, json!({"user": []}), false),
            (&instructor, json!({"course": ["author"]}), true),
            (&instructor, json!({"user": ["impersonate"]}), false),
            (&student, json!({"course": ["read"]}), true),
            (&student, json!({"course": ["author"]}), false),
        ] {
            let (s, body, _) = check(who, permissions.clone()).await;
            assert_eq!(s, 200, "{body}");
            assert_eq!(body, json!({"error": null, "success": expected}), "{permissions}");
        }
        // The session user is the subject, whatever the body names.
        let (_, body, _) = post(&student, &server, "/api/auth/admin/has-permission",
            json!({"permissions": {"user": ["list"]}, "role": "admin"})).await;
        assert_eq!(body["success"], false);
        let (s, body, _) = post(&admin_b, &server, "/api/auth/admin/has-permission",
            json!({"permissions": {"user": ["list"]}, "permission": {"user": ["list"]}})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("VALIDATION_ERROR")));
        let (s, body, _) = post(&admin_b, &server, "/api/auth/admin/has-permission",
            json!({"permission": {"user": ["list"]}})).await;
        assert_eq!(s, 400);
        assert_eq!(body["message"], "invalid permission check. no permission(s) were passed.");
        let (s, _, _) = post(&plain(), &server, "/api/auth/admin/has-permission",
            json!({"permissions": {"user": ["list"]}})).await;
        assert_eq!(s, 401);
        // The same statements guard the server's own routes.
        let (s, _, _) = get(&instructor, &server, "/api/auth/admin/list-users").await;
        assert_eq!(s, 403);
    }
}
