//! One rule for every redirect target of both roles: `next` on the pages,
//! `callbackURL`, `redirectTo` and friends on `/api/auth`. Control
//! characters, backslashes and whatever a browser would resolve off-site are
//! refused — and never answered with a 500.

use serde_json::json;

use crate::support::TestServer;
use crate::support::auth::*;

/// Targets a browser would follow off-site once it has dropped or decoded
/// what it does not keep.
const HOSTILE_NEXT: [&str; 9] = [
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d%0aSet-Cookie:%20x=1",
    "/%00/evil.example",
    "/%5Cevil.example",
    "//evil.example",
    "/%2F%2Fevil.example",
    "https://evil.example",
    "%2F%2Fevil.example",
];

crate::per_database! {
    async fn next_with_control_characters_never_leaves_the_site(backend) {
        let server = TestServer::start(backend).await;
        let signed_in = verified_user(&server, "nav@example.com").await;
        let anonymous = plain();
        for next in HOSTILE_NEXT {
            let path = format!("/login?next={next}");
            for client in [&signed_in, &anonymous] {
                let res = client.get(server.at(&path)).send().await.unwrap();
                let status = res.status().as_u16();
                let location = res
                    .headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap().to_string());
                let body = res.text().await.unwrap();
                assert!(status < 500, "{path}: {status}");
                if let Some(loc) = &location {
                    assert_eq!(loc, "/dashboard", "{path}");
                }
                assert!(
                    !body.contains("evil.example"),
                    "{path}: the page must not carry the target"
                );
            }
        }
        // A plain path is still followed.
        let res = signed_in
            .get(server.at("/login?next=/learn/a/b"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["location"], "/learn/a/b");
        server.stop().await;
    }
}

crate::per_database! {
    async fn callback_targets_with_control_characters_are_refused_by_the_auth_role(backend) {
        let server = TestServer::start(backend).await;
        let _ = verified_user(&server, "cb@example.com").await;
        let b = browser(&server);
        for target in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/\\evil.example",
            "/%09/evil.example",
            "https://evil.example",
        ] {
            let (s, body, _) = post(
                &b,
                &server,
                "/api/auth/sign-in/email",
                json!({"email": "cb@example.com", "password": PASSWORD, "callbackURL": target}),
            )
            .await;
            assert!(s == 400 || s == 403, "{target:?}: {s} {body}");
            assert!(body["code"].is_string(), "{target:?}: {body}");
            let (s, body, _) = post(
                &b,
                &server,
                "/api/auth/request-password-reset",
                json!({"email": "cb@example.com", "redirectTo": target}),
            )
            .await;
            assert!(s == 400 || s == 403, "{target:?}: {s} {body}");
            let (s, body, _) = post(
                &b,
                &server,
                "/api/auth/sign-in/social",
                json!({"provider": "github", "callbackURL": target}),
            )
            .await;
            assert!(s == 400 || s == 403 || s == 404, "{target:?}: {s} {body}");
        }
        // In a link's query, CR/LF answers a JSON 400, not a 500.
        for query in ["/%0d%0aX:%20y", "/%09/evil.example", "/%5Cevil.example"] {
            let res = plain()
                .get(server.at(&format!(
                    "/api/auth/verify-email?token=abc&callbackURL={query}"
                )))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            assert!(status == 400 || status == 403, "{query}: {status}");
            assert!(!res.headers().contains_key("location"));
            let body: serde_json::Value = res.json().await.unwrap();
            assert!(body["code"].is_string(), "{body}");
            let res = plain()
                .get(server.at(&format!("/api/auth/reset-password/tok?callbackURL={query}")))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            assert!(status == 400 || status == 403, "{query}: {status}");
        }
        server.stop().await;
    }
}
