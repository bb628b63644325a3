//! Passkeys (Better-Auth's passkey plugin) with a software authenticator:
//! registration, sign-in that counts as both factors, list, rename, delete,
//! and the refusals — one test per database.

use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::auth::*;
use crate::support::server::start_with_var;
use crate::support::webauthn::Authenticator;

/// Registers a passkey for the signed-in `b`; returns the stored row.
async fn add_passkey(
    server: &TestServer,
    b: &reqwest::Client,
    key: &mut Authenticator,
    name: &str,
) -> (u16, Value) {
    let (s, options, _) = get(b, server, "/api/auth/passkey/generate-register-options").await;
    assert_eq!(s, 200, "{options}");
    let response = key.register(&options, &server.url);
    let (s, body, _) = post(
        b,
        server,
        "/api/auth/passkey/verify-registration",
        json!({"response": response, "name": name}),
    )
    .await;
    (s, body)
}

async fn passkey_sign_in(
    server: &TestServer,
    key: &mut Authenticator,
    index: usize,
) -> (reqwest::Client, u16, Value) {
    let b = browser(server);
    let (s, options, _) = get(
        &b,
        server,
        "/api/auth/passkey/generate-authenticate-options",
    )
    .await;
    assert_eq!(s, 200, "{options}");
    assert_eq!(options["userVerification"], "required");
    let response = key.assert(&options, &server.url, index);
    let (s, body, _) = post(
        &b,
        server,
        "/api/auth/passkey/verify-authentication",
        json!({"response": response}),
    )
    .await;
    (b, s, body)
}

