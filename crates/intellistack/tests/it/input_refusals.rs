//! Input no route accepts, and the shape of every error: NUL and control
//! characters, look-alike emails, overlong names, oversized bodies, slow
//! requests and malformed URLs — each refused with its API's error shape
//! and nothing stored.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::api::{api_get, api_post, code, token};
use crate::support::auth::*;
use crate::support::chat::{create, send};
use crate::support::{Backend, Options, TestServer};

async fn users(server: &TestServer) -> i64 {
    let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
        r#"SELECT COUNT(*) FROM "user""#).fetch_one(pool).await.unwrap());
    n
}

/// Sends `req` and reads the status, the content type and the JSON body
/// (null when the body is not JSON).
async fn sent(req: reqwest::RequestBuilder) -> (u16, String, Value) {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = res.text().await.unwrap();
    (
        status,
        ct,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// GETs each `/api/v1` path and expects a 400 with the error code `expected`.
async fn each_get_is_400(server: &TestServer, token: &str, paths: &[&str], expected: &str) {
    for path in paths {
        let (s, body) = api_get(server, path, token).await;
        assert_eq!((s, code(&body)), (400, expected), "{path}: {body}");
    }
}

/// Signs up `email` with the test password and answers the status and body.
async fn sign_up(
    c: &reqwest::Client,
    server: &TestServer,
    name: &str,
    email: &str,
) -> (u16, Value) {
    let (s, body, _) = post(
        c,
        server,
        "/api/auth/sign-up/email",
        json!({"name": name, "email": email, "password": PASSWORD}),
    )
    .await;
    (s, body)
}

crate::per_database! {
    async fn nul_and_control_characters_get_a_400_in_each_apis_shape(backend) {
        let server = TestServer::start(backend).await;
        let boss = admin(&server, "boss@example.com").await;
        let bt = token(&boss, &server).await;
        let before = users(&server).await;
        let c = plain();

        // Better-Auth routes: {message, code}.
        for (path, body) in [
            (
                "/api/auth/sign-up/email",
                json!({"name": "Nul\u{0}Name", "email": "nul@example.com", "password": PASSWORD}),
            ),
            (
                "/api/auth/sign-up/email",
                json!({"name": "N", "email": "nul\u{0}@example.com", "password": PASSWORD}),
            ),
            (
                "/api/auth/sign-in/email",
                json!({"email": "boss\u{0}@example.com", "password": PASSWORD}),
            ),
            (
                "/api/auth/sign-in/email",
                json!({"email": "boss@example.com", "password": "Correct\u{0}Horse-42!"}),
            ),
            (
                "/api/auth/request-password-reset",
                json!({"email": "boss@example.com\u{1b}"}),
            ),
            (
                "/api/auth/reset-password",
                json!({"token": "t\u{0}", "newPassword": PASSWORD}),
            ),
        ] {
            let (s, body, _) = post(&c, &server, path, body.clone()).await;
            assert_eq!(s, 400, "{backend:?} {path}: {body}");
            assert_eq!(body["code"], "INVALID_CHARACTERS", "{path}: {body}");
            assert!(body["message"].is_string());
        }
        let (s, _, body) = sent(boss.get(server.at("/api/auth/admin/get-user?id=%00"))).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("INVALID_CHARACTERS"))
        );
        // A form body, as the progressive sign-in form sends it.
        let (s, _, _) = sent(
            c.post(server.at("/api/auth/sign-in/email"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("email=a%00b%40example.com&password=x"),
        )
        .await;
        assert_eq!(s, 400);

        // OAuth routes: RFC 6749.
        let (s, _, body) = sent(
            c.post(server.at("/api/auth/oauth2/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=authorization_code&client_id=%00&code=x"),
        )
        .await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
        assert!(body["error_description"].is_string());
        let (s, _, body) = sent(c.get(server.at(
            "/api/auth/oauth2/authorize?response_type=code&client_id=%00&redirect_uri=x",
        )))
        .await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );

        // /api/v1: {error: {code, message}} — in the path, the query and the body.
        each_get_is_400(
            &server,
            &bt,
            &[
                "/api/v1/courses/%00",
                "/api/v1/courses/physical-ai%00/enrol",
                "/api/v1/admin/auth-events?email=%00",
            ],
            "INVALID_CHARACTERS",
        )
        .await;
        let (s, body) = api_post(
            &server,
            "/api/v1/courses/physical-ai/stages",
            &bt,
            json!({"slug": "nul", "title": "A\u{0}B"}),
        )
        .await;
        assert_eq!((s, code(&body)), (400, "INVALID_CHARACTERS"));
        let res = send(&server, &bt, create("hello")).await;
        let ev = crate::support::chat::events(res).await;
        let thread = ev[0]["thread"]["id"].as_str().unwrap().to_string();
        let res = send(
            &server,
            &bt,
            json!({"type": "threads.update", "params": {"thread_id": thread, "title": "x\u{0}y"}}),
        )
        .await;
        assert_eq!(res.status(), 400);
        let res = send(
            &server,
            &bt,
            json!({"type": "threads.update", "params": {"thread_id": thread, "title": "two\nlines"}}),
        )
        .await;
        assert_eq!(res.status(), 422, "a title is one line");

        // Pages: a plain 400, never a 500.
        let res = c.get(server.at("/learn/%00/x")).send().await.unwrap();
        assert_eq!(res.status(), 400);

        assert_eq!(users(&server).await, before, "nothing was stored");
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM stage WHERE slug = 'nul'").fetch_one(pool).await.unwrap());
        assert_eq!(n, 0);
        server.stop().await;
    }
}

crate::per_database! {
    async fn look_alike_emails_are_the_same_account_or_refused_and_names_are_capped(backend) {
        let server = TestServer::start(backend).await;
        let _ = verified_user(&server, "ada@example.com").await;
        let c = plain();
        let before = users(&server).await;
        // Full-width look-alikes fold into the address they imitate.
        for twin in [
            "ａｄａ@example.com",
            "ada＠ｅｘａｍｐｌｅ.com",
            "ADA@EXAMPLE.COM",
        ] {
            let (s, body) = sign_up(&c, &server, "Twin", twin).await;
            assert_eq!(s, 200, "{twin}: {body}");
        }
        assert_eq!(users(&server).await, before, "no second account");
        let (s, body, _) = post(
            &c,
            &server,
            "/api/auth/sign-in/email",
            json!({"email": "ａｄａ@ｅｘａｍｐｌｅ.ｃｏｍ", "password": PASSWORD}),
        )
        .await;
        assert_eq!(s, 200, "the folded address signs in: {body}");
        assert_eq!(body["user"]["email"], "ada@example.com");
        // Invisible and bidi characters are refused outright.
        for hidden in [
            "ad\u{200B}a@example.com",
            "ada\u{200D}@example.com",
            "\u{202E}ada@example.com",
            "ada@exa\u{2066}mple.com",
            "ada\u{00AD}@example.com",
            "\u{FEFF}ada@example.com",
        ] {
            let (s, body) = sign_up(&c, &server, "Hidden", hidden).await;
            assert_eq!(
                (s, body["code"].as_str()),
                (400, Some("INVALID_EMAIL")),
                "{hidden:?}: {body}"
            );
        }
        assert_eq!(users(&server).await, before);

        // Names: one line of at most 200 characters.
        let huge = "n".repeat(900_000);
        for (name, expected) in [
            (huge.as_str(), "NAME_TOO_LONG"),
            (&"n".repeat(201), "NAME_TOO_LONG"),
            ("Two\nLines", "INVALID_NAME"),
            ("Ada\u{202E}nimda", "INVALID_NAME"),
        ] {
            let (s, body) = sign_up(&c, &server, name, "named@example.com").await;
            assert_eq!((s, body["code"].as_str()), (400, Some(expected)), "{body}");
        }
        assert_eq!(users(&server).await, before, "nothing stored");
        let me = verified_user(&server, "renamed@example.com").await;
        let (s, body, _) = post(
            &me,
            &server,
            "/api/auth/update-user",
            json!({"name": "x".repeat(201)}),
        )
        .await;
        assert_eq!((s, body["code"].as_str()), (400, Some("NAME_TOO_LONG")));
        let (s, _, _) = post(
            &me,
            &server,
            "/api/auth/update-user",
            json!({"name": "x".repeat(200)}),
        )
        .await;
        assert_eq!(s, 200);
        server.stop().await;
    }
}

crate::per_database! {
    async fn oversized_bodies_slow_requests_and_malformed_urls_keep_the_error_shape(backend) {
        // Long enough that signing in (a password hash) finishes on a busy
        // machine; the stalled bodies below are waited on for longer.
        let server =
            TestServer::start_with(backend, Options::default().var("REQUEST_TIMEOUT_SECS", "3"))
                .await;
        let boss = admin(&server, "boss@example.com").await;
        let bt = token(&boss, &server).await;
        let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
        let c = plain();

        // 413, announced by Content-Length.
        let (s, ct, body) = sent(
            c.post(server.at("/api/v1/chatkit"))
                .bearer_auth(&bt)
                .header("content-type", "application/json")
                .body(big.clone()),
        )
        .await;
        assert_eq!((s, code(&body)), (413, "PAYLOAD_TOO_LARGE"), "{ct}");
        assert!(ct.starts_with("application/json"));
        let (s, _, body) = sent(
            c.post(server.at("/api/auth/sign-up/email"))
                .header("content-type", "application/json")
                .body(big.clone()),
        )
        .await;
        assert_eq!((s, body["code"].as_str()), (413, Some("PAYLOAD_TOO_LARGE")));
        assert!(body["message"].is_string());
        let (s, _, body) = sent(
            c.post(server.at("/api/auth/oauth2/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("code={}", "x".repeat(2 * 1024 * 1024))),
        )
        .await;
        assert_eq!((s, body["error"].as_str()), (413, Some("invalid_request")));
        // 413 for a chunked body, found while reading, on a route that parses JSON itself.
        let chunks: Vec<Result<String, std::io::Error>> = (0..40)
            .map(|i| {
                Ok(if i == 0 {
                    "{\"a\":\"".to_string()
                } else {
                    "y".repeat(64 * 1024)
                })
            })
            .collect();
        let (s, _, body) = sent(
            c.post(server.at("/api/v1/courses/physical-ai/stages"))
                .bearer_auth(&bt)
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))),
        )
        .await;
        assert_eq!((s, code(&body)), (413, "PAYLOAD_TOO_LARGE"), "{body}");

        // 408: a body that never finishes arriving.
        for (path, api) in [
            ("/api/v1/chatkit", "v1"),
            ("/api/auth/sign-in/email", "auth"),
        ] {
            let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"type\""
            );
            tcp.write_all(head.as_bytes()).await.unwrap();
            let mut buf = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(15), async {
                let mut chunk = [0u8; 4096];
                loop {
                    match tcp.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            buf.extend_from_slice(&chunk[..n]);
                            if String::from_utf8_lossy(&buf).contains("}") {
                                break;
                            }
                        }
                    }
                }
            })
            .await;
            let text = String::from_utf8_lossy(&buf).to_string();
            assert!(text.starts_with("HTTP/1.1 408"), "{path}: {text}");
            assert!(
                text.to_ascii_lowercase()
                    .contains("content-type: application/json"),
                "{text}"
            );
            let json_start = text.find('{').unwrap();
            let body: Value =
                serde_json::from_str(text[json_start..].trim()).unwrap_or_else(|_| {
                    // Chunked: take up to the last brace.
                    let end = text.rfind('}').unwrap();
                    serde_json::from_str(&text[json_start..=end]).unwrap()
                });
            match api {
                "v1" => assert_eq!(code(&body), "REQUEST_TIMEOUT", "{text}"),
                _ => assert_eq!(body["code"], "REQUEST_TIMEOUT", "{text}"),
            }
        }

        // Malformed query values and percent-encoding.
        let (s, body) = api_get(&server, "/api/v1/admin/auth-events?limit=many", &bt).await;
        assert_eq!(s, 400, "{body}");
        assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string());
        each_get_is_400(
            &server,
            &bt,
            &[
                "/api/v1/courses/%ff",
                "/api/v1/courses/%zz",
                "/api/v1/admin/ai-usage?from=%c3",
            ],
            "INVALID_ENCODING",
        )
        .await;
        let (s, _, body) = sent(c.get(server.at("/api/auth/verify-email?token=%zz"))).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("INVALID_ENCODING")));
        let (s, _, body) = sent(c.get(server.at("/api/auth/verify-email"))).await;
        assert_eq!(s, 400, "a missing query value");
        assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{body}"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn every_json_route_documents_its_400_and_every_route_its_timeout() {
    let server = TestServer::start(Backend::Sqlite).await;
    let doc: Value = reqwest::get(server.at("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["components"]["schemas"]["Error"].is_object());
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            seen += 1;
            assert!(responses.contains_key("400"), "{method} {path}");
            assert!(responses.contains_key("408"), "{method} {path}");
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("413"), "{method} {path}");
                let text = responses["400"]["description"].as_str().unwrap();
                assert!(text.contains("MALFORMED_JSON"), "{method} {path}: {text}");
            }
            if responses.contains_key("401") {
                let text = responses["403"]["description"].as_str().unwrap();
                assert!(text.contains("BANNED_USER"), "{method} {path}");
            }
        }
    }
    assert!(seen >= 22);
    server.stop().await;
}
