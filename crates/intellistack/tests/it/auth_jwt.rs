//! JWTs and the JWKS: claims, RS256, rotation, role changes.

use common::Clock as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};

use crate::support::auth::*;
use crate::support::cli::succeeded;
use crate::support::server::start_with_var;
use crate::support::{Options, TestServer};

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

crate::per_database! {
    async fn tokens_are_rs256_with_the_documented_claims(backend) {
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

crate::per_database! {
    async fn a_role_change_shows_in_the_next_token_without_signing_in_again(backend) {
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

fn kid_of(token: &str) -> String {
    decode_header(token).unwrap().kid.unwrap()
}

async fn published_kids(server: &TestServer) -> Vec<String> {
    let (_, jwks, _) = get(&plain(), server, "/api/auth/jwks").await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

crate::per_database! {
    async fn a_rotation_publishes_the_next_key_before_it_signs(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "rot@example.com").await;
        let old = jwt_of(&b, &server).await;
        let old_kid = kid_of(&old);
        let r = server.auth().keys.rotate().await.unwrap();
        assert!(r.created);
        assert_ne!(r.kid, old_kid);
        let lead = r.activates_at - server.clock.now();
        assert_eq!(lead, chrono::Duration::seconds(360), "the default publish lead");
        // Published at once, not yet signing.
        assert_eq!(published_kids(&server).await, vec![r.kid.clone(), old_kid.clone()]);
        server.clock.advance(chrono::Duration::seconds(5));
        let before = jwt_of(&b, &server).await;
        assert_eq!(kid_of(&before), old_kid, "the current key signs until the switch");
        // Asking again reports the rotation already under way.
        let again = server.auth().keys.rotate().await.unwrap();
        assert_eq!((again.kid.as_str(), again.created), (r.kid.as_str(), false));

        // A token signed one second before the switch...
        server.clock.set(r.activates_at - chrono::Duration::seconds(1));
        let last_old = {
            let b = verified_user(&server, "late@example.com").await;
            jwt_of(&b, &server).await
        };
        assert_eq!(kid_of(&last_old), old_kid);
        let last_exp = verify(&server, &last_old).await.unwrap()["exp"].as_i64().unwrap();
        // ...and from the switch on, the next key, in every process.
        server.clock.set(r.activates_at);
        let fresh = {
            let b = verified_user(&server, "new@example.com").await;
            jwt_of(&b, &server).await
        };
        assert_eq!(kid_of(&fresh), r.kid, "the next key signs from its activation");
        let (s, _) = crate::support::api::api_get(&server, "/api/v1/me", &fresh).await;
        assert_eq!(s, 200, "the in-process verifier knows the new key at once");
        let (s, _) = crate::support::api::api_get(&server, "/api/v1/me", &last_old).await;
        assert_eq!(s, 200);

        // The old key stays published until the last token it signed expires.
        let (until,): (Option<chrono::DateTime<chrono::Utc>>,) = common::on_db!(&server.db, pool =>
            sqlx::query_as("SELECT signed_until FROM jwks WHERE id = $1").bind(&old_kid).fetch_one(pool).await.unwrap());
        let until = until.expect("the expiry of its tokens is recorded");
        assert!(until.timestamp() >= last_exp, "recorded {until}, last token expires at {last_exp}");
        server.clock.set(chrono::DateTime::from_timestamp(last_exp - 1, 0).unwrap());
        assert!(published_kids(&server).await.contains(&old_kid));
        assert!(verify(&server, &last_old).await.is_ok(), "valid until its own expiry");
        let (s, _) = crate::support::api::api_get(&server, "/api/v1/me", &last_old).await;
        assert_eq!(s, 200);
        server.clock.set(until + chrono::Duration::seconds(1));
        assert_eq!(published_kids(&server).await, vec![r.kid.clone()], "gone once its tokens are");
    }

    async fn a_retired_key_stops_signing_at_once_in_every_process(backend) {
        let a = TestServer::start(backend).await;
        let b_server = TestServer::start_with(
            backend,
            Options { database_url: Some(a.database_url.clone()), ..Default::default() },
        )
        .await;
        let user = verified_user(&a, "two@example.com").await;
        let first = jwt_of(&user, &a).await;
        // The second process has the key loaded too.
        let at_b = browser(&b_server);
        let (s, body, _) = email_sign_in(&at_b, &b_server, "two@example.com", PASSWORD).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(kid_of(&jwt_of(&at_b, &b_server).await), kid_of(&first));
        // An immediate rotation in the first process...
        let new_kid = a.auth().keys.rotate_now().await.unwrap();
        // ...and the second signs with the new key on its very next token.
        assert_eq!(kid_of(&jwt_of(&at_b, &b_server).await), new_kid);
        // A scheduled switch happens at the stored instant in both.
        let r = b_server.auth().keys.rotate().await.unwrap();
        for s in [&a, &b_server] {
            s.clock.set(r.activates_at - chrono::Duration::milliseconds(1));
        }
        let near = verified_user(&a, "near@example.com").await;
        assert_eq!(kid_of(&jwt_of(&near, &a).await), new_kid);
        for s in [&a, &b_server] {
            s.clock.set(r.activates_at);
        }
        assert_eq!(kid_of(&jwt_of(&near, &a).await), r.kid);
        assert_eq!(kid_of(&jwt_of(&at_b, &b_server).await), r.kid);
    }

    async fn keys_rotate_automatically_on_the_configured_interval(backend) {
        let server =
            start_with_var(backend, "JWT_ROTATION_DAYS", "30").await;
        let b = verified_user(&server, "auto@example.com").await;
        let first = kid_of(&jwt_of(&b, &server).await);
        server.clock.advance(chrono::Duration::days(10));
        // Sessions last a week: sign in afresh after each jump.
        let b = verified_user(&server, "auto1@example.com").await;
        assert_eq!(kid_of(&jwt_of(&b, &server).await), first);
        // Within the publish lead of the 30 days, the next key is published...
        server.clock.advance(chrono::Duration::days(20) - chrono::Duration::minutes(5));
        let b = verified_user(&server, "auto2@example.com").await;
        assert_eq!(kid_of(&jwt_of(&b, &server).await), first, "still the first key");
        let kids = published_kids(&server).await;
        assert_eq!(kids.len(), 2, "the next key is out before it signs: {kids:?}");
        // ...and signs a publish lead after it appeared (here just past the 30th day).
        server.clock.advance(chrono::Duration::minutes(6));
        let b = verified_user(&server, "auto3@example.com").await;
        let second = kid_of(&jwt_of(&b, &server).await);
        assert_ne!(first, second);
        assert_eq!(second, kids[0]);
    }
}

crate::per_database! {
    async fn eddsa_is_available(backend) {
        let server =
            start_with_var(backend, "JWT_ALG", "EdDSA").await;
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
async fn keys_rotate_command_schedules_and_replaces_at_once_with_now() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_intellistack"))
            .env_clear()
            .env("DATA_DIR", dir.path())
            .env("RUST_LOG", "warn")
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        succeeded(&out)
    };
    let first = run(&["keys", "rotate"]);
    assert!(
        first.contains("is published now and starts signing at"),
        "{first}"
    );
    let second = run(&["keys", "rotate"]);
    assert!(
        second.contains("a rotation is already scheduled"),
        "{second}"
    );
    let kid = |text: &str| {
        text.split_whitespace()
            .skip_while(|w| *w != "key")
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(kid(&first), kid(&second), "the same scheduled key");
    let now = run(&["keys", "rotate", "--now"]);
    assert!(now.contains("signing now"), "{now}");
    assert_ne!(kid(&now), kid(&first));
}
