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

/// Sends a ChatKit request that answers JSON rather than a stream, and
/// reads the answer.
pub async fn send_json(server: &TestServer, token: &str, body: Value) -> Value {
    send(server, token, body).await.json().await.unwrap()
}

/// The turn's last finished assistant message.
pub fn last_answer(ev: &[Value]) -> Option<&Value> {
    ev.iter()
        .rev()
        .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .map(|e| &e["item"])
}

/// The text of the turn's last finished assistant message ("" when none).
pub fn final_text(ev: &[Value]) -> String {
    last_answer(ev)
        .and_then(|item| item["content"][0]["text"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The citations of the turn's last finished assistant message, which must
/// be there.
pub fn citations(ev: &[Value]) -> &[Value] {
    last_answer(ev).expect("an answer")["content"][0]["annotations"]
        .as_array()
        .unwrap()
}

/// Sends a ChatKit request and reads all the events of its turn.
pub async fn turn_events(server: &TestServer, token: &str, body: Value) -> Vec<Value> {
    events(send(server, token, body).await).await
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

/// A new thread asked from `page` (the page metadata the tutor panel sends).
pub fn create_on(text: &str, page: Value) -> Value {
    json!({"type": "threads.create", "params": {"input": message(text)}, "metadata": {"page": page}})
}

/// A follow-up in `thread` asked from `page`.
pub fn add_on(thread: &str, text: &str, page: Value) -> Value {
    json!({"type": "threads.add_user_message", "params": {"thread_id": thread, "input": message(text)}, "metadata": {"page": page}})
}

/// Reads `thread` with its items.
pub fn get_thread(thread: &str) -> Value {
    json!({"type": "threads.get_by_id", "params": {"thread_id": thread}})
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

/// Every event the client was sent, as JSON text, without its timestamps:
/// a time such as `…T18:51:46.07Z` holds `6.0`, which a test looking for a
/// leaked answer would take for one.
pub fn events_json(events: &[Value]) -> String {
    fn drop_times(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.retain(|k, _| !k.ends_with("_at"));
                map.values_mut().for_each(drop_times);
            }
            Value::Array(items) => items.iter_mut().for_each(drop_times),
            _ => {}
        }
    }
    let mut all = Value::Array(events.to_vec());
    drop_times(&mut all);
    all.to_string()
}