crate::per_database! {
    async fn register_sign_in_rename_and_delete(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "pk@example.com").await;
        let mut key = Authenticator::default();
        let (s, options, h) = get(&b, &server, "/api/auth/passkey/generate-register-options").await;
        assert_eq!(s, 200);
        assert_eq!(options["rp"], json!({"name": "IntelliStack", "id": "127.0.0.1"}));
        assert_eq!(options["user"]["name"], "pk@example.com");
        assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
        assert!(h["set-cookie"].to_str().unwrap().starts_with("better-auth.better-auth-passkey="));
        let response = key.register(&options, &server.url);
        let (s, row, _) = post(&b, &server, "/api/auth/passkey/verify-registration", json!({"response": response, "name": "  Laptop  "})).await;
        assert_eq!(s, 200, "{row}");
        assert_eq!(row["name"], "Laptop");
        assert_eq!(row["credentialID"], response["id"]);
        assert_eq!(row["deviceType"], "singleDevice");
        assert_eq!(row["transports"], "internal");
        assert_eq!(row["aaguid"], "00000000-0000-0000-0000-000000000000");
        assert!(row["createdAt"].as_str().unwrap().ends_with('Z'));
        // The ceremony is single use.
        let (s, body, _) = post(&b, &server, "/api/auth/passkey/verify-registration", json!({"response": response})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("CHALLENGE_NOT_FOUND")));
        // The registered credential is excluded from the next registration.
        let (_, next, _) = get(&b, &server, "/api/auth/passkey/generate-register-options").await;
        assert_eq!(next["excludeCredentials"][0]["id"], response["id"]);

        let (c, s, body) = passkey_sign_in(&server, &mut key, 0).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["user"]["email"], "pk@example.com");
        assert!(body["session"]["token"].is_string());
        assert_eq!(session_user(&c, &server).await["email"], "pk@example.com");
        let (_, list, _) = get(&c, &server, "/api/auth/passkey/list-user-passkeys").await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["counter"], 1, "the signature counter is kept");

        let id = row["id"].as_str().unwrap();
        let (s, body, _) = post(&c, &server, "/api/auth/passkey/update-passkey", json!({"id": id, "name": "Work laptop"})).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["passkey"]["name"], "Work laptop");
        let (s, body, _) = post(&c, &server, "/api/auth/passkey/update-passkey", json!({"id": id, "name": "   "})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("VALIDATION_ERROR")));
        let other = verified_user(&server, "other@example.com").await;
        let (s, body, _) = post(&other, &server, "/api/auth/passkey/update-passkey", json!({"id": id, "name": "Mine"})).await;
        assert_eq!((s, body["code"].as_str()), (401, Some("YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY")));
        let (s, _, _) = post(&other, &server, "/api/auth/passkey/delete-passkey", json!({"id": id})).await;
        assert_eq!(s, 401);
        let (s, body, _) = post(&c, &server, "/api/auth/passkey/delete-passkey", json!({"id": "nope"})).await;
        assert_eq!((s, body["code"].as_str()), (404, Some("PASSKEY_NOT_FOUND")));
        let (s, body, _) = post(&c, &server, "/api/auth/passkey/delete-passkey", json!({"id": id})).await;
        assert_eq!((s, &body), (200, &json!({"status": true})));
        let (_, s, body) = passkey_sign_in(&server, &mut key, 0).await;
        assert_eq!((s, body["code"].as_str()), (401, Some("PASSKEY_NOT_FOUND")), "a deleted passkey no longer signs in");
        for event in ["passkey_added", "passkey_renamed", "passkey_removed"] {
            assert!(!audit_events(&server, event).await.is_empty(), "{event}");
        }
    }

    async fn forged_replayed_and_foreign_assertions_are_refused(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "guard@example.com").await;
        let mut key = Authenticator::default();
        let (s, _) = add_passkey(&server, &b, &mut key, "Key").await;
        assert_eq!(s, 200);
        // Another site's origin.
        key.origin_override = Some("https://evil.example".into());
        let (_, s, body) = passkey_sign_in(&server, &mut key, 0).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("AUTHENTICATION_FAILED")));
        key.origin_override = None;
        // A replayed assertion: the ceremony is spent.
        let c = browser(&server);
        let (_, options, _) = get(&c, &server, "/api/auth/passkey/generate-authenticate-options").await;
        let response = key.assert(&options, &server.url, 0);
        let (s, _, _) = post(&c, &server, "/api/auth/passkey/verify-authentication", json!({"response": response})).await;
        assert_eq!(s, 200);
        let (s, body, _) = post(&c, &server, "/api/auth/passkey/verify-authentication", json!({"response": response})).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("CHALLENGE_NOT_FOUND")));
        // A signature counter that goes back means a cloned key.
        key.credentials[0].counter = 0;
        let (_, s, body) = passkey_sign_in(&server, &mut key, 0).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("AUTHENTICATION_FAILED")));
        // Without a session, no registration.
        let (s, _, _) = get(&plain(), &server, "/api/auth/passkey/generate-register-options").await;
        assert_eq!(s, 401);
        // An unknown credential.
        let mut stranger = Authenticator::default();
        let elsewhere = TestServer::start(backend).await;
        let eb = verified_user(&elsewhere, "x@example.com").await;
        add_passkey(&elsewhere, &eb, &mut stranger, "There").await;
        let (_, s, body) = passkey_sign_in(&server, &mut stranger, 0).await;
        assert_eq!((s, body["code"].as_str()), (401, Some("PASSKEY_NOT_FOUND")));
    }

    async fn a_passkey_counts_as_both_factors(backend) {
        let server = start_with_var(backend, "AUTH_TWO_FACTOR_REQUIRED_FOR_STAFF", "true").await;
        let admin_b = with_role(&server, "chief@example.com", "admin").await;
        let mut key = Authenticator::default();
        let (s, _) = add_passkey(&server, &admin_b, &mut key, "Chief's key").await;
        assert_eq!(s, 200);
        // A user with TOTP on is not asked for it after a passkey.
        let (s, body, _) = post(&admin_b, &server, "/api/auth/two-factor/enable", json!({"password": PASSWORD, "method": "otp"})).await;
        assert_eq!(s, 200, "{body}");
        let (c, s, body) = passkey_sign_in(&server, &mut key, 0).await;
        assert_eq!(s, 200, "{body}");
        assert!(body["twoFactorRedirect"].is_null());
        let (s, _, _) = get(&c, &server, "/api/auth/admin/list-users").await;
        assert_eq!(s, 200, "a passkey session carries the admin role");
    }
}
