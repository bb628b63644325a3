//! Email and password: sign-up, verification, sign-in, lockout, policy, rate limits.

use chrono::Duration;
use serde_json::json;

use crate::support::auth::*;
use crate::support::server::start_with_var;
use crate::support::{Backend, Options, TestServer};

crate::per_database! {
    async fn sign_up_verify_sign_in_on_both_databases(backend) {
        let server = TestServer::start(backend).await;
        let b = browser(&server);
        let (s, body, headers) = post(
            &b,
            &server,
            "/api/auth/sign-up/email",
            json!({"name": "Ada", "email": "Ada@Example.com", "password": PASSWORD, "callbackURL": "/dashboard"}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(
            body["token"],
            serde_json::Value::Null,
            "no session before verification"
        );
        assert_eq!(
            body["user"]["email"], "ada@example.com",
            "emails are stored lower-case"
        );
        assert_eq!(body["user"]["role"], "student");
        assert_eq!(body["user"]["emailVerified"], false);
        assert!(body["user"]["createdAt"].as_str().unwrap().ends_with('Z'));
        assert!(!headers.contains_key("set-cookie"));

        // Sign-in before verification: refused, and a new link is mailed.
        let (s, body, _) = email_sign_in(&b, &server, "ada@example.com", PASSWORD).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (403, Some("EMAIL_NOT_VERIFIED"))
        );
        let first = wait_for_mail(&server, "ada@example.com", 1).await;
        let second = wait_for_mail(&server, "ada@example.com", 2).await;
        assert_eq!(first["subject"], "Verify your email address");
        assert!(
            first["html"].as_str().unwrap().contains("<a href="),
            "mail has an HTML part"
        );
        let link = link_in(&first);
        assert!(
            link.starts_with(&format!("{}/api/auth/verify-email?token=", server.url)),
            "{link}"
        );
        assert_eq!(query_param(&link, "callbackURL"), "/dashboard");

        // Following the link redirects to the callback and works once.
        let path = link.trim_start_matches(&server.url).to_string();
        let res = b.get(server.at(&path)).send().await.unwrap();
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "/dashboard");
        let res = b.get(server.at(&path)).send().await.unwrap();
        assert_eq!(
            res.headers()["location"],
            "/dashboard?error=INVALID_TOKEN",
            "a link works once"
        );
        // The other outstanding link still verifies nothing new but is valid JSON-wise.
        let token2 = query_param(&link_in(&second), "token");
        let (s, _, _) = get(
            &b,
            &server,
            &format!("/api/auth/verify-email?token={token2}"),
        )
        .await;
        assert_eq!(s, 200);

        let (s, body, headers) = email_sign_in(&b, &server, "ADA@example.com", PASSWORD).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["redirect"], false);
        assert_eq!(body["user"]["emailVerified"], true);
        let token = body["token"].as_str().unwrap();
        assert_eq!(token.len(), 32);
        let cookie = headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|c| c.starts_with("better-auth.session_token="))
            .unwrap();
        assert!(
            cookie.contains("Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"),
            "{cookie}"
        );
        assert!(
            headers["set-auth-token"]
                .to_str()
                .unwrap()
                .starts_with(&format!("{token}."))
        );

        let user = session_user(&b, &server).await;
        assert_eq!(user["email"], "ada@example.com");

        let events: Vec<(String,)> = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT event_type FROM auth_event_log ORDER BY created_at, event_type").fetch_all(pool).await.unwrap());
        let events: Vec<_> = events.into_iter().map(|e| e.0).collect();
        for expected in [
            "register",
            "verification_sent",
            "login_failed",
            "email_verified",
            "login_success",
        ] {
            assert!(
                events.contains(&expected.to_string()),
                "{expected} missing from {events:?}"
            );
        }
        server.stop().await;
    }
}

