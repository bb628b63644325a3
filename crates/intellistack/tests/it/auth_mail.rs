//! Mail senders against local doubles that speak the real protocols: an SMTP
//! sink and an HTTP server shaped like Resend's API.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::HeaderMap;
use axum::routing::post as axum_post;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::support::auth::*;
use crate::support::{Backend, Options, TestServer};

/// A minimal SMTP server that accepts every message and keeps its DATA.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let store = messages.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store.lock().unwrap().push(std::mem::take(&mut data));
                            write.write_all(b"250 2.0.0 queued\r\n").await.unwrap();
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 end with .\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, messages)
}

#[tokio::test]
async fn smtp_delivers_verification_mail_with_text_and_html_parts() {
    let (port, messages) = smtp_sink().await;
    let server = TestServer::start_with(
        Backend::Sqlite,
        Options::default()
            .var("SMTP_URL", format!("smtp://127.0.0.1:{port}"))
            .var("MAIL_FROM", "IntelliStack <no-reply@example.com>"),
    )
    .await;
    let (s, _, _) = email_sign_up(&plain(), &server, "Mia", "mia@example.com", PASSWORD).await;
    assert_eq!(s, 200);
    let mut data = String::new();
    for _ in 0..200 {
        if let Some(m) = messages.lock().unwrap().first() {
            data = m.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(data.contains("To: mia@example.com"), "{data}");
    assert!(
        data.contains("Subject: Verify your email address"),
        "{data}"
    );
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(
        data.contains("text/plain") && data.contains("text/html"),
        "{data}"
    );
    assert!(data.contains("verify-email?token="), "{data}");
    assert!(
        !server.dir.path().join("outbox").exists(),
        "nothing went to the outbox"
    );
}

#[tokio::test]
async fn resend_api_receives_the_message_with_the_api_key() {
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let store = seen.clone();
    let app = axum::Router::new().route(
        "/emails",
        axum_post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let store = store.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                store.lock().unwrap().push((auth, body));
                Json(json!({"id": "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}))
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let server = TestServer::start_with(
        Backend::Sqlite,
        Options::default()
            .var("RESEND_API_KEY", "re_test_key_123")
            .var("RESEND_API_URL", format!("http://127.0.0.1:{port}/")),
    )
    .await;
    email_sign_up(&plain(), &server, "Res", "res@example.com", PASSWORD).await;
    let mut got = None;
    for _ in 0..200 {
        if let Some(m) = seen.lock().unwrap().first() {
            got = Some(m.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (auth_header, body) = got.expect("Resend was called");
    assert_eq!(auth_header, "Bearer re_test_key_123");
    assert_eq!(body["to"], json!(["res@example.com"]));
    assert_eq!(body["subject"], "Verify your email address");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("verify-email?token=")
    );
    assert!(body["html"].as_str().unwrap().contains("<a href="));
}
