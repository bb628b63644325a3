//! Sessions: cookies, bearer tokens, sliding expiry, remember-me, listing,
//! revocation, sign-out, password change.

use chrono::Duration;
use serde_json::{Value, json};

use crate::support::auth::*;
use crate::support::{Options, TestServer};

fn cookie<'a>(h: &'a reqwest::header::HeaderMap, prefix: &str) -> Option<&'a str> {
    h.get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with(prefix))
}

crate::per_database! {
    async fn get_session_returns_null_or_the_session_with_a_jwt(backend) {
        let server = TestServer::start(backend).await;
        let (s, body, h) = get(&plain(), &server, "/api/auth/get-session").await;
        assert_eq!((s, body), (200, Value::Null));
        assert_eq!(h["cache-control"], "no-store");
        let b = verified_user(&server, "s@example.com").await;
        let (s, body, h) = get(&b, &server, "/api/auth/get-session").await;
        assert_eq!(s, 200);
        assert_eq!(body["user"]["email"], "s@example.com");
        assert_eq!(body["session"]["token"].as_str().unwrap().len(), 32);
        assert!(
            body["session"]["expiresAt"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
        assert_eq!(h["pragma"], "no-cache");
        let jwt = h["set-auth-jwt"].to_str().unwrap();
        assert_eq!(jwt.split('.').count(), 3);
        // A tampered cookie is no session.
        let res = plain()
            .get(server.at("/api/auth/get-session"))
            .header(
                "cookie",
                format!(
                    "better-auth.session_token={}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D",
                    body["session"]["token"].as_str().unwrap()
                ),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.text().await.unwrap(), "null");
        server.stop().await;
    }
}

crate::per_database! {
    async fn bearer_tokens_work_like_the_cookie(backend) {
        let server = TestServer::start(backend).await;
        let _ = verified_user(&server, "bearer@example.com").await;
        let c = plain();
        let (s, body, h) = email_sign_in(&c, &server, "bearer@example.com", PASSWORD).await;
        assert_eq!(s, 200);
        let signed = h["set-auth-token"].to_str().unwrap().to_string();
        let raw = body["token"].as_str().unwrap().to_string();
        for t in [&signed, &raw] {
            let res = c
                .get(server.at("/api/auth/get-session"))
                .bearer_auth(t)
                .send()
                .await
                .unwrap();
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["user"]["email"], "bearer@example.com");
        }
        let res = c
            .get(server.at("/api/auth/get-session"))
            .bearer_auth("garbage.token")
            .send()
            .await
            .unwrap();
        assert_eq!(res.text().await.unwrap(), "null");
        // A bearer POST needs no Origin: there is no ambient credential to abuse.
        let res = c
            .post(server.at("/api/auth/sign-out"))
            .bearer_auth(&signed)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = c
            .get(server.at("/api/auth/get-session"))
            .bearer_auth(&signed)
            .send()
            .await
            .unwrap();
        assert_eq!(res.text().await.unwrap(), "null");
    }
}

crate::per_database! {
    async fn sessions_slide_daily_and_expire_after_a_week(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "slide@example.com").await;
        let (_, first, h) = get(&b, &server, "/api/auth/get-session").await;
        assert!(
            cookie(&h, "better-auth.session_token=").is_none(),
            "no refresh within the first day"
        );
        server.clock.advance(Duration::days(2));
        let (_, second, h) = get(&b, &server, "/api/auth/get-session").await;
        assert!(
            cookie(&h, "better-auth.session_token=")
                .unwrap()
                .contains("Max-Age=604800")
        );
        assert!(
            second["session"]["expiresAt"].as_str() > first["session"]["expiresAt"].as_str(),
            "expiry moved forward"
        );
        server.clock.advance(Duration::days(8));
        let (_, body, h) = get(&b, &server, "/api/auth/get-session").await;
        assert_eq!(body, Value::Null);
        assert!(
            cookie(&h, "better-auth.session_token=")
                .unwrap()
                .contains("Max-Age=0"),
            "expired cookie cleared"
        );
        server.stop().await;
    }
}