crate::per_database! {
    async fn verification_links_expire_after_an_hour(backend) {
        let server = TestServer::start(backend).await;
        let b = browser(&server);
        email_sign_up(&b, &server, "Eve", "eve@example.com", PASSWORD).await;
        let token = query_param(
            &link_in(&wait_for_mail(&server, "eve@example.com", 1).await),
            "token",
        );
        server.clock.advance(Duration::minutes(61));
        let (s, body, _) = get(
            &b,
            &server,
            &format!("/api/auth/verify-email?token={token}"),
        )
        .await;
        assert_eq!((s, body["code"].as_str()), (401, Some("TOKEN_EXPIRED")));
        let (s, body, _) = get(&b, &server, "/api/auth/verify-email?token=nonsense").await;
        assert_eq!((s, body["code"].as_str()), (401, Some("INVALID_TOKEN")));
    }
}

crate::per_database! {
    async fn password_policy_names_every_failed_rule(backend) {
        let server = TestServer::start(backend).await;
        let b = browser(&server);
        let cases = [
            ("short1!A", "PASSWORD_TOO_SHORT", vec!["min_length"]),
            (
                "alllowercase-letters",
                "PASSWORD_TOO_WEAK",
                vec!["uppercase", "digit"],
            ),
            ("NoSpecialChars123", "PASSWORD_TOO_WEAK", vec!["special"]),
        ];
        for (pw, code, rules) in cases {
            let (s, body, _) = email_sign_up(&b, &server, "P", "p@example.com", pw).await;
            assert_eq!(
                (s, body["code"].as_str()),
                (400, Some(code)),
                "{pw}: {body}"
            );
            let failed: Vec<_> = body["failedRules"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect();
            assert_eq!(failed, rules, "{pw}");
            for r in rules {
                let text = match r {
                    "min_length" => "at least 12 characters",
                    "uppercase" => "an uppercase letter",
                    "digit" => "a digit",
                    "special" => "a special character",
                    _ => unreachable!(),
                };
                assert!(body["message"].as_str().unwrap().contains(text), "{body}");
            }
        }
        let long = format!("Aa1!{}", "x".repeat(130));
        let (s, body, _) = email_sign_up(&b, &server, "P", "p@example.com", &long).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("PASSWORD_TOO_LONG")));
        // Nothing was half-written.
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(r#"SELECT COUNT(*) FROM "user""#).fetch_one(pool).await.unwrap());
        assert_eq!(n, 0);
        server.stop().await;
    }
}

