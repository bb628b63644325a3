//! Helpers for auth tests: a browser-like client, the development outbox,
//! and ready-made users.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::TestServer;

pub const PASSWORD: &str = "Correct-Horse-42!";

/// A client that keeps cookies and sends `Origin` like a same-origin page.
pub fn browser(server: &TestServer) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert("origin", HeaderValue::from_str(&server.url).unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A client with no cookies and no Origin (curl, a server).
pub fn plain() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Sends `body` as JSON to `path` and returns the raw response.
pub async fn send_post(
    client: &reqwest::Client,
    server: &TestServer,
    path: &str,
    body: Value,
) -> reqwest::Response {
    client
        .post(server.at(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub async fn post(
    client: &reqwest::Client,
    server: &TestServer,
    path: &str,
    body: Value,
) -> (u16, Value, reqwest::header::HeaderMap) {
    split(send_post(client, server, path, body).await).await
}

/// A password sign-in (`/api/auth/sign-in/email`).
pub async fn email_sign_in(
    client: &reqwest::Client,
    server: &TestServer,
    email: &str,
    password: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let body = json!({"email": email, "password": password});
    post(client, server, "/api/auth/sign-in/email", body).await
}

/// A password sign-up (`/api/auth/sign-up/email`).
pub async fn email_sign_up(
    client: &reqwest::Client,
    server: &TestServer,
    name: &str,
    email: &str,
    password: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let body = json!({"name": name, "email": email, "password": password});
    post(client, server, "/api/auth/sign-up/email", body).await
}

/// A fresh browser signed in as `email` with [`PASSWORD`].
pub async fn signed_in(server: &TestServer, email: &str) -> reqwest::Client {
    let b = browser(server);
    let (s, body, _) = email_sign_in(&b, server, email, PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    b
}

pub async fn get(
    client: &reqwest::Client,
    server: &TestServer,
    path: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let res = client.get(server.at(path)).send().await.unwrap();
    split(res).await
}

/// Sends a request built by hand and splits its answer like [`post`] does.
pub async fn answer_to(
    request: reqwest::RequestBuilder,
) -> (u16, Value, reqwest::header::HeaderMap) {
    split(request.send().await.unwrap()).await
}

pub async fn split(res: reqwest::Response) -> (u16, Value, reqwest::header::HeaderMap) {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body, headers)
}

/// The messages sent to `to`, oldest first.
pub fn mails_to(server: &TestServer, to: &str) -> Vec<Value> {
    let dir = server.dir.path().join("outbox");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(|m| m["to"] == to)
        .collect()
}

/// Waits (bounded) until `to` has received `count` messages; returns the last.
pub async fn wait_for_mail(server: &TestServer, to: &str, count: usize) -> Value {
    for _ in 0..100 {
        let mails = mails_to(server, to);
        if mails.len() >= count {
            return mails[count - 1].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no mail #{count} for {to}");
}

pub fn link_in(mail: &Value) -> String {
    mail["text"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .expect("a link in the mail")
        .to_string()
}

pub fn query_param(url: &str, key: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    u.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

/// Signs up, follows the verification link and signs in; returns the signed-in browser.
pub async fn verified_user(server: &TestServer, email: &str) -> reqwest::Client {
    let b = browser(server);
    // Counted before signing up: the verification mail is written asynchronously,
    // and an address may already hold other mail (a change-email link, say).
    let before = mails_to(server, email).len();
    let (s, body, _) = email_sign_up(&b, server, "Test User", email, PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    let mail = wait_for_mail(server, email, before + 1).await;
    let link = link_in(&mail);
    let token = query_param(&link, "token");
    let (s, body, _) = get(&b, server, &format!("/api/auth/verify-email?token={token}")).await;
    assert_eq!(s, 200, "{body}");
    let (s, body, _) = email_sign_in(&b, server, email, PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    b
}

/// Signs up on a server that does not require verification, which signs the
/// browser in at once with an unverified address; returns that browser.
pub async fn unverified_user(server: &TestServer, name: &str, email: &str) -> reqwest::Client {
    let b = browser(server);
    email_sign_up(&b, server, name, email, PASSWORD).await;
    b
}

/// Creates an admin directly through the service and returns a signed-in browser.
pub async fn admin(server: &TestServer, email: &str) -> reqwest::Client {
    created_user(server, email, "Admin", "admin").await
}

pub async fn session_user(client: &reqwest::Client, server: &TestServer) -> Value {
    let (s, body, _) = get(client, server, "/api/auth/get-session").await;
    assert_eq!(s, 200);
    body["user"].clone()
}

/// Creates a user with `role` through the service and returns a signed-in browser.
pub async fn with_role(server: &TestServer, email: &str, role: &str) -> reqwest::Client {
    created_user(server, email, &format!("The {role}"), role).await
}

/// Creates a verified user through the service, as an admin would, and signs it in.
async fn created_user(server: &TestServer, email: &str, name: &str, role: &str) -> reqwest::Client {
    create_verified(server, email, name, role).await;
    signed_in(server, email).await
}

/// Creates a verified user with the test password through the auth service
/// itself, for servers where signing up over HTTP is not the way.
pub async fn create_verified(server: &TestServer, email: &str, name: &str, role: &str) {
    server
        .auth()
        .create_user_as_admin(
            ::auth::admin::NewUserByAdmin {
                email: email.into(),
                name: name.into(),
                password: Some(PASSWORD.into()),
                role: role.into(),
                email_verified: true,
            },
            &Default::default(),
        )
        .await
        .unwrap();
}

/// The audit entries of `event_type`, newest first.
pub async fn audit_events(
    server: &TestServer,
    event_type: &str,
) -> Vec<::auth::audit::StoredEvent> {
    server
        .auth()
        .audit_log()
        .list(&::auth::audit::EventQuery {
            event_type: Some(event_type.into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .0
}
