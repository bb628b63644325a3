//! Helpers for ChatKit tests: sending requests and reading SSE frames.

use serde_json::{Value, json};

use super::TestServer;

pub async fn send(server: &TestServer, token: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.at("/api/v1/chatkit"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The text of the turn's last finished assistant message ("" when none).
pub fn final_text(ev: &[Value]) -> String {
    ev.iter()
        .rev()
        .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .and_then(|e| e["item"]["content"][0]["text"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Reads a whole SSE body into its JSON events.
pub async fn events(res: reqwest::Response) -> Vec<Value> {
    let text = res.text().await.unwrap();
    text.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let data = f
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("frame without data: {f:?}"));
            serde_json::from_str(data).unwrap()
        })
        .collect()
}

pub fn message(text: &str) -> Value {
    json!({"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}})
}

pub fn create(text: &str) -> Value {
    json!({"type": "threads.create", "params": {"input": message(text)}})
}

pub fn add(thread: &str, text: &str) -> Value {
    json!({"type": "threads.add_user_message", "params": {"thread_id": thread, "input": message(text)}})
}

/// Creates a thread and returns its id and the events.
pub async fn new_thread(server: &TestServer, token: &str, text: &str) -> (String, Vec<Value>) {
    let res = send(server, token, create(text)).await;
    assert_eq!(res.status(), 200);
    let ev = events(res).await;
    let id = ev[0]["thread"]["id"].as_str().unwrap().to_string();
    (id, ev)
}

pub fn assistant_text(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| {
            e["type"] == "thread.item.updated"
                && e["update"]["type"] == "assistant_message.content_part.text_delta"
        })
        .map(|e| e["update"]["delta"].as_str().unwrap().to_string())
        .collect()
}