crate::per_database! {
    async fn sign_up_input_errors(backend) {
        let server = TestServer::start(backend).await;
        let b = browser(&server);
        let (s, body, _) = email_sign_up(&b, &server, "X", "not-an-email", PASSWORD).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("INVALID_EMAIL")));
        let (s, body, _) = post(
            &b,
            &server,
            "/api/auth/sign-up/email",
            json!({"email": "x@example.com", "password": PASSWORD}),
        )
        .await;
        assert_eq!((s, body["code"].as_str()), (400, Some("VALIDATION_ERROR")));
        let (s, body, _) = post(
            &b,
            &server,
            "/api/auth/sign-up/email",
            json!({"name": "X", "email": "x@example.com", "password": PASSWORD, "role": "admin"}),
        )
        .await;
        assert_eq!((s, body["code"].as_str()), (400, Some("FIELD_NOT_ALLOWED")));
        assert_eq!(body["message"], "role is not allowed to be set");
        let (s, body, _) = answer_to(
            b.post(server.at("/api/auth/sign-up/email"))
                .header("content-type", "text/plain")
                .body("hi"),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (415, Some("UNSUPPORTED_MEDIA_TYPE"))
        );
        let (s, body, _) = answer_to(
            b.post(server.at("/api/auth/sign-up/email"))
                .header("content-type", "application/json")
                .body("{oops"),
        )
        .await;
        assert_eq!((s, body["code"].as_str()), (400, Some("BAD_REQUEST")));
        // Forms work for progressive enhancement.
        let res = b
            .post(server.at("/api/auth/sign-up/email"))
            .form(&[
                ("name", "Form"),
                ("email", "form@example.com"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        // Unknown route and unknown method: 404 with an empty body.
        let res = b
            .post(server.at("/api/auth/nonexistent"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        assert_eq!(res.text().await.unwrap(), "");
        let res = b
            .delete(server.at("/api/auth/get-session"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
    }
}

#[tokio::test]
async fn an_existing_email_is_not_revealed_at_sign_up() {
    for backend in Backend::ALL {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "taken@example.com").await;
        let (s, body, _) = email_sign_up(&b, &server, "Other", "taken@example.com", PASSWORD).await;
        assert_eq!(s, 200, "same answer as for a new email: {body}");
        assert_eq!(body["token"], serde_json::Value::Null);
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(r#"SELECT COUNT(*) FROM "user""#).fetch_one(pool).await.unwrap());
        assert_eq!(n, 1);
        server.stop().await;
    }
    // Without required verification the conflict is reported, as Better-Auth does.
    let server = start_with_var(Backend::Sqlite, "AUTH_REQUIRE_EMAIL_VERIFICATION", "false").await;
    let b = browser(&server);
    let (s, body, h) = email_sign_up(&b, &server, "N", "n@example.com", PASSWORD).await;
    assert_eq!(s, 200);
    assert_eq!(
        body["token"].as_str().unwrap().len(),
        32,
        "auto sign-in when verification is off"
    );
    assert!(h.contains_key("set-auth-token"));
    let (s, body, _) = email_sign_up(&plain(), &server, "N", "n@example.com", PASSWORD).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"))
    );
}

crate::per_database! {
    async fn five_failures_lock_an_email_for_thirty_minutes_known_or_not(backend) {
        let server = TestServer::start(backend).await;
        let _ = verified_user(&server, "lock@example.com").await;
        let c = plain();
        for email in ["lock@example.com", "ghost@example.com"] {
            for attempt in 1..=4 {
                let (s, body, _) = email_sign_in(&c, &server, email, "Wrong-Password-1!").await;
                assert_eq!(
                    (s, body["code"].as_str()),
                    (401, Some("INVALID_EMAIL_OR_PASSWORD")),
                    "{email} attempt {attempt}"
                );
            }
            let (s, body, h) = email_sign_in(&c, &server, email, "Wrong-Password-1!").await;
            assert_eq!(
                (s, body["code"].as_str()),
                (423, Some("ACCOUNT_LOCKED")),
                "{email}: {body}"
            );
            assert!(
                body["message"].as_str().unwrap().contains("30 minutes"),
                "{body}"
            );
            assert!(body["lockedUntil"].as_str().unwrap().ends_with('Z'));
            assert_eq!(h["retry-after"], "1800");
            // Even the right password is refused while locked.
            let (s, body, _) = email_sign_in(&c, &server, email, PASSWORD).await;
            assert_eq!((s, body["code"].as_str()), (423, Some("ACCOUNT_LOCKED")));
        }
        // The known account got a notice; the unknown one cannot.
        let notice = wait_for_mail(&server, "lock@example.com", 2).await;
        assert_eq!(notice["subject"], "Sign-in temporarily locked");
        // A second instance on the same database sees the lock.
        let (until,): (Option<chrono::DateTime<chrono::Utc>>,) = common::on_db!(&server.db, pool =>
            sqlx::query_as("SELECT locked_until FROM login_lockout WHERE email = $1").bind("lock@example.com").fetch_one(pool).await.unwrap());
        assert!(until.is_some());

        server.clock.advance(Duration::minutes(29));
        let (s, _, _) = email_sign_in(&c, &server, "lock@example.com", PASSWORD).await;
        assert_eq!(s, 423);
        server.clock.advance(Duration::minutes(2));
        let (s, body, _) = email_sign_in(&c, &server, "lock@example.com", PASSWORD).await;
        assert_eq!(s, 200, "unlocked after 30 minutes: {body}");
        // Success reset the count: four more failures do not lock.
        for _ in 0..4 {
            let (s, _, _) = email_sign_in(&c, &server, "lock@example.com", "Wrong-Password-1!").await;
            assert_eq!(s, 401);
        }
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM auth_event_log WHERE event_type = 'account_locked'").fetch_one(pool).await.unwrap());
        assert_eq!(n, 2);
        server.stop().await;
    }
}

crate::per_database! {
    async fn wrong_password_and_unknown_email_answer_alike(backend) {
        let server = TestServer::start(backend).await;
        let _ = verified_user(&server, "real@example.com").await;
        let c = plain();
        let (s1, b1, _) = email_sign_in(&c, &server, "real@example.com", "Wrong-Password-1!").await;
        let (s2, b2, _) = email_sign_in(&c, &server, "nobody@example.com", "Wrong-Password-1!").await;
        assert_eq!((s1, &b1), (s2, &b2));
        assert_eq!(
            b1,
            json!({"message": "Invalid email or password", "code": "INVALID_EMAIL_OR_PASSWORD"})
        );
        let (s, body, _) = email_sign_in(&c, &server, "x@example.com", &"a".repeat(129)).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("PASSWORD_TOO_LONG")));
    }
}

crate::per_database! {
    async fn verification_can_be_switched_off(backend) {
        let server = start_with_var(backend, "AUTH_REQUIRE_EMAIL_VERIFICATION", "false").await;
        unverified_user(&server, "Q", "q@example.com").await;
        let c = browser(&server);
        let (s, body, _) = email_sign_in(&c, &server, "q@example.com", PASSWORD).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["user"]["emailVerified"], false);
    }
}

crate::per_database! {
    async fn send_verification_email_never_reveals_accounts(backend) {
        let server = TestServer::start(backend).await;
        let c = plain();
        let (s, body, _) = post(
            &c,
            &server,
            "/api/auth/send-verification-email",
            json!({"email": "nobody@example.com"}),
        )
        .await;
        assert_eq!((s, body), (200, json!({"status": true})));
        email_sign_up(&c, &server, "R", "r@example.com", PASSWORD).await;
        wait_for_mail(&server, "r@example.com", 1).await;
        let (s, body, _) = post(
            &c,
            &server,
            "/api/auth/send-verification-email",
            json!({"email": "r@example.com", "callbackURL": "/welcome"}),
        )
        .await;
        assert_eq!((s, body), (200, json!({"status": true})));
        let mail = wait_for_mail(&server, "r@example.com", 2).await;
        assert_eq!(query_param(&link_in(&mail), "callbackURL"), "/welcome");
        let (s, body, _) = post(
            &c,
            &server,
            "/api/auth/send-verification-email",
            json!({"email": "r@example.com", "callbackURL": "https://evil.example"}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (403, Some("INVALID_CALLBACK_URL"))
        );
        assert!(mails_to(&server, "nobody@example.com").is_empty());
        // Signed in and already verified.
        let v = verified_user(&server, "v@example.com").await;
        let (s, body, _) = post(
            &v,
            &server,
            "/api/auth/send-verification-email",
            json!({"email": "v@example.com"}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("EMAIL_ALREADY_VERIFIED"))
        );
        let (s, body, _) = post(
            &v,
            &server,
            "/api/auth/send-verification-email",
            json!({"email": "other@example.com"}),
        )
        .await;
        assert_eq!((s, body["code"].as_str()), (400, Some("EMAIL_MISMATCH")));
    }
}

crate::per_database! {
    async fn per_ip_rate_limits_follow_better_auth_defaults(backend) {
        let server = start_with_var(backend, "AUTH_RATE_LIMIT_ENABLED", "true").await;
        let c = plain();
        for _ in 0..3 {
            let (s, _, _) = email_sign_in(&c, &server, "a@example.com", "x").await;
            assert_eq!(s, 401);
        }
        let (s, body, h) = email_sign_in(&c, &server, "a@example.com", "x").await;
        assert_eq!(s, 429);
        assert_eq!(
            body,
            json!({"message": "Too many requests. Please try again later."})
        );
        assert_eq!(h["x-retry-after"], "10");
        server.clock.advance(Duration::seconds(4));
        let (_, _, h) = email_sign_in(&c, &server, "a@example.com", "x").await;
        assert_eq!(h["x-retry-after"], "6");
        server.clock.advance(Duration::seconds(7));
        let (s, _, _) = email_sign_in(&c, &server, "a@example.com", "x").await;
        assert_eq!(s, 401, "the window reopened");
        // Mail routes: 3 per 60 s.
        for _ in 0..3 {
            let (s, _, _) = post(
                &c,
                &server,
                "/api/auth/send-verification-email",
                json!({"email": "a@example.com"}),
            )
            .await;
            assert_eq!(s, 200);
        }
        let (s, _, h) = post(
            &c,
            &server,
            "/api/auth/send-verification-email",
            json!({"email": "a@example.com"}),
        )
        .await;
        assert_eq!(s, 429);
        assert_eq!(h["x-retry-after"], "60");
        // get-session is not limited.
        for _ in 0..10 {
            let (s, _, _) = get(&c, &server, "/api/auth/get-session").await;
            assert_eq!(s, 200);
        }
        server.stop().await;
    }
}

crate::per_database! {
    async fn forwarded_addresses_count_only_through_trusted_proxies(backend) {
        let server = TestServer::start_with(
            backend,
            Options::default()
                .var("AUTH_RATE_LIMIT_ENABLED", "true")
                .var("TRUSTED_PROXIES", "127.0.0.1/32"),
        )
        .await;
        let c = plain();
        let hit = |ip: &'static str| {
            let c = c.clone();
            let url = server.at("/api/auth/sign-in/email");
            async move {
                c.post(url)
                    .header("x-forwarded-for", ip)
                    .json(&json!({"email": "a@example.com", "password": "x"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        for _ in 0..3 {
            assert_eq!(hit("203.0.113.1").await, 401);
        }
        assert_eq!(hit("203.0.113.1").await, 429);
        assert_eq!(
            hit("203.0.113.2").await,
            401,
            "another client behind the proxy has its own window"
        );

        // Without trusted proxies the header is ignored: every request is the peer's.
        let server = start_with_var(backend, "AUTH_RATE_LIMIT_ENABLED", "true").await;
        let mut statuses = Vec::new();
        for i in 0..4 {
            let res = c
                .post(server.at("/api/auth/sign-in/email"))
                .header("x-forwarded-for", format!("198.51.100.{i}"))
                .json(&json!({"email": "a@example.com", "password": "x"}))
                .send()
                .await
                .unwrap();
            statuses.push(res.status().as_u16());
        }
        assert_eq!(statuses, vec![401, 401, 401, 429]);
    }
}

#[tokio::test]
async fn a_lock_holds_across_instances_sharing_the_database() {
    let first = TestServer::start(Backend::Postgres).await;
    let _ = verified_user(&first, "shared@example.com").await;
    let url = match &first.db {
        common::Db::Postgres(_) => first.database_url.clone(),
        _ => unreachable!(),
    };
    let second = TestServer::start_with(
        Backend::Postgres,
        Options {
            database_url: Some(url),
            ..Default::default()
        },
    )
    .await;
    let c = plain();
    // Failures spread over both instances count together.
    for (i, server) in [&first, &second, &first, &second].iter().enumerate() {
        let (s, _, _) = email_sign_in(&c, server, "shared@example.com", "Wrong-Password-1!").await;
        assert_eq!(s, 401, "attempt {i}");
    }
    let (s, body, _) = email_sign_in(&c, &second, "shared@example.com", "Wrong-Password-1!").await;
    assert_eq!((s, body["code"].as_str()), (423, Some("ACCOUNT_LOCKED")));
    let (s, body, _) = email_sign_in(&c, &first, "shared@example.com", PASSWORD).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (423, Some("ACCOUNT_LOCKED")),
        "the other instance sees the lock"
    );
}
