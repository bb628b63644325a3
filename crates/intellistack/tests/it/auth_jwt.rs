//! JWTs and the JWKS: claims, RS256, rotation, role changes.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};

use crate::support::auth::*;
use crate::support::{Backend, Options, TestServer};

async fn jwt_of(client: &reqwest::Client, server: &TestServer) -> String {
    let (s, body, _) = get(client, server, "/api/auth/token").await;
    assert_eq!(s, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

async fn verify(server: &TestServer, token: &str) -> Result<Value, String> {
    let (_, jwks, _) = get(&plain(), server, "/api/auth/jwks").await;
    let header = decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .ok_or("kid not published")?;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let key = DecodingKey::from_jwk(&jwk).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_audience(&[&server.url]);
    v.set_issuer(&[&server.url]);
    // The server's clock may run ahead of the wall clock in these tests.
    v.validate_exp = false;
    decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn tokens_are_rs256_with_the_documented_claims() {
    for backend in Backend::ALL {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "jwt@example.com").await;
        let token = jwt_of(&b, &server).await;
        let header = decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        let claims = verify(&server, &token).await.unwrap();
        let user = session_user(&b, &server).await;
        assert_eq!(claims["sub"], user["id"]);
        assert_eq!(claims["email"], "jwt@example.com");
        assert_eq!(claims["name"], "Test User");
        assert_eq!(claims["role"], "student");
        assert_eq!(claims["email_verified"], true);
        assert_eq!(claims["iss"], server.url.as_str());
        assert_eq!(claims["aud"], server.url.as_str());
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            900
        );
        let (_, jwks, _) = get(&plain(), &server, "/api/auth/jwks").await;
        let key = &jwks["keys"][0];
        assert_eq!(
            (
                key["kty"].as_str(),
                key["alg"].as_str(),
                key["use"].as_str()
            ),
            (Some("RSA"), Some("RS256"), Some("sig"))
        );
        assert!(key.get("d").is_none(), "no private parts are published");
        // Stored private keys are encrypted, not PEM or JWK.
        let (private,): (String,) = common::on_db!(&server.db, pool => sqlx::query_as("SELECT private_key FROM jwks LIMIT 1").fetch_one(pool).await.unwrap());
        assert!(
            !private.contains("PRIVATE KEY") && !private.contains("\"d\""),
            "{private}"
        );
        // A tampered payload fails.
        let parts: Vec<_> = token.split('.').collect();
        let forged_claims = base64_url(&serde_json::to_vec(&json!({"sub": user["id"], "role": "admin", "iss": server.url, "aud": server.url, "exp": 9999999999i64})).unwrap());
        let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        assert!(verify(&server, &forged).await.is_err());
        server.stop().await;
    }
}

fn base64_url(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

#[tokio::test]
async fn a_role_change_shows_in_the_next_token_without_signing_in_again() {
    for backend in Backend::ALL {
        let server = TestServer::start(backend).await;
        let admin_b = admin(&server, "a@example.com").await;
        let b = verified_user(&server, "promote@example.com").await;
        let id = session_user(&b, &server).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            verify(&server, &jwt_of(&b, &server).await).await.unwrap()["role"],
            "student"
        );
        post(
            &admin_b,
            &server,
            "/api/auth/admin/set-role",
            json!({"userId": id, "role": "instructor"}),
        )
        .await;
        assert_eq!(
            verify(&server, &jwt_of(&b, &server).await).await.unwrap()["role"],
            "instructor"
        );
        let (_, _, h) = get(&b, &server, "/api/auth/get-session").await;
        let claims = verify(&server, h["set-auth-jwt"].to_str().unwrap())
            .await
            .unwrap();
        assert_eq!(claims["role"], "instructor");
    }
}

#[tokio::test]
async fn rotation_keeps_old_keys_published_until_their_tokens_expire() {
    for backend in Backend::ALL {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "rot@example.com").await;
        let old = jwt_of(&b, &server).await;
        let old_kid = decode_header(&old).unwrap().kid.unwrap();
        let new_kid = server.auth().keys.rotate().await.unwrap();
        assert_ne!(old_kid, new_kid);
        let fresh = jwt_of(&b, &server).await;
        assert_eq!(
            decode_header(&fresh).unwrap().kid.unwrap(),
            new_kid,
            "new tokens use the new key at once"
        );
        let (_, jwks, _) = get(&plain(), &server, "/api/auth/jwks").await;
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert!(
            verify(&server, &old).await.is_ok(),
            "old tokens still verify"
        );
        assert!(verify(&server, &fresh).await.is_ok());
        server.clock.advance(chrono::Duration::minutes(16));
        let (_, jwks, _) = get(&plain(), &server, "/api/auth/jwks").await;
        let kids: Vec<_> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            kids,
            vec![new_kid],
            "the retired key leaves once its last token expired"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn keys_rotate_automatically_on_the_configured_interval() {
    for backend in Backend::ALL {
        let server =
            TestServer::start_with(backend, Options::default().var("JWT_ROTATION_DAYS", "30"))
                .await;
        let b = verified_user(&server, "auto@example.com").await;
        let first = decode_header(&jwt_of(&b, &server).await)
            .unwrap()
            .kid
            .unwrap();
        server.clock.advance(chrono::Duration::days(10));
        // Sessions last a week: sign in afresh after each jump.
        let b = verified_user(&server, "auto1@example.com").await;
        assert_eq!(
            decode_header(&jwt_of(&b, &server).await)
                .unwrap()
                .kid
                .unwrap(),
            first
        );
        server.clock.advance(chrono::Duration::days(21));
        let b = verified_user(&server, "auto2@example.com").await;
        let second = decode_header(&jwt_of(&b, &server).await)
            .unwrap()
            .kid
            .unwrap();
        assert_ne!(first, second);
    }
}

#[tokio::test]
async fn eddsa_is_available() {
    for backend in Backend::ALL {
        let server =
            TestServer::start_with(backend, Options::default().var("JWT_ALG", "EdDSA")).await;
        let b = verified_user(&server, "ed@example.com").await;
        let token = jwt_of(&b, &server).await;
        assert_eq!(decode_header(&token).unwrap().alg, Algorithm::EdDSA);
        assert_eq!(
            verify(&server, &token).await.unwrap()["email"],
            "ed@example.com"
        );
    }
}

#[tokio::test]
async fn keys_rotate_command_rotates_the_stored_key() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_intellistack"))
            .env_clear()
            .env("DATA_DIR", dir.path())
            .env("RUST_LOG", "warn")
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let first = run(&["keys", "rotate"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = run(&["keys", "rotate"]);
    assert!(second.status.success());
    assert_ne!(first.stdout, second.stdout, "each rotation makes a new key");
}
