//! Two-factor sign-in (Better-Auth's twoFactor plugin): TOTP from the secret
//! the user was shown, one-time codes by mail, single-use backup codes, the
//! trusted device, the attempt cap and the lockout — one test per database.

use chrono::Duration;
use common::Clock as _;
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::auth::*;
use crate::support::server::start_with_var;

/// Enables TOTP for the signed-in `b` and confirms it; returns the URI and backup codes.
async fn turn_on(server: &TestServer, b: &reqwest::Client) -> (String, Vec<String>) {
    let (s, body, _) = post(
        b,
        server,
        "/api/auth/two-factor/enable",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["method"], "totp");
    let uri = body["totpURI"].as_str().unwrap().to_string();
    assert!(uri.starts_with("otpauth://totp/IntelliStack:"), "{uri}");
    let codes: Vec<String> = serde_json::from_value(body["backupCodes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    assert_eq!(
        session_user(b, server).await["twoFactorEnabled"],
        false,
        "not on before a code is verified"
    );
    let code = code(server, &uri, 0);
    let (s, body, _) = post(
        b,
        server,
        "/api/auth/two-factor/verify-totp",
        json!({"code": code}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(session_user(b, server).await["twoFactorEnabled"], true);
    (uri, codes)
}

/// The app's code `steps` 30-second steps from the server's now.
fn code(server: &TestServer, uri: &str, steps: i64) -> String {
    ::auth::two_factor::code_for_uri(uri, server.clock.now() + Duration::seconds(30 * steps))
        .unwrap()
}

/// A fresh browser's password sign-in; returns it and the answer.
async fn sign_in(server: &TestServer, b: reqwest::Client, email: &str) -> (reqwest::Client, Value) {
    let (s, body, h) = email_sign_in(&b, server, email, PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    if body["twoFactorRedirect"] == true {
        let cookies: Vec<&str> = h
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("better-auth.two_factor=") && c.contains("Max-Age=600")),
            "{cookies:?}"
        );
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("better-auth.session_token=;")),
            "no session yet: {cookies:?}"
        );
    }
    (b, body)
}

