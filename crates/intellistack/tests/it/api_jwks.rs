//! JWT verification: the JWKS cache against a key server that can be stopped
//! and changed, and forged tokens.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use common::{Clock, Role};
use serde_json::{Value, json};

use crate::support::api::*;
use crate::support::auth::*;
use crate::support::proxy::TcpProxy;
use crate::support::{Backend, Options, TestServer};

/// An auth-only server, a stoppable proxy in front of it, and an api-only
/// server that fetches keys through the proxy.
async fn split_deployment(backend: Backend) -> (TestServer, TcpProxy, TestServer) {
    let auth = TestServer::start_with(
        backend,
        Options {
            roles: BTreeSet::from([Role::Auth]),
            ..Default::default()
        },
    )
    .await;
    let proxy = TcpProxy::start(auth.addr).await;
    // Apart, the roles still share one database.
    let api = TestServer::start_with(
        backend,
        Options {
            roles: BTreeSet::from([Role::Api]),
            database_url: Some(auth.database_url.clone()),
            ..Default::default()
        }
        .var("BETTER_AUTH_URL", auth.url.clone())
        .var(
            "BETTER_AUTH_JWKS_URL",
            format!("http://127.0.0.1:{}/api/auth/jwks", proxy.port),
        ),
    )
    .await;
    (auth, proxy, api)
}

crate::per_database! {
    async fn cached_keys_survive_an_outage_and_rotation_needs_no_restart(backend) {
        let (auth, mut proxy, api) = split_deployment(backend).await;
        let b = verified_user(&auth, "split@example.com").await;
        let t = token(&b, &auth).await;
        let (s, me) = api_get(&api, "/api/v1/me", &t).await;
        assert_eq!(s, 200, "{me}");
        assert_eq!(me["email"], "split@example.com");

        // Key server down: the cached keys keep working, even past the cache
        // lifetime (last known good).
        proxy.stop();
        let (s, _) = api_get(&api, "/api/v1/me", &t).await;
        assert_eq!(s, 200);
        api.clock.advance(Duration::minutes(6));
        auth.clock.advance(Duration::minutes(6));
        let t2 = token(&b, &auth).await;
        let (s, _) = api_get(&api, "/api/v1/me", &t2).await;
        assert_eq!(s, 200, "stale but last-known-good keys still verify");

        // Rotation: the new kid is fetched on first sight, without a restart.
        proxy.resume().await;
        // Refetches are rate-limited (10 s) after the failed attempt above.
        api.clock.advance(Duration::seconds(11));
        auth.auth().keys.rotate_now().await.unwrap();
        let rotated = token(&b, &auth).await;
        assert_ne!(
            jsonwebtoken::decode_header(&rotated).unwrap().kid,
            jsonwebtoken::decode_header(&t2).unwrap().kid
        );
        let (s, _) = api_get(&api, "/api/v1/me", &rotated).await;
        assert_eq!(s, 200);
    }
}

crate::per_database! {
    async fn with_no_key_at_all_the_answer_is_503_with_retry_after(backend) {
        let (auth, mut proxy, api) = split_deployment(backend).await;
        let b = verified_user(&auth, "nokeys@example.com").await;
        let t = token(&b, &auth).await;
        proxy.stop();
        let (s, body, h) = call(&api, reqwest::Method::GET, "/api/v1/me", Some(&t), None).await;
        assert_eq!((s, code(&body)), (503, "SERVICE_UNAVAILABLE"));
        assert_eq!(h["retry-after"], "30");
        proxy.resume().await;
        // The failed attempt is not retried on every request; after the short back-off it recovers.
        api.clock.advance(Duration::seconds(11));
        let (s, _) = api_get(&api, "/api/v1/me", &t).await;
        assert_eq!(s, 200);
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

crate::per_database! {
    async fn forged_tokens_are_rejected(backend) {
        let server = TestServer::start(backend).await;
        let b = verified_user(&server, "victim@example.com").await;
        let good = token(&b, &server).await;
        let (s, _) = api_get(&server, "/api/v1/me", &good).await;
        assert_eq!(s, 200);
        let parts: Vec<&str> = good.split('.').collect();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = json!("admin");
        let kid = header["kid"].as_str().unwrap();

        let mut forged = Vec::new();
        // alg none
        forged.push((
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "kid": kid})),
                b64(&claims)
            ),
        ));
        // HS256 keyed with the public key
        let (_, jwks, _) = get(&plain(), &server, "/api/auth/jwks").await;
        let public = serde_json::to_vec(&jwks["keys"][0]).unwrap();
        let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        hs_header.kid = Some(kid.to_string());
        let hs = jsonwebtoken::encode(
            &hs_header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&public),
        )
        .unwrap();
        forged.push(("HS256 with the public key", hs));
        // tampered payload, original signature
        forged.push((
            "tampered payload",
            format!("{}.{}.{}", parts[0], b64(&claims), parts[2]),
        ));
        // unknown kid: signed by another deployment's key
        let other = TestServer::start(backend).await;
        let ob = verified_user(&other, "victim@example.com").await;
        let foreign = token(&ob, &other).await;
        forged.push(("unknown kid", foreign));
        // Well-signed but wrong audience, wrong issuer, expired.
        let keys = &server.auth().keys;
        let now = server.clock.now().timestamp();
        let base = auth::keys::Claims {
            sub: claims["sub"].as_str().unwrap().into(),
            email: "victim@example.com".into(),
            name: "Victim".into(),
            role: "student".into(),
            email_verified: true,
            iss: server.url.clone(),
            aud: server.url.clone(),
            iat: now,
            exp: now + 900,
        };
        forged.push((
            "wrong aud",
            keys.sign(&auth::keys::Claims {
                aud: "https://other.example".into(),
                ..base.clone()
            })
            .await
            .unwrap(),
        ));
        forged.push((
            "wrong iss",
            keys.sign(&auth::keys::Claims {
                iss: "https://other.example".into(),
                ..base.clone()
            })
            .await
            .unwrap(),
        ));
        forged.push((
            "expired",
            keys.sign(&auth::keys::Claims {
                iat: now - 3600,
                exp: now - 1800,
                ..base.clone()
            })
            .await
            .unwrap(),
        ));

        for (what, token) in forged {
            let (s, body, h) = call(
                &server,
                reqwest::Method::GET,
                "/api/v1/me",
                Some(&token),
                None,
            )
            .await;
            assert_eq!(
                (s, code(&body)),
                (401, "UNAUTHENTICATED"),
                "{what} must be rejected"
            );
            assert!(
                h["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .contains("invalid_token"),
                "{what}"
            );
        }
        // A token expires with the clock, not with the wall.
        server.clock.advance(Duration::minutes(16));
        let (s, _) = api_get(&server, "/api/v1/me", &good).await;
        assert_eq!(s, 401, "expired after 15 minutes (plus leeway)");
    }
}
