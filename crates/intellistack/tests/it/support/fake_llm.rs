//! A local OpenAI-compatible chat completions server: real HTTP, SSE chunks,
//! tool calls, scripted failures, and a record of every request it received.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{Backend, Options, TestServer};

#[derive(Debug, Clone)]
pub enum Script {
    /// Text in these pieces, with a pause before each.
    Text(Vec<&'static str>, u64),
    ToolCall {
        id: &'static str,
        name: &'static str,
        arguments: &'static str,
    },
    Status(u16),
    /// Accept the request and never answer.
    Hang,
    /// Text in these pieces, then the body ends: no `finish_reason`, no
    /// `[DONE]` — a connection cut mid-answer.
    NoFinish(Vec<&'static str>, u64),
    /// Text in these pieces, written so that every multi-byte character is
    /// split between two network writes (with a pause between them).
    SplitUtf8(Vec<&'static str>, u64),
    /// Text in pieces a test made (a reply split by words or characters),
    /// with a pause before each.
    Pieces(Vec<String>, u64),
}

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<Value>>>,
    scripts: Arc<Mutex<VecDeque<Script>>>,
    /// What the tutor's judge prompt gets, outside the script queue.
    judge: Arc<Mutex<Option<String>>>,
}

pub struct FakeLlm {
    /// Base URL to configure, ending in `/v1`.
    pub url: String,
    shared: Shared,
}

impl FakeLlm {
    pub async fn start() -> FakeLlm {
        let shared = Shared::default();
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(complete))
            .route("/v1/embeddings", post(embeddings))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // Each write leaves at once, so split pieces reach the client as separate reads.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeLlm {
            url: format!("http://127.0.0.1:{port}/v1"),
            shared,
        }
    }

    /// Server options that point the tutor at this double.
    pub fn options(&self) -> Options {
        Options::default()
            .var("OPENAI_BASE_URL", self.url.clone())
            .var("TUTOR_MODEL", "test-model")
    }

    pub fn push(&self, s: Script) {
        self.shared.scripts.lock().unwrap().push_back(s);
    }

    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Answers every judge request (the tutor's second pass) with `verdict`,
    /// leaving the scripts for the replies.
    pub fn judge_with(&self, verdict: &str) {
        *self.shared.judge.lock().unwrap() = Some(verdict.to_string());
    }

    /// Requests other than the judge's.
    pub fn reply_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["messages"][0]["content"] != tutor::turn::judge::JUDGE_PROMPT)
            .collect()
    }
}

/// Starts the model double and a server whose tutor talks to it, with the
/// `extra` variables set as well.
pub async fn server_with_model(backend: Backend, extra: &[(&str, &str)]) -> (TestServer, FakeLlm) {
    let fake = FakeLlm::start().await;
    let mut opts = fake.options();
    for (k, v) in extra {
        opts = opts.var(k, *v);
    }
    (TestServer::start_with(backend, opts).await, fake)
}

/// A reply cut into word-sized pieces (each word with the space after it).
pub fn words(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_string).collect()
}

/// A reply cut into one-character pieces.
pub fn chars(text: &str) -> Vec<String> {
    text.chars().map(String::from).collect()
}

fn frame(v: Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

async fn complete(State(s): State<Shared>, Json(body): Json<Value>) -> Response {
    let judged = body["messages"][0]["content"] == tutor::turn::judge::JUDGE_PROMPT;
    s.requests.lock().unwrap().push(body);
    let verdict = s.judge.lock().unwrap().clone();
    if let (true, Some(v)) = (judged, verdict) {
        let frames = vec![
            frame(json!({"choices": [{"index": 0, "delta": {"content": v}}]})),
            frame(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})),
            Bytes::from("data: [DONE]\n\n"),
        ];
        return sse(frames, 0);
    }
    let script = s
        .scripts
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Script::Text(vec!["OK"], 0));
    match script {
        Script::Status(code) => (
            StatusCode::from_u16(code).unwrap(),
            Json(json!({"error": {"message": "scripted failure"}})),
        )
            .into_response(),
        Script::Hang => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Script::ToolCall {
            id,
            name,
            arguments,
        } => {
            let frames = vec![
                frame(
                    json!({"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [{"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}}]}),
                ),
                frame(
                    json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}, "finish_reason": "tool_calls"}]}),
                ),
                Bytes::from("data: [DONE]\n\n"),
            ];
            sse(frames, 0)
        }
        Script::Text(pieces, delay) => sse(finished(text_frames(&pieces)), delay),
        Script::Pieces(pieces, delay) => {
            let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
            sse(finished(text_frames(&pieces)), delay)
        }
        Script::NoFinish(pieces, delay) => sse(text_frames(&pieces), delay),
        Script::SplitUtf8(pieces, delay) => {
            let body: Vec<u8> = finished(text_frames(&pieces)).concat();
            sse(split_inside_characters(&body), delay)
        }
    }
}

fn text_frames(pieces: &[&str]) -> Vec<Bytes> {
    pieces
        .iter()
        .map(|p| frame(json!({"choices": [{"index": 0, "delta": {"content": p}}]})))
        .collect()
}

fn finished(mut frames: Vec<Bytes>) -> Vec<Bytes> {
    frames.push(frame(
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    ));
    frames.push(Bytes::from("data: [DONE]\n\n"));
    frames
}

/// Cuts `body` after the first byte of every multi-byte UTF-8 character.
fn split_inside_characters(body: &[u8]) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut from = 0;
    for (i, b) in body.iter().enumerate() {
        // A lead byte of a multi-byte sequence: 11xxxxxx.
        if b & 0xC0 == 0xC0 {
            out.push(Bytes::copy_from_slice(&body[from..=i]));
            from = i + 1;
        }
    }
    out.push(Bytes::copy_from_slice(&body[from..]));
    assert!(
        out.len() > 1,
        "the scripted text has no multi-byte character"
    );
    out
}

fn sse(frames: Vec<Bytes>, delay_ms: u64) -> Response {
    let stream = futures_util::stream::iter(frames).then(move |f| async move {
        if delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        Ok::<_, Infallible>(f)
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// Deterministic embeddings: words hashed into 64 dimensions, normalised.
pub fn embed(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; 64];
    for w in text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
    {
        let h = w
            .bytes()
            .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
        v[(h % 64) as usize] += 1.0;
    }
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    v
}

async fn embeddings(Json(body): Json<Value>) -> Json<Value> {
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": embed(t)}))
        .collect();
    Json(json!({"object": "list", "data": data, "model": body["model"]}))
}
