//! Password recovery: single-use one-hour links, no enumeration, sessions end.

use chrono::Duration;
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::auth::*;

/// Sets a new password with the token of a reset link.
async fn reset_password(
    client: &reqwest::Client,
    server: &TestServer,
    token: &str,
    new_password: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let body = json!({"token": token, "newPassword": new_password});
    post(client, server, "/api/auth/reset-password", body).await
}

crate::per_database! {
    async fn reset_by_mailed_link_ends_other_sessions_and_works_once(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "forgot@example.com").await;
        let before = mails_to(&server, "forgot@example.com").len();
        let c = plain();
        let (s, body, _) = post(
            &c,
            &server,
            "/api/auth/request-password-reset",
            json!({"email": "Forgot@Example.com", "redirectTo": "/reset"}),
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(
            body,
            json!({"status": true, "message": "If this email exists in our system, check your email for the reset link"})
        );
        let mail = wait_for_mail(&server, "forgot@example.com", before + 1).await;
        assert_eq!(mail["subject"], "Reset your password");
        let link = link_in(&mail);
        assert!(
            link.contains("/api/auth/reset-password/") && link.ends_with("?callbackURL=%2Freset"),
            "{link}"
        );
        let path = link.trim_start_matches(&server.url).to_string();
        let token = path
            .split('/')
            .nth(4)
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_string();

        // Following the link hands the token to the app page.
        let res = c.get(server.at(&path)).send().await.unwrap();
        assert_eq!(res.status(), 302);
        assert_eq!(
            res.headers()["location"],
            format!("/reset?token={token}").as_str()
        );

        let (s, body, _) = reset_password(&c, &server, &token, "weak").await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("PASSWORD_TOO_SHORT")),
            "the policy applies"
        );
        let (s, body, _) = reset_password(&c, &server, &token, "Fresh-Start-2026!").await;
        assert_eq!((s, body), (200, json!({"status": true})));
        let (s, body, _) = reset_password(&c, &server, &token, "Again-And-Again-1!").await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("INVALID_TOKEN")),
            "a link works once"
        );
        let res = c.get(server.at(&path)).send().await.unwrap();
        assert_eq!(res.headers()["location"], "/reset?error=INVALID_TOKEN");

        let (_, session, _) = get(&b, &server, "/api/auth/get-session").await;
        assert_eq!(session, Value::Null, "every session ended");
        let (s, _, _) = email_sign_in(&c, &server, "forgot@example.com", "Fresh-Start-2026!").await;
        assert_eq!(s, 200);
        let notice = wait_for_mail(&server, "forgot@example.com", before + 2).await;
        assert_eq!(notice["subject"], "Your password was changed");
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM auth_event_log WHERE event_type = 'password_reset'").fetch_one(pool).await.unwrap());
        assert_eq!(n, 1);
        server.stop().await;
    }
}

crate::per_database! {
    async fn reset_links_expire_after_an_hour(backend) {
        let server = TestServer::start(backend).await;
        let _ = verified_user(&server, "late@example.com").await;
        let c = plain();
        post(
            &c,
            &server,
            "/api/auth/forget-password",
            json!({"email": "late@example.com"}),
        )
        .await;
        let mail = wait_for_mail(&server, "late@example.com", 2).await;
        let token = link_in(&mail)
            .split("/reset-password/")
            .nth(1)
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_string();
        server.clock.advance(Duration::minutes(61));
        let res = c
            .get(server.at(&format!(
                "/api/auth/reset-password/{token}?callbackURL=/reset"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["location"], "/reset?error=INVALID_TOKEN");
        let (s, body, _) = reset_password(&c, &server, &token, "Fresh-Start-2026!").await;
        assert_eq!((s, body["code"].as_str()), (400, Some("INVALID_TOKEN")));
    }
}

crate::per_database! {
    async fn unknown_emails_get_the_same_answer_and_no_mail(backend) {
        let server = TestServer::start(backend).await;
        let _ = verified_user(&server, "known@example.com").await;
        let c = plain();
        let (s1, b1, _) = post(
            &c,
            &server,
            "/api/auth/request-password-reset",
            json!({"email": "known@example.com"}),
        )
        .await;
        let (s2, b2, _) = post(
            &c,
            &server,
            "/api/auth/request-password-reset",
            json!({"email": "stranger@example.com"}),
        )
        .await;
        assert_eq!((s1, &b1), (s2, &b2));
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(mails_to(&server, "stranger@example.com").is_empty());
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM verification WHERE identifier LIKE 'reset-password:%'").fetch_one(pool).await.unwrap());
        assert_eq!(n, 1, "only the known account got a token");
        // Redirect targets are allow-listed; the link needs a callback.
        let (s, body, _) = post(
            &c,
            &server,
            "/api/auth/request-password-reset",
            json!({"email": "known@example.com", "redirectTo": "https://evil.example/steal"}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (403, Some("INVALID_REDIRECT_URL"))
        );
        let res = c
            .get(server.at("/api/auth/reset-password/sometoken"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let res = c
            .get(server.at("/api/auth/reset-password/sometoken?callbackURL=https://evil.example"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        server.stop().await;
    }
}