crate::per_database! {
    async fn totp_sign_in_from_enrolment_to_trusted_device(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "two@example.com").await;
        let (uri, _) = turn_on(&server, &b).await;

        let (c, body) = sign_in(&server, browser(&server), "two@example.com").await;
        assert_eq!(body, json!({"twoFactorRedirect": true, "twoFactorMethods": ["totp", "otp"]}));
        let (s, none, _) = get(&c, &server, "/api/auth/get-session").await;
        assert_eq!((s, none), (200, Value::Null), "no session before the second step");
        // Wrong, reused (the enrolment code of this very step) and expired codes fail.
        for bad in ["000000".to_string(), code(&server, &uri, 0), code(&server, &uri, -3)] {
            let (s, body, _) = post(&c, &server, "/api/auth/two-factor/verify-totp", json!({"code": bad})).await;
            assert_eq!((s, body["code"].as_str()), (401, Some("INVALID_CODE")), "{bad}");
        }
        server.clock.advance(Duration::seconds(30));
        let (s, body, h) = post(&c, &server, "/api/auth/two-factor/verify-totp",
            json!({"code": code(&server, &uri, 0), "trustDevice": true})).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["user"]["email"], "two@example.com");
        assert!(body["token"].is_string());
        let set: Vec<&str> = h.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
        assert!(set.iter().any(|c| c.starts_with("better-auth.trust_device=") && c.contains("Max-Age=2592000")), "{set:?}");
        assert!(set.iter().any(|c| c.starts_with("better-auth.two_factor=;")));
        assert_eq!(session_user(&c, &server).await["email"], "two@example.com");
        // The code just used works once.
        let (_, again) = sign_in(&server, browser(&server), "two@example.com").await;
        assert_eq!(again["twoFactorRedirect"], true);

        // This device is trusted now: the next sign-in skips the second step...
        post(&c, &server, "/api/auth/sign-out", json!({})).await;
        let (c, body) = sign_in(&server, c, "two@example.com").await;
        assert!(body["twoFactorRedirect"].is_null(), "{body}");
        assert_eq!(body["user"]["email"], "two@example.com");
        // ...an untrusted one does not.
        let (_, body) = sign_in(&server, browser(&server), "two@example.com").await;
        assert_eq!(body["twoFactorRedirect"], true);
        // The trust lasts 30 days.
        server.clock.advance(Duration::days(31));
        post(&c, &server, "/api/auth/sign-out", json!({})).await;
        let (_, body) = sign_in(&server, c, "two@example.com").await;
        assert_eq!(body["twoFactorRedirect"], true, "trust expires");

        for event in ["two_factor_enabled", "two_factor_challenged", "two_factor_failed"] {
            assert!(!audit_events(&server, event).await.is_empty(), "{event} is audited");
        }
    }

    async fn backup_codes_and_mailed_codes(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "codes@example.com").await;
        let (_, codes) = turn_on(&server, &b).await;
        let (c, _) = sign_in(&server, browser(&server), "codes@example.com").await;
        let (s, body, _) = post(&c, &server, "/api/auth/two-factor/verify-backup-code", json!({"code": codes[0]})).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(session_user(&c, &server).await["email"], "codes@example.com");
        let (d, _) = sign_in(&server, browser(&server), "codes@example.com").await;
        let (s, body, _) = post(&d, &server, "/api/auth/two-factor/verify-backup-code", json!({"code": codes[0]})).await;
        assert_eq!((s, body["code"].as_str()), (401, Some("INVALID_BACKUP_CODE")), "single use");
        let (stored,): (String,) = common::on_db!(&server.db, pool => sqlx::query_as("SELECT backup_codes FROM two_factor").fetch_one(pool).await.unwrap());
        assert!(!stored.contains(&codes[1]), "stored hashed");

        // A code by mail.
        let (s, _, _) = post(&d, &server, "/api/auth/two-factor/send-otp", json!({})).await;
        assert_eq!(s, 200);
        let mail = wait_for_mail(&server, "codes@example.com", 2).await;
        let otp: String = mail["subject"].as_str().unwrap().chars().filter(char::is_ascii_digit).collect();
        assert_eq!(otp.len(), 6);
        let (s, body, _) = post(&d, &server, "/api/auth/two-factor/verify-otp", json!({"code": "999999"})).await;
        assert_eq!((s, body["code"].as_str()), (401, Some("INVALID_CODE")));
        let (s, body, _) = post(&d, &server, "/api/auth/two-factor/verify-otp", json!({"code": otp})).await;
        assert_eq!(s, 200, "{body}");
        // An expired mailed code.
        let (e, _) = sign_in(&server, browser(&server), "codes@example.com").await;
        post(&e, &server, "/api/auth/two-factor/send-otp", json!({})).await;
        let mail = wait_for_mail(&server, "codes@example.com", 3).await;
        let otp: String = mail["subject"].as_str().unwrap().chars().filter(char::is_ascii_digit).collect();
        server.clock.advance(Duration::minutes(4));
        let (s, body, _) = post(&e, &server, "/api/auth/two-factor/verify-otp", json!({"code": otp})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("OTP_HAS_EXPIRED")));

        // A new set replaces the old; the password is asked.
        let (s, body, _) = post(&b, &server, "/api/auth/two-factor/generate-backup-codes", json!({"password": "Wrong-Password-1!"})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("INVALID_PASSWORD")));
        let (s, body, _) = post(&b, &server, "/api/auth/two-factor/generate-backup-codes", json!({"password": PASSWORD})).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["status"], true);
        let fresh: Vec<String> = serde_json::from_value(body["backupCodes"].clone()).unwrap();
        let (f, _) = sign_in(&server, browser(&server), "codes@example.com").await;
        let (s, _, _) = post(&f, &server, "/api/auth/two-factor/verify-backup-code", json!({"code": codes[2]})).await;
        assert_eq!(s, 401, "old codes are gone");
        let (s, _, _) = post(&f, &server, "/api/auth/two-factor/verify-backup-code", json!({"code": fresh[0]})).await;
        assert_eq!(s, 200);
    }

    async fn attempts_are_capped_and_failures_lock_the_second_step(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "lock@example.com").await;
        let (uri, _) = turn_on(&server, &b).await;
        server.clock.advance(Duration::seconds(30));
        let (c, _) = sign_in(&server, browser(&server), "lock@example.com").await;
        for _ in 0..5 {
            let (s, _, _) = post(&c, &server, "/api/auth/two-factor/verify-totp", json!({"code": "123456"})).await;
            assert_eq!(s, 401);
        }
        let (s, body, _) = post(&c, &server, "/api/auth/two-factor/verify-totp", json!({"code": code(&server, &uri, 0)})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE")), "even a right code, once the cap is hit");
        let (s, body, _) = post(&c, &server, "/api/auth/two-factor/verify-totp", json!({"code": code(&server, &uri, 0)})).await;
        assert_eq!((s, body["code"].as_str()), (401, Some("INVALID_TWO_FACTOR_COOKIE")), "that challenge is over");
        // Five more failures across a new sign-in lock the second step.
        let (d, _) = sign_in(&server, browser(&server), "lock@example.com").await;
        for _ in 0..4 {
            let (s, _, _) = post(&d, &server, "/api/auth/two-factor/verify-totp", json!({"code": "123456"})).await;
            assert_eq!(s, 401);
        }
        let (s, body, _) = post(&d, &server, "/api/auth/two-factor/verify-backup-code", json!({"code": "AAAAA-BBBBB"})).await;
        assert_eq!((s, body["code"].as_str()), (401, Some("INVALID_BACKUP_CODE")));
        let (e, _) = sign_in(&server, browser(&server), "lock@example.com").await;
        let (s, body, _) = post(&e, &server, "/api/auth/two-factor/verify-totp", json!({"code": code(&server, &uri, 0)})).await;
        assert_eq!((s, body["code"].as_str()), (429, Some("ACCOUNT_TEMPORARILY_LOCKED")));
        assert!(!audit_events(&server, "two_factor_locked").await.is_empty());
        server.clock.advance(Duration::minutes(16));
        let (f, _) = sign_in(&server, browser(&server), "lock@example.com").await;
        let (s, body, _) = post(&f, &server, "/api/auth/two-factor/verify-totp", json!({"code": code(&server, &uri, 0)})).await;
        assert_eq!(s, 200, "the lock runs out: {body}");
    }

    async fn one_code_wins_under_concurrency(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "race@example.com").await;
        let (uri, codes) = turn_on(&server, &b).await;
        server.clock.advance(Duration::seconds(30));
        let mut browsers = Vec::new();
        for _ in 0..6 {
            browsers.push(sign_in(&server, browser(&server), "race@example.com").await.0);
        }
        // The same backup code from three sign-ins at once, the same TOTP code from three more.
        let backup = codes[3].clone();
        let totp = code(&server, &uri, 0);
        let mut tasks = Vec::new();
        for (i, c) in browsers.into_iter().enumerate() {
            let url = if i < 3 { "/api/auth/two-factor/verify-backup-code" } else { "/api/auth/two-factor/verify-totp" };
            let body = json!({"code": if i < 3 { backup.clone() } else { totp.clone() }});
            let target = server.at(url);
            tasks.push(tokio::spawn(async move {
                (i < 3, c.post(target).json(&body).send().await.unwrap().status().as_u16())
            }));
        }
        let mut ok = (0, 0);
        for t in tasks {
            let (is_backup, status) = t.await.unwrap();
            if status == 200 {
                if is_backup { ok.0 += 1 } else { ok.1 += 1 }
            } else {
                assert!(matches!(status, 401 | 409), "{status}");
            }
        }
        assert_eq!(ok, (1, 1), "each code is accepted exactly once");
    }

    async fn turning_two_factor_off_needs_the_password(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "off@example.com").await;
        let (uri, _) = turn_on(&server, &b).await;
        let (s, body, _) = post(&b, &server, "/api/auth/two-factor/get-totp-uri", json!({"password": PASSWORD})).await;
        assert_eq!((s, body["totpURI"].as_str()), (200, Some(uri.as_str())));
        let (s, body, _) = post(&b, &server, "/api/auth/two-factor/enable", json!({"password": PASSWORD})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("TOTP_ALREADY_ENABLED")));
        let (s, body, _) = post(&b, &server, "/api/auth/two-factor/disable", json!({"password": "Wrong-Password-1!"})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("INVALID_PASSWORD")));
        let (s, body, _) = post(&b, &server, "/api/auth/two-factor/disable", json!({"password": PASSWORD})).await;
        assert_eq!((s, &body), (200, &json!({"status": true})));
        assert_eq!(session_user(&b, &server).await["twoFactorEnabled"], false, "the rotated session is the browser's");
        let (_, body) = sign_in(&server, browser(&server), "off@example.com").await;
        assert!(body["twoFactorRedirect"].is_null());
        let (s, body, _) = post(&b, &server, "/api/auth/two-factor/get-totp-uri", json!({"password": PASSWORD})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("TOTP_NOT_ENABLED")));
        let (s, _, _) = post(&plain(), &server, "/api/auth/two-factor/verify-totp", json!({"code": "123456"})).await;
        assert_eq!(s, 401);
        assert!(!audit_events(&server, "two_factor_disabled").await.is_empty());
    }

    async fn staff_act_as_students_until_a_second_factor(backend) {
        let server = start_with_var(backend, "AUTH_TWO_FACTOR_REQUIRED_FOR_STAFF", "true").await;
        let admin_b = with_role(&server, "boss@example.com", "admin").await;
        let (s, _, _) = get(&admin_b, &server, "/api/auth/admin/list-users").await;
        assert_eq!(s, 403, "a password alone does not carry the admin role");
        let page = admin_b.get(server.at("/dashboard")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("second-factor-banner"), "the page says why");
        let (_, token, _) = get(&admin_b, &server, "/api/auth/token").await;
        let claims: Value = serde_json::from_slice(&base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token["token"].as_str().unwrap().split('.').nth(1).unwrap(),
        ).unwrap()).unwrap();
        assert_eq!(claims["role"], "student", "nor does the API token");
        let (uri, _) = turn_on(&server, &admin_b).await;
        let (s, _, _) = get(&admin_b, &server, "/api/auth/admin/list-users").await;
        assert_eq!(s, 200, "enrolment proved a second factor in this session");
        server.clock.advance(Duration::seconds(30));
        let (c, _) = sign_in(&server, browser(&server), "boss@example.com").await;
        let (s, _, _) = post(&c, &server, "/api/auth/two-factor/verify-totp", json!({"code": code(&server, &uri, 0)})).await;
        assert_eq!(s, 200);
        let (s, _, _) = get(&c, &server, "/api/auth/admin/list-users").await;
        assert_eq!(s, 200);
        // Students are not affected.
        let student = verified_user(&server, "learner@example.com").await;
        let (s, _, _) = post(&student, &server, "/api/auth/admin/has-permission", json!({"permissions": {"course": ["read"]}})).await;
        assert_eq!(s, 200);
    }
}
