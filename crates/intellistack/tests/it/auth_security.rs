//! Security rules: Origin/CSRF checks, redirect allow-lists, CORS, and no
//! secrets in the audit log or the logs.

use serde_json::json;

use crate::support::TestServer;
use crate::support::auth::*;
use crate::support::http::{json_of, text_at};
use crate::support::server::start_with_var;

crate::per_database! {
    async fn cookie_bearing_posts_need_a_trusted_origin(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "csrf@example.com").await;
        let token = session_user(&b, &server).await;
        assert_eq!(token["email"], "csrf@example.com");
        let (_, session, _) = get(&b, &server, "/api/auth/get-session").await;
        let signed = auth::cookies::encode(&auth::cookies::sign(
            auth_secret(),
            session["session"]["token"].as_str().unwrap(),
        ));
        let cookie = format!("better-auth.session_token={signed}");
        let c = plain();
        let send = |origin: Option<&'static str>| {
            let mut req = c
                .post(server.at("/api/auth/sign-out"))
                .header("cookie", cookie.clone())
                .json(&json!({}));
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            req.send()
        };
        let (s, body, _) = split(send(Some("http://evil.example")).await.unwrap()).await;
        assert_eq!(
            (s, body),
            (
                403,
                json!({"message": "Invalid origin", "code": "INVALID_ORIGIN"})
            )
        );
        let (s, body, _) = split(send(None).await.unwrap()).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (403, Some("MISSING_OR_NULL_ORIGIN"))
        );
        let (s, body, _) = split(send(Some("null")).await.unwrap()).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (403, Some("MISSING_OR_NULL_ORIGIN"))
        );
        assert_eq!(
            session_user(&b, &server).await["email"],
            "csrf@example.com",
            "the refused sign-out did nothing"
        );
        // GETs are never origin-checked.
        let res = c
            .get(server.at("/api/auth/get-session"))
            .header("cookie", cookie.clone())
            .header("origin", "http://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
}

fn auth_secret() -> &'static str {
    crate::support::TEST_SECRET
}

crate::per_database! {
    async fn sign_in_refuses_cross_site_forms_and_foreign_origins(backend) {
        let server = TestServer::start(backend).await;
        let _ = verified_user(&server, "form@example.com").await;
        let c = plain();
        let (s, body, _) = answer_to(
            c.post(server.at("/api/auth/sign-in/email"))
                .header("sec-fetch-site", "cross-site")
                .header("sec-fetch-mode", "navigate")
                .form(&[("email", "form@example.com"), ("password", PASSWORD)]),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (403, Some("CROSS_SITE_NAVIGATION_LOGIN_BLOCKED"))
        );
        let res = c
            .post(server.at("/api/auth/sign-in/email"))
            .header("origin", "https://evil.example")
            .json(&json!({"email": "form@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        // Server-to-server calls without Origin or Fetch metadata pass.
        let (s, _, _) = email_sign_in(&c, &server, "form@example.com", PASSWORD).await;
        assert_eq!(s, 200);
    }
}

crate::per_database! {
    async fn callback_urls_are_allow_listed(backend) {
        let server = start_with_var(backend, "BETTER_AUTH_TRUSTED_ORIGINS", "https://app.example.com").await;
        let _ = verified_user(&server, "cb@example.com").await;
        let c = plain();
        for bad in [
            "https://evil.example/x",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/%2F%2Fevil.example",
        ] {
            let (s, body, _) = post(
                &c,
                &server,
                "/api/auth/sign-in/email",
                json!({"email": "cb@example.com", "password": PASSWORD, "callbackURL": bad}),
            )
            .await;
            assert_eq!(
                (s, body["code"].as_str()),
                (403, Some("INVALID_CALLBACK_URL")),
                "{bad}"
            );
            let res = c
                .get(server.at(&format!(
                    "/api/auth/verify-email?token=x&callbackURL={}",
                    auth::cookies::encode(bad)
                )))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 403, "{bad}");
        }
        for good in ["/dashboard", "https://app.example.com/welcome"] {
            let (s, body, h) = post(
                &c,
                &server,
                "/api/auth/sign-in/email",
                json!({"email": "cb@example.com", "password": PASSWORD, "callbackURL": good}),
            )
            .await;
            assert_eq!(s, 200, "{good}");
            assert_eq!(
                (body["redirect"].as_bool(), body["url"].as_str()),
                (Some(true), Some(good))
            );
            assert_eq!(h["location"], good);
        }
    }
}

crate::per_database! {
    async fn cors_allows_credentials_for_trusted_origins_only(backend) {
        let server = start_with_var(backend, "BETTER_AUTH_TRUSTED_ORIGINS", "https://app.example.com").await;
        let c = plain();
        let pre = c
            .request(reqwest::Method::OPTIONS, server.at("/api/auth/get-session"))
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        assert_eq!(
            pre.headers()["access-control-allow-origin"],
            "https://app.example.com"
        );
        assert_eq!(pre.headers()["access-control-allow-credentials"], "true");
        let res = c
            .get(server.at("/api/auth/get-session"))
            .header("origin", "https://app.example.com")
            .send()
            .await
            .unwrap();
        let exposed = res.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            exposed.contains("set-auth-token") && exposed.contains("set-auth-jwt"),
            "{exposed}"
        );
        let res = c
            .get(server.at("/api/auth/get-session"))
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert!(!res.headers().contains_key("access-control-allow-origin"));
    }
}

crate::per_database! {
    async fn the_audit_log_never_holds_passwords_or_tokens(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "audit@example.com").await;
        email_sign_in(&plain(), &server, "audit@example.com", "Wrong-Secret-Pw-1!").await;
        let (_, session, _) = get(&b, &server, "/api/auth/get-session").await;
        let token = session["session"]["token"].as_str().unwrap().to_string();
        post(
            &b,
            &server,
            "/api/auth/change-password",
            json!({"currentPassword": PASSWORD, "newPassword": "Another-Secret-9!"}),
        )
        .await;
        let rows: Vec<(String, Option<String>, String)> = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT event_type, email, details FROM auth_event_log").fetch_all(pool).await.unwrap());
        assert!(rows.len() >= 5);
        let everything = format!("{rows:?}");
        for secret in [
            PASSWORD,
            "Wrong-Secret-Pw-1!",
            "Another-Secret-9!",
            token.as_str(),
            "$argon2id",
        ] {
            assert!(
                !everything.contains(secret),
                "{secret} leaked into the audit log"
            );
        }
        let failed = rows.iter().find(|r| r.0 == "login_failed").unwrap();
        assert!(
            failed.2.contains("wrong_password"),
            "the reason is recorded: {failed:?}"
        );
        server.stop().await;
    }
}