crate::per_database! {
    async fn remember_me_off_gives_a_browser_session_cookie_for_a_day(backend) {
        let server = TestServer::start(backend).await;
        let _ = verified_user(&server, "rm@example.com").await;
        let b = browser(&server);
        let (s, body, h) = post(
            &b,
            &server,
            "/api/auth/sign-in/email",
            json!({"email": "rm@example.com", "password": PASSWORD, "rememberMe": false}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        let c = cookie(&h, "better-auth.session_token=").unwrap();
        assert!(!c.contains("Max-Age"), "a browser-session cookie: {c}");
        assert!(cookie(&h, "better-auth.dont_remember=true.").is_some());
        server.clock.advance(Duration::hours(23));
        assert_eq!(session_user(&b, &server).await["email"], "rm@example.com");
        server.clock.advance(Duration::hours(2));
        let (_, body, _) = get(&b, &server, "/api/auth/get-session").await;
        assert_eq!(body, Value::Null);
    }
}

crate::per_database! {
    async fn https_base_urls_use_secure_prefixed_cookies(backend) {
        let server = TestServer::start_with(
            backend,
            Options::default()
                .var("BETTER_AUTH_URL", "https://auth.example.com")
                .var("AUTH_REQUIRE_EMAIL_VERIFICATION", "false"),
        )
        .await;
        let (s, _, h) = email_sign_up(&plain(), &server, "H", "h@example.com", PASSWORD).await;
        assert_eq!(s, 200);
        let c = cookie(&h, "__Secure-better-auth.session_token=").unwrap();
        assert!(
            c.ends_with("; Path=/; HttpOnly; Secure; SameSite=Lax"),
            "{c}"
        );
    }
}

crate::per_database! {
    async fn list_revoke_and_sign_out(backend) {
        let server = TestServer::start(backend).await;
        let a = verified_user(&server, "multi@example.com").await;
        let second = browser(&server);
        let (_, body, _) = email_sign_in(&second, &server, "multi@example.com", PASSWORD).await;
        let second_token = body["token"].as_str().unwrap().to_string();
        let third = browser(&server);
        email_sign_in(&third, &server, "multi@example.com", PASSWORD).await;

        let (s, list, _) = get(&a, &server, "/api/auth/list-sessions").await;
        assert_eq!(s, 200);
        assert_eq!(list.as_array().unwrap().len(), 3);

        // Revoking a token that is not yours does nothing, quietly.
        let other = verified_user(&server, "other@example.com").await;
        let (s, body, _) = post(
            &other,
            &server,
            "/api/auth/revoke-session",
            json!({"token": second_token}),
        )
        .await;
        assert_eq!((s, body), (200, json!({"status": true})));
        assert_eq!(
            session_user(&second, &server).await["email"],
            "multi@example.com"
        );

        let (s, _, _) = post(
            &a,
            &server,
            "/api/auth/revoke-session",
            json!({"token": second_token}),
        )
        .await;
        assert_eq!(s, 200);
        let (_, body, _) = get(&second, &server, "/api/auth/get-session").await;
        assert_eq!(body, Value::Null);

        let (s, _, _) = post(&a, &server, "/api/auth/revoke-other-sessions", json!({})).await;
        assert_eq!(s, 200);
        let (_, body, _) = get(&third, &server, "/api/auth/get-session").await;
        assert_eq!(body, Value::Null);
        assert_eq!(
            session_user(&a, &server).await["email"],
            "multi@example.com"
        );

        let (s, body, h) = post(&a, &server, "/api/auth/sign-out", json!({})).await;
        assert_eq!((s, body), (200, json!({"success": true})));
        assert!(
            cookie(&h, "better-auth.session_token=;")
                .unwrap()
                .contains("Max-Age=0")
        );
        let (_, body, _) = get(&a, &server, "/api/auth/get-session").await;
        assert_eq!(body, Value::Null);

        // revoke-sessions ends every session including the current one.
        let x = browser(&server);
        email_sign_in(&x, &server, "other@example.com", PASSWORD).await;
        let (s, _, _) = post(&other, &server, "/api/auth/revoke-sessions", json!({})).await;
        assert_eq!(s, 200);
        for c in [&other, &x] {
            let (_, body, _) = get(c, &server, "/api/auth/get-session").await;
            assert_eq!(body, Value::Null);
        }
        // Without a session these routes are 401.
        for path in [
            "/api/auth/revoke-session",
            "/api/auth/revoke-sessions",
            "/api/auth/revoke-other-sessions",
            "/api/auth/change-password",
            "/api/auth/update-user",
        ] {
            let (s, body, _) = post(
                &plain(),
                &server,
                path,
                json!({"token": "x", "newPassword": "x", "currentPassword": "y", "name": "n"}),
            )
            .await;
            assert_eq!(
                (s, body["code"].as_str()),
                (401, Some("UNAUTHORIZED")),
                "{path}"
            );
        }
        for path in [
            "/api/auth/list-sessions",
            "/api/auth/list-accounts",
            "/api/auth/token",
        ] {
            let (s, _, _) = get(&plain(), &server, path).await;
            assert_eq!(s, 401, "{path}");
        }
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM auth_event_log WHERE event_type IN ('logout', 'session_revoked')").fetch_one(pool).await.unwrap());
        assert!(n >= 4, "{n}");
        server.stop().await;
    }
}

crate::per_database! {
    async fn listing_sessions_needs_a_fresh_session(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "fresh@example.com").await;
        server.clock.advance(Duration::hours(25));
        let (s, body, _) = get(&b, &server, "/api/auth/list-sessions").await;
        assert_eq!((s, body["code"].as_str()), (403, Some("SESSION_NOT_FRESH")));
    }
}

crate::per_database! {
    async fn change_password_checks_the_current_one_and_can_end_other_sessions(backend) {
        let server = TestServer::start(backend).await;
        let a = verified_user(&server, "cp@example.com").await;
        let other = browser(&server);
        email_sign_in(&other, &server, "cp@example.com", PASSWORD).await;
        let (s, body, _) = post(
            &a,
            &server,
            "/api/auth/change-password",
            json!({"currentPassword": "Nope-Nope-123!", "newPassword": "Brand-New-Pass-9?"}),
        )
        .await;
        assert_eq!((s, body["code"].as_str()), (400, Some("INVALID_PASSWORD")));
        let (s, body, _) = post(
            &a,
            &server,
            "/api/auth/change-password",
            json!({"currentPassword": PASSWORD, "newPassword": "weak"}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("PASSWORD_TOO_SHORT"))
        );
        let (s, body, h) = post(
            &a,
            &server,
            "/api/auth/change-password",
            json!({"currentPassword": PASSWORD, "newPassword": "Brand-New-Pass-9?", "revokeOtherSessions": true}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["token"].as_str().unwrap().len(), 32);
        assert!(h.contains_key("set-auth-token"));
        let (_, body, _) = get(&other, &server, "/api/auth/get-session").await;
        assert_eq!(body, Value::Null, "other sessions ended");
        assert_eq!(
            session_user(&a, &server).await["email"],
            "cp@example.com",
            "this browser got the new session"
        );
        let (s, _, _) = email_sign_in(&plain(), &server, "cp@example.com", "Brand-New-Pass-9?").await;
        assert_eq!(s, 200);
        let (s, _, _) = email_sign_in(&plain(), &server, "cp@example.com", PASSWORD).await;
        assert_eq!(s, 401);
        let notice = wait_for_mail(&server, "cp@example.com", 2).await;
        assert_eq!(notice["subject"], "Your password was changed");
        server.stop().await;
    }
}

crate::per_database! {
    async fn update_user_and_list_accounts(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "upd@example.com").await;
        let (s, body, _) = post(
            &b,
            &server,
            "/api/auth/update-user",
            json!({"name": "New Name", "image": "https://img.example/a.png"}),
        )
        .await;
        assert_eq!((s, body), (200, json!({"status": true})));
        let user = session_user(&b, &server).await;
        assert_eq!(
            (user["name"].as_str(), user["image"].as_str()),
            (Some("New Name"), Some("https://img.example/a.png"))
        );
        let (s, body, _) = post(
            &b,
            &server,
            "/api/auth/update-user",
            json!({"email": "x@example.com"}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("EMAIL_CAN_NOT_BE_UPDATED"))
        );
        let (s, body, _) = post(
            &b,
            &server,
            "/api/auth/update-user",
            json!({"role": "admin"}),
        )
        .await;
        assert_eq!((s, body["code"].as_str()), (400, Some("FIELD_NOT_ALLOWED")));
        let (s, body, _) = post(&b, &server, "/api/auth/update-user", json!({})).await;
        assert_eq!((s, body), (400, json!({"message": "No fields to update"})));
        let (s, body, _) = get(&b, &server, "/api/auth/list-accounts").await;
        assert_eq!(s, 200);
        let accounts = body.as_array().unwrap();
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0]["providerId"], "credential");
        assert_eq!(accounts[0]["accountId"], user["id"]);
        assert!(
            accounts[0].get("password").is_none(),
            "hashes never leave the server"
        );
    }
}
