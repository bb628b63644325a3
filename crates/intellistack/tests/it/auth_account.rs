//! Core account routes beyond sign-in: change-email (the new address is
//! verified before the change), update-session, verify-password — one test
//! per database.

use serde_json::json;

use crate::support::TestServer;
use crate::support::auth::*;
use crate::support::server::start_with_var;

crate::per_database! {
    async fn the_new_address_is_verified_before_the_change(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "old@example.com").await;
        let other = verified_user(&server, "taken@example.com").await;
        drop(other);

        let (s, body, _) = post(&b, &server, "/api/auth/change-email",
            json!({"newEmail": "New@Example.com", "callbackURL": "/account"})).await;
        assert_eq!((s, &body), (200, &json!({"status": true})));
        // Nothing changes until the link is followed.
        assert_eq!(session_user(&b, &server).await["email"], "old@example.com");
        let mail = wait_for_mail(&server, "new@example.com", 1).await;
        let link = link_in(&mail);
        assert!(link.contains("/api/auth/verify-email?token="), "{link}");
        assert_eq!(query_param(&link, "callbackURL"), "/account");

        // A taken address answers the same and sends nothing.
        let (s, _, _) = post(&b, &server, "/api/auth/change-email", json!({"newEmail": "taken@example.com"})).await;
        assert_eq!(s, 200);
        assert_eq!(mails_to(&server, "taken@example.com").len(), 1, "only its own verification mail");

        let token = query_param(&link, "token");
        let (s, body, h) = get(&plain(), &server, &format!("/api/auth/verify-email?token={token}&callbackURL=%2Faccount")).await;
        assert_eq!(s, 302, "{body}");
        assert_eq!(h["location"], "/account");
        let user = session_user(&b, &server).await;
        assert_eq!(user["email"], "new@example.com");
        assert_eq!(user["emailVerified"], true, "the new address was just proved");
        // The old address is told; the link works once.
        let notice = wait_for_mail(&server, "old@example.com", 2).await;
        assert!(notice["text"].as_str().unwrap().contains("new@example.com"));
        let (s, body, _) = get(&plain(), &server, &format!("/api/auth/verify-email?token={token}")).await;
        assert_eq!((s, body["code"].as_str()), (401, Some("INVALID_TOKEN")));
        // Sign-in works with the new address only.
        let fresh = browser(&server);
        let (s, _, _) = email_sign_in(&fresh, &server, "new@example.com", PASSWORD).await;
        assert_eq!(s, 200);
        let (s, _, _) = email_sign_in(&fresh, &server, "old@example.com", PASSWORD).await;
        assert_eq!(s, 401);
        assert_eq!(audit_events(&server, "email_change_requested").await.len(), 1);
        assert_eq!(audit_events(&server, "email_changed").await.len(), 1);

        // Refusals.
        let (s, body, _) = post(&b, &server, "/api/auth/change-email", json!({"newEmail": "new@example.com"})).await;
        assert_eq!((s, body["message"].as_str()), (400, Some("Email is the same")));
        let (s, body, _) = post(&b, &server, "/api/auth/change-email", json!({"newEmail": "not-an-address"})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("VALIDATION_ERROR")));
        let (s, body, _) = post(&b, &server, "/api/auth/change-email", json!({"newEmail": "x@example.com", "callbackURL": "https://evil.example/"})).await;
        assert_eq!((s, body["code"].as_str()), (403, Some("INVALID_CALLBACK_URL")));
        let (s, _, _) = post(&plain(), &server, "/api/auth/change-email", json!({"newEmail": "x@example.com"})).await;
        assert_eq!(s, 401);
    }

    async fn a_link_for_an_address_taken_meanwhile_changes_nothing(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "first@example.com").await;
        let (s, _, _) = post(&b, &server, "/api/auth/change-email", json!({"newEmail": "wanted@example.com"})).await;
        assert_eq!(s, 200);
        let link = link_in(&wait_for_mail(&server, "wanted@example.com", 1).await);
        verified_user(&server, "wanted@example.com").await;
        let token = query_param(&link, "token");
        let (s, body, _) = get(&plain(), &server, &format!("/api/auth/verify-email?token={token}")).await;
        assert_eq!((s, body["code"].as_str()), (422, Some("USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")));
        assert_eq!(session_user(&b, &server).await["email"], "first@example.com");
    }

    async fn change_email_can_be_turned_off(backend) {
        let server = start_with_var(backend, "AUTH_CHANGE_EMAIL_ENABLED", "false").await;
        let b = verified_user(&server, "stay@example.com").await;
        let (s, body, _) = post(&b, &server, "/api/auth/change-email", json!({"newEmail": "moved@example.com"})).await;
        assert_eq!(s, 400);
        assert_eq!(body, json!({"code": "CHANGE_EMAIL_DISABLED", "message": "Change email is disabled"}));
        assert!(mails_to(&server, "moved@example.com").is_empty());
    }

    async fn verify_password_update_session_and_credential_tokens(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "pw@example.com").await;
        let (s, body, _) = post(&b, &server, "/api/auth/verify-password", json!({"password": PASSWORD})).await;
        assert_eq!((s, &body), (200, &json!({"status": true})));
        let (s, body, _) = post(&b, &server, "/api/auth/verify-password", json!({"password": "wrong-Password-1!"})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("INVALID_PASSWORD")));
        let (s, body, _) = post(&b, &server, "/api/auth/verify-password", json!({"password": "x".repeat(200)})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("PASSWORD_TOO_LONG")));
        let (s, _, _) = post(&plain(), &server, "/api/auth/verify-password", json!({"password": PASSWORD})).await;
        assert_eq!(s, 401);

        let (s, body, _) = post(&b, &server, "/api/auth/update-session", json!({"impersonatedBy": "someone"})).await;
        assert_eq!(s, 400);
        assert_eq!(body, json!({"code": "FIELD_NOT_ALLOWED", "message": "impersonatedBy is not allowed to be set"}));
        let (s, body, _) = post(&b, &server, "/api/auth/update-session", json!({"expiresAt": "2099-01-01T00:00:00Z", "anything": 1})).await;
        assert_eq!((s, &body), (400, &json!({"message": "No fields to update"})));
        let (_, now, _) = get(&b, &server, "/api/auth/get-session").await;
        assert!(!now["session"]["expiresAt"].as_str().unwrap().starts_with("2099"), "nothing was written");

        // A password account has no provider tokens.
        let (_, accounts, _) = get(&b, &server, "/api/auth/list-accounts").await;
        let id = accounts[0]["id"].as_str().unwrap();
        let (s, body, _) = post(&b, &server, "/api/auth/get-access-token", json!({"accountId": id})).await;
        assert_eq!(s, 400);
        assert_eq!(body, json!({"code": "PROVIDER_NOT_SUPPORTED", "message": "Provider credential is not supported."}));
        let (s, body, _) = get(&b, &server, &format!("/api/auth/account-info?accountId={id}")).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("PROVIDER_NOT_CONFIGURED")));
    }
}