crate::per_database! {
    async fn the_development_outbox_page_lists_mail_and_is_absent_in_production(backend) {
        let server = TestServer::start(backend).await;
        email_sign_up(&plain(), &server, "O", "o@example.com", PASSWORD).await;
        wait_for_mail(&server, "o@example.com", 1).await;
        let html = text_at(&plain(), server.at("/api/auth/dev/outbox")).await;
        assert!(html.contains("o@example.com") && html.contains("Verify your email address"));
        let prod = start_with_var(backend, "INTELLISTACK_ENV", "production").await;
        let res = plain()
            .get(prod.at("/api/auth/dev/outbox"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
    }
}

crate::per_database! {
    async fn the_outbox_is_refused_to_anonymous_clients_on_other_machines(backend) {
        // Through a trusted proxy on loopback, the client it names counts.
        let server = start_with_var(backend, "TRUSTED_PROXIES", "127.0.0.1/32").await;
        let _ = verified_user(&server, "student@example.com").await;
        let from = |client: &reqwest::Client, ip: &str| {
            client
                .get(server.at("/api/auth/dev/outbox"))
                .header("x-forwarded-for", ip)
        };
        let res = from(&plain(), "203.0.113.9").send().await.unwrap();
        assert_eq!(res.status(), 403);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "OUTBOX_LOCAL_ONLY", "{body}");
        let student = browser(&server);
        email_sign_in(&student, &server, "student@example.com", PASSWORD).await;
        let res = from(&student, "203.0.113.9").send().await.unwrap();
        assert_eq!(res.status(), 403, "a signed-in student is refused too");
        let text = res.text().await.unwrap();
        assert!(!text.contains("verify-email"), "no link leaks: {text}");

        let boss = admin(&server, "boss@example.com").await;
        let res = from(&boss, "203.0.113.9").send().await.unwrap();
        assert_eq!(res.status(), 200, "an admin may read it from anywhere");
        assert!(res.text().await.unwrap().contains("student@example.com"));
        for local in ["127.0.0.1", "::1"] {
            let res = from(&plain(), local).send().await.unwrap();
            assert_eq!(res.status(), 200, "{local}");
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn development_mode_refuses_a_public_address_without_an_opt_in() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_intellistack"))
        .args(["serve", "--bind", "0.0.0.0", "--port", "0"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/x.db", dir.path().display()),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve development mode on 0.0.0.0")
            && err.contains("DEV_ALLOW_PUBLIC_BIND=true"),
        "{err}"
    );
}

#[tokio::test]
async fn logs_never_hold_passwords_tokens_or_hashes() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let log = dir.path().join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_intellistack"))
        .env_clear()
        .env("DATA_DIR", dir.path())
        .env("BETTER_AUTH_URL", &base)
        .env("AUTH_REQUIRE_EMAIL_VERIFICATION", "false")
        .env("RUST_LOG", "debug")
        .current_dir(dir.path())
        .args(["serve", "--bind", "127.0.0.1", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if http
            .get(format!("{base}/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "server did not start");
    let origin = [("origin", base.as_str())];
    let mut secrets = vec![
        PASSWORD.to_string(),
        "Wrong-Secret-Pw-1!".to_string(),
        "Another-Secret-9!".to_string(),
    ];
    let res = http
        .post(format!("{base}/api/auth/sign-up/email"))
        .header(origin[0].0, origin[0].1)
        .json(&json!({"name": "Log", "email": "log@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_string();
    secrets.push(token.clone());
    http.post(format!("{base}/api/auth/sign-in/email"))
        .json(&json!({"email": "log@example.com", "password": "Wrong-Secret-Pw-1!"}))
        .send()
        .await
        .unwrap();
    let jwt = json_of(
        http.get(format!("{base}/api/auth/token"))
            .bearer_auth(&token),
    )
    .await;
    secrets.push(jwt["token"].as_str().unwrap().to_string());
    http.post(format!("{base}/api/auth/change-password"))
        .bearer_auth(&token)
        .json(&json!({"currentPassword": PASSWORD, "newPassword": "Another-Secret-9!"}))
        .send()
        .await
        .unwrap();
    http.post(format!("{base}/api/auth/request-password-reset"))
        .json(&json!({"email": "log@example.com"}))
        .send()
        .await
        .unwrap();
    // A token in a path is redacted too.
    http.get(format!(
        "{base}/api/auth/reset-password/AbCdEfGhIjKlMnOpQrStUvWx?callbackURL=/x"
    ))
    .send()
    .await
    .unwrap();
    secrets.push("AbCdEfGhIjKlMnOpQrStUvWx".into());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("request"), "debug logging was on: {text}");
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a secret reached the log: {s}");
    }
    assert!(!text.contains("$argon2id"), "a hash reached the log");
}
