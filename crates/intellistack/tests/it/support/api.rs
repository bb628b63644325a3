//! Helpers for `/api/v1` tests.

use serde_json::Value;

use super::TestServer;
use super::auth::get;

/// A JWT for the signed-in browser.
pub async fn token(client: &reqwest::Client, server: &TestServer) -> String {
    let (s, body, _) = get(client, server, "/api/auth/token").await;
    assert_eq!(s, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

/// The API token of a new verified user, for tests that need no browser
/// session.
pub async fn verified_token(server: &TestServer, email: &str) -> String {
    let b = super::auth::verified_user(server, email).await;
    token(&b, server).await
}

pub async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new().request(method, server.at(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    super::auth::split(req.send().await.unwrap()).await
}

pub async fn api_get(server: &TestServer, path: &str, token: &str) -> (u16, Value) {
    let (s, b, _) = call(server, reqwest::Method::GET, path, Some(token), None).await;
    (s, b)
}

pub async fn api_post(server: &TestServer, path: &str, token: &str, body: Value) -> (u16, Value) {
    let (s, b, _) = call(server, reqwest::Method::POST, path, Some(token), Some(body)).await;
    (s, b)
}

pub async fn api_patch(server: &TestServer, path: &str, token: &str, body: Value) -> (u16, Value) {
    let (s, b, _) = call(
        server,
        reqwest::Method::PATCH,
        path,
        Some(token),
        Some(body),
    )
    .await;
    (s, b)
}

pub async fn api_delete(server: &TestServer, path: &str, token: &str) -> (u16, Value) {
    let (s, b, _) = call(server, reqwest::Method::DELETE, path, Some(token), None).await;
    (s, b)
}

/// The error code of a `/api/v1` error body.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}
