//! Roles and the admin routes.

use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::auth::*;

crate::per_database! {
    async fn admin_routes_are_admin_only_and_audited(backend) {
        let server = TestServer::start(backend).await;
        let admin_b = admin(&server, "root@example.com").await;
        let student = verified_user(&server, "stu@example.com").await;
        let student_id = session_user(&student, &server).await["id"]
            .as_str()
            .unwrap()
            .to_string();

        // Students and strangers are refused.
        let (s, body, _) = get(&student, &server, "/api/auth/admin/list-users").await;
        assert_eq!(
            (s, body["code"].as_str()),
            (403, Some("YOU_ARE_NOT_ALLOWED_TO_LIST_USERS"))
        );
        let (s, body, _) = post(
            &student,
            &server,
            "/api/auth/admin/set-role",
            json!({"userId": student_id, "role": "admin"}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (403, Some("YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE"))
        );
        let (s, _, _) = get(&plain(), &server, "/api/auth/admin/list-users").await;
        assert_eq!(s, 401);

        // set-role, with unknown roles refused.
        let (s, body, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/set-role",
            json!({"userId": student_id, "role": "wizard"}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE"))
        );
        let (s, body, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/set-role",
            json!({"userId": student_id, "role": "instructor"}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["user"]["role"], "instructor");
        assert_eq!(
            session_user(&student, &server).await["role"],
            "instructor",
            "visible on the next read, no new sign-in"
        );
        let (s, _, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/set-role",
            json!({"userId": "missing", "role": "student"}),
        )
        .await;
        assert_eq!(s, 404);

        // list-users: search, filter, paging.
        for i in 0..5 {
            let (s, body, _) = post(
                &admin_b,
                &server,
                "/api/auth/admin/create-user",
                json!({"email": format!("bulk{i}@example.com"), "name": format!("Bulk {i}"), "password": PASSWORD, "role": "student"}),
            )
            .await;
            assert_eq!(s, 200, "{body}");
        }
        let (s, body, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/create-user",
            json!({"email": "bulk0@example.com", "name": "Dup", "password": PASSWORD}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"))
        );
        let (s, body, _) = get(
            &admin_b,
            &server,
            "/api/auth/admin/list-users?searchValue=bulk&limit=2&offset=1&sortBy=email",
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(body["total"], 5);
        let emails: Vec<_> = body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(emails, vec!["bulk1@example.com", "bulk2@example.com"]);
        let (_, body, _) = get(
            &admin_b,
            &server,
            "/api/auth/admin/list-users?filterField=role&filterValue=instructor",
        )
        .await;
        assert_eq!(body["total"], 1);
        let (_, body, _) = get(
            &admin_b,
            &server,
            "/api/auth/admin/list-users?searchValue=100%25",
        )
        .await;
        assert_eq!(body["total"], 0, "LIKE wildcards in input are literal");
        let (s, _, _) = get(&admin_b, &server, "/api/auth/admin/list-users?limit=-1").await;
        assert_eq!(s, 400);

        let (s, body, _) = get(
            &admin_b,
            &server,
            &format!("/api/auth/admin/get-user?id={student_id}"),
        )
        .await;
        assert_eq!((s, body["email"].as_str()), (200, Some("stu@example.com")));

        // update-user
        let (s, body, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/update-user",
            json!({"userId": student_id, "data": {"name": "Renamed"}}),
        )
        .await;
        assert_eq!((s, body["name"].as_str()), (200, Some("Renamed")));
        let (s, body, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/update-user",
            json!({"userId": student_id, "data": {"password": "x"}}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER"))
        );

        // Sessions of a user.
        let (s, body, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/list-user-sessions",
            json!({"userId": student_id}),
        )
        .await;
        assert_eq!(s, 200);
        let token = body["sessions"][0]["token"].as_str().unwrap().to_string();
        let (s, _, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/revoke-user-session",
            json!({"sessionToken": token}),
        )
        .await;
        assert_eq!(s, 200);
        let (_, body, _) = get(&student, &server, "/api/auth/get-session").await;
        assert_eq!(body, Value::Null);

        // Ban: blocks sign-in and ends sessions; unban restores.
        let again = browser(&server);
        email_sign_in(&again, &server, "stu@example.com", PASSWORD).await;
        let (s, body, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/ban-user",
            json!({"userId": student_id, "banReason": "spam"}),
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(
            (
                body["user"]["banned"].as_bool(),
                body["user"]["banReason"].as_str()
            ),
            (Some(true), Some("spam"))
        );
        let (_, body, _) = get(&again, &server, "/api/auth/get-session").await;
        assert_eq!(body, Value::Null, "ban revokes sessions");
        let (s, body, _) = email_sign_in(&plain(), &server, "stu@example.com", PASSWORD).await;
        assert_eq!((s, body["code"].as_str()), (403, Some("BANNED_USER")));
        let (s, body, _) = email_sign_in(&plain(), &server, "stu@example.com", "Wrong-Password-1!").await;
        assert_eq!(
            (s, body["code"].as_str()),
            (401, Some("INVALID_EMAIL_OR_PASSWORD")),
            "a ban is not revealed without the password"
        );
        let admin_id = session_user(&admin_b, &server).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, body, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/ban-user",
            json!({"userId": admin_id}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("YOU_CANNOT_BAN_YOURSELF"))
        );
        let (s, _, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/unban-user",
            json!({"userId": student_id}),
        )
        .await;
        assert_eq!(s, 200);
        let (s, _, _) = email_sign_in(&plain(), &server, "stu@example.com", PASSWORD).await;
        assert_eq!(s, 200);

        // set-user-password, revoke-user-sessions, remove-user.
        let (s, body, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/set-user-password",
            json!({"userId": student_id, "newPassword": "short"}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("PASSWORD_TOO_SHORT"))
        );
        let (s, _, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/set-user-password",
            json!({"userId": student_id, "newPassword": "Admin-Set-Pass-7#"}),
        )
        .await;
        assert_eq!(s, 200);
        let (s, _, _) = email_sign_in(&plain(), &server, "stu@example.com", "Admin-Set-Pass-7#").await;
        assert_eq!(s, 200);
        let (s, _, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/revoke-user-sessions",
            json!({"userId": student_id}),
        )
        .await;
        assert_eq!(s, 200);
        let (_, body, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/list-user-sessions",
            json!({"userId": student_id}),
        )
        .await;
        assert_eq!(body["sessions"].as_array().unwrap().len(), 0);
        let (s, body, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/remove-user",
            json!({"userId": admin_id}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("YOU_CANNOT_REMOVE_YOURSELF"))
        );
        let (s, _, _) = post(
            &admin_b,
            &server,
            "/api/auth/admin/remove-user",
            json!({"userId": student_id}),
        )
        .await;
        assert_eq!(s, 200);
        let (s, _, _) = get(
            &admin_b,
            &server,
            &format!("/api/auth/admin/get-user?id={student_id}"),
        )
        .await;
        assert_eq!(s, 404);

        let events: Vec<(String, String)> = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT event_type, details FROM auth_event_log WHERE event_type IN ('role_changed', 'user_banned', 'user_unbanned')").fetch_all(pool).await.unwrap());
        let kinds: Vec<_> = events.iter().map(|e| e.0.as_str()).collect();
        assert!(
            kinds.contains(&"role_changed")
                && kinds.contains(&"user_banned")
                && kinds.contains(&"user_unbanned"),
            "{kinds:?}"
        );
        let role = events.iter().find(|e| e.0 == "role_changed").unwrap();
        let details: Value = serde_json::from_str(&role.1).unwrap();
        assert_eq!(
            (details["from"].as_str(), details["to"].as_str()),
            (Some("student"), Some("instructor"))
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn users_cli_bootstraps_an_admin_and_changes_roles() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let run = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_intellistack"));
        cmd.env_clear()
            .env("DATA_DIR", dir.path())
            .env("DATABASE_URL", &db)
            .env("RUST_LOG", "warn")
            .current_dir(dir.path())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    };
    // In order, each on what the ones before left: the command line, its
    // standard input, the exit code, and what it prints (to stdout when it
    // succeeds, else to stderr).
    let steps = [
        (
            "users create --email Boss@Example.com --role admin --password-stdin",
            Some("Boss-Passw0rd!!\n"),
            0,
            "boss@example.com> with role admin",
        ),
        (
            "users create --email weak@example.com --password weak",
            None,
            2,
            "PASSWORD_TOO_SHORT",
        ),
        (
            "users set-role --email boss@example.com --role instructor",
            None,
            0,
            "is now instructor",
        ),
        (
            "users set-role --email nobody@example.com --role admin",
            None,
            1,
            "no user with email",
        ),
    ];
    for (line, stdin, code, says) in steps {
        let args: Vec<&str> = line.split_whitespace().collect();
        let out = run(&args, stdin);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{line}: {stderr}");
        let printed = if code == 0 { stdout } else { stderr };
        assert!(printed.contains(says), "{line}: {printed}");
    }
}

crate::per_database! {
    async fn every_admin_route_refuses_students_and_strangers(backend) {
        let server = TestServer::start(backend).await;
        let student = verified_user(&server, "nosy@example.com").await;
        let posts = [
            "/api/auth/admin/set-role",
            "/api/auth/admin/create-user",
            "/api/auth/admin/update-user",
            "/api/auth/admin/ban-user",
            "/api/auth/admin/unban-user",
            "/api/auth/admin/remove-user",
            "/api/auth/admin/set-user-password",
            "/api/auth/admin/list-user-sessions",
            "/api/auth/admin/revoke-user-session",
            "/api/auth/admin/revoke-user-sessions",
        ];
        let body = json!({"userId": "x", "role": "admin", "email": "a@example.com", "name": "n", "newPassword": "Admin-Set-Pass-7#", "sessionToken": "t", "data": {"name": "n"}});
        for path in posts {
            let (s, b, _) = post(&student, &server, path, body.clone()).await;
            assert_eq!(s, 403, "{path}: {b}");
            assert!(
                b["code"]
                    .as_str()
                    .unwrap()
                    .starts_with("YOU_ARE_NOT_ALLOWED"),
                "{path}: {b}"
            );
            let (s, _, _) = post(&plain(), &server, path, body.clone()).await;
            assert_eq!(s, 401, "{path} without a session");
        }
        for path in [
            "/api/auth/admin/list-users",
            "/api/auth/admin/get-user?id=x",
        ] {
            let (s, _, _) = get(&student, &server, path).await;
            assert_eq!(s, 403, "{path}");
            let (s, _, _) = get(&plain(), &server, path).await;
            assert_eq!(s, 401, "{path}");
        }
        server.stop().await;
    }
}
